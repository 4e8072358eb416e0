"""Read and validate lists of students (Chile Presente / SIPTE / SIGE exports, school sheets).

Pure functions: bytes in, records and a report out. Nothing here touches a
database; `geo_app` owns the transaction that stores the records.

The pipeline is ``read_table`` (encoding, delimiter, CSV or XLSX, bounded by
`ReadLimits`; control characters removed; merged cells filled; the header row
found below a report's title lines) → ``match_headers`` (aliases of the usual
column names, or a saved mapping; a column that looks like the RUN's check digit
is never ignored in silence) → ``validate`` (every row, every column, every
problem reported with row, column, value and a Spanish message saying how to fix it).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz

from layers._sheets import IntakeError
from layers._sheets import Line
from layers._sheets import ReadLimits
from layers._sheets import TooLargeError
from layers._sheets import csv_lines
from layers._sheets import decode
from layers._sheets import mixed_encoding_error
from layers._sheets import sniff_delimiter
from layers._sheets import utf8_evidence
from layers._sheets import xlsx_lines
from layers.export import safe_row

__all__ = [
    "CHUNK_ROWS",
    "FIELDS",
    "MESSAGES",
    "REQUIRED",
    "STREAM_LIMITS",
    "HeaderMatch",
    "IntakeError",
    "IntakeResult",
    "Issue",
    "RawTable",
    "ReadLimits",
    "TableStream",
    "TooLargeError",
    "ValidationState",
    "field_of_header",
    "format_run",
    "is_spreadsheet",
    "match_headers",
    "normalize_text",
    "parse_grade",
    "parse_period",
    "parse_run",
    "read_table",
    "rejected_row_cells",
    "rejected_rows_csv",
    "run_check_digit",
    "run_problem",
    "scan_stream",
    "validate",
]

# Distinct values remembered by the parsers of categorical columns (course, month, comuna,
# status): never names, RUNs, dates or addresses, which are personal data.
_CACHE = 1 << 14
PROVISIONAL_RUN = 100_000_000  # RUNs above this are provisional (seed 002, footnote 2)
MIN_AGE, MAX_AGE = 3, 30  # plausible ages of a student in these lists (CEIA goes to 21)


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
        "run numero",
        "rut numero",
        "run con dv",
        "rut con dv",
        "run completo",
        "rut completo",
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

# Words that a header may add around a field's name without changing it, and the shapes
# of a check-digit header once those words are gone («D.V.», «Dig. Verif.», «DIG_VERIF»,
# «RUN DV», «DV RUN», «Dígito», «dv_run», «Dígito verificador del RUT»).
_FILLER = frozenset({"de", "del", "la", "el", "los", "las"})
_DV_CONTEXT = _FILLER | {"run", "rut", "mrun", "ipe", "estudiante", "alumno", "alumna", "n"}
_DV_SHAPES = frozenset({
    ("dv",), ("dgv",), ("dig",), ("digito",), ("verif",), ("verificador",),
    ("digitoverificador",), ("digverif",), ("dig", "v"), ("dig", "ver"), ("dig", "verif"),
    ("dig", "verificador"), ("digito", "verif"), ("digito", "verificador"), ("d", "verif"),
    ("d", "verificador"), ("cod", "verificador"), ("codigo", "verificador"),
})  # fmt: skip


def _loose_words(key: str) -> list[str]:
    """Words of a normalised header, single letters joined (``r u n`` → ``run``)."""
    words: list[str] = []
    letters = ""
    for word in key.split():
        if len(word) == 1 and word.isalpha():
            letters += word
            continue
        if letters:
            words.append(letters)
            letters = ""
        words.append(word)
    if letters:
        words.append(letters)
    return words


def _loose(key: str) -> str:
    return " ".join(w for w in _loose_words(key) if w not in _FILLER)


_LOOSE_ALIASES: dict[str, str] = {_loose(alias): key for alias, key in ALIASES.items()}


def _is_dv_header(key: str) -> bool:
    """Whether a normalised header names the RUN's check digit (see `_DV_SHAPES`)."""
    words = _loose_words(key)
    if len(words) == 1 and words[0] in ("dv", "dgv"):
        return True
    if len(words) > 1 and words[0] in ("d", "dg") and words[1] == "v":  # «D.G.V.»
        words = [words[0] + "v", *words[2:]]
    core = tuple(w for w in words if w not in _DV_CONTEXT)
    return core in _DV_SHAPES


