"""Synthetic demo data: caseload on real schools, six gestores, a bus line, a published plan.

Everything here is labelled *sintético*; RUNs are in the 90-99 million range no
person has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

# Six monthly lists, so the diagnosis has a trend. The latest is month index 2 of the
# synthetic drift (as when the demo had three lists); earlier months drift the other way
# (lower attendance), so the trend shows the caseload improving towards the latest list.
DEMO_PERIODS = ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")
DEMO_LATEST_INDEX = 2
DEMO_TODAY = dt.date(2026, 11, 2)  # the demo is classified as on this date, every year
DEMO_ACTOR = "demo (datos sintéticos)"
LOCAL_TZ = ZoneInfo("America/Santiago")
MESSY_NAME = "lista_desordenada_sintetica.csv"
GESTORES_NAME = "gestores_sinteticos.csv"

# Six synthetic gestores based in real towns; the Achao one covers the Quinchao islands.
DEMO_GESTORES = """codigo,nombre,base,dias,inicio,fin,vehiculo,habilidades,max_visitas
castro,Gestora Castro (sintética),Castro,"lu,ma,mi,ju,vi",08:30,17:30,si,,6
ancud,Gestor Ancud (sintético),Ancud,"lu,ma,mi,ju,vi",08:30,17:30,si,,6
quellon,Gestora Quellón (sintética),Quellón,"lu,ma,mi,ju,vi",08:30,17:30,si,,6
achao,Gestor Achao (sintético),Achao,"lu,ma,mi,ju,vi",08:00,17:30,si,islas,5
chonchi,Gestora Chonchi (sintética),Chonchi,"lu,ma,mi,ju,vi",08:30,17:30,si,,6
dalcahue,Gestor Dalcahue (sintético),Dalcahue,"lu,ma,mi,ju,vi",08:30,16:30,no,,4
"""


STAYS_NAME = "alojamientos_sinteticos.csv"

# One hand-entered bus line, every value `supuesto` (no published timetable was
# available offline): Castro rural terminal - cruce Llau-Llao - Dalcahue, both
# ways, every 30 min Monday to Saturday. Stop locations approximate, read from
# the map. The Dalcahue gestor has no vehicle: the planner takes this bus.
DEMO_STOPS = """parada_id,nombre,lat,lon,ubicacion_fuente
castro-rural,Terminal rural Castro (demo),-42.4797,-73.7640,supuesto (aproximada en el mapa)
llaullao,Cruce Llau-Llao (demo),-42.4310,-73.7570,supuesto (aproximada en el mapa)
dalcahue-centro,Dalcahue centro (demo),-42.3777,-73.6510,supuesto (aproximada en el mapa)
"""
DEMO_LINES = (
    "servicio_id,linea_id,linea,tipo,tipo_fuente,paradas,tiempos_min,tiempos_fuente,"
    "dias,dias_fuente,frecuencia_min,frecuencia_fuente,primera_salida,primera_salida_fuente,"
    "ultima_salida,ultima_salida_fuente,salidas,salidas_fuente,nota\n"
    "cd-ida,castro-dalcahue,Castro - Dalcahue (supuesto),bus,supuesto,"
    'castro-rural llaullao dalcahue-centro,0 12 40,supuesto,"lu,ma,mi,ju,vi,sa",supuesto,'
    "30,supuesto,07:00,supuesto,20:00,supuesto,,,línea de demostración; horario supuesto\n"
    "cd-vuelta,castro-dalcahue,Castro - Dalcahue (supuesto),bus,supuesto,"
    'dalcahue-centro llaullao castro-rural,0 28 40,supuesto,"lu,ma,mi,ju,vi,sa",supuesto,'
    "30,supuesto,06:45,supuesto,20:15,supuesto,,,línea de demostración; horario supuesto\n"
)


def demo_stays(week: dt.date) -> str:
    """Return the demo's overnight stays CSV for the week starting on Monday `week`.

    The Isla Quehui lancha (timetable assumed, see ``data/chiloe``) runs on
    Monday, Wednesday and Friday: out of Castro at 14:00, back from the island
    at 07:30. So the Castro gestora sleeps on the island Monday and Tuesday
    and starts Wednesday at 07:10 to catch the boat back, an hour and twenty
    minutes before her usual start.
    """
    monday = week - dt.timedelta(days=week.weekday())
    tuesday = monday + dt.timedelta(days=1)
    return (
        "gestor,noche,lugar,sale\n"
        f"castro,{monday.isoformat()},Isla Quehui,\n"
        f"castro,{tuesday.isoformat()},Isla Quehui,07:10\n"
    )


def demo_stay_list(model, week: dt.date, codes) -> list:
    """Return :func:`demo_stays` as :class:`~routing.planning.Stay` objects on `model`'s places."""
    from geo_app.planning.gestores import place_finder
    from geo_app.planning.gestores import read_stays_csv

    return read_stays_csv(demo_stays(week).encode(), place_finder(model), codes)


