"""Team activity per gestor and ISO week: the published plans against the visit records.

Pure functions on plain tables (no Flask, no database), so the page, the PDF report and
the files compute the same figures.

Inputs
------
``days``: the days of the published plans, as the planner writes them
(``routing.planning`` result ``"dias"``): ``dia`` (ISO date), ``gestor_id``, ``gestor``,
``paradas`` (each with ``visita_id`` or ``caso`` and ``tramos``, the simulated legs) and
``regreso`` (the legs home). Legs have ``tipo``, ``duracion_s`` (seconds) and
``distancia_m`` (metres).

``visits``: one row per visit record (`geo_app.store.models.VisitRecord`): ``uuid``,
``corrects`` (uuid of the record it replaces, or None), ``case_id``, ``gestor_id``,
``gestor``, ``day`` (local date of the visit, `datetime.date`), ``outcome`` (key of
``layers/rules/visitas_2026.toml``), ``barriers`` (list of keys), ``referral_type``
(key of `layers.services.SERVICE_TYPES`, or "").

Hours, kilometres and crossings are **planned** figures (the plan's simulation of each
day with the boat timetables), not measured in the field; visits done, outcomes,
barriers and referrals come from the records the gestores sent.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "ACTIVITY_COLUMNS",
    "LEG_KINDS",
    "Activity",
    "effective_visits",
    "iso_week",
    "team_activity",
]

# Leg kinds (routing.model.Leg) grouped as the table counts them; transit rides count as
# bus; anything new is counted under "otro" and not shown as driving or walking.
LEG_KINDS = {
    "conducir": "conduce",
    "caminar": "a_pie",
    "barco": "barco",
    "espera": "espera",
    "bus": "bus",
    "colectivo": "bus",
    "tren": "bus",
}
HOURS = ("conduce", "a_pie", "barco", "bus", "espera")
OUTCOME_KINDS = ("contacto", "sin_contacto", "ubicacion")
ACTIVITY_COLUMNS = [
    "semana", "lunes", "gestor", "dias", "visitas_plan", "visitas_hechas", "del_plan",
    *OUTCOME_KINDS, "con_barreras", "derivaciones",
    *(f"{k}_h" for k in HOURS), "km", "cruces",
]  # fmt: skip


def iso_week(day: dt.date) -> tuple[str, dt.date]:
    """Return the ISO 8601 week of `day` as ``("2026-W45", Monday of that week)``."""
    year, week, weekday = day.isocalendar()
    return f"{year}-W{week:02d}", day - dt.timedelta(days=weekday - 1)


def effective_visits(visits: pd.DataFrame) -> pd.DataFrame:
    """Return the records that stand: those no other record corrects.

    A correction is a new record naming the one it replaces (``corrects``), so a chain
    a → b → c leaves only c.
    """
    replaced = set(visits["corrects"].dropna()) - {""}
    return visits[~visits["uuid"].isin(replaced)]


@dataclass
class Activity:
    """The activity tables.

    ``weekly`` (`ACTIVITY_COLUMNS`), ``barriers`` (``semana``, ``gestor``, ``barrera``,
    ``visitas``) and ``referrals`` (``semana``, ``gestor``, ``servicio``,
    ``derivaciones``).
    """

    weekly: pd.DataFrame
    barriers: pd.DataFrame
    referrals: pd.DataFrame


def _planned(days: Iterable[Mapping]) -> tuple[pd.DataFrame, set]:
    rows, planned = [], set()
    for day in days:
        date = dt.date.fromisoformat(day["dia"])
        week, monday = iso_week(date)
        seconds = dict.fromkeys((*HOURS, "otro"), 0.0)
        metres, crossings = 0.0, 0
        legs = [leg for s in day["paradas"] for leg in s.get("tramos", [])]
        for leg in legs + list(day.get("regreso", [])):
            kind = LEG_KINDS.get(leg["tipo"], "otro")
            seconds[kind] += leg.get("duracion_s") or 0
            if kind in ("conduce", "a_pie"):
                metres += leg.get("distancia_m") or 0
            crossings += leg["tipo"] == "barco"
        for stop in day["paradas"]:
            case = stop.get("caso", stop.get("visita_id"))
            planned.add((week, day["gestor_id"], str(case)))
        rows.append({
            "semana": week, "lunes": monday, "gestor_id": day["gestor_id"],
            "gestor": day["gestor"], "dias": 1, "visitas_plan": len(day["paradas"]),
            **{f"{k}_h": seconds[k] / 3600 for k in HOURS},
            "km": metres / 1000, "cruces": crossings,
        })  # fmt: skip
    return pd.DataFrame(rows), planned


def team_activity(
    days: Iterable[Mapping], visits: pd.DataFrame, outcome_kinds: Mapping[str, str]
) -> Activity:
    """Compute the team's activity per ISO week and gestor.

    Parameters
    ----------
    days, visits
        See the module docstring.
    outcome_kinds
        Outcome key → kind (``contacto``, ``sin_contacto``, ``ubicacion``), from the
        visit rules.

    Returns
    -------
    Activity
        ``weekly`` has one row per (week, gestor) with a planned day or a visit:
        ``dias`` (planned days), ``visitas_plan`` (planned stops), ``visitas_hechas``
        (records that stand, corrections counted once), ``del_plan`` (planned stops of
        that week with a record by the same gestor in the same week), one column per
        outcome kind, ``con_barreras`` (records naming at least one barrier),
        ``derivaciones`` (records with a referral), hours per kind of leg, ``km`` (road
        kilometres driven or walked) and ``cruces`` (boat legs), sorted by week then
        gestor.
    """
    plan, planned = _planned(days)
    done = effective_visits(visits).copy()
    if len(done):
        weeks = [iso_week(d) for d in done["day"]]
        done["semana"] = [w for w, _ in weeks]
        done["lunes"] = [m for _, m in weeks]
        kinds = done["outcome"].map(outcome_kinds).fillna("otro")
        for kind in OUTCOME_KINDS:
            done[kind] = (kinds == kind).astype(int)
        done["con_barreras"] = done["barriers"].map(lambda b: int(bool(b)))
        done["derivaciones"] = done["referral_type"].map(lambda r: int(bool(r)))
        done["visitas_hechas"] = 1
        keys = zip(done["semana"], done["gestor_id"], done["case_id"].astype(str), strict=True)
        hit = {k for k in keys if k in planned}
    else:
        done = pd.DataFrame(columns=["semana", "lunes", "gestor_id", "gestor", "visitas_hechas",
                                     *OUTCOME_KINDS, "con_barreras", "derivaciones"])  # fmt: skip
        hit = set()
    numeric = [c for c in ACTIVITY_COLUMNS if c not in ("semana", "lunes", "gestor")]
    keys = ["semana", "lunes", "gestor_id"]
    parts = []
    for frame in (plan, done):
        if len(frame):
            cols = [c for c in numeric if c in frame]
            summed = frame.groupby(keys, as_index=False)[cols].sum()
            names = frame.groupby(keys, as_index=False)["gestor"].first()
            parts.append(summed.merge(names, on=keys))
    if not parts:
        empty = pd.DataFrame(columns=ACTIVITY_COLUMNS)
        return Activity(empty, _long(done, "barrera"), _long(done, "servicio"))
    merged = parts[0] if len(parts) == 1 else parts[0].merge(
        parts[1], on=keys, how="outer", suffixes=("", "_v")
    )  # fmt: skip
    if "gestor_v" in merged:
        merged["gestor"] = merged["gestor"].fillna(merged["gestor_v"])
    for column in numeric:
        merged[column] = merged[column].fillna(0) if column in merged else 0
    hits = Counter((week, gestor) for week, gestor, _ in hit)
    pairs = zip(merged["semana"], merged["gestor_id"], strict=True)
    merged["del_plan"] = [hits.get(pair, 0) for pair in pairs]
    ints = [c for c in numeric if not c.endswith("_h") and c != "km"]
    merged[ints] = merged[ints].astype(int)
    merged = merged.round({c: 1 for c in numeric if c.endswith("_h") or c == "km"})
    weekly = merged.sort_values(["semana", "gestor"])[ACTIVITY_COLUMNS].reset_index(drop=True)
    return Activity(weekly, _long(done, "barrera"), _long(done, "servicio"))


def _long(done: pd.DataFrame, what: str) -> pd.DataFrame:
    """Barriers (one row per barrier named) or referrals (per service type), counted."""
    count = "visitas" if what == "barrera" else "derivaciones"
    columns = ["semana", "gestor", what, count]
    if not len(done):
        return pd.DataFrame(columns=columns)
    if what == "barrera":
        items = done[["semana", "gestor", "barriers"]].explode("barriers")
        items = items.rename(columns={"barriers": what})
    else:
        items = done[["semana", "gestor", "referral_type"]].rename(columns={"referral_type": what})
    items = items[items[what].notna() & (items[what] != "")]
    if not len(items):
        return pd.DataFrame(columns=columns)
    out = items.groupby(["semana", "gestor", what], as_index=False).size()
    out = out.rename(columns={"size": count})
    return out.sort_values(["semana", "gestor", what]).reset_index(drop=True)[columns]
