"""The mesa's Resumen and its map (issue 25 item 18): the same protection as coverage.

300 synthetic cases in every comuna, categories at random, one in 17 without a
location. An attacker with every published figure of the Resumen (by category,
located, totals) bounds each hidden count by linear programming: none comes out.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from geo_app.cases.counts import CATEGORY_ORDER
from tests.accounts import login

K = 10


def _attack(rows: list[dict]) -> list[tuple]:
    """Bound the hidden cells of comuna × category and comuna × located (shared totals)."""
    comunas = [r["comuna"] for r in rows]
    layers = {"cat": list(CATEGORY_ORDER), "loc": ["ubicados", "sin_ubicar"]}
    index = {(lay, c, b): n for n, (lay, c, b) in enumerate(
        (lay, c, b) for lay, bands in layers.items() for c in comunas for b in bands)}  # fmt: skip
    eq, values, hidden = [], [], []

    def cell(members, shown, key):
        vector = np.zeros(len(index))
        vector[members] = 1
        if isinstance(shown, str):
            hidden.append((key, vector))
        else:
            eq.append(vector)
            values.append(float(shown))

    for r in rows:
        c = r["comuna"]
        for b in CATEGORY_ORDER:
            cell([index[("cat", c, b)]], r[b], (c, b))
        cell([index[("loc", c, "ubicados")]], r["ubicados"], (c, "ubicados"))
        cell([index[("cat", c, b)] for b in CATEGORY_ORDER], r["total"], (c, "total"))
        link = np.zeros(len(index))
        link[[index[("cat", c, b)] for b in CATEGORY_ORDER]] = 1
        link[[index[("loc", c, b)] for b in layers["loc"]]] = -1
        eq.append(link)
        values.append(0.0)
    out = []
    for key, objective in hidden:
        ends = []
        for sign in (1, -1):
            res = linprog(sign * objective, A_eq=np.array(eq), b_eq=values, bounds=(0, None))
            ends.append(np.inf if res.status == 3 else sign * res.fun)
        out.append((*key, ends[0], ends[1]))
    return out


def test_resumen_hides_small_counts_and_none_can_be_recovered(cov_app):
    mesa = login(cov_app.test_client(), cov_app, "mesa")
    admin = login(cov_app.test_client(), cov_app, "admin")
    shown = [
        f["properties"] for f in mesa.get("/api/agregados/comunas.geojson").get_json()["features"]
    ]
    features = admin.get("/api/agregados/comunas.geojson").get_json()["features"]
    exact = {f["properties"]["comuna"]: f["properties"] for f in features}
    values = [v for r in shown for k, v in r.items() if k != "comuna"]
    assert "<10" in values and any(isinstance(v, int) and v >= K for v in values)
    assert not any(isinstance(v, int) and 1 <= v < K for v in values)
    attacked = _attack(shown)
    assert attacked
    for comuna, column, lo, hi in attacked:
        truth = exact[comuna][column]
        assert lo <= truth <= hi
        assert hi - lo >= 1, (comuna, column, truth, lo, hi)
        if 1 <= truth < K:
            assert hi - lo >= K, (comuna, column, truth, lo, hi)
    page = mesa.get("/resumen").get_data(as_text=True)
    assert "&lt;10" in page and "restando de un total" in page
    # the by-category and by-method summary shares one pattern
    summary = mesa.get("/api/casos/resumen").get_json()
    assert summary["umbral_reserva"] == K
    assert not any(isinstance(v, int) and 1 <= v < K for v in summary["por_categoria"].values())
