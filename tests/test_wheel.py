"""A normal (non-editable) `pip install .` ships the whole app and serves its front end.

The wheel is built offline from a copy of the source tree (no build isolation,
so no package index is asked for setuptools), installed with ``pip --target``
into a folder of its own, and a fresh interpreter whose ``geo_app`` must come
from that folder serves ``/static/...`` byte for byte as in ``static/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("geo_app", "layers", "routing")
SERVED = ("vendor/leaflet/leaflet.js", "js/map.js", "css/app.css")


SERVE = """
import hashlib, json, sys
import geo_app
from geo_app import create_app

paths, settings = json.loads(sys.argv[1])
app = create_app(settings)
client = app.test_client()
out = {"module": geo_app.__file__, "static_folder": app.static_folder, "served": {}}
for path in paths:
    response = client.get(path)
    out["served"][path] = [response.status_code, hashlib.sha256(response.data).hexdigest()]
    response.close()
out["login"] = client.get("/ingresar").status_code
print(json.dumps(out))
"""


def _pip(*args: str, cwd: Path) -> None:
    env = {**os.environ, "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _source_copy(target: Path) -> Path:
    """Copy what a fresh clone holds for the build (no caches, no egg-info, no build/)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in (*PACKAGES, "static"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    return target


def _expected_files() -> set[str]:
    """Paths the wheel must hold: every module, template, rule, migration and static file."""
    expected = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    expected |= {
        "geo_app/static/" + str(path.relative_to(ROOT / "static"))
        for path in (ROOT / "static").rglob("*")
        if path.is_file()
    }
    return expected


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = _source_copy(work / "src")
    dist = work / "dist"
    _pip(
        "wheel", str(source), "--no-deps", "--no-build-isolation", "--check-build-dependencies",
        "--no-index", "-w", str(dist), cwd=work,
    )  # fmt: skip
    (built,) = dist.glob("revincula-*.whl")
    return built


def test_the_wheel_holds_every_module_template_and_static_file(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = sorted(_expected_files() - names)
    assert missing == [], "add the package or data to [tool.setuptools] in pyproject.toml"
    assert not any(name.startswith("static/") for name in names), "static/ must not be top level"


def test_the_installed_package_serves_the_front_end(wheel, tmp_path):
    site = tmp_path / "site"
    _pip("install", "--no-deps", "--no-index", "--target", str(site), str(wheel), cwd=tmp_path)
    paths = [f"/static/{name}" for name in SERVED]
    settings = {
        "TESTING": True,
        "SECRET_KEY": "wheel",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wheel.sqlite'}",
        "TERRITORY_DIR": str(ROOT / "data" / "chiloe"),  # data/ is not part of the wheel
    }
    done = subprocess.run(
        [sys.executable, "-c", SERVE, json.dumps([paths, settings])],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # the app came from the installed copy, not from this checkout
    assert Path(out["module"]).is_relative_to(site)
    assert Path(out["static_folder"]) == site / "geo_app" / "static"
    for name, path in zip(SERVED, paths, strict=True):
        digest = hashlib.sha256((ROOT / "static" / name).read_bytes()).hexdigest()
        assert out["served"][path] == [200, digest], path
    assert out["login"] == 200  # templates and migrations were installed too
