from __future__ import annotations

import pandas as pd
import pytest

from layers.territory import TerritoryDataError
from layers.territory import load_territory
from layers.territory import summary_by_comuna
from layers.territory import summary_by_island
from tests.conftest import TEST_DATA


def test_school_counts_match_published_directory(territory):
    schools = territory.schools
    # Figures from the data README (Mineduc directory 2025, ESTADO_ESTAB == 1).
    assert len(schools) == 281
    assert int(schools["is_slep"].sum()) == 190
    assert int(schools["is_rural"].sum()) == 168
    assert int(schools["enrolment"].sum()) == 35113
    assert int(schools.loc[schools["is_slep"], "enrolment"].sum()) == 17779
    assert int(schools["on_smaller_island"].sum()) == 63
    assert schools["rbd"].is_unique
    # The only functioning school without coordinates is RBD 42397.
    assert schools.loc[~schools["has_location"], "rbd"].tolist() == [42397]
    assert territory.schools.crs.to_epsg() == 4326


def test_school_counts_per_comuna(territory):
    counts = territory.schools.groupby("comuna_name").size().to_dict()
    assert counts == {
        "Ancud": 59,
        "Quellón": 54,
        "Castro": 50,
        "Quemchi": 26,
        "Chonchi": 22,
        "Dalcahue": 21,
        "Quinchao": 17,
        "Queilén": 13,
        "Curaco de Vélez": 10,
        "Puqueldón": 9,
    }


def test_island_assignment_agrees_with_independent_derivation(territory):
    """Our islands (union of comunas) vs. the per-comuna-part derivation in the data README."""
    reference = pd.read_csv(TEST_DATA / "escuelas_chiloe_insularidad.csv")
    reference = reference[reference["ESTADO_ESTAB"] == 1].set_index("RBD")
    ours = territory.schools.dropna(subset=["island_id"]).set_index("rbd")
    joined = ours.join(reference, how="inner")
    assert len(joined) == 280
    assert ((joined["isla_grande"] == 0) == joined["on_smaller_island"]).all()
    named = joined.dropna(subset=["isla_nombre"])
    named = named[named["isla_nombre"] != "Isla Grande de Chiloé"]
    assert (named["isla_nombre"] == named["island_name"]).all()


def test_islands_from_polygon_parts(territory):
    islands = territory.islands.set_index("name")
    main = territory.islands[territory.islands["is_main"]]
    assert main["name"].tolist() == ["Isla Grande de Chiloé"]
    assert main["area_km2"].iloc[0] > 8000
    # Quinchao island spans two comunas: one island, not two.
    assert islands.loc["Isla Quinchao", "comunas"] == "Curaco de Vélez; Quinchao"
    for name in ("Isla Lemuy", "Isla Tranqui", "Isla Quehui", "Isla Meulín", "Isla Chaulinec"):
        assert name in islands.index
    assert territory.islands["island_id"].is_unique
    assert territory.islands.geometry.is_valid.all()


def test_health_counts_by_kind(territory):
    kinds = territory.health["kind"].value_counts().to_dict()
    assert kinds["posta"] == 72
    assert kinds["cecosf"] == 14
    assert kinds["cesfam"] == 10
    assert kinds["hospital"] == 5
    assert kinds["urgencia"] == 8  # 5 SUR + 2 SAR + 1 SAPU
    assert len(territory.health) == 141  # one closed establishment left out
    smaller = territory.health[territory.health["on_smaller_island"]]
    assert int((smaller["kind"] == "posta").sum()) == 28


def test_summaries(territory):
    by_comuna = summary_by_comuna(territory)
    assert by_comuna["escuelas"].sum() == 281
    assert by_comuna.loc["10210", "escuelas_islas_menores"] == 17
    by_island = summary_by_island(territory).set_index("isla")
    assert by_island["escuelas"].sum() == 280
    assert "huicha-chulchuy" in by_island.loc["Isla Lemuy", "lineas_barco"]


def test_boat_lines_layer(territory):
    lines = territory.boat_lines.set_index("line_id")
    assert "chacao" in lines.index
    assert "cada 20 min de 07:00 a 23:30" in lines.loc["chacao", "schedule"]
    assert lines.loc["achao-quenac", "passengers_only"]
    assert lines.loc["achao-quenac", "assumed"]


def _edit_csv(path, edit):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = edit(df)
    df.to_csv(path, index=False)


def test_broken_files_give_one_error_listing_every_problem(data_copy):
    schools = data_copy / "mineduc_directorio_ee_2025_chiloe.csv"
    original = schools.read_text(encoding="utf-8")

    def break_schools(df):
        df.loc[1, "RBD"] = df.loc[0, "RBD"]  # duplicate id
        df.loc[2, "LATITUD"] = "42.48"  # sign lost
        df.loc[3, "MAT_TOTAL"] = "muchos"
        return df

    _edit_csv(schools, break_schools)
    _edit_csv(data_copy / "horarios_barcos.csv", lambda df: df.assign(modo_fuente="").head(3))
    with pytest.raises(TerritoryDataError) as info:
        load_territory(data_copy)
    message = str(info.value)
    assert "`RBD` repetido" in message
    assert "coordenadas fuera del territorio en la(s) fila(s) 4" in message
    assert "`MAT_TOTAL` no es un número en la(s) fila(s) 5" in message
    assert "`modo_fuente` está vacío" in message
    assert "supuesto" in message

    # The fix works: restoring the schools and giving sources loads cleanly.
    schools.write_text(original, encoding="utf-8")
    _edit_csv(data_copy / "horarios_barcos.csv", lambda df: df.assign(modo_fuente="supuesto"))
    assert len(load_territory(data_copy).schools) == 281


def test_missing_column_and_missing_file(data_copy):
    _edit_csv(
        data_copy / "deis_establecimientos_salud_chiloe.csv", lambda df: df.drop(columns="Latitud")
    )
    with pytest.raises(TerritoryDataError, match="faltan las columnas Latitud"):
        load_territory(data_copy)
    (data_copy / "islas_nombres.csv").unlink()
    with pytest.raises(TerritoryDataError, match=r"Faltan archivos .* islas_nombres\.csv"):
        load_territory(data_copy)


def test_island_name_point_in_the_sea_is_reported(data_copy):
    _edit_csv(
        data_copy / "islas_nombres.csv",
        lambda df: pd.concat(
            [
                df,
                pd.DataFrame(
                    [{"nombre": "Isla Fantasma", "lat": "-42.9", "lon": "-74.6", "fuente": "x"}]
                ),
            ]
        ),
    )
    with pytest.raises(TerritoryDataError, match=r"'Isla Fantasma'.*no cae en ninguna isla"):
        load_territory(data_copy)
