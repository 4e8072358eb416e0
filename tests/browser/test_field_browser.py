"""Real headless Chromium on a 390×844 phone: the week offline and visit records that sync.

She opens her week online, loses the signal, reloads Mi día (served by the
service worker from the phone), records three visits (barriers and a
referral; nobody home; a GPS fix), cannot log out with them unsent, gets the
signal back: the server holds exactly three records, and sending them again
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from flask import request
from sqlalchemy import select

from geo_app.demo.seed import seed_plan
from geo_app.store.models import Case
from geo_app.store.models import PlanStop
from geo_app.store.models import VisitRecord
from tests.accounts import PASSWORD
from tests.accounts import add_user

from .conftest import SCREENSHOTS
from .conftest import open_local_page
from .conftest import seeded_app
from .conftest import serve

TODAY = dt.date(2026, 11, 2)
MONDAY = dt.date(2026, 11, 23)

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


@pytest.fixture(scope="module")
def field_server(tmp_path_factory, case_context):
    folder = tmp_path_factory.mktemp("field")
    app, _ = seeded_app(folder / "demo.sqlite", case_context, seed=5, scale=0.05, today=TODAY)
    assert seed_plan(app, MONDAY, 2.0, folder / "demo", echo=lambda _m: None)
    add_user(app, "gestora.castro", "gestor", gestor="castro")
    app.extensions["test.paths"] = paths = []
    app.after_request(lambda response: paths.append(request.path) or response)
    with serve(app) as base:
        yield app, base
    app.extensions["revincula.engine"].dispose()


def castro_stops(app) -> list[tuple[dt.date, int, float, float]]:
    with app.extensions["revincula.db"]() as session:
        rows = session.execute(
            select(PlanStop.day, PlanStop.case_id, Case.lon, Case.lat)
            .join(Case, Case.id == PlanStop.case_id)
            .where(PlanStop.gestor_code == "castro")
            .order_by(PlanStop.day, PlanStop.seq)
        ).all()
    return [tuple(r) for r in rows]


def stored(app) -> list[VisitRecord]:
    with app.extensions["revincula.db"]() as session:
        return list(session.scalars(select(VisitRecord).order_by(VisitRecord.id)))


def fill_visit(page, case_id: int, outcome: str, *, gps: bool, extra=None) -> None:
    box = page.locator(f".visit-record[data-caso='{case_id}']")
    box.locator("button.record-visit").click()
    form = box.locator("form.visit-form")
    form.locator(f"input[name=resultado][value={outcome}]").check()
    if extra:
        extra(form)
    if not gps:
        form.locator("input[name=gps]").uncheck()
    form.locator("button[type=submit]").click()
    box.locator(".save-status.saved").wait_for(timeout=20_000)
    assert "Guardada en el teléfono" in box.locator(".save-status").inner_text()


def test_the_week_offline_three_visits_queued_and_synced_once(field_server, browser):
    app, base = field_server
    stops = castro_stops(app)
    assert len(stops) >= 3, stops
    days = sorted({s[0] for s in stops})
    local = open_local_page(
        browser, 390, 844, base=base, user="gestora.castro", service_workers="allow"
    )
    page, context = local.page, local.page.context
    page.goto(f"{base}/terreno?dia={days[0].isoformat()}")
    page.wait_for_function("() => document.getElementById('terreno').dataset.guardada === '1'")
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the service worker's control
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function("() => document.getElementById('terreno').dataset.guardada === '1'")
    status_online = page.locator("#data-status").inner_text()
    assert "Datos actualizados el" in status_online
    # «Salir» is reachable and nothing scrolls sideways at 390 px
    assert page.locator("#logout-form button").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    context.set_offline(True)
    first_stops = [s for s in stops if s[0] == days[0]]
    paths = app.extensions["test.paths"]
    paths.clear()
    page.reload()
    assert page.locator("#offline-flag").is_visible()
    offline_status = page.locator("#data-status").inner_text()
    assert offline_status.startswith(status_online.strip())  # the phone's copy, same time
    assert "Sin conexión" in offline_status and "Sin conexión" not in status_online
    assert page.locator(".stop").count() == len(first_stops)
    # the day map from the phone's copy: stops, base, route lines (our polygons underneath)
    assert page.locator(".stop-marker").count() == len(first_stops)
    assert page.locator(".base-marker").count() == 1
    assert page.locator(".leaflet-overlay-pane path").count() >= 2
    page.screenshot(path=str(SCREENSHOTS / "terreno_mapa_sin_conexion_390.png"))

    def barriers_and_referral(form):
        form.locator("input[name=contactado]").fill("madre (sintético)")
        form.locator("input[name=barreras][value=economica]").check()
        form.locator("input[name=barreras][value=sin_barco]").check()
        form.locator("select[name=derivacion_tipo]").select_option("cesfam")
        form.locator("input[name=derivacion_nombre]").fill("CESFAM de la comuna")
        form.locator("input[name=proximo_paso]").fill("Llamar al liceo")
        form.locator("input[name=fecha_proximo]").fill("2026-12-01")

    targets = stops[:3]
    for index, (day, case_id, lon, lat) in enumerate(targets):
        if page.locator(f".visit-record[data-caso='{case_id}']").count() == 0:
            page.goto(f"{base}/terreno?dia={day.isoformat()}")  # another day, offline too
            assert page.locator("#offline-flag").is_visible()
        if index == 0:
            fill_visit(page, case_id, "contacto_apoderado", gps=False, extra=barriers_and_referral)
        elif index == 1:
            fill_visit(page, case_id, "nadie_en_casa", gps=False)
        else:
            context.grant_permissions(["geolocation"], origin=base)
            context.set_geolocation({"latitude": lat + 0.0003, "longitude": lon, "accuracy": 15})
            fill_visit(page, case_id, "contacto_estudiante", gps=True)
    assert page.locator("#queue-count").inner_text() == "3 registros por enviar"
    assert paths == []  # nothing reached the server while offline
    assert stored(app) == []
    page.screenshot(path=str(SCREENSHOTS / "terreno_sin_conexion_390.png"), full_page=False)

    # No logging out with records unsent
    page.locator("#logout-form button").click()
    page.locator("#discard-and-logout").wait_for()
    assert "No puede salir" in page.locator("#queue-bar").inner_text()
    assert "/terreno" in page.url
    queued = page.evaluate("() => window.revinculaField.queue.all()")
    assert len(queued) == 3

    context.set_offline(False)  # the "online" event starts the sync
    deadline = time.monotonic() + 30
    while page.evaluate("() => window.revinculaField.queue.all()") and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert page.evaluate("() => window.revinculaField.queue.all()") == []
    rows = stored(app)
    assert len(rows) == 3
    by_case = {r.case_id: r for r in rows}
    first, second, third = (by_case[t[1]] for t in targets)
    assert first.barriers == ["economica", "sin_barco"]
    assert first.referral == {"tipo": "cesfam", "nombre": "CESFAM de la comuna"}
    assert first.next_date == dt.date(2026, 12, 1) and first.lon is None
    assert second.outcome == "nadie_en_casa"
    assert third.lon is not None and third.accuracy_m == 15 and 20 < third.distance_m < 50

    # Sending the same records again changes nothing: each answered "ya_estaba"
    again = page.evaluate(
        """(items) => fetch('/api/sesion').then(r => r.json()).then(s => fetch('/api/visitas', {
             method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf},
             body: JSON.stringify(items.map(i => i.registro))})).then(r => r.json())""",
        queued,
    )
    assert [r["estado"] for r in again["resultados"]] == ["ya_estaba"] * 3
    page.evaluate("() => window.revinculaField.sync()")
    assert len(stored(app)) == 3
    page.reload()
    assert page.locator(".visit-done").count() >= 1
    page.wait_for_function("() => document.getElementById('offline-flag').hidden")
    page.screenshot(path=str(SCREENSHOTS / "terreno_sincronizado_390.png"), full_page=False)
    # correcting a record already sent: a new record naming the one it corrects
    done = page.locator(f".visit-done[data-caso='{targets[1][1]}']").first
    original = done.get_attribute("data-uuid")
    done.locator("button.correct-visit").click()
    form = page.locator(f".visit-record[data-caso='{targets[1][1]}'] form.visit-form")
    assert "Corrección" in form.inner_text()
    form.locator("input[name=resultado][value=contacto_apoderado]").check()
    form.locator("input[name=gps]").uncheck()
    form.locator("button[type=submit]").click()
    deadline = time.monotonic() + 30
    while len(stored(app)) < 4 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    fixed = stored(app)[-1]
    assert (fixed.corrects, fixed.case_id, fixed.outcome) == (
        original, targets[1][1], "contacto_apoderado",
    )  # fmt: skip
    assert len(stored(app)) == 4
    # logging out with nothing queued clears the personal copy of the week
    assert "revincula-personal" in page.evaluate("() => caches.keys()")
    page.locator("#logout-form button").click()
    page.wait_for_url(lambda url: "/ingresar" in url)
    assert "revincula-personal" not in page.evaluate("() => caches.keys()")
    assert local.errors == [] and local.blocked == []


def test_every_gestor_page_fits_a_390_px_phone_with_salir_reachable(field_server, browser):
    app, base = field_server
    local = open_local_page(browser, 390, 844, base=base, user="gestora.castro")
    page = local.page
    case_id = castro_stops(app)[0][1]
    widths = {}
    for path in ("/", "/casos", f"/casos/{case_id}", "/resumen", "/terreno", "/cuenta"):
        response = page.goto(base + path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        # the document and the page's own scroll box (a wide data table scrolls in its box)
        widths[path] = page.evaluate(
            """() => Math.max(document.documentElement.scrollWidth,
                ...Array.from(document.querySelectorAll('main > *'), el => el.scrollWidth))"""
        )
        salir = page.locator("#logout-form button")
        assert salir.is_visible(), path
        box = salir.bounding_box()
        assert box["x"] + box["width"] <= 390, path
        name = path.strip("/").replace("/", "_") or "mapa"
        page.screenshot(path=str(SCREENSHOTS / f"gestor_{name}_390.png"))
    assert all(w <= 390 for w in widths.values()), widths
    assert local.errors == [] and local.blocked == []


def test_an_expired_session_keeps_the_queue_until_the_same_gestora_logs_in(field_server, browser):
    app, base = field_server
    add_user(app, "gestor.ancud", "gestor", gestor="ancud")
    stops = castro_stops(app)
    day, case_id = stops[-1][0], stops[-1][1]
    local = open_local_page(
        browser, 390, 844, base=base, user="gestora.castro", service_workers="allow"
    )
    page, context = local.page, local.page.context
    page.goto(f"{base}/terreno?dia={day.isoformat()}")
    before = len(stored(app))
    context.set_offline(True)
    fill_visit(page, case_id, "nadie_en_casa", gps=False)
    context.clear_cookies()  # the night on the island: the session is gone
    context.set_offline(False)
    page.locator("text=Su sesión venció").wait_for(timeout=20_000)
    assert len(page.evaluate("() => window.revinculaField.queue.all()")) == 1
    assert len(stored(app)) == before
    # another gestor signs in on this phone: the record is not sent under that account
    page.goto(base + "/ingresar?next=/terreno")
    page.fill("input[name=usuario]", "gestor.ancud")
    page.fill("input[name=clave]", PASSWORD)
    page.click("form button[type=submit]")
    page.locator("text=gestora.castro").first.wait_for(timeout=20_000)
    assert len(stored(app)) == before
    assert len(page.evaluate("() => window.revinculaField.queue.all()")) == 1
    page.screenshot(path=str(SCREENSHOTS / "terreno_otra_cuenta_390.png"))
    context.clear_cookies()
    # the same gestora signs in again: the queue goes, under her account
    page.goto(base + "/ingresar?next=/terreno")
    page.fill("input[name=usuario]", "gestora.castro")
    page.fill("input[name=clave]", PASSWORD)
    page.click("form button[type=submit]")
    deadline = time.monotonic() + 30
    while len(stored(app)) == before and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    rows = stored(app)
    assert len(rows) == before + 1 and rows[-1].username == "gestora.castro"
    # the server has stored it; the phone forgets it when the answer naming its UUID arrives
    page.wait_for_function(
        "() => window.revinculaField.queue.all().then(q => q.length === 0)", timeout=20_000
    )
