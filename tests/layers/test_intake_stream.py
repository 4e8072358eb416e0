"""A list read and validated in chunks (issue 22) gives what reading it whole gives."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook

from layers.intake import IntakeError
from layers.intake import TableStream
from layers.intake import match_headers
from layers.intake import read_table
from layers.intake import scan_stream
from layers.intake import validate

TODAY = dt.date(2026, 11, 2)
HEADER = "RUN;Nombres;Apellidos;RBD;Curso;% asistencia;Mes;Dirección;Comuna"
ROWS = [
    "12.345.678-5;Ana;Pérez;8001;3° básico;61,5;agosto 2026;Sector Rilán s/n;Castro",
    "11.111.111-1;Luis;Soto;8001;4° básico;70;agosto 2026;Calle \x07Larga 3;Castro",
    "13.131.313-K;Rosa;Díaz;9999;5° básico;50;agosto 2026;Sector Llau-Llao;Castro",
    '15.151.515-6;"José\nMaría";Ñancupil;8001;6° básico;40;agosto 2026;Sector Quilquico;Ancud',
    "Escuela Rural Llicaldad",
    HEADER,
    "16.161.616-7;Eva;Millar;8001;1° medio;80;agosto 2026;Sector Putemún;Castro",
    "12.345.678-5;Ana;Pérez;8001;3° básico;61,5;agosto 2026;Sector Rilán s/n;Castro",
    "14.141.414-1;Iván;Cárcamo;8001;2° medio;;agosto 2026;Sector Rilán s/n;Castro",
    "Total: 8",
]
SCHOOLS = {8001: {}}


def _file(encoding: str) -> bytes:
    text = "\r\n".join(["Nómina de estudiantes", "Período: agosto 2026", "", HEADER, *ROWS, ""])
    return text.encode(encoding)


def _chunks(tmp_path, data: bytes, name: str, size: int) -> tuple[TableStream, list]:
    path = tmp_path / name
    path.write_bytes(data)
    stream = TableStream(path, name, chunk_rows=size)
    return stream, list(stream.chunks())


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "utf-16"])
@pytest.mark.parametrize("size", [1, 3, 100])
def test_chunks_hold_the_rows_of_the_whole_table(tmp_path, encoding, size):
    """Title lines, a repeated header, single values, a quoted line break, an invisible."""
    data = _file(encoding)
    whole = read_table(data, "lista.csv")
    stream, chunks = _chunks(tmp_path, data, "lista.csv", size)
    head = stream.head
    assert (head.headers, head.header_rows, head.encoding, head.delimiter) == (
        whole.headers, whole.header_rows, whole.encoding, whole.delimiter)  # fmt: skip
    assert all(len(c.rows) <= size for c in chunks)
    assert [r for c in chunks for r in c.rows] == whole.rows
    assert [n for c in chunks for n in c.row_numbers] == whole.row_numbers
    assert [s for c in chunks for s in c.skipped] == whole.skipped
    assert sum(c.n_invisible for c in chunks) == whole.n_invisible == 1
    assert next(iter(stream.chunks())).rows == chunks[0].rows  # read again from the start


@pytest.mark.parametrize("size", [1, 2, 5])
def test_validating_in_chunks_gives_the_whole_files_issues_and_records(tmp_path, size):
    """Duplicates across chunks, unknown RBD, missing attendance: same issues, same order."""
    data = _file("utf-8")
    table = read_table(data, "lista.csv")
    match = match_headers(table.headers, rows=table.rows)
    known = {"known_rbds": SCHOOLS, "known_comunas": ["Castro", "Ancud"], "today": TODAY}
    whole = validate(table, match, **known)
    stream, chunks = _chunks(tmp_path, data, "lista.csv", size)
    state = scan_stream(stream, match)
    issues, records = state.reading_notes(), []
    for chunk in chunks:
        result = validate(chunk, match, state=state, **known)
        issues += result.issues
        records += result.records
    assert state.file_issue(stream.head.headers, match) is None
    assert {"duplicate_run", "rbd_unknown", "attendance_missing"} <= {i.code for i in issues}
    assert issues == whole.issues
    assert records == whole.records
    assert state.n_rows == whole.n_rows


PLAIN_RUNS = ((12345678, 4), (11111111, 2), (13131313, 5), (15151515, 1))  # wrong digits


def test_runs_without_check_digit_are_a_file_error_once_all_chunks_are_read(tmp_path):
    data = "\r\n".join(
        ["RUN;Nombres;Apellidos;RBD;% asistencia;Mes"]
        + [f"{n}{d};Ana;Soto;8001;50;agosto 2026" for n, d in PLAIN_RUNS]
    ).encode()
    table = read_table(data, "x.csv")
    match = match_headers(table.headers, rows=table.rows)
    whole = validate(table, match, known_rbds=SCHOOLS, today=TODAY)
    stream, chunks = _chunks(tmp_path, data, "x.csv", 1)
    state = scan_stream(stream, match)
    for chunk in chunks:
        validate(chunk, match, known_rbds=SCHOOLS, today=TODAY, state=state)
    issue = state.file_issue(stream.head.headers, match)
    assert issue is not None
    assert issue == next(i for i in whole.issues if i.code == "run_without_dv")


def test_an_xlsx_is_handed_out_in_chunks(tmp_path):
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for line in [HEADER, *ROWS[:4]]:
        sheet.append(line.replace("\x07", "").split(";"))
    out = io.BytesIO()
    book.save(out)
    whole = read_table(out.getvalue(), "lista.xlsx")
    _, chunks = _chunks(tmp_path, out.getvalue(), "lista.xlsx", 3)
    assert [len(c.rows) for c in chunks] == [3, 1]
    assert [r for c in chunks for r in c.rows] == whole.rows


@pytest.mark.parametrize(
    "data",
    [b"RUN;RBD\r\n1\x00;2\r\n", b"\xef\xbb\xbfRUN;RBD\r\n\xe9;2\r\n", b" \r\n\r\n"],
    ids=["nul", "bom-not-utf8", "empty"],
)
def test_unreadable_files_get_the_whole_readers_message(tmp_path, data):
    with pytest.raises(IntakeError) as whole:
        read_table(data, "x.csv")
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    with pytest.raises(IntakeError) as streamed:
        TableStream(path, "x.csv")
    assert str(streamed.value) == str(whole.value)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_utf8_file_with_one_latin1_row_is_refused_not_garbled(tmp_path, streamed):
    """One «á» pasted from a Latin-1 file into a UTF-8 list: refused, with its line.

    Before, the whole file was read as Latin-1: every «Hernández» became «HernÃ¡ndez» and,
    imported, overwrote the stored surnames. A file wholly in Latin-1 is still read.
    """
    good = "".join(f"9{k:07d};Ana María;Hernández Muñoz;Castro\r\n" for k in range(300))
    data = ("RUN;Nombres;Apellidos;Comuna\r\n" + good).encode("utf-8")
    data += "90000301;Sofía;Cárcamo;Castro\r\n".encode("cp1252")  # line 302
    with pytest.raises(IntakeError, match=r"línea 302\).*«CSV UTF-8»"):
        if streamed:
            _chunks(tmp_path, data, "lista.csv", 50)
        else:
            read_table(data, "lista.csv")
    latin1 = ("RUN;Nombres;Apellidos;Comuna\r\n" + good).encode("cp1252")
    table = read_table(latin1, "lista.csv")
    stream, chunks = _chunks(tmp_path, latin1, "latin1.csv", 50)
    assert table.encoding == stream.head.encoding == "Latin-1 (Windows-1252)"
    assert table.rows[0][2] == chunks[0].rows[0][2] == "Hernández Muñoz"