def demo_week(today: dt.date) -> dt.date:
    """Return the Monday of this week on weekdays, of next week on weekends."""
    monday = today - dt.timedelta(days=today.weekday())
    return monday if today.weekday() < 5 else monday + dt.timedelta(days=7)


def seed_cases(app, folder: Path, *, seed: int, scale: float, echo: Callable = print) -> None:
    """Import the monthly synthetic lists (`DEMO_PERIODS`) through the real import path."""
    from geo_app.cases.context import case_context
    from geo_app.cases.importing import apply_import
    from geo_app.cases.importing import prepare_import
    from layers.synthetic import generate_caseload
    from layers.synthetic import messy_file
    from layers.synthetic import monthly_file

    sessions = app.extensions["revincula.db"]
    context = case_context(app)
    caseload = generate_caseload(
        context.territory, context.geocoder, seed=seed, scale=scale, today=DEMO_TODAY
    )
    echo(f"{len(caseload)} estudiantes sintéticos en escuelas SLEP.")
    folder.mkdir(parents=True, exist_ok=True)
    offset = len(DEMO_PERIODS) - 1 - DEMO_LATEST_INDEX
    for n, period in enumerate(DEMO_PERIODS):
        data = monthly_file(caseload, period, n - offset)
        name = f"lista_sintetica_{period}.csv"
        (folder / name).write_bytes(data)
        with sessions() as session, session.begin():
            prepared = prepare_import(session, context, data, name, today=DEMO_TODAY)
            batch = apply_import(
                session, context, prepared, actor=DEMO_ACTOR, synthetic=True, list_mode="completa"
            )  # each month of the demo is the complete list
            echo(
                f"  {period}: {batch.n_valid} filas, {batch.n_new} nuevos, "
                f"{batch.n_updated} actualizados, {batch.n_missing} ya no en la lista; "
                f"ubicación {batch.geocode_summary}"
            )
    messy = folder / MESSY_NAME
    messy.write_bytes(messy_file(caseload, DEMO_PERIODS[-1]))
    echo(f"Archivo desordenado para probar la importación: {messy}")


def seed_lines(app, *, echo: Callable = print) -> bool:
    """Enter the demo bus line (`DEMO_STOPS`, `DEMO_LINES`) unless lines are already entered.

    Returns True if it was entered. Lines entered by a user are never replaced.
    """
    from sqlalchemy import select

    from geo_app.store.models import TransitLineRow
    from geo_app.transit.service import save_lines

    with app.extensions["revincula.db"]() as session, session.begin():
        if session.scalar(select(TransitLineRow.id).limit(1)) is not None:
            echo("  ya hay líneas de bus ingresadas: no se agrega la línea de demostración.")
            return False
        feed = save_lines(
            session, DEMO_STOPS, DEMO_LINES, version="*", actor=DEMO_ACTOR, synthetic=True
        )
    echo(
        f"  línea de bus de demostración Castro - Dalcahue ({len(feed.trips)} salidas, horario "
        "supuesto) para el gestor sin vehículo; vea la página Transporte."
    )
    return True


def demo_gestor_rows(app) -> list[dict]:
    """Return the six synthetic gestores, their bases placed on the app's travel model."""
    from geo_app.planning.gestores import read_gestores_csv
    from geo_app.travel import app_model

    return read_gestores_csv(DEMO_GESTORES.encode(), app_model(app).find_place)


