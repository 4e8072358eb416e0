"""Invisible and control characters: the input cleaning and the terminal escaping."""

from __future__ import annotations

import unicodedata

import pytest

from layers.text import INVISIBLE
from layers.text import clean_cell
from layers.text import clean_text
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
