"""Bands, services registry and import, suppression (layers.coverage, services, privacy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from layers.coverage import band_labels
from layers.coverage import band_of
from layers.coverage import round_minutes
from layers.privacy import SUPPRESSED
from layers.privacy import TOTAL
from layers.privacy import protect
from layers.privacy import publish_percentages
from layers.services import build_registry
from layers.services import read_services


def test_a_time_on_an_edge_belongs_to_the_lower_band_and_agrees_with_the_minutes():
    # 899.6 s shows as 15 min and is "≤ 15 min"; 930 s shows 16 min: "≤ 30 min"
    minutes = round_minutes([899.6, 900.0, 929.9, 930.0, 7200.0, 7231.0, np.nan])
    assert minutes[:6].tolist() == [15, 15, 15, 16, 120, 121]
    labels = band_labels()
    assert band_of(minutes).tolist() == [
        labels[0],
        labels[0],
        labels[0],
        labels[1],
        labels[3],
        labels[4],
        "no se llega hoy",
    ]


def test_registry_never_offers_a_school_that_cannot_serve(territory):
    registry = build_registry(territory)
    closed = registry[registry["reason"].isin(["cerrado", "en receso"])]
    assert len(closed) and not closed["usable"].any()
    comuna_only = registry[registry["location"] == "comuna"]
    assert len(comuna_only) and not comuna_only["usable"].any()
    pdi = registry[registry["service_id"] == "ssc-SSC019"]  # PDI Quellón, withdrawn in 2022
    assert not pdi["can_serve"].iloc[0]
    assert set(registry.loc[registry["service_type"] == "urgencia", "usable"]) == {True}


def test_services_file_with_errors_imports_nothing_and_names_every_row(territory):
    text = (
        "nombre;tipo;lat;lon;abre;cierra\n"
        "Ronda Chaulinec;posta;-42.6288;-73.5722;09:00;13:00\n"
        "Sede mar;OLN;-42.9;-74.6;09:00;13:00\n"
        "Algo;astronomía;-42.48;-73.76;09:00;13:00\n"
        "Hora mala;cesfam;-42.48;-73.76;9h;13:00\n"
    )
    result = read_services(text.encode(), "servicios.csv", territory)
    assert not result.ok and result.services.empty
    lines = [p.describe() for p in result.problems]
    assert any("fila 3" in line and "fuera del territorio" in line for line in lines)
    assert any("fila 4" in line and "no es un tipo conocido" in line for line in lines)
    assert any("fila 5" in line and "HH:MM" in line for line in lines)
    fixed = read_services("\n".join(text.splitlines()[:2]).encode(), "servicios.csv", territory)
    assert fixed.ok
    assert fixed.services["service_type"].tolist() == ["posta"]


def _micro(seed: int) -> pd.DataFrame:
    bands = band_labels()
    rng = np.random.default_rng(seed)
    pairs = [("Castro", "Grande"), ("Ancud", "Grande"), ("Quinchao", "Quinchao"),
             ("Curaco", "Quinchao"), ("Puqueldón", "Lemuy")]  # fmt: skip
    rows = []
    totals = {p: int(rng.integers(40, 200)) for p in pairs}
    for layer in ("antes", "después"):
        for pair in pairs:
            split = rng.multinomial(totals[pair], [0.3, 0.3, 0.2, 0.1, 0.07, 0.03])
            rows += [(layer, *pair, b, int(v)) for b, v in zip(bands, split, strict=True)]
    return pd.DataFrame(rows, columns=["layer", "comuna_name", "island_name", "band", "cases"])


def _attack(protected, micro, k):  # noqa: C901 - builds every constraint the attacker has
    """Bound every suppressed cell from all published cells of every table, both layers."""
    bands = band_labels()
    pairs = list(micro[["comuna_name", "island_name"]].drop_duplicates().itertuples(index=False))
    layers = list(dict.fromkeys(micro["layer"]))
    var = {(ly, *p, b): n for n, (ly, p, b) in enumerate(
        (ly, p, b) for ly in layers for p in pairs for b in bands)}  # fmt: skip
    rows, values, hidden = [], [], []
    for (layer, table), shown in ((key, protected.shown(*key)) for key in protected.tables):
        position = 0 if table == "comuna" else 1
        for label in shown.index:
            for band in shown.columns:
                row = np.zeros(len(var))
                for p in pairs:
                    if label in (TOTAL, p[position]):
                        for b in bands if band == TOTAL else [band]:
                            row[var[(layer, *p, b)]] = 1
                if shown.at[label, band] == SUPPRESSED:
                    hidden.append(((layer, table, label, band), row))
                else:
                    rows.append(row)
                    values.append(float(shown.at[label, band]))
    for layer in layers[1:]:  # the same origins are counted in both layers
        for p in pairs:
            row = np.zeros(len(var))
            row[[var[(layer, *p, b)] for b in bands]] = 1
            row[[var[(layers[0], *p, b)] for b in bands]] = -1
            rows.append(row)
            values.append(0.0)
    widths = {}
    for key, objective in hidden:
        ends = []
        for sign in (1, -1):
            res = linprog(sign * objective, A_eq=np.array(rows), b_eq=values, bounds=(0, None))
            ends.append(np.inf if res.status == 3 else sign * res.fun)
        widths[key] = ends[1] - ends[0]
    return widths


def test_no_suppressed_cell_can_be_recovered_from_the_linked_tables():
    micro = _micro(5)
    k = 10
    protected = protect(micro, bands=band_labels(), k=k)
    exact = {key: protected.tables[key] for key in protected.tables}
    widths = _attack(protected, micro, k)
    assert widths, "the example must have small counts"
    for (layer, table, label, band), width in widths.items():
        value = exact[(layer, table)].at[label, band]
        if 1 <= value < k:  # a small count: its interval is at least k wide
            assert width >= k, (layer, table, label, band, value, width)
        elif value > 0:  # a complementary cell never comes out exactly (a zero may)
            assert width >= 1, (layer, table, label, band, value, width)
    # every small count is hidden, in every table
    for key, table in exact.items():
        small = (table >= 1) & (table < k)
        assert protected.suppressed[key][small].all().all()


def test_percentages_need_a_published_denominator_of_at_least_k():
    protected = protect(_micro(5), bands=band_labels())
    for key in protected.tables:
        shares = publish_percentages(protected, *key)
        hidden = protected.suppressed[key]
        assert (shares.to_numpy()[hidden.to_numpy()] == SUPPRESSED).all()
        small_total = (protected.tables[key][TOTAL] < protected.k).to_numpy()
        assert (shares.to_numpy()[small_total] == SUPPRESSED).all()


def test_patterns_agree_between_the_run_its_whatif_and_another_type():
    """A mesa keeps every table: the same counts must be hidden alike wherever they appear."""
    k = 10
    both = _micro(5)
    before = both[both["layer"] == "antes"]
    alone = protect(before, bands=band_labels(), k=k)
    whatif = protect(both, bands=band_labels(), k=k)
    for table in ("comuna", "isla"):
        assert alone.suppressed[("antes", table)].equals(whatif.suppressed[("antes", table)])
    # another service type over the same origins: a different split, the same totals
    other = both[both["layer"] == "después"].assign(layer="otro")
    other_protected = protect(other, bands=band_labels(), k=k)
    for table in ("comuna", "isla"):
        ours = whatif.suppressed[("antes", table)][TOTAL]
        assert ours.equals(other_protected.suppressed[("otro", table)][TOTAL])
    # combined: the run alone and its what-if, read together, narrow nothing
    combined = _attack(whatif, both, k)
    for (layer, table, label, band), width in combined.items():
        value = whatif.tables[(layer, table)].at[label, band]
        need = k if 1 <= value < k else (1 if value else 0)
        assert width >= need, (layer, table, label, band, value, width)
    complementary = sum(
        int((whatif.suppressed[key] & ~((t >= 1) & (t < k))).to_numpy().sum())
        for key, t in whatif.tables.items()
    )
    assert complementary < sum(int((t >= 0).to_numpy().sum()) for t in whatif.tables.values()) / 3
