"""Every script of ours that writes HTML strings escapes data through a local esc()."""

from __future__ import annotations

import re
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "static" / "js"
WRITES_HTML = re.compile(r"innerHTML\s*=|insertAdjacentHTML|bindPopup\(|bindTooltip\(|html:")


def test_every_script_that_writes_html_defines_an_escape():
    scripts = sorted(SCRIPTS.glob("*.js"))
    assert scripts
    missing = [
        p.name
        for p in scripts
        if WRITES_HTML.search(p.read_text(encoding="utf-8"))
        and "function esc(" not in p.read_text(encoding="utf-8")
        and "textContent" not in p.read_text(encoding="utf-8")
    ]
    assert missing == [], f"escriben HTML sin esc(): {missing}"


def test_popups_are_not_built_from_bare_properties():
    # `bindPopup(p.x …` or `+ p.x +` straight into a popup string is the bug of issue 24 item 8.
    bare = re.compile(r"bindPopup\(\s*p\.|bindTooltip\(\s*p\.")
    found = [p.name for p in SCRIPTS.glob("*.js") if bare.search(p.read_text(encoding="utf-8"))]
    assert found == []
