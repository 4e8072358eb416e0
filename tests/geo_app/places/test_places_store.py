"""The team's gazetteer in the store (SQLite and PostgreSQL): imports, pins, corrections, retiring.

Every place name and case here is synthetic (RUNs 90.000.011–90.000.015);
the points are chosen inside the real comunas.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func
from sqlalchemy import select

from geo_app.cases.importing import apply_import
from geo_app.cases.importing import prepare_import
from geo_app.cases.service import move_pin
from geo_app.errors import ForbiddenError
from geo_app.places.service import confirm_home
from geo_app.places.service import correct_place
from geo_app.places.service import find_place
from geo_app.places.service import import_gazetteer
from geo_app.places.service import place_id
from geo_app.places.service import restore_entry
from geo_app.places.service import retire_entry
from geo_app.places.service import sector_of
from geo_app.places.stored import current_gazetteer
from geo_app.places.stored import current_geocoder
from geo_app.scope import Scope
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import GazetteerRow
from geo_app.store.models import Student
from layers.gazetteer import GazetteerError

TODAY = dt.date(2026, 11, 30)
HEADER = "RUN;Nombres;Apellidos;Fecha Nacimiento;RBD;Curso;% Asistencia;Dirección;Comuna\r\n"
# «Nueva Esperanza» is in no bundled source for Castro: before an import it falls back.
NUEVA = (
    "90.000.011-1;Ada;Sintética;07/03/2012;8001;7° básico;40;Sector Nueva Esperanza s/n;Castro\r\n"
)
NUEVA_2 = "90.000.012-K;Iris;Sintética;07/03/2012;8001;7° básico;40;nueva esperanza;Castro\r\n"
PID = "90.000.013-8;Leo;Sintético;01/06/2011;8001;8° básico;45;Sector Pid Pid s/n;Castro\r\n"
PID_2 = "90.000.014-6;Mar;Sintética;01/06/2011;8001;8° básico;45;Pid Pid casa 4;Castro\r\n"
GAZ_HEADER = "nombre;comuna;lat;lon;fuente\r\n"
GAZ_NUEVA = "Nueva Esperanza;Castro;-42,5200;-73,7000;sintético de prueba\r\n"
GAZ_OTHER = "Llicaldad Alto;Castro;-42.5100;-73.7300;sintético de prueba\r\n"


def cases_file(*rows: str) -> bytes:
    return (HEADER + "".join(rows)).encode("utf-8")


def gaz_file(*rows: str) -> bytes:
    return (GAZ_HEADER + "".join(rows)).encode("utf-8")


def import_cases(sessions, context, *rows):
    with sessions() as session, session.begin():
        prepared = prepare_import(session, context, cases_file(*rows), "l.csv", today=TODAY,
                                  period="2026-10")  # fmt: skip
        apply_import(session, context, prepared, actor="prueba", synthetic=True)


def case_of(session, run: int) -> Case:
    return session.scalar(select(Case).join(Student).where(Student.run == run))


def gazetteer_now(sessions, context):
    with sessions() as session:
        return current_gazetteer(session, context)


def geocoder_now(sessions, context):
    with sessions() as session:
        return current_geocoder(session, context)


def case_id(sessions, run: int) -> int:
    with sessions() as session:
        return case_of(session, run).id


@pytest.fixture
def context(territory):
    """A fresh context per test: the stored-gazetteer cache must not leak between databases."""
    from geo_app.cases.context import CaseContext

    return CaseContext.from_territory(territory)


def test_import_stores_every_row_and_relocates_the_cases_naming_them(sessions, context):
    import_cases(sessions, context, NUEVA, NUEVA_2)
    with sessions() as session:
        before = case_of(session, 90000011)
        assert before.geocode_method == "escuela" and before.geocode_source == "RBD 8001"
    with sessions() as session, session.begin():
        result = import_gazetteer(session, context, gaz_file(GAZ_NUEVA, GAZ_OTHER), "ine.csv",
                                  actor="prof")  # fmt: skip
    assert (result.n_rows, result.stored, result.repeated) == (2, 2, 0)
    assert len(result.relocated) == 2
    with sessions() as session:
        rows = session.scalars(select(GazetteerRow).order_by(GazetteerRow.id)).all()
        assert [(r.kind, r.name, r.comuna, r.filename, r.row, r.created_by) for r in rows] == [
            ("importado", "Nueva Esperanza", "Castro", "ine.csv", 2, "prof"),
            ("importado", "Llicaldad Alto", "Castro", "ine.csv", 3, "prof"),
        ]
        assert rows[0].source == "sintético de prueba" and rows[0].lat == pytest.approx(-42.52)
        for run in (90000011, 90000012):
            case = case_of(session, run)
            assert case.geocode_method == "localidad"
            assert (case.lat, case.lon) == pytest.approx((-42.52, -73.70))
            assert case.geocode_source == f"importado {rows[0].id}"
            history = [c for c in case.changes if c.field == "ubicacion"]
            assert history[0].source == "lugar" and "ine.csv" in history[0].new
    # the same file again: nothing twice, no case moves
    with sessions() as session, session.begin():
        again = import_gazetteer(session, context, gaz_file(GAZ_NUEVA), "ine.csv", actor="prof")
    assert (again.stored, again.repeated, again.relocated) == (0, 1, [])


def test_a_case_import_uses_the_stored_entries(sessions, context):
    with sessions() as session, session.begin():
        import_gazetteer(session, context, gaz_file(GAZ_NUEVA), "ine.xlsx.csv", actor="prof")
    import_cases(sessions, context, NUEVA)
    with sessions() as session:
        case = case_of(session, 90000011)
        assert case.geocode_method == "localidad" and case.geocode_source.startswith("importado")
        assert case.geocode_match == "Nueva Esperanza"


def test_a_bad_file_stores_nothing_and_says_every_problem_in_spanish(sessions, context):
    bad = gaz_file(
        GAZ_NUEVA,
        "Sin Punto;Castro;;-73.7;sintético\r\n",
        "Lejos;Castro;-73.7;-42.52;sintético\r\n",  # latitude and longitude swapped
        "Otra;Osorno;-42.5;-73.7;sintético\r\n",
        "Sin Fuente;Castro;-42.5;-73.7;\r\n",
        "Quemchi Mal;Quemchi;-42.52;-73.70;sintético\r\n",  # a Castro point said to be in Quemchi
    )
    with sessions() as session, session.begin(), pytest.raises(GazetteerError) as err:
        import_gazetteer(session, context, bad, "malo.csv", actor="prof")
    text = str(err.value)
    assert "no se guardó nada" in text
    assert "Fila 3: falta la latitud" in text
    assert "invertidas" in text and "Fila 4" in text
    assert "la comuna 'Osorno' no es del territorio" in text
    assert "Fila 6: falta la fuente" in text
    assert "km de la comuna Quemchi" in text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(GazetteerRow)) == 0
    with sessions() as session, session.begin(), pytest.raises(GazetteerError) as err:
        import_gazetteer(session, context, b"nombre;lat\r\nX;1\r\n", "cols.csv", actor="prof")
    assert "Faltan las columnas comuna, lon (longitud), fuente" in str(err.value)


def test_a_dry_run_reports_conflicts_and_stores_nothing(sessions, context):
    # Pid Pid is at about (-42.404, -73.774): a point 5 km off is a conflict
    far = "Pid Pid;Castro;-42.45;-73.774;sintético de prueba\r\n"
    with sessions() as session, session.begin():
        result = import_gazetteer(session, context, gaz_file(far), "p.csv", actor="p", dry_run=True)
    assert result.dry_run and result.stored == 0
    assert any(c.startswith("Pid Pid (Castro)") and "km" in c for c in result.conflicts)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(GazetteerRow)) == 0


def test_an_account_of_some_comunas_imports_only_its_comunas(sessions, context):
    scope = Scope("prof.ancud", "profesional", comunas=("Ancud",))
    with sessions() as session, session.begin(), pytest.raises(GazetteerError) as err:
        import_gazetteer(session, context, gaz_file(GAZ_NUEVA), "x.csv", actor="p", scope=scope)
    assert "fuera de su ámbito (Castro)" in str(err.value)


def test_a_pin_confirms_the_sector_for_every_case_in_it_and_can_be_removed(sessions, context):
    import_cases(sessions, context, PID, PID_2)
    with sessions() as session:
        first = case_of(session, 90000013)
        old_point = (first.lon, first.lat)
        # Pid Pid: DEIS, Mineduc and WOF within 263 m, written out: corroborated, «alta»
        assert first.geocode_method == "localidad" and first.geocode_score == pytest.approx(0.85)
        assert sector_of(first.address, first.sector) == "Pid Pid"
    pin = (-73.7700, -42.4100)  # 0.7 km from the sources' point
    with sessions() as session, session.begin():
        case = move_pin(
            session, context, first.id, *pin, actor="prof", expected_version=first.version
        )
        change = confirm_home(session, context, case, "Pid Pid", actor="prof")
        row_id = change.row.id
    with sessions() as session:
        row = session.get(GazetteerRow, row_id)
        assert (row.kind, row.origin, row.created_by, row.case_id) == (
            "confirmado", "pin", "prof", first.id)  # fmt: skip
        assert row.address_key == "sector pid pid"
        other = case_of(session, 90000014)
        assert other.id in change.relocated and first.id not in change.relocated
        assert other.geocode_method == "confirmado" and (other.lon, other.lat) == pytest.approx(pin)
        assert f"confirmado {row_id}" in other.geocode_source
        moved = [c for c in other.changes if c.source == "lugar"]
        assert moved and f"caso {first.id}" in moved[0].new
        assert case_of(session, 90000013).geocode_method == "manual"  # the pinned case stays
    # the same home again is placed at the team's point with «alta» confidence
    geocoder = geocoder_now(sessions, context)
    again = geocoder.locate("Sector Pid Pid s/n", "", "Castro")
    # SCORE_SAME_HOME 0.9, less 0.03 for the name read without its «Sector»
    assert again.method == "confirmado" and again.score == pytest.approx(0.87)
    assert (again.lon, again.lat) == pytest.approx(pin) and again.confidence == "alta"
    with sessions() as session, session.begin():
        back = retire_entry(session, context, None, f"confirmado {row_id}", actor="admin")
    assert back.relocated == [case_id(sessions, 90000014)]
    with sessions() as session:
        row = session.get(GazetteerRow, row_id)
        assert row.retired and row.retired_by == "admin" and row.retired_at is not None
        other = case_of(session, 90000014)
        assert other.geocode_method == "localidad" and (other.lon, other.lat) == pytest.approx(
            old_point)  # fmt: skip
    with sessions() as session, session.begin():
        restore_entry(session, context, None, row_id, actor="admin")
    with sessions() as session:
        assert case_of(session, 90000014).geocode_method == "confirmado"


def test_a_poor_gps_fix_confirms_nothing(sessions, context):
    import_cases(sessions, context, PID)
    with sessions() as session, session.begin():
        case = case_of(session, 90000013)
        with pytest.raises(GazetteerError, match="precisión del GPS es de 250 m"):
            confirm_home(session, context, case, "Pid Pid", actor="prof", accuracy_m=250.0)
    with sessions() as session, session.begin():
        case = case_of(session, 90000013)
        change = confirm_home(session, context, case, "Pid Pid", actor="prof", accuracy_m=12.0)
        assert change.row.origin == "gps" and change.row.accuracy_m == 12.0


def test_correcting_a_place_moves_every_case_naming_it_but_not_hand_placed_ones(sessions, context):
    import_cases(sessions, context, PID, PID_2)
    with sessions() as session, session.begin():
        hand = case_of(session, 90000014)
        move_pin(session, context, hand.id, -73.78, -42.40, actor="prof",
                 expected_version=hand.version)  # fmt: skip
    gazetteer = gazetteer_now(sessions, context)
    (pid,) = gazetteer.search("pid pid", "Castro")
    new_point = (-73.7650, -42.4150)
    with sessions() as session, session.begin():
        change = correct_place(session, context, None, place_id(pid), *new_point, actor="prof")
    with sessions() as session:
        moved = case_of(session, 90000013)
        assert change.relocated == [moved.id]
        assert (moved.lon, moved.lat) == pytest.approx(new_point)
        assert moved.geocode_method == "confirmado" and moved.geocode_score < 0.8
        assert case_of(session, 90000014).geocode_method == "manual"
        assert session.get(GazetteerRow, change.row.id).origin == "correccion"
    corrected = find_place(gazetteer_now(sessions, context), place_id(pid))
    assert corrected.confirmed and (corrected.lon, corrected.lat) == pytest.approx(new_point)
    # a point in the sea is refused
    with sessions() as session, session.begin(), pytest.raises(ValueError, match="en el mar"):
        correct_place(session, context, None, place_id(pid), -73.1, -42.1, actor="prof")
    # an island is placed by its polygon, not corrected as a point
    (island,) = [p for p in gazetteer_now(sessions, context).places if p.name == "Isla Lemuy"]
    with sessions() as session, session.begin(), pytest.raises(ValueError, match="es una isla"):
        correct_place(session, context, None, place_id(island), *new_point, actor="prof")
    # an account of another comuna may not correct it
    ancud = Scope("p.ancud", "profesional", comunas=("Ancud",))
    with sessions() as session, session.begin(), pytest.raises(ForbiddenError):
        correct_place(session, context, ancud, place_id(pid), *new_point, actor="p")


def test_retiring_another_sources_entry_is_recorded_and_can_be_undone(sessions, context):
    import_cases(sessions, context, PID)
    with sessions() as session, session.begin():
        change = retire_entry(session, context, None, "WOF 1293071993", actor="prof")
        row_id = change.row.id
    with sessions() as session:
        row = session.get(GazetteerRow, row_id)
        # the name as WOF writes it
        assert (row.kind, row.ref, row.name) == ("retiro", "WOF 1293071993", "Pidpid")
    gazetteer = gazetteer_now(sessions, context)
    (pid,) = gazetteer.search("pid pid", "Castro")
    assert "WOF 1293071993" not in pid.refs and "WOF 1293071993" in gazetteer.retired
    with sessions() as session, session.begin(), pytest.raises(LookupError):
        retire_entry(session, context, None, "WOF 1293071993", actor="prof")
    with sessions() as session, session.begin():
        restore_entry(session, context, None, row_id, actor="prof")
    (pid,) = gazetteer_now(sessions, context).search("pid pid", "Castro")
    assert "WOF 1293071993" in pid.refs
    with sessions() as session:
        history = session.scalars(select(Change).where(Change.source == "lugar")).all()
        assert all(h.field == "ubicacion" for h in history)


@pytest.mark.parametrize(
    ("address", "sector", "method", "matched", "expected"),
    [
        ("Sector Pid Pid s/n", "", "localidad", "Pid Pid", "Pid Pid"),
        ("Camino a Tenaún km 3", "Sector Huyar Alto", "", "", "Huyar Alto"),
        ("Localidad de Rilán, Castro", "", "", "", "de Rilán"),
        ("Metaheu s/n", "", "localidad_aprox", "Metahue (escrito «metaheu»)", "Metahue"),
        ("Pob. Gamboa 123", "", "pueblo", "Castro", ""),
    ],
)
def test_the_sector_an_address_names(address, sector, method, matched, expected):
    assert sector_of(address, sector, method, matched) == expected
