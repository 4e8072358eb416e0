"""Field benchmark: syncing queued visit records, and the weight of Mi día on the phone.

Prints, on SQLite and (when reachable) PostgreSQL:
- ``POST /api/visitas`` with 200 queued records in one request (checked, matched
  against the plan, proof of visit, stage proposals, audit), then the same 200
  again (all answered ``ya_estaba``), through the Flask test client in this
  process (no gunicorn: the issue's figure is for gunicorn + PostgreSQL);
- baseline: a bare SQLAlchemy Core insert of the same 200 rows into the table;
- the first load of Mi día: bytes of the page and of our own JS/CSS (vendored
  Leaflet apart), raw and as gzip -6 would send them (the app does not compress
  responses itself yet: a reverse proxy must).

Usage: python bench/field.py [--records 200] [--pg postgresql+psycopg://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import secrets
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text

from geo_app import create_app
from geo_app.accounts.users import create_user
from geo_app.cases.context import CaseContext
from geo_app.cases.importing import apply_import
from geo_app.cases.importing import prepare_import
from geo_app.demo.seed import demo_gestor_rows
from geo_app.demo.seed import seed_plan
from geo_app.planning.gestores import save_gestores
from geo_app.store.models import Case
from geo_app.store.models import PlanRow
from geo_app.store.models import PlanStop
from geo_app.store.models import VisitRecord
from geo_app.store.models import utcnow
from layers.synthetic import generate_caseload
from layers.synthetic import monthly_file
from layers.territory import load_territory

PASSWORD = "clave-de-banco-2026"
MONDAY = dt.date(2026, 11, 23)
OWN_ASSETS = ("css/app.css", "js/field-app.js", "js/terreno.js")


def build(url: str, context: CaseContext, n: int):
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
    app.extensions["revincula.cases"] = context
    today = dt.date(2026, 11, 2)
    caseload = generate_caseload(
        context.territory, context.geocoder, seed=3, scale=0.6, today=today
    )
    sessions = app.extensions["revincula.db"]
    with sessions() as session, session.begin():
        prepared = prepare_import(session, context, monthly_file(caseload, "2026-08", 0),
                                  "sintetica.csv", today=today)  # fmt: skip
        apply_import(session, context, prepared, actor="bench", synthetic=True)
        save_gestores(session, demo_gestor_rows(app), synthetic=True)
        known = list(context.territory.comunas["comuna_name"])
        create_user(session, "gestora.castro", PASSWORD, "gestor", known_comunas=known,
                    gestor_code="castro")  # fmt: skip
        ids = list(session.scalars(select(Case.id).where(Case.lon.is_not(None)).limit(n)))
        plan = PlanRow(week_start=MONDAY, status="publicado", job_state="listo", inputs={},
                       result={"dias": []}, published_at=utcnow(), synthetic=True)  # fmt: skip
        session.add(plan)
        session.flush()
        for seq, case_id in enumerate(ids):
            day = MONDAY + dt.timedelta(days=seq % 5)
            start = dt.datetime.combine(day, dt.time(9))
            session.add(PlanStop(plan_id=plan.id, case_id=case_id, gestor_code="castro", day=day,
                                 seq=seq, start_at=start))  # fmt: skip
    return app, ids


def records(ids: list[int], n: int) -> list[dict]:
    out = []
    for i in range(n):
        out.append({
            "uuid": str(uuid.uuid4()), "caso": ids[i % len(ids)], "cuenta": "gestora.castro",
            "resultado": ("contacto_apoderado", "nadie_en_casa")[i % 2],
            "barreras": ["economica", "sin_barco"] if i % 3 == 0 else [],
            "derivacion": {"tipo": "cesfam", "nombre": ""} if i % 4 == 0 else None,
            "nota": "sintético", "momento_dispositivo": "2026-11-23T13:00:00Z",
            "gps": {"lat": -42.48, "lon": -73.76, "precision": 12} if i % 2 else None,
        })  # fmt: skip
    return out


def signed_in(app):
    client = app.test_client()
    client.get("/ingresar")
    with client.session_transaction() as s:
        token = s["csrf"]
    client.post("/ingresar", data={"csrf": token, "usuario": "gestora.castro", "clave": PASSWORD})
    return client, client.get("/api/sesion").get_json()["csrf"]


def bench_sync(label: str, url: str, context: CaseContext, n: int) -> None:
    app, ids = build(url, context, n)
    client, token = signed_in(app)
    batch = records(ids, n)
    started = time.perf_counter()
    first = client.post("/api/visitas", json=batch, headers={"X-CSRF-Token": token}).get_json()
    sync_s = time.perf_counter() - started
    started = time.perf_counter()
    again = client.post("/api/visitas", json=batch, headers={"X-CSRF-Token": token}).get_json()
    resend_s = time.perf_counter() - started
    assert first["guardados"] == n, first
    assert again["ya_estaban"] == n, again
    engine = create_engine(url)
    rows = [{"uuid": str(uuid.uuid4()), "case_id": r["caso"], "gestor_code": "castro",
             "username": "x", "outcome": r["resultado"], "contacted": "", "barriers": r["barreras"],
             "referral": r["derivacion"] or {}, "agreement": "", "next_step": "", "note": "",
             "gps_poor": False, "device_at": utcnow(), "received_at": utcnow(),
             "future_clock": False, "far": False, "conflict": "", "rules_version": ""}
            for r in batch]  # fmt: skip
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(VisitRecord.__table__), rows)
    core_s = time.perf_counter() - started
    engine.dispose()
    print(f"{label}: {n} registros en {sync_s:.2f} s ({n / sync_s:.0f}/s); "
          f"reenvío (todos ya_estaba) {resend_s:.2f} s; inserción Core sola {core_s * 1000:.0f} ms "
          f"(× {sync_s / core_s:.0f} por validar, cruzar con el plan, prueba de visita, etapas y "
          "auditoría)")  # fmt: skip
    if label == "SQLite":
        weigh_day(app, client)
    app.extensions["revincula.engine"].dispose()


def weigh_day(app, client) -> None:
    """Bytes of the first load of Mi día on a planned synthetic week, as the server sends them."""
    with tempfile.TemporaryDirectory() as folder:
        seed_plan(app, MONDAY + dt.timedelta(days=7), 2.0, Path(folder), echo=lambda _m: None)
    day = next(d for d in published_days_of(app) if d >= MONDAY + dt.timedelta(days=7))
    headers = {"Accept-Encoding": "br, gzip"}
    page = client.get(f"/terreno?dia={day.isoformat()}", headers=headers)
    html = page.get_data()
    stops = gzip.decompress(html) if page.headers.get("Content-Encoding") == "gzip" else None
    sent = len(html)
    raw = 0
    for name in OWN_ASSETS:
        body = (Path(app.static_folder) / name).read_bytes()
        raw += len(body)
        sent += len(gzip.compress(body, 6))  # static files: compressed by the front server
    print(f"Mi día del {day:%d-%m} ({page.headers.get('Content-Encoding', 'sin comprimir')}): "
          f"HTML {len(html) / 1024:.1f} KB enviados"
          + ("" if stops is None else f" ({len(stops) / 1024:.0f} KB sin comprimir)")
          + f"; JS/CSS propios {raw / 1024:.0f} KB, {sent / 1024:.0f} KB en total con gzip -6 "
          "(meta ≤ 300 KB comprimido sin Leaflet)")  # fmt: skip


def published_days_of(app):
    from geo_app.planning.plans import published_days

    with app.extensions["revincula.db"]() as session:
        return published_days(session, "castro")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    context = CaseContext.from_territory(load_territory())
    with tempfile.TemporaryDirectory() as folder:
        bench_sync("SQLite", f"sqlite:///{folder}/bench.sqlite", context, args.records)
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    try:
        conn = admin.connect()
    except Exception as err:  # PostgreSQL is optional here
        print(f"PostgreSQL no disponible: {err}")
        return
    name = f"revincula_bench_{secrets.token_hex(3)}"
    conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        bench_sync("PostgreSQL", args.pg.rsplit("/", 1)[0] + "/" + name, context, args.records)
    finally:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.close()
        admin.dispose()


if __name__ == "__main__":
    main()
