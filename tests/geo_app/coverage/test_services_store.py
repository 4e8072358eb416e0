"""The team's services: import all or nothing, add, edit, retire (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from geo_app.coverage import services as store
from geo_app.errors import ConflictError
from geo_app.errors import InvalidRequestError
from geo_app.store.models import CoverageService

# synthetic services; points on Chiloé's land (Castro, Achao) and one far at sea
GOOD = (
    "nombre,tipo,lat,lon,dias,abre,cierra\n"
    "Posta sintética Castro,posta rural,-42.4801,-73.7621,lu-vi,08:30,17:00\n"
    "OPD sintética Achao,OPD,-42.4700,-73.4900,,,\n"
)
BAD = (
    "nombre,tipo,lat,lon,dias,abre,cierra\n"
    "Posta sintética Castro,posta rural,-42.4801,-73.7621,lu-vi,08:30,17:00\n"
    "Servicio en el mar,posta,-43.9,-75.9,,,\n"
    "Tipo raro,peluquería,-42.48,-73.76,,,\n"
    "Horas malas,posta,-42.48,-73.76,lu,8 y media,17:00\n"
)


def test_import_stores_every_row_with_provenance(sessions, territory):
    with sessions() as db, db.begin():
        rows = store.import_services(db, territory, GOOD.encode(), "mis_servicios.csv", actor="ana")
    assert len(rows) == 2
    with sessions() as db:
        stored = db.scalars(select(CoverageService).order_by(CoverageService.id)).all()
        assert [s.service_type for s in stored] == ["posta", "proteccion_infancia"]
        assert all("mis_servicios.csv" in s.source and "ana" in s.source for s in stored)
        assert stored[0].hours_assumed is False and stored[1].hours_assumed is True
        reg = store.registry(db, territory)
    assert {s.service_id for s in stored} <= set(reg["service_id"])
    mine = reg[reg["origin"] == "importado"]
    assert mine["usable"].all() and len(mine) == 2


def test_a_file_with_errors_imports_nothing_and_names_every_bad_row(sessions, territory):
    with sessions() as db, db.begin(), pytest.raises(store.ServicesFileError) as err:
        store.import_services(db, territory, BAD.encode(), "malo.csv", actor="ana")
    text = str(err.value)
    assert "No se importó nada" in text
    assert "fila 3" in text and "fuera del territorio" in text
    assert "fila 4" in text and "no es un tipo conocido" in text
    assert "fila 5" in text and "HH:MM" in text
    assert "fila 2" not in text
    with sessions() as db:
        assert db.scalar(select(CoverageService.id)) is None


def test_add_edit_and_retire_by_hand(sessions, territory):
    form = store.ServiceForm(nombre="Posta sintética", tipo="posta", lat="-42.48", lon="-73.76")
    with sessions() as db, db.begin():
        row = store.add_service(db, territory, form, actor="ana")
        service_id, version = row.service_id, row.version
    bad = store.ServiceForm(nombre="", tipo="posta", lat="-42.48", lon="-73.76", abre="25:00")
    with sessions() as db, db.begin(), pytest.raises(store.ServicesFileError) as err:
        store.edit_service(db, territory, service_id, bad, expected_version=version, actor="ana")
    assert "«nombre»" in str(err.value) and "«abre»" in str(err.value)
    renamed = store.ServiceForm(nombre="Posta nueva", tipo="posta", lat="-42.48", lon="-73.76")
    with sessions() as db, db.begin():
        store.edit_service(
            db, territory, service_id, renamed, expected_version=version, actor="bea"
        )
    with sessions() as db, db.begin(), pytest.raises(ConflictError):
        store.edit_service(db, territory, service_id, form, expected_version=version, actor="ana")
    with sessions() as db:
        version = db.scalar(select(CoverageService.version))  # bea's save: the version now
    with sessions() as db, db.begin(), pytest.raises(InvalidRequestError):
        store.retire_service(
            db, territory, service_id, reason=" ", expected_version=version, actor="ana"
        )
    with sessions() as db, db.begin():
        store.retire_service(
            db, territory, service_id, reason="cerró", expected_version=version, actor="ana"
        )
        reg = store.registry(db, territory)
        assert service_id not in set(reg["service_id"])
    # a bundled service can be retired too (and then never counts as the nearest); it had
    # no stored row when its page was read: version 0
    with sessions() as db, db.begin():
        base = store.registry(db, territory)
        posta = base[base["service_type"] == "posta"].iloc[0]["service_id"]
        store.retire_service(
            db, territory, posta, reason="en reparación", expected_version=0, actor="ana"
        )
        assert posta not in set(store.registry(db, territory)["service_id"])


def test_retiring_never_overrides_a_change_saved_in_between(sessions, territory):
    form = store.ServiceForm(nombre="Posta sintética", tipo="posta", lat="-42.48", lon="-73.76")
    with sessions() as db, db.begin():
        row = store.add_service(db, territory, form, actor="ana")
        service_id, read_by_ana = row.service_id, row.version
    # bea moves the service (a new version) while ana's page still shows the old one
    moved = store.ServiceForm(nombre="Posta sintética", tipo="posta", lat="-42.47", lon="-73.75")
    with sessions() as db, db.begin():
        store.edit_service(
            db, territory, service_id, moved, expected_version=read_by_ana, actor="bea"
        )
    with sessions() as db, db.begin(), pytest.raises(ConflictError) as err:
        store.retire_service(
            db, territory, service_id, reason="cerró", expected_version=read_by_ana, actor="ana"
        )
    assert "Otra persona cambió «Posta sintética»" in str(err.value)
    assert "no se retiró" in str(err.value) and "recargue" in str(err.value)
    with sessions() as db:
        row = db.scalar(select(CoverageService))
        assert not row.retired and row.lat == pytest.approx(-42.47)  # bea's move kept
        assert service_id in set(store.registry(db, territory)["service_id"])
    # two people retire the same bundled service from pages read before either did
    with sessions() as db:
        base = store.registry(db, territory)
        posta = base[base["service_type"] == "posta"].iloc[0]["service_id"]
    with sessions() as db, db.begin():
        store.retire_service(db, territory, posta, reason="cerró", expected_version=0, actor="bea")
    with sessions() as db, db.begin(), pytest.raises(ConflictError) as err:
        store.retire_service(
            db, territory, posta, reason="en reparación", expected_version=0, actor="ana"
        )
    assert "Otra persona retiró" in str(err.value)
    with sessions() as db:
        stored = db.scalar(select(CoverageService).where(CoverageService.service_id == posta))
        assert stored.retired_reason == "cerró (retirado por bea)"  # bea's reason kept


def test_hand_added_point_at_sea_is_refused(sessions, territory):
    form = store.ServiceForm(nombre="En el mar", tipo="posta", lat="-43.9", lon="-75.9")
    with sessions() as db, db.begin(), pytest.raises(store.ServicesFileError) as err:
        store.add_service(db, territory, form, actor="ana")
    assert "fuera del territorio" in str(err.value)
