"""Real headless Chromium on the rough edges a new user meets (issue 24, issue 17 item 16).

The app here runs on a copy of the territory whose boat line names carry markup, with a
synthetic caseload whose *sector* column carries markup, as a careless or hostile spreadsheet
would: every page must show that text as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil

import pytest

from layers.territory import DEFAULT_DATA_DIR
from tests.accounts import add_user

from .conftest import SCREENSHOTS
from .conftest import open_local_page
from .conftest import serve

TODAY = dt.date(2026, 11, 2)
MONDAY = dt.date(2026, 11, 23)
SECTOR_MARKUP = '<b class="xss-sector">S</b><a href="http://ataque.invalid/">x</a>'
LINE_MARKUP = '<img class="xss-line" src="/xss-linea.png"><i class="xss-line">L</i>'
SIZES = {"escritorio": (1366, 900), "telefono": (390, 844)}

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


def _markup_territory(folder):
    """Copy the bundled territory; append markup to every boat line name."""
    shutil.copytree(DEFAULT_DATA_DIR, folder)
    path = folder / "horarios_barcos.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["linea"] = row["linea"] + " " + LINE_MARKUP
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def _markup_sectors(data: bytes) -> bytes:
    """Append markup to the Sector column of a synthetic monthly file (`;`, BOM)."""
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    col = rows[0].index("Sector")
    for row in rows[1:]:
        row[col] = (row[col] + " " + SECTOR_MARKUP).strip()
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def markup_server(tmp_path_factory, case_context):
    from geo_app import create_app
    from geo_app.cases.importing import apply_import
    from geo_app.cases.importing import prepare_import
    from geo_app.demo.seed import demo_gestor_rows
    from geo_app.planning.plans import compute_week
    from layers.synthetic import generate_caseload
    from layers.synthetic import monthly_file

    root = tmp_path_factory.mktemp("marcado")
    territory_dir = _markup_territory(root / "chiloe")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": f"sqlite:///{root / 'demo.sqlite'}",
            "TERRITORY_DIR": str(territory_dir),
            "TODAY": TODAY,  # the planned week (23-11-2026) is not past for the app
        }
    )
    app.extensions["revincula.cases"] = case_context
    caseload = generate_caseload(
        case_context.territory, case_context.geocoder, seed=11, scale=0.08, today=TODAY
    )
    data = _markup_sectors(monthly_file(caseload, "2026-08", 0))
    with app.extensions["revincula.db"]() as session, session.begin():
        prepared = prepare_import(session, case_context, data, "sintetica.csv", today=TODAY)
        apply_import(session, case_context, prepared, actor="prueba", synthetic=True)
    add_user(app, "admin.prueba", "admin")
    add_user(app, "mesa.prueba", "mesa", comunas="Castro, Quinchao")
    # The Castro gestora plans Quinchao: every day crosses on the Dalcahue–Quinchao ferry.
    rows = [r for r in demo_gestor_rows(app) if r["code"] in ("castro", "dalcahue")]
    plan_id, _ = compute_week(
        app, rows, MONDAY, seconds=3, limit=14, comunas=["Quinchao"], outcome="guardar"
    )
    add_user(app, "gestora.castro", "gestor", gestor="castro")
    with serve(app) as base:
        yield {"base": base, "plan": plan_id, "n_cases": len(prepared.result.records)}
    app.extensions["revincula.engine"].dispose()


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _no_injected_markup(page):
    """No element made from imported text exists; the text is on the page as typed."""
    assert page.locator(".xss-sector, .xss-line, a[href^='http://ataque']").count() == 0


@pytest.mark.parametrize("size", list(SIZES))
def test_imported_markup_is_shown_as_text_on_the_plan_page(markup_server, browser, size):
    base, plan_id = markup_server["base"], markup_server["plan"]
    local = open_local_page(browser, *SIZES[size], base=base, user="admin.prueba")
    page = local.page
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{base}/planificacion/{plan_id}")
    page.wait_for_function(
        "() => window.revincula && window.revincula.planFeatures > 0", timeout=20_000
    )
    features = page.evaluate(
        "fetch(document.getElementById('plan').dataset.geojsonUrl).then(r => r.json())"
    )["features"]
    kinds = {f["properties"]["tipo"] for f in features}
    assert {"visita", "barco"} <= kinds, kinds
    # Open the popup of a visit and of a boat leg, as a user clicking them would.
    page.evaluate(
        """() => { const m = window.revincula.stops.getLayers()[0];
        window.revincula.planMap.openPopup(m.getPopup(), m.getLatLng()); }"""
    )
    popup = page.locator(".leaflet-popup-content", has_text="Caso")
    popup.wait_for(timeout=10_000)
    assert SECTOR_MARKUP in popup.inner_text()
    _no_injected_markup(page)
    _shot(page, f"xss_plan_visita_{size}")
    page.evaluate(
        """() => { const m = window.revincula.planMap; let boat = null;
        m.eachLayer(l => { if (l.feature && l.feature.properties.tipo === 'barco') { boat = l; } });
        m.closePopup(); boat.openPopup(boat.getBounds().getCenter()); }"""
    )
    boat_popup = page.locator(".leaflet-popup-content", has_text="Barco")
    assert LINE_MARKUP in boat_popup.inner_text()
    _no_injected_markup(page)
    # The days' tables (server-rendered) show the line names as text too.
    assert LINE_MARKUP in page.locator(".day-table").first.inner_text() or any(
        LINE_MARKUP in t for t in page.locator(".day-table").all_inner_texts()
    )
    _shot(page, f"xss_plan_barco_{size}")
    assert not any("xss-linea.png" in u or "ataque.invalid" in u for u in requests)
    assert local.errors == [] and local.blocked == []
    page.close()


def test_imported_markup_is_shown_as_text_on_the_map_and_journey(markup_server, browser):
    base = markup_server["base"]
    local = open_local_page(browser, 1366, 900, base=base, user="admin.prueba")
    page = local.page
    page.goto(base + "/")
    page.wait_for_function("() => window.revincula && window.revincula.ready", timeout=20_000)
    page.fill("input[name=desde]", "Castro")
    page.fill("input[name=hasta]", "Achao")
    page.click("#journey-form button")
    page.wait_for_function("() => window.revincula.journey !== undefined", timeout=20_000)
    assert LINE_MARKUP in page.locator("#journey-result").inner_text()
    page.evaluate(
        """() => { const l = window.revincula.layers.barcos.getLayers()[0];
        l.openPopup(l.getBounds().getCenter()); }"""
    )
    assert LINE_MARKUP in page.locator(".leaflet-popup-content").first.inner_text()
    _no_injected_markup(page)
    _shot(page, "xss_mapa_escritorio")
    # A case page shows the sector as typed.
    page.goto(base + "/casos")
    page.locator("table.cases tbody tr a").first.click()
    page.wait_for_function("() => window.revincula && window.revincula.caseMap")
    assert SECTOR_MARKUP in page.locator(".facts").first.inner_text()
    _no_injected_markup(page)
    assert local.errors == [] and local.blocked == []
    page.close()


# The map's case markers: a case's own marker, or the stack holding it (more than
# MAP_STACK_MIN cases at one point come as one feature listing them, the id first).
FIND_MARKER = """(id) => { let target = null;
  window.revincula.layers.casos.getLayers().forEach(m => { const p = m.feature.properties;
    if (p.id === id || (p.pila && p.casos.some(r => r[0] === id))) { target = m; } });
  return target; }"""


def _groups_at_one_point(page):
    """Case ids grouped by their exact point, from the map's own layer (stacks opened)."""
    return page.evaluate(
        """() => { const g = {};
        window.revincula.layers.casos.getLayers().forEach(m => {
          const ll = m.getLatLng(); const k = ll.lat.toFixed(6) + ',' + ll.lng.toFixed(6);
          const p = m.feature.properties;
          (g[k] = g[k] || []).push(...(p.pila ? p.casos.map(r => r[0]) : [p.id])); });
        return Object.entries(g).map(([k, ids]) => [k.split(',').map(Number), ids]); }"""
    )


