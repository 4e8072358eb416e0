"""Hand-built two-island network whose answers are worked out by hand.

Island A: nodes 0 - 1 - 2 (pier A at node 2); island B: nodes 3 - 4 (pier B at
node 3). Every edge is 1,000 m, 600 s by vehicle both ways, 800 s on foot
(4.5 km/h). Boats from A to B: a vehicle ferry at 08:00, 09:00 and 10:00
(30 min crossing) and a passenger lancha at 08:10 (10 min), Monday to Friday.
Back from B to A: vehicle ferry at 15:00 and 17:00 (30 min). 2026-03-09 is a Monday.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from routing.boats import parse_timetable
from routing.model import TravelModel
from routing.streets import StreetNetwork

STEP = 0.009  # degrees of longitude at the equator, about 1,000 m
NODES = [i * STEP for i in range(5)]
PIER_A, PIER_B = (NODES[2], 0.0), (NODES[3], 0.0)

HEADER = (
    "servicio_id,linea_id,linea,origen,origen_lat,origen_lon,destino,destino_lat,destino_lon,"
    "terminales_fuente,modo,modo_fuente,transporta,transporta_fuente,dias,dias_fuente,"
    "frecuencia_min,frecuencia_fuente,primera_salida,primera_salida_fuente,ultima_salida,"
    "ultima_salida_fuente,salidas,salidas_fuente,cruce_min,cruce_fuente,nota"
)


def row(sid, line, a, b, mode, cargo, times, crossing, days="lu,ma,mi,ju,vi"):
    (na, (xa, ya)), (nb, (xb, yb)) = a, b
    return (
        f"{sid},{line},{line},{na},{ya},{xa},{nb},{yb},{xb},test,{mode},test,{cargo},test,"
        f'"{days}",test,,,,,,,{times},test,{crossing},test,'
    )


TIMETABLE = "\n".join(
    [
        HEADER,
        row(
            "f-ab",
            "ferry",
            ("A", PIER_A),
            ("B", PIER_B),
            "barcaza",
            "vehiculos_y_pasajeros",
            "08:00 09:00 10:00",
            30,
        ),
        row(
            "f-ba",
            "ferry",
            ("B", PIER_B),
            ("A", PIER_A),
            "barcaza",
            "vehiculos_y_pasajeros",
            "15:00 17:00",
            30,
        ),
        row(
            "l-ab", "lancha", ("A", PIER_A), ("B", PIER_B), "lancha", "solo_pasajeros", "08:10", 10
        ),
    ]
)


def _streets() -> StreetNetwork:
    pairs = [(0, 1), (1, 2), (3, 4)]
    u = np.array([a for a, b in pairs] + [b for a, b in pairs])
    v = np.array([b for a, b in pairs] + [a for a, b in pairs])
    lon = np.array(NODES)
    offsets = np.arange(0, 2 * len(u) + 1, 2)
    glon = np.ravel(np.column_stack([lon[u], lon[v]]))
    return StreetNetwork(
        lon,
        np.zeros(5),
        u,
        v,
        np.full(len(u), 1000.0),
        np.full(len(u), 600.0),
        offsets,
        glon,
        np.zeros(len(glon)),
        walk_kmh=4.5,
    )


def build_model(suspensions=(), margin=0.0, timetable_csv: str = TIMETABLE) -> TravelModel:
    timetable = parse_timetable(timetable_csv).with_suspensions(tuple(suspensions))
    return TravelModel(_streets(), timetable, name="prueba", boarding_margin_min=margin)


def at(hhmm: str, day: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-03-{day:02d} {hhmm}")


def node(i: int) -> tuple[float, float]:
    return (NODES[i], 0.0)
