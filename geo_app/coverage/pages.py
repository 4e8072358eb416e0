"""Assemble the coverage pages from plain arguments (no Flask): form, run, what-if, services."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from geo_app.coverage import service
from geo_app.coverage import services as store
from geo_app.coverage.runs import RunParams
from geo_app.coverage.runs import create_run
from geo_app.errors import ConflictError
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.scope import Scope
from geo_app.store.models import CoverageRun
from geo_app.store.models import CoverageScenario
from layers.coverage import DEFAULT_BANDS_MIN
from layers.coverage import AddedDeparture
from layers.coverage import AddedService
from layers.coverage import Scenario
from layers.coverage import band_labels
from layers.intake import IntakeError
from layers.services import SERVICE_TYPES
from routing.transit import MODES
from routing.transit import NO_TRANSIT_REASON
from routing.transit import mode_options

__all__ = [
    "change_service",
    "compare_page",
    "coverage_page",
    "default_mode",
    "departure_links",
    "edit_service_form",
    "import_upload",
    "run_json",
    "run_services",
    "save_service_edit",
    "services_page",
    "start_run",
    "start_whatif",
]


def _modes(app) -> list[dict]:
    """Travel modes of the form (`routing.transit.mode_options`).

    «Transporte público» is offered when a bus or colectivo timetable is stored;
    otherwise it is shown disabled with `routing.transit.NO_TRANSIT_REASON`.
    """
    from geo_app.travel import transit_or_none

    options = mode_options(transit_or_none(app) if app is not None else None)
    for option in options:
        if option["modo"] == "a_pie":
            option["etiqueta"] = "A pie y en lancha"
        if option["modo"] == "transporte_publico":
            option["etiqueta"] = "Transporte público (a pie, bus o colectivo y lancha)"
    return options


def default_mode(modes: list[dict]) -> str:
    """Return the families' default mode: public transport when a timetable is loaded."""
    transit = next(m for m in modes if m["modo"] == "transporte_publico")
    return "transporte_publico" if transit["disponible"] else "a_pie"


def coverage_page(
    session: Session, territory, app, scope: Scope, run_id: int | None, *, k: int, today: dt.date
) -> dict:
    """Context of /cobertura: the form, recent runs and, when asked, one run."""
    run = service.run_or_404(session, run_id) if run_id else None
    params = run.params if run else {}
    salida = params.get("salida", "")
    modes = _modes(app)
    context = {
        "types": [(key, label) for key, (label, _) in SERVICE_TYPES.items()],
        "modes": modes,
        "thresholds": DEFAULT_BANDS_MIN,
        "form": {
            "tipo": params.get("tipo", "posta"),
            "fecha": salida[:10] or service.next_tuesday(today).isoformat(),
            "hora": salida[11:16] or "08:00",
            "modo": service.run_mode(params) if run else default_mode(modes),
            "umbral": params.get("umbral", 60),
        },
        "recent": service.recent_runs(session),
        "scenarios": service.scenarios(session),
        "run": run,
        "payload": None,
        "k": k,
        "bands": band_labels(),
        "unlocated": [],
        "removable": [],
        "links": [],
    }
    if run is not None and run.job_state == "listo":
        from geo_app.travel import app_model

        context["links"] = departure_links(app_model(app).timetable)
        context["payload"] = service.run_payload(run, scope, k=k, territory=territory)
        services = store.registry(session, territory)
        context["unlocated"] = service.unlocated_services(services, run.params["tipo"])
        of_type = services[(services["service_type"] == run.params["tipo"]) & services["usable"]]
        context["removable"] = sorted(zip(of_type["service_id"], of_type["name"], strict=True),
                                      key=lambda p: p[1])  # fmt: skip
    return context


def start_run(session: Session, form: service.RunForm, *, actor: str, scenario: dict | None = None,
              scenario_id: int | None = None, app=None) -> int:  # fmt: skip
    """Check the form and store a run waiting for its job; return its id.

    With `app`, «transporte público» is refused when no timetable is stored
    (without it, the job fails with the same reason).

    Raises
    ------
    InvalidRequestError
        In Spanish, for a type, date, hour, mode or threshold that is not valid, or
        public transport with no timetable (`routing.transit.NO_TRANSIT_REASON`).
    """
    if form.modo not in MODES:
        msg = "Elija el modo: " + ", ".join(f"«{label}»" for label in MODES.values()) + "."
        raise InvalidRequestError(msg)
    if (
        app is not None
        and form.modo == "transporte_publico"
        and default_mode(_modes(app)) != "transporte_publico"
    ):
        raise InvalidRequestError(NO_TRANSIT_REASON)
    if not form.umbral.isdigit():
        msg = "El umbral debe ser 15, 30, 60 o 120 minutos."
        raise InvalidRequestError(msg)
    service.beyond_bands(int(form.umbral), band_labels())
    when = service.parse_departure(form.fecha, form.hora)
    try:
        params = RunParams.build(form.tipo, when, mode=form.modo,
                                 threshold=int(form.umbral),
                                 suggest=bool(form.sugerir))  # fmt: skip
    except ValueError as err:
        raise InvalidRequestError(str(err)) from err
    return create_run(session, params, actor=actor, scenario=scenario, scenario_id=scenario_id)


