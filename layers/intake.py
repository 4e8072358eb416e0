"""Read and validate lists of students (Chile Presente / SIPTE / SIGE exports, school sheets).

Pure functions: bytes in, records and a report out. Nothing here touches a
database; `geo_app` owns the transaction that stores the records.

The pipeline is ``read_table`` (encoding, delimiter, CSV or XLSX) →
``match_headers`` (aliases of the usual column names, or a saved mapping) →
``validate`` (every row, every column, every problem reported with row, column,
value and a Spanish message saying how to fix it).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from rapidfuzz import fuzz

from layers.export import safe_row

__all__ = [
    "FIELDS",
    "MESSAGES",
    "REQUIRED",
    "HeaderMatch",
    "IntakeError",
    "IntakeResult",
    "Issue",
    "RawTable",
    "format_run",
    "match_headers",
    "normalize_text",
    "parse_grade",
    "parse_period",
    "parse_run",
    "read_table",
    "rejected_rows_csv",
    "run_check_digit",
    "validate",
]

PROVISIONAL_RUN = 100_000_000  # RUNs above this are provisional (seed 002, footnote 2)
MIN_AGE, MAX_AGE = 3, 30  # plausible ages of a student in these lists (CEIA goes to 21)


class IntakeError(ValueError):
    """The file cannot be read at all (not a table, empty, unknown format)."""


# Canonical fields -> label shown to the user.
FIELDS: dict[str, str] = {
    "run": "RUN",
    "dv": "Dígito verificador",
    "nombres": "Nombres",
    "apellidos": "Apellidos",
    "apellido_paterno": "Apellido paterno",
    "apellido_materno": "Apellido materno",
    "nombre_completo": "Nombre completo",
    "fecha_nacimiento": "Fecha de nacimiento",
    "rbd": "RBD",
    "curso": "Curso",
    "asistencia": "% asistencia",
    "dias_asistidos": "Días asistidos",
    "dias_trabajados": "Días trabajados",
    "mes": "Mes",
    "anio": "Año",
    "direccion": "Dirección",
    "comuna": "Comuna",
    "sector": "Sector / localidad",
    "telefono": "Teléfono",
    "apoderado": "Apoderado",
    "situacion": "Situación de matrícula",
    "ultimo_anio_matricula": "Último año con matrícula",
    "ultimo_curso_aprobado": "Último curso aprobado",
    "nee_permanente": "NEE permanente",
}
REQUIRED = ("run", "rbd")  # plus a name (nombres, apellidos or nombre completo)
NAME_FIELDS = ("nombres", "apellidos", "apellido_paterno", "apellido_materno", "nombre_completo")

_ALIASES: dict[str, tuple[str, ...]] = {
    "run": (
        "run",
        "rut",
        "mrun",
        "run estudiante",
        "rut estudiante",
        "run alumno",
        "rut alumno",
        "run sin dv",
        "rut sin dv",
        "numero run",
        "cedula",
        "cedula de identidad",
    ),
    "dv": ("dv", "dv run", "dv rut", "dgv run", "digito verificador", "digito"),
    "nombres": ("nombres", "nombre", "nombres estudiante", "nombre alumno", "primer nombre"),
    "apellidos": ("apellidos", "apellido", "apellidos estudiante"),
    "apellido_paterno": ("apellido paterno", "ap paterno", "paterno", "ape paterno", "a paterno"),
    "apellido_materno": ("apellido materno", "ap materno", "materno", "ape materno", "a materno"),
    "nombre_completo": (
        "nombre completo",
        "nombre estudiante",
        "nombre del estudiante",
        "nombre y apellidos",
        "estudiante",
        "alumno",
        "alumno a",
    ),
    "fecha_nacimiento": (
        "fecha de nacimiento",
        "fecha nacimiento",
        "fecha nac",
        "f nacimiento",
        "fec nac",
        "fecha nac estudiante",
        "nacimiento",
        "fnac",
    ),
    "rbd": ("rbd", "rbd establecimiento", "codigo rbd", "establecimiento rbd", "rbd colegio"),
    "curso": ("curso", "grado", "nivel", "curso actual", "curso 2026", "nivel curso"),
    "asistencia": (
        "asistencia",
        "porcentaje asistencia",
        "porcentaje de asistencia",
        "asistencia porcentaje",
        "pct asistencia",
        "asistencia acumulada",
        "asistencia mensual",
        "asistencia mes",
        "asist",
    ),
    "dias_asistidos": ("dias asistidos", "dias presentes", "dias asistencia", "presentes"),
    "dias_trabajados": (
        "dias trabajados",
        "dias totales",
        "dias habiles",
        "dias lectivos",
        "total dias",
        "dias trabajados mes",
    ),
    "mes": ("mes", "periodo", "mes asistencia", "mes de asistencia"),
    "anio": ("ano", "anio", "ano escolar", "agno"),
    "direccion": ("direccion", "domicilio", "direccion domicilio", "direccion estudiante"),
    "comuna": ("comuna", "comuna residencia", "comuna domicilio", "comuna estudiante"),
    "sector": ("sector", "localidad", "sector localidad", "lugar", "sector rural"),
    "telefono": (
        "telefono",
        "fono",
        "celular",
        "movil",
        "telefono contacto",
        "telefono apoderado",
        "fono apoderado",
        "contacto",
    ),
    "apoderado": ("apoderado", "apoderada", "nombre apoderado", "apoderado a", "tutor"),
    "situacion": (
        "situacion",
        "estado",
        "estado matricula",
        "situacion matricula",
        "situacion de matricula",
        "matricula",
    ),
    "ultimo_anio_matricula": (
        "ultimo ano matricula",
        "ultimo ano con matricula",
        "ano ultima matricula",
        "ultima matricula",
    ),
    "ultimo_curso_aprobado": ("ultimo curso aprobado", "curso aprobado", "ultimo grado aprobado"),
    "nee_permanente": (
        "nee permanente",
        "nee",
        "necesidades educativas especiales permanentes",
        "nee transitoria permanente",
    ),
}
ALIASES: dict[str, str] = {alias: key for key, names in _ALIASES.items() for alias in names}

# Every message the validator can emit: code -> (severity, template). Templates
# are formatted with the row's values; each says what is wrong and how to fix it.
MESSAGES: dict[str, tuple[str, str]] = {
    "missing_columns": (
        "error",
        "Faltan columnas obligatorias: {value}. Asigne cada columna del archivo a un campo "
        "(paso «Asignar columnas») o agregue la columna y vuelva a subir el archivo.",
    ),
    "duplicate_column": (
        "error",
        "Dos columnas se reconocen como «{value}». Deje solo una o asígnelas a mano.",
    ),
    "period_missing": (
        "error",
        "El archivo no dice a qué mes corresponde la asistencia. Indique el mes al importar "
        "(por ejemplo 2026-08) o agregue una columna «Mes».",
    ),
    "row_length": (
        "error",
        "La fila tiene {value} columnas y el encabezado otra cantidad. Revise que no haya "
        "separadores (; o ,) dentro de un dato sin comillas.",
    ),
    "run_missing": ("error", "Falta el RUN. Complete el RUN del estudiante (ej. 12.345.678-5)."),
    "run_format": (
        "error",
        "«{value}» no es un RUN: debe tener 7 a 9 dígitos y un dígito verificador "
        "(ej. 12.345.678-5 o 123456785).",
    ),
    "run_check_digit": (
        "error",
        "El dígito verificador de {value} no corresponde (según módulo 11 debería ser {expected}). "
        "Revise el RUN en la ficha del estudiante: un RUN erróneo es un error grave.",
    ),
    "run_provisional": (
        "aviso",
        "RUN provisorio ({value} es mayor a 100.000.000): estudiante extranjero sin RUN "
        "definitivo. Se importa marcado; actualícelo cuando tenga su RUN definitivo.",
    ),
    "duplicate_run": (
        "error",
        "El RUN {value} ya aparece en la fila {other_row} del mismo archivo. Deje una sola fila "
        "por estudiante y mes.",
    ),
    "name_missing": ("error", "Falta el nombre del estudiante. Complete nombres y apellidos."),
    "name_mismatch": (
        "error",
        "El RUN {run} está registrado como «{expected}», pero aquí dice «{value}». Verifique el "
        "RUN o el nombre: un nombre que no corresponde al RUN es un error grave.",
    ),
    "date_format": (
        "error",
        "«{value}» no es una fecha. Use día/mes/año con 4 dígitos (ej. 07/03/2012).",
    ),
    "date_range": (
        "error",
        "La fecha de nacimiento {value} da una edad de {age} años, fuera de lo posible para un "
        "estudiante (3 a 30 años). Revise el año.",
    ),
    "rbd_missing": ("error", "Falta el RBD del establecimiento. Complete el RBD (ej. 8001)."),
    "rbd_format": ("error", "«{value}» no es un RBD: debe ser un número (ej. 8001)."),
    "rbd_unknown": (
        "error",
        "El RBD {value} no está en el directorio Mineduc 2025 de Chiloé. Revise el número o "
        "pida a la escuela su RBD correcto.",
    ),
    "attendance_format": (
        "error",
        "«{value}» no es un porcentaje de asistencia. Escriba un número entre 0 y 100 (ej. 82,5).",
    ),
    "attendance_range": (
        "error",
        "La asistencia {value} está fuera de 0 a 100 %. Corrija el porcentaje.",
    ),
    "attendance_missing": (
        "error",
        "Falta la asistencia de un estudiante matriculado. Complete el % de asistencia o los "
        "días asistidos y trabajados, o indique «sin matrícula» en la situación.",
    ),
    "days_format": (
        "error",
        "«{value}» no es un número de días. Escriba un número entero (ej. 18).",
    ),
    "days_inconsistent": (
        "error",
        "Días asistidos ({value}) mayores que los días trabajados ({expected}). Revise ambas "
        "columnas.",
    ),
    "period_format": (
        "error",
        "«{value}» no es un mes. Use año-mes (2026-08), mes/año (08/2026) o el nombre del mes.",
    ),
    "grade_unknown": (
        "aviso",
        "No se reconoce el curso «{value}» (ej. «7° básico», «1° medio»). Se importa sin nivel; "
        "el rezago escolar no se calculará.",
    ),
    "status_unknown": (
        "error",
        "Situación de matrícula «{value}» desconocida. Use «matriculado», «sin matrícula» o "
        "«retirado».",
    ),
    "year_format": (
        "error",
        "«{value}» no es un año válido. Escriba el año con 4 dígitos (ej. 2024).",
    ),
    "bool_format": ("error", "«{value}» no es sí ni no. Escriba «sí» o «no»."),
    "comuna_unknown": (
        "aviso",
        "La comuna «{value}» no es del territorio. Se importa; la ubicación se buscará sin comuna.",
    ),
    "too_long": (
        "error",
        "Texto de {length} caracteres (máximo {limit}): «{value}». Probablemente se pegó algo "
        "por error o el archivo está dañado; acórtelo.",
    ),
    "phone_format": (
        "aviso",
        "El teléfono «{value}» no tiene 9 dígitos (ej. +56 9 1234 5678). Se guarda tal cual; "
        "corríjalo en la ficha del caso.",
    ),
}


@dataclass(frozen=True)
class Issue:
    """One problem of one cell (or of the whole file when ``row`` is 0)."""

    row: int  # row number as the user sees it in the file (header = 1); 0 = whole file
    column: str  # the file's own header, or "" for the whole file
    value: str
    code: str
    message: str

    @property
    def severity(self) -> str:
        """``"error"`` (the row cannot be imported) or ``"aviso"`` (imported, flagged)."""
        return MESSAGES[self.code][0]


def _issue(row: int, column: str, value: object, code: str, **extra: object) -> Issue:
    text = "" if value is None else str(value)
    message = MESSAGES[code][1].format(value=text, **extra)
    return Issue(row, column, text, code, message)


@dataclass
class RawTable:
    """A table as read from the file: headers and rows of strings."""

    headers: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    kind: str  # "csv" | "xlsx"
    encoding: str = ""
    delimiter: str = ""

    @property
    def signature(self) -> str:
        """Fingerprint of the normalised headers, used to remember a column mapping."""
        joined = "|".join(normalize_text(h) for h in self.headers)
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


@dataclass
class HeaderMatch:
    """Which file column feeds which field; what is missing or ignored."""

    columns: dict[str, int]  # field -> column index
    missing: list[str]  # required fields with no column
    ignored: list[str]  # headers not used
    duplicates: list[str]  # fields claimed by more than one column

    @property
    def complete(self) -> bool:
        """Whether the file can be validated without an explicit mapping."""
        return not self.missing and not self.duplicates


@dataclass
class IntakeResult:
    """Valid records, every issue, and the rows rejected."""

    records: list[dict]
    issues: list[Issue]
    rejected: dict[int, list[str]] = field(default_factory=dict)  # row -> raw values
    headers: list[str] = field(default_factory=list)
    n_rows: int = 0

    @property
    def errors(self) -> list[Issue]:
        """Issues that stop a row (or the file) from being imported."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def file_errors(self) -> list[Issue]:
        """Errors of the whole file: nothing can be imported until they are fixed."""
        return [i for i in self.errors if i.row == 0]

    def counts(self) -> dict[str, int]:
        """Count issues by code."""
        out: dict[str, int] = {}
        for issue in self.issues:
            out[issue.code] = out.get(issue.code, 0) + 1
        return out


