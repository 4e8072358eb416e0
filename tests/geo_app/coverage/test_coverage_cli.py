"""``revincula coverage``: tiempos.csv and bandas.csv, an added posta, bad input."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from geo_app.cli import main


def _run(tmp_path, monkeypatch, *args):
    monkeypatch.setenv("REVINCULA_DATABASE_URL", f"sqlite:///{tmp_path / 'c.sqlite'}")
    return CliRunner().invoke(
        main, ["coverage", "--servicio", "posta", "--at", "2026-03-10 08:00", *args]
    )


def test_coverage_writes_times_and_bands_and_an_added_posta_helps(tmp_path, monkeypatch):
    result = _run(tmp_path, monkeypatch, "--a-pie", "-o", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    assert "a pie y en lancha" in result.output and "no se llega hoy" in result.output
    times = pd.read_csv(tmp_path / "a" / "tiempos.csv")
    assert {"origen", "comuna", "isla", "minutos", "banda", "motivo"} <= set(times.columns)
    assert not times["origen"].str.startswith("caso-").any()
    unreachable = times[times["minutos"].isna()]
    assert (unreachable["motivo"].str.len() > 0).all()  # never a silent gap
    bands = pd.read_csv(tmp_path / "a" / "bandas.csv")
    assert {"comuna", "isla", "banda", "casos", "matricula", "poblacion"} <= set(bands.columns)
    added = _run(tmp_path, monkeypatch, "--a-pie", "--agregar", "-42.64388,-73.27842",
                 "-o", str(tmp_path / "b"))  # fmt: skip
    assert added.exit_code == 0, added.output
    after = pd.read_csv(tmp_path / "b" / "tiempos.csv")
    chaulinec = times["isla"] == "Isla Chaulinec"
    assert chaulinec.any()
    before_min = times.loc[chaulinec, "minutos"].fillna(10_000)
    after_min = after.loc[after["isla"] == "Isla Chaulinec", "minutos"].fillna(10_000)
    assert after_min.sum() < before_min.sum()


def test_bad_input_is_explained_in_spanish(tmp_path, monkeypatch):
    result = _run(tmp_path, monkeypatch, "--agregar", "-43.9,-75.9", "-o", str(tmp_path / "x"))
    assert result.exit_code != 0 and "en el mar" in result.output
    result = _run(tmp_path, monkeypatch, "--agregar", "aquí", "-o", str(tmp_path / "x"))
    assert result.exit_code != 0 and "lat,lon" in result.output
    help_text = CliRunner().invoke(main, ["coverage", "--help"]).output
    assert "posta" in help_text and "proteccion_infancia" in help_text
