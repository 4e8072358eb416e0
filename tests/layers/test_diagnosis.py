"""Diagnosis tables on a hand-built dataset whose answers are worked out in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from layers.classify import attendance_category
from layers.diagnosis import MASK_BITS
from layers.diagnosis import NO_SCHOOL
from layers.diagnosis import area_table
from layers.diagnosis import attendance_categories
from layers.diagnosis import category_trend
from layers.diagnosis import list_flow
from layers.diagnosis import list_flow_masks
from layers.diagnosis import top_rates

SCHOOLS = pd.DataFrame(
    {
        "rbd": [1, 2, 3, 4],
        "name": ["Escuela A", "Escuela B", "Colegio C", "Escuela D"],
        "comuna_name": ["Castro", "Quinchao", "Castro", "Quinchao"],
        "island_name": ["Isla Grande de Chiloé", "Quinchao", "Isla Grande de Chiloé", "Quinchao"],
        "enrolment": [100, 40, 500, 10],
        "is_slep": [True, True, False, True],  # Colegio C is private: not in the denominator
    }
)

CASES = pd.DataFrame(
    [
        # id, rbd, category, latest, located, rezago, reinsercion, aulas
        (1, 1, "critica", True, True, 2, True, False),
        (2, 1, "grave", True, False, 0, False, False),
        (3, 1, "reiterada", True, True, None, None, None),
        (4, 2, "grave", True, True, 3, False, True),
        (5, 2, "normal", False, True, 0, False, False),  # left the list: not counted
        (6, 999, "grave", True, False, 1, False, False),  # RBD not in the directory
        (7, 4, "critica", True, True, 0, False, False),
    ],
    columns=["case_id", "rbd", "category", "in_latest_list", "located", "rezago",
             "eligible_reinsercion", "eligible_aulas"],
)  # fmt: skip


def test_by_comuna_counts_rates_and_flags():
    table = area_table(CASES, SCHOOLS, "comuna").set_index("area")
    assert list(table.index) == ["Castro", "Quinchao", NO_SCHOOL]
    castro = table.loc["Castro"]
    # SLEP enrolment only (100, not 600); cases 1, 2, 3; grave or worse = 2 → 2 per 100
    assert (castro.matricula, castro.casos, castro.critica, castro.grave) == (100, 3, 1, 1)
    assert castro.reiterada == 1 and castro.tasa_grave == pytest.approx(2.0)
    assert (castro.ubicados, castro.en_escuela, castro.rezago_2) == (2, 1, 1)
    assert (castro.elegible_reinsercion, castro.elegible_aulas) == (1, 0)
    quinchao = table.loc["Quinchao"]
    # 40 + 10 enrolled; cases 4 (grave) and 7 (crítica); case 5 left the list
    assert (quinchao.matricula, quinchao.casos) == (50, 2)
    assert quinchao.tasa_grave == pytest.approx(4.0)
    assert (quinchao.rezago_2, quinchao.elegible_aulas, quinchao.normal) == (1, 1, 0)
    unknown = table.loc[NO_SCHOOL]
    assert unknown.casos == 1 and unknown.matricula == 0 and math.isnan(unknown.tasa_grave)


def test_by_island_uses_the_school_island():
    table = area_table(CASES, SCHOOLS, "isla").set_index("area")
    assert table.loc["Quinchao"].casos == 2
    assert table.loc["Isla Grande de Chiloé"].matricula == 100


def test_by_school_and_ranking_leaves_tiny_schools_out():
    table = area_table(CASES, SCHOOLS, "establecimiento")
    by_rbd = table.set_index("area")
    assert by_rbd.loc["Escuela B"].casos == 1 and by_rbd.loc["Escuela B"].rbd == 2
    assert by_rbd.loc["Escuela B"].tasa_grave == pytest.approx(2.5)
    assert by_rbd.loc["Escuela D"].tasa_grave == pytest.approx(10.0)
    assert "Colegio C" not in by_rbd.index  # private, no cases
    ranked = top_rates(table, 5)
    assert list(ranked["area"]) == ["Escuela B", "Escuela A"]  # D has 10 enrolled (< 20)
    assert list(top_rates(table, 1, min_enrolment=0)["area"]) == ["Escuela D"]


def test_unknown_area_is_refused_in_spanish():
    with pytest.raises(ValueError, match="Área desconocida"):
        area_table(CASES, SCHOOLS, "region")


ATTENDANCE = pd.DataFrame(
    [
        (1, "2026-03", 40.0), (2, "2026-03", 80.0), (5, "2026-03", 95.0),
        (1, "2026-04", 60.0), (3, "2026-04", None),
        (1, "2026-05", 97.0), (2, "2026-05", 86.0), (3, "2026-05", 84.99), (4, "2026-05", 50.0),
    ],
    columns=["case_id", "period", "pct"],
)  # fmt: skip


def test_list_flow_new_continuing_returning_leaving():
    flow = list_flow(ATTENDANCE).set_index("periodo")
    march, april, may = flow.loc["2026-03"], flow.loc["2026-04"], flow.loc["2026-05"]
    assert (march.en_lista, march.nuevos, march.vuelven) == (3, 3, 0)
    assert pd.isna(march.continuan) and pd.isna(march.salen)  # no month before
    # April {1, 3}: 3 is new, 1 continues, 2 and 5 leave
    assert (april.en_lista, april.nuevos, april.continuan, april.salen) == (2, 1, 1, 2)
    # May {1, 2, 3, 4}: 4 new, 1 and 3 continue, 2 comes back, nobody leaves
    assert (may.nuevos, may.continuan, may.vuelven, may.salen) == (1, 2, 1, 0)


def test_list_flow_range_keeps_history_for_new():
    flow = list_flow(ATTENDANCE, since="2026-04")
    assert list(flow["periodo"]) == ["2026-04", "2026-05"]
    assert flow.iloc[0]["nuevos"] == 1  # case 1 was seen in March, outside the range


def test_category_trend_uses_each_month_percentage_and_edges():
    trend = category_trend(ATTENDANCE).set_index(["periodo", "categoria"])["casos"]
    assert trend["2026-03", "critica"] == 1 and trend["2026-03", "grave"] == 1
    assert trend["2026-03", "normal"] == 1 and trend["2026-03", "reiterada"] == 0
    assert trend["2026-04", "sin_dato"] == 1 and trend["2026-04", "grave"] == 1
    # 97 → destacada; 86 → reiterada; 84.99 → grave; 50 is not below 50 → grave
    assert trend["2026-05", "destacada"] == 1 and trend["2026-05", "reiterada"] == 1
    assert trend["2026-05", "grave"] == 2 and trend["2026-05", "critica"] == 0
    assert len(trend) == 3 * 7  # every month × category, zeros included


def test_vectorised_categories_match_the_rule_function_on_every_edge():
    values = [None, 0.0, 49.99, 50.0, 84.99, 85.0, 89.99, 90.0, 96.99, 97.0, 100.0]
    values += [x / 4 for x in range(401)]
    pct = np.array([np.nan if v is None else v for v in values])
    assert list(attendance_categories(pct)) == [attendance_category(v) for v in values]


def _masks(attendance: pd.DataFrame, periods: list[str]) -> pd.DataFrame:
    """What the SQL of `geo_app.reports.service._flow_masks` counts, built row by row."""
    position = {p: i for i, p in enumerate(periods)}
    first = attendance.groupby("case_id")["period"].min()
    rows = []
    step = MASK_BITS - 1
    for offset in range(0, max(len(periods) - 1, 1), step):
        masks = dict.fromkeys(first.index, 0)
        for case_id, period in attendance[["case_id", "period"]].itertuples(index=False):
            j = position[period] - offset
            if 0 <= j < MASK_BITS:
                masks[case_id] |= 1 << j
        for case_id, mask in masks.items():
            rows.append({"offset": offset, "first": first[case_id], "mask": mask, "n": 1})
    return pd.DataFrame(rows).groupby(["offset", "first", "mask"], as_index=False)["n"].sum()


@pytest.mark.parametrize("months", [1, 2, 12, MASK_BITS, MASK_BITS + 1, 130])
def test_flow_from_month_masks_equals_the_row_by_row_flow(months):
    # 130 months span three windows of masks; gaps and returns on purpose
    rng = np.random.default_rng(months)
    periods = [f"{2020 + m // 12}-{m % 12 + 1:02d}" for m in range(months)]
    rows = [(c, p) for c in range(40) for p in periods if rng.random() < 0.6]
    attendance = pd.DataFrame(rows, columns=["case_id", "period"]).assign(pct=50.0)
    used = sorted(attendance["period"].unique())
    masks = _masks(attendance, used)
    for since, until in ((None, None), (used[len(used) // 2], None), (None, used[0])):
        assert_frame_equal(list_flow_masks(used, masks, since, until),
                           list_flow(attendance, since, until))  # fmt: skip


def test_flow_from_masks_of_nothing_is_empty():
    empty = pd.DataFrame(columns=["offset", "first", "mask", "n"])
    assert list_flow_masks([], empty).empty


def test_weighted_rows_count_as_many_cases():
    # one row standing for 3 cases = three identical rows
    one = pd.DataFrame({"case_id": [1], "period": ["2026-03"], "pct": [40.0], "n": [3]})
    three = pd.DataFrame({"case_id": [1, 2, 3], "period": ["2026-03"] * 3, "pct": [40.0] * 3})
    assert_frame_equal(category_trend(one), category_trend(three))


@pytest.mark.parametrize("by", ["comuna", "isla", "establecimiento"])
def test_area_table_of_counted_rows_equals_one_row_per_case(by):
    many = pd.concat([CASES, CASES, CASES.head(3)], ignore_index=True)  # the same rows again
    many["case_id"] = range(len(many))
    fields = [c for c in CASES.columns if c != "case_id"]
    counted = (
        many[fields].astype(object).fillna("nada").groupby(fields, as_index=False).size()
        .rename(columns={"size": "n"}).replace("nada", None)
    )  # fmt: skip
    assert len(counted) < len(many)
    assert_frame_equal(area_table(counted, SCHOOLS, by), area_table(many, SCHOOLS, by))
