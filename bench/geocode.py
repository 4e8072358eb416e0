"""Geocoding benchmark: accuracy, honesty of the confidence, and speed, before and after.

The labelled set (``bench/data/geocode_etiquetado.csv``, described in
``bench/data/README.md``) holds synthetic addresses written on real place names
the way a school secretary types them, each with the point of the source record
whose name it uses (DEIS health post, Mineduc school, Who's On First locality).
Two evaluations:

- **completo**: the whole gazetteer. The true point is one of its own entries:
  this measures *matching* (is the named place found despite the typing?).
  Goal: ≥ 95 % within 2 km for names present in the gazetteer, across the
  forms articulo, minusculas, errata, comuna_al_final, camino_km.
- **retenido**: the row's source is withheld from the gazetteer (a WOF row is
  geocoded without WOF), so the true point comes from a source the gazetteer
  under test does not use. This measures whether the *confidence* means
  something: «alta» right within 1 km ≥ 9 in 10, «media» within 5 km ≥ 9 in 10,
  no «alta» more than 5 km off (confidently wrong).

The rows are split by place into two halves (`halves`): the «alta» agreement
threshold is checked on «ajuste» (`check_agreement`), and the per-label
figures (count, ≤ 1 / ≤ 5 km, median, p90) and the 90 % goals are reported on
«validación» (`by_label`, `label_goals`); on *retenido*, «alta» is also shown
against building points (DEIS, Mineduc) and approximate WOF points apart.

The baseline is the geocoder of commit f574de2, or of ``--base COMMIT``
(``layers/geocode.py`` read with ``git show`` into a temporary module), run in
the same process on the same rows.

    .venv/bin/python bench/geocode.py               # figures, before and after
    .venv/bin/python bench/geocode.py --regenerate  # rewrite the labelled set first
    .venv/bin/python bench/geocode.py --base ef1066a  # before/after against another commit

Prints figures and ratios; nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import importlib.util
import inspect
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layers.gazetteer import CONFLICT_M  # noqa: E402
from layers.gazetteer import WOF_FILE  # noqa: E402
from layers.gazetteer import Gazetteer  # noqa: E402
from layers.gazetteer import build_gazetteer  # noqa: E402
from layers.gazetteer import core_key  # noqa: E402
from layers.gazetteer import territory_entries  # noqa: E402
from layers.gazetteer import wof_entries  # noqa: E402
from layers.geocode import AGREE_WITHIN_M  # noqa: E402
from layers.geocode import Geocoder  # noqa: E402
from layers.geocode import confidence  # noqa: E402
from layers.intake import normalize_text  # noqa: E402
from layers.territory import COMUNA_TOWNS  # noqa: E402
from layers.territory import load_territory  # noqa: E402
from routing._geo import haversine_m  # noqa: E402

LABELS = ROOT / "bench" / "data" / "geocode_etiquetado.csv"
BASELINE_COMMIT = "f574de2"
SEED = 18
GOAL_FORMS = ("articulo", "minusculas", "errata", "comuna_al_final", "camino_km")
FORMS = ("exacto", *GOAL_FORMS, "cerca_de", "km_hacia")
# families whose entries give the true points; a row is geocoded without its own family
TRUTH_FAMILIES = ("deis", "mineduc", "wof")
# true points that are a building (health post, school), not an approximate GeoNames point
PRECISE_FAMILIES = ("deis", "mineduc")
GOAL_SHARE = 0.9  # «alta» within 1 km and «media» within 5 km at least 9 times in 10
HALVES = ("ajuste", "validación")
# «alta» agreement thresholds tried on the fitting half (metres between the agreeing sources)
AGREE_CANDIDATES_M = (250.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0)
NAMED_METHODS = {"localidad", "localidad_aprox", "confirmado", "cerca_de", "camino_km",
                 "camino_hacia", "localidad_comuna", "isla", "calle"}  # fmt: skip
COLUMNS = ("id", "form", "address", "sector", "comuna", "rbd", "name", "truth_ref",
           "truth_family", "lon", "lat", "other_sources")  # fmt: skip


# -- the labelled set --------------------------------------------------------------
def _ascii_lower(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


_NEIGHBOURS = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip


def typo(name: str, rng: np.random.Generator) -> str:
    """One slip in a name: two letters swapped, one dropped, doubled or hit next to it.

    Never on the first letter; 4-letter names only get a swap (as in «Copmu»).
    """
    letters = [i for i, c in enumerate(name) if c.isalpha() and i > 0]
    word_letters = sum(c.isalpha() for c in name)
    swaps = [i for i in letters if i + 1 < len(name) and name[i + 1].isalpha()
             and name[i].lower() != name[i + 1].lower()]  # fmt: skip
    kinds = ["swap"] if word_letters <= 4 else ["swap", "drop", "double", "neighbour"]
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "swap" and swaps:
        i = swaps[int(rng.integers(len(swaps)))]
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    i = letters[int(rng.integers(len(letters)))]
    if kind == "drop":
        return name[:i] + name[i + 1 :]
    if kind == "double":
        return name[:i] + name[i] + name[i:]
    options = _NEIGHBOURS.get(_ascii_lower(name[i]), "")
    if not options:
        return name[:i] + name[i + 1 :]
    return name[:i] + options[int(rng.integers(len(options)))] + name[i + 1 :]


_LEADING = {"el", "la", "los", "las", "villa", "isla", "puerto", "colonia"}


def _article_form(name: str) -> str:
    """The name without its leading article or common word, or with «Lugar» before it."""
    words = name.split()
    if len(words) > 1 and normalize_text(words[0]) in _LEADING:
        return f"Sector {' '.join(words[1:])} s/n"
    return f"Lugar {name} s/n"


def _address(form: str, name: str, comuna: str, family: str, rng) -> tuple[str, str]:
    """(address, sector) of one form; see bench/data/README.md."""
    town = COMUNA_TOWNS.get(comuna, comuna)
    km = int(rng.integers(1, 15))
    if form == "exacto":
        return f"Sector {name} s/n", ""
    if form == "articulo":
        return _article_form(name), ""
    if form == "minusculas":
        return f"sector {_ascii_lower(name)} sn", ""
    if form == "errata":
        return f"{typo(name, rng)} s/n", ""
    if form == "comuna_al_final":
        written = name if rng.random() < 0.5 else _ascii_lower(name)
        return f"{written} s/n, {comuna}", ""
    if form == "camino_km":
        if rng.random() < 0.5:
            return f"Camino a {town} km {km}, sector {name}", ""
        return f"Km {km} camino a {town}", name
    if form == "cerca_de":
        building = {"deis": "frente a la posta", "mineduc": "al lado de la escuela",
                    "wof": "cerca de la capilla de"}[family]  # fmt: skip
        return f"{building} {name}", ""
    if form == "km_hacia":
        return f"Km {km} camino a {name}", ""
    msg = f"forma desconocida {form!r}"
    raise ValueError(msg)


def labelled_rows(territory) -> list[dict]:
    """Build the labelled set from the bundled data (see bench/data/README.md)."""
    rng = np.random.default_rng(SEED)
    entries = territory_entries(territory) + wof_entries(territory.data_dir / WOF_FILE)
    gazetteer = Gazetteer.from_entries(entries)
    schools = territory.schools[territory.schools["has_location"]].to_crs(4326)
    school_xy = np.column_stack([schools.geometry.x, schools.geometry.y])
    comuna_names = {normalize_text(c): c for c in territory.comunas["comuna_name"]}
    rows = []
    for place in gazetteer.places:
        if place.kind != "localidad":
            continue
        members = [e for e in entries if e.ref in place.refs and e.key in place.names]
        seen = set()
        for entry in sorted(members, key=lambda e: (e.family, e.ref, e.name)):
            point = (entry.family, round(entry.lon, 4), round(entry.lat, 4))
            if entry.family not in TRUTH_FAMILIES or point in seen:
                continue
            seen.add(point)
            others = {e.family for e in members} - {entry.family}
            comuna = comuna_names[entry.comuna]
            same = schools["comuna_name"] == comuna
            d = haversine_m(entry.lon, entry.lat, school_xy[same, 0], school_xy[same, 1])
            rbd = int(schools.loc[same, "rbd"].iloc[int(np.argmin(d))])
            for form in FORMS:
                address, sector = _address(form, entry.name, comuna, entry.family, rng)
                keep_truth = form != "km_hacia"
                rows.append(
                    {
                        "form": form,
                        "address": address,
                        "sector": sector,
                        "comuna": comuna,
                        "rbd": rbd,
                        "name": entry.name,
                        "truth_ref": entry.ref,
                        "truth_family": entry.family,
                        "lon": f"{entry.lon:.6f}" if keep_truth else "",
                        "lat": f"{entry.lat:.6f}" if keep_truth else "",
                        "other_sources": len(others),
                    }
                )
    for i, row in enumerate(rows, start=1):
        row["id"] = i
    return rows


def write_labels(rows: list[dict], path: Path = LABELS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_labels(path: Path = LABELS) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"address": str, "sector": str}, keep_default_na=False)
    table["lon"] = pd.to_numeric(table["lon"], errors="coerce")
    table["lat"] = pd.to_numeric(table["lat"], errors="coerce")
    return table


# -- evaluating --------------------------------------------------------------------
def evaluate(locate, table: pd.DataFrame) -> pd.DataFrame:
    """Geocode every row with ``locate(row) -> Location``; add error, confidence, timing."""
    found = [locate(row) for row in table.itertuples()]
    out = table.copy()
    out["method"] = [f.method for f in found]
    out["score"] = [f.score for f in found]
    out["confidence"] = [confidence(f.score) for f in found]
    out["named"] = [f.method in NAMED_METHODS for f in found]
    lon = np.array([np.nan if f.lon is None else f.lon for f in found])
    lat = np.array([np.nan if f.lat is None else f.lat for f in found])
    out["error_km"] = haversine_m(lon, lat, out["lon"], out["lat"]) / 1000
    return out


def _share(mask) -> str:
    mask = np.asarray(mask)
    return f"{mask.mean():6.1%}" if len(mask) else "     —"


def summary(results: pd.DataFrame, label: str) -> None:
    print(f"\n{label}")
    print(f"  {'forma':16s} {'n':>5s} {'nombrado':>8s} {'mediana':>8s} {'p90':>7s} "
          f"{'≤1 km':>7s} {'≤2 km':>7s} {'≤5 km':>7s} {'alta':>5s} {'media':>6s} "
          f"{'alta≤1km':>8s} {'media≤5km':>9s} {'conf.mal':>8s}")  # fmt: skip
    groups = [(form, results[results["form"] == form]) for form in FORMS]
    groups.append(("todas", results))
    for form, part in groups:
        truth = part[part["lon"].notna()]
        err = truth["error_km"].fillna(np.inf)
        alta = truth[truth["confidence"] == "alta"]
        media = truth[truth["confidence"] == "media"]
        wrong = int(((truth["confidence"] == "alta") & (err > 5)).sum())
        median = f"{err.median():7.2f}" if len(truth) else "      —"
        p90 = f"{err.quantile(0.9):6.2f}" if len(truth) else "     —"
        print(
            f"  {form:16s} {len(part):5d} {_share(part['named']):>8s} {median:>8s} {p90:>7s} "
            f"{_share(err <= 1):>7s} {_share(err <= 2):>7s} {_share(err <= 5):>7s} "
            f"{(part['confidence'] == 'alta').sum():5d} {(part['confidence'] == 'media').sum():6d} "
            f"{_share(alta['error_km'] <= 1):>8s} {_share(media['error_km'] <= 5):>9s} {wrong:8d}"
        )


def halves(table: pd.DataFrame) -> pd.Series:
    """«ajuste» or «validación» for each row: a split by place, fixed before any fitting.

    The key is the comuna and the name without its leading common words
    (`core_key`: «Los Ángeles» and «Ángeles» together), hashed with SHA-1; its
    parity picks the half. Every form and every source of one place fall in the
    same half, so a threshold fitted on «ajuste» never saw a place of «validación».
    """

    def half(row) -> str:
        key = f"{normalize_text(row.comuna)}|{core_key(normalize_text(row.name))}"
        return HALVES[hashlib.sha1(key.encode()).digest()[0] % 2]

    return pd.Series([half(r) for r in table.itertuples()], index=table.index)


def _label_line(name: str, part: pd.DataFrame) -> str:
    err = part["error_km"].fillna(np.inf)
    median = f"{err.median():7.2f}" if len(part) else "      —"
    p90 = f"{err.quantile(0.9):7.2f}" if len(part) else "      —"
    return (f"  {name:34s} {len(part):5d} {part['truth_ref'].nunique():9d} "
            f"{_share(err <= 1):>7s} {_share(err <= 5):>7s} {median:>8s} {p90:>8s}")  # fmt: skip


def by_label(results: pd.DataFrame, title: str) -> None:
    """Per confidence label: count (rows, source records), share within 1 and 5 km, median
    and p90 error (km).

    Rows with a true point only (`km_hacia` has none: its labels are counted apart).
    On *retenido*, «alta» is also shown by the kind of true point: a building
    (DEIS post, Mineduc school) or an approximate WOF / GeoNames point.
    """
    truth = results[results["lon"].notna()]
    print(f"\n{title}")
    print(f"  {'confianza':34s} {'n':>5s} {'registros':>9s} {'≤1 km':>7s} {'≤5 km':>7s} "
          f"{'mediana':>8s} {'p90':>8s}")  # fmt: skip
    for label in ("alta", "media", "baja"):
        part = truth[truth["confidence"] == label]
        print(_label_line(label, part))
        if label == "alta" and "retenido" in title:
            precise = part["truth_family"].isin(PRECISE_FAMILIES)
            print(_label_line("  alta, punto DEIS/Mineduc", part[precise]))
            print(_label_line("  alta, punto WOF (aproximado)", part[~precise]))
    km = results[results["form"] == "km_hacia"]
    print(f"  «Km N camino a X» (sin punto verdadero): {len(km)}, en alta: "
          f"{int((km['confidence'] == 'alta').sum())}")  # fmt: skip


def label_goals(results: pd.DataFrame, config: str) -> dict[str, tuple[float, int]]:
    """Shares the goals are judged on: {goal: (share, rows)}.

    «alta» within 1 km over every true point; on *retenido* also over building
    points only (DEIS, Mineduc); «media» within 5 km over every true point.
    """
    truth = results[results["lon"].notna()]
    err = truth["error_km"].fillna(np.inf)
    alta = truth["confidence"] == "alta"
    media = truth["confidence"] == "media"
    out = {
        "alta ≤ 1 km": (float((err[alta] <= 1).mean()), int(alta.sum())),
        "media ≤ 5 km": (float((err[media] <= 5).mean()), int(media.sum())),
    }
    if config == "retenido":
        precise = alta & truth["truth_family"].isin(PRECISE_FAMILIES)
        out["alta ≤ 1 km, punto DEIS/Mineduc"] = (float((err[precise] <= 1).mean()),
                                                 int(precise.sum()))  # fmt: skip
    return out


def _goal_text(goals: dict[str, tuple[float, int]]) -> str:
    parts = []
    for name, (share, n) in goals.items():
        if n == 0:
            parts.append(f"{name}: sin filas (no cumplida)")
        else:
            met = "cumplida" if share >= GOAL_SHARE else "NO cumplida"
            parts.append(f"{name}: {share:.1%} de {n} ({met})")
    return "; ".join(parts)


def check_agreement(geocoders: dict, table: pd.DataFrame) -> float | None:
    """«alta» on the «ajuste» half for each agreement threshold; return the largest reaching 90 %.

    The code's rule (`layers.geocode.AGREE_WITHIN_M`, 1000 m) is the radius
    «alta» promises: every source that agrees is within 1 km of every other,
    so their mean is within 1 km of each. This checks it on the fitting half
    only: for each threshold of `AGREE_CANDIDATES_M` every row of the half is
    geocoded (completo and retenido) and «alta» is checked within 1 km (on
    completo over every true point, on retenido also over building points,
    DEIS and Mineduc; a WOF point is approximate, data/chiloe/PROVENANCE.md).
    The geocoders are put back to `AGREE_WITHIN_M` afterwards.
    """
    print("\ncalibración de «alta»: umbral de acuerdo entre fuentes, en la mitad «ajuste» "
          f"({len(table)} filas; la mitad «validación» no se usa aquí)")  # fmt: skip
    print(f"  {'umbral':>8s} {'completo alta':>14s} {'≤1 km':>7s} {'retenido alta':>14s} "
          f"{'≤1 km':>7s} {'DEIS/Mineduc':>13s} {'≤1 km':>7s}")  # fmt: skip
    largest = None
    rule = None
    try:
        for metres in AGREE_CANDIDATES_M:
            for geocoder in geocoders.values():
                geocoder.agree_within_m = metres
            shares = {
                config: label_goals(evaluate(_locator(geocoders, config), table), config)
                for config in ("completo", "retenido")
            }
            c, r = shares["completo"]["alta ≤ 1 km"], shares["retenido"]["alta ≤ 1 km"]
            rp = shares["retenido"]["alta ≤ 1 km, punto DEIS/Mineduc"]
            print(f"  {metres:6.0f} m {c[1]:14d} {c[0]:7.1%} {r[1]:14d} {r[0]:7.1%} "
                  f"{rp[1]:13d} {rp[0]:7.1%}")  # fmt: skip
            met = bool(c[1] and rp[1]) and c[0] >= GOAL_SHARE and rp[0] >= GOAL_SHARE
            if met:
                largest = metres
            if metres == AGREE_WITHIN_M:
                rule = met
    finally:
        for geocoder in geocoders.values():
            geocoder.agree_within_m = AGREE_WITHIN_M
    verdict = {True: "llega a 90 %", False: "NO llega a 90 %", None: "no probado"}[rule]
    print(
        f"  regla del código: fuentes a ≤ {AGREE_WITHIN_M:.0f} m entre sí (el radio que promete "
        f"«alta»): {verdict} en «ajuste» (completo y puntos DEIS/Mineduc de retenido)"
    )
    if largest is not None:
        why = ""
        if largest >= CONFLICT_M:
            why = (f" (a {CONFLICT_M:.0f} m, la distancia de conflicto, la condición ya no exige "
                   "más acuerdo que la fusión de fuentes)")  # fmt: skip
        print(f"  mayor umbral que llega a 90 % en «ajuste»: {largest:.0f} m{why}")
    return largest


def goal(results: pd.DataFrame, forms: tuple[str, ...] = GOAL_FORMS) -> float:
    """Share within 2 km over the goal forms, for names present in the gazetteer."""
    part = results[results["form"].isin(forms) & results["present"]]
    return float((part["error_km"].fillna(np.inf) <= 2).mean())


def confidently_wrong(results: pd.DataFrame) -> int:
    """«alta» and more than 5 km from the true point."""
    truth = results[results["lon"].notna()]
    return int(((truth["confidence"] == "alta") & (truth["error_km"].fillna(np.inf) > 5)).sum())


def calibration(results: pd.DataFrame) -> None:
    """Per method and score (each score is one class of evidence): how often it is right."""
    truth = results[results["lon"].notna()]
    print("\n  calibración (retenido): por método y puntaje, qué tan seguido acierta")
    print(f"  {'método':18s} {'puntaje':>7s} {'banda':6s} {'n':>5s} {'≤1 km':>7s} {'≤5 km':>7s}")
    for (method, score), part in truth.groupby(["method", "score"]):
        err = part["error_km"].fillna(np.inf)
        print(f"  {method:18s} {score:7.3f} {confidence(score):6s} {len(part):5d} "
              f"{_share(err <= 1):>7s} {_share(err <= 5):>7s}")  # fmt: skip


def rates(locators: dict[str, object], rows: list, repeat: int = 5) -> dict[str, float]:
    """Addresses per second of each locator, best of `repeat`, runs interleaved.

    Timed in CPU seconds of this process (`time.process_time`), and interleaved,
    to keep the comparison fair on a shared machine; every run starts cold
    (memoised lookups and parsed addresses forgotten).
    """
    best = dict.fromkeys(locators, np.inf)
    for _ in range(repeat):
        for label, locate in locators.items():
            owner = getattr(locate, "__self__", None)
            if hasattr(owner, "clear_caches"):
                owner.clear_caches()
            start = time.process_time()
            for row in rows:
                locate(*row)
            best[label] = min(best[label], time.process_time() - start)
    return {label: len(rows) / seconds for label, seconds in best.items()}


# -- the baseline --------------------------------------------------------------------
def load_baseline(commit: str = BASELINE_COMMIT):
    """The `Geocoder` class of `commit`, or None when git cannot show it."""
    try:
        source = subprocess.run(
            ["git", "show", f"{commit}:layers/geocode.py"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"(sin línea base: git show falló: {err})")
        return None
    folder = Path(tempfile.mkdtemp(prefix="geocode-base-"))
    name = f"geocode_base_{commit}"
    path = folder / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.Geocoder


_OLD_PREFIX = {"deis": "DEIS ", "mineduc": "RBD ", "wof": "WOF "}


def baseline_geocoders(old_class, territory) -> dict[str, object]:
    """Old geocoders: the whole gazetteer, and one without each truth family.

    A geocoder that takes a merged gazetteer (after f574de2) gets the same
    gazetteers as the new one (`build_gazetteer(exclude=...)`); an older one
    drops the places whose source is the withheld family.
    """
    if "gazetteer" in inspect.signature(old_class.from_territory).parameters:
        out = {"completo": old_class.from_territory(territory)}
        for family in TRUTH_FAMILIES:
            gazetteer = build_gazetteer(territory, exclude=[family])
            out[family] = old_class.from_territory(territory, gazetteer=gazetteer)
        return out
    full = old_class.from_territory(territory)
    out = {"completo": full}
    for family, prefix in _OLD_PREFIX.items():
        kept = [p for p in full.places if not p.source.startswith(prefix)]
        out[family] = old_class(kept, full.schools)
    return out


def _held_at_source_point(geocoder, table: pd.DataFrame) -> pd.Series:
    """Whether the gazetteer holds each row's name at its source's point (not as an outlier)."""
    places = {(p.comuna, n): p for p in geocoder.places for n in p.names}
    held = []
    for row in table.itertuples():
        place = places.get((normalize_text(row.comuna), normalize_text(row.name)))
        held.append(place is not None and row.truth_ref not in place.outliers)
    return pd.Series(held, index=table.index)


# -- main --------------------------------------------------------------------------
def _locator(geocoders: dict, config: str):
    def locate(row):
        geocoder = geocoders["completo" if config == "completo" else row.truth_family]
        return geocoder.locate(row.address, row.sector, row.comuna, int(row.rbd))

    return locate


def _synthetic_rows(geocoder, territory) -> list[tuple]:
    from layers.intake import match_headers
    from layers.intake import read_table
    from layers.intake import validate
    from layers.synthetic import generate_caseload
    from layers.synthetic import monthly_file

    today = dt.date(2026, 11, 2)
    caseload = generate_caseload(territory, geocoder, seed=1, today=today)
    data = monthly_file(caseload, "2026-08", 0)
    table = read_table(data, "x.csv")
    schools = {int(r): {} for r in territory.schools["rbd"]}
    records = validate(table, match_headers(table.headers), known_rbds=schools,
                       today=today).records  # fmt: skip
    return [(r["address"], r["sector"], r["comuna"], r["rbd"]) for r in records]


def _geocoders(territory) -> dict[str, Geocoder]:
    """The new geocoder on the whole gazetteer, and one without each truth family."""
    start = time.perf_counter()
    new = {"completo": Geocoder.from_territory(territory)}
    build_s = time.perf_counter() - start
    for family in TRUTH_FAMILIES:
        gazetteer = build_gazetteer(territory, exclude=[family])
        new[family] = Geocoder.from_territory(territory, gazetteer=gazetteer)
    print(f"nomenclátor nuevo: {len(new['completo'].places)} lugares en {build_s:.2f} s")
    return new


def _label_report(results: dict) -> None:
    """Per-label tables on the «validación» half (and the whole set), and the 90 % goals."""
    print("\npor etiqueta de confianza (filas con punto verdadero; error en km)")
    for (label, config), result in results.items():
        held_out = result[result["half"] == "validación"]
        by_label(held_out, f"{label} — {config} — mitad «validación» ({len(held_out)} filas)")
        by_label(result, f"{label} — {config} — conjunto entero ({len(result)} filas, "
                         "incluye la mitad de ajuste)")  # fmt: skip
    print("\nmetas (mitad «validación»): «alta» a ≤ 1 km y «media» a ≤ 5 km al menos 9 de 10")
    for (label, config), result in results.items():
        goals = label_goals(result[result["half"] == "validación"], config)
        print(f"  {label:13s} {config:9s} {_goal_text(goals)}")
    print(
        "  (un punto WOF es aproximado, en su mayoría de GeoNames: mediana 0,75 km de la posta "
        "del mismo nombre, data/chiloe/PROVENANCE.md; «a ≤ 1 km» de él mide también su error)"
    )


def _goals(results: dict) -> None:
    print("\nmeta: nombres presentes en el nomenclátor, ubicados a ≤ 2 km en las formas "
          f"{', '.join(GOAL_FORMS)} (≥ 95 %)")  # fmt: skip
    for (label, config), result in results.items():
        km = result[result["form"] == "km_hacia"]
        print(
            f"  {label:13s} {config:9s} {goal(result):6.1%} (n={int(result['present'].sum()):4d})"
            f"   seguros y equivocados: {confidently_wrong(result)}"
            f"   «Km N camino a X» en alta: {(km['confidence'] == 'alta').sum()} de {len(km)}"
        )
        print("      por forma: " + "  ".join(f"{f} {goal(result, (f,)):.1%}" for f in GOAL_FORMS))
    conflicted = results[("nuevo", "completo")]
    conflicted = conflicted[conflicted["form"].isin(GOAL_FORMS) & ~conflicted["present"]]
    print(
        f"  filas cuyo punto es el de una fuente en conflicto (> 2 km de las demás): "
        f"{len(conflicted)}; a ≤ 2 km: {_share(conflicted['error_km'] <= 2).strip()}; "
        f"confianza {conflicted['confidence'].value_counts().to_dict()}"
    )


def _speed(new: dict, old_geocoders: dict | None, territory, table: pd.DataFrame) -> None:
    rows = _synthetic_rows(new["completo"], territory)
    labelled = [(r.address, r.sector, r.comuna, int(r.rbd)) for r in table.itertuples()]
    print("\nvelocidad (tiempo de CPU, mejor de 5, corridas intercaladas, sin memoria previa)")
    for label, addresses in (("sintéticas", rows), ("etiquetadas", labelled)):
        locators = {"nuevo": new["completo"].locate}
        if old_geocoders is not None:
            locators["base"] = old_geocoders["completo"].locate
        found = rates(locators, addresses)
        line = f"  {label:12s} {len(addresses):6d} direcciones: nuevo {found['nuevo']:9,.0f}/s"
        if "base" in found:
            line += (f"   base {found['base']:9,.0f}/s   razón "
                     f"{found['nuevo'] / found['base']:4.2f}x")  # fmt: skip
        print(line)
    _import_path(new["completo"], rows)


def _import_path(geocoder: Geocoder, rows: list[tuple], repeat: int = 5) -> None:
    """The import path: `locate` row by row vs `locate_many` (one answer per distinct reading).

    Same rows, same geocoder, every run cold (memoised lookups forgotten), runs
    interleaved, best of `repeat` in CPU seconds. Checks the answers are the same.
    """
    distinct = len({(a, s, c) for a, s, c, _ in rows})
    best = {"fila por fila": np.inf, "caché por lectura": np.inf}
    for _ in range(repeat):
        for label in best:
            geocoder.clear_caches()
            start = time.process_time()
            if label == "fila por fila":
                one_by_one = [geocoder.locate(*row) for row in rows]
            else:
                many = geocoder.locate_many(rows)
            best[label] = min(best[label], time.process_time() - start)
    same = one_by_one == many
    print(f"  ruta de importación, {len(rows)} filas ({distinct} lecturas distintas de dirección):")
    for label, seconds in best.items():
        print(f"    {label:18s} {len(rows) / seconds:9,.0f}/s")
    ratio = best["fila por fila"] / best["caché por lectura"]
    print(f"    razón {ratio:4.2f}x; mismas respuestas: {'sí' if same else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="rewrite the labelled set")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--base",
        default=BASELINE_COMMIT,
        help=f"commit of the baseline geocoder (default {BASELINE_COMMIT})",
    )
    args = parser.parse_args()
    territory = load_territory()
    if args.regenerate or not LABELS.is_file():
        rows = labelled_rows(territory)
        write_labels(rows)
        print(f"conjunto etiquetado escrito: {LABELS.relative_to(ROOT)} ({len(rows)} filas)")
    table = read_labels()
    families = ", ".join(f"{k} {v}" for k, v in table["truth_family"].value_counts().items())
    print(f"conjunto etiquetado: {len(table)} direcciones sintéticas sobre "
          f"{table['truth_ref'].nunique()} registros de lugares reales ({families})")  # fmt: skip
    table["half"] = halves(table)
    sizes = table.groupby("half").agg(filas=("id", "size"), registros=("truth_ref", "nunique"))
    print("mitades (por lugar: comuna + nombre sin palabras comunes, SHA-1, paridad): "
          + "; ".join(f"{h} {r.filas} filas, {r.registros} registros"
                      for h, r in sizes.iterrows()))  # fmt: skip
    new = _geocoders(territory)
    old = None if args.skip_baseline else load_baseline(args.base)
    old_geocoders = baseline_geocoders(old, territory) if old is not None else None
    base_label = f"base {args.base}"
    check_agreement(new, table[table["half"] == "ajuste"])
    results = {}
    for label, geocoders in ((base_label, old_geocoders), ("nuevo", new)):
        if geocoders is None:
            continue
        for config in ("completo", "retenido"):
            result = evaluate(_locator(geocoders, config), table)
            if config == "completo":
                result["present"] = _held_at_source_point(new["completo"], result)
            else:
                result["present"] = result["other_sources"] > 0
            results[(label, config)] = result
            summary(result, f"{label} — {config}")
    calibration(results[("nuevo", "retenido")])
    _label_report(results)
    _goals(results)
    _speed(new, old_geocoders, territory, table)


if __name__ == "__main__":
    main()
