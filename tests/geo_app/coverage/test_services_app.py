"""/cobertura/servicios by hand in the app: add, edit against a version, retire; audited.

Two staff accounts edit the same service: the one who saves second, against the
version read before, is refused in Spanish, and the form comes back with what was
typed and what is stored now (nothing lost). SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from geo_app.store.models import AuditEntry
from geo_app.store.models import CoverageService
from tests.accounts import csrf
from tests.accounts import login

# synthetic service on Chiloé's land (Castro)
ADD = {
    "accion": "agregar",
    "nombre": "Posta sintética Llau-Llao",
    "tipo": "posta",
    "lat": "-42.4801",
    "lon": "-73.7621",
    "dias": "lu-vi",
    "abre": "08:30",
    "cierra": "17:00",
}


def _form(page: str) -> dict[str, str]:
    """The edit form's fields as the page shows them (inputs and the selected type)."""
    form = page.split('id="service-edit"', 1)[1]
    fields = {n: html.unescape(v) for n, v in re.findall(r'name="(\w+)" value="([^"]*)"', form)}
    fields["tipo"] = re.search(r'<option value="(\w+)" selected', form).group(1)
    return fields


def _retire_form(listing: str, service_id: str) -> dict[str, str]:
    """The hidden fields of the listing's retire form of one service."""
    forms = re.findall(r"<form[^>]*>(.*?)</form>", listing, re.S)
    form = next(f for f in forms if f'name="id" value="{service_id}"' in f)
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_staff_edit_a_service_and_a_stale_edit_is_refused_with_nothing_lost(cov_app):
    ana = login(cov_app.test_client(), cov_app, "profesional", username="ana.prueba")
    bea = login(cov_app.test_client(), cov_app, "profesional", username="bea.prueba")
    mesa = login(cov_app.test_client(), cov_app, "mesa")
    response = ana.post("/cobertura/servicios", data={**ADD, "csrf": csrf(ana)})
    assert response.status_code == 302
    sessions = cov_app.extensions["revincula.db"]
    with sessions() as db:
        service_id = db.scalar(select(CoverageService.service_id))
    listing = ana.get("/cobertura/servicios").get_data(as_text=True)
    assert f"/cobertura/servicios/{service_id}/editar" in listing
    assert mesa.get(f"/cobertura/servicios/{service_id}/editar").status_code == 403
    url = f"/cobertura/servicios/{service_id}/editar"
    ana_form = _form(ana.get(url).get_data(as_text=True))
    bea_form = _form(bea.get(url).get_data(as_text=True))
    assert ana_form["nombre"] == ADD["nombre"] and ana_form["version"] == bea_form["version"]
    # bea saves first
    saved = bea.post(url, data={**bea_form, "nombre": "Posta sintética Llau-Llao (nueva)",
                                "csrf": csrf(bea)})  # fmt: skip
    assert saved.status_code == 302
    # ana saves against the version she read: refused, her changes shown again
    stale = ana.post(url, data={**ana_form, "cierra": "18:00", "csrf": csrf(ana)})
    assert stale.status_code == 409
    page = html.unescape(stale.get_data(as_text=True))
    assert "Otra persona guardó" in page and "recargue" in page
    again = _form(page)
    assert again["cierra"] == "18:00" and again["nombre"] == ADD["nombre"]  # what ana typed
    assert "Posta sintética Llau-Llao (nueva)" in page.split('id="service-saved-now"', 1)[1]
    with sessions() as db:
        row = db.scalar(select(CoverageService))
        assert row.name.endswith("(nueva)") and row.closes == "17:00"  # bea's save kept
    # a bad field: refused in Spanish, typed values kept, nothing saved
    bad = ana.post(url, data={**again, "abre": "8 y media", "csrf": csrf(ana)})
    assert bad.status_code == 400
    bad_page = html.unescape(bad.get_data(as_text=True))
    assert "«abre»" in bad_page and _form(bad_page)["abre"] == "8 y media"
    # after looking at what is stored, ana saves against the new version
    final = ana.post(url, data={**again, "nombre": "Posta sintética Llau-Llao (nueva)",
                                "csrf": csrf(ana)})  # fmt: skip
    assert final.status_code == 302
    with sessions() as db:
        row = db.scalar(select(CoverageService))
        assert row.closes == "18:00" and row.name.endswith("(nueva)")
        audits = db.scalars(
            select(AuditEntry).where(
                AuditEntry.target == "servicios", AuditEntry.action == "cambiar"
            )
        ).all()
    assert [a.username for a in audits] == ["ana.prueba", "bea.prueba", "ana.prueba"]
    assert all(a.target_id in ("", service_id) for a in audits)
    # retire by hand: it leaves the registry and is listed as retired, audited
    listing = ana.get("/cobertura/servicios").get_data(as_text=True)
    retire = {**_retire_form(listing, service_id), "motivo": "cerró", "csrf": csrf(ana)}
    assert retire["accion"] == "retirar" and retire["version"] == str(row.version)
    assert ana.post("/cobertura/servicios", data=retire).status_code == 302
    listing = ana.get("/cobertura/servicios").get_data(as_text=True)
    assert "Retirados" in listing and "cerró (retirado por ana.prueba)" in listing