def seed_plan(
    app, week: dt.date, seconds: float, folder: Path, *, limit: int = 300, echo: Callable = print
) -> int | None:
    """Save the synthetic gestores, plan `week` with them and publish it; return the plan id."""
    from geo_app.planning.plans import PlanRunError
    from geo_app.planning.plans import compute_week
    from geo_app.travel import app_model

    folder.mkdir(parents=True, exist_ok=True)
    (folder / GESTORES_NAME).write_text(DEMO_GESTORES, encoding="utf-8")
    (folder / STAYS_NAME).write_text(demo_stays(week), encoding="utf-8")
    seed_lines(app, echo=echo)
    rows = demo_gestor_rows(app)
    stays = demo_stay_list(app_model(app), week, [r["code"] for r in rows])
    try:
        plan_id, result = compute_week(
            app,
            rows,
            week,
            seconds=seconds,
            limit=limit,
            stays=stays,
            actor=DEMO_ACTOR,
            synthetic=True,
            announce=lambda n: echo(
                f"Plan sintético de la semana del {week:%d-%m-%Y}: {n} casos candidatos, "
                f"{len(rows)} gestores ({seconds:g} s de optimización)..."
            ),
        )
    except PlanRunError as err:
        echo(f"  el plan de demostración falló: {str(err).splitlines()[0]}")
        return None
    totals = result["totales"]
    echo(_transit_day_line(result))
    echo(
        f"  publicado: {totals['visitas']} visitas, {totals['sin_asignar']} sin asignar, "
        f"{totals['dias_con_barco']} días con barco. Gestores en {folder / GESTORES_NAME}"
    )
    echo(
        "  alojamiento: Gestora Castro duerme en Isla Quehui el lunes y el martes (la lancha "
        f"sale lu-mi-vi) y vuelve el miércoles a las 07:30; en {folder / STAYS_NAME}"
    )
    return plan_id


DEMO_VISIT_NOTE = "Visita sintética de demostración"
# Outcomes drawn for the demo's visit records, with their weights (keys of
# layers/rules/visitas_2026.toml); a third of the contacts name one or two barriers and
# one in five a referral.
DEMO_OUTCOMES = {
    "contacto_apoderado": 0.35,
    "contacto_estudiante": 0.2,
    "nadie_en_casa": 0.25,
    "direccion_erronea": 0.08,
    "se_mudo": 0.04,
    "rechaza": 0.08,
}
DEMO_REFERRALS = ("cesfam", "proteccion_infancia", "salud_mental", "escuela_slep")


def demo_visit_records(result: dict, *, seed: int, done_share: float = 0.8) -> dict:
    """Return synthetic visit records for a plan's stops, per gestor: ``{code: [record]}``.

    About `done_share` of the stops are visited, at the planned start; records are the
    JSON the phone sends (`layers.visits.check_record`), with a GPS fix within ~30 m of
    the stop (accuracy 15 m) and the note `DEMO_VISIT_NOTE`. Deterministic for `seed`.
    """
    import uuid

    import numpy as np

    from layers.services import SERVICE_TYPES
    from layers.visits import load_visit_rules

    rules = load_visit_rules()
    rng = np.random.default_rng(seed)
    outcomes = [o for o in DEMO_OUTCOMES if o in rules.outcomes]
    weights = np.array([DEMO_OUTCOMES[o] for o in outcomes])
    barriers = [b for b in rules.barriers if b != "otra"]
    services = [s for s in DEMO_REFERRALS if s in SERVICE_TYPES]
    out: dict[str, list[dict]] = {}
    for day in result.get("dias", []):
        for stop in day["paradas"]:
            if rng.random() > done_share or not str(stop["visita_id"]).isdigit():
                continue
            outcome = str(rng.choice(outcomes, p=weights / weights.sum()))
            contact = rules.outcomes[outcome][1]
            record = {
                "uuid": str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 65, version=4)),
                "caso": int(stop["visita_id"]),
                "resultado": outcome,
                "momento_dispositivo": dt.datetime.fromisoformat(stop["inicia"])
                .replace(tzinfo=LOCAL_TZ)
                .isoformat(),
                "gps": {
                    "lat": stop["lat"] + float(rng.normal(0, 0.0002)),
                    "lon": stop["lon"] + float(rng.normal(0, 0.0002)),
                    "precision": 15,
                },
                "nota": DEMO_VISIT_NOTE,
            }
            if contact and rng.random() < 1 / 3:
                size = int(rng.integers(1, 3))
                record["barreras"] = [str(b) for b in rng.choice(barriers, size, replace=False)]
            if contact and rng.random() < 0.2:
                record["derivacion"] = {"tipo": str(rng.choice(services))}
            out.setdefault(day["gestor_id"], []).append(record)
    return out


