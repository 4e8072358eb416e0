"""``revincula coverage``: tiempos.csv and bandas.csv, an added posta, bad input; the
same-day round trip and the week per origin, and an added boat departure."""

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


def test_round_trip_and_week_per_origin_and_an_added_sailing_brings_alao_home(
    tmp_path, monkeypatch
):
    # CESFAM on foot, Monday 07:00: from Isla Alao the CESFAM of Achao is reached (291 min
    # for the cells by the pier) but the only boat back (Achao → Alao, 14:00) has sailed
    # when the 60 min there end; a 17:00 sailing brings them home the same day.
    monkeypatch.setenv("REVINCULA_DATABASE_URL", f"sqlite:///{tmp_path / 'c.sqlite'}")
    base = ["coverage", "--servicio", "cesfam", "--at", "2026-03-09 07:00", "--a-pie"]
    result = CliRunner().invoke(main, [*base, "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "Ida y vuelta en el día (60 min en el servicio)" in result.output
    times = pd.read_csv(tmp_path / "a" / "tiempos.csv")
    week = ["semana_mejor_min", "semana_mejor_dia", "semana_tipico_min", "semana_peor_min",
            "semana_peor_dia", "semana_dias_con_llegada"]  # fmt: skip
    assert {"ida_y_vuelta", "hora_regreso", "motivo_ida_vuelta", *week} <= set(times.columns)
    assert set(times["ida_y_vuelta"]) == {"sí", "no"}
    back = times[times["ida_y_vuelta"] == "sí"]
    assert back["hora_regreso"].str.fullmatch(r"\d\d:\d\d").all()
    assert (times.loc[times["ida_y_vuelta"] == "no", "motivo_ida_vuelta"].str.len() > 0).all()
    # the week agrees with itself: best ≤ typical ≤ worst, days named when reached
    reached = times[times["semana_dias_con_llegada"] == 5]
    assert (reached["semana_mejor_min"] <= reached["semana_tipico_min"]).all()
    assert (reached["semana_tipico_min"] <= reached["semana_peor_min"]).all()
    assert reached["semana_mejor_dia"].isin(["lunes", "martes", "miércoles", "jueves",
                                             "viernes"]).all()  # fmt: skip
    alao = times[(times["isla"] == "Isla Alao") & times["minutos"].notna()]
    assert len(alao) and (alao["ida_y_vuelta"] == "no").all()
    assert alao["motivo_ida_vuelta"].str.contains("no hay barco de vuelta a tiempo").all()
    # the boat to Alao sails Monday, Wednesday and Friday: reached 3 of 5 days
    assert (alao["semana_dias_con_llegada"] == 3).all()
    assert (alao["semana_peor_dia"] == "martes").all() and alao["semana_peor_min"].isna().all()
    added = CliRunner().invoke(
        main, [*base, "--agregar-salida", "achao-alao|Achao|17:00", "-o", str(tmp_path / "b")]
    )
    assert added.exit_code == 0, added.output
    after = pd.read_csv(tmp_path / "b" / "tiempos.csv").set_index("origen")
    now = after.loc[alao["origen"]]
    assert (now["ida_y_vuelta"] == "sí").all()
    assert (now["hora_regreso"] > "18:00").all()  # the 17:00 sailing plus the crossing
    wrong = CliRunner().invoke(
        main, [*base, "--agregar-salida", "achao-alao|Chonchi|7:61", "-o", str(tmp_path / "c")]
    )
    assert wrong.exit_code != 0
    assert "no sale de «Chonchi»" in wrong.output and "«7:61» no es válida" in wrong.output
    assert not (tmp_path / "c").exists()  # nothing written
