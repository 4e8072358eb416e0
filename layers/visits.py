"""Visit records as a field team sends them: the taxonomy and the check of one record (pure).

The outcomes, barriers and proof-of-visit thresholds are versioned data
(``layers/rules/visitas_2026.toml``, its ``source`` names where they come
from). `check_record` turns one JSON object sent by a phone into a clean
`VisitInput`, or raises `VisitRecordError` with the reason in Spanish; the
store (``geo_app.field.visits``) decides about the case and the account.

Times: the phone sends ISO 8601 with an offset (``...Z`` from
``Date.toISOString()``); they are kept timezone-aware (UTC) and shown in
America/Santiago, daylight-saving changes included. Points are WGS84
longitude/latitude in degrees; accuracy and distances are metres.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
import uuid as uuidlib
from dataclasses import dataclass
from dataclasses import field
from functools import cache
from pathlib import Path

from layers.gazetteer import GOOD_GPS_M
from layers.services import SERVICE_TYPES

__all__ = [
    "VISIT_RULES",
    "VisitInput",
    "VisitRecordError",
    "VisitRules",
    "check_record",
    "distance_m",
    "load_visit_rules",
    "proposes_place",
]

RULES_DIR = Path(__file__).resolve().parent / "rules"
VISIT_RULES = "visitas_2026.toml"
MAX_TEXT = 2000


class VisitRecordError(ValueError):
    """One record cannot be stored; the message (Spanish) says why and how to fix it."""


@dataclass(frozen=True)
class VisitRules:
    """The taxonomy of one version: outcomes, barriers and proof-of-visit thresholds."""

    version: str
    source: str
    outcomes: dict[str, tuple[str, bool, str]]  # key -> (label, contact made, kind)
    barriers: dict[str, tuple[str, str]]  # key -> (label, group)
    far_m: float
    max_accuracy_m: float
    future_tolerance: dt.timedelta

    def as_json(self) -> dict:
        """Return the taxonomy as the phone's form needs it (labels in order)."""
        return {
            "version": self.version,
            "resultados": [
                {"clave": k, "etiqueta": v[0], "contacto": v[1], "tipo": v[2]}
                for k, v in self.outcomes.items()
            ],
            "barreras": [
                {"clave": k, "etiqueta": v[0], "grupo": v[1]} for k, v in self.barriers.items()
            ],
            "servicios": [{"clave": k, "etiqueta": v[0]} for k, v in SERVICE_TYPES.items()],
        }


@cache
def load_visit_rules(name: str = VISIT_RULES) -> VisitRules:
    """Read a taxonomy file from ``layers/rules`` (cached).

    Raises
    ------
    ValueError
        The file lacks a version, or an entry is not ``[label, ...]``.
    """
    with (RULES_DIR / name).open("rb") as handle:
        data = tomllib.load(handle)
    if not data.get("version"):
        msg = f"{name}: falta 'version'"
        raise ValueError(msg)
    outcomes = {k: (str(v[0]), bool(v[1]), str(v[2])) for k, v in data["outcomes"].items()}
    barriers = {k: (str(v[0]), str(v[1])) for k, v in data["barriers"].items()}
    proof = data["proof"]
    return VisitRules(
        version=data["version"],
        source=data.get("source", ""),
        outcomes=outcomes,
        barriers=barriers,
        far_m=float(proof["far_m"]),
        max_accuracy_m=float(proof["max_accuracy_m"]),
        future_tolerance=dt.timedelta(minutes=float(proof["future_tolerance_min"])),
    )


@dataclass(frozen=True)
class VisitInput:
    """One checked record (not yet matched against the store).

    ``lon``/``lat`` are WGS84 degrees or None (the gestor declined the
    location); ``accuracy_m`` is the phone's reported accuracy (metres) or None.
    """

    uuid: str
    case_id: int
    account: str
    outcome: str
    device_at: dt.datetime
    contacted: str = ""
    barriers: tuple[str, ...] = ()
    referral: dict = field(default_factory=dict)
    agreement: str = ""
    next_step: str = ""
    next_date: dt.date | None = None
    note: str = ""
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    corrects: str | None = None


def canonical_uuid(value: object) -> str:
    """Return `value` as a lower-case hyphenated UUID.

    Raises
    ------
    VisitRecordError
        Not a UUID.
    """
    if not isinstance(value, str) or len(value) > 64:
        msg = "Identificador (UUID) ausente o mal formado: el teléfono debe generar uno."
        raise VisitRecordError(msg)
    try:
        return str(uuidlib.UUID(value.strip()))
    except ValueError as err:
        msg = f"Identificador «{value[:40]}» mal formado: no es un UUID."
        raise VisitRecordError(msg) from err


def _text(raw: dict, key: str, label: str) -> str:
    value = raw.get(key) or ""
    if not isinstance(value, str):
        msg = f"{label} debe ser texto."
        raise VisitRecordError(msg)
    if len(value) > MAX_TEXT:
        msg = f"{label} supera {MAX_TEXT} caracteres: acórtelo."
        raise VisitRecordError(msg)
    return value.strip()