def test_a_bundled_service_cannot_be_edited_in_place(cov_app):
    ana = login(cov_app.test_client(), cov_app, "profesional")
    response = ana.get("/cobertura/servicios/no-existe/editar")
    assert response.status_code == 404


def test_a_retire_from_a_page_read_before_another_change_is_refused(cov_app):
    ana = login(cov_app.test_client(), cov_app, "profesional", username="ana.prueba")
    bea = login(cov_app.test_client(), cov_app, "profesional", username="bea.prueba")
    assert ana.post("/cobertura/servicios", data={**ADD, "csrf": csrf(ana)}).status_code == 302
    sessions = cov_app.extensions["revincula.db"]
    with sessions() as db:
        service_id = db.scalar(select(CoverageService.service_id))
    read_by_ana = _retire_form(ana.get("/cobertura/servicios").get_data(as_text=True), service_id)
    # a bundled service too: never stored, so its form carries version 0
    listing = bea.get("/cobertura/servicios?tipo=posta").get_data(as_text=True)
    bundled = re.search(r'name="id" value="(deis-[^"]+)"', listing).group(1)
    bundled_read_by_ana = _retire_form(listing, bundled)
    assert bundled_read_by_ana["version"] == "0"
    # bea edits the service and retires the bundled one after ana's page was read
    url = f"/cobertura/servicios/{service_id}/editar"
    bea_form = _form(bea.get(url).get_data(as_text=True))
    edited = bea.post(url, data={**bea_form, "cierra": "18:00", "csrf": csrf(bea)})
    assert edited.status_code == 302
    bea_retire = {**_retire_form(listing, bundled), "motivo": "cerró", "csrf": csrf(bea)}
    assert bea.post("/cobertura/servicios", data=bea_retire).status_code == 302
    # ana retires both from her stale page: refused in Spanish, nothing overwritten
    for form in (read_by_ana, bundled_read_by_ana):
        stale = ana.post(
            "/cobertura/servicios",
            data={**form, "motivo": "en reparación", "csrf": csrf(ana)},
            follow_redirects=True,
        )
        page = html.unescape(stale.get_data(as_text=True))
        assert "no se retiró" in page and "recargue la página" in page
    with sessions() as db:
        edited_row = db.scalar(
            select(CoverageService).where(CoverageService.service_id == service_id)
        )
        assert not edited_row.retired and edited_row.closes == "18:00"
        retired_row = db.scalar(
            select(CoverageService).where(CoverageService.service_id == bundled)
        )
        assert retired_row.retired_reason == "cerró (retirado por bea.prueba)"