@lru_cache(maxsize=_CACHE)  # the header scan reads the first rows' cells, which repeat
def field_of_header(header: str) -> str | None:
    """Name the field a header stands for (None if none): an alias, loosely spelt, or a DV.

    ``R.U.N.``, ``RUT del alumno`` and ``Fecha de Nac.`` match as their aliases do once
    punctuation, accents, filler words («de», «del») and spaces between single letters
    are ignored; any usual spelling of the check digit (``D.V.``, ``Dig. Verif.``,
    ``DIG_VERIF``, ``RUN DV``, ``DV RUN``, ``Dígito``) is ``"dv"``.
    """
    key = normalize_text(header)
    if not key:
        return None
    found = ALIASES.get(key) or _LOOSE_ALIASES.get(_loose(key))
    if found is None and _is_dv_header(key):
        found = "dv"
    return found


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
    "period_conflict": (
        "error",
        "El título del archivo (fila {title_row}) dice que la asistencia es de {value}, pero al "
        "importar se indicó el mes {period}. Suba el archivo de nuevo indicando el mes "
        "correcto, o corrija el título del archivo.",
    ),
    "no_rows": (
        "error",
        "El archivo solo trae el encabezado (fila {value}) y ninguna fila de estudiantes: no "
        "hay nada que importar. Revise que exportó la hoja, el curso o el establecimiento "
        "correctos y vuelva a subirlo.",
    ),
    "dv_unmapped": (
        "error",
        "La columna «{value}» parece ser el dígito verificador del RUN (coincide con el RUN en "
        "{matches} de {total} filas), pero no está asignada. Asígnela como «Dígito "
        "verificador» en el paso «Asignar columnas» ({choice}): sin ella, el último número "
        "del RUN se tomaría como dígito verificador y la fila quedaría con el RUN de otra "
        "persona.",
    ),
    "run_without_dv": (
        "error",
        "{value} de {total} RUN escritos sin guion no cumplen el dígito verificador (módulo "
        "11): el archivo parece traer el RUN sin su dígito verificador, y los que cumplen por "
        "azar serían el RUN de otra persona. Si el dígito viene en otra columna, asígnela "
        "como «Dígito verificador» en «Asignar columnas»; si no viene, agréguelo (ej. "
        "12.345.678-5). No se importa ninguna fila.",
    ),
    "invisible_removed": (
        "aviso",
        "Se quitaron {value} caracteres invisibles o de control (marcas de dirección del "
        "texto, espacios de ancho cero, caracteres de control) que suelen venir al copiar "
        "desde otra aplicación. No se ven ni cambian los datos, y no se guardan.",
    ),
    "rows_skipped": (
        "aviso",
        "Se saltaron filas que no son de estudiantes (el encabezado repetido, o un título o "
        "total con un solo dato): {value}. Si alguna es un estudiante, complete sus datos.",
    ),
    "row_length": (
        "error",
        "La fila tiene {value} columnas y el encabezado otra cantidad. Revise que no haya "
        "separadores (; o ,) dentro de un dato sin comillas.",
    ),
    "run_missing": ("error", "Falta el RUN. Complete el RUN del estudiante (ej. 12.345.678-5)."),
    "run_format": (
        "error",
        "«{value}» no es un RUN: {reason}. Escríbalo como 12.345.678-5 o 123456785 (los "
        "puntos, espacios y cualquier tipo de guion se aceptan).",
    ),
    "dv_conflict": (
        "error",
        "El RUN «{value}» trae el dígito verificador {digit}, pero la columna «{dv_column}» "
        "dice {dv}. Revise cuál es el correcto en la ficha del estudiante: un RUN erróneo es "
        "un error grave.",
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
    "period_row_missing": (
        "error",
        "Falta el mes de esta fila, y el archivo trae varios meses ({value}). Complete el mes.",
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

    def as_dict(self) -> dict[str, object]:
        """Return the issue as plain data (JSON): row, column, value, code, severity, message."""
        return {"row": self.row, "column": self.column, "value": self.value,
                "code": self.code, "severity": self.severity, "message": self.message}  # fmt: skip


def _issue(row: int, column: str, value: object, code: str, **extra: object) -> Issue:
    text = "" if value is None else str(value)
    message = MESSAGES[code][1].format(value=text, **extra)
    return Issue(row, column, text, code, message)


@dataclass
class RawTable:
    """A table as read from the file: headers and rows of strings.

    ``header_rows`` are the row numbers (as the user sees them in the file) of the line or
    two lines that hold the column names, found automatically below a report's title
    lines or chosen with ``read_table(header_row=...)``; ``head`` keeps the file's first
    non-empty lines so a page can let the user pick another header row.
    """

    headers: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    kind: str  # "csv" | "xlsx"
    encoding: str = ""
    delimiter: str = ""
    header_rows: tuple[int, ...] = (1,)
    head: list[Line] = field(default_factory=list)  # first non-empty lines, for choosing
    title_period: str | None = None  # YYYY-MM from a title line «Período: agosto 2026»
    title_period_row: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, first cell) not read
    n_invisible: int = 0  # control and format characters removed from the cells
    n_merged: int = 0  # XLSX merged ranges whose value was copied to every cell they span

    @property
    def signature(self) -> str:
        """Fingerprint of the normalised headers, used to remember a column mapping."""
        joined = "|".join(normalize_text(h) for h in self.headers)
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


@dataclass
class HeaderMatch:
    """Which file column feeds which field; what is missing, ignored or must be asked."""

    columns: dict[str, int]  # field -> column index
    missing: list[str]  # required fields with no column
    ignored: list[str]  # headers not used
    duplicates: list[str]  # fields claimed by more than one column
    suspects: list[str] = field(default_factory=list)  # unmapped columns that look like a DV
    user_ignored: list[str] = field(default_factory=list)  # headers the user chose not to use

    @property
    def complete(self) -> bool:
        """Whether the file can be validated without asking the user for a mapping."""
        return not self.missing and not self.duplicates and not self.suspects


@dataclass
class IntakeResult:
    """Valid records, every issue, and the rows rejected."""

    records: list[dict]
    issues: list[Issue]
    rejected: dict[int, list[str]] = field(default_factory=dict)  # row -> raw values
    headers: list[str] = field(default_factory=list)
    n_rows: int = 0
    periods: dict[str, int] = field(default_factory=dict)  # YYYY-MM -> valid rows carrying it

    @property
    def errors(self) -> list[Issue]:
        """Issues that stop a row (or the file) from being imported."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def file_errors(self) -> list[Issue]:
        """Errors of the whole file: nothing can be imported until they are fixed."""
        return [i for i in self.errors if i.row == 0]

    @property
    def period(self) -> str | None:
        """The month (``YYYY-MM``) of the valid rows when they all carry the same one.

        This, not the month typed in the import form, is what an import of this file
        stores; with rows of several months it is None and `periods` lists them.
        """
        return next(iter(self.periods)) if len(self.periods) == 1 else None

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


_categorical = lru_cache(maxsize=_CACHE)(normalize_text)  # comuna, status, yes/no cells


# --------------------------------------------------------------------------- reading

_HEADER_SCAN = 30  # lines searched for the header row
_HEAD_LINES = 15  # lines kept for a page to let the user choose the header row


def read_table(
    data: bytes,
    filename: str = "",
    *,
    header_row: int | Sequence[int] | None = None,
    limits: ReadLimits | None = None,
) -> RawTable:
    """Read a CSV (``;``, ``,`` or tab; UTF-8, UTF-8 with BOM, UTF-16 or Latin-1) or an XLSX.

    Report-style exports are read as a person reads them: title lines above the table are
    skipped (the header row is the first of the first 30 lines that names the most known
    fields, or two consecutive lines read together when the column names are split over
    them, as «Asistencia» over «Días asistidos | Días trabajados | %»); XLSX merged cells
    take their value on every cell they span; the CSV separator is sniffed on the table's
    lines, not the title's. Rows repeating the header and lines holding a single value (a
    section title «Escuela Rural Llicaldad», a footer «Total: 32») below the header are
    skipped and listed in ``skipped``. Control and format characters (bidi overrides,
    zero-width spaces, terminal escapes) are removed from every cell (`layers.text`).

    Parameters
    ----------
    data
        The file's bytes.
    filename
        Its name; ``.xlsx``/``.xlsm`` (or a zip signature) is read as a spreadsheet.
    header_row
        Row number (as in the file, 1-based) of the header, or two consecutive row numbers
        for a header over two lines; None finds it. The rows above it are not read.
    limits
        Largest table accepted (`ReadLimits()` by default).

    Raises
    ------
    IntakeError
        When the bytes are not a table Revincula can read, are beyond `limits`, or
        `header_row` names an empty or missing row, with the fix in Spanish.
    """
    limits = limits or ReadLimits()
    if not data.strip():
        msg = "El archivo está vacío. Exporte de nuevo la planilla y súbala otra vez."
        raise IntakeError(msg)
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        lines, removed, merged = xlsx_lines(data, limits)
        return _table(lines, "xlsx", "", "", header_row, removed, merged)
    if filename.lower().endswith(".xls") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        msg = (
            "El formato .xls (Excel 97-2003) no se puede leer. Ábralo en Excel o LibreOffice y "
            "guárdelo como .xlsx o como CSV."
        )
        raise IntakeError(msg)
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    lines, removed = csv_lines(text, delimiter, limits)
    return _table(lines, "csv", encoding, delimiter, header_row, removed, 0)


def _table(
    lines: list[Line],
    kind: str,
    encoding: str,
    delimiter: str,
    header_row: int | Sequence[int] | None,
    removed: int,
    merged: int,
) -> RawTable:
    lines = [(n, row) for n, row in lines if any(row)]
    if not lines:
        msg = "El archivo no tiene filas con datos. Revise que exportó la hoja correcta."
        raise IntakeError(msg)
    start, header_rows, headers = _locate_header(lines, header_row)
    while headers and not headers[-1]:
        headers = headers[:-1]
    width = len(headers)
    header_lines = [_trim(row) for _, row in lines[start - len(header_rows) : start]]
    head = [(n, list(row)) for n, row in lines[:_HEAD_LINES]]
    rows, numbers, skipped = _body(itertools.islice(lines, start, None), width, header_lines)
    title_period, title_row = _title_period(lines[: start - len(header_rows)])
    return RawTable(
        headers=headers,
        rows=rows,
        row_numbers=numbers,
        kind=kind,
        encoding=encoding,
        delimiter=delimiter,
        header_rows=header_rows,
        head=head,
        title_period=title_period,
        title_period_row=title_row,
        skipped=skipped,
        n_invisible=removed,
        n_merged=merged,
    )


def _body(
    lines: Iterable[Line], width: int, header_lines: list[list[str]]
) -> tuple[list[list[str]], list[int], list[tuple[int, str]]]:
    """Rows, their numbers and the lines skipped, of the non-empty `lines` below the header.

    Rows repeating the header and lines holding a single value that is not a RUN (a
    section title, a footer) are skipped; trailing empty cells past `width` are dropped.
    """
    header_starts = {row[0] for row in header_lines}
    rows, numbers, skipped = [], [], []
    for number, trimmed in lines:
        while len(trimmed) > width and not trimmed[-1]:  # the reader's own lists: in place
            trimmed.pop()
        if trimmed[0] in header_starts and _trim(trimmed) in header_lines:
            skipped.append((number, trimmed[0]))  # the header again (a report's next page)
        elif (
            width >= 3
            and (len(trimmed) < 2 or not trimmed[0] or not trimmed[1] or trimmed[0] == trimmed[1])
            and _single_value(trimmed)
        ):
            value = next(c for c in trimmed if c)
            if parse_run(value) is None:  # a section title or a footer, not a student
                skipped.append((number, value))
                continue
            rows.append(trimmed)
            numbers.append(number)
        else:
            rows.append(trimmed)
            numbers.append(number)
    return rows, numbers, skipped


def _trim(row: list[str]) -> list[str]:
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    return row[:end]


def _single_value(row: list[str]) -> bool:
    """Whether every non-empty cell holds one same value (one cell, or a merged title)."""
    first = next((c for c in row if c), "")
    return all(c == first or not c for c in row)


def _header_labels(top: list[str] | None, bottom: list[str]) -> list[str]:
    """Column names of one header line, or of two read together.

    With two lines, a name on the upper line spans the blank cells to its right (a merged
    cell exported to CSV), and each column takes the first of «upper lower», «lower» and
    «upper» that names a field, else both words as written.
    """
    if top is None:
        return list(bottom)
    labels = []
    carried = ""
    for index in range(max(len(top), len(bottom))):
        upper = top[index] if index < len(top) else ""
        lower = bottom[index] if index < len(bottom) else ""
        carried = upper or carried
        options = [f"{carried} {lower}" if carried and lower else "", lower, upper]
        found = next((o for o in options if o and field_of_header(o)), None)
        labels.append(found or " ".join(p for p in (upper, lower) if p))
    return labels


def _header_score(labels: list[str]) -> int:
    return len({f for f in map(field_of_header, labels) if f})


def _locate_header(
    lines: list[Line], header_row: int | Sequence[int] | None
) -> tuple[int, tuple[int, ...], list[str]]:
    """Index of the first body line, the header's row numbers and its labels."""
    numbers = [n for n, _ in lines]
    if header_row is not None:
        wanted = (header_row,) if isinstance(header_row, int) else tuple(header_row)
        present = [n in numbers for n in wanted]
        consecutive = all(b == a + 1 for a, b in itertools.pairwise(wanted))
        if not 1 <= len(wanted) <= 2 or not all(present) or not consecutive:
            shown = " y ".join(str(n) for n in wanted)
            msg = (
                f"La fila {shown} no existe o está vacía: elija como encabezado la fila (o las "
                "dos filas seguidas) con los nombres de las columnas."
            )
            raise IntakeError(msg)
        last = numbers.index(wanted[-1])
        top = lines[last - 1][1] if len(wanted) == 2 else None
        return last + 1, wanted, _header_labels(top, lines[last][1])
    best: tuple[int, int, tuple[int, ...], list[str]] | None = None  # score, index, ...
    for index, (number, row) in enumerate(lines[:_HEADER_SCAN]):
        single = _header_labels(None, row)
        candidates = [(_header_score(single), (number,), single)]
        if index and numbers[index - 1] == number - 1:
            pair = _header_labels(lines[index - 1][1], row)
            above = _header_score(lines[index - 1][1])
            if _header_score(pair) > max(candidates[0][0], above):
                candidates.append((_header_score(pair), (number - 1, number), pair))
        score, rows, labels = max(candidates, key=lambda c: c[0])
        if best is None or score > best[0]:
            best = (score, index, rows, labels)
    if best is not None and best[0] >= 2:
        return best[1] + 1, best[2], best[3]
    # No line names two known fields: take the first line as wide as the table (a title
    # is one value, even merged across the sheet), and let the mapping step name columns.
    widths = [len({c for c in row if c}) for _, row in lines[:_HEADER_SCAN]]
    wide = min(max(widths), max(2, max(widths) // 2))
    index = next(i for i, w in enumerate(widths) if w >= wide)
    return index + 1, (numbers[index],), list(lines[index][1])


_TITLE_PERIOD = re.compile(r"\b(?:periodo|mes)\b(.*)")


def _title_period(preamble: list[Line]) -> tuple[str | None, int]:
    """Find the month a title line states («Período: agosto 2026», «Mes de agosto 2026»)."""
    for number, row in preamble:
        for cell in dict.fromkeys(c for c in row if c):
            match = _TITLE_PERIOD.search(normalize_text(cell))
            if match and (period := parse_period(match[1])):
                return period, number
    return None, 0


# --------------------------------------------------------------------------- headers


def match_headers(
    headers: list[str],
    mapping: Mapping[str, str] | None = None,
    *,
    rows: Sequence[Sequence[str]] | None = None,
) -> HeaderMatch:
    """Assign each header to a field through the aliases, or through `mapping`.

    With the table's `rows`, the cells are checked too: a column named like a check digit
    that holds whole RUNs (``RUT-DV`` = the RUT with its DV) is the RUN column when there
    is no other, and an unmapped column that looks like the RUN's check digit (one
    character, 0–9 or K, matching the RUN column's module 11 in most rows) is listed in
    ``suspects``, which makes the match incomplete: the user must map it (or say it is not
    used) before the file is read, or about one row in eleven would be stored under
    another person's RUN.

    Parameters
    ----------
    headers
        The file's header row.
    mapping
        Optional ``{header: field}`` chosen by the user (``""`` = ignore this
        column); it takes precedence over the aliases.
    rows
        The table's rows (`RawTable.rows`), to look at the cells.
    """
    columns: dict[str, int] = {}
    ignored: list[str] = []
    duplicates: list[str] = []
    user_ignored: list[str] = []
    by_alias: set[str] = set()
    for index, header in enumerate(headers):
        if mapping is not None and header in mapping:
            key = mapping[header] or None
            if key is None:
                user_ignored.append(header)
        else:
            key = field_of_header(header)
            by_alias.add(key)
        if key is None:
            ignored.append(header)
        elif key in columns:
            duplicates.append(FIELDS[key])
        else:
            columns[key] = index
    suspects: list[str] = []
    if rows is not None:
        if "dv" in by_alias and "dv" in columns and "run" not in columns:
            sample = [_get(r, columns["dv"]) for r in rows[:_SAMPLE_ROWS]]
            whole = [v for v in sample if v and parse_run(v) is not None and len(v) > 2]
            if len(whole) * 2 > len([v for v in sample if v]):
                columns["run"] = columns.pop("dv")
        suspects = [headers[i] for i, *_ in _dv_suspects(headers, rows, columns, user_ignored)]
    missing = [FIELDS[k] for k in REQUIRED if k not in columns]
    if not any(k in columns for k in NAME_FIELDS):
        missing.append("Nombres o Nombre completo")
    return HeaderMatch(columns, missing, ignored, duplicates, suspects, user_ignored)


_SAMPLE_ROWS = 500  # rows looked at to recognise a column by its cells


def _certain_dv(matches: int, compared: int) -> bool:
    """Whether a column matches the RUN's check digit too often to be chance.

    A random one-character column matches one row in eleven; 3 rows or more and 80 % of
    them happen by chance less than once in a thousand files.
    """
    return matches >= 3 and matches * 5 >= compared * 4


def _dv_suspects(
    headers: list[str],
    rows: Sequence[Sequence[str]],
    columns: Mapping[str, int],
    user_ignored: Iterable[str] = (),
) -> list[tuple[int, int, int]]:
    """Find unmapped columns that look like the RUN's check digit: (index, matches, rows).

    A column qualifies when every non-empty cell of the first 500 rows is one character
    0–9 or K and, in more than half of the rows whose RUN cell is all digits (its check
    digit is not written after a hyphen), it equals the module-11 digit of that whole
    number: a random one-digit column matches one row in eleven.
    """
    if "run" not in columns or "dv" in columns:
        return []
    sample = rows[:_SAMPLE_ROWS]
    bodies = []
    for row in sample:
        text = re.sub(r"[\s.,']", "", _get(row, columns["run"]))
        bodies.append(int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None)
    if not any(b is not None for b in bodies):
        return []
    mapped = set(columns.values())
    chosen = set(user_ignored)
    found = []
    for index, header in enumerate(headers):
        if index in mapped:
            continue
        values = [_get(row, index).upper() for row in sample]
        if not any(values) or any(len(v) > 1 or v not in "0123456789K" for v in values):
            continue
        pairs = [(b, v) for b, v in zip(bodies, values, strict=True) if b is not None and v]
        matches = sum(run_check_digit(b) == v for b, v in pairs)
        if not matches or matches * 2 <= len(pairs):
            continue
        if header in chosen and not _certain_dv(matches, len(pairs)):
            continue  # the user said «no usar» to a column that may match by chance
        found.append((index, matches, len(pairs)))
    return found


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


# Dashes people type for the RUN's hyphen (hyphen, non-breaking hyphen, figure dash, en
# dash, em dash, horizontal bar, minus sign, small and fullwidth hyphen-minus).
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_TO_HYPHEN = str.maketrans(dict.fromkeys(_DASHES, "-"))
_RUN_PLAIN = re.compile(r"[0-9]{1,3}(?:\.?[0-9]{3}){1,2}-?[0-9kK]")  # 12.345.678-5, 123456785
_RUN_CHARACTERS = frozenset("0123456789.,-'Kk" + _DASHES)
_GROUPED = re.compile(r"[0-9]{1,3}(?:[.,][0-9]{3})+")
_HINTS = {
    "O": "¿una letra O en lugar de un cero?",
    "o": "¿una letra o en lugar de un cero?",
    "l": "¿una letra l en lugar de un uno?",
    "I": "¿una letra I en lugar de un uno?",
    "/": "use un guion (-) antes del dígito verificador",
    "_": "use un guion (-) antes del dígito verificador",
    ":": "use un guion (-) antes del dígito verificador",
}


def _run_characters(value: str) -> str | None:
    """Say which character of `value` cannot be in a RUN, and where; None if all can."""
    for position, char in enumerate(value, start=1):
        if char in _RUN_CHARACTERS or char.isspace():
            continue
        folded = unicodedata.normalize("NFKC", char)
        if len(folded) == 1 and folded in "0123456789":
            continue
        shown = (
            f"«{char}»"
            if char.isprintable()
            else f"invisible U+{ord(char):04X} ({unicodedata.name(char, 'sin nombre')})"
        )
        hint = _HINTS.get(char, "un RUN solo lleva dígitos, puntos, un guion y el dígito "
                                "verificador (0 a 9 o K)")  # fmt: skip
        return f"el carácter {shown} en la posición {position}: {hint}"
    return None


def _run_text(value: str) -> tuple[str, str | None]:
    """Reduce a typed RUN to digits, one hyphen and K; or say what cannot be read."""
    text = value.strip()
    if not _RUN_PLAIN.fullmatch(text):
        if problem := _run_characters(value):
            return "", problem
        text = unicodedata.normalize("NFKC", text).translate(_TO_HYPHEN)
        text = "".join(text.split()).removeprefix("'")
        if "'" in text:
            return "", f"el apóstrofo en la posición {value.index(chr(39), 1) + 1} no va en un RUN"
    text = text.upper()
    if text.count("-") > 1:
        return "", f"tiene {text.count('-')} guiones; solo va uno, antes del dígito verificador"
    number_part = text.partition("-")[0] if "-" in text else text
    if "," in number_part and not (
        _GROUPED.fullmatch(number_part) or _GROUPED.fullmatch(number_part[:-1])
    ):
        return "", (
            f"la coma en la posición {value.rindex(',') + 1} no separa miles "
            "(un RUN no lleva decimales)"
        )
    return text.replace(".", "").replace(",", ""), None


def _clean_dv(dv: str) -> str:
    """Clean a check-digit cell: no spaces, no leading dash, upper case."""
    if len(dv) == 1:
        return dv.upper()
    return "".join(dv.split()).translate(_TO_HYPHEN).strip("-").upper()


def _split_run(value: str, dv: str = "") -> tuple[int, str, bool] | str:
    """Split a RUN into ``(number, check digit, written in the RUN cell)``, or say why not.

    Accepted as harmless: dots, spaces (also non-breaking), comma thousands separators
    (``90,000,031-6``), any dash for the hyphen (en and em dash, minus sign, non-breaking
    hyphen), a lower-case k, leading zeros, Excel's text apostrophe and fullwidth digits.
    Anything else is named with its position so the user can find it.
    """
    text, problem = _run_text(value)
    if problem:
        return problem
    dv = _clean_dv(dv)
    inline = "-" in text
    if inline:
        body, _, digit = text.partition("-")
        if len(digit) != 1:
            shown = f"hay «{digit}»" if digit else "no hay ninguno"
            return f"después del guion va un solo dígito verificador (0 a 9 o K), y {shown}"
    elif dv:
        body, digit = text, dv
        if len(dv) != 1 or dv not in "0123456789K":
            return f"el dígito verificador «{dv}» debe ser un número de 0 a 9 o K"
    else:
        body, digit = text[:-1], text[-1:]
    if "K" in body:
        return "la K solo puede ir al final, como dígito verificador"
    if not 6 <= len(body) <= 9 or not body.isdigit():
        return (
            f"tiene {len(body)} dígito(s) antes del dígito verificador, y un RUN tiene 7 u 8 "
            "(9 si es provisorio)"
        )
    return int(body), digit, inline


def parse_run(value: str, dv: str = "") -> tuple[int, str] | None:
    """Split ``12.345.678-5``, ``12345678-5`` or ``123456785`` into (number, check digit).

    With a separate `dv` column, `value` may be the number alone (a check digit written
    in `value` after a hyphen wins). Returns None when the text is not shaped like a RUN;
    `run_problem` says why. The check digit is not verified here.
    """
    parts = _split_run(str(value), str(dv))
    return None if isinstance(parts, str) else parts[:2]


def run_problem(value: str, dv: str = "") -> str | None:
    """Why `value` (with an optional separate check digit `dv`) is not a RUN, in Spanish.

    None when it is shaped like one (the module-11 check is `run_check_digit`'s job).
    """
    parts = _split_run(str(value), str(dv))
    return parts if isinstance(parts, str) else None


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


@lru_cache(maxsize=_CACHE)  # a list repeats its courses and months row after row
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


@lru_cache(maxsize=_CACHE)  # birth dates repeat (a school's students share a few years)
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


@lru_cache(maxsize=_CACHE)  # percentages repeat (days present over the month's days)
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


@lru_cache(maxsize=_CACHE)  # a list repeats its courses and months row after row
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


_NON_DIGIT = re.compile(r"\D")
_DAYS = re.compile(r"\d{1,3}")
_YEAR = re.compile(r"\d{4}")
_RBD_DV = re.compile(r"-\d$")


def _phone_ok(value: str) -> bool:
    digits = _NON_DIGIT.sub("", value)
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
    state: ValidationState | None = None,
    on_rows: Callable[[int], object] | None = None,
    every: int = 5_000,
) -> IntakeResult:
    """Check every row; return the valid records and every issue.

    The month of each record is the one its row carries (a «Mes» column); a row whose
    month cell is empty takes the month of the other rows when they all agree; a file with
    no month column takes the month stated in its title («Período: agosto 2026»), else
    `period`. A title and a `period` that disagree are an error: the user says which.
    `IntakeResult.period` and `IntakeResult.periods` give the months the valid rows carry.

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
        ``YYYY-MM`` for files whose rows and title do not say the month.
    today
        Reference date for ages (default: today).
    state
        For a file validated in chunks (`TableStream`, `scan_stream`): the month, the
        attendance scale and the RUNs seen so far come from it and go on to the next
        chunk; the notes about reading and the check of RUNs written without their check
        digit are the caller's, once for the whole file (`ValidationState.file_issue`).
    on_rows, every
        Progress: ``on_rows(rows checked)`` after every `every` rows and at the end.
    """
    today = today or dt.date.today()
    result = IntakeResult(records=[], issues=[], headers=table.headers, n_rows=len(table.rows))
    if state is None:
        result.issues.extend(_reading_notes(table.n_invisible, table.skipped, len(table.skipped)))
    if not table.rows:
        if state is None:
            shown = " y ".join(str(n) for n in table.header_rows)
            result.issues.append(_issue(0, "", shown, "no_rows"))
        return result
    suspects = []
    if state is None or not state.checked:
        suspects = _dv_suspects(table.headers, table.rows, match.columns, match.user_ignored)
    if not match.complete or suspects:
        if match.missing:
            result.issues.append(_issue(0, "", ", ".join(match.missing), "missing_columns"))
        for name in match.duplicates:
            result.issues.append(_issue(0, "", name, "duplicate_column"))
        for index, matches, compared in suspects:
            choice = (
                "coincide en tantas filas que no es azar: no puede quedar sin usar"
                if _certain_dv(matches, compared)
                else "o márquela «no usar» si no lo es"
            )
            result.issues.append(
                _issue(0, table.headers[index], table.headers[index], "dv_unmapped",
                       matches=matches, total=compared, choice=choice)
            )  # fmt: skip
        return result
    cols = match.columns
    if state is None:
        default_period, months, problem = _file_period(table, cols, period)
    else:
        state.checked = True
        default_period, months, problem = state.default_period, state.months, state.problem
    if problem is not None:
        result.issues.append(problem)
        return result
    rbds = {int(r) for r in known_rbds}
    comunas = {normalize_text(c) for c in known_comunas}
    names = known_names or {}
    # a fraction column (0-1, as Excel percentages export) is scaled to 0-100
    if state is None:
        top, fraction = _attendance_facts(table.rows, cols)
        scale = 100.0 if top is not None and top <= 1.0 and fraction else 1.0
        seen: dict[tuple[int, str], int] = {}  # (run, period) -> first row
        stats: Counter = Counter()  # how the RUNs were written, for the file-level check
    else:
        scale, seen, stats = state.scale, state.seen, state.stats
    width = len(table.headers)
    for done, (number, raw) in enumerate(zip(table.row_numbers, table.rows, strict=True)):
        if on_rows is not None and done and done % every == 0:
            on_rows(done)
        row_issues: list[Issue] = []
        if len(raw) > width:
            row_issues.append(_issue(number, "", len(raw), "row_length"))
            result.issues.extend(row_issues)
            result.rejected[number] = raw
            continue
        record = _check_row(
            number, raw, table.headers, cols, row_issues, rbds, comunas, today, stats
        )
        if record["period"] is None:
            record["period"] = default_period
            if default_period is None:
                shown = ", ".join(sorted(months))
                column = table.headers[cols["mes"]]
                row_issues.append(_issue(number, column, shown, "period_row_missing"))
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
    if on_rows is not None:
        on_rows(len(table.rows))
    if state is not None:
        result.periods = dict(sorted(Counter(r["period"] for r in result.records).items()))
        return result
    if (issue := _run_without_dv(stats, table.headers[cols["run"]])) is not None:
        result.issues.append(issue)
        raw_by_number = dict(zip(table.row_numbers, table.rows, strict=True))
        for record in result.records:
            result.rejected[record["row"]] = raw_by_number[record["row"]]
        result.records = []
    result.periods = dict(sorted(Counter(r["period"] for r in result.records).items()))
    return result


def _run_without_dv(stats: Counter, header: str) -> Issue | None:
    """Return the file error when RUNs are written without their check digit, else None.

    RUNs written without a hyphen that mostly fail module 11: the check digit is missing,
    and the few that pass by chance (one in eleven) would be another person's RUN.
    """
    plain, plain_bad = stats["plain"], stats["plain_bad"]
    if plain >= 3 and plain * 2 > stats["parsed"] and plain_bad * 2 >= plain:
        return _issue(0, header, plain_bad, "run_without_dv", total=plain)
    return None


def _attendance_facts(rows: Iterable[Sequence[str]], cols: Mapping[str, int]):
    """Return the largest attendance value and whether some is a fraction (0 < v < 1)."""
    if "asistencia" not in cols:
        return None, False
    values = [_parse_number(_get(r, cols["asistencia"])) for r in rows]
    numbers = [v for v in values if v is not None]
    if not numbers:
        return None, False
    return max(numbers), any(0 < v < 1 for v in numbers)


def _reading_notes(n_invisible: int, skipped: Sequence[tuple[int, str]], n_skipped: int):
    """Warnings about what reading the file changed or skipped (nothing is lost silently).

    `skipped` holds at least the first ten lines skipped, of `n_skipped`.
    """
    notes = []
    if n_invisible:
        notes.append(_issue(0, "", n_invisible, "invisible_removed"))
    if n_skipped:
        shown = ", ".join(f"{n} («{text[:30]}»)" for n, text in skipped[:10])
        more = f" y {n_skipped - 10} más" if n_skipped > 10 else ""
        notes.append(_issue(0, "", shown + more, "rows_skipped"))
    return notes


def _period_pairs(rows: Iterable[Sequence[str]], cols: Mapping[str, int]) -> set[tuple[str, str]]:
    """Return the distinct (month, year) cells of `rows`."""
    if "mes" not in cols:
        return set()
    return {(_get(r, cols["mes"]), _get(r, cols.get("anio"))) for r in rows}


def _file_period(
    table: RawTable,
    cols: Mapping[str, int],
    period: str | None,
    pairs: set[tuple[str, str]] | None = None,
) -> tuple[str | None, set[str], Issue | None]:
    """Decide the month of rows with no month cell; also the months the rows carry, a problem.

    `pairs` are the distinct (month, year) cells of the whole file (default: of `table`).
    """
    months: set[str] = set()
    if "mes" in cols:
        pairs = _period_pairs(table.rows, cols) if pairs is None else pairs
        months = {p for m, y in pairs if m and (p := parse_period(m, y))}
        if months:
            return (next(iter(months)) if len(months) == 1 else None), months, None
    title = table.title_period
    if title and period and title != period:
        problem = _issue(
            0, "", title, "period_conflict", title_row=table.title_period_row, period=period
        )
        return None, months, problem
    chosen = title or period
    if chosen is None:
        return None, months, _issue(0, "", "", "period_missing")
    return chosen, months, None


def _names_differ(stored: str, given: str) -> bool:
    """Whether two full names belong to different people (typos and order tolerated)."""
    if stored == given:  # the common case on a re-import: no comparison needed
        return False
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
    stats: Counter,
) -> dict:
    cells = dict.fromkeys(FIELDS, "")  # every field, "" when the file has no such column
    width = len(raw)
    for key, index in cols.items():
        if index < width:
            cells[key] = raw[index].strip()

    def add(key: str, code: str, shown: object = None, **extra: object) -> None:
        column = headers[cols[key]] if key in cols else ""
        issues.append(_issue(number, column, cells[key] if shown is None else shown, code, **extra))

    record: dict = {"row": number}
    # RUN
    run_text = cells["run"]
    if not run_text:
        add("run", "run_missing")
        record["run"] = None
    else:
        parts = _split_run(run_text, cells["dv"])
        if isinstance(parts, str):
            add("run", "run_format", reason=parts)
            record["run"] = None
        else:
            body, digit, inline = parts
            expected = run_check_digit(body)
            record["run"], record["dv"] = body, expected
            record["run_provisional"] = body > PROVISIONAL_RUN
            stats["parsed"] += 1
            dv_cell = _clean_dv(cells["dv"]) if "dv" in cols else ""
            if not inline and not dv_cell:
                stats["plain"] += 1
                stats["plain_bad"] += digit != expected
            if inline and dv_cell and dv_cell != digit:
                add("run", "dv_conflict", digit=digit, dv=dv_cell, dv_column=headers[cols["dv"]])
            elif digit != expected:
                add("run", "run_check_digit", expected=expected)
            elif body > PROVISIONAL_RUN:
                add("run", "run_provisional", format_run(body, digit))
    # names
    given, surnames = cells["nombres"], cells["apellidos"]
    if not surnames:
        surnames = " ".join(p for p in (cells["apellido_paterno"], cells["apellido_materno"]) if p)
    if not given and not surnames and cells["nombre_completo"]:
        given = cells["nombre_completo"]
    given, surnames = " ".join(given.split()), " ".join(surnames.split())
    record["given_names"], record["surnames"] = given.title(), surnames.title()
    record["full_name"] = " ".join(p for p in (given, surnames) if p).title()
    if not record["full_name"]:
        name_key = next((k for k in NAME_FIELDS if k in cols), "run")
        add(name_key, "name_missing", "")
    # birth date
    record["birth_date"] = None
    if cells["fecha_nacimiento"]:
        born = _parse_date(cells["fecha_nacimiento"])
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
    rbd_text = _RBD_DV.sub("", cells["rbd"].replace(".", ""))  # "8001-2" carries the DV
    if not rbd_text:
        add("rbd", "rbd_missing", "")
    elif not rbd_text.isdigit():
        add("rbd", "rbd_format")
    elif int(rbd_text) not in rbds:
        add("rbd", "rbd_unknown", rbd_text)
    else:
        record["rbd"] = int(rbd_text)
    record["grade_label"] = cells["curso"]
    record["grade_level"] = parse_grade(cells["curso"])
    if cells["curso"] and record["grade_level"] is None:
        add("curso", "grade_unknown")
    # enrolment status
    record["status"] = "matriculado"
    if cells["situacion"]:
        status = _STATUS.get(_categorical(cells["situacion"]))
        if status is None:
            add("situacion", "status_unknown")
        else:
            record["status"] = status
    year_text = cells["ultimo_anio_matricula"]
    record["ultimo_anio_matricula"] = None
    if year_text:
        if _YEAR.fullmatch(year_text) and 1990 <= int(year_text) <= today.year:
            record["ultimo_anio_matricula"] = int(year_text)
        else:
            add("ultimo_anio_matricula", "year_format")
    record["last_grade_passed"] = parse_grade(cells["ultimo_curso_aprobado"])
    if cells["ultimo_curso_aprobado"] and record["last_grade_passed"] is None:
        add("ultimo_curso_aprobado", "grade_unknown")
    record["nee_permanente"] = None
    if cells["nee_permanente"]:
        flag = _BOOL.get(_categorical(cells["nee_permanente"]))
        if flag is None:
            add("nee_permanente", "bool_format")
        record["nee_permanente"] = flag
    # attendance
    record["pct"] = record["days_present"] = record["days_total"] = None
    days_ok = True
    for key, target in (("dias_asistidos", "days_present"), ("dias_trabajados", "days_total")):
        if cells[key]:
            if _DAYS.fullmatch(cells[key]):
                record[target] = int(cells[key])
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
    if cells["asistencia"]:
        pct = _parse_number(cells["asistencia"])
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
    if cells["mes"]:
        record["period"] = parse_period(cells["mes"], cells["anio"])
        if record["period"] is None:
            add("mes", "period_format")
            record["period"] = ""  # unreadable, not missing: the row is rejected as it is
    # place and contacts
    record["address"] = " ".join(cells["direccion"].split())
    record["sector"] = " ".join(cells["sector"].split())
    record["comuna"] = cells["comuna"].strip()
    if record["comuna"] and comunas and _categorical(record["comuna"]) not in comunas:
        add("comuna", "comuna_unknown")
    record["phone"] = cells["telefono"]
    if record["phone"] and not _phone_ok(record["phone"]):
        add("telefono", "phone_format")
    record["guardian"] = " ".join(cells["apoderado"].split()).title()
    for key, limit in TEXT_LIMITS.items():
        if key in cols and len(cells[key]) > limit:
            add(key, "too_long", cells[key][:40] + "…", length=len(cells[key]), limit=limit)
    return record


