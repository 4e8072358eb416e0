"""Dependencies point one way: geo_app -> layers -> routing; inside geo_app, jobs -> core.

Inside ``geo_app`` the core (its top-level modules and ``store/``) never
imports a job's subpackage, except the two registries: ``geo_app/__init__.py``
registers the blueprints and ``geo_app/cli.py`` the commands. A job may use
the core and another job's public service functions, never another job's
views, commands or private names. The module import graph (every import,
including those inside functions) has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "layers": {"flask", "geo_app"},
    "routing": {"flask", "geo_app", "layers"},
}
APP = ROOT / "geo_app"
CORE_PACKAGES = {"store"}  # subpackages of geo_app that belong to the core
REGISTRIES = {"geo_app", "geo_app.cli"}  # the only core modules that import the jobs
ENTRY_POINTS = {"views", "cli"}  # what one job never imports from another


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upwards(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    offenders = {
        str(f.relative_to(ROOT)): sorted(imported_roots(f) & FORBIDDEN[package]) for f in files
    }
    assert {f: bad for f, bad in offenders.items() if bad} == {}


def test_checker_sees_a_bad_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from geo_app import create_app\nimport flask.json\n")
    assert imported_roots(bad) == {"geo_app", "flask"}


# --------------------------------------------------------------------------- inside geo_app


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package at `root`, by dotted name."""
    return {
        module_name(p, root): p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts
    }


def imports_of(name: str, path: Path, known: set[str]) -> set[tuple[str, str]]:
    """(module, imported name) pairs for every import in `path`, resolved to `known` modules.

    ``from a.b import c`` is module ``a.b.c`` when that is a module, else name
    ``c`` of module ``a.b``; relative imports are resolved against `name`.
    Parents imported implicitly (``a`` for ``a.b``) are not counted.
    """
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(alias.name, "") for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add((full, "") if full in known else (base, alias.name))
    resolved = set()
    for target, symbol in found:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target:
            resolved.add((target, symbol))
    return resolved


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> modules it imports (explicitly), inside the package at `root`."""
    found = modules(root)
    known = set(found)
    return {
        name: {target for target, _ in imports_of(name, path, known) if target != name}
        for name, path in found.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """Return one import cycle as a list of modules (first repeated at the end), or []."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def job_of(module: str, root: Path) -> str | None:
    """The job (subpackage of the app at `root`) a module belongs to, or None for the core."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in CORE_PACKAGES:
        return None
    return parts[1] if (root / parts[1] / "__init__.py").is_file() else None


def test_geo_app_has_no_import_cycle():
    graph = import_graph(APP)
    assert len(graph) > 30
    assert find_cycle(graph) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("def f():\n    from pkg import c\n")  # lazy counts
    (package / "c.py").write_text("import pkg.a\n")
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.c"}
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
    (package / "c.py").write_text("import json\n")  # the back edge removed
    assert find_cycle(import_graph(package)) == []


def boundary_problems(root: Path) -> list[str]:
    """Imports that cross the core/job boundary the wrong way (see the module docstring)."""
    found = modules(root)
    known = set(found)
    problems = []
    for name, path in found.items():
        mine = job_of(name, root)
        for target, symbol in sorted(imports_of(name, path, known)):
            theirs = job_of(target, root)
            if theirs is None or theirs == mine:
                continue
            if mine is None and name not in REGISTRIES:
                problems.append(f"{name}: the core imports the job {target}")
            elif mine is not None and target.split(".")[-1] in ENTRY_POINTS:
                problems.append(f"{name}: imports another job's {target}")
            elif mine is not None and (
                symbol.startswith("_") or any(p.startswith("_") for p in target.split("."))
            ):
                problems.append(f"{name}: uses the private {target}.{symbol}".rstrip("."))
    return problems


def test_jobs_use_the_core_and_never_another_jobs_views():
    jobs = {p.name for p in APP.iterdir() if (p / "__init__.py").is_file()} - CORE_PACKAGES
    assert {"territory", "cases", "planning", "field", "accounts"} <= jobs
    assert boundary_problems(APP) == []


def test_the_boundary_check_sees_each_kind_of_problem(tmp_path):
    package = tmp_path / "geo_app"
    for job in ("one", "two"):
        (package / job).mkdir(parents=True)
        (package / job / "__init__.py").write_text("")
        (package / job / "views.py").write_text("")
        (package / job / "service.py").write_text("")
    (package / "__init__.py").write_text("from geo_app.one import views\n")  # a registry: fine
    (package / "web.py").write_text("from geo_app.two.service import people\n")
    (package / "one" / "service.py").write_text(
        "from geo_app.two import views\nfrom geo_app.two.service import _helper\n"
        "from geo_app.two.service import people\nfrom geo_app import web\n"
    )
    assert sorted(boundary_problems(package)) == [
        "geo_app.one.service: imports another job's geo_app.two.views",
        "geo_app.one.service: uses the private geo_app.two.service._helper",
        "geo_app.web: the core imports the job geo_app.two.service",
    ]
