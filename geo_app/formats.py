"""Readable Spanish formats shared by the pages and the command line (no Flask)."""

from __future__ import annotations

import datetime as dt

from routing.planning import day_label

__all__ = ["hm", "minutes_label", "weekday_label"]


def hm(iso: str) -> str:
    """Return ``HH:MM`` of an ISO date-time."""
    return iso[11:16]


def minutes_label(seconds: float | None) -> str:
    """Return a duration such as ``1 h 05 min`` or ``40 min``."""
    minutes = round((seconds or 0) / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def weekday_label(value: str | dt.date) -> str:
    """Return a day as the pages name it (``martes 10-03``), from a date or ISO text."""
    return day_label(dt.date.fromisoformat(value) if isinstance(value, str) else value)
