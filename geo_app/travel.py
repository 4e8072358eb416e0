"""Travel models for the app and the CLI: the territory's approximate network or a built one."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from layers.territory import MAX_OFFSHORE_M
from layers.territory import Territory
from layers.territory import place_names
from routing.approximate import ApproximateNetwork
from routing.approximate import ApproxParams
from routing.model import TravelModel
from routing.network import load_network
from routing.network import load_places
from routing.network import load_streets

log = logging.getLogger(__name__)

__all__ = [
    "app_model",
    "load_app_network",
    "network_dir",
    "resolve_network",
    "territory_model",
]


def territory_model(territory: Territory, params: ApproxParams | None = None) -> TravelModel:
    """Approximate travel model of the territory: islands, urban zones and the boat timetable.

    Boat terminals on no island (the mainland ramps) become outposts named after
    the terminal.
    """
    params = params or ApproxParams(max_offshore_m=MAX_OFFSHORE_M)
    islands = territory.islands.to_crs(4326)
    landmasses = list(zip(islands["name"], islands.geometry, strict=True))
    urban = list(territory.urban_zones.to_crs(4326).geometry)
    terminals = [
        terminal
        for s in territory.timetable.services
        for terminal in (
            (s.origin, s.origin_lon, s.origin_lat),
            (s.destination, s.destination_lon, s.destination_lat),
        )
    ]
    network = ApproximateNetwork(landmasses, urban, terminals=terminals, params=params)
    return TravelModel(
        network,
        territory.timetable,
        name="chiloe-aproximada",
        approximate=True,
        places=place_names(territory),
        source=(
            "polígonos comunales (chilemapas/INE), zonas urbanas Censo 2017 y horario de barcos "
            f"de {territory.data_dir.name}; distancia en línea recta × {params.circuity:g}, "
            f"{params.rural_kmh:g} km/h rural, {params.urban_kmh:g} km/h urbano, "
            f"{params.walk_kmh:g} km/h a pie (supuestos)"
        ),
    )


def network_dir(instance_path: str | Path) -> Path:
    """Folder of built networks: $REVINCULA_NETWORK_DIR or ``redes`` in the instance folder."""
    if os.environ.get("REVINCULA_NETWORK_DIR"):
        return Path(os.environ["REVINCULA_NETWORK_DIR"])
    return Path(instance_path) / "redes"


def resolve_network(name_or_path: str, network_dir: Path) -> Path:
    """Return the network file for a path, or for a name built into `network_dir`."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    matches = sorted(
        Path(network_dir).glob(f"{name_or_path}-*.npz"), key=lambda p: p.stat().st_mtime
    )
    if matches:
        return matches[-1]
    return path  # load_network reports that it does not exist


def load_model(network: str | None, territory: Territory, network_dir: Path) -> TravelModel:
    """Return the model named by ``--network``, or the territory's approximate model."""
    if not network:
        return territory_model(territory)
    return load_network(resolve_network(network, network_dir))


def load_app_network(app) -> None:
    """Load the built network named by the ``NETWORK`` setting, its named streets and places.

    Called at start-up so that a missing or stale network stops the app with the
    reason, instead of failing on the first plan.
    """
    path = resolve_network(app.config["NETWORK"], network_dir(app.instance_path))
    model = load_network(path)
    streets = load_streets(path)
    app.extensions["revincula.travel"] = model
    app.extensions["revincula.streets"] = streets
    app.extensions["revincula.osm_places"] = load_places(path)
    log.info("network %s loaded: %d named streets for geocoding", path.name, len(streets))


def app_model(app) -> TravelModel:
    """Return the app's travel model, built once.

    The built network of the ``NETWORK`` setting when there is one (loaded at
    start-up), else the territory's approximate network.
    """
    model = app.extensions.get("revincula.travel")
    if model is None:
        model = territory_model(app.extensions["revincula.territory"])
        app.extensions["revincula.travel"] = model
    return model
