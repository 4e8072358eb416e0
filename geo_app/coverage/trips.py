"""What a role sees of a run's same-day round trip, week and multi-service gaps (no Flask).

All three rest on the H3 cells of the run (places, not people; `geo_app.coverage.runs.trips`
and `runs.lacking` store them); `geo_app.coverage.service.run_payload` gives them the places
of the account's scope and the published island totals:

* `trip_rows`: per island (the mesa's island grouping, `service.island_groups`),
  the typical cell (lower median) at the one departure, the cells from which a
  same-day round trip is possible and the typical time home, and the week: the
  typical cell of each day, then its best, typical and worst day
  (`layers.coverage.summarise_week`);
* `multi_gap_rows`: places where the typical cell lacks several types of service
  at once (`layers.coverage.multi_gaps`), with the place's cases, enrolment and
  population taken from the run's published island table (`service.run_tables`,
  the same suppression pattern: nothing new is revealed);
* `cell_texts`: the round trip and the week of one cell, for the map.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from layers.coverage import NOT_TODAY
from layers.coverage import multi_gaps
from layers.coverage import summarise_week
from layers.services import SERVICE_TYPES

__all__ = ["cell_texts", "multi_gap_rows", "trip_rows", "week_text"]


def _lower_median(values: list[float]) -> float:
    """Return the lower middle value (an actual cell's figure); inf is "not reached"."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else np.inf


def _minutes(value: float) -> int | None:
    return int(value) if np.isfinite(value) else None


def _clock(minute: float | None) -> str | None:
    if minute is None or not np.isfinite(minute):
        return None
    return f"{int(minute) // 60:02d}:{int(minute) % 60:02d}"


def _to_minute(text: str | None) -> float:
    if not text:
        return np.inf
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def week_text(row) -> str:
    """Spanish summary of a `summarise_week` row: best (day), typical, worst (day)."""
    if row["days_reached"] == 0:
        return f"no se llega ningún día ({row['days']} días a la misma hora)"

    def fig(value) -> str:
        return NOT_TODAY if pd.isna(value) else f"{int(value)} min"

    if row["days_reached"] == row["days"] and row["best_min"] == row["worst_min"]:
        return f"{fig(row['best_min'])} los {row['days']} días"
    return (
        f"mejor {fig(row['best_min'])} ({row['best_day']}) · típico {fig(row['median_min'])} · "
        f"peor {fig(row['worst_min'])} ({row['worst_day']}) · se llega {row['days_reached']} "
        f"de {row['days']} días"
    )


def trip_rows(result: dict, places: dict[str, list[str]]) -> list[dict]:
    """Per place: one departure, the same-day round trip and the week of its typical cell.

    `places` maps each place (island, grouped for the mesa) to its H3 cells in
    the account's scope.

    Each row: ``place``, ``cells``; ``minutes`` (typical cell at the chosen
    departure, None = not reached today) and ``reason`` (the commonest reason
    of its unreached cells); ``same_day`` (cells from which one is home the same
    day), ``same_day_before`` (the same before a what-if, else None), ``home``
    (typical time home of those cells, "HH:MM"), ``no_return`` (the commonest
    reason of the others); ``week`` (text) and its figures ``best, best_day,
    typical, worst, worst_day, days_reached, days``. Ranked by the share of
    cells with no same-day return, then place (places, so no count of people
    decides the order). Empty for runs computed before these figures existed.
    """
    if "ida_vuelta" not in result:
        return []
    trips = result["ida_vuelta"]["celdas"]
    before = (result.get("ida_vuelta_antes") or {}).get("celdas")
    week, names = result["semana"]["celdas"], result["semana"]["dias"]
    rows = []
    for place, cells in places.items():
        cells = [c for c in cells if c in trips]
        if not cells:
            continue
        one = [result["celdas"][c][0] for c in cells]
        unreached = Counter(result["celdas"][c][4] for c, m in zip(cells, one, strict=True)
                            if m is None)  # fmt: skip
        back = [c for c in cells if trips[c][0]]
        no_return = Counter(trips[c][2] for c in cells if not trips[c][0])
        per_day = [
            _lower_median([np.inf if week[c][d] is None else week[c][d] for c in cells])
            for d in range(len(names))
        ]
        summary = summarise_week(np.array([per_day], dtype=float), names).iloc[0]
        rows.append(
            {
                "place": place,
                "cells": len(cells),
                "minutes": _minutes(_lower_median([np.inf if m is None else m for m in one])),
                "reason": unreached.most_common(1)[0][0] if unreached else "",
                "same_day": len(back),
                "same_day_before": None
                if before is None
                else sum(1 for c in cells if c in before and before[c][0]),
                "home": _clock(_lower_median([_to_minute(trips[c][1]) for c in back])),
                "no_return": no_return.most_common(1)[0][0] if no_return else "",
                "week": week_text(summary),
                "best": _minutes(np.nan_to_num(summary["best_min"], nan=np.inf)),
                "best_day": summary["best_day"],
                "typical": _minutes(np.nan_to_num(summary["median_min"], nan=np.inf)),
                "worst": _minutes(np.nan_to_num(summary["worst_min"], nan=np.inf)),
                "worst_day": summary["worst_day"],
                "days_reached": int(summary["days_reached"]),
                "days": int(summary["days"]),
            }
        )
    return sorted(rows, key=lambda r: (-(r["cells"] - r["same_day"]) / r["cells"], r["place"]))


def multi_gap_rows(
    result: dict, places: dict[str, list[str]], totals: dict[str, dict[str, str]], *, exact: bool
) -> dict:
    """Places whose typical cell lacks at least two types of service at once.

    A place lacks a type when the median minutes of its cells to the nearest
    service of the type exceed the run's threshold (or that median cell is not
    reached today); `layers.coverage.multi_gaps`. `places` as in `trip_rows`;
    `totals`: place -> value -> the place's row total in the published island
    table of the run (``<k`` where hidden there), so the counts follow the same
    suppression as every other mesa table; `exact`: staff (ranked by cases).

    Returns
    -------
    dict
        ``umbral``, ``tipos`` (labels evaluated), ``sin_servicios`` (labels of
        types with no located service, not evaluated), ``rows``: ``place,
        lacking, of, types, cases, enrolment, population`` (text). Staff rows
        are ranked by types lacking then cases; mesa rows by types lacking then
        place.
    """
    spec = result.get("carencias")
    out = {"umbral": None, "tipos": [], "sin_servicios": [], "rows": []}
    if not spec:
        return out
    types = spec["tipos"]
    out.update(
        umbral=spec["umbral"],
        tipos=[SERVICE_TYPES[t][0] for t in types],
        sin_servicios=[SERVICE_TYPES[t][0] for t in spec["sin_servicios"]],
    )
    place_of = {c: p for p, cells in places.items() for c in cells}
    ids = [c for c in place_of if c in spec["celdas"]]
    if not ids or not types:
        return out
    times = pd.DataFrame(
        [
            (c, t, np.nan if m is None else m)
            for c in ids
            for t, m in zip(types, spec["celdas"][c], strict=True)
        ],
        columns=["origin_id", "service_type", "minutes"],
    )
    places = pd.DataFrame(
        {"origin_id": ids, "island_name": [place_of[c] for c in ids],
         "cases": 0, "enrolment": 0, "population": 0}
    )  # fmt: skip
    table = multi_gaps(times, places, dict.fromkeys(types, spec["umbral"]))
    for row in table.itertuples(index=False):
        entry = {"place": row.place, "lacking": int(row.lacking), "of": len(types),
                 "types": row.types}  # fmt: skip
        for value in ("cases", "enrolment", "population"):
            entry[value] = totals.get(row.place, {}).get(value, "0")
        out["rows"].append(entry)
    if exact:
        out["rows"].sort(key=lambda r: (-r["lacking"], -int(r["cases"]), r["place"]))
    return out


def cell_texts(result: dict, cells: list[str], *, before: bool = False) -> dict[str, dict]:
    """Return the round trip and the week of each of `cells` as Spanish text, for the map.

    Returns ``{cell: {"ida_vuelta": text, "semana": text}}`` (empty texts for
    runs computed before these figures existed).
    """
    suffix = "_antes" if before else ""
    trips = (result.get("ida_vuelta" + suffix) or {}).get("celdas", {})
    week = result.get("semana" + suffix) or {}
    known = [c for c in cells if c in week.get("celdas", {})]
    texts = {}
    if known:
        values = np.array(
            [[np.nan if m is None else m for m in week["celdas"][c]] for c in known], dtype=float
        )
        summary = summarise_week(values, week["dias"])
        rows = summary.to_dict(orient="records")
        texts = {c: week_text(row) for c, row in zip(known, rows, strict=True)}
    out = {}
    for cell in cells:
        trip = trips.get(cell)
        text = ""
        if trip is not None:
            text = f"sí, en casa a las {trip[1]}" if trip[0] else f"no: {trip[2]}"
        out[cell] = {"ida_vuelta": text, "semana": texts.get(cell, "")}
    return out
