"""`revincula route` takes negative coordinates as arguments (issue 17, item 10).

Every coordinate in Chile is negative; click read ``-42.50,-73.69`` as the
option ``-4`` («No such option '-4'»).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from geo_app.cli import main

AT = ["--at", "2026-03-10 08:00"]


@pytest.mark.parametrize(
    "args",
    [
        ["-42.48,-73.76", "-42.61,-73.65", *AT],  # both first, options after
        [*AT, "-42.48,-73.76", "-42.61,-73.65"],
        ["-42.48, -73.76", "-42.61;-73.65", *AT],  # a space, a semicolon
        ["Castro", "-42.61,-73.65", *AT],
        ["-42.48,-73.76", "Castro", *AT],
        [*AT, "--", "Chonchi", "-42.61,-73.65"],  # the form of the case
    ],
)
def test_negative_coordinates_are_arguments(args):
    result = CliRunner().invoke(main, ["route", "--json", *args])
    assert result.exit_code == 0, result.output
    journey = json.loads(result.output)
    assert journey["alcanzable"]


def test_the_coordinates_are_read_as_lat_lon():
    result = CliRunner().invoke(main, ["route", "-42.48,-73.76", "-42.61,-73.65", *AT, "--json"])
    journey = json.loads(result.output)
    assert journey["origen"] == "-42.48000,-73.76000"
    assert journey["destino"] == "-42.61000,-73.65000"


def test_a_negative_coordinate_as_an_option_value():
    result = CliRunner().invoke(
        main, ["route", "Castro", "-42.61,-73.65", *AT, "--a-pie", "--vehiculo-en", "-42.48,-73.76"]
    )
    assert result.exit_code == 0, result.output
    assert "De Castro a -42.61000,-73.65000" in result.output


def test_an_unknown_option_is_still_refused_in_spanish():
    result = CliRunner().invoke(main, ["route", "-42.48,-73.76", "--bad", "x", *AT])
    assert result.exit_code == 2
    assert "Opción desconocida '--bad'" in result.output
    assert "--at" in result.output
    assert '"-42.50,-73.69"' in result.output
    # a word that only starts like a number is not a coordinate
    result = CliRunner().invoke(main, ["route", "-4x", "Castro", *AT])
    assert "Opción desconocida '-4x'" in result.output


def test_coordinates_out_of_range_are_explained():
    result = CliRunner().invoke(main, ["route", "-142.48,-73.76", "Castro", *AT])
    assert result.exit_code == 1
    assert "no son válidas" in result.output
    assert "latitud entre -90 y 90" in result.output
