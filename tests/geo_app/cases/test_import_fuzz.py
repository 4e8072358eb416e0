"""Importer fuzzing: thousands of generated and mutated files, never a crash, never half an import.

Property: a file either imports completely (the store grows by exactly what the
batch reports) or is refused with a Spanish message and the store is unchanged.
Any other exception, or a 500 from the web pages, fails the test. Hypothesis
runs derandomised so a failure reproduces in CI.
"""

from __future__ import annotations

import io
import random

import openpyxl
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy import select

from geo_app import create_app
from geo_app.cases.importing import ImportRejectedError
from geo_app.cases.importing import apply_import
from geo_app.cases.importing import prepare_import
from geo_app.store.models import Attendance
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import Contact
from geo_app.store.models import ImportBatch
from geo_app.store.models import Student
from layers.intake import IntakeError
from layers.intake import run_check_digit
from tests.accounts import csrf
from tests.accounts import login

HEADER = ["RUN", "Nombres", "Apellidos", "Fecha Nacimiento", "RBD", "Curso", "% Asistencia",
          "Dirección", "Comuna", "Teléfono"]  # fmt: skip
PLACES = [(8001, "Sector Pid Pid s/n", "Castro"), (8169, "Sector Huyar Alto", "Curaco de Vélez"),
          (8001, "Pob. Gamboa, Pje. 3", "Castro")]  # fmt: skip
FORMULAS = ["=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", '=HYPERLINK("x")']
TABLES = (Student, Case, Attendance, Contact, Change, ImportBatch)


def _rows(n: int, start: int = 91_000_000) -> list[list[str]]:
    rows = []
    for i in range(n):
        run = start + i * 7
        rbd, address, comuna = PLACES[i % len(PLACES)]
        rows.append([
            f"{run:,}".replace(",", ".") + "-" + run_check_digit(run), f"Nombre{i} Sintético",
            f"Apellido{i} Prueba", f"0{1 + i % 9}/0{1 + i % 9}/2011", str(rbd), "7° básico",
            str(20 + 7 * i % 80), address, comuna, f"+56 9 5555 {1000 + i}",
        ])  # fmt: skip
    return rows


