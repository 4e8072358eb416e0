"""Invisible and control characters: the input cleaning and the terminal escaping."""

from __future__ import annotations

import unicodedata

import pytest

from layers.text import INVISIBLE
from layers.text import clean_cell
from layers.text import clean_text
from layers.text import count_label
from layers.text import number_es
from layers.text import plural_es
from layers.text import terminal_safe

# Unicode 15 made seven more Egyptian hieroglyph format controls (U+13439–U+1343F); this
# Python's unicodedata may be older, so they are matched whether or not it knows them.
UNICODE_15_FORMAT = set(range(0x13439, 0x13440))


def test_invisible_is_exactly_unicodes_control_and_format_characters():
    expected, matched = set(), set()
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) in ("Cc", "Cf") and char not in "\t\n\r":
            expected.add(code)
        if INVISIBLE.fullmatch(char):
            matched.add(code)
    assert expected <= matched, sorted(hex(c) for c in expected - matched)
    assert matched - expected <= UNICODE_15_FORMAT


@pytest.mark.parametrize(
    ("raw", "clean", "removed"),
    [("Ana", "Ana", 0),
     ("  Ana  ", "Ana", 0),
     ("An\u200ba", "Ana", 1),  # zero-width space
     ("\u202eanA", "anA", 1),  # right-to-left override: the stored text is what was typed
     ("Calle 1\r\nCastro", "Calle 1 Castro", 0),  # visible line breaks become a space
     ("Calle 1\u2028Castro", "Calle 1 Castro", 0),
     ("\x1b[31mRojo\x1b[0m", "[31mRojo[0m", 2),
     ("So\u00adto", "Soto", 1),  # soft hyphen
     ("\U000e0041\U000e0042x", "x", 2),  # tag characters (invisible «AB»)
     ("Jose\u0301", "Jos\u00e9", 0)],
)  # fmt: skip
def test_clean_cell(raw, clean, removed):
    assert clean_cell(raw) == (clean, removed)


def test_clean_text_keeps_the_csv_structure():
    assert clean_text("a;b\u200b\r\nc;\x07d\n") == ("a;b\r\nc;d\n", 2)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("Ana Pérez", "Ana Pérez"),
     ("\x1b]0;título\x07", "\\x1b]0;título\\x07"),  # would rename the terminal window
     ("\x1b[2J", "\\x1b[2J"),  # would clear the screen
     ("abc\rXYZ", "abc\\x0dXYZ"),  # would overwrite the start of the line
     ("\u202eKCOL", "\\u202eKCOL"),  # would reverse what follows
     ("a\u200bb", "a\\u200bb"),
     ("\x9b31m", "\\x9b31m"),  # C1 control sequence introducer
     ("a\u00a0b", "a b"),
     ("\U000e0041", "\\U000e0041"),
     (12345678, "12345678")],
)  # fmt: skip
def test_terminal_safe_shows_controls_as_escapes(value, shown):
    assert terminal_safe(value) == shown
    assert terminal_safe(value).isprintable()


@pytest.mark.parametrize(
    ("value", "decimals", "shown"),
    [
        (0, 0, "0"),
        (999, 0, "999"),
        (1000, 0, "1.000"),
        (1234567, 0, "1.234.567"),
        (-20500.25, 1, "-20.500,2"),  # half to even, as Python rounds
        (3.5, 1, "3,5"),
        (0.05, 2, "0,05"),
        (60447.4, 0, "60.447"),
        (None, 0, "—"),
        (float("nan"), 1, "—"),
    ],
)
def test_number_es_writes_thousands_with_a_point_and_decimals_with_a_comma(value, decimals, shown):
    assert number_es(value, decimals) == shown


@pytest.mark.parametrize(
    ("singular", "plural"),
    [
        ("caso", "casos"),
        ("lugar", "lugares"),
        ("error", "errores"),
        ("problema", "problemas"),
        ("ubicación", "ubicaciones"),
        ("vez", "veces"),
        ("lunes", "lunes"),
        ("análisis", "análisis"),
        ("caso reubicado", "casos reubicados"),
        ("lugar válido", "lugares válidos"),
        ("día con barco", "días con barco"),
        ("caso sin ubicación", "casos sin ubicación"),
    ],
)
def test_plural_es_follows_the_regular_rules(singular, plural):
    assert plural_es(singular) == plural


def test_count_label_agrees_with_the_number():
    assert count_label(1, "caso") == "1 caso"
    assert count_label(0, "caso") == "0 casos"  # zero is plural in Spanish
    assert count_label(2, "caso reubicado") == "2 casos reubicados"
    assert count_label(1500, "lugar") == "1.500 lugares"
    assert count_label(1, "caso más reubicado", "casos más reubicados") == "1 caso más reubicado"
    assert count_label(3, "caso más reubicado", "casos más reubicados") == "3 casos más reubicados"