def _float(text: str, what: str) -> float:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        msg = f"{what} debe ser un número con punto decimal (ej. -42.48)."
        raise InvalidRequestError(msg) from None


def departure_links(timetable) -> list[tuple[str, str]]:
    """Boat links a departure can be added to: ``("line_id|origin", Spanish label)``, sorted."""
    seen = {}
    for boat in timetable.services:
        key = f"{boat.line_id}|{boat.origin}"
        seen.setdefault(key, f"{boat.line_name}: {boat.origin} → {boat.destination} "
                             f"({boat.summary()})")  # fmt: skip
    return sorted(seen.items(), key=lambda p: p[1])


def start_whatif(session: Session, territory, run_id: int, form, *, actor: str,
                 model=None) -> int:  # fmt: skip
    """Store a what-if run on top of run `run_id` (its parameters, plus the changes).

    The form may give ``agregar`` ("lat,lon", from a click or typed) with
    ``nombre``, ``dias``, ``abre`` and ``cierra`` (a service, or an itinerant
    round on some days and hours); ``quitar`` (service ids); ``salida_tramo``
    ("line_id|terminal") with ``salida_hora`` and ``salida_dias`` (an added
    boat departure, checked against `model`'s timetable); ``nombre_escenario``
    to save the scenario; or ``escenario`` (a saved scenario's id) to apply it.

    Raises
    ------
    InvalidRequestError
        In Spanish: nothing to change, a point that is not "lat,lon", a point
        at sea, hours that are not HH:MM, a boat link that does not exist
        (`layers.coverage.apply_scenario`'s checks), a name in use.
    """
    base = service.run_or_404(session, run_id)
    params = {k: v for k, v in base.params.items() if k != "escenario"}
    saved_id = form.get("escenario", "")
    scenario_id = None
    if saved_id:
        saved = session.get(CoverageScenario, int(saved_id)) if saved_id.isdigit() else None
        if saved is None:
            msg = "Ese escenario guardado no existe."
            raise NotFoundError(msg)
        spec, scenario_id = saved.spec, saved.id
    else:
        spec = _scenario_from_form(session, territory, form, params["tipo"], model).to_dict()
        name = form.get("nombre_escenario", "").strip()
        if name:
            if session.query(CoverageScenario).filter_by(name=name).first() is not None:
                msg = f"Ya existe un escenario llamado «{name}»; elija otro nombre."
                raise InvalidRequestError(msg)
            row = CoverageScenario(name=name[:120], spec=spec, created_by=actor)
            session.add(row)
            session.flush()
            scenario_id = row.id
    run_form = service.RunForm(
        tipo=params["tipo"],
        fecha=params["salida"][:10],
        hora=params["salida"][11:16],
        modo=service.run_mode(params),
        umbral=str(params.get("umbral", 60)),
    )
    return start_run(session, run_form, actor=actor, scenario=spec,
                             scenario_id=scenario_id)  # fmt: skip


