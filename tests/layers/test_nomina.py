"""Nómina de seguimiento (Res. Ex. 3101, 2020): due dates and rows worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from layers.nomina import NOMINA_COLUMNS
from layers.nomina import add_months
from layers.nomina import deliveries
from layers.nomina import due_dates
from layers.nomina import nomina_rows

D = dt.date


def test_add_months_keeps_the_day_or_the_last_day_of_the_month():
    assert add_months(D(2026, 3, 15), 4) == D(2026, 7, 15)
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert add_months(D(2026, 11, 30), 3) == D(2027, 2, 28)
    assert add_months(D(2026, 12, 31), 12) == D(2027, 12, 31)


def test_due_dates_follow_the_2020_rules():
    dues = due_dates(D(2026, 3, 1), [D(2026, 6, 20)], today=D(2026, 12, 1))
    # initial: start + 4 months = 1 July, delivered 20 June (on time)
    assert (dues[0].name, dues[0].due, dues[0].late) == ("Nómina inicial", D(2026, 7, 1), False)
    # first follow-up: 4 months after the initial was delivered = 20 October; not sent: late
    assert (dues[1].due, dues[1].delivered, dues[1].late) == (D(2026, 10, 20), None, True)
    # next: 3 months after the (missed) due date = 20 January 2027, not yet due
    assert (dues[2].name, dues[2].due, dues[2].late) == (
        "Nómina de seguimiento 2", D(2027, 1, 20), False)  # fmt: skip
    assert len(dues) == 3


def test_a_late_delivery_is_flagged_and_nothing_due_yet_lists_the_next():
    assert due_dates(D(2026, 3, 1), [D(2026, 7, 10)], today=D(2026, 8, 1))[0].late
    only = due_dates(D(2026, 3, 1), [], today=D(2026, 5, 1))
    assert [(d.due, d.late) for d in only] == [(D(2026, 7, 1), False)]


def _p(caso, ingreso, matricula=None, cerrado=None, motivo=""):
    return {"caso": caso, "run": f"90.000.00{caso}-K", "nombres": "Sintético",
            "apellidos": f"Número {caso}", "programa": "Reinserción", "rbd": 8001,
            "establecimiento": "Escuela sintética", "ingreso": ingreso, "matricula": matricula,
            "cerrado": cerrado, "motivo_cierre": motivo}  # fmt: skip


PARTICIPANTS = pd.DataFrame(
    [
        _p(1, D(2026, 3, 1), D(2026, 4, 10)),  # 3 whole months by 1 August: cumplido
        _p(2, D(2026, 5, 1), D(2026, 6, 15)),  # 1 whole month: en seguimiento
        _p(3, D(2026, 2, 1)),  # not enrolled yet: en proceso
        _p(4, D(2026, 9, 1)),  # entered after the nómina's date: left out
        _p(5, D(2026, 3, 1), D(2026, 4, 1), D(2026, 7, 1), "se trasladó fuera del territorio"),
        _p(6, D(2026, 3, 1), D(2026, 9, 1)),  # enrolled after the date: still en proceso
    ]
)
ATTENDANCE = pd.DataFrame(
    [(1, "2026-03", 50.0), (1, "2026-04", 80.0), (1, "2026-05", 90.0), (1, "2026-06", None),
     (1, "2026-07", 70.0), (1, "2026-08", 100.0), (1, "2026-09", 10.0)],
    columns=["case_id", "period", "pct"],
)  # fmt: skip


def test_nomina_rows_states_months_and_attendance_since_enrolment():
    rows = nomina_rows(PARTICIPANTS, ATTENDANCE, D(2026, 8, 1))
    assert list(rows.columns) == list(NOMINA_COLUMNS)
    assert list(rows["caso"]) == [2, 3, 6, 1, 5]  # by state, then case number
    by = rows.set_index("caso")
    assert (by.loc[1, "meses_seguimiento"], by.loc[1, "estado"]) == (3, "seguimiento cumplido")
    # April to August (September is after the date; June has no figure): 80, 90, 70, 100
    assert by.loc[1, "asistencia_desde_matricula"] == 85.0
    assert (by.loc[2, "meses_seguimiento"], by.loc[2, "estado"]) == (1, "en seguimiento")
    assert by.loc[3, "estado"] == "en proceso" and pd.isna(by.loc[3, "matricula"])
    assert by.loc[6, "estado"] == "en proceso"
    assert by.loc[5, "estado"] == "cerrado (se trasladó fuera del territorio)"


def test_downloads_within_a_month_are_the_same_delivery():
    days = [dt.date(2026, 7, 2), dt.date(2026, 7, 1), dt.date(2026, 7, 30),  # initial, again
            dt.date(2026, 8, 1),  # one month after 1 July: the next nómina
            dt.date(2026, 8, 31), dt.date(2026, 11, 3)]  # fmt: skip
    assert deliveries(days) == [dt.date(2026, 7, 1), dt.date(2026, 8, 1), dt.date(2026, 11, 3)]
    assert deliveries([]) == []


def test_due_dates_from_the_downloads_by_hand():
    # Start 2026-03-01: initial due 2026-07-01, downloaded 2026-06-20 (on time); first
    # follow-up due 4 months after that delivery, 2026-10-20; on 2026-11-02 not downloaded:
    # late; the next is due 3 months after the date it was due (not delivered): 2027-01-20.
    start, today = dt.date(2026, 3, 1), dt.date(2026, 11, 2)
    dues = due_dates(start, deliveries([dt.date(2026, 6, 20), dt.date(2026, 6, 25)]), today)
    assert [(d.due, d.delivered, d.late) for d in dues] == [
        (dt.date(2026, 7, 1), dt.date(2026, 6, 20), False),
        (dt.date(2026, 10, 20), None, True),
        (dt.date(2027, 1, 20), None, False),
    ]
