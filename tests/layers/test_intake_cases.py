"""Real-world intake faults (issue 17, items 1, 2, 3 and 5): the case files and their siblings.

Check digits are worked by hand with module 11: the RUN's digits from the right times
2, 3, 4, 5, 6, 7, 2, 3, …; 11 minus the sum modulo 11; 11 → 0, 10 → K.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from layers.intake import IntakeError
from layers.intake import field_of_header
from layers.intake import match_headers
from layers.intake import parse_run
from layers.intake import read_table
from layers.intake import run_problem
from layers.intake import validate

DATA = Path(__file__).resolve().parents[1] / "data" / "intake"
TODAY = dt.date(2026, 11, 21)
RBDS = {8001, 8123}


def check(data: bytes, name: str = "lista.csv", *, mapping=None, period="2026-08", **read):
    """Read, match (looking at the cells, as the import does) and validate."""
    table = read_table(data, name, **read)
    match = match_headers(table.headers, mapping, rows=table.rows)
    result = validate(table, match, known_rbds=RBDS, period=period, today=TODAY)
    return table, match, result


def runs(result) -> list[tuple[int, str]]:
    return [(r["run"], r["dv"]) for r in result.records]


def codes(result) -> list[str]:
    return [i.code for i in result.issues]


def csv_text(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


# -- 17.1 a check-digit column under a header we did not recognise ---------------------------
def test_dotted_dv_header_case_file():
    # 90000004: 4·2 + 9·3 = 35; 35 % 11 = 2; 11 − 2 = 9 → 90.000.004-9
    # 90000055: 5·2 + 5·3 + 9·3 = 52; 52 % 11 = 8; 11 − 8 = 3 → 90.000.055-3
    # The old reading took the RUN's last digit as its DV: 9000000-4 (9·2 = 18; 18 % 11 = 7;
    # 11 − 7 = 4) and 9000005-5 (5·2 + 9·2 = 28; 28 % 11 = 6; 5): both pass, both wrong.
    _, match, result = check((DATA / "rut_nodv_header_dotted.csv").read_bytes())
    assert match.columns["dv"] == 1 and match.complete
    assert runs(result) == [(90000004, "9"), (90000055, "3")]
    assert result.errors == []


@pytest.mark.parametrize(
    "header",
    ["D.V.", "D.V", "DV", "Dig. Verif.", "DIG_VERIF", "Dig.Verificador", "RUN DV", "DV RUN",
     "Dígito", "dv_run", "Dígito verificador del RUT", "D.G.V.", "DV RUT ALUMNO", "RUT-DV",
     "Díg. Verif. RUN", "N° DV"],
)  # fmt: skip
def test_usual_check_digit_spellings_are_recognised(header):
    assert field_of_header(header) == "dv"
    data = csv_text(
        f"RUN;{header};Nombres;RBD;Asist", "90000004;9;Julia;8001;40", "90000055;3;Kevin;8001;40"
    )
    _, match, result = check(data)
    assert match.columns.get("dv") == 1, match
    assert runs(result) == [(90000004, "9"), (90000055, "3")]


@pytest.mark.parametrize(
    ("header", "field"),
    [("R.U.N.", "run"), ("RUT del alumno", "run"), ("RUN con DV", "run"), ("RUN sin DV", "run"),
     ("Fecha de Nac.", "fecha_nacimiento"), ("Sexo", None), ("Letra", None), ("V", None)],
)  # fmt: skip
def test_other_headers_are_not_taken_for_a_check_digit(header, field):
    assert field_of_header(header) == field


def test_a_check_digit_column_under_an_unknown_header_is_asked_for():
    # «Control» is no check-digit spelling, but its cells are: one character each, equal to
    # the module-11 digit of the RUN column in 3 of 3 rows (90000012: 2·2 + 1·3 + 9·3 = 34;
    # 34 % 11 = 1; 11 − 1 = 10 → K). Ignoring it would read 9000000-4 and 9000005-5.
    data = csv_text(
        "RUN;Control;Nombres;RBD;Asist", "90000004;9;Julia;8001;40", "90000055;3;Kevin;8001;40",
        "90000012;k;Lia;8001;40",
    )  # fmt: skip
    _, match, result = check(data)
    assert match.suspects == ["Control"] and not match.complete
    assert codes(result) == ["dv_unmapped"] and result.records == []
    message = result.file_errors[0].message
    assert "«Control»" in message and "3 de 3 filas" in message and "Asignar columnas" in message
    # the fix the message gives works
    _, match, result = check(data, mapping={"Control": "dv"})
    assert match.complete and runs(result) == [(90000004, "9"), (90000055, "3"), (90000012, "K")]
    # «no usar» is not accepted for a column that matches every row: that is no chance
    _, match, result = check(data, mapping={"Control": ""})
    assert match.suspects == ["Control"] and codes(result) == ["dv_unmapped"]
    assert "no puede quedar sin usar" in result.file_errors[0].message


def test_validate_refuses_an_unmapped_check_digit_even_without_the_cells_in_the_match():
    # a caller that matched on headers alone still cannot import the wrong RUNs
    data = csv_text(
        "RUN;Control;Nombres;RBD;Asist", "90000004;9;Julia;8001;40", "90000055;3;Kevin;8001;40"
    )
    table = read_table(data, "x.csv")
    result = validate(table, match_headers(table.headers), known_rbds=RBDS, period="2026-08")
    assert codes(result) == ["dv_unmapped"] and result.records == []


def test_a_one_digit_column_that_does_not_follow_the_run_is_not_a_check_digit():
    # «Jornada» 1/2: 90000004 needs 9, 90000055 needs 3, 90000012 needs K: no match at all
    data = csv_text(
        "RUN;Jornada;Nombres;RBD;Asist", "90.000.004-9;1;Julia;8001;40",
        "90000055-3;2;Kevin;8001;40", "90000012K;1;Lia;8001;40",
    )  # fmt: skip
    _, match, result = check(data)
    assert match.suspects == [] and match.complete
    assert runs(result) == [(90000004, "9"), (90000055, "3"), (90000012, "K")]


def test_a_chance_match_can_be_declared_unused():
    # one row: a one-digit column equals the DV by chance one time in eleven; asked, the
    # user may answer «no usar» (the RUN carries its own DV: 9.000.000-4 is valid)
    data = csv_text("RUN;Jornada;Nombres;RBD;Asist", "90000004;9;Julia;8001;40")
    _, match, result = check(data)
    assert match.suspects == ["Jornada"]
    assert "márquela «no usar» si no lo es" in result.file_errors[0].message
    _, match, result = check(data, mapping={"Jornada": ""})
    assert match.complete and runs(result) == [(9000000, "4")]


def test_a_dv_named_column_holding_whole_runs_is_the_run():
    data = csv_text(
        "RUT-DV;Nombres;RBD;Asist", "90.000.004-9;Julia;8001;40", "90.000.055-3;Kevin;8001;40"
    )
    _, match, result = check(data)
    assert match.columns["run"] == 0 and "dv" not in match.columns
    assert runs(result) == [(90000004, "9"), (90000055, "3")]


def test_a_check_digit_column_that_contradicts_the_run_is_an_error():
    data = csv_text(
        "RUN;DV;Nombres;RBD;Asist", "90.000.004-9;9;Julia;8001;40", "90.000.055-3;8;Kevin;8001;40"
    )
    _, _, result = check(data)
    (issue,) = result.errors
    assert issue.code == "dv_conflict" and issue.row == 3
    assert "dígito verificador 3" in issue.message and "«DV» dice 8" in issue.message


def test_runs_without_their_check_digit_are_refused_as_a_file():
    # eleven RUN numbers written without DV and without a hyphen: read as number + DV, ten
    # fail module 11 and one passes by chance (90000101 → 9.000.010-1: 1·3 + 9·2 = 21;
    # 21 % 11 = 10; 11 − 10 = 1) — that one would be stored under another person's RUN.
    lines = [f"{n};Nombre{n};8001;40" for n in range(90000101, 90000112)]
    _, _, result = check(csv_text("RUN;Nombres;RBD;Asist", *lines))
    (issue,) = result.file_errors
    assert issue.code == "run_without_dv" and "10 de 11" in issue.message
    assert result.records == [] and len(result.rejected) == 11


# -- 17.2 RUNs as people type them ----------------------------------------------------------
def test_runs_typed_in_every_usual_way_case_file():
    # By hand: 90000009 → 9·2 + 9·3 = 45; 45 % 11 = 1; 11 − 1 = 10 → K; 9000002 → 2·2 + 9·2
    # = 22; 22 % 11 = 0 → 11 → 0;
    # 100000001 → 1·2 + 1·4 (9th digit, factor 4) = 6; 11 − 6 = 5; 90000031 → 1·2 + 3·3 + 9·3
    # = 38; 38 % 11 = 5; 11 − 5 = 6.
    _, _, result = check((DATA / "rut_inline.csv").read_bytes())
    assert result.errors == []
    assert runs(result) == [
        (90000009, "K"), (90000012, "K"), (90000026, "K"), (90000043, "K"), (9000002, "0"),
        (100000001, "5"), (90000017, "0"), (90000031, "6"), (90000048, "0"),
    ]  # fmt: skip
    assert codes(result) == ["run_provisional"]  # 100.000.001-5 is a provisional RUN


@pytest.mark.parametrize(
    "typed",
    ["90.000.043\u2014K",  # em dash
     "90.000.043\u2212K",  # minus sign
     "90.000.043\u2010K",  # hyphen
     "90.000.043\u2012K",  # figure dash
     "90.000.043\uff0dK",  # fullwidth hyphen-minus
     "90\u00a0000\u00a0043-K",  # non-breaking spaces
     "90\u202f000\u202f043 k",  # narrow no-break spaces, space before a lower-case k
     "90 000 043K",
     "'90.000.043-K",  # Excel's text apostrophe
     "\uff19\uff10\uff10\uff10\uff10\uff10\uff14\uff13-K",  # fullwidth digits
     "90,000,043-K",
     "90,000,043K"],
)  # fmt: skip
def test_harmless_ways_of_typing_a_run_are_accepted(typed):
    # 90000043: 3·2 + 4·3 + 9·3 = 45; 45 % 11 = 1; 11 − 1 = 10 → K
    assert parse_run(typed) == (90000043, "K")


@pytest.mark.parametrize(
    ("typed", "fragments"),
    [("90.000.O43-K", ["«O»", "posición 8", "cero"]),
     ("90/000/043-K", ["«/»", "posición 3", "guion"]),
     ("90.000.043_K", ["«_»", "posición 11", "guion"]),
     ("90.000.04\u200b3-K", ["invisible U+200B", "ZERO WIDTH SPACE", "posición 10"]),
     ("9O.OOO.O43-K", ["«O»", "posición 2"]),
     ("12-345-678-5", ["3 guiones"]),
     ("90000043,K", ["coma en la posición 9", "miles"]),
     ("90,0000,43-K", ["coma en la posición 8"]),
     ("90.000.043-KK", ["«KK»"]),
     ("90.000.043-", ["no hay ninguno"]),
     ("9K000043-1", ["la K solo puede ir al final"]),
     ("1234-5", ["tiene 4 dígito(s)"]),
     ("RUN 12.345.678-5", ["«R»", "posición 1"])],
)  # fmt: skip
def test_a_wrong_run_says_which_character_is_wrong_and_where(typed, fragments):
    assert parse_run(typed) is None
    problem = run_problem(typed)
    for fragment in fragments:
        assert fragment in problem, problem


def test_the_row_message_carries_the_reason():
    _, _, result = check(csv_text("RUN;Nombres;RBD;Asist", "90.000.O43-K;Ana;8001;40"))
    (issue,) = result.errors
    assert issue.code == "run_format" and issue.row == 2
    assert issue.message.startswith("«90.000.O43-K» no es un RUN: el carácter «O»")
    assert "12.345.678-5" in issue.message


# -- 17.3 report-style exports --------------------------------------------------------------
def test_csv_title_line_case_file():
    table, _, result = check((DATA / "csv_title_row.csv").read_bytes())
    assert table.delimiter == ";"  # sniffed on the table, not on the title
    assert table.header_rows == (2,)
    assert table.headers == ["RUN", "Nombres", "Apellidos", "RBD", "% Asistencia", "Comuna"]
    assert runs(result) == [(90000009, "K")] and result.records[0]["pct"] == pytest.approx(45.5)
    assert table.head[0] == (1, ["Nomina de estudiantes - Escuela de prueba"])


def test_xlsx_title_lines_case_file():
    table, _, result = check((DATA / "xlsx_title_rows.xlsx").read_bytes(), "n.xlsx", period=None)
    assert table.header_rows == (4,)
    assert table.headers[:4] == ["RUN", "Nombres", "Apellidos", "RBD"]
    assert [r["row"] for r in result.records] == [5, 6, 7]
    assert runs(result) == [(90000009, "K"), (90000012, "K"), (90000026, "K")]
    # «Período: agosto 2026» on row 2 is the month when the import does not give one
    assert table.title_period == "2026-08" and result.period == "2026-08"


def test_xlsx_merged_rbd_case_file():
    table, _, result = check((DATA / "xlsx_merged_rbd.xlsx").read_bytes(), "m.xlsx")
    assert table.n_merged == 1
    assert [r["rbd"] for r in result.records] == [8001, 8001, 8001]
    assert result.errors == []


def test_a_title_with_a_comma_does_not_make_the_separator_a_comma():
    data = csv_text(
        "Escuela Rural Llicaldad, Castro", "Nómina, agosto", "RUN;Nombres;RBD;% Asistencia",
        "90.000.009-K;Ana;8001;45,5", "90.000.012-K;Bea;8001;50,5",
    )  # fmt: skip
    table, _, result = check(data)
    assert table.delimiter == ";" and table.header_rows == (3,)
    assert [r["pct"] for r in result.records] == [45.5, 50.5]


def test_a_header_over_two_rows_csv():
    # «Asistencia» spans the three columns below it (a merged cell exported to CSV)
    data = csv_text(
        ";;;;Asistencia;;;Fecha de",
        "RUN;Nombres;Apellidos;RBD;Días asistidos;Días trabajados;%;nacimiento",
        "90.000.009-K;Ana;Soto;8001;17;20;85;07/03/2012",
    )  # fmt: skip
    table, match, result = check(data)
    assert table.header_rows == (1, 2)
    assert table.headers[4:] == [
        "Días asistidos", "Días trabajados", "Asistencia %", "Fecha de nacimiento",
    ]  # fmt: skip
    assert {"dias_asistidos", "dias_trabajados", "asistencia", "fecha_nacimiento"} <= set(
        match.columns
    )
    (record,) = result.records
    assert record["pct"] == 85.0 and record["days_present"] == 17
    assert record["birth_date"] == dt.date(2012, 3, 7)


def test_a_header_over_two_rows_xlsx_with_merged_cells():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Nómina de estudiantes — Escuela de prueba"])
    sheet.merge_cells("A1:F1")
    sheet.append(["Estudiante", None, None, "Establecimiento", "Asistencia", None])
    sheet.merge_cells("A2:C2")
    sheet.merge_cells("E2:F2")
    sheet.append(["RUN", "Nombres", "Apellidos", "RBD", "Días asistidos", "Días trabajados"])
    sheet.append(["90.000.009-K", "Ana", "Soto", 8001, 17, 20])
    sheet.append(["90.000.012-K", "Bea", "Paz", None, 18, 20])
    sheet.append(["90.000.026-K", "Eva", "Ruiz", None, 10, 20])
    sheet.merge_cells("D4:D6")  # the school's RBD merged over its rows
    buffer = io.BytesIO()
    book.save(buffer)
    table, _, result = check(buffer.getvalue(), "n.xlsx")
    assert table.header_rows == (3,)  # «Estudiante» over «RUN» names nothing more
    assert [r["rbd"] for r in result.records] == [8001, 8001, 8001]
    assert [r["pct"] for r in result.records] == [85.0, 90.0, 50.0]  # 17/20, 18/20, 10/20


def test_the_header_row_can_be_chosen():
    data = (DATA / "csv_title_row.csv").read_bytes()
    table, match, _ = check(data, header_row=1)  # the user picks the title: nothing matches
    assert table.header_rows == (1,) and not match.complete
    table, _, result = check(data, header_row=2)
    assert table.header_rows == (2,) and runs(result) == [(90000009, "K")]
    for wrong in (9, (1, 3), (1, 2, 3)):
        with pytest.raises(IntakeError, match="no existe o está vacía"):
            read_table(data, "x.csv", header_row=wrong)


def test_repeated_headers_section_titles_and_footers_are_skipped_and_listed():
    data = csv_text(
        "RUN;Nombres;RBD;Asist",
        "Escuela Rural Llicaldad;;;",
        "90.000.009-K;Ana;8001;40",
        ";;;",
        "RUN;Nombres;RBD;Asist",
        "Escuela Rural Quehui;Escuela Rural Quehui;Escuela Rural Quehui;",
        "90.000.012-K;Bea;8123;40",
        "Total: 2 estudiantes;;;",
        "90.000.026-K;;;",  # a student row with only a RUN is a student: errors, not skipped
    )
    table, _, result = check(data)
    assert [n for n, _ in table.skipped] == [2, 5, 6, 8]
    assert [r["rbd"] for r in result.records] == [8001, 8123]
    assert sorted(result.rejected) == [9]
    (note,) = [i for i in result.issues if i.code == "rows_skipped"]
    assert note.severity == "aviso" and "8 («Total: 2 estudiantes»)" in note.message


# -- 17.5 a header-only file; the month the rows carry -----------------------------------------
@pytest.mark.parametrize(
    "data",
    [csv_text("RUN;Nombres;RBD;Mes"), csv_text("Nómina agosto", "", "RUN;Nombres;RBD;Mes", ";;;")],
)
def test_a_header_only_file_is_an_error_not_a_valid_empty_import(data):
    table, _, result = check(data)
    assert table.rows == [] and result.records == []
    (issue,) = result.file_errors
    assert issue.code == "no_rows" and "solo trae el encabezado" in issue.message


def test_the_month_is_the_one_the_rows_carry_not_the_forms():
    data = csv_text("RUN;Nombres;RBD;Asist;Mes", "90.000.009-K;Ana;8001;40;agosto 2026",
                    "90.000.012-K;Bea;8001;40;")  # fmt: skip
    _, _, result = check(data, period="2026-10")  # the form's default month
    assert [r["period"] for r in result.records] == ["2026-08", "2026-08"]
    assert result.period == "2026-08" and result.periods == {"2026-08": 2}


def test_rows_of_several_months_need_each_its_month():
    data = csv_text("RUN;Nombres;RBD;Asist;Mes", "90.000.009-K;Ana;8001;40;2026-07",
                    "90.000.012-K;Bea;8001;40;2026-08", "90.000.026-K;Eva;8001;40;")  # fmt: skip
    _, _, result = check(data, period="2026-10")
    assert result.periods == {"2026-07": 1, "2026-08": 1} and result.period is None
    (issue,) = result.errors
    assert issue.code == "period_row_missing" and issue.row == 4
    assert "2026-07, 2026-08" in issue.message


def test_a_title_month_that_contradicts_the_form_is_asked():
    data = (DATA / "xlsx_title_rows.xlsx").read_bytes()
    _, _, result = check(data, "n.xlsx", period="2026-10")
    (issue,) = result.file_errors
    assert issue.code == "period_conflict" and "fila 2" in issue.message
    assert "2026-08" in issue.message and "2026-10" in issue.message
    _, _, result = check(data, "n.xlsx", period="2026-08")
    assert result.errors == [] and result.period == "2026-08"