def _click_until_open(page, point, ids, zoom):
    """From `zoom`, click the badge holding the point's cases until they are listed or fanned."""
    page.evaluate("([p, z]) => window.revincula.map.setView(p, z, {animate: false})", [point, zoom])
    page.wait_for_timeout(400)
    for _ in range(8):
        box = page.evaluate(
            f"""(id) => {{ const c = window.revincula.layers.casos;
            const v = c.getVisibleParent(({FIND_MARKER})(id));
            if (!v || !v._icon) {{ return null; }}
            const r = v._icon.getBoundingClientRect();
            const cases = v.getAllChildMarkers ? v.getAllChildMarkers() : [v];
            return {{x: r.x + r.width / 2, y: r.y + r.height / 2,
                    n: cases.reduce((s, m) => s + (m.options.cases || 1), 0),
                    text: v._icon.innerText}}; }}""",
            ids[0],
        )
        assert box is not None
        if box["n"] == 1:
            return "marker"
        assert int(box["text"].replace(".", "")) == box["n"] >= len(ids)  # the badge counts cases
        # a click on the badge itself (a health or school marker may sit over it)
        page.evaluate(
            f"""(id) => {{ const c = window.revincula.layers.casos;
              c.getVisibleParent(({FIND_MARKER})(id))._icon.dispatchEvent(
                new MouseEvent('click', {{bubbles: true, cancelable: true}})); }}""",
            ids[0],
        )
        page.wait_for_timeout(400)
        page.wait_for_function("() => !window.revincula.map._animatingZoom", timeout=10_000)
        page.wait_for_timeout(300)
        if page.locator(".point-list").count():
            return "list"
        if page.evaluate("!!window.revincula.layers.casos._spiderfied"):
            return "spider"
    return "closed"


