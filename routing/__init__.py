"""Travel model for an archipelago: roads plus timetabled boats (no Flask, no layers)."""

from __future__ import annotations

from routing._errors import RoutingInputError
from routing.boats import Timetable
from routing.boats import read_timetable

__all__ = ["RoutingInputError", "Timetable", "read_timetable"]