def _scenario_from_form(session: Session, territory, form, service_type: str,
                        model=None) -> Scenario:  # fmt: skip
    added = []
    point = form.get("agregar", "").strip()
    if point:
        parts = point.split(",") if point.count(",") == 1 else point.split()
        if len(parts) != 2:
            msg = (
                f"«{point}» no es un punto; escriba «lat,lon» (ej. -42.62,-73.55) "
                "o haga clic en el mapa."
            )
            raise InvalidRequestError(msg)
        lat, lon = _float(parts[0].strip(), "La latitud"), _float(parts[1].strip(), "La longitud")
        added.append(
            AddedService(
                service_type=service_type,
                lon=lon,
                lat=lat,
                name=form.get("nombre", "").strip() or "servicio agregado",
                days=form.get("dias", "").strip() or "lu,ma,mi,ju,vi",
                opens=form.get("abre", "").strip() or "08:30",
                closes=form.get("cierra", "").strip() or "17:00",
            )
        )
    removed = tuple(r for r in form.getlist("quitar") if r) if hasattr(form, "getlist") else ()
    departures = _departures_from_form(form)
    scenario = Scenario(
        name=form.get("nombre_escenario", "").strip(),
        add_services=tuple(added),
        remove_service_ids=removed,
        add_departures=departures,
    )
    if not added and not removed and not departures:
        msg = (
            "El escenario no cambia nada: agregue un servicio (clic o coordenadas), quite uno "
            "o agregue una salida de barco."
        )
        raise InvalidRequestError(msg)
    # the computation's own checks (a point at sea, hours, days, services to remove, boat
    # links), before storing; the timetable is the one the job will use
    from layers.coverage import apply_scenario

    checked = model if model is not None else _NoBoats()
    if departures and model is None:
        msg = "No se pueden revisar salidas de barco sin el horario de barcos."
        raise InvalidRequestError(msg)
    try:
        apply_scenario(store.registry(session, territory), checked, scenario, territory)
    except ValueError as err:
        raise InvalidRequestError(str(err)) from err
    return scenario


def _departures_from_form(form) -> tuple[AddedDeparture, ...]:
    """Read the added departure: ``salida_tramo``, ``salida_hora``, ``salida_dias``.

    ``salida_tramo`` is ``"line_id|terminal"``; none when tramo and hour are blank.
    """
    link = form.get("salida_tramo", "").strip()
    hour = form.get("salida_hora", "").strip()
    if not link and not hour:
        return ()
    if not link:
        msg = f"Eligió la hora «{hour}» para una salida de barco, pero no el tramo; elija uno."
        raise InvalidRequestError(msg)
    if not hour:
        msg = "Falta la hora de la salida de barco agregada; escriba HH:MM (ej. 16:30)."
        raise InvalidRequestError(msg)
    line_id, _, origin = link.partition("|")
    days = form.get("salida_dias", "").strip() or "lu,ma,mi,ju,vi"
    return (AddedDeparture(line_id=line_id, origin=origin, at=hour, days=days),)


class _NoBoats:
    """A stand-in model for checking a scenario's services (no departures added here)."""

    class timetable:  # noqa: N801 - mimics the attribute of a travel model
        services = ()
        suspensions = ()


def _finished(session: Session, run_id: int) -> CoverageRun:
    run = service.run_or_404(session, run_id)
    if run.job_state != "listo":
        msg = f"El cálculo {run_id} aún no termina (estado: {run.job_state})."
        raise InvalidRequestError(msg)
    return run


def run_json(session: Session, territory, scope: Scope, run_id: int, *, k: int) -> dict:
    """Return the JSON of a finished run (the same tables as the page and the exports)."""
    return service.run_payload(_finished(session, run_id), scope, k=k, territory=territory)


def run_services(session: Session, territory, run_id: int) -> dict:
    """Services of the run's type as GeoJSON, with the what-if's added services."""
    run = service.run_or_404(session, run_id)
    services = store.registry(session, territory)
    return service.services_geojson(services, run.params["tipo"], run.params.get("escenario"))


def compare_page(session: Session, territory, scope: Scope, a: int | None, b: int | None,
                 *, k: int) -> dict:  # fmt: skip
    """Two finished runs of the same type, day and mode, each as its own page publishes it."""
    if not a or not b:
        msg = "Elija dos cálculos para comparar."
        raise InvalidRequestError(msg)
    first, second = _finished(session, a), _finished(session, b)
    same = ("tipo", "salida")
    if any(first.params[key] != second.params[key] for key in same) or service.run_mode(
        first.params
    ) != service.run_mode(second.params):
        msg = "Solo se comparan cálculos del mismo tipo de servicio, día, hora y modo."
        raise InvalidRequestError(msg)
    payload = service.compare_payload(first, second, scope, k=k, territory=territory)
    names = [
        (r.params.get("escenario") or {}).get("name") or f"cálculo {r.id}" for r in (first, second)
    ]
    return {"payload": payload, "names": names, "a": a, "b": b, "k": k}