@pytest.mark.parametrize("zoom", [10, 14, 18])
def test_every_case_at_one_point_is_reachable_at_every_zoom(markup_server, browser, zoom):
    base = markup_server["base"]
    local = open_local_page(browser, 1366, 900, base=base, user="admin.prueba")
    page = local.page
    page.goto(base + "/")
    page.wait_for_function("() => window.revincula && window.revincula.cases", timeout=20_000)
    groups = sorted(_groups_at_one_point(page), key=lambda g: -len(g[1]))
    big = groups[0]
    small = next(g for g in groups if 2 <= len(g[1]) <= 12)
    assert len(big[1]) > 12, len(big[1])
    # Many cases at one point: a popup lists every one of them, with a link to each.
    how = _click_until_open(page, big[0], big[1], zoom)
    assert how == "list"
    links = page.locator(".point-list a")
    assert links.count() == len(big[1])
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert hrefs == {f"casos/{i}" for i in big[1]}
    assert f"{len(big[1])} casos en este punto" in page.locator(".point-list").inner_text()
    _shot(page, f"casos_un_punto_lista_z{zoom}")
    page.evaluate("window.revincula.map.closePopup()")
    # A few cases at one point: they fan out (spiderfy) and each opens its own popup.
    how = _click_until_open(page, small[0], small[1], zoom)
    assert how == "spider"
    opened = set()
    for case_id in small[1]:
        page.evaluate(
            """(id) => { window.revincula.layers.casos.getLayers().forEach(m => {
              if (m.feature.properties.id === id) { m.openPopup(); } }); }""",
            case_id,
        )
        if f"Caso {case_id}" in page.locator(".leaflet-popup-content").last.inner_text():
            opened.add(case_id)
    assert opened == set(small[1])
    _shot(page, f"casos_un_punto_abanico_z{zoom}")
    assert local.errors == [] and local.blocked == []
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_plan_page_tells_gestor_days_apart_finds_visits_and_warns_when_published(
    markup_server, browser, size
):
    base, plan_id = markup_server["base"], markup_server["plan"]
    local = open_local_page(browser, *SIZES[size], base=base, user="admin.prueba")
    page = local.page
    page.goto(f"{base}/planificacion/{plan_id}")
    page.wait_for_function(
        "() => window.revincula && window.revincula.planFeatures > 0", timeout=20_000
    )
    days = page.locator(".day-head").count()
    rows = page.locator("#plan-legend .day-legend li")
    assert rows.count() == days  # one legend row per gestor-day
    texts = rows.all_inner_texts()
    assert len(set(texts)) == days and all("visita" in t for t in texts)
    # each weekday has its own line style: no two rows share colour and dash pattern
    samples = page.evaluate(
        """() => Array.from(document.querySelectorAll('#plan-legend svg line')).map(
          l => l.getAttribute('stroke') + '/' + (l.getAttribute('stroke-dasharray') || ''))"""
    )
    assert len(set(samples)) == days
    # the legend filters: one gestor-day alone leaves only its stops and lines
    lines_all = page.evaluate(
        "window.revincula.planMap._layers && document.querySelectorAll("
        "'#plan-map path.leaflet-interactive').length"
    )
    page.click("#plan-legend button:has-text('Ninguno')")
    assert page.locator("#plan-map path.leaflet-interactive").count() == 0
    assert page.evaluate("window.revincula.stops.getLayers().length") == 0
    rows.first.locator("input").check()
    first_visits = int(texts[0].split(": ")[1].split(" ")[0])
    assert page.evaluate("window.revincula.stops.getLayers().length") == first_visits
    assert 0 < page.locator("#plan-map path.leaflet-interactive").count() < lines_all
    _shot(page, f"plan_filtro_{size}")
    page.click("#plan-legend button:has-text('Todos')")
    # the move picker is searched by name or place
    picker = page.locator("#move-visit option")
    total = picker.count()
    name = page.locator(".day-table a").first.inner_text()
    page.fill("#move-search", name.split()[0].lower())
    visible = page.evaluate(
        "Array.from(document.querySelectorAll('#move-visit option')).filter(o => !o.hidden).length"
    )
    assert 1 <= visible < total
    assert name in page.locator("#move-visit").evaluate("s => s.selectedOptions[0].textContent")
    assert "visitas" in page.locator("#move-count").inner_text()
    assert local.errors == [] and local.blocked == []
    page.close()