def _csv(rows, delimiter=";", encoding="utf-8") -> bytes:
    lines = [delimiter.join(HEADER)] + [delimiter.join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


SEEDS = [
    (_csv(_rows(6)), "lista.csv"),
    (_csv(_rows(6), ",", "utf-8-sig"), "lista_bom.csv"),
    (_csv(_rows(6), ";", "latin-1"), "lista_latin1.csv"),
    (_xlsx(_rows(6)), "lista.xlsx"),
]


def _at(data: bytes, where: int, piece: bytes) -> bytes:
    pos = where % (len(data) + 1)
    return data[:pos] + piece + data[pos:]


def _flip(data: bytes, where: int, _junk: bytes) -> bytes:
    if not data:
        return data
    i = where % len(data)
    return data[:i] + bytes([data[i] ^ (1 + where % 255)]) + data[i + 1 :]


def _dupline(data: bytes, where: int, _junk: bytes) -> bytes:
    lines = data.split(b"\n")
    k = where % len(lines)
    return b"\n".join([*lines[: k + 1], lines[k], *lines[k + 1 :]])


MUTATIONS = {
    "flip": _flip,
    "cut": lambda d, w, _j: d[: w % (len(d) + 1)],
    "junk": lambda d, w, j: _at(d, w, j),
    "formula": lambda d, w, _j: _at(d, w, FORMULAS[w % len(FORMULAS)].encode() + b";"),
    "huge": lambda d, w, _j: _at(d, w, b"A" * (50_000 + w % 200_000)),
    "nul": lambda d, w, _j: _at(d, w, b"\x00" * (1 + w % 5)),
    "dupline": _dupline,
    "separators": lambda d, w, _j: d.replace(b";", b"," if w % 2 else b"\t"),
    "crlf": lambda d, _w, _j: d.replace(b"\r\n", b"\r"),
}


def _mutate(data: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    """Apply mutations: flips, cuts, junk, formulas, huge cells, NULs, lines, separators."""
    for op, where, junk in ops:
        data = MUTATIONS[op](data, where, junk)
    return data


MUTATION = st.tuples(
    st.sampled_from(sorted(MUTATIONS)),
    st.integers(0, 10**7),
    st.binary(max_size=48),
)


def _counts(session) -> dict[str, int]:
    return {t.__name__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}


@pytest.fixture(scope="module")
def store(tmp_path_factory, case_context):
    """A SQLite store with the seed list imported once (so re-imports update, too)."""
    from geo_app.store import make_engine
    from geo_app.store import make_sessionmaker
    from geo_app.store import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        prepared = prepare_import(session, case_context, _csv(_rows(3)), "x.csv", period="2026-07")
        apply_import(session, case_context, prepared, actor="fuzz", synthetic=True)
    yield sessions
    engine.dispose()


def _import_once(sessions, context, data: bytes, name: str, only_valid: bool) -> str:
    """Import `data`; check all-or-nothing; return 'ok' or the refusal message."""
    with sessions() as session:
        before = _counts(session)
    try:
        with sessions() as session, session.begin():
            prepared = prepare_import(session, context, data, name, period="2026-08")
            batch = apply_import(session, context, prepared, only_valid=only_valid, actor="fuzz")
            n_new = batch.n_new
    except (IntakeError, ImportRejectedError) as err:
        message = str(err)
        assert message and message[0].isupper(), message
        with sessions() as session:
            assert _counts(session) == before, "a refused file left data behind"
        return message
    with sessions() as session:
        after = _counts(session)
    assert after["ImportBatch"] == before["ImportBatch"] + 1
    assert after["Student"] == before["Student"] + n_new
    assert after["Case"] == before["Case"] + n_new
    return "ok"


@settings(
    max_examples=1200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    ops=st.lists(MUTATION, min_size=1, max_size=4),
    only_valid=st.booleans(),
)
def test_mutated_files_import_whole_or_not_at_all(store, case_context, seed, ops, only_valid):
    data, name = SEEDS[seed]
    _import_once(store, case_context, _mutate(data, ops), name, only_valid)


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.one_of(
        st.binary(max_size=2048),
        st.text(max_size=600).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.lists(st.lists(st.text(max_size=30), max_size=12), max_size=12).map(
            lambda rows: "\n".join(";".join(r) for r in [HEADER, *rows]).encode(
                "utf-8", "surrogatepass"
            )
        ),
    ),
    name=st.sampled_from(["a.csv", "a.xlsx", "a.txt", "a", "../../a.csv"]),
)
def test_generated_files_never_crash_the_importer(store, case_context, data, name):
    _import_once(store, case_context, data, name, only_valid=True)


def test_the_web_import_never_answers_500_and_never_half_imports(db_url, case_context):
    """The same mutations through upload → preview → confirm in the real app, on both stores.

    PostgreSQL is stricter than SQLite (text length, NUL characters): both must hold.
    """
    app = create_app({"TESTING": False, "SECRET_KEY": "f", "DATABASE_URL": db_url})
    app.extensions["revincula.cases"] = case_context
    client = login(app.test_client(), app)
    sessions = app.extensions["revincula.db"]
    rng = random.Random(2026)
    kinds = sorted(MUTATIONS)
    statuses: dict[int, int] = {}
    for _ in range(120):
        data, name = SEEDS[rng.randrange(len(SEEDS))]
        ops = [
            (rng.choice(kinds), rng.randrange(10**7), rng.randbytes(rng.randrange(40)))
            for _ in range(rng.randint(1, 3))
        ]
        body = _mutate(data, ops)
        with sessions() as session:
            before = _counts(session)
        form = {"csrf": csrf(client), "mes": "2026-08", "archivo": (io.BytesIO(body), name)}
        upload = client.post("/importar", data=form, content_type="multipart/form-data")
        assert upload.status_code == 302
        preview = client.get(upload.headers["Location"])
        statuses[preview.status_code] = statuses.get(preview.status_code, 0) + 1
        assert preview.status_code in (200, 422), preview.status_code
        token = upload.headers["Location"].rsplit("/", 1)[-1]
        choice = rng.choice(["0", "1"])
        done = client.post(
            f"/importar/{token}/confirmar", data={"csrf": csrf(client), "solo_validas": choice}
        )
        assert done.status_code in (302, 303), done.status_code
        with sessions() as session:
            after = _counts(session)
        if "/importar/lote/" in done.headers["Location"]:
            assert after["ImportBatch"] == before["ImportBatch"] + 1
        else:
            assert after == before
    assert statuses.get(200, 0) > 10  # the mutations are not all fatal: rows were validated
    app.extensions["revincula.engine"].dispose()