def rejected_rows_csv(table_headers: list[str], result: IntakeResult) -> str:
    """Write the rejected rows as a CSV (``;``, UTF-8 with BOM) with a column of errors.

    Cells that a spreadsheet would run as formulas are neutralised (`layers.export`).
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(safe_row(["fila", *table_headers, "errores"]))
    writer.writerows(rejected_row_cells(table_headers, result))
    return out.getvalue()


def rejected_row_cells(table_headers: list[str], result: IntakeResult) -> Iterable[list]:
    """Yield each rejected row of `result` as `rejected_rows_csv` writes it, in row order.

    ``[row number, *cells padded to the headers, "column: message | …"]``, neutralised
    for spreadsheets (`layers.export.safe_row`).
    """
    by_row: dict[int, list[str]] = {}
    for issue in result.errors:
        by_row.setdefault(issue.row, []).append(f"{issue.column or 'fila'}: {issue.message}")
    for row, raw in sorted(result.rejected.items()):
        padded = [*raw, *[""] * (len(table_headers) - len(raw))]
        yield safe_row([row, *padded, " | ".join(by_row.get(row, []))])


# --------------------------------------------------------------------------- streaming

# A streamed CSV is never whole in memory, so its size is bounded by time, not RAM: these
# limits only refuse what no school list is (ten million rows, a row of 256+ columns).
STREAM_LIMITS = ReadLimits(max_rows=10_000_000, max_cells=500_000_000)
CHUNK_ROWS = 20_000  # rows validated, located and stored together
_BLOCK = 1 << 20  # bytes read at a time when checking a file's encoding
_UTF8_LEADS = bytes(range(0xC2, 0xF5))  # the first byte of a UTF-8 multi-byte sequence


@dataclass
class ValidationState:
    """What validating a file chunk by chunk carries across chunks (see `scan_stream`).

    ``default_period``, ``months`` and ``problem`` are `validate`'s month decision for
    the whole file; ``scale`` its attendance scale; ``seen`` (RUN, month) -> first row
    and ``stats`` (how RUNs were written) grow chunk after chunk.
    """

    default_period: str | None
    months: set[str]
    problem: Issue | None
    scale: float
    n_rows: int = 0
    n_invisible: int = 0
    n_skipped: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # the first ones
    seen: dict[tuple[int, str], int] = field(default_factory=dict)
    stats: Counter = field(default_factory=Counter)
    checked: bool = False  # the column checks of the first chunk were done

    def reading_notes(self) -> list[Issue]:
        """Warnings of the whole file about what reading changed or skipped."""
        return _reading_notes(self.n_invisible, self.skipped, self.n_skipped)

    def file_issue(self, headers: list[str], match: HeaderMatch) -> Issue | None:
        """Return the file error found once every chunk was validated (RUNs with no DV), or None.

        When not None, no row of the file can be imported (`validate` rejects them all).
        """
        if "run" not in match.columns:
            return None
        return _run_without_dv(self.stats, headers[match.columns["run"]])


def _stream_encoding(path: str) -> tuple[str, str]:  # noqa: C901 - decode, by blocks
    """Return the codec and label `decode` would choose for the file at `path` (by blocks).

    Raises
    ------
    IntakeError
        As `decode`: NUL bytes, or a BOM the bytes do not honour.
    """
    import codecs

    with Path(path).open("rb") as file:
        first = file.read(4)
        if first.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "utf-16", "UTF-16"
        file.seek(0)
        bom = first.startswith(b"\xef\xbb\xbf")
        utf8 = codecs.getincrementaldecoder("utf-8")()
        cp1252 = codecs.getincrementaldecoder("cp1252")()
        ok_utf8 = ok_cp1252 = True
        offset = lines = 0
        valid = other = 0  # as `utf8_evidence`, over the whole file
        first_bad: tuple[int, int] | None = None  # byte and line of the first non-UTF-8 byte
        while block := file.read(_BLOCK):
            nul = block.find(b"\x00")
            if nul >= 0:
                msg = (
                    f"El archivo trae bytes nulos (el primero en la posición {offset + nul}): "
                    "no es un CSV de texto o está dañado. Expórtelo de nuevo como CSV o XLSX."
                )
                raise IntakeError(msg)
            if ok_utf8:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError as err:
                    if bom:
                        msg = (
                            "El archivo se declara UTF-8 (tiene marca BOM) pero trae bytes que "
                            f"no son UTF-8 cerca del byte {offset + err.start}: puede estar "
                            "dañado o mezclar codificaciones. Ábralo en la planilla y guárdelo "
                            "de nuevo como «CSV UTF-8»."
                        )
                        raise IntakeError(msg) from err
                    ok_utf8 = False
                    first_bad = offset + err.start, lines + block.count(b"\n", 0, err.start) + 1
            if ok_utf8:  # valid UTF-8: one lead byte per multi-byte sequence (C speed)
                valid += len(block) - len(block.translate(None, _UTF8_LEADS))
            else:
                counts = utf8_evidence(block)
                valid, other = valid + counts[0], other + counts[1]
            lines += block.count(b"\n")
            if not ok_utf8 and ok_cp1252:
                try:
                    cp1252.decode(block)
                except UnicodeDecodeError:
                    ok_cp1252 = False
            offset += len(block)
    if ok_utf8:
        return ("utf-8-sig", "UTF-8 con BOM") if bom else ("utf-8", "UTF-8")
    if first_bad is not None and valid > other:  # mostly UTF-8: as `decode`, refused
        raise mixed_encoding_error(*first_bad)
    if ok_cp1252:
        return "cp1252", "Latin-1 (Windows-1252)"
    return "latin-1", "Latin-1 (ISO-8859-1)"


def is_spreadsheet(path: str | Path, filename: str = "") -> bool:
    """Return True when the file at `path` is an Excel workbook (XLSX/XLSM or XLS), not text.

    By its first bytes (a ZIP, or the OLE2 header of an ``.xls``) or its name's extension;
    `TableStream` reads such a file whole (`read_table`), a text file line by line.
    """
    with Path(path).open("rb") as file:
        start = file.read(8)
    name = filename.lower()
    return (
        start[:4] == b"PK\x03\x04"
        or start == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        or name.endswith((".xlsx", ".xlsm", ".xls"))
    )


class TableStream:
    """A list read in chunks of rows from a file on disk, never whole in memory (issue 22).

    A CSV is decoded, cleaned and split line by line exactly as `read_table` does (same
    encodings and messages, header found in the first lines, repeated headers and single
    values skipped); an XLSX is read whole by `read_table` (bounded by `ReadLimits`, as
    the merged ranges come after the rows) and handed out in chunks. `head` is the table
    of the header and the first rows (for `match_headers`); `chunks` reads the file again
    from its start each time it is called.

    Raises
    ------
    IntakeError
        As `read_table`; a CSV line beyond `limits` (columns) when its chunk is read.
    """

    def __init__(
        self,
        path: str,
        filename: str = "",
        *,
        chunk_rows: int = CHUNK_ROWS,
        header_row: int | Sequence[int] | None = None,
        limits: ReadLimits | None = None,
    ) -> None:
        self.path, self.chunk_rows = str(path), max(1, int(chunk_rows))
        self.limits = limits or STREAM_LIMITS
        self.xlsx = is_spreadsheet(self.path, filename)
        if self.xlsx:
            with Path(self.path).open("rb") as file:
                self._whole = read_table(file.read(), filename, header_row=header_row)
            self.head = self._whole
            self._start = 0
            return
        self._whole = None
        self.codec, self.encoding = _stream_encoding(self.path)
        with Path(self.path).open(encoding=self.codec, newline="") as file:
            sample = file.read(400_000)
        if not sample.strip():
            msg = "El archivo está vacío. Exporte de nuevo la planilla y súbala otra vez."
            raise IntakeError(msg)
        self.delimiter = sniff_delimiter(sample)
        wanted = max(header_row if isinstance(header_row, int) else max(header_row or [0]), 0)
        first: list[Line] = []
        for line in self._lines():
            if any(line[1]):
                first.append(line)
            if len(first) >= _HEADER_SCAN + _SAMPLE_ROWS and line[0] >= wanted:
                break
        table = _table([(n, list(r)) for n, r in first], "csv", self.encoding, self.delimiter,
                       header_row, 0, 0)  # fmt: skip
        self.head = table
        self._start = next(i for i, (n, _) in enumerate(first) if n == table.header_rows[-1]) + 1
        self._header_lines = [_trim(r) for n, r in first if n in table.header_rows]

    def _lines(self):  # noqa: C901 - csv_lines, line by line
        """Numbered rows of cleaned, stripped cells, as `csv_lines` makes them."""
        from layers.text import clean_text

        counter = {"removed": 0}
        self._removed = counter

        def cleaned(file):
            for physical in file:
                text, removed = clean_text(physical)
                counter["removed"] += removed
                yield text

        with Path(self.path).open(encoding=self.codec, newline="") as file:
            reader = csv.reader(cleaned(file), delimiter=self.delimiter)
            try:
                for number, row in enumerate(reader, start=1):
                    cells = [c.strip() for c in row]
                    if len(cells) > self.limits.max_columns:
                        while cells and not cells[-1]:
                            cells.pop()
                        if len(cells) > self.limits.max_columns:
                            msg = (
                                f"El archivo es demasiado grande: la fila {number} tiene "
                                f"{len(cells)} columnas."
                            )
                            raise IntakeError(msg)
                    if number > self.limits.max_rows:
                        msg = (
                            f"El archivo es demasiado grande: más de {self.limits.max_rows} filas."
                        )
                        raise IntakeError(msg)
                    for index, cell in enumerate(cells):
                        if "\n" in cell or "\r" in cell:
                            cells[index] = " ".join(cell.split())
                    yield number, cells
            except csv.Error as err:
                msg = (
                    f"No se pudo leer el CSV cerca de la línea {reader.line_num}: {err}. Suele "
                    "ser una comilla sin cerrar o una celda enorme; ábralo en la planilla y "
                    "guárdelo de nuevo."
                )
                raise IntakeError(msg) from err

    def chunks(self):
        """Yield `RawTable` chunks of at most `chunk_rows` rows, in file order.

        Each carries the head's headers and metadata, its own ``skipped`` lines and the
        characters removed while reading it (``n_invisible``).
        """
        head = self.head
        if self._whole is not None:
            whole = self._whole
            for start in range(0, len(whole.rows), self.chunk_rows):
                end = start + self.chunk_rows
                yield _chunk_of(head, whole.rows[start:end], whole.row_numbers[start:end],
                                whole.skipped if start == 0 else [],
                                whole.n_invisible if start == 0 else 0)  # fmt: skip
            return
        width = len(head.headers)
        non_empty = (line for line in self._lines() if any(line[1]))
        body = itertools.islice(non_empty, self._start, None)
        before = 0
        while block := list(itertools.islice(body, self.chunk_rows)):
            rows, numbers, skipped = _body(block, width, self._header_lines)
            removed = self._removed["removed"]
            yield _chunk_of(head, rows, numbers, skipped, removed - before)
            before = removed


def _chunk_of(head: RawTable, rows, numbers, skipped, removed: int) -> RawTable:
    return RawTable(
        headers=head.headers, rows=rows, row_numbers=numbers, kind=head.kind,
        encoding=head.encoding, delimiter=head.delimiter, header_rows=head.header_rows,
        head=head.head, title_period=head.title_period, title_period_row=head.title_period_row,
        skipped=skipped, n_invisible=removed, n_merged=head.n_merged,
    )  # fmt: skip


def scan_stream(
    stream: TableStream, match: HeaderMatch, period: str | None = None, progress=None
) -> ValidationState:
    """Read the whole stream once: rows, months and attendance scale, for `validate`'s state.

    `progress`, when given, is called with the rows read so far after each chunk.
    """
    pairs: set[tuple[str, str]] = set()
    top, fraction = None, False
    n_rows = n_invisible = n_skipped = 0
    skipped: list[tuple[int, str]] = []
    cols = match.columns
    for chunk in stream.chunks():
        n_rows += len(chunk.rows)
        n_invisible += chunk.n_invisible
        n_skipped += len(chunk.skipped)
        skipped.extend(chunk.skipped[: max(0, 11 - len(skipped))])
        pairs |= _period_pairs(chunk.rows, cols)
        chunk_top, chunk_fraction = _attendance_facts(chunk.rows, cols)
        if chunk_top is not None:
            top = chunk_top if top is None else max(top, chunk_top)
        fraction = fraction or chunk_fraction
        if progress is not None:
            progress(n_rows)
    head = stream.head
    default_period, months, problem = _file_period(head, cols, period, pairs)
    scale = 100.0 if top is not None and top <= 1.0 and fraction else 1.0
    return ValidationState(default_period, months, problem, scale, n_rows=n_rows,
                           n_invisible=n_invisible, n_skipped=n_skipped,
                           skipped=skipped)  # fmt: skip
