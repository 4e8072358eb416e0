"""Opening days of a service (`layers.services.parse_days`)."""

from __future__ import annotations

from layers.services import parse_days


def test_a_range_of_days_covers_every_day_in_between():
    # "lu-vi" is Monday to Friday, not only Monday and Friday
    assert parse_days("lu-vi") == frozenset(range(5))
    assert parse_days("Lu - Vi") == frozenset(range(5))
    assert parse_days("lunes a viernes") == frozenset(range(5))
    assert parse_days("lu-do") == frozenset(range(7))
    assert parse_days("lu,mi,vi") == frozenset({0, 2, 4})
    assert parse_days("ma-ju, sa") == frozenset({1, 2, 3, 5})
    assert parse_days("vi-lu") is None
    assert parse_days("") is None
