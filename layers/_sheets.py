"""Bytes to rows of cell strings: CSV and XLSX, bounded, cleaned, merged cells filled.

Plumbing for `layers.intake.read_table`. Every cell comes out as a stripped string with
control and format characters removed (`layers.text`); rows keep the row number the user
sees in the spreadsheet or text editor. Reading is bounded by `ReadLimits`: an XLSX is read
in streaming mode and refused as soon as it declares or holds more rows, columns or cells
than the limits, so a 1.6 KB file cannot make the reader allocate gigabytes.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import NoReturn

from layers.text import clean_cell
from layers.text import clean_text

__all__ = [
    "IntakeError",
    "ReadLimits",
    "TooLargeError",
    "csv_lines",
    "decode",
    "mixed_encoding_error",
    "sniff_delimiter",
    "utf8_evidence",
    "xlsx_lines",
]

Line = tuple[int, list[str]]  # (row number as the user sees it, cells)


class IntakeError(ValueError):
    """The file cannot be read at all (not a table, empty, unknown format, too large)."""


class TooLargeError(IntakeError):
    """The file is beyond `ReadLimits` (the message says which limit and how to fix it)."""


@dataclass(frozen=True)
class ReadLimits:
    """The largest table `read_table` reads; anything larger is refused with a message.

    The defaults hold a whole SLEP's list many times over (the 2025 Mineduc directory has
    about 20,000 students in Chiloé's public schools; the intake benchmark reads 50,000 rows
    of 11 columns) while keeping a refused file's memory bounded: three million short cells
    are a few hundred MB as Python strings.

    Attributes
    ----------
    max_rows
        Rows of the sheet (by row number, title lines included).
    max_columns
        Columns holding a value (trailing empty cells do not count).
    max_cells
        Non-empty cells, merged cells filled in included.
    max_sheet_bytes
        Unzipped size of one XLSX worksheet part, bytes.
    max_part_bytes
        Unzipped size of any other XLSX part (shared strings, styles), bytes; these are
        read whole into memory by openpyxl.
    """

    max_rows: int = 200_000
    max_columns: int = 256
    max_cells: int = 3_000_000
    max_sheet_bytes: int = 512 * 2**20
    max_part_bytes: int = 64 * 2**20


def _n(number: float) -> str:
    """``1.048.576``: thousands separated by dots, as written in Chile."""
    return f"{number:,.0f}".replace(",", ".")


def _too_large(what: str, limits: ReadLimits) -> NoReturn:
    """Refuse the file: `what` is beyond `limits`."""
    msg = (
        f"El archivo es demasiado grande para importarlo: {what}. Revincula lee hasta "
        f"{_n(limits.max_rows)} filas, {_n(limits.max_columns)} columnas y "
        f"{_n(limits.max_cells)} celdas con datos por archivo. Copie solo la tabla de "
        "estudiantes a una hoja nueva (o divídala en varios archivos), guárdela como .xlsx o "
        "CSV y súbala de nuevo."
    )
    raise TooLargeError(msg)


# --------------------------------------------------------------------------- text files


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding found: BOM, then strict UTF-8, else Latin-1 (Windows-1252).

    UTF-16 with a BOM (Excel's "Unicode text") is read too; any other NUL byte means a
    damaged or binary file.

    Raises
    ------
    IntakeError
        NUL bytes, or a BOM that the bytes do not honour.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as err:
            msg = "El archivo UTF-16 está dañado: guárdelo de nuevo como «CSV UTF-8»."
            raise IntakeError(msg) from err
    nul = data.find(b"\x00")
    if nul >= 0:
        msg = (
            f"El archivo trae bytes nulos (el primero en la posición {nul}): "
            "no es un CSV de texto o está dañado. Expórtelo de nuevo como CSV o XLSX."
        )
        raise IntakeError(msg)
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8", errors="strict"), "UTF-8 con BOM"
        except UnicodeDecodeError as err:
            msg = (
                "El archivo se declara UTF-8 (tiene marca BOM) pero trae bytes que no son UTF-8 "
                f"cerca del byte {err.start + 3}: puede estar dañado o mezclar codificaciones. "
                "Ábralo en la planilla y guárdelo de nuevo como «CSV UTF-8»."
            )
            raise IntakeError(msg) from err
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as err:
        valid, other = utf8_evidence(data)
        if valid > other:  # mostly UTF-8: read as Latin-1 every «á» would become «Ã¡»
            line = data.count(b"\n", 0, err.start) + 1
            raise mixed_encoding_error(err.start, line) from err
    try:
        return data.decode("cp1252"), "Latin-1 (Windows-1252)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1 (ISO-8859-1)"


# A well-formed UTF-8 multi-byte sequence, and any byte of 0x80 or more. A Latin-1 file
# (Windows-1252) almost never holds the former: its «á» (0xE1) is followed by a plain letter.
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def utf8_evidence(data: bytes) -> tuple[int, int]:
    """Count ``(well-formed UTF-8 multi-byte sequences, other bytes of 0x80 or more)``.

    A file that is not valid UTF-8 but holds more of the former than the latter is UTF-8
    with a few bytes in another encoding (a row pasted from a Latin-1 file): decoding it
    all as Latin-1 would garble every accented letter of the good rows.
    """
    sequences = _UTF8_SEQUENCE.findall(data)
    return len(sequences), len(_HIGH_BYTE.findall(data)) - sum(map(len, sequences))


def mixed_encoding_error(position: int, line: int) -> IntakeError:
    """Return the refusal of a file that is UTF-8 but for some bytes (the first: `position`)."""
    return IntakeError(
        f"El archivo está en UTF-8 salvo algunos caracteres en otra codificación (Latin-1), "
        f"el primero cerca del byte {position} (línea {line}). Leerlo entero como Latin-1 "
        "cambiaría las tildes y las eñes de todas las filas («Hernández» → «HernÃ¡ndez»), así "
        "que no se importa nada. Corrija esa línea, o ábralo en la planilla y guárdelo de "
        "nuevo como «CSV UTF-8»."
    )


_SNIFF_LINES = 50  # enough to pass a report's title lines and reach the table
_QUOTED = re.compile(r'"[^"]*"')


def sniff_delimiter(text: str) -> str:
    """Pick the separator of the table: ``;``, ``,`` or tab, from its first 50 lines.

    Report-style exports put title lines above the table (with no separator, or a stray
    comma in «Escuela Rural, Castro»), so the first line alone misleads. For each candidate
    the most common non-zero count per line (outside quotes) is the table's width; the
    separator that gives the widest table on the most lines (count × lines) wins. A text
    with none of them is read as one column (``,``).
    """
    lines = [line for line in text[:400_000].splitlines() if line.strip()][:_SNIFF_LINES]
    best, best_score = ",", 0
    for delimiter in (";", ",", "\t"):
        counts = Counter(_QUOTED.sub("", line).count(delimiter) for line in lines)
        counts.pop(0, None)
        if not counts:
            continue
        width, n_lines = max(counts.items(), key=lambda item: (item[1], item[0]))
        if width * n_lines > best_score:
            best, best_score = delimiter, width * n_lines
    return best


def csv_lines(text: str, delimiter: str, limits: ReadLimits) -> tuple[list[Line], int]:
    """Split a decoded CSV into numbered rows of stripped, cleaned cells.

    A CSV does not expand (no compression), so its memory is linear in the upload and
    the limits are checked once it is split, at C speed.

    Returns
    -------
    tuple[list[Line], int]
        The rows (number = record number, 1-based) and how many control or format
        characters were removed.

    Raises
    ------
    IntakeError
        A malformed CSV (an unclosed quote, a huge cell), or more rows, columns or cells
        than `limits`.
    """
    text, removed = clean_text(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        lines = [(n, [c.strip() for c in row]) for n, row in enumerate(reader, start=1)]
    except csv.Error as err:
        msg = (
            f"No se pudo leer el CSV cerca de la línea {reader.line_num}: {err}. Suele ser una "
            "comilla sin cerrar o una celda enorme; ábralo en la planilla y guárdelo de nuevo."
        )
        raise IntakeError(msg) from err
    _check_size(lines, limits)
    if '"' in text:  # a quoted cell may span lines: one line per cell, as a sheet shows it
        for _, cells in lines:
            for index, cell in enumerate(cells):
                if "\n" in cell or "\r" in cell:
                    cells[index] = " ".join(cell.split())
    return lines, removed


def _check_size(lines: list[Line], limits: ReadLimits) -> None:
    if len(lines) > limits.max_rows:
        _too_large(f"tiene más de {_n(limits.max_rows)} filas", limits)
    if sum(len(cells) for _, cells in lines) > limits.max_cells:
        _too_large(f"más de {_n(limits.max_cells)} celdas", limits)
    for number, cells in lines:
        if len(cells) > limits.max_columns:
            while cells and not cells[-1]:  # Excel exports the formatted width: trim it
                cells.pop()
            if len(cells) > limits.max_columns:
                _too_large(f"la fila {number} tiene {_n(len(cells))} columnas", limits)


# --------------------------------------------------------------------------- XLSX


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _check_parts(data: bytes, limits: ReadLimits) -> None:
    """Refuse a zip whose parts unzip beyond the limits, before anything is unzipped.

    A zip member's declared size bounds what `zipfile` returns (more data fails its CRC).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            is_sheet = info.filename.startswith("xl/worksheets/")
            limit = limits.max_sheet_bytes if is_sheet else limits.max_part_bytes
            if info.file_size > limit:
                name, size_mb = clean_cell(info.filename)[0], info.file_size / 2**20
                _too_large(f"su parte «{name}» ocupa {_n(size_mb)} MB descomprimida", limits)