def services_page(session: Session, territory, service_type: str) -> dict:
    """Context of /cobertura/servicios: every service (or one type) with its provenance.

    Raises
    ------
    InvalidRequestError
        `service_type` is neither empty nor a key of `SERVICE_TYPES`.
    """
    if service_type and service_type not in SERVICE_TYPES:
        known = ", ".join(SERVICE_TYPES)
        msg = f"Tipo de servicio «{service_type[:30]}» desconocido: use uno de {known}."
        raise InvalidRequestError(msg)
    services = store.registry(session, territory)
    if service_type in SERVICE_TYPES:
        services = services[services["service_type"] == service_type]
    rows = services.drop(columns="geometry").to_dict(orient="records")
    stored = {r.service_id: r for r in store.stored_services(session)}
    return {
        "rows": rows,
        "stored": stored,
        "retired": [r for r in stored.values() if r.retired],
        "types": [(key, label) for key, (label, _) in SERVICE_TYPES.items()],
        "type": service_type,
    }


def import_upload(session: Session, territory, upload, *, actor: str) -> tuple[str, bool]:
    """Import an uploaded services list; return the Spanish message and whether it worked."""
    if upload is None or not upload.filename:
        return "Elija un archivo CSV o XLSX con los servicios.", False
    try:
        rows = store.import_services(session, territory, upload.read(), upload.filename,
                                     actor=actor)  # fmt: skip
    except (store.ServicesFileError, IntakeError) as err:
        return str(err), False
    return f"Se importaron {len(rows)} servicios de {upload.filename}.", True


def change_service(session: Session, territory, form, *, actor: str) -> tuple[str, bool]:
    """Add, edit or retire one service from the page's form (``accion``)."""
    action = form.get("accion", "")
    fields = {key: form.get(key, "").strip() for key in store.FORM_COLUMNS}
    try:
        if action == "agregar":
            row = store.add_service(session, territory, store.ServiceForm(**fields), actor=actor)
            return f"Servicio «{row.name}» agregado.", True
        if action == "editar":
            version = form.get("version", "")
            row = store.edit_service(
                session, territory, form.get("id", ""), store.ServiceForm(**fields),
                expected_version=int(version) if version.isdigit() else -1, actor=actor,
            )  # fmt: skip
            return f"Servicio «{row.name}» guardado.", True
        if action == "retirar":
            version = form.get("version", "")
            row = store.retire_service(
                session, territory, form.get("id", ""), reason=form.get("motivo", ""),
                expected_version=int(version) if version.isdigit() else -1, actor=actor,
            )  # fmt: skip
            return f"Servicio «{row.name}» retirado: ya no cuenta como el más cercano.", True
    except (InvalidRequestError, ConflictError) as err:
        return str(err), False
    return "Acción desconocida.", False


def _form_values(row) -> dict[str, str]:
    """Return a stored service as the edit form's fields (`store.FORM_COLUMNS`)."""
    return {
        "nombre": row.name,
        "tipo": row.service_type,
        "lat": "" if row.lat is None else f"{row.lat:.6f}",
        "lon": "" if row.lon is None else f"{row.lon:.6f}",
        "direccion": row.address,
        "comuna": row.comuna_name,
        "dias": row.days,
        "abre": row.opens,
        "cierra": row.closes,
    }


def edit_service_form(session: Session, service_id: str) -> dict:
    """Context of a service's edit page: its fields and the version the form was read at.

    Raises
    ------
    NotFoundError
        Not an imported or hand-added service.
    InvalidRequestError
        A service of the official sources (retire it and add a new one instead).
    """
    row = store.own_service(session, service_id)
    return {
        "service": row,
        "values": _form_values(row),
        "version": row.version,
        "types": store.type_options(),
        "saved": None,
    }


def save_service_edit(session: Session, territory, service_id: str, form, *,
                      actor: str) -> tuple[dict | None, str, int]:  # fmt: skip
    """Save an edit from the edit page; never over another person's newer save.

    Returns ``(None, message, 200)`` when saved, else ``(context, message, status)``
    to show the form again with what the person typed (nothing is lost): 400 for
    a field to fix, 409 when someone else saved the service after the form was
    read (the context then also holds the values now stored, and the new version
    to save against once the person has looked at them).
    """
    fields = {key: form.get(key, "").strip() for key in store.FORM_COLUMNS}
    version = form.get("version", "")
    try:
        row = store.edit_service(
            session, territory, service_id, store.ServiceForm(**fields),
            expected_version=int(version) if version.isdigit() else -1, actor=actor,
        )  # fmt: skip
    except (InvalidRequestError, ConflictError) as err:
        current = store.own_service(session, service_id)
        conflict = isinstance(err, ConflictError)
        context = {
            "service": current,
            "values": fields,
            "version": current.version if conflict else (int(version) if version.isdigit() else -1),
            "types": store.type_options(),
            "saved": _form_values(current) if conflict else None,
        }
        return context, str(err), 409 if conflict else 400
    return None, f"Servicio «{row.name}» guardado.", 200
