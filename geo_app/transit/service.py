"""What the «Transporte» page and ``revincula transit`` ask for: import, enter, export.

Plain arguments, no Flask. GTFS zips are validated whole by
`routing.gtfs.read_gtfs` (every problem listed in Spanish, nothing stored if
any); entered lines by `routing.lines.parse_lines`, and replace the previous
tables only when both tables are valid and nobody changed them meanwhile.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import tempfile
import unicodedata
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.errors import ConflictError
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.store.models import TransitFeedRow
from geo_app.store.models import TransitLineRow
from geo_app.store.models import TransitStopRow
from geo_app.travel import ENTERED_LINES
from geo_app.travel import lines_tables
from geo_app.travel import stored_feeds
from layers.territory import Territory
from routing import RoutingInputError
from routing.gtfs import TransitFeed
from routing.gtfs import disjoint_ids
from routing.gtfs import read_gtfs
from routing.gtfs import timetable_feed
from routing.gtfs import write_gtfs
from routing.lines import LINE_COLUMNS
from routing.lines import STOP_COLUMNS
from routing.lines import parse_lines
from routing.transit import NO_TRANSIT_REASON

__all__ = [
    "export_feed",
    "feed_name",
    "import_feed",
    "lines_version",
    "remove_feed",
    "save_lines",
    "territory_box",
    "transit_page",
]

# Stops may lie this far (degrees) outside the comunas' bounding box: piers, islets.
BOX_MARGIN_DEG = 0.05


def territory_box(territory: Territory) -> tuple[float, float, float, float]:
    """Where a feed's stops may lie: the comunas' WGS84 bounding box plus `BOX_MARGIN_DEG`."""
    west, south, east, north = territory.comunas.to_crs(4326).total_bounds
    m = BOX_MARGIN_DEG
    return (float(west) - m, float(south) - m, float(east) + m, float(north) + m)


def feed_name(filename: str) -> str:
    """Return the identifier of a feed from its file name: lower-case ASCII, digits, dashes."""
    stem = Path(filename or "gtfs").stem
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:60] or "gtfs"
    return "gtfs" if name in {ENTERED_LINES, "barcos"} else name


def import_feed(
    session: Session,
    data: bytes,
    filename: str,
    *,
    territory: Territory,
    source: str = "",
    actor: str = "",
    replace: bool = False,
    synthetic: bool = False,
) -> TransitFeedRow:
    """Validate a GTFS zip whole and store it with its provenance.

    Parameters
    ----------
    data, filename
        The zip as uploaded and its file name (the feed's name comes from it).
    source
        Provenance typed by the user (publisher, date, licence); default the file name.
    replace
        Replace a stored feed of the same name (otherwise refused).

    Raises
    ------
    InvalidRequestError
        Empty file, a feed of that name already stored, or a feed that does not
        validate (every problem listed, nothing stored).
    """
    if not data:
        msg = "El archivo está vacío: elija el .zip del GTFS."
        raise InvalidRequestError(msg)
    name = feed_name(filename)
    existing = session.scalar(select(TransitFeedRow).where(TransitFeedRow.name == name))
    if existing is not None and not replace:
        msg = (
            f"Ya hay un horario llamado {name!r} (importado el "
            f"{existing.imported_at:%d-%m-%Y}). Marque «reemplazar» (o use --reemplazar) "
            "para cambiarlo, o cambie el nombre del archivo."
        )
        raise InvalidRequestError(msg)
    source = source.strip() or f"GTFS {Path(filename).name}"
    with tempfile.TemporaryDirectory(prefix="revincula-gtfs-") as folder:
        # under the name the user chose, so the messages name the file they uploaded
        path = Path(folder) / _upload_name(filename, name)
        path.write_bytes(data)
        try:
            feed = read_gtfs(path, name=name, territory=territory_box(territory), source=source)
        except RoutingInputError as err:
            raise InvalidRequestError(str(err)) from err
    if existing is not None:
        session.delete(existing)
        session.flush()
    row = TransitFeedRow(
        name=name,
        filename=Path(filename).name[:200],
        source=source[:500],
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        content=data,
        summary=feed.summary(),
        imported_by=actor,
        synthetic=synthetic,
    )
    session.add(row)
    session.flush()
    return row


def _upload_name(filename: str, name: str) -> str:
    """Return a safe file name for an upload: its own base name, or ``<name>.zip``."""
    base = re.sub(r"[\x00-\x1f/\\]", "_", Path(filename or "").name)[:120]
    return base if base.strip(". ") else f"{name}.zip"


def remove_feed(session: Session, name: str) -> None:
    """Delete a stored GTFS feed.

    Raises
    ------
    NotFoundError
        No feed of that name.
    """
    row = session.scalar(select(TransitFeedRow).where(TransitFeedRow.name == name))
    if row is None:
        msg = f"No hay un horario importado llamado {name!r}."
        raise NotFoundError(msg)
    session.delete(row)


def lines_version(session: Session) -> str:
    """Short fingerprint of the stored entered lines (the form sends it back)."""
    return hashlib.sha256("\x00".join(lines_tables(session)).encode()).hexdigest()[:16]


def save_lines(
    session: Session,
    stops_csv: str,
    lines_csv: str,
    *,
    version: str,
    actor: str = "",
    synthetic: bool = False,
) -> TransitFeed | None:
    """Replace the entered stops and lines with the two CSV tables, all or nothing.

    Columns are those of `routing.lines` (`STOP_COLUMNS`, `LINE_COLUMNS`);
    every value needs its source or ``supuesto``. Two empty tables (headers
    only) remove every entered line. `version` is `lines_version` as the form
    was opened; ``"*"`` skips the check (CLI, demo).

    Returns
    -------
    TransitFeed or None
        The entered lines as a feed, None when they were all removed.

    Raises
    ------
    ConflictError
        Someone saved the lines after the form was opened.
    InvalidRequestError
        Every problem of both tables, in Spanish; nothing changed.
    """
    if version != "*" and version != lines_version(session):
        msg = (
            "Otra persona guardó las líneas mientras usted las editaba: no se guardó nada. "
            "Vuelva a abrir la página y repita sus cambios."
        )
        raise ConflictError(msg)
    stops_csv = (stops_csv or "").replace("\r\n", "\n").strip() + "\n"
    lines_csv = (lines_csv or "").replace("\r\n", "\n").strip() + "\n"
    try:
        feed = parse_lines(stops_csv, lines_csv, name=ENTERED_LINES)
    except RoutingInputError as err:
        raise InvalidRequestError(str(err)) from err
    stop_rows = list(csv.DictReader(io.StringIO(stops_csv)))
    line_rows = list(csv.DictReader(io.StringIO(lines_csv)))
    session.execute(delete(TransitLineRow))
    session.execute(delete(TransitStopRow))
    for row in stop_rows:
        session.add(
            TransitStopRow(
                stop_id=row["parada_id"].strip(),
                name=row["nombre"].strip(),
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                location_source=row["ubicacion_fuente"].strip(),
                synthetic=synthetic,
            )
        )
    for position, row in enumerate(line_rows):
        values = {c: (row.get(c) or "").strip() for c in LINE_COLUMNS}
        session.add(
            TransitLineRow(
                service_id=values["servicio_id"],
                line_id=values["linea_id"],
                position=position,
                values=values,
                updated_by=actor,
                synthetic=synthetic,
            )
        )
    session.flush()
    return feed if line_rows else None


def export_feed(
    session: Session,
    territory: Territory,
    path: str | Path,
    *,
    valid_from: dt.date,
    valid_to: dt.date,
) -> dict:
    """Write the territory's boats, the entered lines and the imported GTFS as one GTFS zip.

    The boat timetable and the entered lines have days of the week, no dates:
    their calendars run from `valid_from` to `valid_to`. The imported feeds keep
    their own dates, and their ids are prefixed with ``"<feed name>:"`` where
    they clash with those of the boats, the entered lines or an earlier feed
    (`routing.gtfs.disjoint_ids`), so the file re-imports to the same journeys.
    Each value's source goes to ``revincula_fuentes.txt`` (an imported line's
    is its feed's) and assumed lines carry ``revincula_supuesto=1`` (see
    `routing.gtfs.write_gtfs`). Returns the counts of what was written.

    Raises
    ------
    InvalidRequestError
        Bad dates, or an entered id that clashes with a boat's.
    """
    boats = timetable_feed(territory.timetable, source="horario de barcos del territorio")
    stored = stored_feeds(session)
    entered = [f for f in stored if f.name == ENTERED_LINES]
    imported = [f for f in stored if f.name != ENTERED_LINES]
    feeds = disjoint_ids([boats, *entered, *imported], {f.name for f in imported})
    try:
        write_gtfs(feeds, path, valid_from=valid_from, valid_to=valid_to)
    except RoutingInputError as err:
        raise InvalidRequestError(str(err)) from err
    return {
        "lineas_barco": len(boats.routes),
        "lineas_ingresadas": len(entered[0].routes) if entered else 0,
        "gtfs_importados": [f.name for f in imported],
        "lineas_importadas": sum(len(f.routes) for f in imported),
        "viajes": sum(len(f.trips) for f in feeds),
        "paradas": sum(len(f.stops) for f in feeds),
    }


def _table(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return (rows[0], rows[1:]) if rows else ([], [])


def transit_page(session: Session, transit) -> dict:
    """Return the «Transporte» page variables: feeds, entered lines, the mode's state.

    `transit` is the current `TransitModel` or None (the mode is unavailable).
    """
    feeds = session.scalars(select(TransitFeedRow).order_by(TransitFeedRow.name)).all()
    stops_csv, lines_csv = lines_tables(session)
    stop_header, stop_rows = _table(stops_csv)
    line_header, line_rows = _table(lines_csv)
    return {
        "feeds": feeds,
        "stops_csv": stops_csv,
        "lines_csv": lines_csv,
        "stop_header": stop_header,
        "stop_rows": stop_rows,
        "line_header": line_header,
        "line_rows": line_rows,
        "version": lines_version(session),
        "available": transit is not None,
        "reason": NO_TRANSIT_REASON if transit is None else "",
        "info": transit.info()["transporte_publico"] if transit is not None else None,
        "stops_geo": [
            {
                "id": row[0],
                "nombre": row[1],
                "lat": float(row[2]),
                "lon": float(row[3]),
                "supuesto": row[4].strip().lower().startswith("supuesto"),
            }
            for row in stop_rows
        ],
        "stop_columns": STOP_COLUMNS,
        "line_columns": LINE_COLUMNS,
    }