def _check_dimension(sheet, limits: ReadLimits) -> None:
    """Refuse a sheet whose declared size (``<dimension ref=…>``) is beyond the limits."""
    rows, columns = sheet.max_row, sheet.max_column  # None when the sheet declares no size
    if rows is None or columns is None:
        return
    if rows > limits.max_rows or columns > limits.max_columns or rows * columns > 10**12:
        title = clean_cell(sheet.title)[0]
        _too_large(f"la hoja «{title}» declara {_n(rows)} filas × {_n(columns)} columnas", limits)


# Elements that the streaming reader keeps in memory at once: those of the row being read
# (a cell is 2-4 elements; rich text a few more), and those outside the table (column
# widths, views, merged ranges, hyperlinks, validations), which are emptied as they end
# but stay attached to the tree until the end of the sheet.
_ROW_ELEMENTS_PER_COLUMN = 16
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_MAX_OUTSIDE_ELEMENTS = 500_000


def xlsx_lines(data: bytes, limits: ReadLimits) -> tuple[list[Line], int, int]:
    """Read the first worksheet of an XLSX in streaming mode, merged cells filled in.

    openpyxl's read-only mode streams the sheet XML but trusts the declared dimension (it
    pads every row to its width and yields empty rows up to its height: 3.7 GB for a
    1.6 KB file declaring ``A1:XFD1048576``), builds every element outside the rows whole,
    and does not expose merged cells. So the sheet XML is streamed here (``iterparse``, the
    one openpyxl chooses) and each row is decoded by openpyxl's own row parser
    (`WorkSheetParser.parse_row`: shared strings, inline strings, dates, numbers); only
    cells holding a value are kept; rows, columns, cells and the elements held in memory
    are counted as they come and the file is refused at the first one beyond `limits`.
    The ``<mergeCells>`` ranges, which the schema places after ``<sheetData>``, are
    collected in the same pass, and each range's value is then copied to every cell it
    spans (an RBD merged over the rows of its school applies to each row).

    Returns
    -------
    tuple[list[Line], int, int]
        Rows (number = the sheet's row number), characters removed, merged ranges filled.

    Raises
    ------
    IntakeError
        A damaged file or not a spreadsheet; a declared or actual size beyond `limits`.
    """
    from openpyxl import load_workbook
    from openpyxl.worksheet._reader import WorkSheetParser

    # A damaged .xlsx can fail anywhere in zip, zlib or XML parsing, even while reading
    # rows lazily: every such failure becomes the same Spanish message.
    try:
        _check_parts(data, limits)
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            _check_dimension(sheet, limits)
            with sheet._get_source() as source:
                parser = WorkSheetParser(
                    source,
                    sheet._shared_strings,
                    data_only=True,
                    epoch=book.epoch,
                    date_formats=book._date_formats,
                    timedelta_formats=book._timedelta_formats,
                )
                lines, removed, n_cells, merges = _sheet_rows(parser, source, limits)
        finally:
            book.close()
    except IntakeError:
        raise
    except Exception as err:
        msg = (
            "No se pudo abrir el archivo como planilla Excel (.xlsx): está dañado o no es una "
            "planilla. Ábralo en Excel o LibreOffice y guárdelo de nuevo como .xlsx o CSV "
            f"(detalle técnico: {type(err).__name__})."
        )
        raise IntakeError(msg) from err
    n_merged = _fill_merged(lines, merges, n_cells, limits)
    return lines, removed, n_merged