def test_moving_a_visit_of_a_published_plan_is_said_and_confirmed(markup_server, browser):
    base, plan_id = markup_server["base"], markup_server["plan"]
    local = open_local_page(browser, 1366, 900, base=base, user="admin.prueba")
    page = local.page
    page.goto(f"{base}/planificacion/{plan_id}")
    assert page.locator("#move-published").count() == 0  # a draft: nothing to warn about
    page.click("#publish")
    page.wait_for_selector("text=Plan publicado")
    warning = page.locator("#move-published")
    assert "publicado" in warning.inner_text() and "Mi día" in warning.inner_text()
    # without the box ticked the browser refuses; a request without it is refused by the server
    page.evaluate(
        "document.querySelector('[name=confirmar_publicado]').removeAttribute('required')"
    )
    page.select_option("#move-target", "sin_asignar")
    page.click("#move-form button[type=submit]")
    page.wait_for_load_state()
    assert "Marque «Entiendo que cambia un día publicado»" in page.inner_text(".flashes")
    page.check("[name=confirmar_publicado]")
    page.select_option("#move-target", "sin_asignar")
    page.click("#move-form button[type=submit]")
    page.wait_for_load_state()
    flash = page.inner_text(".flashes")
    assert "Cambio guardado" in flash and "avise a los gestores" in flash
    page.wait_for_function(
        "() => window.revincula && window.revincula.planFeatures > 0", timeout=20_000
    )
    _shot(page, "plan_publicado_mover")
    assert local.errors == [] and local.blocked == []
    page.close()


ACHAO = (-73.4917, -42.4715)  # lon, lat of the town (OSM place node, rounded)


