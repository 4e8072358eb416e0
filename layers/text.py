r"""Text that arrives from files and leaves for terminals: invisible and control characters.

Imported cells are cleaned on input (`clean_cell`, `clean_text`): C0 and C1 control
characters, every Unicode *format* character (bidirectional embeddings, overrides and
isolates U+202A–U+202E and U+2066–U+2069, LRM/RLM, zero-width space, joiner and
non-joiner, word joiner, soft hyphen, BOM, interlinear annotations, tag characters) are
removed, and line and paragraph separators, tabs and line breaks inside a cell become a
plain space. They are removed rather than refused because they arrive innocently from
copy and paste (a zero-width space from a web form, a soft hyphen or an LRM mark from a
word processor): the user cannot see them, so a refusal could not be acted on, and no
Chilean name, RUN or address needs them (a ZWJ matters in some scripts, not in es-CL).
Removing them means they are never stored, so a name can never reorder or hide text in a
page, a CSV or a terminal.

Text printed to a terminal (`terminal_safe`) is escaped instead: a stored value written
before this cleaning existed, or any other string, shows its control characters as visible
``\x1b``/``\u202e`` escapes and never moves the cursor, rewrites the title or reorders
the line.

The set of characters is Unicode's own: general categories ``Cc`` (control) and ``Cf``
(format), as listed in the Unicode Character Database 15 (`unicodedata`); a test checks
`INVISIBLE` against `unicodedata.category` over every code point.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "INVISIBLE",
    "clean_cell",
    "clean_text",
    "count_label",
    "number_es",
    "plural_es",
    "terminal_safe",
]

# Categories Cc and Cf (Unicode 15), except tab, LF and CR which clean_text keeps for
# CSV parsing; built as literal ranges so importing this module costs nothing.
_FORMAT_RANGES = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
INVISIBLE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_FORMAT_RANGES}]")
"""One control (``Cc``, except tab, LF, CR) or format (``Cf``) character."""

_BREAKS = re.compile("[\t\n\r\u2028\u2029]+")


def clean_text(text: str) -> tuple[str, int]:
    """Remove control and format characters from a whole text; keep tab, LF and CR.

    Used on a decoded CSV before it is split into cells, so the separators and line
    breaks survive. The result is NFC-normalised (an accent typed as a combining mark
    becomes one character, as a keyboard types it).

    Returns
    -------
    tuple[str, int]
        The cleaned text and how many characters were removed.
    """
    text, removed = INVISIBLE.subn("", text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text, removed


def clean_cell(value: str) -> tuple[str, int]:
    """Clean one cell: remove control and format characters, turn line breaks into spaces.

    The result is NFC-normalised and stripped, like `clean_text`'s.

    Returns
    -------
    tuple[str, int]
        The cleaned, stripped value and how many characters were removed (line breaks and
        tabs turned into a space are not counted: they are visible).
    """
    if value.isprintable():  # the common case, a C loop: nothing to remove
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
        return value.strip(), 0
    value, removed = clean_text(value)
    return _BREAKS.sub(" ", value).strip(), removed


def terminal_safe(value: object) -> str:
    r"""Escape every non-printable character of `value` for a terminal line.

    Control characters (ESC, BEL, backspace, carriage return, line breaks, C1), bidi and
    zero-width characters become visible Python-style escapes (``\x1b``, ``\u202e``); any
    other space character becomes a plain space. Printable text is unchanged.
    """
    text = str(value)
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        elif unicodedata.category(char) == "Zs":
            out.append(" ")
        else:
            code = ord(char)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
            )
    return "".join(out)


# -- numbers and counts as es-CL writes them -----------------------------------------
# Words of a phrase that never take a plural («caso sin ubicación» → «casos sin ubicación»).
_INVARIABLE = frozenset(
    [
        "a",
        "al",
        "con",
        "de",
        "del",
        "el",
        "en",
        "la",
        "las",
        "lo",
        "los",
        "o",
        "para",
        "por",
        "que",
        "se",
        "sin",
        "su",
        "sus",
        "un",
        "una",
        "y",
    ]
)
_UNSTRESS = str.maketrans("áéíóú", "aeiou")


def number_es(value: float | None, decimals: int = 0) -> str:
    """Write a number as es-CL does: thousands with «.», decimals with «,» (``12.345,6``).

    `decimals` fixes the digits after the comma (rounded half to even, as
    Python's format does); None or NaN gives «—». Source: RAE/ASALE
    *Ortografía* 2010 §4.2.2.2 allows the point for thousands, and Chilean
    usage (INE, Mineduc) writes it so.
    """
    if value is None or value != value:  # NaN
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def plural_es(word: str) -> str:
    """Plural of one Spanish word or phrase (each variable word): «lugar» → «lugares».

    Regular rules only (RAE *Nueva gramática* §3.2): a vowel adds «s», a
    consonant «es» (a stressed final «-ón/-ión/-én/-ás…» loses its accent),
    «z» becomes «ces», and a word ending in «s» or «x» after an unstressed
    vowel does not change («análisis», «lunes»). In a phrase, the words before
    the first article or preposition (`_INVARIABLE`) agree; the rest stay.
    Pass an explicit plural to `count_label` for anything irregular.
    """
    words = word.split(" ")
    for i, w in enumerate(words):
        if w.lower() in _INVARIABLE:  # «día con barco» → «días con barco»: the head only
            break
        words[i] = _plural_word(w)
    return " ".join(words)


def _plural_word(word: str) -> str:
    if not word or not word[-1].isalpha():
        return word
    last = word[-1].lower()
    if last in "aeiouáéó":
        return word + "s"
    if last in "íú":
        return word + "es"
    if last == "z":
        return word[:-1] + "ces"
    if last in "sx" and len(word) > 3 and not any(c in word[-3:] for c in "áéíóú"):
        return word
    if len(word) > 1 and word[-2] in "áéíóú":  # stressed last syllable: «camión» → «camiones»
        return word[:-2] + word[-2].translate(_UNSTRESS) + word[-1] + "es"
    return word + "es"


def count_label(n: float | None, singular: str, plural: str | None = None) -> str:
    """«1 caso», «0 casos», «1.234 lugares»: the count in es-CL and the word agreeing with it.

    Only exactly 1 takes the singular (RAE: «1,5 kilómetros», «0 casos»).
    `plural` defaults to `plural_es` of `singular`.
    """
    word = singular if n == 1 else (plural or plural_es(singular))
    return f"{number_es(n)} {word}"
