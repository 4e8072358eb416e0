"""Travel models for the app and the CLI: the territory's approximate network or a built one."""

from __future__ import annotations

from pathlib import Path

from layers.territory import MAX_OFFSHORE_M
from layers.territory import Territory
from layers.territory import place_names
from routing.approximate import ApproximateNetwork
from routing.approximate import ApproxParams
from routing.model import TravelModel
from routing.network import load_network

__all__ = ["app_model", "resolve_network", "territory_model"]


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


def app_model(app) -> TravelModel:
    """Return the app's travel model, built once: the territory's approximate network."""
    model = app.extensions.get("revincula.travel")
    if model is None:
        model = territory_model(app.extensions["revincula.territory"])
        app.extensions["revincula.travel"] = model
    return model
