"""Bad query arguments on the coverage pages: 400 with a Spanish message, never 500.

On SQLite and PostgreSQL: a number past the database's INTEGER once reached the
query and failed there (OverflowError / NumericValueOutOfRange → 500).
"""

from __future__ import annotations

import pytest

from geo_app import create_app
from tests.accounts import login


@pytest.fixture
def client(db_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url})
    yield login(app.test_client(), app, "mesa")
    app.extensions["revincula.engine"].dispose()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("/cobertura?corrida=abc", "El cálculo «abc» no es válido"),
        ("/cobertura?corrida=-1", "El cálculo «-1» no es válido"),
        ("/cobertura?corrida=0", "El cálculo «0» no es válido"),
        ("/cobertura?corrida=1e9", "«corrida» debe ser el número de un cálculo"),
        ("/cobertura?corrida=99999999999999999999", "El cálculo «99999999999999999999»"),
        ("/cobertura?corrida=%D9%A3", "no es válido"),  # an Arabic-Indic digit three
        ("/cobertura/comparar?a=x&b=2", "El primer cálculo «x» no es válido"),
        ("/cobertura/comparar?a=1&b=99999999999999999999", "El segundo cálculo"),
        ("/cobertura/comparar", "Elija dos cálculos para comparar"),
        ("/cobertura/servicios?tipo=zzz", "Tipo de servicio «zzz» desconocido"),
    ],
)
def test_a_bad_argument_is_a_400_in_spanish(client, url, said):
    response = client.get(url)
    body = response.get_data(as_text=True)
    assert response.status_code == 400, body[:300]
    assert said in body
    assert "Traceback" not in body and "Error" not in body.split("<title>")[0]


def test_good_arguments_still_work(client):
    assert client.get("/cobertura").status_code == 200
    assert client.get("/cobertura?corrida=").status_code == 200
    assert client.get("/cobertura?corrida=2147483647").status_code == 404  # valid, absent
    assert client.get("/cobertura/servicios?tipo=cesfam").status_code == 200
