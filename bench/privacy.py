"""Complementary suppression on a coverage run and its what-if: cells hidden, time.

Reads two ``bandas.csv`` written by ``revincula coverage`` (the run and the
same run with ``--agregar``; e.g. on the demo database after ``make demo``),
groups the small islands as a mesa's island table does, and protects the cases,
enrolment and population tables of both layers together (`layers.privacy.protect`,
k = 10). Prints, per count: cells published, primary cells (1..k-1), cells
hidden beyond primary (complementary), and the seconds taken, against the
single-pass pattern of git revision ``af547f0`` (tables protected all at once,
the baseline) loaded from git history in this same process.

Run: ``python bench/privacy.py BASE/bandas.csv WHATIF/bandas.csv``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_app.coverage.service import island_groups  # noqa: E402
from layers.coverage import band_labels  # noqa: E402
from layers.privacy import protect  # noqa: E402
from layers.territory import load_territory  # noqa: E402

BASELINE = "af547f0"
K = 10


def _baseline():
    text = subprocess.run(["git", "show", f"{BASELINE}:layers/privacy.py"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "privacy_baseline.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("privacy_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["privacy_baseline"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.protect


def _micro(base: Path, whatif: Path) -> pd.DataFrame:
    groups = island_groups(load_territory())
    frames = []
    for layer, path in (("antes", base), ("después", whatif)):
        frame = pd.read_csv(path).rename(
            columns={"comuna": "comuna_name", "isla": "island_name", "banda": "band",
                     "casos": "cases", "matricula": "enrolment", "poblacion": "population"}
        )  # fmt: skip
        frame["island_name"] = frame["island_name"].map(groups).fillna("sin dato")
        frame["layer"] = layer
        frames.append(frame)
    micro = pd.concat(frames, ignore_index=True)
    keys = ["layer", "comuna_name", "island_name", "band"]
    return micro.groupby(keys, sort=False, as_index=False)[
        ["cases", "enrolment", "population"]
    ].sum()


def _count(protected) -> tuple[int, int, int]:
    cells = primary = hidden = 0
    for key, table in protected.tables.items():
        small = (table >= 1) & (table < K)
        cells += table.size
        primary += int(small.to_numpy().sum())
        hidden += int(protected.suppressed[key].to_numpy().sum())
    return cells, primary, hidden - primary


def main() -> None:
    micro = _micro(Path(sys.argv[1]), Path(sys.argv[2]))
    bands = band_labels()
    old = _baseline()
    print("cifra       celdas  primarias  complementarias (nueva / base)  segundos (nueva / base)")
    for value in ("cases", "enrolment", "population"):
        started = time.perf_counter()
        new = protect(micro, value=value, bands=bands, k=K)
        new_s = time.perf_counter() - started
        started = time.perf_counter()
        base = old(micro, value=value, bands=bands, k=K)
        base_s = time.perf_counter() - started
        cells, primary, extra = _count(new)
        _, _, base_extra = _count(base)
        print(f"{value:<11} {cells:>6} {primary:>10} {extra:>8} / {base_extra:<8}"
              f"              {new_s:6.2f} / {base_s:.2f} (×{new_s / base_s:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
