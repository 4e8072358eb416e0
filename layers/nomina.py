"""The *nómina de seguimiento* of the 2020 rules: who is followed, and when each is due.

Source: Resolución Exenta 3101 (Mineduc, D.O. 22-07-2020), art. primero N° 2, «las nóminas
de seguimiento del proceso de reinserción y la trayectoria educativa de los participantes»:

- a *nómina inicial* of the participants within the first **4 months** of the project;
- the *primera nómina de seguimiento* **4 months after the initial one was delivered**,
  and then **every 3 months**;
- a participant who enrols in a school is followed for **at least 3 months**, and is
  still a participant during that time.

Pure functions on plain tables (no Flask, no database).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "FOLLOW_UP_MONTHS",
    "NOMINA_COLUMNS",
    "Due",
    "add_months",
    "deliveries",
    "due_dates",
    "nomina_rows",
]

INITIAL_MONTHS = 4  # nómina inicial: within the first 4 months of the project
FIRST_FOLLOW_UP_MONTHS = 4  # first nómina de seguimiento: 4 months after the initial one
EVERY_MONTHS = 3  # then every 3 months
FOLLOW_UP_MONTHS = 3  # follow-up after enrolment: at least 3 months

# The XLSX layout, one column each, in this order (documented in the README).
NOMINA_COLUMNS = {
    "caso": "Número de caso en Revincula",
    "run": "RUN con dígito verificador (12.345.678-5)",
    "nombres": "Nombres",
    "apellidos": "Apellidos",
    "programa": "Reinserción o Aulas de Reingreso (según elegibilidad, reglas 2020)",
    "rbd": "RBD del establecimiento de la matrícula (o el último conocido)",
    "establecimiento": "Nombre del establecimiento (Directorio Mineduc)",
    "ingreso": "Fecha en que el caso entró al proceso (AAAA-MM-DD)",
    "matricula": "Fecha de la (re)matrícula; vacío si aún no se matricula",
    "meses_seguimiento": "Meses completos desde la matrícula hasta la fecha de la nómina",
    "asistencia_desde_matricula": "Asistencia media (%) de las listas desde el mes de la matrícula",
    "estado": "en proceso · en seguimiento · seguimiento cumplido · cerrado (motivo)",
}


def add_months(day: dt.date, months: int) -> dt.date:
    """Return `day` plus `months` calendar months (the 31st becomes the month's last day)."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


@dataclass(frozen=True)
class Due:
    """One nómina the rules ask for: which, when due, when delivered, and whether late."""

    name: str
    due: dt.date
    delivered: dt.date | None
    late: bool


def due_dates(
    start: dt.date, delivered: Sequence[dt.date], today: dt.date, *, horizon: int = 1
) -> list[Due]:
    """Return the nóminas due from a project's `start` up to `today` (and `horizon` ahead).

    Parameters
    ----------
    start
        First day of the project's execution.
    delivered
        Dates the nóminas were delivered, oldest first: the first is the *nómina inicial*,
        the next ones the *nóminas de seguimiento* in order.
    today
        The date of the question; a nómina not delivered by its due date and due before
        `today` is late.
    horizon
        How many nóminas not yet due to list after `today` (the next ones to prepare).

    Returns
    -------
    list of Due
        The initial nómina (due ``start + 4 months``), then the follow-ups: the first 4
        months after the initial one was delivered (or was due, while it is not), each
        next one 3 months after the previous one was delivered (or due).
    """
    delivered = sorted(delivered)
    out: list[Due] = []
    due = add_months(start, INITIAL_MONTHS)
    ahead = 0
    n = 0
    while True:
        done = delivered[n] if n < len(delivered) else None
        late = (done is None and due < today) or (done is not None and done > due)
        name = "Nómina inicial" if n == 0 else f"Nómina de seguimiento {n}"
        out.append(Due(name, due, done, late))
        if due > today and done is None:
            ahead += 1
            if ahead >= horizon:
                return out
        base = done or due
        due = add_months(base, FIRST_FOLLOW_UP_MONTHS if n == 0 else EVERY_MONTHS)
        n += 1
        if n > 200:  # 50 years of nóminas: a start date typed wrong
            return out


REDELIVERY_MONTHS = 1  # a download within a month of a delivery re-sends that same nómina


def deliveries(downloads: Sequence[dt.date]) -> list[dt.date]:
    """Return the delivery dates of the nóminas from the days they were downloaded.

    Revincula counts a nómina as delivered the day it is first downloaded as XLSX. A
    later download counts as the delivery of the *next* nómina only from
    ``REDELIVERY_MONTHS`` month after the previous delivery; sooner, it is the same
    nómina downloaded again (a correction or a second copy). Nóminas are due at least
    3 months apart (Res. Ex. 3101, 2020), so one month cannot merge two of them.
    This is Revincula's convention, not the resolution's.

    `downloads` may be in any order and repeat days; returns dates oldest first.
    """
    out: list[dt.date] = []
    for day in sorted(set(downloads)):
        if not out or day >= add_months(out[-1], REDELIVERY_MONTHS):
            out.append(day)
    return out


def _months_between(first: dt.date, last: dt.date) -> int:
    months = (last.year - first.year) * 12 + last.month - first.month
    return months - (last.day < first.day)


def nomina_rows(participants: pd.DataFrame, attendance: pd.DataFrame, on: dt.date) -> pd.DataFrame:
    """Return the nómina de seguimiento on date `on`: one row per participant.

    Parameters
    ----------
    participants
        One row per participant: ``caso``, ``run``, ``nombres``, ``apellidos``,
        ``programa``, ``rbd``, ``establecimiento``, ``ingreso`` (date), ``matricula``
        (date or None), ``cerrado`` (date or None), ``motivo_cierre`` (text).
        Participants who entered after `on` are left out; one closed before `on` is
        listed as closed (the rules ask to justify who does not continue).
    attendance
        ``case_id``, ``period`` (AAAA-MM), ``pct``: the monthly lists' attendance.
    on
        The date of the nómina.

    Returns
    -------
    pandas.DataFrame
        Columns `NOMINA_COLUMNS` in order, sorted by state then case number.
        ``meses_seguimiento`` counts whole months from the enrolment to `on`;
        ``estado`` is *seguimiento cumplido* from 3 months on (``FOLLOW_UP_MONTHS``).
    """
    rows = []
    by_case = dict(list(attendance.groupby("case_id")))
    for p in participants.itertuples(index=False):
        if p.ingreso > on:
            continue
        enrolled = None if pd.isna(p.matricula) or p.matricula > on else p.matricula
        months = _months_between(enrolled, on) if enrolled else None
        pct = None
        if enrolled is not None and p.caso in by_case:
            period = by_case[p.caso]["period"]
            in_range = (period >= f"{enrolled:%Y-%m}") & (period <= f"{on:%Y-%m}")
            since = by_case[p.caso].loc[in_range, "pct"].dropna()
            pct = round(float(since.mean()), 1) if len(since) else None
        if not pd.isna(p.cerrado) and p.cerrado <= on:
            state = f"cerrado ({p.motivo_cierre})" if p.motivo_cierre else "cerrado"
        elif enrolled is None:
            state = "en proceso"
        elif months >= FOLLOW_UP_MONTHS:
            state = "seguimiento cumplido"
        else:
            state = "en seguimiento"
        rows.append(
            {
                "caso": p.caso,
                "run": p.run,
                "nombres": p.nombres,
                "apellidos": p.apellidos,
                "programa": p.programa,
                "rbd": p.rbd,
                "establecimiento": p.establecimiento,
                "ingreso": p.ingreso.isoformat(),
                "matricula": enrolled.isoformat() if enrolled else None,
                "meses_seguimiento": months,
                "asistencia_desde_matricula": pct,
                "estado": state,
            }
        )
    order = {"en seguimiento": 0, "en proceso": 1, "seguimiento cumplido": 2}
    out = pd.DataFrame(rows, columns=list(NOMINA_COLUMNS))
    if out.empty:
        return out
    out["meses_seguimiento"] = out["meses_seguimiento"].astype("Int64")
    out["_o"] = out["estado"].map(order).fillna(3)
    return out.sort_values(["_o", "caso"]).drop(columns="_o").reset_index(drop=True)
