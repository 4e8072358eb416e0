"""Public transport over a street network: the hand-built two islands of `tests.routing.handbuilt`.

Island A: nodes 0 - 1 - 2 (pier A at node 2), island B: nodes 3 - 4; 1,000 m edges,
800 s on foot. Lancha A -> B at 08:10 (10 min), ferry at 08:00, 09:00, 10:00 (30 min),
boarding margin 0. An entered bus line on island A: node 0 -> node 2 at 07:50 (5 min).
"""

from __future__ import annotations

import numpy as np
import pytest

from routing.lines import parse_lines
from routing.transit import TransitModel
from tests.routing.handbuilt import NODES
from tests.routing.handbuilt import at
from tests.routing.handbuilt import build_model
from tests.routing.handbuilt import node

STOPS = (
    "parada_id,nombre,lat,lon,ubicacion_fuente\n"
    f"A0,Cruce A0,0.0,{NODES[0]},prueba\nA2,Muelle A,0.0,{NODES[2]},prueba\n"
)
LINES = (
    "servicio_id,linea_id,linea,tipo,tipo_fuente,paradas,tiempos_min,tiempos_fuente,dias,"
    "dias_fuente,frecuencia_min,frecuencia_fuente,primera_salida,primera_salida_fuente,"
    "ultima_salida,ultima_salida_fuente,salidas,salidas_fuente,nota\n"
    'b1,B1,Bus A,bus,prueba,A0 A2,0 5,prueba,"lu,ma,mi,ju,vi",prueba,,,,,,,07:50,prueba,\n'
)


@pytest.fixture(scope="module")
def transit():
    return TransitModel(build_model(), [parse_lines(STOPS, LINES)])


def test_bus_to_the_pier_catches_the_lancha(transit):
    j = transit.journey(node(0), node(4), at("07:45"))
    # bus 07:50-07:55 to node 2 (the pier), lancha 08:10-08:20, walk 3 -> 4 800 s: 08:33:20
    assert [leg.kind for leg in j.legs] == ["espera", "bus", "espera", "barco", "caminar"]
    assert j.arrive_at == at("08:33:20")
    # on foot only: 0 -> 2 is 1,600 s (08:11:40), the lancha is gone: ferry 09:00, 09:43:20
    walking = build_model().journey(node(0), node(4), at("07:45"), on_foot=True)
    assert walking.arrive_at == at("09:43:20")


def test_matrix_on_streets_matches_journeys(transit):
    places = transit.snap(np.array(NODES), np.zeros(5))
    matrix = transit.matrix_array(places, places, at("07:45"))
    for i in range(5):
        for k in range(5):
            expected = transit.journey(node(i), node(k), at("07:45")).travel_time_s
            assert matrix[i, k] == pytest.approx(expected, abs=0.01, nan_ok=True) or (
                np.isnan(expected) and np.isinf(matrix[i, k])
            )
