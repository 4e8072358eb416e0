"""The map's case layer at scale: counts per H3 cell in a wide view, points zoomed in
(issue 22 item 3). Five hand-placed cases; the point limit lowered to 3 to see both modes."""

from __future__ import annotations

import brotli
import pytest
from sqlalchemy import select

from geo_app import create_app
from geo_app.store.models import AuditEntry
from geo_app.store.models import Case
from layers.intake import run_check_digit
from tests.accounts import login
from tests.geo_app.cases.test_case_pages import confirm
from tests.geo_app.cases.test_case_pages import upload
from tests.lists import HEADER

# three homes within 60 m of Castro's plaza, one in Ancud (68 km north), one in Quellón
PLACES = {
    "Castro": [(-73.7624, -42.4824), (-73.7620, -42.4822), (-73.7627, -42.4826)],
    "Ancud": [(-73.8258, -41.8697)],
    "Quellón": [(-73.6035, -43.1170)],
}
PCT = [40, 60, 45, 30, 88]  # in the order of the rows below
CHILOE = "-74.4,-43.6,-72.6,-41.7"  # the province, zoom 8
CASTRO_BOX = "-73.80,-42.50,-73.70,-42.45"


def _rows() -> str:
    rows, k = [], 0
    for comuna, points in PLACES.items():
        for _ in points:
            run = 90_000_101 + k
            run_text = f"{run:,}".replace(",", ".") + "-" + run_check_digit(run)
            rows.append(f"{run_text};Caso{k};Sintético;01/06/2011;8001;8° básico;{PCT[k]};"
                        f"Calle Uno {k};{comuna}\r\n")  # fmt: skip
            k += 1
    return HEADER + "".join(rows)


@pytest.fixture
def world(db_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url,
                      "MAP_POINT_LIMIT": 3})  # fmt: skip
    admin = login(app.test_client(), app)
    assert confirm(admin, upload(admin, _rows())).status_code == 302
    placed = [p for points in PLACES.values() for p in points]
    with app.extensions["revincula.db"]() as session, session.begin():
        cases = session.scalars(select(Case).order_by(Case.id)).all()
        assert len(cases) == 5
        for case, (lon, lat) in zip(cases, placed, strict=True):
            case.lon, case.lat = lon, lat
        categories = {c.comuna: [] for c in cases}
        for c in cases:
            categories[c.comuna].append(c.category)
    yield app, admin, categories
    app.extensions["revincula.db"].kw["bind"].dispose()


def test_a_wide_view_gets_counts_that_add_up_to_the_cases_in_scope(world):
    app, admin, categories = world
    layer = admin.get(f"/api/casos.geojson?bbox={CHILOE}&zoom=8").get_json()
    assert layer["modo"] == "grupos" and layer["resolucion"] == 5
    assert layer["total"] == 5 == sum(f["properties"]["n"] for f in layer["features"])
    assert layer["sinteticos"] == 5  # every RUN synthetic: the list is marked synthetic
    counts = sorted(f["properties"]["n"] for f in layer["features"])
    assert counts == [1, 1, 3]  # Castro's three share a cell; Ancud and Quellón apart
    castro = next(f["properties"] for f in layer["features"] if f["properties"]["n"] == 3)
    assert sum(castro["por_categoria"].values()) == 3
    assert castro["por_categoria"] == {c: categories["Castro"].count(c)
                                       for c in set(categories["Castro"])}  # fmt: skip
    for f in layer["features"]:  # counts only: no id, no case's position
        assert set(f["properties"]) == {"celda", "n", "por_categoria", "baja", "limites"}
        assert tuple(f["geometry"]["coordinates"]) not in {
            p for points in PLACES.values() for p in points}  # fmt: skip
    # the whole scope with no view: the same counts
    assert admin.get("/api/casos.geojson").get_json()["total"] == 5
    # counts are not a case read: no audit row
    with app.extensions["revincula.db"]() as session:
        assert not session.scalars(
            select(AuditEntry).where(AuditEntry.target == "mapa_casos")
        ).all()


def test_scope_limits_the_counts_and_the_mesa_gets_none(world):
    app, _, _ = world
    castro = login(app.test_client(), app, "profesional", username="castro", comunas="Castro")
    ancud = login(app.test_client(), app, "profesional", username="ancud", comunas="Ancud, Quellón")
    mesa = login(app.test_client(), app, "mesa")
    only_castro = castro.get(f"/api/casos.geojson?bbox={CHILOE}&zoom=8").get_json()
    assert only_castro["modo"] == "puntos" and only_castro["total"] == 3  # 3 ≤ the limit
    assert only_castro["completo"] is True
    two = ancud.get(f"/api/casos.geojson?bbox={CHILOE}&zoom=8").get_json()
    assert two["modo"] == "puntos" and {f["properties"]["comuna"] for f in two["features"]} == {
        "Ancud", "Quellón"}  # fmt: skip
    assert mesa.get(f"/api/casos.geojson?bbox={CHILOE}&zoom=8").status_code == 403


