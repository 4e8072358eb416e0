"""Issue 25 items 11 and 12: private files, swept uploads, signed and audited backups, CLI audit.

On SQLite and PostgreSQL (`db_url`); every person here is synthetic.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy import select

from geo_app.cases.uploads import PendingUploads
from geo_app.cases.uploads import start_sweeper
from geo_app.cases.uploads import stop_sweepers
from geo_app.cli import main
from geo_app.store import make_engine
from geo_app.store.models import AuditEntry

LIST = (
    "RUN;Nombres;Apellidos;RBD;% Asistencia;Mes\r\n"
    "90.000.001-4;Aurora;Sintética Uno;8001;40;2026-08\r\n"
    "90.000.002-2;Bruno;Sintético Dos;8001;60;2026-08\r\n"
)


def mode(path) -> int:
    return stat.S_IMODE(Path(path).stat().st_mode)


@pytest.fixture
def runner(db_url, monkeypatch):
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    monkeypatch.setenv("REVINCULA_SECRET_KEY", "clave-de-respaldo-de-prueba")
    return CliRunner()


def audit_rows(db_url) -> list[tuple[str, str, str]]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        query = select(AuditEntry.action, AuditEntry.target, AuditEntry.case_ids)
        rows = [tuple(r) for r in conn.execute(query.order_by(AuditEntry.id))]
    engine.dispose()
    return rows


def test_uploads_are_private_and_swept_on_a_timer(tmp_path):
    """Item 12: 0700 folder, 0600 files; an unconfirmed upload is gone after 8 hours."""
    uploads = PendingUploads.in_instance(tmp_path)
    token = uploads.keep(LIST.encode(), "lista.csv", period=None, owner="prof.castro")
    assert mode(uploads.folder) == 0o700
    assert {mode(p) for p in uploads.folder.iterdir()} == {0o600}
    old = time.time() - 8 * 3600 - 60
    for path in uploads.folder.glob(f"{token}.*"):
        os.utime(path, (old, old))
    fresh = uploads.keep(LIST.encode(), "otra.csv", period=None, owner="prof.castro")
    os.utime(uploads.folder / f"{fresh}.bin", (old, old))  # the sweeper, not an upload, drops it
    # keep() swept the first; the timer sweeps the second with no new upload
    assert not (uploads.folder / f"{token}.bin").exists()
    sweeper = start_sweeper(tmp_path, every_s=0.05)
    deadline = time.time() + 5
    while (uploads.folder / f"{fresh}.bin").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert not (uploads.folder / f"{fresh}.bin").exists()
    stop_sweepers()  # before a database it might use is closed
    assert not sweeper.is_alive()


def test_the_sqlite_file_is_private(tmp_path):
    """Item 12: the store's file is 0600 even when something created it world-readable."""
    path = tmp_path / "casos.sqlite"
    path.touch(mode=0o644)
    path.chmod(0o644)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect():
        pass
    engine.dispose()
    assert mode(path) == 0o600
    other = tmp_path / "nueva.sqlite"
    make_engine(f"sqlite:///{other}").dispose()
    assert mode(other) == 0o600


def test_cli_import_backup_and_restore_are_audited_and_backups_signed(runner, db_url, tmp_path):
    """Item 11: the CLI import names its cases; backups are 0600, signed, audited."""
    listing = tmp_path / "lista_sintetica.csv"
    listing.write_text(LIST, encoding="utf-8")
    done = runner.invoke(main, ["import", str(listing), "--usuario", "operador"])
    assert done.exit_code == 0, done.output
    imported = [r for r in audit_rows(db_url) if r[1] == "importacion"]
    assert len(imported) == 1 and len(imported[0][2].split(",")) == 2
    path = tmp_path / "respaldo.jsonl.gz"
    made = runner.invoke(main, ["backup", "-o", str(path)])
    assert made.exit_code == 0, made.output
    assert mode(path) == 0o600
    assert ("exportar", "respaldo") in {r[:2] for r in audit_rows(db_url)}
    # someone edits the audit log inside the backup and recomputes its SHA-256
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
    body = [json.loads(line) for line in lines[1:-1]]
    for record in body:
        if record["t"] == "audit_log":
            record["r"]["username"] = "nadie"
    new_lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in body]
    digest = hashlib.sha256("".join(new_lines).encode("utf-8")).hexdigest()
    trailer = {**json.loads(lines[-1]), "sha256": digest}
    edited = tmp_path / "editado.jsonl.gz"
    text = "\n".join([lines[0], *new_lines, json.dumps(trailer)]) + "\n"
    edited.write_bytes(gzip.compress(text.encode("utf-8")))
    refused = runner.invoke(main, ["restore", str(edited), "--reemplazar"])
    assert refused.exit_code == 1 and "firma" in refused.output
    assert "nadie" not in {r[0] for r in audit_rows(db_url)}
    restored = runner.invoke(main, ["restore", str(path), "--reemplazar"])
    assert restored.exit_code == 0, restored.output
    targets = [r[1] for r in audit_rows(db_url)]
    assert targets[-1] == "restauracion" and targets[-2] == "respaldo"  # the backup's own
