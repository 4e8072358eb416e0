"""Safe cells for CSV/XLSX exports: no spreadsheet formula can ride in on imported text.

A cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return, OWASP's list) gets a leading apostrophe, which
spreadsheets show as text. Plain numbers and phone numbers (``-42,5``,
``+56 9 1234 5678``) are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["safe_cell", "safe_row"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBERLIKE = re.compile(r"[+-]?[\d\s().,]+")


def safe_cell(value: object) -> object:
    """Return `value`, neutralised when a spreadsheet would read it as a formula."""
    formula = isinstance(value, str) and value.startswith(FORMULA_START)
    if formula and not NUMBERLIKE.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    """Apply `safe_cell` to every cell of a row."""
    return [safe_cell(v) for v in values]
