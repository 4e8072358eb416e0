"""Travel model for an archipelago: roads plus timetabled boats (no Flask, no layers)."""

from __future__ import annotations

from routing._errors import RoutingInputError
from routing.approximate import ApproximateNetwork
from routing.approximate import ApproxParams
from routing.boats import Timetable
from routing.boats import parse_timetable
from routing.boats import read_timetable
from routing.model import Journey
from routing.model import Leg
from routing.model import TravelModel

__all__ = [
    "ApproxParams",
    "ApproximateNetwork",
    "Journey",
    "Leg",
    "RoutingInputError",
    "Timetable",
    "TravelModel",
    "parse_timetable",
    "read_timetable",
]
