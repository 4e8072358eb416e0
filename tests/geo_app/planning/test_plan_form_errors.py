"""Past weeks and the plan form's errors (issue 17 item 14), with the Flask test client.

Planning a week that has passed is refused with a Spanish message naming the
field; publishing a plan whose week has passed needs an explicit confirmation;
every error of the plan form says which field is wrong and keeps what was typed.
"today" comes from the app's ``TODAY`` setting so the tests do not depend on the clock.
"""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from geo_app.cli import main
from geo_app.planning.plans import past_week_message
from geo_app.store.models import PlanRow
from tests.accounts import csrf
from tests.geo_app.planning.test_planning_app import GESTORES
from tests.geo_app.planning.test_planning_app import MONDAY
from tests.geo_app.planning.test_planning_app import app  # noqa: F401 (fixture)
from tests.geo_app.planning.test_planning_app import client  # noqa: F401 (fixture)
from tests.geo_app.planning.test_planning_app import create
from tests.geo_app.planning.test_planning_app import stored
from tests.geo_app.planning.test_planning_app import wait_done

NEXT_MONDAY = MONDAY + dt.timedelta(days=7)


def count(app) -> int:  # noqa: F811
    with app.extensions["revincula.db"]() as session:
        return session.query(PlanRow).count()


def test_which_weeks_have_passed():
    sunday = MONDAY + dt.timedelta(days=6)
    assert past_week_message(MONDAY, sunday) == ""  # the current week, up to its Sunday
    assert past_week_message(NEXT_MONDAY, MONDAY) == ""
    assert past_week_message(MONDAY + dt.timedelta(days=2), NEXT_MONDAY) == (
        "La semana del 09-03-2026 ya pasó (terminó el domingo 15-03-2026; hoy es 16-03-2026): "
        "elija la semana actual o una futura."
    )


def form(client, **change):  # noqa: F811
    data = {"csrf": csrf(client), "semana": MONDAY.isoformat(), "gestor": ["castro"],
            "comuna": ["Castro"], "casos": "50", "segundos": "1", "prioridad_min": "0",
            "aloja_gestor_1": "castro", "aloja_noche_1": MONDAY.isoformat(),
            "aloja_lugar_1": "Curaco de Vélez", "aloja_sale_1": "07:40"}  # fmt: skip
    data.update(change)
    return client.post("/planificacion", data=data)


def test_a_past_week_is_refused_naming_the_field_and_keeping_what_was_typed(app, client):  # noqa: F811
    app.config["TODAY"] = NEXT_MONDAY  # the week of MONDAY has passed
    response = form(client)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Semana: La semana del 09-03-2026 ya pasó" in page
    assert 'name="semana" value="2026-03-09" min="2026-03-16" required aria-invalid="true"' in page
    # what was typed is still there: cases, seconds, the chosen gestor only, the comuna, the stay
    assert 'name="casos" value="50"' in page and 'name="segundos" value="1"' in page
    assert 'value="castro" checked' in page and 'value="corto" checked' not in page
    assert "<option selected>Castro</option>" in page
    assert 'name="aloja_lugar_1" placeholder="p. ej. Quenac" value="Curaco de Vélez"' in page
    assert 'name="aloja_sale_1" value="07:40"' in page
    assert '<option value="castro" selected>' in page
    assert count(app) == 0
    # the current week (today a Wednesday) is still planned
    app.config["TODAY"] = MONDAY + dt.timedelta(days=2)
    assert form(client).status_code == 302
    assert count(app) == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"semana": "9/3/2026"}, "semana",
         "Semana: «9/3/2026» no es una fecha; elija el lunes de la semana (AAAA-MM-DD)."),
        ({"casos": "muchos"}, "casos",
         "Casos candidatos: «muchos» no es un número; escriba un número entre 1 y 1000."),
        ({"segundos": "0"}, "segundos",
         "Segundos de optimización: 0 está fuera de rango; escriba un número entre 1 y 600."),
        ({"prioridad_min": "alta"}, "prioridad_min", "Prioridad mínima: «alta» no es un número"),
        ({"gestor": []}, "gestor", "Gestores: elija al menos un gestor disponible"),
        ({"prioridad_min": "100"}, "comuna", "no hay casos ubicados con esos filtros"),
        ({"aloja_lugar_1": ""}, "aloja_1", "Alojamientos: fila 1: falta el lugar del alojamiento"),
    ],
)  # fmt: skip
def test_each_form_error_names_its_field_and_keeps_the_rest(app, client, change, field, message):  # noqa: F811
    response = form(client, **change)
    assert response.status_code == 400
    page = response.get_data(as_text=True).replace("&#34;", '"')
    assert message in page
    assert 'id="form-error"' in page and "Lo que escribió se conservó" in page
    marked = page.count('aria-invalid="true"')
    assert marked == 1, field
    if field.startswith("aloja_"):
        assert 'class="stay-row field-error"' in page
    elif field == "gestor":
        assert '<fieldset class="field-error" aria-invalid="true"><legend>Gestores' in page
    else:
        assert f'name="{field}"' in page.split('aria-invalid="true"')[0].rsplit("<", 1)[-1]
    typed = {"casos": "50", "segundos": "1", "aloja_lugar_1": "Curaco de Vélez", **change}
    for name in ("casos", "segundos"):
        assert f'name="{name}" value="{typed[name]}"' in page
    assert count(app) == 0