def _number(value: object, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{label} no es un número."
        raise VisitRecordError(msg)
    return float(value)


def _point(raw: object) -> tuple[float | None, float | None, float | None]:
    """``{"lat", "lon", "precision"}`` or None -> (lon, lat, accuracy)."""
    if raw is None:
        return None, None, None
    if not isinstance(raw, dict) or "lat" not in raw or "lon" not in raw:
        msg = "El punto GPS no es un punto: se esperaba {lat, lon, precision}."
        raise VisitRecordError(msg)
    lat, lon = _number(raw["lat"], "La latitud GPS"), _number(raw["lon"], "La longitud GPS")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        msg = f"El punto GPS ({lat}, {lon}) está fuera del rango de coordenadas."
        raise VisitRecordError(msg)
    accuracy = raw.get("precision")
    accuracy = None if accuracy is None else _number(accuracy, "La precisión GPS")
    if accuracy is not None and accuracy < 0:
        accuracy = None
    return lon, lat, accuracy


def _device_time(value: object) -> dt.datetime:
    if not isinstance(value, str):
        msg = "Falta la hora del teléfono (momento_dispositivo, ISO 8601)."
        raise VisitRecordError(msg)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        msg = f"Hora del teléfono «{value[:40]}» ilegible: use ISO 8601 con zona."
        raise VisitRecordError(msg) from err
    if moment.tzinfo is None:
        msg = "La hora del teléfono no indica la zona horaria (use ...Z o -03:00)."
        raise VisitRecordError(msg)
    return moment.astimezone(dt.UTC)


def _referral(raw: object) -> dict:
    if not raw:
        return {}
    if not isinstance(raw, dict):
        msg = "La derivación debe indicar tipo de servicio y/o nombre."
        raise VisitRecordError(msg)
    kind = raw.get("tipo") or ""
    if kind and kind not in SERVICE_TYPES:
        msg = f"Tipo de servicio «{str(kind)[:40]}» desconocido en la lista de servicios."
        raise VisitRecordError(msg)
    name = _text(raw, "nombre", "El nombre del servicio")
    if not kind and not name:
        return {}
    return {"tipo": kind, "nombre": name}


def check_record(raw: object, rules: VisitRules | None = None) -> VisitInput:
    """Check one record as sent by the phone and return it clean.

    Fields (Spanish, as the phone sends them): ``uuid``, ``caso`` (case id),
    ``cuenta`` (user name of the account that recorded it), ``resultado``,
    ``contactado``, ``barreras`` (list), ``derivacion`` ({tipo, nombre}),
    ``acuerdo``, ``proximo_paso``, ``fecha_proximo`` (ISO date), ``nota``,
    ``gps`` ({lat, lon, precision} or null), ``momento_dispositivo`` (ISO
    8601 with zone), ``corrige`` (UUID of the record it corrects, or null).

    Raises
    ------
    VisitRecordError
        The first thing wrong, in Spanish.
    """
    rules = rules or load_visit_rules()
    if not isinstance(raw, dict):
        msg = "Cada registro debe ser un objeto JSON."
        raise VisitRecordError(msg)
    uuid = canonical_uuid(raw.get("uuid"))
    case = raw.get("caso")
    if isinstance(case, str) and case.strip().isdigit():
        case = int(case)
    if isinstance(case, bool) or not isinstance(case, int) or case <= 0:
        msg = "Falta el caso o no es un número de caso."
        raise VisitRecordError(msg)
    outcome = raw.get("resultado")
    if outcome not in rules.outcomes:
        msg = f"Resultado «{str(outcome)[:40]}» no está en la lista ({rules.version})."
        raise VisitRecordError(msg)
    barriers = raw.get("barreras") or []
    if not isinstance(barriers, list):
        msg = "Las barreras deben ser una lista."
        raise VisitRecordError(msg)
    unknown = [str(b)[:40] for b in barriers if b not in rules.barriers]
    if unknown:
        msg = f"Barrera «{unknown[0]}» no está en la taxonomía ({rules.version})."
        raise VisitRecordError(msg)
    next_raw = raw.get("fecha_proximo") or None
    try:
        next_date = dt.date.fromisoformat(next_raw) if next_raw else None
    except (TypeError, ValueError) as err:
        msg = f"Fecha del próximo paso «{str(next_raw)[:20]}» inválida: use AAAA-MM-DD."
        raise VisitRecordError(msg) from err
    corrects = raw.get("corrige")
    lon, lat, accuracy = _point(raw.get("gps"))
    return VisitInput(
        uuid=uuid,
        case_id=case,
        account=_text(raw, "cuenta", "La cuenta"),
        outcome=outcome,
        device_at=_device_time(raw.get("momento_dispositivo")),
        contacted=_text(raw, "contactado", "Quién fue contactado")[:200],
        barriers=tuple(dict.fromkeys(barriers)),
        referral=_referral(raw.get("derivacion")),
        agreement=_text(raw, "acuerdo", "El acuerdo"),
        next_step=_text(raw, "proximo_paso", "El próximo paso"),
        next_date=next_date,
        note=_text(raw, "nota", "La nota"),
        lon=lon,
        lat=lat,
        accuracy_m=accuracy,
        corrects=canonical_uuid(corrects) if corrects else None,
    )


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))


def proposes_place(
    rules: VisitRules, outcome: str, lon: float | None, accuracy_m: float | None
) -> bool:
    """Whether a visit's GPS fix may propose where the sector of the home is.

    True when the gestor met someone at the home (an outcome with contact
    made, not a wrong address nor a move: the phone then stood at the home)
    and the fix reports an accuracy of `layers.gazetteer.GOOD_GPS_M` metres or
    better; a fix with no accuracy never does. The proposal is only that: a
    profesional accepts or discards it on the places page.
    """
    label_contact_kind = rules.outcomes.get(outcome)
    if label_contact_kind is None or lon is None or accuracy_m is None:
        return False
    _, contact, kind = label_contact_kind
    return contact and kind != "ubicacion" and accuracy_m <= GOOD_GPS_M
