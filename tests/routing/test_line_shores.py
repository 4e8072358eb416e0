"""Boat terminals attach to their own shore on the approximate network (issue 17, item 15).

The island polygons are simplified: a pier on one side of a narrow channel can
fall inside the polygon of the island across (Puerto Huicha lies 440 m inside
the simplified Isla Lemuy). Each end of a line must attach to a different land
mass; a line whose two ends cannot is a data error, named with its reason.
"""

from __future__ import annotations

import datetime as dt

from shapely.geometry import box

from routing import ApproximateNetwork
from routing import TravelModel
from routing import parse_timetable

HEADER = (
    "servicio_id,linea_id,linea,origen,origen_lat,origen_lon,destino,destino_lat,destino_lon,"
    "terminales_fuente,modo,modo_fuente,transporta,transporta_fuente,dias,dias_fuente,"
    "frecuencia_min,frecuencia_fuente,primera_salida,primera_salida_fuente,ultima_salida,"
    "ultima_salida_fuente,salidas,salidas_fuente,cruce_min,cruce_fuente,nota\n"
)
TUESDAY_8 = dt.datetime(2026, 3, 10, 8, 0)
# Big island west of -73.74; small island east of -73.735 (a channel of about 410 m)
BIG = box(-73.90, -42.70, -73.74, -42.55)
SMALL = box(-73.735, -42.70, -73.55, -42.55)


def _line(line_id, a, b, lat=-42.62) -> str:
    rows = []
    for sid, (o, olon), (d, dlon) in (("ida", a, b), ("vuelta", b, a)):
        rows.append(
            f"{line_id}-{sid},{line_id},Línea {line_id},{o},{lat},{olon},{d},{lat},{dlon},"
            "sintético,transbordador,sintético,vehiculos_y_pasajeros,sintético,"
            '"lu,ma,mi,ju,vi,sa,do",sintético,30,sintético,07:00,sintético,20:00,sintético,,,'
            "15,sintético,\n"
        )
    return "".join(rows)


def _model(text: str) -> TravelModel:
    timetable = parse_timetable(HEADER + text, "prueba")
    terminals = [
        t
        for s in timetable.services
        for t in (
            (s.origin, s.origin_lon, s.origin_lat),
            (s.destination, s.destination_lon, s.destination_lat),
        )
    ]
    network = ApproximateNetwork([("Grande", BIG), ("Chica", SMALL)], terminals=terminals)
    return TravelModel(network, timetable, approximate=True)


def test_a_pier_inside_the_polygon_across_attaches_to_its_own_shore():
    # the west pier is 160 m inside the small island's polygon, 250 m from the big one
    model = _model(_line("ab", ("Muelle Oeste", -73.737), ("Muelle Este", -73.70)))
    west, east = (
        model.terminal_names.index("Muelle Oeste"),
        model.terminal_names.index("Muelle Este"),
    )
    assert model.network.land_name(model.terminals.anchor[west]) == "Grande"
    assert model.network.land_name(model.terminals.anchor[east]) == "Chica"
    assert 200 < model.terminals.access_m[west] < 300  # the gap to its own coast is travelled
    assert model.terminals.access_m[east] == 0
    j = model.journey((-73.80, -42.62), (-73.60, -42.62), TUESDAY_8)
    assert j.reachable, j.reason
    assert [leg.line_id for leg in j.boat_legs] == ["ab"]


def test_nearest_attachment_is_kept_when_the_ends_already_differ():
    model = _model(_line("ab", ("Oeste", -73.745), ("Este", -73.70)))
    names = [model.network.land_name(a) for a in model.terminals.anchor]
    assert sorted(names) == ["Chica", "Grande"]
    assert model.terminals.access_m.max() == 0


def test_a_line_with_both_ends_deep_in_one_island_is_refused_with_its_reason():
    # both ends 6+ km inside the small island: no other coast within 3 km
    model = _model(_line("mal", ("Rampa Uno", -73.66), ("Rampa Dos", -73.60)))
    assert model.links == ()
    note = next(n for n in model.notes if n.startswith("línea "))
    assert "Línea mal (mal)" in note
    assert "Rampa Uno y Rampa Dos" in note
    assert "misma masa de tierra (Chica)" in note
    assert "Corrija las coordenadas" in note
    assert model.network.line_problems(model.timetable) == [note]


def test_a_good_line_is_kept_next_to_a_refused_one():
    text = _line("ab", ("Muelle Oeste", -73.737), ("Muelle Este", -73.70)) + _line(
        "mal", ("Rampa Uno", -73.66), ("Rampa Dos", -73.60), lat=-42.60
    )
    model = _model(text)
    assert {lk.line_id for lk in model.links} == {"ab"}
    assert len(model.network.line_problems(model.timetable)) == 1
