"""Travel model for an archipelago: roads plus timetabled boats (no Flask, no layers).

Public transport (`routing.transit`, numba kernels) is imported on its own.
"""

from __future__ import annotations

from routing._errors import RoutingInputError
from routing.approximate import ApproximateNetwork
from routing.approximate import ApproxParams
from routing.boats import Timetable
from routing.boats import parse_timetable
from routing.boats import read_timetable
from routing.gtfs import GtfsError
from routing.gtfs import TransitFeed
from routing.gtfs import read_gtfs
from routing.gtfs import timetable_feed
from routing.gtfs import write_gtfs
from routing.lines import parse_lines
from routing.lines import read_lines
from routing.model import Journey
from routing.model import Leg
from routing.model import TravelModel

__all__ = [
    "ApproxParams",
    "ApproximateNetwork",
    "GtfsError",
    "Journey",
    "Leg",
    "RoutingInputError",
    "Timetable",
    "TransitFeed",
    "TravelModel",
    "parse_lines",
    "parse_timetable",
    "read_gtfs",
    "read_lines",
    "read_timetable",
    "timetable_feed",
    "write_gtfs",
]