def _sheet_rows(parser, source, limits: ReadLimits):  # noqa: C901 - one streaming loop
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    row_tag, merge_tag = f"{{{SHEET_MAIN_NS}}}row", f"{{{SHEET_MAIN_NS}}}mergeCell"
    row_parts = {f"{{{SHEET_MAIN_NS}}}{t}" for t in ("c", "v", "f", "is", "t", "r")}
    max_row_elements = _ROW_ELEMENTS_PER_COLUMN * limits.max_columns
    lines: list[Line] = []
    merges: list[tuple[int, int, int, int]] = []
    removed = n_cells = n_rows = in_row = outside = 0
    for _, element in iterparse(source):
        tag = element.tag
        if tag in row_parts:
            in_row += 1
            if in_row > max_row_elements:
                _too_large(f"la fila {_n(n_rows + 1)} tiene demasiadas celdas", limits)
            continue
        if tag != row_tag:
            outside += 1
            if outside > _MAX_OUTSIDE_ELEMENTS:
                _too_large("tiene demasiados elementos fuera de la tabla", limits)
            if tag == merge_tag:
                merges.append(range_boundaries(element.get("ref", "")))
            element.clear()
            continue
        n_rows += 1
        in_row = 0
        number, cells = parser.parse_row(element)
        element.clear()
        if n_rows > limits.max_rows or number > limits.max_rows:
            _too_large(f"la hoja llega a la fila {_n(max(number, n_rows))}", limits)
        values = [(c["column"], c["value"]) for c in cells if c["value"] is not None]
        if not values:
            continue
        width = max(column for column, _ in values)
        if width > limits.max_columns:
            _too_large(f"la fila {_n(number)} llega a la columna {_n(width)}", limits)
        n_cells += len(values)
        if n_cells > limits.max_cells:
            _too_large(f"más de {_n(limits.max_cells)} celdas con datos", limits)
        row = [""] * width
        for column, value in values:
            text = _cell_text(value)
            if "_x" in text:  # Excel writes a CR in a cell as _x000D_ (ECMA-376 ST_Xstring)
                text = _OOXML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
            text, k = clean_cell(text)
            row[column - 1] = text
            removed += k
        lines.append((number, row))
    return lines, removed, n_cells, merges


