"""The README a newcomer reads: no link outside the repository, and it promises what
`make demo` does (it prints the address; it opens nothing). Issue 24 item 2."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_no_link_leaves_the_repository():
    assert "../" not in README
    assert "/work/" not in README
    for target in re.findall(r"\]\(([^)]+)\)", README):  # Markdown links
        assert target.startswith(("http://127.0.0.1", "#")) or (ROOT / target).exists(), target


def test_make_demo_is_described_as_it_behaves():
    assert "y abre http" not in README
    assert "imprime la dirección" in README
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert 'echo "Abra http://$(HOST):$(PORT)/' in demo


def test_the_school_count_says_which_are_on_the_map():
    assert "281 establecimientos" in README and "280 en el mapa" in README
