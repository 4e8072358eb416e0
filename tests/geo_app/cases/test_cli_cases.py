"""`revincula import`, `revincula demo seed` and `revincula db upgrade` from the command line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy import func
from sqlalchemy import select

from geo_app.cli import main
from geo_app.store.models import Case
from geo_app.store.models import PlanRow
from geo_app.store.models import Student
from geo_app.store.models import VisitRecord
from layers.intake import MESSAGES

HEADER = "RUN;Nombres;Apellidos;RBD;% Asistencia;Mes\r\n"


@pytest.fixture
def runner(db_url, monkeypatch):
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    return CliRunner()


def count(db_url, model):
    engine = create_engine(db_url)
    with engine.connect() as conn:
        value = conn.execute(select(func.count()).select_from(model)).scalar()
    engine.dispose()
    return value


def test_import_all_or_nothing(runner, db_url, tmp_path):
    path = tmp_path / "lista.csv"
    path.write_text(HEADER + "12.345.678-5;Ana;Pérez;8001;80;2026-08\r\n"
                    "12.345.678-9;Luis;Soto;8001;70;2026-08\r\n", encoding="latin-1")  # fmt: skip
    rejected = tmp_path / "rechazadas.csv"
    result = runner.invoke(main, ["import", str(path), "--rechazadas", str(rejected)])
    assert result.exit_code == 1
    assert "fila 3, columna «RUN»" in result.output and "no se importó nada" in result.output
    assert "Latin-1" in result.output
    assert count(db_url, Student) == 0
    assert "12.345.678-9" in rejected.read_text(encoding="utf-8-sig")
    dry = runner.invoke(main, ["import", str(path), "--revisar"])
    assert dry.exit_code == 0 and "no se guardó nada" in dry.output
    ok = runner.invoke(main, ["import", str(path), "--solo-validas", "--usuario", "prueba"])
    assert ok.exit_code == 0, ok.output
    assert "1 nuevos" in ok.output and "1 filas rechazadas" in ok.output
    assert count(db_url, Student) == 1


def test_import_by_parts_all_or_nothing(runner, db_url, tmp_path):
    """``--por-partes``: the same refusal, the rejected rows saved, progress by rows."""
    path = tmp_path / "lista.csv"
    path.write_text(HEADER + "12.345.678-5;Ana;Pérez;8001;80;2026-08\r\n"
                    "12.345.678-9;Luis;Soto;8001;70;2026-08\r\n", encoding="latin-1")  # fmt: skip
    rejected = tmp_path / "rechazadas.csv"
    args = ["import", str(path), "--por-partes", "--rechazadas", str(rejected)]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert "en 1 fila: no se importó nada" in result.output
    assert count(db_url, Student) == 0
    assert "12.345.678-9" in rejected.read_text(encoding="utf-8-sig")
    ok = runner.invoke(main, [*args, "--solo-validas", "--usuario", "prueba"])
    assert ok.exit_code == 0, ok.output
    assert "por partes: 1 nuevos" in ok.output and "1 filas rechazadas" in ok.output
    assert "Validando, ubicando y guardando las filas: 2 de 2 filas" in ok.output
    assert count(db_url, Student) == 1


def test_bad_month_and_unreadable_file(runner, tmp_path):
    path = tmp_path / "x.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest")
    assert "AAAA-MM" in runner.invoke(main, ["import", str(path), "--mes", "agosto"]).output
    result = runner.invoke(main, ["import", str(path)])
    assert result.exit_code == 1 and ".xlsx" in result.output


def test_demo_seed_then_messy_file_shows_every_row_message(runner, db_url, tmp_path):
    result = runner.invoke(main, ["demo", "seed", "--escala", "0.05", "--carpeta", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "estudiantes sintéticos" in result.output
    cases = count(db_url, Case)
    assert cases > 100
    engine = create_engine(db_url)
    with engine.connect() as conn:
        synthetic = conn.execute(select(func.count()).where(Student.synthetic)).scalar()
        runs = conn.execute(select(func.min(Student.run), func.max(Student.run))).one()
    engine.dispose()
    assert synthetic == cases
    assert runs[0] >= 90_000_000 and runs[1] <= 99_999_999
    # the published demo week sends the Castro gestora to Isla Quehui for two nights and
    # back on Wednesday's 07:30 lancha, starting that morning at 07:10
    assert "Gestora Castro duerme en Isla Quehui" in result.output
    assert (tmp_path / "alojamientos_sinteticos.csv").read_text().count("Isla Quehui") == 2
    with engine.connect() as conn:
        past, plan = conn.execute(
            select(PlanRow.status, PlanRow.result, PlanRow.week_start).order_by(PlanRow.week_start)
        ).all()
        visited = set(conn.scalars(select(VisitRecord.case_id)))
    engine.dispose()
    # Last week planned, published and visited (synthetic records), and this week's plan.
    assert past.status == plan.status == "publicado"
    assert (plan.week_start - past.week_start).days == 7
    planned = {int(s["visita_id"]) for d in past.result["dias"] for s in d["paradas"]}
    assert visited and visited <= planned
    assert "registros de visita sintéticos" in result.output
    castro = [d for d in plan.result["dias"] if d["gestor_id"] == "castro"]
    assert [d["duerme_en"] for d in castro[:2]] == ["Isla Quehui", "Isla Quehui"]
    wednesday = castro[2]
    assert wednesday["sale_de"] == "Isla Quehui" and wednesday["inicio"].endswith("T07:10:00")
    assert "Castro - Isla Quehui" in str(wednesday)
    messy = tmp_path / "lista_desordenada_sintetica.csv"
    report = runner.invoke(main, ["import", str(messy), "--revisar"])
    assert report.exit_code == 0
    file_level = {"missing_columns", "duplicate_column", "period_missing", "no_rows",
                  "dv_unmapped", "run_without_dv", "period_conflict"}  # fmt: skip
    row_codes = set(MESSAGES) - file_level
    for code in row_codes:
        template = MESSAGES[code][1]
        fixed_part = max(template.split("{")[0::1], key=len).split("}")[-1][:25]
        assert fixed_part.strip() in report.output, code
    again = runner.invoke(main, ["demo", "seed", "--si-vacia", "--carpeta", str(tmp_path)])
    assert again.exit_code == 0 and "no se agregan" in again.output
    refused = runner.invoke(main, ["demo", "seed", "--carpeta", str(tmp_path)])
    assert refused.exit_code == 1 and "base vacía" in refused.output


def test_db_upgrade(runner):
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0 and "Base de datos al día" in result.output


def test_import_places_numbered_addresses_on_the_streets_of_the_app_network(
    runner, db_url, tmp_path, monkeypatch
):
    """Build a (hand-made) OSM network, name it in REVINCULA_NETWORK, import: street points."""
    from tests.conftest import TEST_DATA

    monkeypatch.setenv("REVINCULA_NETWORK_DIR", str(tmp_path / "redes"))
    osm = TEST_DATA / "osm" / "castro_calles_a_mano.osm"
    built = runner.invoke(main, ["network", "build", "--osm", str(osm), "--nombre", "castro"])
    assert built.exit_code == 0, built.output
    monkeypatch.setenv("REVINCULA_NETWORK", "castro")
    path = tmp_path / "lista.csv"
    path.write_text(
        "RUN;Nombres;Apellidos;RBD;% Asistencia;Mes;Dirección;Comuna\r\n"
        "90.000.001-4;Ana;Sintética;8001;80;2026-08;Pje. Los Aromos 123;Castro\r\n"
        "90.000.002-2;Luis;Sintético;8001;70;2026-08;Los Aromos 45;Dalcahue\r\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["import", str(path), "--usuario", "prueba"])
    assert result.exit_code == 0, result.output
    assert "calle 1 (50 %)" in result.output  # the share by method after the import
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(select(Case.geocode_method, Case.lon, Case.lat).order_by(Case.id)).all()
    engine.dispose()
    # n2 of the hand-made file, halfway along Pasaje Los Aromos
    assert rows[0] == ("calle", pytest.approx(-73.7850), pytest.approx(-42.4650))
    assert rows[1][0] == "pueblo"  # no such street in Dalcahue: the town, as before


def test_an_addition_says_no_one_is_marked(runner, tmp_path):
    """``--lista adicion``: the report says nobody leaves the list, and asks nothing."""
    first, second = tmp_path / "completa.csv", tmp_path / "adicion.csv"
    rows = "".join(f"9.000.0{k:02d}-{d};Ana{k};Sintética;8001;80;2026-08\r\n"
                   for k, d in ((1, 2), (2, 0), (3, 9), (4, 7), (5, 5), (6, 3)))  # fmt: skip
    first.write_text(HEADER + rows, encoding="utf-8")
    assert runner.invoke(main, ["import", str(first)]).exit_code == 0
    second.write_text(HEADER + "9.000.007-1;Nueva;Sintética;8001;60;2026-09\r\n", encoding="utf-8")
    asked = runner.invoke(main, ["import", str(second), "--revisar"])
    assert "ya no están en la lista: 6" in asked.output and "¿Lista completa" in asked.output
    added = runner.invoke(main, ["import", str(second), "--lista", "adicion"])
    assert added.exit_code == 0, added.output
    assert "ya no están en la lista: 0 (adición" in added.output
    assert "¿Lista completa" not in added.output
