"""The shape a newcomer relies on: thin views, every command registered once, in one place.

A view parses the request, calls one service function and renders or returns
JSON; more than `MAX_VIEW_LINES` lines of body (docstring not counted) needs
a reason written in a comment just above it that starts with ``# Longer than``.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import click

from geo_app.cli import SOURCES
from geo_app.cli import main

APP = Path(__file__).resolve().parents[2] / "geo_app"
MAX_VIEW_LINES = 15
REASON = "# Longer than"


def views(path: Path) -> list[tuple[str, int, bool]]:
    """(name, body lines without the docstring, has a written reason) of each view in `path`."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    out = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        routes = [d for d in node.decorator_list if "bp." in ast.unparse(d)]
        if not routes:
            continue
        body = node.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        length = node.end_lineno - body[0].lineno + 1
        above = min(d.lineno for d in node.decorator_list) - 2  # index of the line above
        comments = []
        while above >= 0 and lines[above].strip().startswith("#"):
            comments.append(lines[above].strip())
            above -= 1
        reason = any(c.startswith(REASON) for c in comments)
        out.append((node.name, length, reason))
    return out


def test_views_are_thin_or_say_why():
    files = sorted(APP.glob("*/views.py"))
    assert {f.parent.name for f in files} >= {"territory", "cases", "planning", "field", "accounts"}
    found = {f"{f.parent.name}.{name}": (n, why) for f in files for name, n, why in views(f)}
    assert len(found) >= 35
    too_long = {name: n for name, (n, why) in found.items() if n > MAX_VIEW_LINES and not why}
    assert too_long == {}


def test_the_view_check_counts_lines_and_reads_reasons(tmp_path):
    long_body = "\n".join(f"    x{i} = {i}" for i in range(16))
    (tmp_path / "views.py").write_text(
        f'@bp.get("/a")\ndef a():\n    """Doc."""\n{long_body}\n\n\n'
        f'# Longer than 15 lines: a reason.\n@bp.get("/b")\ndef b():\n{long_body}\n\n\n'
        "def helper():\n    return 1\n"
    )
    assert views(tmp_path / "views.py") == [("a", 16, False), ("b", 16, True)]


def test_every_job_registers_its_commands_in_one_place():
    sources = {source.name: source for source in SOURCES}
    for cli_file in sorted(APP.glob("*/cli.py")):
        module = importlib.import_module(f"geo_app.{cli_file.parent.name}.cli")
        assert module.cli in SOURCES, f"{cli_file}: add its `cli` to geo_app.cli.SOURCES"
    names = [name for source in sources.values() for name in source.commands]
    assert len(names) == len(set(names)), "a command name is defined by two packages"
    context = click.Context(main)
    assert sorted(main.list_commands(context)) == sorted(names)
