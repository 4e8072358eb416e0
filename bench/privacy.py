"""Complementary suppression on a coverage run and its what-if: cells hidden, time.

Reads two ``bandas.csv`` written by ``revincula coverage`` (the run and the
same run with ``--agregar``; e.g. on the demo database after ``make demo``),
groups the small islands as a mesa's island table does, and protects the cases,
enrolment and population tables of both layers together (`layers.privacy.protect`,
k = 10). Prints, per count: cells published, primary cells (1..k-1), cells
hidden beyond primary (complementary), whether the pattern is the baseline's,
and the seconds taken (wall and CPU: the machine is shared) against the
baseline: git revision ``6001b58``, the same search with a new
`scipy.optimize.linprog` for each interval (the new code keeps one HiGHS model
and warm-starts it), loaded from git history in this same process.

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

BASELINE = "6001b58"
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
    print("cifra       celdas  primarias  complementarias  igual a la base"
          "  segundos reloj (nueva / base)  segundos CPU (nueva / base)")  # fmt: skip
    totals = [0.0, 0.0, 0.0, 0.0]
    for value in ("cases", "enrolment", "population"):
        times = []
        for function in (protect, old):
            started, cpu = time.perf_counter(), time.process_time()
            result = function(micro, value=value, bands=bands, k=K)
            times += [time.perf_counter() - started, time.process_time() - cpu]
            if function is protect:
                new = result
        base = result
        same = all(new.suppressed[key].equals(base.suppressed[key]) for key in base.suppressed)
        cells, primary, extra = _count(new)
        totals = [t + x for t, x in zip(totals, times, strict=True)]
        print(f"{value:<11} {cells:>6} {primary:>10} {extra:>16}  {'sí' if same else 'NO':>15}"
              f"  {times[0]:8.2f} / {times[2]:<8.2f}"
              f"          {times[1]:8.2f} / {times[3]:.2f}")  # fmt: skip
    wall_new, cpu_new, wall_old, cpu_old = totals
    print(f"total: reloj {wall_new:.2f} s / {wall_old:.2f} s"
          f" (×{wall_old / wall_new:.1f} más rápido),"
          f" CPU {cpu_new:.2f} s / {cpu_old:.2f} s (×{cpu_old / cpu_new:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
