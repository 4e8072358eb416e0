"""`revincula lugares importar|buscar|retirar|restaurar` from the command line (XLSX and CSV)."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy import select

from geo_app.cli import main
from geo_app.store.models import AuditEntry
from geo_app.store.models import GazetteerRow


@pytest.fixture
def runner(db_url, monkeypatch):
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    return CliRunner()


def rows_of(db_url, model) -> list:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        found = list(conn.execute(select(model).order_by(model.id)).mappings())
    engine.dispose()
    return found


def xlsx(path, rows) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_import_an_xlsx_gazetteer_review_search_retire_restore(runner, db_url, tmp_path):
    path = tmp_path / "localidades_ine.xlsx"
    xlsx(path, [["Nombre", "Comuna", "Latitud", "Longitud", "Fuente"],
                ["Nueva Esperanza", "Castro", -42.52, -73.70, "sintético de prueba"],
                ["Llicaldad Alto", "castro", -42.51, -73.73, "sintético de prueba"]])  # fmt: skip
    dry = runner.invoke(main, ["lugares", "importar", str(path), "--revisar"])
    assert dry.exit_code == 0, dry.output
    assert "2 lugares válidos" in dry.output and "no se guardó nada" in dry.output
    assert rows_of(db_url, GazetteerRow) == []
    done = runner.invoke(main, ["lugares", "importar", str(path), "--usuario", "prof"])
    assert done.exit_code == 0, done.output
    assert "Guardados 2 lugares" in done.output
    stored = rows_of(db_url, GazetteerRow)
    assert [(r["name"], r["comuna"], r["created_by"]) for r in stored] == [
        ("Nueva Esperanza", "Castro", "prof"), ("Llicaldad Alto", "Castro", "prof")]  # fmt: skip
    audit = [a for a in rows_of(db_url, AuditEntry) if a["target"] == "nomenclator"]
    assert audit and audit[0]["target_id"] == "localidades_ine.xlsx"
    found = runner.invoke(main, ["lugares", "buscar", "esperanza", "--comuna", "Castro"])
    assert "Nueva Esperanza (castro, localidad)" in found.output
    assert f"importado {stored[0]['id']}" in found.output
    retired = runner.invoke(main, ["lugares", "retirar", f"importado {stored[0]['id']}"])
    assert retired.exit_code == 0, retired.output
    assert rows_of(db_url, GazetteerRow)[0]["retired"]
    gone = runner.invoke(main, ["lugares", "buscar", "Nueva Esperanza", "--comuna", "Castro"])
    assert "Nueva Esperanza (castro" not in gone.output
    back = runner.invoke(main, ["lugares", "restaurar", str(stored[0]["id"])])
    assert back.exit_code == 0 and "restaurada" in back.output
    assert not rows_of(db_url, GazetteerRow)[0]["retired"]
    again = runner.invoke(main, ["lugares", "restaurar", str(stored[0]["id"])])
    assert again.exit_code == 1 and "nada que restaurar" in again.output


def test_a_bad_csv_is_refused_whole_with_every_row_named(runner, db_url, tmp_path):
    path = tmp_path / "malo.csv"
    path.write_text("nombre,comuna,lat,lon,fuente\n"
                    "Bien,Castro,-42.52,-73.70,sintético\n"
                    "Mal,Castro,42.52,-73.70,sintético\n"
                    "Otro,Castro,-42°31',-73.70,sintético\n", encoding="utf-8")  # fmt: skip
    result = runner.invoke(main, ["lugares", "importar", str(path)])
    assert result.exit_code == 1
    assert "no se guardó nada" in result.output
    assert "Fila 3: el punto (42.52, -73.7) está fuera del territorio" in result.output
    assert "Fila 4: la latitud" in result.output and "grados decimales" in result.output
    assert rows_of(db_url, GazetteerRow) == []
    unknown = runner.invoke(main, ["lugares", "retirar", "WOF 1"])
    assert unknown.exit_code == 1 and "No existe la entrada" in unknown.output
