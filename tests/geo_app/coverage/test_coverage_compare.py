"""Comparing two what-ifs shows each one's counts under the pattern its own page published.

A mesa keeps every table it gets: if the comparison page hid other cells of B's
«después» than B's own page did, the two patterns together would narrow hidden
counts. Hand-built case (synthetic counts, k = 10): one base run and two
what-ifs over six comuna × island pairs (two comunas with two islands each, so
the comuna and island tables do not give the pairs' totals). Protected after
A's counts instead of the base's, B's comuna table hides other cells than B's
page does; the comparison must show exactly B's page (and A's), and its
differences only between two published counts.
"""

from __future__ import annotations

from geo_app.coverage import service
from geo_app.scope import Scope
from layers.coverage import band_labels

K = 10
BANDS = band_labels()
BASE = {
    ("Quemchi", "Grande"): [21, 31, 19, 10, 1, 4],
    ("Quemchi", "Butachauques"): [41, 44, 25, 14, 9, 2],
    ("Dalcahue", "Grande"): [21, 22, 15, 3, 0, 1],
    ("Dalcahue", "Quehui"): [11, 8, 10, 5, 2, 0],
    ("Castro", "Quehui"): [31, 38, 19, 8, 8, 5],
    ("Castro", "Grande"): [10, 9, 9, 10, 4, 3],
}
# each what-if moves some origins to a nearer band; per pair the totals stay the base's
WHATIF_A = {
    ("Quemchi", "Grande"): [21, 31, 19, 10, 5, 0],
    ("Quemchi", "Butachauques"): [41, 49, 20, 14, 9, 2],
    ("Dalcahue", "Grande"): [21, 34, 3, 3, 0, 1],
    ("Dalcahue", "Quehui"): [11, 8, 10, 7, 0, 0],
    ("Castro", "Quehui"): [31, 38, 22, 5, 8, 5],
    ("Castro", "Grande"): [10, 9, 9, 10, 7, 0],
}
WHATIF_B = {
    ("Quemchi", "Grande"): [21, 32, 18, 10, 5, 0],
    ("Quemchi", "Butachauques"): [52, 41, 17, 14, 9, 2],
    ("Dalcahue", "Grande"): [21, 28, 9, 3, 1, 0],
    ("Dalcahue", "Quehui"): [19, 0, 10, 7, 0, 0],
    ("Castro", "Quehui"): [45, 24, 19, 8, 8, 5],
    ("Castro", "Grande"): [18, 1, 9, 10, 7, 0],
}


def _micro(counts: dict) -> list[dict]:
    return [
        {"comuna_name": comuna, "island_name": island, "band": band, "cases": n,
         "enrolment": 0, "population": 0}
        for (comuna, island), values in counts.items()
        for band, n in zip(BANDS, values, strict=True)
    ]  # fmt: skip


def test_hand_built_case_keeps_the_pairs_totals():
    for whatif in (WHATIF_A, WHATIF_B):
        assert {p: sum(v) for p, v in whatif.items()} == {p: sum(v) for p, v in BASE.items()}


def test_two_whatifs_are_compared_under_their_own_pages_patterns():
    scope = Scope("m", "mesa")
    run_a = (91, {"micro": _micro(WHATIF_A), "micro_antes": _micro(BASE)})
    run_b = (92, {"micro": _micro(WHATIF_B), "micro_antes": _micro(BASE)})
    page_a = service.run_tables(*run_a, scope, K)
    page_b = service.run_tables(*run_b, scope, K)
    compared = service.compare_tables(run_a, run_b, scope, K)
    assert compared["_layers"] == [service.BEFORE, service.AFTER]
    hidden_somewhere = 0
    for table in ("comuna", "isla"):
        for page, layer in ((page_a, service.BEFORE), (page_b, service.AFTER)):
            own = page["cases"][(service.AFTER, table)]
            shown = compared["cases"][(layer, table)]
            assert shown.equals(own), (layer, table)
            own_hidden = page["_hidden"][("cases", service.AFTER, table)]
            assert compared["_hidden"][("cases", layer, table)].equals(own_hidden)
            hidden_somewhere += int(own_hidden.to_numpy().sum())
    assert hidden_somewhere > 0, "the case must hide some counts"
    # B − A only where both counts are published; elsewhere «<10»
    diffs = {d["tabla"]: d for d in service._differences(compared, K, exact=False)
             if d["valor"] == "cases"}  # fmt: skip
    comuna_a = compared["cases"][(service.BEFORE, "comuna")]
    comuna_b = compared["cases"][(service.AFTER, "comuna")]
    for row in diffs["comuna"]["rows"]:
        for band, text in zip(diffs["comuna"]["columns"], row["cells"], strict=True):
            a, b = comuna_a.at[row["label"], band], comuna_b.at[row["label"], band]
            if band == "Total":
                assert text == "0"
            elif f"<{K}" in (a, b):
                assert text == f"<{K}"
            else:
                assert int(text) == int(b) - int(a)
