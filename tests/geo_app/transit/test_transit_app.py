"""Public transport in the app and the CLI: stored feeds, entered lines, export, the mode.

Store tests run on SQLite and PostgreSQL. The GTFS is the hand-made Chiloé feed
of `tests.routing.transit_chiloe` (bus Castro - Mocopulli - Dalcahue); the
entered line is the demo's Castro - Dalcahue bus (every value `supuesto`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlalchemy import select

from geo_app import create_app
from geo_app import jobs
from geo_app.cli import main
from geo_app.demo.seed import DEMO_LINES
from geo_app.demo.seed import DEMO_STOPS
from geo_app.errors import ConflictError
from geo_app.errors import InvalidRequestError
from geo_app.store.models import AuditEntry
from geo_app.store.models import Case
from geo_app.store.models import TransitFeedRow
from geo_app.store.models import TransitLineRow
from geo_app.store.models import TransitStopRow
from geo_app.transit import service
from geo_app.travel import app_model
from geo_app.travel import lines_tables
from geo_app.travel import mode_model
from geo_app.travel import stored_feeds
from geo_app.travel import transit_model
from geo_app.travel import transit_or_none
from routing.gtfs import read_gtfs
from routing.planning import Gestor
from routing.planning import Visit
from routing.planning import plan_week
from routing.transit import NO_TRANSIT_REASON
from routing.transit import TransitModel
from routing.transit import TransitUnavailableError
from tests.accounts import csrf
from tests.accounts import login
from tests.routing.transit_chiloe import FEED_FILES
from tests.routing.transit_chiloe import write_feed

TUESDAY = dt.datetime(2026, 3, 10, 6, 50)
CASTRO_TERMINAL = (-73.7640, -42.4797)
DALCAHUE_CENTRO = (-73.6510, -42.3777)


@pytest.fixture
def app(db_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url})
    yield app
    jobs.join_all()
    app.extensions["revincula.engine"].dispose()


def _sessions(app):
    return app.extensions["revincula.db"]


def _territory(app):
    return app.extensions["revincula.territory"]


def _import(app, data: bytes, filename: str = "buses-chiloe.zip", **kw):
    with _sessions(app)() as session, session.begin():
        return service.import_feed(session, data, filename, territory=_territory(app), **kw)


def _save_demo_lines(app):
    with _sessions(app)() as session, session.begin():
        return service.save_lines(session, DEMO_STOPS, DEMO_LINES, version="*", actor="prueba")


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return out.getvalue()


def test_no_timetable_means_no_mode_everywhere(app):
    with pytest.raises(TransitUnavailableError, match="no está disponible"):
        transit_model(app)
    assert transit_or_none(app) is None
    with pytest.raises(TransitUnavailableError):
        mode_model(app, "transporte_publico")
    assert mode_model(app, "a_pie") == (app_model(app), True)
    client = login(app.test_client(), app, "profesional")
    page = client.get("/transporte").get_data(as_text=True)
    assert NO_TRANSIT_REASON in page.replace("&#34;", '"')
    map_page = client.get("/").get_data(as_text=True)
    assert 'value="transporte_publico"  disabled' in map_page or (
        'value="transporte_publico"' in map_page and "disabled" in map_page
    )
    assert "no inventa horarios" in map_page
    response = client.get(
        "/api/viaje",
        query_string={"desde": "Castro", "hasta": "Dalcahue", "salida": "2026-03-10 07:00",
                      "modo": "transporte_publico"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "no está disponible" in response.get_json()["error"]


def test_gtfs_import_is_stored_with_provenance_and_used(app):
    row = _import(app, write_feed_bytes(), source="sintético de prueba", actor="ana")
    assert row.name == "buses-chiloe" and row.source == "sintético de prueba"
    assert row.summary["lineas_por_tipo"] == {"bus": 1} and row.summary["viajes"] == 5
    model = transit_model(app)
    assert transit_model(app) is model  # built once while nothing changes
    journey = model.journey((-73.7625, -42.4800), (-73.648, -42.3813), TUESDAY)
    bus = [leg for leg in journey.legs if leg.kind == "bus"]
    assert bus and bus[0].depart_at == dt.datetime(2026, 3, 10, 7, 0)
    assert bus[0].line_name == "1 Castro - Dalcahue"
    # the same name again is refused unless replacing; replacing rebuilds the model
    with pytest.raises(InvalidRequestError, match="Ya hay un horario llamado 'buses-chiloe'"):
        _import(app, write_feed_bytes())
    _import(app, write_feed_bytes(), replace=True, source="otra")
    assert transit_model(app) is not model
    with _sessions(app)() as session:
        assert session.scalar(select(func.count()).select_from(TransitFeedRow)) == 1


def write_feed_bytes(files=None) -> bytes:
    return _zip(dict(FEED_FILES) if files is None else files)


def test_a_bad_feed_is_refused_whole_with_every_problem(app):
    files = dict(FEED_FILES)
    files.pop("calendar.txt")
    files.pop("calendar_dates.txt")
    files["stops.txt"] += "LEJOS,Santiago,-33.45,-70.66\n"
    files["stop_times.txt"] += "LV-0700,25:xx:00,25:xx:00,MOCO,4\n"
    with pytest.raises(InvalidRequestError) as err:
        _import(app, write_feed_bytes(files))
    text = str(err.value)
    assert "no se importó (nada se cargó)" in text
    assert "calendar.txt" in text
    with pytest.raises(InvalidRequestError, match="vacío"):
        _import(app, b"")
    with pytest.raises(InvalidRequestError):
        _import(app, b"esto no es un zip")
    with _sessions(app)() as session:
        assert session.scalar(select(func.count()).select_from(TransitFeedRow)) == 0
    assert transit_or_none(app) is None


def test_the_refusal_names_the_file_that_was_uploaded(app):
    # issue 23 walk: a CSV uploaded by mistake was refused as «'horario.zip' no es un archivo
    # zip válido», naming a file the user never had
    with pytest.raises(InvalidRequestError, match=r"'horario\.csv' no es un archivo zip válido"):
        _import(app, b"linea,salida\nCastro - Dalcahue,07:00\n", "horario.csv")
    for odd in ("../../etc/horario.zip", "..", "", "a\x00b.zip"):
        with pytest.raises(InvalidRequestError, match="no es un archivo zip válido"):
            _import(app, b"no es un zip", odd)
    row = _import(app, write_feed_bytes(), "Buses Chiloé.ZIP")
    assert (row.name, row.filename) == ("buses-chiloe", "Buses Chiloé.ZIP")


def test_stops_outside_the_territory_are_refused(app):
    files = dict(FEED_FILES)
    files["stops.txt"] = files["stops.txt"].replace("-42.48", "-33.45", 1)
    with pytest.raises(InvalidRequestError, match="fuera"):
        _import(app, write_feed_bytes(files))


def test_entered_lines_all_or_nothing_with_sources_and_conflicts(app):
    feed = _save_demo_lines(app)
    assert len(feed.trips) == 55 and feed.routes["assumed"].all()
    with _sessions(app)() as session:
        assert session.scalar(select(func.count()).select_from(TransitStopRow)) == 3
        assert session.scalar(select(func.count()).select_from(TransitLineRow)) == 2
        stops_csv, lines_csv = lines_tables(session)
        version = service.lines_version(session)
    assert "supuesto (aproximada en el mapa)" in stops_csv
    bad = lines_csv.replace("0 12 40", "0 12").replace(",supuesto,07:00", ",,07:00")
    with _sessions(app)() as session, session.begin(), pytest.raises(InvalidRequestError) as err:
        service.save_lines(session, stops_csv, bad, version=version)
    text = str(err.value)
    assert "`tiempos_min`='0 12' debe tener" in text
    assert "`frecuencia_min` tiene valor pero `frecuencia_fuente` está vacío" in text
    with _sessions(app)() as session:
        assert lines_tables(session) == (stops_csv, lines_csv)  # nothing changed
    with _sessions(app)() as session, session.begin(), pytest.raises(ConflictError):
        service.save_lines(session, stops_csv, lines_csv, version="0123456789abcdef")
    # the entered line gives the mode on its own
    model = transit_model(app)
    journey = model.journey(CASTRO_TERMINAL, DALCAHUE_CENTRO, TUESDAY)
    assert [leg.kind for leg in journey.legs if leg.kind == "bus"] == ["bus"]
    assert journey.legs[-1].assumed or any(leg.assumed for leg in journey.legs)
    # empty tables remove the lines, and the mode with them
    with _sessions(app)() as session, session.begin():
        empty = service.save_lines(
            session, stops_csv.splitlines()[0], lines_csv.splitlines()[0], version="*"
        )
    assert empty is None and transit_or_none(app) is None


def _key(journey):
    return (
        journey.arrive_at,
        tuple((leg.kind, leg.depart_at, leg.line_id, leg.assumed) for leg in journey.legs),
    )


def test_export_then_import_gives_the_same_journeys(app, tmp_path):
    _save_demo_lines(app)
    path = tmp_path / "export.zip"
    with _sessions(app)() as session:
        counts = service.export_feed(
            session, _territory(app), path,
            valid_from=dt.date(2026, 3, 1), valid_to=dt.date(2026, 12, 31),
        )  # fmt: skip
        entered = stored_feeds(session)
    assert counts["lineas_ingresadas"] == 1 and counts["lineas_barco"] >= 10
    reread = read_gtfs(path, territory=service.territory_box(_territory(app)))
    assert set(reread.routes.loc[reread.routes["kind"] == "bus", "route_id"]) == {"castro-dalcahue"}
    base = app_model(app)
    direct = TransitModel(base, entered)
    again = TransitModel(base, [reread], boats=False)
    places = [CASTRO_TERMINAL, DALCAHUE_CENTRO, base.find_place("Achao")[:2],
              base.find_place("Castro")[:2], base.find_place("Curaco de Vélez")[:2]]  # fmt: skip
    compared = 0
    for day in (10, 14, 15):  # Tuesday, Saturday, Sunday (no bus)
        for hhmm in ("06:30", "09:10", "13:45", "19:50"):
            when = dt.datetime.fromisoformat(f"2026-03-{day} {hhmm}")
            for a in places:
                for b in places:
                    if a != b:
                        assert _key(direct.journey(a, b, when)) == _key(again.journey(a, b, when))
                        compared += 1
    assert compared == 240
    # and the exported zip imports through the app as a feed of its own
    row = _import(app, path.read_bytes(), filename="export.zip")
    assert row.summary["lineas_por_tipo"]["bus"] == 1


def test_planning_a_gestor_without_vehicle_takes_the_bus(app):
    _save_demo_lines(app)
    model = transit_model(app)
    dalcahue = model.find_place("Dalcahue")
    gestor = Gestor("dalcahue", *dalcahue[:2], base_label="Dalcahue", vehicle=False,
                    start=dt.time(8, 30), end=dt.time(16, 30), max_visits=3)  # fmt: skip
    visits = [Visit("v1", -73.7700, -42.4760, label="Caso 1 (sintético)"),
              Visit("v2", -73.7660, -42.4820, label="Caso 2 (sintético)")]  # fmt: skip
    monday = dt.date(2026, 3, 9)
    plan = plan_week(model, visits, [gestor], [monday])
    assert not plan.unassigned
    legs = [leg for day in plan.days for stop in day.stops for leg in stop.legs]
    legs += [leg for day in plan.days for leg in day.back]
    rides = [leg for leg in legs if leg.kind == "bus"]
    assert rides and all(leg.line_id == "castro-dalcahue" and leg.assumed for leg in rides)
    # on foot only, the same visits do not fit in the day
    walking = plan_week(app_model(app), visits, [gestor], [monday])
    assert len(walking.unassigned) > len(plan.unassigned)


def test_web_page_imports_saves_lines_and_exports(app):
    client = login(app.test_client(), app, "profesional")
    token = csrf(client)
    response = client.post(
        "/transporte/gtfs",
        data={"csrf": token, "fuente": "prueba", "archivo": (io.BytesIO(write_feed_bytes()),
                                                             "buses-chiloe.zip")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302  # the import is a job (geo_app.transit.gtfs_jobs)
    jobs.join_all()
    page = client.get("/transporte").get_data(as_text=True)
    assert "buses-chiloe" in page and "está disponible" in page
    broken = dict(FEED_FILES)
    broken.pop("stops.txt")
    refused = client.post(
        "/transporte/gtfs",
        data={"csrf": token, "archivo": (io.BytesIO(write_feed_bytes(broken)), "roto.zip")},
        content_type="multipart/form-data",
    )
    jobs.join_all()
    assert "/transporte/gtfs/trabajo/" in refused.headers["Location"]
    failed = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "no se importó" in failed and "stops.txt" in failed
    page = client.get("/transporte").get_data(as_text=True)
    assert "roto" not in page.split("<h2")[1]
    with _sessions(app)() as session:
        version = service.lines_version(session)
    client.post("/transporte/lineas",
                data={"csrf": token, "version": version, "paradas": DEMO_STOPS,
                      "lineas": DEMO_LINES})  # fmt: skip
    page = client.get("/transporte").get_data(as_text=True)
    assert 'id="lines-table"' in page and 'class="assumed"' in page
    exported = client.get("/transporte/exportar.zip")
    assert exported.status_code == 200
    with zipfile.ZipFile(io.BytesIO(exported.data)) as zf:
        assert {"routes.txt", "stop_times.txt", "revincula_fuentes.txt"} <= set(zf.namelist())
    journey = client.get(
        "/api/viaje",
        query_string={"desde": "-42.4797,-73.7640", "hasta": "-42.3777,-73.6510",
                      "salida": "2026-03-10 06:50", "modo": "transporte_publico"},
    ).get_json()  # fmt: skip
    assert journey["modo"] == "transporte_publico"
    assert "bus" in [t["tipo"] for t in journey["tramos"]]
    mesa = login(app.test_client(), app, "mesa")
    assert mesa.get("/transporte").status_code == 403


def test_cli_import_export_and_route(app, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    runner = CliRunner()
    unavailable = runner.invoke(
        main, ["route", "Castro", "Dalcahue", "--at", "2026-03-10 06:50", "--transporte-publico"]
    )
    assert unavailable.exit_code == 1 and "no está disponible" in unavailable.output
    feed = write_feed(tmp_path, name="buses-chiloe.zip")
    done = runner.invoke(main, ["transit", "import", str(feed), "--fuente", "prueba"])
    assert done.exit_code == 0, done.output
    assert "GTFS «buses-chiloe» importado: 3 paradas, 1 línea (1 bus), 5 viajes" in done.output
    again = runner.invoke(main, ["transit", "import", str(feed)])
    assert again.exit_code == 1 and "--reemplazar" in again.output
    route = runner.invoke(
        main,
        ["route", "--at", "2026-03-10 06:50", "--transporte-publico", "--", "Terminal Castro",
         "-42.3813,-73.648"],
    )  # fmt: skip
    assert route.exit_code == 0, route.output
    assert "Bus 1 Castro - Dalcahue: sube en Terminal Castro a las 07:00" in route.output
    assert "solo a pie" not in route.output
    # two points near Chonchi, 1.1 km apart, far from every stop of the feed: a walk, said so
    walk = runner.invoke(
        main, ["route", "--at", "2026-03-10 06:50", "--transporte-publico", "--",
               "-42.60,-73.77", "-42.61,-73.77"],
    )  # fmt: skip
    assert walk.exit_code == 0, walk.output
    assert "este viaje en transporte público es solo a pie" in walk.output
    stops, lines = tmp_path / "paradas.csv", tmp_path / "lineas.csv"
    stops.write_text(DEMO_STOPS, encoding="utf-8")
    lines.write_text(DEMO_LINES, encoding="utf-8")
    entered = runner.invoke(main, ["transit", "lines", str(stops), str(lines)])
    assert entered.exit_code == 0, entered.output
    assert "1 línea, 3 paradas, 55 salidas (1 línea con valores supuestos)" in entered.output
    points = tmp_path / "puntos.csv"
    points.write_text("id,lat,lon\nterminal,-42.4797,-73.7640\ndalcahue,-42.3777,-73.6510\n")
    table = tmp_path / "matriz.csv"
    matrix = runner.invoke(
        main, ["matrix", str(points), "--at", "2026-03-10 06:50", "-o", str(table),
               "--transporte-publico"],
    )  # fmt: skip
    assert matrix.exit_code == 0, matrix.output
    times = {
        tuple(line.split(",")[:2]): float(line.split(",")[2])
        for line in table.read_text().splitlines()[1:]
    }
    # 10 min waiting for the 07:00 bus at the terminal, then a 40 min ride
    assert 45 * 60 < times[("terminal", "dalcahue")] < 60 * 60
    out = tmp_path / "exportado.zip"
    exported = runner.invoke(
        main, ["transit", "export", "-o", str(out), "--desde", "2026-03-01", "--hasta",
               "2026-12-31"],
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert "1 líneas ingresadas" in exported.output
    backwards = runner.invoke(
        main, ["transit", "export", "-o", str(tmp_path / "x.zip"), "--desde", "2026-12-31",
               "--hasta", "2026-01-01"],
    )  # fmt: skip
    assert backwards.exit_code == 2
    assert "--hasta (2026-01-01) es anterior a --desde (2026-12-31)" in backwards.output
    assert "valid_to" not in backwards.output and not (tmp_path / "x.zip").exists()
    assert "1 líneas de 1 GTFS importados (buses-chiloe, con sus propias fechas)" in exported.output
    assert read_gtfs(out).summary()["lineas_por_tipo"]["bus"] == 2  # entered and imported
    info = runner.invoke(main, ["transit", "info"])
    assert '"nombre": "lineas-ingresadas"' in info.output
    removed = runner.invoke(main, ["transit", "remove", "buses-chiloe"])
    assert removed.exit_code == 0 and "GTFS «buses-chiloe» borrado." in removed.output
    with app.extensions["revincula.db"]() as session:  # each change from a command is audited
        changes = session.execute(
            select(AuditEntry.target_id, AuditEntry.detail, AuditEntry.username)
            .where(AuditEntry.target == "transporte").order_by(AuditEntry.id)
        ).all()  # fmt: skip
    assert [(t, d) for t, d, _ in changes] == [
        ("buses-chiloe", "importar GTFS"), ("lineas", "guardar líneas"),
        ("buses-chiloe", "borrar GTFS"),
    ]  # fmt: skip
    assert all(user.startswith("cli:") for _, _, user in changes)
    assert runner.invoke(main, ["transit", "remove", "nada"]).exit_code == 1


GESTOR_SIN_VEHICULO = """codigo,nombre,base,dias,inicio,fin,vehiculo,max_visitas
dalcahue,Gestor Dalcahue (sintético),Dalcahue,"lu,ma,mi,ju,vi",08:30,16:30,no,4
"""


def test_the_gestor_without_vehicle_sees_his_bus_legs(app):
    from geo_app.planning.gestores import read_gestores_csv
    from geo_app.planning.plans import compute_week
    from tests.lists import HEADER
    from tests.lists import SYNTHETIC_ROWS

    client = login(app.test_client(), app)
    token = csrf(client)
    rows = (HEADER + "".join(SYNTHETIC_ROWS)).encode()
    data = {"csrf": token, "mes": "2026-08", "archivo": (io.BytesIO(rows), "l.csv")}
    preview = client.post("/importar", data=data, content_type="multipart/form-data")
    key = preview.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    client.post(f"/importar/{key}/confirmar", data={"csrf": token, "solo_validas": "0"})
    # the two Castro cases located (as if confirmed on the map) near the rural terminal
    with _sessions(app)() as session, session.begin():
        castro = session.scalars(select(Case).where(Case.comuna == "Castro")).all()
        assert len(castro) == 2
        for case, (lon, lat) in zip(
            castro, [(-73.7700, -42.4760), (-73.7660, -42.4820)], strict=True
        ):
            case.lon, case.lat = lon, lat
    gestores = read_gestores_csv(GESTOR_SIN_VEHICULO.encode(), app_model(app).find_place)
    # without a bus timetable the plan walks, and its screens say why
    walked_id, walked = compute_week(
        app, gestores, dt.date(2026, 3, 9), seconds=1, actor="prueba", synthetic=True
    )
    assert "transporte_publico" not in walked
    detail = client.get(f"/planificacion/{walked_id}").get_data(as_text=True)
    assert 'id="no-transit-note"' in detail and "no inventa horarios" in detail
    walked_day = next(d["dia"] for d in walked["dias"] if d["paradas"])
    day_page = client.get(f"/terreno?gestor=dalcahue&dia={walked_day}").get_data(as_text=True)
    assert 'id="no-transit-note"' in day_page
    _save_demo_lines(app)
    plan_id, result = compute_week(
        app, gestores, dt.date(2026, 3, 9), seconds=1, actor="prueba", synthetic=True
    )
    assert result["transporte_publico"] == "lineas-ingresadas"
    days = [d for d in result["dias"] if d["paradas"]]
    rides = [
        (d["dia"], leg)
        for d in days
        for leg in [*[t for s in d["paradas"] for t in s["tramos"]], *d["regreso"]]
        if leg["tipo"] == "bus"
    ]
    assert rides, "the Castro visits are reached by bus from Dalcahue"
    day, leg = rides[0]
    assert leg["linea_id"] == "castro-dalcahue" and leg["supuesto"]
    page = client.get(f"/terreno?gestor=dalcahue&dia={day}").get_data(as_text=True)
    assert "busbox" in page and f"a las <strong>{leg['sale'][11:16]}</strong>" in page
    assert "horario supuesto" in page and "lineas-ingresadas" in page
    detail = client.get(f"/planificacion/{plan_id}").get_data(as_text=True)
    assert 'class="bus"' in detail and 'id="transit-note"' in detail
    # the team activity report counts the hours on the bus
    from geo_app.reports.service import team_activity
    from geo_app.scope import Scope

    with _sessions(app)() as session:
        table = team_activity(session, Scope("prueba", "admin"), "2026-03", "2026-03")
    assert table.weekly["bus_h"].sum() > 0


def test_replanning_with_a_suspended_ferry_keeps_the_buses(app):
    from routing.boats import Suspension
    from routing.planning import replan

    _save_demo_lines(app)
    model = transit_model(app)
    suspended = model.with_suspensions(
        [Suspension.on_day("dalcahue-quinchao", dt.date(2026, 3, 10))]
    )
    curaco = model.find_place("Curaco de Vélez")[:2]
    dalcahue = model.find_place("Dalcahue")[:2]
    normal = model.journey(dalcahue, curaco, TUESDAY.replace(hour=9))
    cut = suspended.journey(dalcahue, curaco, TUESDAY.replace(hour=9))
    assert any(leg.line_id == "dalcahue-quinchao" for leg in normal.legs)
    ferry = [leg for leg in cut.legs if leg.line_id == "dalcahue-quinchao"]
    assert all(leg.depart_at.date() != TUESDAY.date() for leg in ferry)  # none that Tuesday
    assert (
        suspended.journey(CASTRO_TERMINAL, DALCAHUE_CENTRO, TUESDAY).legs
        == model.journey(CASTRO_TERMINAL, DALCAHUE_CENTRO, TUESDAY).legs
    )
    gestor = Gestor("dalcahue", *dalcahue, base_label="Dalcahue", vehicle=False, max_visits=3)
    visits = [Visit("v1", -73.7700, -42.4760, label="Caso 1 (sintético)")]
    monday = dt.date(2026, 3, 9)
    first = plan_week(model, visits, [gestor], [monday, monday + dt.timedelta(days=1)])
    again = replan(
        first, model, [gestor], [monday, monday + dt.timedelta(days=1)], from_day=monday,
        suspensions=[Suspension.on_day("dalcahue-quinchao", monday)],
    )  # fmt: skip
    assert not again.unassigned


def test_backup_keeps_the_stored_feeds(app, tmp_path):
    from geo_app.store import make_engine
    from geo_app.store.backup import backup
    from geo_app.store.backup import restore

    _import(app, write_feed_bytes())
    _save_demo_lines(app)
    path = tmp_path / "r.jsonl.gz"
    counts = backup(app.extensions["revincula.engine"], path)
    assert counts["transit_feeds"] == 1 and counts["transit_lines"] == 2
    url = f"sqlite:///{tmp_path / 'restaurada.sqlite'}"
    engine = make_engine(url)
    restore(engine, url, path)
    other = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": url})
    try:
        with other.extensions["revincula.db"]() as session:
            row = session.scalar(select(TransitFeedRow))
            assert hashlib.sha256(row.content).hexdigest() == row.sha256
        assert (
            transit_model(other).info()["transporte_publico"]["viajes"]
            == (transit_model(app).info()["transporte_publico"]["viajes"])
        )
    finally:
        other.extensions["revincula.engine"].dispose()
        engine.dispose()