def test_publishing_a_past_week_asks_for_confirmation(app, client):  # noqa: F811
    plan_id = create(client)
    assert wait_done(client, plan_id)["estado"] == "listo"
    page = client.get(f"/planificacion/{plan_id}").get_data(as_text=True)
    assert 'id="past-week"' not in page  # this week: no question asked
    app.config["TODAY"] = NEXT_MONDAY + dt.timedelta(days=1)
    page = client.get(f"/planificacion/{plan_id}").get_data(as_text=True)
    assert 'id="past-week"' in page and "Publicar igual, la semana ya pasó" in page
    version = stored(app, plan_id).version
    response = client.post(
        f"/planificacion/{plan_id}/publicar", data={"csrf": csrf(client), "version": version}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "La semana del 09-03-2026 ya pasó" in page and "marque «Publicar igual" in page
    assert stored(app, plan_id).status == "borrador"
    client.post(
        f"/planificacion/{plan_id}/publicar",
        data={"csrf": csrf(client), "version": version, "confirmar_pasada": "1"},
    )
    assert stored(app, plan_id).status == "publicado"


def test_the_cli_refuses_a_past_week(app, client, db_url, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    monkeypatch.setenv("REVINCULA_TODAY", NEXT_MONDAY.isoformat())
    gestores = tmp_path / "gestores.csv"
    gestores.write_text(GESTORES, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["plan", "--week", MONDAY.isoformat(), "--gestores", str(gestores),
               "-o", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "La semana del 09-03-2026 ya pasó" in result.output
    assert not (tmp_path / "out").exists()


def test_every_error_of_the_form_is_shown_at_once(app, client):  # noqa: F811
    response = form(client, semana="9/3/2026", casos="muchos", segundos="0",
                    prioridad_min="alta", aloja_lugar_1="")  # fmt: skip
    assert response.status_code == 400
    page = response.get_data(as_text=True).replace("&#34;", '"')
    assert "No se creó el plan: hay 5 problemas." in page
    for message in (
        "Semana: «9/3/2026» no es una fecha",
        "Casos candidatos: «muchos» no es un número",
        "Segundos de optimización: 0 está fuera de rango",
        "Prioridad mínima: «alta» no es un número",
        "Alojamientos: fila 1: falta el lugar del alojamiento",
    ):
        assert page.count(message) == 1, message
    assert page.count('aria-invalid="true"') == 5  # semana, casos, segundos, prioridad, fila 1
    assert "corrija los campos marcados" in page
    assert count(app) == 0