def test_zooming_in_returns_the_points_audited_and_never_stored(world):
    app, admin, _ = world
    response = admin.get(f"/api/casos.geojson?bbox={CASTRO_BOX}&zoom=14")
    layer = response.get_json()
    assert layer["modo"] == "puntos" and layer["total"] == 3 and layer["completo"] is False
    assert sorted(tuple(f["geometry"]["coordinates"]) for f in layer["features"]) == sorted(
        PLACES["Castro"])  # fmt: skip
    assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers
    with app.extensions["revincula.db"]() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.target == "mapa_casos")).one()
    assert entry.case_ids == ",".join(sorted(str(f["properties"]["id"]) for f in layer["features"]))
    # more cases than the limit in a small view zoomed in (e.g. all at a town's point): points
    app.config["MAP_POINT_LIMIT"] = 1
    assert admin.get(f"/api/casos.geojson?bbox={CASTRO_BOX}&zoom=14").get_json()["modo"] == "grupos"
    zoomed = admin.get(f"/api/casos.geojson?bbox={CASTRO_BOX}&zoom=15").get_json()
    assert zoomed["modo"] == "puntos" and zoomed["total"] == 3
    # ... but not a province asked at zoom 15
    assert admin.get(f"/api/casos.geojson?bbox={CHILOE}&zoom=15").get_json()["modo"] == "grupos"


def test_counts_are_revalidated_by_a_data_version_and_compressed(world):
    app, admin, _ = world
    url = f"/api/casos.geojson?bbox={CHILOE}&zoom=8"
    plain = admin.get(url)
    assert plain.headers["Cache-Control"] == "private, no-cache"
    etag = plain.headers["ETag"]
    assert admin.get(url, headers={"If-None-Match": etag}).status_code == 304
    packed = admin.get(url, headers={"Accept-Encoding": "br"})
    assert len(plain.data) > 500 and packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.data) == plain.data
    # another view has another tag
    assert admin.get(url.replace("zoom=8", "zoom=10")).headers["ETag"] != etag
    # another account (same cases) never reuses the tag
    other = login(app.test_client(), app, "admin", username="otra.admin")
    assert other.get(url, headers={"If-None-Match": etag}).status_code == 200
    # a case moved: the data version changes, the browser's copy is stale
    with app.extensions["revincula.db"]() as session, session.begin():
        case = session.scalars(select(Case).where(Case.comuna == "Ancud")).one()
        case.lon, case.lat = -73.6035, -43.1171  # to Quellón
    fresh = admin.get(url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert sorted(f["properties"]["n"] for f in fresh.get_json()["features"]) == [2, 3]


@pytest.mark.parametrize(
    ("query", "says"),
    [("bbox=1,2,3", "oeste,sur,este,norte"), ("bbox=-73,-42,-74,-41", "menor que el este"),
     ("bbox=a,b,c,d", "no válido"), ("zoom=99", "de 0 a 24"), ("zoom=nan", "de 0 a 24")],
)  # fmt: skip
def test_a_bad_view_is_refused_in_spanish(world, query, says):
    _, admin, _ = world
    response = admin.get(f"/api/casos.geojson?{query}", headers={"Accept": "application/json"})
    assert response.status_code == 400 and says in response.get_json()["error"]


def test_many_cases_at_one_point_come_as_one_stack_with_their_list(world):
    app, admin, _ = world
    with app.extensions["revincula.db"]() as session, session.begin():  # Castro's 3 at one point
        for case in session.scalars(select(Case).where(Case.comuna == "Castro")):
            case.lon, case.lat = PLACES["Castro"][0]
        priorities = dict(session.execute(select(Case.id, Case.priority)).all())
    app.config["MAP_STACK_MIN"] = 2  # more than 2 at one point: a stack
    layer = admin.get(f"/api/casos.geojson?bbox={CASTRO_BOX}&zoom=15").get_json()
    assert layer["modo"] == "puntos" and layer["total"] == 3 and len(layer["features"]) == 1
    stack = layer["features"][0]
    assert stack["geometry"]["coordinates"] == list(PLACES["Castro"][0])
    props = stack["properties"]
    assert props["pila"] is True and props["n"] == 3 and props["sinteticos"] == 3
    columns = layer["columnas_pila"]
    rows = [dict(zip(columns, row, strict=True)) for row in props["casos"]]
    assert [r["prioridad"] for r in rows] == sorted((r["prioridad"] for r in rows), reverse=True)
    assert {r["id"]: r["prioridad"] for r in rows} == {
        i: round(p, 1) for i, p in priorities.items() if i in {r["id"] for r in rows}
    }
    assert props["baja"] == sum(r["confianza"] == "baja" for r in rows)
    with app.extensions["revincula.db"]() as session:  # every stacked case is audited
        entry = session.scalars(select(AuditEntry).where(AuditEntry.target == "mapa_casos")).one()
    assert entry.case_ids == ",".join(str(i) for i in sorted(r["id"] for r in rows))
    # the whole province as points: the stack and the two single cases, nothing lost
    app.config["MAP_POINT_LIMIT"] = 10
    wide = admin.get(f"/api/casos.geojson?bbox={CHILOE}&zoom=8").get_json()
    assert wide["total"] == 5 and len(wide["features"]) == 3
    assert sum(f["properties"].get("n", 1) for f in wide["features"]) == 5
    # at the default (more than 12 at one point) three cases stay three markers
    app.config["MAP_STACK_MIN"] = 12
    plain = admin.get(f"/api/casos.geojson?bbox={CASTRO_BOX}&zoom=15").get_json()
    assert len(plain["features"]) == 3 and not any(
        "pila" in f["properties"] for f in plain["features"]
    )