@pytest.mark.parametrize("size", list(SIZES))
def test_map_names_comunas_explains_clusters_and_folds_its_legend(markup_server, browser, size):
    base = markup_server["base"]
    local = open_local_page(browser, *SIZES[size], base=base, user="admin.prueba")
    page = local.page
    page.goto(base + "/")
    page.wait_for_function("() => window.revincula && window.revincula.ready", timeout=20_000)
    labels = page.locator(".comuna-label")
    assert labels.count() == 10
    assert "Quinchao" in labels.all_inner_texts()
    # health clusters keep their kind's colour and letter; the legend says so
    assert page.locator(".health-cluster:not(.legend *)").count() > 0
    legend = page.locator(".legend details")
    assert legend.get_attribute("open") is None  # folded: it would cover the south
    _shot(page, f"mapa_leyenda_cerrada_{size}")
    page.click(".legend summary")
    assert legend.get_attribute("open") is not None
    text = page.locator(".legend").inner_text()
    assert "varios del mismo tipo" in text and "casos agrupados" in text and "Crítica" in text
    _shot(page, f"mapa_leyenda_abierta_{size}")
    assert local.errors == [] and local.blocked == []
    page.close()


def test_the_mesa_legend_and_the_quinchao_circle(markup_server, browser):
    base = markup_server["base"]
    local = open_local_page(browser, 1366, 900, base=base, user="mesa.prueba")
    page = local.page
    page.goto(base + "/")
    page.wait_for_function("() => window.revincula && window.revincula.cases", timeout=20_000)
    page.click(".legend summary")
    text = page.locator(".legend").inner_text()
    assert "Casos por comuna" in text
    assert "Crítica" not in text and page.locator(".legend .case-marker").count() == 0
    features = page.evaluate("fetch('api/agregados/comunas.geojson').then(r => r.json())")[
        "features"
    ]
    quinchao = next(f for f in features if f["properties"]["comuna"] == "Quinchao")
    lon, lat = quinchao["geometry"]["coordinates"]
    # within ~3 km of Achao, on Isla Quinchao (not on a small far island)
    assert abs(lon - ACHAO[0]) < 0.04 and abs(lat - ACHAO[1]) < 0.03, (lon, lat)
    _shot(page, "mesa_mapa_leyenda")
    assert local.errors == [] and local.blocked == []
    page.close()


@pytest.mark.parametrize("width", [1366, 1200, 1024])
def test_the_admin_top_bar_is_one_line(markup_server, browser, width):
    base = markup_server["base"]
    local = open_local_page(browser, width, 900, base=base, user="admin.prueba")
    page = local.page
    page.goto(base + "/casos")
    bar = page.evaluate(
        """() => { const b = document.querySelector('.topbar');
        const items = '.mainnav > a, .mainnav > details > summary, .actor a, .actor button';
        const tops = Array.from(b.querySelectorAll(items))
          .filter(e => e.offsetParent !== null)
          .map(e => Math.round(e.getBoundingClientRect().top));
        const nav = document.querySelector('.mainnav');
        return {height: b.getBoundingClientRect().height, tops: tops,
                clipped: nav.scrollWidth > nav.clientWidth + 1}; }"""
    )
    assert bar["height"] <= 44 and max(bar["tops"]) - min(bar["tops"]) < 10, bar  # one line
    assert not bar["clipped"], bar
    page.screenshot(
        path=str(SCREENSHOTS / f"barra_admin_{width}.png"),
        clip={"x": 0, "y": 0, "width": width, "height": 60},
    )
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_lists_say_what_they_count_and_what_they_ignore(markup_server, browser, size):
    base = markup_server["base"]
    local = open_local_page(browser, *SIZES[size], base=base, user="admin.prueba")
    page = local.page
    page.goto(base + "/casos?pagina=99999")
    assert "Casos en la última lista" in page.locator("h1").inner_text()
    assert "La página 99999 no existe" in page.locator("#page-clamped").inner_text()
    assert "La última lista tiene" in page.locator("#list-counts").inner_text()
    _shot(page, f"casos_pagina_fuera_{size}")
    page.goto(base + "/admin/auditoria?desde=31-02-2026")
    assert "no es una fecha" in page.locator(".filter-problem").first.inner_text()
    _shot(page, f"auditoria_fecha_invalida_{size}")
    assert local.errors == [] and local.blocked == []
    page.close()
