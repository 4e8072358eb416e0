"""Reading and validating student lists (pure layer, no database)."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from layers.intake import MESSAGES
from layers.intake import IntakeError
from layers.intake import match_headers
from layers.intake import parse_grade
from layers.intake import parse_period
from layers.intake import parse_run
from layers.intake import read_table
from layers.intake import rejected_rows_csv
from layers.intake import run_check_digit
from layers.intake import validate

TODAY = dt.date(2026, 11, 21)
RBDS = {8001, 7890}
COMUNAS = ["Castro", "Quinchao"]
HEADERS = [
    "RUN", "Nombres", "Apellidos", "Fecha de nacimiento", "RBD", "Curso", "% Asistencia",
    "Días asistidos", "Días trabajados", "Mes", "Dirección", "Comuna", "Teléfono",
    "Situación", "Último año matrícula", "NEE permanente",
]  # fmt: skip
GOOD = {
    "RUN": "12.345.678-5",
    "Nombres": "Ana María",
    "Apellidos": "Pérez Soto",
    "Fecha de nacimiento": "07/03/2012",
    "RBD": "8001",
    "Curso": "7° básico",
    "% Asistencia": "80,5",
    "Días asistidos": "",
    "Días trabajados": "",
    "Mes": "2026-08",
    "Dirección": "Sector Rilán s/n",
    "Comuna": "Castro",
    "Teléfono": "+56 9 0000 1234",
    "Situación": "matriculado",
    "Último año matrícula": "",
    "NEE permanente": "no",
}


def csv_bytes(rows, headers=HEADERS, delimiter=";", encoding="utf-8"):
    lines = [delimiter.join(headers)]
    lines += [delimiter.join(row.get(h, "") for h in headers) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def run_validation(rows, known_names=None, period=None, headers=HEADERS):
    table = read_table(csv_bytes(rows, headers), "lista.csv")
    match = match_headers(table.headers)
    return validate(
        table, match, known_rbds=RBDS, known_comunas=COMUNAS, known_names=known_names,
        period=period, today=TODAY,
    )  # fmt: skip


# -- RUN -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("number", "digit"),
    [(12345678, "5"), (7654321, "6"), (6, "K"), (62, "0"), (11111111, "1")],
)
def test_check_digit_modulo_11(number, digit):
    # worked by hand: 7654321 -> 1*2+2*3+3*4+4*5+5*6+6*7+7*2 = 126, 126 % 11 = 5, 11-5 = 6;
    # 6 -> 12 % 11 = 1 -> 10 = K; 62 -> 2*2+6*3 = 22 % 11 = 0 -> 11 = 0
    assert run_check_digit(number) == digit


@pytest.mark.parametrize(
    ("text", "dv", "expected"),
    [
        ("12.345.678-5", "", (12345678, "5")),
        ("12345678-5", "", (12345678, "5")),
        ("123456785", "", (12345678, "5")),
        ("12.345.678", "5", (12345678, "5")),
        (" 9.876.543-k ", "", (9876543, "K")),
        ("12.34A.678-5", "", None),
        ("1234-5", "", None),
    ],
)
def test_parse_run_formats(text, dv, expected):
    assert parse_run(text, dv) == expected


# -- reading -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "bom", "label"),
    [("utf-8", b"", "UTF-8"), ("utf-8", b"\xef\xbb\xbf", "UTF-8 con BOM"),
     ("cp1252", b"", "Latin-1 (Windows-1252)")],
)  # fmt: skip
@pytest.mark.parametrize("delimiter", [";", ","])
def test_encoding_and_delimiter_are_detected(encoding, bom, label, delimiter):
    data = bom + csv_bytes(
        [GOOD | {"% Asistencia": "80.5"}], delimiter=delimiter, encoding=encoding
    )
    table = read_table(data, "lista.csv")
    assert table.encoding == label
    assert table.delimiter == delimiter
    assert table.headers[6] == "% Asistencia"
    assert table.rows[0][2] == "Pérez Soto"  # the accent survived the decoding


def test_utf16_exports_are_read():
    table = read_table("RUN\tNombres\n1\tÑuñoa\n".encode("utf-16"), "x.txt")
    assert table.encoding == "UTF-16" and table.rows[0][1] == "Ñuñoa"


def test_quoted_delimiters_do_not_fool_the_sniffer():
    data = 'RUN,Nombres,Dirección\r\n12345678-5,"Ana; María","Sector A; casa 2"\r\n'.encode()
    table = read_table(data, "x.csv")
    assert table.delimiter == ","
    assert table.rows[0] == ["12345678-5", "Ana; María", "Sector A; casa 2"]


def test_xlsx_with_dates_and_fraction_percentages():
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["RUT", "Nombre completo", "Fecha Nac", "RBD", "Asistencia", "Mes"])
    sheet.append(["12345678-5", "Ana Pérez", dt.datetime(2012, 3, 7), 8001, 0.805, "agosto 2026"])
    sheet.append(["7654321-6", "Luis Soto", 41000, 8001, 0.9, "agosto 2026"])
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue(), "lista.xlsx")
    assert table.kind == "xlsx"
    result = validate(table, match_headers(table.headers), known_rbds=RBDS, today=TODAY)
    assert result.errors == []
    first, second = result.records
    assert first["birth_date"] == dt.date(2012, 3, 7)
    assert first["pct"] == pytest.approx(80.5)  # Excel fraction scaled to %
    assert second["birth_date"] == dt.date(2012, 4, 1)  # serial 40909 is 2012-01-01; +91 days
    assert first["period"] == "2026-08"


@pytest.mark.parametrize(
    ("data", "name", "fragment"),
    [
        (b"   \n", "x.csv", "vacío"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "x.xls", ".xls"),
        (b"PK\x03\x04broken", "x.xlsx", "planilla Excel"),
        (b";;;\n;;\n", "x.csv", "no tiene filas"),
        (b"RUN;Nombres\n1;A\x00na\n", "x.csv", "bytes nulos .* posición 15"),
        (b"\xef\xbb\xbfRUN;Nombres\n1;\xf0\x28\n", "x.csv", "UTF-8 .* cerca del byte 17"),
        (b'RUN;Nombres\n1;"' + b"A" * 140_000 + b'"\n', "x.csv", "línea 2"),
        (b"PK\x03\x04" + bytes(range(256)) * 4, "x.xlsx", "está dañado"),
    ],
)
def test_unreadable_files_get_a_spanish_message(data, name, fragment):
    with pytest.raises(IntakeError, match=fragment):
        read_table(data, name)


# -- every validation message ----------------------------------------------------
ROW_CASES = {
    "run_missing": {"RUN": ""},
    "run_format": {"RUN": "12.34A.678-5"},
    "run_check_digit": {"RUN": "12.345.678-9"},
    "run_provisional": {"RUN": "100.000.123-2"},
    "name_missing": {"Nombres": "", "Apellidos": ""},
    "date_format": {"Fecha de nacimiento": "31/02/2012"},
    "date_range": {"Fecha de nacimiento": "01/01/1950"},
    "rbd_missing": {"RBD": ""},
    "rbd_format": {"RBD": "Escuela X"},
    "rbd_unknown": {"RBD": "99999"},
    "attendance_format": {"% Asistencia": "ochenta"},
    "attendance_range": {"% Asistencia": "101"},
    "attendance_missing": {"% Asistencia": ""},
    "days_format": {"Días asistidos": "15 días", "Días trabajados": "20"},
    "days_inconsistent": {"Días asistidos": "21", "Días trabajados": "20"},
    "period_format": {"Mes": "mes 13"},
    "grade_unknown": {"Curso": "taller"},
    "status_unknown": {"Situación": "de vacaciones"},
    "year_format": {"Último año matrícula": "20233"},
    "bool_format": {"NEE permanente": "quizás"},
    "comuna_unknown": {"Comuna": "Puerto Montt"},
    "phone_format": {"Teléfono": "65 123"},
    "too_long": {"Dirección": "Sector Rural " + "x" * 300},
}
FILE_CASES = {"missing_columns", "duplicate_column", "period_missing"}
CROSS_ROW_CASES = {"duplicate_run", "name_mismatch", "row_length"}
# tested with their case files and siblings in test_intake_cases.py / test_intake_hostile.py
CASE_FILE_CASES = {
    "dv_unmapped", "dv_conflict", "run_without_dv", "no_rows", "period_conflict",
    "period_row_missing", "rows_skipped", "invisible_removed",
}  # fmt: skip


def test_every_message_has_a_test():
    assert set(ROW_CASES) | FILE_CASES | CROSS_ROW_CASES | CASE_FILE_CASES == set(MESSAGES)


@pytest.mark.parametrize("code", sorted(ROW_CASES))
def test_each_row_problem_is_reported_with_row_column_value(code):
    result = run_validation([GOOD, GOOD | {"RUN": "7.654.321-6"} | ROW_CASES[code]])
    issues = [i for i in result.issues if i.code == code]
    assert len(issues) == 1, result.issues
    issue = issues[0]
    assert issue.row == 3  # header is row 1, the good row is row 2
    assert ". " in issue.message  # what is wrong, then how to fix it
    shown = ROW_CASES[code].get(issue.column, issue.value)
    assert issue.value == (shown[:40] + "…" if code == "too_long" else shown)
    column = next(iter(ROW_CASES[code]))
    if code == "name_missing":
        assert issue.column in ("Nombres", "Apellidos") or "Nombres" in issue.column
    elif code != "days_inconsistent":
        assert issue.column == column
    if MESSAGES[code][0] == "error":
        assert 3 in result.rejected and len(result.records) == 1
    else:
        assert len(result.records) == 2 and not result.errors


def test_good_row_gives_a_clean_record():
    result = run_validation([GOOD])
    assert result.issues == []
    (record,) = result.records
    assert record["run"] == 12345678 and record["dv"] == "5"
    assert record["full_name"] == "Ana María Pérez Soto"
    assert record["grade_level"] == 7
    assert record["pct"] == pytest.approx(80.5)
    assert record["period"] == "2026-08"


def test_duplicate_run_in_file_points_to_the_first_row():
    result = run_validation([GOOD, GOOD | {"% Asistencia": "70"}])
    (issue,) = result.issues
    assert issue.code == "duplicate_run" and issue.row == 3
    assert "fila 2" in issue.message


def test_name_that_does_not_match_the_stored_run():
    stored = {12345678: "Ana María Pérez Soto"}
    assert run_validation([GOOD], known_names=stored).issues == []
    typo = run_validation([GOOD | {"Apellidos": "Perez Sotto"}], known_names=stored)
    assert typo.issues == []  # a typo is not another person
    other = run_validation([GOOD | {"Nombres": "Luis", "Apellidos": "Gómez"}], known_names=stored)
    assert [i.code for i in other.issues] == ["name_mismatch"]
    assert "Ana María Pérez Soto" in other.issues[0].message


def test_row_with_extra_cells():
    data = (
        csv_bytes([GOOD])
        + b"12.345.678-5;Ana;P;07/03/2012;8001;7 basico;80;;;2026-08;x;Castro;;;;no;extra\r\n"
    )
    table = read_table(data, "x.csv")
    result = validate(table, match_headers(table.headers), known_rbds=RBDS, today=TODAY)
    assert [i.code for i in result.issues] == ["row_length"]


def test_missing_columns_ask_for_a_mapping():
    table = read_table(b"Codigo;Alumno;Colegio\r\n1;Ana;8001\r\n", "x.csv")
    match = match_headers(table.headers)
    assert not match.complete
    result = validate(table, match, known_rbds=RBDS, today=TODAY)
    assert [i.code for i in result.issues] == ["missing_columns"]
    assert result.records == []
    mapped = match_headers(table.headers, {"Codigo": "run", "Alumno": "nombre_completo",
                                           "Colegio": "rbd"})  # fmt: skip
    assert mapped.complete


def test_two_columns_for_one_field():
    table = read_table(b"RUN;RUT;Nombres;RBD;Mes\r\n1;1;Ana;8001;2026-08\r\n", "x.csv")
    result = validate(table, match_headers(table.headers), known_rbds=RBDS, today=TODAY)
    assert [i.code for i in result.issues] == ["duplicate_column"]


def test_period_needed_when_no_month_column():
    headers = [h for h in HEADERS if h != "Mes"]
    result = run_validation([GOOD], headers=headers)
    assert [i.code for i in result.issues] == ["period_missing"]
    assert (
        run_validation([GOOD], headers=headers, period="2026-09").records[0]["period"] == "2026-09"
    )


def test_days_give_the_percentage():
    result = run_validation([GOOD | {"% Asistencia": "", "Días asistidos": "17",
                                     "Días trabajados": "20"}])  # fmt: skip
    assert result.records[0]["pct"] == pytest.approx(85.0)


def test_not_enrolled_student_needs_no_attendance():
    row = GOOD | {"% Asistencia": "", "Situación": "Sin matrícula", "Último año matrícula": "2023"}
    (record,) = run_validation([row]).records
    assert record["status"] == "sin_matricula" and record["ultimo_anio_matricula"] == 2023


@pytest.mark.parametrize(
    ("text", "year", "expected"),
    [("2026-08", "", "2026-08"), ("08/2026", "", "2026-08"), ("Agosto 2026", "", "2026-08"),
     ("agosto", "2026", "2026-08"), ("8", "2026", "2026-08"), ("mes 13", "", None),
     ("agosto", "", None)],
)  # fmt: skip
def test_periods(text, year, expected):
    assert parse_period(text, year) == expected


@pytest.mark.parametrize(
    ("text", "level"),
    [("7° básico", 7), ("7 basico A", 7), ("1° Medio", 9), ("4° año medio", 12), ("8B", 8),
     ("Kínder", 0), ("NT2", 0), ("9° básico", None), ("taller", None)],
)  # fmt: skip
def test_grades(text, level):
    assert parse_grade(text) == level


def test_rejected_rows_file_lists_the_errors():
    result = run_validation([GOOD, GOOD | {"RUN": "7.654.321-6", "RBD": "99999"}])
    text = rejected_rows_csv(HEADERS, result)
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("fila;RUN;")
    assert lines[1].startswith("3;7.654.321-6;") and "99999" in lines[1]
    assert "directorio Mineduc" in lines[1]
