"""Travel models for the app and the CLI: the territory's approximate network or a built one."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import tempfile
import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.store.models import TransitFeedRow
from geo_app.store.models import TransitLineRow
from geo_app.store.models import TransitStopRow
from layers.territory import MAX_OFFSHORE_M
from layers.territory import Territory
from layers.territory import place_names
from routing.approximate import ApproximateNetwork
from routing.approximate import ApproxParams
from routing.gtfs import TransitFeed
from routing.gtfs import read_gtfs
from routing.lines import LINE_COLUMNS
from routing.lines import STOP_COLUMNS
from routing.lines import parse_lines
from routing.model import TravelModel
from routing.network import load_network
from routing.network import load_places
from routing.network import load_streets
from routing.transit import NO_TRANSIT_REASON
from routing.transit import TransitModel
from routing.transit import TransitParams
from routing.transit import TransitUnavailableError

log = logging.getLogger(__name__)

__all__ = [
    "ENTERED_LINES",
    "app_model",
    "lines_tables",
    "load_app_network",
    "mode_model",
    "network_dir",
    "planning_model",
    "resolve_network",
    "stored_feeds",
    "territory_model",
    "transit_model",
    "transit_or_none",
    "transit_params",
]

# Name of the feed made of the lines entered by hand (the GTFS imports keep their own names).
ENTERED_LINES = "lineas-ingresadas"
_TRANSIT_LOCK = threading.Lock()


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


# -- public transport: stored feeds and entered lines ----------------------------
def _csv(columns, rows) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def lines_tables(session: Session) -> tuple[str, str]:
    """Return the entered stops and lines as the two CSV texts of `routing.lines`.

    Columns are `routing.lines.STOP_COLUMNS` and `routing.lines.LINE_COLUMNS`;
    lines keep the order they were entered in.
    """
    stops = session.scalars(select(TransitStopRow).order_by(TransitStopRow.stop_id)).all()
    lines = session.scalars(
        select(TransitLineRow).order_by(TransitLineRow.position, TransitLineRow.id)
    ).all()
    stop_rows = [
        {
            "parada_id": s.stop_id,
            "nombre": s.name,
            "lat": repr(s.lat),
            "lon": repr(s.lon),
            "ubicacion_fuente": s.location_source,
        }
        for s in stops
    ]
    line_rows = [{c: (row.values or {}).get(c, "") for c in LINE_COLUMNS} for row in lines]
    return _csv(STOP_COLUMNS, stop_rows), _csv(LINE_COLUMNS, line_rows)


def _entered_feed(session: Session) -> TransitFeed | None:
    if session.scalar(select(TransitLineRow.id).limit(1)) is None:
        return None
    stops, lines = lines_tables(session)
    return parse_lines(stops, lines, name=ENTERED_LINES, source="líneas ingresadas en Revincula")


def _gtfs_feed(row: TransitFeedRow) -> TransitFeed:
    with tempfile.TemporaryDirectory(prefix="revincula-gtfs-") as folder:
        path = Path(folder) / f"{row.name}.zip"
        path.write_bytes(row.content)
        return read_gtfs(path, name=row.name, source=row.source)


def stored_feeds(session: Session) -> list[TransitFeed]:
    """Return every stored timetable: the imported GTFS feeds, then the entered lines.

    They were validated when stored; reading them again raises
    `routing.RoutingInputError` only if the stored data were edited by hand.
    """
    rows = session.scalars(select(TransitFeedRow).order_by(TransitFeedRow.name)).all()
    feeds = [_gtfs_feed(row) for row in rows]
    entered = _entered_feed(session)
    return [*feeds, entered] if entered is not None else feeds


def _stored_key(session: Session) -> tuple:
    """Return what identifies the stored timetables (changes on every import or edit)."""
    feeds = tuple(
        session.execute(
            select(TransitFeedRow.id, TransitFeedRow.sha256, TransitFeedRow.source)
        ).all()
    )
    digest = hashlib.sha256("\x00".join(lines_tables(session)).encode()).hexdigest()
    return (feeds, digest)


def transit_params(config) -> TransitParams:
    """Return the walking limits and margins of «transporte público» from the settings."""
    return TransitParams(
        max_walk_min=float(config["TRANSIT_MAX_WALK_MIN"]),
        max_transfer_walk_min=float(config["TRANSIT_MAX_TRANSFER_WALK_MIN"]),
        transfer_slack_min=float(config["TRANSIT_TRANSFER_SLACK_MIN"]),
    )


def transit_model(app, model: TravelModel | None = None) -> TransitModel:
    """Return the public transport model of the stored feeds and entered lines.

    This is what every screen and job uses for the mode «transporte público»
    (journeys, planning of gestores without a vehicle, coverage). It joins
    `model` (default: `app_model`) with every stored timetable and the
    territory's boats, and is rebuilt only when a timetable is imported,
    edited or removed.

    Raises
    ------
    TransitUnavailableError
        No bus, colectivo or train timetable is stored (`routing.transit.NO_TRANSIT_REASON`).
    """
    model = model or app_model(app)
    with app.extensions["revincula.db"]() as session:
        key = (id(model), _stored_key(session))
        with _TRANSIT_LOCK:
            cached = app.extensions.get("revincula.transit")
            if cached is not None and cached[0] == key:
                if cached[1] is None:
                    raise TransitUnavailableError(NO_TRANSIT_REASON)
                return cached[1]
            feeds = stored_feeds(session)
            try:
                built = TransitModel(model, feeds, params=transit_params(app.config))
            except TransitUnavailableError:
                app.extensions["revincula.transit"] = (key, None)
                raise
            app.extensions["revincula.transit"] = (key, built)
            return built


def transit_or_none(app, model: TravelModel | None = None) -> TransitModel | None:
    """`transit_model`, or None when the mode is unavailable (screens then show why)."""
    try:
        return transit_model(app, model)
    except TransitUnavailableError:
        return None


def mode_model(app, mode: str):
    """Return the model answering the travel mode `mode` and the ``on_foot`` flag to pass.

    `mode` is a key of `routing.transit.MODES`: ``vehiculo`` and ``a_pie`` use
    `app_model`; ``transporte_publico`` uses `transit_model`.

    Raises
    ------
    TransitUnavailableError
        ``transporte_publico`` without any stored bus or colectivo timetable.
    routing.RoutingInputError
        An unknown mode.
    """
    from routing import RoutingInputError
    from routing.transit import MODES

    if mode not in MODES:
        msg = f"Modo de viaje {mode!r} desconocido; use {', '.join(MODES)}."
        raise RoutingInputError(msg)
    if mode == "transporte_publico":
        return transit_model(app), True
    return app_model(app), mode == "a_pie"


def planning_model(app):
    """Model for weekly plans: with public transport when a timetable is stored.

    A `TransitModel` answers gestores with a vehicle exactly as `app_model`
    does, and those without one with walking, buses, colectivos and boats;
    with no bus or colectivo timetable stored, gestores without a vehicle walk
    and take boats (the model is `app_model`).
    """
    return transit_or_none(app) or app_model(app)
