"""Case store on SQLite and PostgreSQL: migrations, all-or-nothing imports, re-imports, history."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func
from sqlalchemy import select

from geo_app.cases.importing import ImportRejectedError
from geo_app.cases.importing import apply_import
from geo_app.cases.importing import prepare_import
from geo_app.cases.importing import save_mapping
from geo_app.cases.service import EditConflictError
from geo_app.cases.service import move_pin
from geo_app.store import HistoryAppendOnlyError
from geo_app.store.models import Attendance
from geo_app.store.models import Base
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import Contact
from geo_app.store.models import ImportBatch
from geo_app.store.models import Student

TODAY = dt.date(2026, 11, 21)
HEADER = (
    "RUN;Nombres;Apellidos;Fecha Nacimiento;RBD;Curso;% Asistencia;Dirección;Comuna;"
    "Apoderado;Teléfono\r\n"
)
# RBD 8001 Liceo Politécnico de Castro; 8169 Escuela Rural Huyar Alto (Curaco de Vélez)
ANA = (
    "12.345.678-5;Ana;Pérez Soto;07/03/2012;8001;7° básico;{pct};Sector Pid Pid s/n;Castro;"
    "María Soto;+56 9 0000 1111\r\n"
)
LUIS = (
    "7.654.321-6;Luis;Gómez Barría;01/06/2011;8169;8° básico;{pct};Sector Huyar Alto s/n;"
    "Curaco de Vélez;;\r\n"
)
BAD = "11.111.111-2;Sin;Dígito;01/06/2011;8001;8° básico;70;Castro;Castro;;\r\n"


def file_of(*rows: str) -> bytes:
    return (HEADER + "".join(rows)).encode("utf-8")


def do_import(sessions, context, data, period, *, only_valid=False, name="lista.csv"):
    with sessions() as session, session.begin():
        prepared = prepare_import(session, context, data, name, period=period, today=TODAY)
        batch = apply_import(session, context, prepared, only_valid=only_valid, actor="prueba")
        return prepared, batch


def count(sessions, model):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_migrations_match_the_models(sessions):
    engine = sessions.kw["bind"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_import_creates_classified_located_cases(sessions, case_context):
    data = file_of(ANA.format(pct="80,5"), LUIS.format(pct="45"))
    _, batch = do_import(sessions, case_context, data, "2026-08")
    assert (batch.n_new, batch.n_updated, batch.n_rejected) == (2, 0, 0)
    assert batch.geocode_summary == {"localidad": 2}
    with sessions() as session:
        ana = session.scalar(select(Case).join(Student).where(Student.run == 12345678))
        assert ana.category == "grave" and ana.rezago == 2
        assert ana.geocode_match == "Pid Pid" and ana.island == "Isla Grande de Chiloé"
        assert [(c.name, c.phone) for c in ana.contacts] == [("María Soto", "+56 9 0000 1111")]
        luis = session.scalar(select(Case).join(Student).where(Student.run == 7654321))
        assert luis.category == "critica" and luis.island == "Isla Quinchao"
        assert ana.priority == 30 + 2 * 5  # grave + 2 years of rezago (under 14 on the date? no)


def test_file_with_an_error_imports_nothing(sessions, case_context):
    data = file_of(ANA.format(pct="80"), BAD)
    with pytest.raises(ImportRejectedError, match="no se importó nada"):
        do_import(sessions, case_context, data, "2026-08")
    assert count(sessions, Student) == 0
    assert count(sessions, ImportBatch) == 0


def test_only_valid_rows_when_chosen(sessions, case_context):
    _, batch = do_import(
        sessions, case_context, file_of(ANA.format(pct="80"), BAD), "2026-08", only_valid=True
    )
    assert (batch.n_valid, batch.n_rejected, batch.status) == (1, 1, "solo_validas")
    assert batch.report["counts"] == {"run_check_digit": 1}
    assert count(sessions, Student) == 1


def test_failure_midway_rolls_back_everything(sessions, case_context):
    data = file_of(ANA.format(pct="80"), LUIS.format(pct="70"))
    refused = pytest.raises(Exception, match=r"(?i)null|constraint")
    with sessions() as session, refused, session.begin():
        prepared = prepare_import(session, case_context, data, "x.csv", period="2026-08",
                                  today=TODAY)  # fmt: skip
        prepared.result.records[1]["run"] = None  # the database refuses this row
        apply_import(session, case_context, prepared, actor="prueba")
    assert count(sessions, Student) == 0
    assert count(sessions, Case) == 0
    assert count(sessions, ImportBatch) == 0


def test_reimport_next_month_updates_and_keeps_history(sessions, case_context):
    do_import(sessions, case_context, file_of(ANA.format(pct="80"), LUIS.format(pct="70")),
              "2026-08")  # fmt: skip
    prepared, batch = do_import(sessions, case_context, file_of(ANA.format(pct="87")), "2026-09")
    assert (prepared.updated_runs, prepared.new_runs, prepared.missing_runs) == ([12345678], [], [])
    assert (batch.n_new, batch.n_updated, batch.n_missing) == (0, 1, 0)  # Luis: other school
    with sessions() as session:
        ana = session.scalar(select(Case).join(Student).where(Student.run == 12345678))
        assert [(a.period, a.pct) for a in ana.attendance] == [("2026-08", 80.0), ("2026-09", 87.0)]
        assert ana.category == "reiterada" and ana.latest_period == "2026-09"
        changes = {(c.field, c.old, c.new) for c in ana.changes}
        assert ("category", "grave", "reiterada") in changes
    # the school's next list no longer has Ana: she is flagged, not deleted
    luis_school_only = file_of(LUIS.format(pct="75"), "9.876.543-3;Eva;Ruiz;01/01/2013;8001;"
                               "6° básico;60;Sector Rilán;Castro;;\r\n")  # fmt: skip
    prepared, batch = do_import(sessions, case_context, luis_school_only, "2026-10")
    assert prepared.missing_runs == [12345678] and batch.n_missing == 1
    assert (batch.n_new, batch.n_updated) == (1, 1)
    with sessions() as session:
        ana = session.scalar(select(Case).join(Student).where(Student.run == 12345678))
        assert ana.in_latest_list is False
        assert ("in_latest_list", "True", "False") in {(c.field, c.old, c.new) for c in ana.changes}


def test_same_file_twice_changes_nothing(sessions, case_context):
    data = file_of(ANA.format(pct="80"))
    do_import(sessions, case_context, data, "2026-08")
    _, batch = do_import(sessions, case_context, data, "2026-08")
    assert (batch.n_new, batch.n_updated, batch.n_unchanged) == (0, 0, 1)
    assert count(sessions, Attendance) == 1 and count(sessions, Contact) == 1


def test_same_run_with_another_name_is_refused(sessions, case_context):
    do_import(sessions, case_context, file_of(ANA.format(pct="80")), "2026-08")
    other = file_of(ANA.format(pct="80").replace("Ana;Pérez Soto", "Rosa;Vera Millalonco"))
    with sessions() as session:
        prepared = prepare_import(session, case_context, other, "x.csv", period="2026-09")
    assert [i.code for i in prepared.result.issues] == ["name_mismatch"]


def test_history_is_append_only(sessions, case_context):
    do_import(sessions, case_context, file_of(ANA.format(pct="80")), "2026-08")
    do_import(sessions, case_context, file_of(ANA.format(pct="95")), "2026-09")
    with sessions() as session:
        change = session.scalars(select(Change)).first()
        change.new = "otra cosa"
        with pytest.raises(HistoryAppendOnlyError):
            session.flush()
        session.rollback()
        session.delete(session.scalars(select(Change)).first())
        with pytest.raises(HistoryAppendOnlyError):
            session.flush()


def test_moving_a_pin_records_who_and_refuses_stale_forms(sessions, case_context):
    do_import(sessions, case_context, file_of(ANA.format(pct="80")), "2026-08")
    with sessions() as session:
        case = session.scalars(select(Case)).one()
        version = case.version
    with sessions() as session, session.begin():
        moved = move_pin(session, case_context, case.id, -73.70, -42.47, actor="Gestora Uno",
                         expected_version=version)  # fmt: skip
        assert moved.geocode_method == "manual" and moved.located_by == "Gestora Uno"
    with sessions() as session, session.begin(), pytest.raises(EditConflictError, match="Otra"):
        move_pin(session, case_context, case.id, -73.71, -42.47, actor="Otro",
                 expected_version=version)  # fmt: skip
    with sessions() as session, session.begin(), pytest.raises(ValueError, match="mar"):
        move_pin(session, case_context, case.id, -74.5, -42.0, actor="x",
                 expected_version=version + 1)  # fmt: skip
    # a re-import does not move a pin placed by hand
    do_import(sessions, case_context, file_of(ANA.format(pct="82")), "2026-09")
    with sessions() as session:
        case = session.scalars(select(Case)).one()
        assert (case.lon, case.lat, case.geocode_method) == (-73.70, -42.47, "manual")
        assert any(c.source == "manual" and c.actor == "Gestora Uno" for c in case.changes)


def test_saved_mapping_is_reused(sessions, case_context):
    data = "Codigo;Alumno;Colegio;Pct\r\n12345678-5;Ana Pérez;8001;70\r\n".encode()
    with sessions() as session:
        prepared = prepare_import(session, case_context, data, "a.csv", period="2026-08")
        assert not prepared.match.complete
        save_mapping(session, prepared.table, {"Codigo": "run", "Alumno": "nombre_completo",
                                               "Colegio": "rbd", "Pct": "asistencia"})  # fmt: skip
        session.commit()
    _, batch = do_import(sessions, case_context, data, "2026-08")
    assert batch.n_new == 1


def test_the_history_shows_the_month_the_rows_carry(sessions, case_context):
    # the form's month (its default is last month) is only for files that do not say it
    header = HEADER.replace("Apoderado;Teléfono\r\n", "Apoderado;Teléfono;Mes\r\n")
    data = (header + ANA.format(pct="80,5").replace("\r\n", ";agosto 2026\r\n")).encode()
    prepared, batch = do_import(sessions, case_context, data, "2026-10")
    assert prepared.result.period == "2026-08"
    assert batch.period == "2026-08" and batch.report["periods"] == {"2026-08": 1}
    with sessions() as session:
        assert session.scalars(select(Attendance.period)).all() == ["2026-08"]


def test_a_header_only_file_imports_nothing(sessions, case_context):
    with sessions() as session:
        prepared = prepare_import(session, case_context, file_of(), "x.csv", period="2026-08")
        assert not prepared.can_import_all and not prepared.can_import_valid
        with pytest.raises(ImportRejectedError, match="solo trae el encabezado"):
            apply_import(session, case_context, prepared, actor="prueba")
    assert count(sessions, ImportBatch) == 0


def test_an_unmapped_check_digit_column_goes_to_the_mapping_step(sessions, case_context):
    # 90000004 + «Control» 9 is 90.000.004-9 (4·2 + 9·3 = 35; 35 % 11 = 2; 11 − 2 = 9);
    # without it the RUN would be read as 9.000.000-4, which also passes module 11
    data = b"RUN;Control;Nombres;RBD;Asistencia\r\n90000004;9;Julia;8001;40\r\n"
    with sessions() as session:
        prepared = prepare_import(session, case_context, data, "a.csv", period="2026-08")
        assert prepared.match.suspects == ["Control"] and not prepared.match.complete
        save_mapping(session, prepared.table, {"RUN": "run", "Control": "dv", "Nombres":
                                               "nombres", "RBD": "rbd", "Asistencia":
                                               "asistencia"})  # fmt: skip
        session.commit()
    prepared, batch = do_import(sessions, case_context, data, "2026-08")
    assert batch.n_new == 1
    with sessions() as session:
        assert session.scalars(select(Student.run)).all() == [90000004]


def test_the_header_row_can_be_chosen_for_a_report_export(sessions, case_context):
    title = "Nómina de estudiantes - Escuela de prueba\r\n"
    data = (title + HEADER + ANA.format(pct="40")).encode()
    with sessions() as session:
        found = prepare_import(session, case_context, data, "x.csv", period="2026-08")
        chosen = prepare_import(session, case_context, data, "x.csv", period="2026-08",
                                header_row=1)  # fmt: skip
    assert found.table.header_rows == (2,) and found.can_import_all
    assert chosen.table.header_rows == (1,) and not chosen.match.complete


def test_one_file_with_two_months_of_a_new_student_makes_one_student(sessions, case_context):
    """A «Mes» column lets one file carry July and August: one student, two months.

    Before, the second row of a RUN new to the database made a second student and the
    import failed on the unique RUN (a traceback, nothing stored).
    """
    header = HEADER.replace("Apoderado;Teléfono\r\n", "Apoderado;Teléfono;Mes\r\n")
    rows = (
        ANA.format(pct="80").replace("\r\n", ";2026-07\r\n"),
        ANA.format(pct="87").replace("\r\n", ";2026-08\r\n"),
        LUIS.format(pct="70").replace("\r\n", ";2026-08\r\n"),
    )
    data = (header + "".join(rows)).encode()
    prepared, batch = do_import(sessions, case_context, data, "2026-10")
    assert prepared.new_runs == [7654321, 12345678]
    assert (batch.n_new, batch.n_updated, batch.n_unchanged) == (2, 0, 0)  # students, not rows
    assert (count(sessions, Student), count(sessions, Case), count(sessions, Attendance)) == (
        2, 2, 3,
    )  # fmt: skip
    with sessions() as session:
        ana = session.scalar(select(Case).join(Student).where(Student.run == 12345678))
        assert [(a.period, a.pct) for a in ana.attendance] == [("2026-07", 80.0), ("2026-08", 87.0)]
        assert ana.latest_period == "2026-08" and ana.category == "reiterada"  # from August
        assert ana.changes == []  # a new case: no history of its own first import
        assert count(sessions, Contact) == 1  # the same guardian, once
    # the same two months again, and September: Ana is one updated student, Luis unchanged
    rows = (*rows, ANA.format(pct="90").replace("\r\n", ";2026-09\r\n"))
    _, batch = do_import(sessions, case_context, (header + "".join(rows)).encode(), "2026-10")
    assert (batch.n_new, batch.n_updated, batch.n_unchanged) == (0, 1, 1)
    with sessions() as session:
        ana = session.scalar(select(Case).join(Student).where(Student.run == 12345678))
        assert [a.period for a in ana.attendance] == ["2026-07", "2026-08", "2026-09"]
        assert ana.latest_period == "2026-09" and ana.version == 2


def test_an_older_months_list_takes_no_one_out_of_a_newer_list(sessions, case_context):
    """A backfill of August after September's list: nobody is «ya no está en la lista».

    Before, the August list, complete for its school, marked every September student it
    lacked, and put back in the latest list the students only August had.
    """
    eva = "9.876.543-3;Eva;Ruiz;01/01/2013;8001;6° básico;{pct};Sector Rilán;Castro;;\r\n"
    do_import(sessions, case_context, file_of(ANA.format(pct="80"), eva.format(pct="60")),
              "2026-09")  # fmt: skip
    prepared, batch = do_import(sessions, case_context, file_of(ANA.format(pct="75")), "2026-08")
    assert prepared.missing_runs == [] and batch.n_missing == 0
    with sessions() as session:
        listed = session.scalars(select(Student.run).join(Case).where(Case.in_latest_list))
        assert sorted(listed) == [9876543, 12345678]
    # October without Eva: now she is out; an August backfill with her does not put her back
    prepared, batch = do_import(sessions, case_context, file_of(ANA.format(pct="70")), "2026-10")
    assert prepared.missing_runs == [9876543] and batch.n_missing == 1
    do_import(sessions, case_context, file_of(eva.format(pct="55")), "2026-07")
    with sessions() as session:
        eva_case = session.scalar(select(Case).join(Student).where(Student.run == 9876543))
        assert eva_case.in_latest_list is False and eva_case.latest_period == "2026-09"
        assert [a.period for a in eva_case.attendance] == ["2026-07", "2026-09"]