# --------------------------------------------------------------------------- text


def normalize_text(value: str) -> str:
    """Lower-case ASCII words: accents, punctuation and extra spaces removed."""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^0-9a-z]+", " ", text.lower().replace("ñ", "n"))
    return " ".join(text.split())


# --------------------------------------------------------------------------- reading


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding found: BOM, then strict UTF-8, else Latin-1 (Windows-1252).

    UTF-16 with a BOM (Excel's "Unicode text") is read too; any other NUL byte means a
    damaged or binary file.
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
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Latin-1 (Windows-1252)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1 (ISO-8859-1)"


def _sniff_delimiter(text: str) -> str:
    """Pick the separator of the header line: the most frequent of ``;``, ``,`` and tab."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    outside = re.sub(r'"[^"]*"', "", first)
    counts = {d: outside.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def read_table(data: bytes, filename: str = "") -> RawTable:
    """Read a CSV (``;`` or ``,``; UTF-8, UTF-8 with BOM or Latin-1) or an XLSX file.

    Raises
    ------
    IntakeError
        When the bytes are not a table Revincula can read, with the fix in Spanish.
    """
    if not data.strip():
        msg = "El archivo está vacío. Exporte de nuevo la planilla y súbala otra vez."
        raise IntakeError(msg)
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data)
    if filename.lower().endswith(".xls") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        msg = (
            "El formato .xls (Excel 97-2003) no se puede leer. Ábralo en Excel o LibreOffice y "
            "guárdelo como .xlsx o como CSV."
        )
        raise IntakeError(msg)
    text, encoding = _decode(data)
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        lines = [(n, [c.strip() for c in row]) for n, row in enumerate(reader, start=1)]
    except csv.Error as err:
        msg = (
            f"No se pudo leer el CSV cerca de la línea {reader.line_num}: {err}. Suele ser una "
            "comilla sin cerrar o una celda enorme; ábralo en la planilla y guárdelo de nuevo."
        )
        raise IntakeError(msg) from err
    return _table(lines, "csv", encoding, delimiter)


def _read_xlsx(data: bytes) -> RawTable:
    from openpyxl import load_workbook

    # A damaged .xlsx can fail anywhere in zip, zlib or XML parsing, even while reading
    # rows lazily: every failure becomes the same Spanish message.
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            lines = [
                (n, [_cell_text(v) for v in row])
                for n, row in enumerate(sheet.iter_rows(values_only=True), start=1)
            ]
        finally:
            book.close()
    except Exception as err:
        msg = (
            "No se pudo abrir el archivo como planilla Excel (.xlsx): está dañado o no es una "
            "planilla. Ábralo en Excel o LibreOffice y guárdelo de nuevo como .xlsx o CSV "
            f"(detalle técnico: {type(err).__name__})."
        )
        raise IntakeError(msg) from err
    return _table(lines, "xlsx", "", "")


def _table(lines: list[tuple[int, list[str]]], kind: str, encoding: str, delim: str) -> RawTable:
    lines = [(n, row) for n, row in lines if any(cell for cell in row)]
    if not lines:
        msg = "El archivo no tiene filas con datos. Revise que exportó la hoja correcta."
        raise IntakeError(msg)
    (_, headers), body = lines[0], lines[1:]
    while headers and not headers[-1]:
        headers = headers[:-1]
    width = len(headers)
    rows = []
    for _, row in body:
        trimmed = list(row)
        while len(trimmed) > width and not trimmed[-1]:
            trimmed.pop()
        rows.append(trimmed)
    return RawTable(
        headers=headers,
        rows=rows,
        row_numbers=[n for n, _ in body],
        kind=kind,
        encoding=encoding,
        delimiter=delim,
    )


# --------------------------------------------------------------------------- headers


def match_headers(headers: list[str], mapping: Mapping[str, str] | None = None) -> HeaderMatch:
    """Assign each header to a field through the aliases, or through `mapping`.

    Parameters
    ----------
    headers
        The file's header row.
    mapping
        Optional ``{header: field}`` chosen by the user (``""`` = ignore this
        column); it takes precedence over the aliases.
    """
    columns: dict[str, int] = {}
    ignored: list[str] = []
    duplicates: list[str] = []
    for index, header in enumerate(headers):
        if mapping is not None and header in mapping:
            key = mapping[header] or None
        else:
            key = ALIASES.get(normalize_text(header))
        if key is None:
            ignored.append(header)
        elif key in columns:
            duplicates.append(FIELDS[key])
        else:
            columns[key] = index
    missing = [FIELDS[k] for k in REQUIRED if k not in columns]
    if not any(k in columns for k in NAME_FIELDS):
        missing.append("Nombres o Nombre completo")
    return HeaderMatch(columns, missing, ignored, duplicates)


# --------------------------------------------------------------------------- values


def run_check_digit(number: int) -> str:
    """Check digit of a RUN, modulo 11 (``K`` for 10, ``0`` for 11)."""
    total, factor = 0, 2
    while number:
        total += (number % 10) * factor
        number //= 10
        factor = factor + 1 if factor < 7 else 2
    rest = 11 - total % 11
    return {11: "0", 10: "K"}.get(rest, str(rest))


def parse_run(value: str, dv: str = "") -> tuple[int, str] | None:
    """Split ``12.345.678-5``, ``12345678-5`` or ``123456785`` into (number, check digit).

    With a separate `dv` column, `value` may be the number alone. Returns None
    when the text is not shaped like a RUN (the check digit is not verified here).
    """
    text = re.sub(r"[\s.]", "", str(value)).upper()
    dv = re.sub(r"\s", "", str(dv)).upper()
    if "-" in text:
        body, _, digit = text.partition("-")
    elif dv:
        body, digit = text, dv
    else:
        body, digit = text[:-1], text[-1:]
    if not re.fullmatch(r"\d{6,9}", body) or not re.fullmatch(r"[0-9K]", digit):
        return None
    return int(body), digit


def format_run(number: int, digit: str | None = None) -> str:
    """``12.345.678-5``."""
    digit = digit or run_check_digit(number)
    return f"{number:,}".replace(",", ".") + f"-{digit}"


_MONTHS = {
    "enero": 1,
    "febrero": 2,
    "marzo": 3,
    "abril": 4,
    "mayo": 5,
    "junio": 6,
    "julio": 7,
    "agosto": 8,
    "septiembre": 9,
    "setiembre": 9,
    "octubre": 10,
    "noviembre": 11,
    "diciembre": 12,
}


def parse_period(value: str, year: str = "") -> str | None:
    """``YYYY-MM`` from ``2026-08``, ``08/2026``, ``agosto 2026`` or ``agosto`` + a year."""
    text = normalize_text(value)
    year_digits = re.sub(r"\D", "", str(year))
    match = re.fullmatch(r"(\d{4}) (\d{1,2})", text)
    if match:
        y, m = int(match[1]), int(match[2])
    elif match := re.fullmatch(r"(\d{1,2}) (\d{4})", text):
        m, y = int(match[1]), int(match[2])
    else:
        words = text.split()
        month = next((_MONTHS[w] for w in words if w in _MONTHS), None)
        digits = [w for w in words if w.isdigit()]
        if month is None and len(digits) == 1 and len(digits[0]) <= 2:
            month = int(digits[0])
            digits = []
        y_text = next((d for d in digits if len(d) == 4), year_digits)
        if month is None or len(y_text) != 4:
            return None
        m, y = month, int(y_text)
    if not 1 <= m <= 12 or not 2000 <= y <= 2100:
        return None
    return f"{y:04d}-{m:02d}"


def _parse_date(value: str) -> dt.date | None:
    text = value.strip()
    if re.fullmatch(r"\d{5}(\.0+)?", text):  # Excel serial day (1900 date system)
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(text)))
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", text)
    if match:
        y, m, d = int(match[1]), int(match[2]), int(match[3])
    elif match := re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text):
        d, m, y = int(match[1]), int(match[2]), int(match[3])
    else:
        return None
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _parse_number(value: str) -> float | None:
    text = value.strip().replace("%", "").replace(" ", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


_GRADE = re.compile(
    r"^(\d{1,2})\s*(?:o|ro|er|do|to|vo|no|mo|avo)?\s*(?:ano\s*)?"
    r"(b|basico|basica|eb|m|medio|media|em)\b"
)


def parse_grade(value: str) -> int | None:
    """School level 1–12 (1° básico = 1 … 8° básico = 8, 1° medio = 9 … 4° medio = 12).

    Pre-school levels (NT1, NT2, pre-kínder, kínder) are 0; unknown text is None.
    """
    text = normalize_text(value)
    if not text:
        return None
    if re.search(r"\b(kinder|prekinder|pre kinder|nt1|nt2|parvulo)\b", text):
        return 0
    match = _GRADE.match(text)
    if not match:
        return None
    number, cycle = int(match[1]), match[2]
    if cycle in ("m", "medio", "media", "em"):
        return 8 + number if 1 <= number <= 4 else None
    return number if 1 <= number <= 8 else None


_STATUS = {
    "matriculado": "matriculado",
    "matriculada": "matriculado",
    "matricula vigente": "matriculado",
    "vigente": "matriculado",
    "si": "matriculado",
    "sin matricula": "sin_matricula",
    "no matriculado": "sin_matricula",
    "no matriculada": "sin_matricula",
    "desescolarizado": "sin_matricula",
    "desescolarizada": "sin_matricula",
    "no": "sin_matricula",
    "retirado": "retirado",
    "retirada": "retirado",
    "retiro": "retirado",
}
_BOOL = {"si": True, "s": True, "1": True, "x": True, "no": False, "n": False, "0": False}


def _phone_ok(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    if digits.startswith("56") and len(digits) == 11:
        digits = digits[2:]
    return len(digits) == 9


# --------------------------------------------------------------------------- validation


def validate(  # noqa: C901 - file checks, then the row loop
    table: RawTable,
    match: HeaderMatch,
    *,
    known_rbds: Iterable[int],
    known_comunas: Iterable[str] = (),
    known_names: Mapping[int, str] | None = None,
    period: str | None = None,
    today: dt.date | None = None,
) -> IntakeResult:
    """Check every row; return the valid records and every issue.

    Parameters
    ----------
    table, match
        From `read_table` and `match_headers`.
    known_rbds
        RBDs of the school directory; any other RBD is an error.
    known_comunas
        Comuna names of the territory (an unknown comuna is only a warning).
    known_names
        ``{run: full name}`` already stored: a different name is an error.
    period
        ``YYYY-MM`` for files without a month column.
    today
        Reference date for ages (default: today).
    """
    today = today or dt.date.today()
    result = IntakeResult(records=[], issues=[], headers=table.headers, n_rows=len(table.rows))
    if not match.complete:
        if match.missing:
            result.issues.append(_issue(0, "", ", ".join(match.missing), "missing_columns"))
        for name in match.duplicates:
            result.issues.append(_issue(0, "", name, "duplicate_column"))
        return result
    cols = match.columns
    if period is None and "mes" not in cols:
        result.issues.append(_issue(0, "", "", "period_missing"))
        return result
    rbds = {int(r) for r in known_rbds}
    comunas = {normalize_text(c) for c in known_comunas}
    names = known_names or {}
    # a fraction column (0-1, as Excel percentages export) is scaled to 0-100
    scale = 1.0
    if "asistencia" in cols:
        values = [_parse_number(_get(r, cols["asistencia"])) for r in table.rows]
        numbers = [v for v in values if v is not None]
        if numbers and max(numbers) <= 1.0 and any(0 < v < 1 for v in numbers):
            scale = 100.0
    seen: dict[tuple[int, str], int] = {}  # (run, period) -> first row
    width = len(table.headers)
    for number, raw in zip(table.row_numbers, table.rows, strict=True):
        row_issues: list[Issue] = []
        if len(raw) > width:
            row_issues.append(_issue(number, "", len(raw), "row_length"))
            result.issues.extend(row_issues)
            result.rejected[number] = raw
            continue
        record = _check_row(number, raw, table.headers, cols, row_issues, rbds, comunas, today)
        record["period"] = record.get("period") or period
        if scale != 1.0 and record.get("pct") is not None:
            record["pct"] = round(record["pct"] * scale, 2)
        run = record.get("run")
        if run is not None:
            full = record["full_name"]
            key = (run, record["period"] or "")
            header = table.headers[cols["run"]]
            if key in seen:
                row_issues.append(
                    _issue(number, header, format_run(run), "duplicate_run", other_row=seen[key])
                )
            else:
                seen[key] = number
            stored = names.get(run)
            if full and stored and _names_differ(stored, full):
                row_issues.append(
                    _issue(
                        number,
                        _name_header(table.headers, cols),
                        full,
                        "name_mismatch",
                        run=format_run(run),
                        expected=stored,
                    )
                )
        result.issues.extend(row_issues)
        if any(i.severity == "error" for i in row_issues):
            result.rejected[number] = raw
        else:
            record["warnings"] = [i.code for i in row_issues]
            result.records.append(record)
    return result


def _names_differ(stored: str, given: str) -> bool:
    """Whether two full names belong to different people (typos and order tolerated)."""
    return fuzz.token_set_ratio(normalize_text(stored), normalize_text(given)) < 85


def _name_header(headers: list[str], cols: dict[str, int]) -> str:
    return " + ".join(headers[cols[k]] for k in NAME_FIELDS if k in cols)


def _get(raw: list[str], index: int | None) -> str:
    if index is None or index >= len(raw):
        return ""
    return raw[index].strip()


# Longest text accepted per field (the store's column sizes).
TEXT_LIMITS = {
    "nombres": 200, "apellidos": 200, "apellido_paterno": 100, "apellido_materno": 100,
    "nombre_completo": 200, "curso": 60, "direccion": 300, "sector": 200, "comuna": 100,
    "telefono": 60, "apoderado": 200,
}  # fmt: skip


def _check_row(  # noqa: C901 - one branch per column, kept in one place
    number: int,
    raw: list[str],
    headers: list[str],
    cols: dict[str, int],
    issues: list[Issue],
    rbds: set[int],
    comunas: set[str],
    today: dt.date,
) -> dict:
    def value(key: str) -> str:
        return _get(raw, cols.get(key))

    def add(key: str, code: str, shown: object = None, **extra: object) -> None:
        column = headers[cols[key]] if key in cols else ""
        issues.append(_issue(number, column, value(key) if shown is None else shown, code, **extra))

    record: dict = {"row": number}
    # RUN
    run_text = value("run")
    if not run_text:
        add("run", "run_missing")
        record["run"] = None
    else:
        parsed = parse_run(run_text, value("dv"))
        if parsed is None:
            add("run", "run_format")
            record["run"] = None
        else:
            body, digit = parsed
            expected = run_check_digit(body)
            record["run"], record["dv"] = body, expected
            record["run_provisional"] = body > PROVISIONAL_RUN
            if digit != expected:
                add("run", "run_check_digit", expected=expected)
            elif body > PROVISIONAL_RUN:
                add("run", "run_provisional", format_run(body, digit))
    # names
    given, surnames = value("nombres"), value("apellidos")
    if not surnames:
        surnames = " ".join(p for p in (value("apellido_paterno"), value("apellido_materno")) if p)
    if not given and not surnames and value("nombre_completo"):
        given = value("nombre_completo")
    given, surnames = " ".join(given.split()), " ".join(surnames.split())
    record["given_names"], record["surnames"] = given.title(), surnames.title()
    record["full_name"] = " ".join(p for p in (given, surnames) if p).title()
    if not record["full_name"]:
        name_key = next((k for k in NAME_FIELDS if k in cols), "run")
        add(name_key, "name_missing", "")
    # birth date
    record["birth_date"] = None
    if value("fecha_nacimiento"):
        born = _parse_date(value("fecha_nacimiento"))
        if born is None:
            add("fecha_nacimiento", "date_format")
        else:
            age = (today - born).days // 365
            if not MIN_AGE <= age <= MAX_AGE:
                add("fecha_nacimiento", "date_range", age=age)
            else:
                record["birth_date"] = born
    # school
    record["rbd"] = None
    rbd_text = re.sub(r"-\d$", "", value("rbd").replace(".", ""))  # "8001-2" carries the DV
    if not rbd_text:
        add("rbd", "rbd_missing", "")
    elif not rbd_text.isdigit():
        add("rbd", "rbd_format")
    elif int(rbd_text) not in rbds:
        add("rbd", "rbd_unknown", rbd_text)
    else:
        record["rbd"] = int(rbd_text)
    record["grade_label"] = value("curso")
    record["grade_level"] = parse_grade(value("curso"))
    if value("curso") and record["grade_level"] is None:
        add("curso", "grade_unknown")
    # enrolment status
    record["status"] = "matriculado"
    if value("situacion"):
        status = _STATUS.get(normalize_text(value("situacion")))
        if status is None:
            add("situacion", "status_unknown")
        else:
            record["status"] = status
    year_text = value("ultimo_anio_matricula")
    record["ultimo_anio_matricula"] = None
    if year_text:
        if re.fullmatch(r"\d{4}", year_text) and 1990 <= int(year_text) <= today.year:
            record["ultimo_anio_matricula"] = int(year_text)
        else:
            add("ultimo_anio_matricula", "year_format")
    record["last_grade_passed"] = parse_grade(value("ultimo_curso_aprobado"))
    if value("ultimo_curso_aprobado") and record["last_grade_passed"] is None:
        add("ultimo_curso_aprobado", "grade_unknown")
    record["nee_permanente"] = None
    if value("nee_permanente"):
        flag = _BOOL.get(normalize_text(value("nee_permanente")))
        if flag is None:
            add("nee_permanente", "bool_format")
        record["nee_permanente"] = flag
    # attendance
    record["pct"] = record["days_present"] = record["days_total"] = None
    days_ok = True
    for key, target in (("dias_asistidos", "days_present"), ("dias_trabajados", "days_total")):
        if value(key):
            if re.fullmatch(r"\d{1,3}", value(key)):
                record[target] = int(value(key))
            else:
                add(key, "days_format")
                days_ok = False
    present, total = record["days_present"], record["days_total"]
    if present is not None and total is not None:
        if present > total:
            add("dias_asistidos", "days_inconsistent", expected=total)
            days_ok = False
        elif total > 0:
            record["pct"] = round(100.0 * present / total, 2)
    if value("asistencia"):
        pct = _parse_number(value("asistencia"))
        if pct is None:
            add("asistencia", "attendance_format")
        elif not 0 <= pct <= 100:
            add("asistencia", "attendance_range")
        else:
            record["pct"] = pct
    elif record["pct"] is None and days_ok and record["status"] == "matriculado":
        add("asistencia" if "asistencia" in cols else "run", "attendance_missing", "")
    # period
    record["period"] = None
    if value("mes"):
        record["period"] = parse_period(value("mes"), value("anio"))
        if record["period"] is None:
            add("mes", "period_format")
    # place and contacts
    record["address"] = " ".join(value("direccion").split())
    record["sector"] = " ".join(value("sector").split())
    record["comuna"] = value("comuna").strip()
    if record["comuna"] and comunas and normalize_text(record["comuna"]) not in comunas:
        add("comuna", "comuna_unknown")
    record["phone"] = value("telefono")
    if record["phone"] and not _phone_ok(record["phone"]):
        add("telefono", "phone_format")
    record["guardian"] = " ".join(value("apoderado").split()).title()
    for key, limit in TEXT_LIMITS.items():
        if key in cols and len(value(key)) > limit:
            add(key, "too_long", value(key)[:40] + "…", length=len(value(key)), limit=limit)
    return record


def rejected_rows_csv(table_headers: list[str], result: IntakeResult) -> str:
    """Write the rejected rows as a CSV (``;``, UTF-8 with BOM) with a column of errors.

    Cells that a spreadsheet would run as formulas are neutralised (`layers.export`).
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(safe_row(["fila", *table_headers, "errores"]))
    by_row: dict[int, list[str]] = {}
    for issue in result.errors:
        by_row.setdefault(issue.row, []).append(f"{issue.column or 'fila'}: {issue.message}")
    for row, raw in sorted(result.rejected.items()):
        padded = [*raw, *[""] * (len(table_headers) - len(raw))]
        writer.writerow(safe_row([row, *padded, " | ".join(by_row.get(row, []))]))
    return out.getvalue()
