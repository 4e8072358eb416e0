"""Hand-made Chiloé public transport case whose answers are worked out by hand.

Geography (real places, simplified land): two land masses as boxes, Isla Grande
(lon -73.90..-73.640) and Isla Quinchao (lon -73.636..-73.40), lat -42.60..-42.30.
The approximate network walks in straight lines at 1 m/s (walk_kmh 3.6, circuity
1.0), so walking seconds = metres. Points due north/south of one another are
an exact number of metres apart (haversine along a meridian is R x dlat).

Stops (GTFS feed, route R1 «1 Castro - Dalcahue», route_type 3):
* Terminal Castro (-42.4800, -73.7625), Mocopulli (-42.4300, -73.7100),
  Dalcahue Plaza: 300 m due south of the Dalcahue ferry ramp.
* Trips (Castro, Mocopulli, Dalcahue Plaza):
  LV-0700 07:00 07:20 07:40, LV-0800 08:00 08:20 08:40 (service LV, Mon-Fri);
  SD-0900 09:00 09:20 09:40 and SD-2340 23:40 24:05 24:20 (service SD, Sat-Sun:
  the last one runs past midnight on Saturday's service day);
  FEST-1100 11:00 (Mocopulli without time: interpolated 11:20) 11:40, service
  FEST only on Sunday 2026-03-15, when SD is removed (calendar_dates).

Boats (our timetable format): the Dalcahue - Quinchao ferry, every day,
Dalcahue ramp (-42.3786, -73.648) -> Quinchao ramp (-42.381, -73.629) at 07:00
07:50 08:30 09:30 10:30 12:00 14:00 18:00, 10 min crossing; back at 07:20 08:10
09:00 13:00 17:00. Boarding margin 5 min (TravelModel default).
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path

import shapely

from routing.approximate import ApproximateNetwork
from routing.approximate import ApproxParams
from routing.boats import parse_timetable
from routing.model import TravelModel
from tests.routing.handbuilt import HEADER
from tests.routing.handbuilt import row

M_PER_DEG_LAT = 6_371_008.8 * math.pi / 180  # haversine metres per degree along a meridian
ISLA_GRANDE = shapely.box(-73.90, -42.60, -73.640, -42.30)
QUINCHAO = shapely.box(-73.636, -42.60, -73.40, -42.30)

CASTRO = (-73.7625, -42.4800)
MOCOPULLI = (-73.7100, -42.4300)
DALCAHUE_RAMP = (-73.648, -42.3786)
QUINCHAO_RAMP = (-73.629, -42.381)


def north(point: tuple[float, float], metres: float) -> tuple[float, float]:
    """The point `metres` due north (negative: south) of `point` (lon, lat)."""
    return (point[0], point[1] + metres / M_PER_DEG_LAT)


DALCAHUE_PLAZA = north(DALCAHUE_RAMP, -300)
QUINCHAO_HOUSE = north(QUINCHAO_RAMP, 600)

FERRY = "\n".join(
    [
        HEADER,
        row(
            "dq-ida",
            "dalcahue-quinchao",
            ("Dalcahue", DALCAHUE_RAMP),
            ("Rampa Isla Quinchao", QUINCHAO_RAMP),
            "barcaza",
            "vehiculos_y_pasajeros",
            "07:00 07:50 08:30 09:30 10:30 12:00 14:00 18:00",
            10,
            days="lu,ma,mi,ju,vi,sa,do",
        ),
        row(
            "dq-vuelta",
            "dalcahue-quinchao",
            ("Rampa Isla Quinchao", QUINCHAO_RAMP),
            ("Dalcahue", DALCAHUE_RAMP),
            "barcaza",
            "vehiculos_y_pasajeros",
            "07:20 08:10 09:00 13:00 17:00",
            10,
            days="lu,ma,mi,ju,vi,sa,do",
        ),
    ]
)

FEED_FILES = {
    "agency.txt": (
        "agency_id,agency_name,agency_url,agency_timezone\n"
        "rural,Buses rurales (sintético),https://example.invalid,America/Santiago\n"
    ),
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon\n"
        f"CASTRO,Terminal Castro,{CASTRO[1]},{CASTRO[0]}\n"
        f"MOCO,Mocopulli,{MOCOPULLI[1]},{MOCOPULLI[0]}\n"
        f"DALC,Dalcahue Plaza,{DALCAHUE_PLAZA[1]:.9f},{DALCAHUE_PLAZA[0]}\n"
    ),
    "routes.txt": (
        "route_id,agency_id,route_short_name,route_long_name,route_type\n"
        "R1,rural,1,Castro - Dalcahue,3\n"
    ),
    "trips.txt": (
        "route_id,service_id,trip_id\n"
        "R1,LV,LV-0700\nR1,LV,LV-0800\nR1,SD,SD-0900\nR1,FEST,FEST-1100\nR1,SD,SD-2340\n"
    ),
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "LV-0700,07:00:00,07:00:00,CASTRO,1\nLV-0700,07:20:00,07:20:00,MOCO,2\n"
        "LV-0700,07:40:00,07:40:00,DALC,3\n"
        "LV-0800,08:00:00,08:00:00,CASTRO,1\nLV-0800,08:20:00,08:20:00,MOCO,2\n"
        "LV-0800,08:40:00,08:40:00,DALC,3\n"
        "SD-0900,09:00:00,09:00:00,CASTRO,1\nSD-0900,09:20:00,09:20:00,MOCO,2\n"
        "SD-0900,09:40:00,09:40:00,DALC,3\n"
        "FEST-1100,11:00:00,11:00:00,CASTRO,1\nFEST-1100,,,MOCO,2\n"
        "FEST-1100,11:40:00,11:40:00,DALC,3\n"
        "SD-2340,23:40:00,23:40:00,CASTRO,1\nSD-2340,24:05:00,24:05:00,MOCO,2\n"
        "SD-2340,24:20:00,24:20:00,DALC,3\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "LV,1,1,1,1,1,0,0,20260101,20261231\nSD,0,0,0,0,0,1,1,20260101,20261231\n"
    ),
    "calendar_dates.txt": "service_id,date,exception_type\nSD,20260315,2\nFEST,20260315,1\n",
}


def write_feed(folder: Path, files: dict[str, str] | None = None, name="buses.zip") -> Path:
    """Zip the feed files (or `files`, e.g. a broken copy) into `folder`."""
    path = folder / name
    with zipfile.ZipFile(path, "w") as zf:
        for file, text in (FEED_FILES if files is None else files).items():
            zf.writestr(file, text)
    return path


def network() -> ApproximateNetwork:
    return ApproximateNetwork(
        [("Isla Grande", ISLA_GRANDE), ("Isla Quinchao", QUINCHAO)],
        params=ApproxParams(circuity=1.0, walk_kmh=3.6),
    )


def travel_model() -> TravelModel:
    return TravelModel(network(), parse_timetable(FERRY), name="chiloe-prueba", approximate=True)


def at(day: int, hhmm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-03-{day:02d} {hhmm}")