def seed_visits(app, plan_id: int, *, seed: int, echo: Callable = print) -> int:
    """Send synthetic visit records for the stops of a published plan; return how many.

    Each gestor's records go through the real receiving path
    (`geo_app.field.visits.receive_visits`) with the gestor's scope, received an hour
    after the last visit of its week: they propose stage changes and move located
    points like a phone's would.
    """
    from geo_app.field.visits import receive_visits
    from geo_app.scope import Scope
    from geo_app.store.models import PlanRow

    sessions = app.extensions["revincula.db"]
    with sessions() as session:
        result = session.get(PlanRow, plan_id).result
    stored = 0
    for code, records in demo_visit_records(result, seed=seed).items():
        last = max(dt.datetime.fromisoformat(r["momento_dispositivo"]) for r in records)
        scope = Scope(username=f"demo.{code}", role="gestor", gestor_code=code)
        with sessions() as session, session.begin():
            answer = receive_visits(session, scope, records, now=last + dt.timedelta(hours=1))
        stored += answer["guardados"]
    echo(f"  {stored} registros de visita sintéticos de esa semana (resultados, barreras, "
         "derivaciones): vea Informes → Actividad del equipo.")  # fmt: skip
    return stored


def _transit_day_line(result: dict) -> str:
    """Summarise the bus legs of the gestores without a vehicle in a plan result."""
    rides = [
        leg
        for day in result.get("dias", [])
        for stop in day.get("paradas", [])
        for leg in stop.get("tramos", [])
        if leg.get("tipo") in ("bus", "colectivo")
    ]
    rides += [
        leg
        for day in result.get("dias", [])
        for leg in day.get("regreso", [])
        if leg.get("tipo") in ("bus", "colectivo")
    ]
    if not rides:
        return "  ningún tramo en bus en el plan (el gestor sin vehículo camina y usa el barco)."
    return f"  {len(rides)} tramos en bus para el gestor sin vehículo (horario supuesto)."


# One demo account per role. DEMO CREDENTIALS: printed by `make demo`, never for real data.
DEMO_USERS = (
    ("admin", "lancha-Achao-2026", "admin", "*", "", "Administración (demo)"),
    ("profesional", "lancha-Castro-2026", "profesional", "*", "", "Profesional SLEP (demo)"),
    ("gestora.castro", "lancha-Quinchao-2026", "gestor", "*", "castro", "Gestora Castro (demo)"),
    (
        "mesa.centro",
        "lancha-Dalcahue-2026",
        "mesa",
        "Castro, Dalcahue, Quinchao, Curaco de Vélez",
        "",
        "Mesa intersectorial centro (demo)",
    ),
)


def seed_users(app, *, echo: Callable = print) -> None:
    """Create (or reset) the demo accounts, one per role, and print their credentials.

    Accounts not flagged as demo are never touched. The gestores are saved first
    when missing, since the gestor account belongs to one.
    """
    from sqlalchemy import select

    from geo_app.accounts.users import create_user
    from geo_app.accounts.users import set_active
    from geo_app.accounts.users import set_password
    from geo_app.planning.gestores import save_gestores
    from geo_app.store.models import GestorRow
    from geo_app.store.models import User

    known = list(app.extensions["revincula.territory"].comunas["comuna_name"])
    with app.extensions["revincula.db"]() as session, session.begin():
        if session.scalar(select(GestorRow.id).where(GestorRow.code == "castro")) is None:
            save_gestores(session, demo_gestor_rows(app), synthetic=True)
        for username, password, role, comunas, gestor, name in DEMO_USERS:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                create_user(
                    session, username, password, role, known_comunas=known, comunas=comunas,
                    gestor_code=gestor, display_name=name, demo=True,
                )  # fmt: skip
            elif user.demo:
                set_password(user, password)
                set_active(user, True)
    echo("")
    echo("CUENTAS DE DEMOSTRACIÓN (solo para datos sintéticos; cámbielas o desactívelas antes")
    echo("de cargar datos reales: revincula user disable NOMBRE):")
    for username, password, role, comunas, _gestor, _name in DEMO_USERS:
        scope = "todas las comunas" if comunas == "*" else comunas
        echo(f"  {role:<12} usuario {username:<15} contraseña {password:<22} {scope}")
    echo("")