def _fill_merged(lines: list[Line], merges, n_cells: int, limits: ReadLimits) -> int:
    """Copy each merged range's top-left value into the empty cells it spans.

    Only rows that hold a value are visited, and only up to the widest row, so a hostile
    range such as ``A1:XFD1048576`` costs what the data costs; every visited cell counts
    against ``limits.max_cells``.
    """
    if not lines or not merges:
        return 0
    numbers = [n for n, _ in lines]
    rows = dict(lines)
    width = max(len(row) for _, row in lines)
    budget = limits.max_cells - n_cells
    filled = 0
    for min_col, min_row, max_col, max_row in merges:
        top = rows.get(min_row)
        if top is None or len(top) < min_col or not top[min_col - 1]:
            continue
        value = top[min_col - 1]
        last_col = min(max_col, width)
        start = bisect.bisect_left(numbers, min_row)
        stop = bisect.bisect_right(numbers, max_row)
        for number in numbers[start:stop]:
            budget -= last_col - min_col + 1
            if budget < 0:
                _too_large("sus celdas combinadas cubren demasiadas celdas", limits)
            row = rows[number]
            if len(row) < last_col:
                row.extend([""] * (last_col - len(row)))
            for index in range(min_col - 1, last_col):
                if not row[index]:
                    row[index] = value
        filled += 1
    return filled
