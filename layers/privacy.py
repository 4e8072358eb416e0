"""Small-count suppression, with complementary suppression, for the tables a mesa receives.

Every count from 1 to ``k - 1`` (k = 10 by default, as CMS, CDC WONDER and
Washington DOH do for counts of people; see ``docs/COVERAGE.md``) is
suppressed (*primary*), and further cells are suppressed (*complementary*)
until no suppressed cell can be narrowed by an attacker who knows every
published figure: for each suppressed cell the feasible interval of its value,
bounded by linear programming over all the linked tables at once (HiGHS through
`highspy`, one model per protection, warm-started from LP to LP), must be at
least `protection` wide (default k).

The tables are linked as a mesa receives them: for each *layer* (a service
type, or the before/after of a what-if) a comuna × band table and an island ×
band table, each with row totals, band totals and a grand total; the band totals
and the grand total are the same cells in both tables, and the totals by comuna,
by island and overall do not depend on the layer (each origin is counted once
per layer), so they are suppressed alike in every layer. Primary and
complementary cells look the same (`SUPPRESSED`). A hidden zero needs no protection
(zeros are published wherever they are not hidden and name no one).

A mesa keeps every table it is given, so patterns must agree between runs: the
totals are protected first from the totals alone (they are the same for every
service type and every what-if of the same origins), then each layer in turn
with the earlier ones fixed and the later ones unseen. The first layer of a
what-if («antes») thus gets exactly the pattern of the run without it, and a
run of another service type the same totals pattern. Percentages are published only
for a published count over a published denominator of at least k; a what-if
difference only between two published counts.

No well-kept Python library covers this: `sdcMicro` and `sdcTable` are R;
on PyPI, `pytauargus` 0.6 (Tau-Argus with HiGHS, released October 2026, beta) runs
one engine per process through work files and rejects the linked-table methods;
`acro` checks research outputs (primary thresholds only).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["DEFAULT_K", "SUPPRESSED", "TOTAL", "Protected", "protect", "publish_percentages"]

DEFAULT_K = 10
SUPPRESSED = "*"  # shown for every suppressed cell, primary or complementary
TOTAL = "Total"
TABLES = (("comuna", "comuna_name"), ("isla", "island_name"))
MAX_TRIES = 12  # candidates tried (two LPs each) before taking the first preferred one


@dataclass
class Protected:
    """The published tables and which cells were suppressed.

    Attributes
    ----------
    tables
        ``{(layer, table): DataFrame}``: rows are the comunas or islands plus
        `TOTAL`, columns the bands plus `TOTAL`; values are exact counts (for
        staff) — use `Protected.shown` for what a mesa receives.
    suppressed
        Same keys: boolean DataFrames, True where the cell is suppressed.
    k
        The threshold used.
    """

    tables: dict[tuple[str, str], pd.DataFrame]
    suppressed: dict[tuple[str, str], pd.DataFrame]
    k: int

    def shown(self, layer: str, table: str) -> pd.DataFrame:
        """Return the table as published: counts as text, `SUPPRESSED` where hidden."""
        values = self.tables[(layer, table)].astype(int).astype(str)
        return values.mask(self.suppressed[(layer, table)], SUPPRESSED)


class _Cells:
    """Every published cell as a 0/1 row over the microcells (layer, comuna, island, band)."""

    def __init__(self, micro: pd.DataFrame, value: str, bands: list[str]) -> None:  # noqa: C901
        self.layers = list(dict.fromkeys(micro["layer"]))
        pairs = micro[["comuna_name", "island_name"]].drop_duplicates()
        self.pairs = list(pairs.itertuples(index=False, name=None))
        self.bands = bands
        index = {
            (layer, c, i, b): n
            for n, (layer, (c, i), b) in enumerate(
                (layer, pair, b) for layer in self.layers for pair in self.pairs for b in bands
            )
        }
        self.n_vars = len(index)
        self.truth = np.zeros(self.n_vars)
        for row in micro.itertuples(index=False):
            key = (row.layer, row.comuna_name, row.island_name, row.band)
            self.truth[index[key]] += getattr(row, value)
        self.keys: list[tuple] = []  # (layer or "", table, row label, band or TOTAL)
        self.members: list[list[int]] = []
        seen: dict[tuple, int] = {}
        for layer in self.layers:
            for table, column in TABLES:
                position = 0 if column == "comuna_name" else 1
                labels = sorted({p[position] for p in self.pairs})
                for label in [*labels, TOTAL]:
                    for band in [*bands, TOTAL]:
                        members = [
                            index[(layer, *pair, b)]
                            for pair in self.pairs
                            if label in (TOTAL, pair[position])
                            for b in (bands if band == TOTAL else [band])
                        ]
                        # totals over bands do not depend on the layer; band totals are shared
                        shared_layer = "" if band == TOTAL else layer
                        shared_table = "" if label == TOTAL else table
                        key = (shared_layer, shared_table, label, band)
                        if band == TOTAL and label != TOTAL:
                            key = ("", table, label, TOTAL)
                        if key not in seen:
                            seen[key] = len(self.keys)
                            self.keys.append(key)
                            self.members.append(members)
        self.matrix = sp.csr_matrix(
            (
                np.ones(sum(len(m) for m in self.members)),
                (
                    np.repeat(np.arange(len(self.members)), [len(m) for m in self.members]),
                    np.concatenate(self.members).astype(int),
                ),
            ),
            shape=(len(self.members), self.n_vars),
        )
        self.values = self.matrix @ self.truth
        # each origin is counted once per layer: per (comuna, island) the layers agree
        links = []
        first = self.layers[0]
        for layer in self.layers[1:]:
            for pair in self.pairs:
                row = np.zeros(self.n_vars)
                row[[index[(layer, *pair, b)] for b in bands]] = 1
                row[[index[(first, *pair, b)] for b in bands]] = -1
                links.append(row)
        self.links = sp.csr_matrix(np.array(links)) if links else None
        if self.links is not None and np.abs(self.links @ self.truth).max() > 0:
            msg = (
                "Las capas no cuentan los mismos orígenes (el total por comuna e isla difiere "
                "entre capas); cada origen debe contarse una vez en cada capa."
            )
            raise ValueError(msg)
        self._solver: _Solver | None = None

    def interval(self, cell: int, hidden: np.ndarray) -> tuple[float, float]:
        """Feasible [min, max] of `cell` given every published cell (X >= 0)."""
        if self._solver is None:
            self._solver = _Solver(self)
        return self._solver.interval(cell, hidden)


class _Solver:
    """One HiGHS model of the attacker's problem, kept between the many interval LPs.

    Rows are every cell of `_Cells.matrix` (fixed to its value while published,
    free while hidden) and the layer links (fixed to 0). Hiding or publishing a
    cell only changes its row's bounds, and each LP starts from the previous
    optimal basis (HiGHS warm start), instead of building and presolving a new
    LP through `scipy.optimize.linprog` for each of the thousands of bounds a
    protection needs. The optimal values are those of the same LPs: results are
    unchanged.
    """

    def __init__(self, cells: _Cells) -> None:
        self.highs = highspy._Highs()  # the plain solver: no callbacks, no banner
        self.highs.setOptionValue("output_flag", False)  # before anything else: silent
        # a new objective or a freed row leaves the last basis primal feasible: primal
        # simplex goes on from it (no presolve, which would discard it)
        self.highs.setOptionValue("presolve", "off")
        self.highs.setOptionValue("simplex_strategy", 4)  # primal
        n_vars = cells.n_vars
        self.highs.addVars(n_vars, np.zeros(n_vars), np.full(n_vars, highspy.kHighsInf))
        rows = cells.matrix
        if cells.links is not None:
            rows = sp.vstack([rows, cells.links])
        rows = sp.csr_matrix(rows)
        self.n_cells = cells.matrix.shape[0]
        self.values = cells.values
        lower = np.concatenate([self.values, np.zeros(rows.shape[0] - self.n_cells)])
        self.highs.addRows(
            rows.shape[0],
            lower,
            lower.copy(),
            rows.nnz,
            rows.indptr[:-1].astype(np.int32),
            rows.indices.astype(np.int32),
            rows.data.astype(np.float64),
        )
        self.hidden = np.zeros(self.n_cells, dtype=bool)  # rows currently free
        cell_rows = sp.csr_matrix(cells.matrix)
        starts, columns = cell_rows.indptr, cell_rows.indices.astype(np.int32)
        self.costs = [
            (columns[starts[n] : starts[n + 1]], cell_rows.data[starts[n] : starts[n + 1]])
            for n in range(self.n_cells)
        ]
        self.objective = np.zeros(0, dtype=np.int32)  # columns of the current objective

    def interval(self, cell: int, hidden: np.ndarray) -> tuple[float, float]:
        changed = np.flatnonzero(hidden != self.hidden).astype(np.int32)
        if len(changed):
            free = hidden[changed]
            lower = np.where(free, -highspy.kHighsInf, self.values[changed])
            upper = np.where(free, highspy.kHighsInf, self.values[changed])
            self.highs.changeRowsBounds(len(changed), changed, lower, upper)
            self.hidden = hidden.copy()
        columns, ones = self.costs[cell]
        bounds = []
        old = self.objective
        self.highs.changeColsCost(len(old), old, np.zeros(len(old)))
        self.objective = columns
        for sign in (1.0, -1.0):
            self.highs.changeColsCost(len(columns), columns, sign * ones)
            self.highs.run()
            status = self.highs.getModelStatus()
            if status == highspy.HighsModelStatus.kOptimal:
                bounds.append(sign * self.highs.getObjectiveValue())
            elif status in _UNBOUNDED:  # feasible (the truth is a solution): unbounded
                bounds.append(-np.inf * sign)
            else:
                msg = f"LP: {self.highs.modelStatusToString(status)}"
                raise RuntimeError(msg)
        return bounds[0], bounds[1]


_UNBOUNDED = (
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
)


def protect(
    micro: pd.DataFrame,
    *,
    value: str = "cases",
    bands: list[str],
    k: int = DEFAULT_K,
    protection: float | None = None,
) -> Protected:
    """Suppress small counts and enough other cells that none can be narrowed.

    Parameters
    ----------
    micro
        Counts with columns ``layer, comuna_name, island_name, band`` and
        `value` (e.g. `layers.coverage.band_counts` with a ``layer`` column:
        the service type, or "antes"/"después").
    value
        The count to publish (``cases``, ``enrolment`` or ``population``).
    bands
        Band labels in order (`layers.coverage.band_labels`).
    k
        Counts from 1 to ``k - 1`` are suppressed.
    protection
        Minimum width of the feasible interval of every suppressed cell
        (default `k`).

    Returns
    -------
    Protected
    """
    protection = float(k if protection is None else protection)
    cells = _Cells(micro, value, bands)
    primary = (cells.values >= 1) & (cells.values < k)
    aliases = _aliases(cells)
    hidden = primary.copy()
    # a small count must be wide; a complementary cell only must not come out exactly; a
    # hidden zero needs nothing (zeros are published wherever they are not hidden, and a
    # zero in a row whose published total is 0 cannot be widened: insisting hid everything)
    needed = np.where(primary, protection, np.where(cells.values > 0, 1.0, 0.0))
    layer_of = np.array([key[0] for key in cells.keys], dtype=object)
    shared = layer_of == ""
    # 1. the totals (the same in every layer, every service type and every what-if of these
    #    origins) get their pattern from the totals alone, audited as if no layer were published
    _complete(cells, hidden, needed, aliases, k, free=shared, unpublished=~shared)
    # 2. then each layer in turn, its totals and the earlier layers fixed, the later ones unseen:
    #    the first layer's pattern is the one the run without the what-if publishes
    for n, layer in enumerate(cells.layers):
        later = np.isin(layer_of, cells.layers[n + 1 :])
        _complete(cells, hidden, needed, aliases, k, free=layer_of == layer, unpublished=later)
    return _tables(cells, hidden, k)


def _complete(
    cells: _Cells,
    hidden: np.ndarray,
    needed: np.ndarray,
    aliases: list[np.ndarray],
    k: int,
    *,
    free: np.ndarray,
    unpublished: np.ndarray,
) -> None:
    """Hide cells among `free` until every hidden cell outside `unpublished` is wide enough.

    The attacker is assumed to know every cell that is neither hidden nor
    `unpublished`. Changes `hidden` in place. Always succeeds: hiding every
    `free` cell gives back the intervals of the previous stage.
    """
    strong = np.zeros(len(cells.keys), dtype=bool)  # audited wide with the current pattern
    while True:
        view = hidden | unpublished
        # one complementary cell at a time, then audit again: a partner added for one
        # weak cell often protects others too (hiding all partners at once over-suppresses)
        weak = None
        for cell in np.flatnonzero(hidden & ~strong & ~unpublished):
            lo, hi = cells.interval(cell, view)
            if hi - lo < needed[cell]:
                weak, weak_width = cell, hi - lo
                break
            strong[cell] = True  # hiding more cells only widens its interval
        if weak is None:
            return
        partner = _partner(cells, weak, view, k, weak_width, allowed=free, enough=needed[weak])
        if partner is None:
            return  # every free cell is hidden: the previous stage's intervals hold
        hidden[aliases[partner]] = True


def _aliases(cells: _Cells) -> list[np.ndarray]:
    """For each cell, every cell adding exactly the same microcells (itself included).

    A comuna made of one island has the same row in the comuna and the island
    table: hiding one copy and publishing the other would reveal it, so copies
    are always hidden together.
    """
    groups: dict[tuple, list[int]] = {}
    for n, members in enumerate(cells.members):
        groups.setdefault(tuple(sorted(members)), []).append(n)
    out = [np.array([n]) for n in range(len(cells.members))]
    for same in groups.values():
        for n in same:
            out[n] = np.array(same)
    return out


def _partner(
    cells: _Cells,
    cell: int,
    hidden: np.ndarray,
    k: int,
    width: float,
    *,
    allowed: np.ndarray,
    enough: float,
) -> int | None:
    """Complementary cell for `cell`, whose feasible interval is now `width` wide.

    Candidates: published cells sharing its row or band in its table, and
    published cells of any table that add some of the same microcells (a comuna's
    cell and the island row that overlaps it). They are tried in order of
    preference — non-zero (a zero hides little), not a total (totals are what a
    mesa needs most), at least `k` (a smaller partner leaves a small count little
    room), smallest — and the first one that alone makes the interval `enough`
    wide is taken, else the one that widens it most (else the first in order);
    ties go to the first key. Only `allowed` cells are candidates.
    """
    layer, table, label, band = cells.keys[cell]
    members = set(cells.members[cell])

    def rank(n: int) -> tuple:
        value = cells.values[n]
        key = cells.keys[n]
        return (value == 0, TOTAL in (key[2], key[3]), value < k, value, n)

    options = []
    for n, (other_layer, other_table, other_label, other_band) in enumerate(cells.keys):
        if hidden[n] or not allowed[n]:
            continue
        same_table = other_table in (table, "") or table == ""
        same_layer = other_layer in (layer, "") or layer == ""
        shares_line = same_table and same_layer and (other_label == label or other_band == band)
        if shares_line or not members.isdisjoint(cells.members[n]):
            options.append(rank(n))
    if not options:  # its row and band are all hidden: any published cell (layers are linked)
        options = [rank(n) for n in range(len(cells.keys)) if not hidden[n] and allowed[n]]
    if not options:
        return None
    options.sort()
    best, best_width = options[0][-1], width
    for option in options[:MAX_TRIES]:
        trial = hidden.copy()
        trial[option[-1]] = True
        lo, hi = cells.interval(cell, trial)
        if hi - lo >= enough:
            return option[-1]  # this one alone protects the cell
        if hi - lo > best_width:
            best, best_width = option[-1], hi - lo
    return best


def _tables(cells: _Cells, hidden: np.ndarray, k: int) -> Protected:
    tables, suppressed = {}, {}
    lookup = {key: n for n, key in enumerate(cells.keys)}
    columns = [*cells.bands, TOTAL]
    for layer in cells.layers:
        for table, column in TABLES:
            position = 0 if column == "comuna_name" else 1
            labels = [*sorted({p[position] for p in cells.pairs}), TOTAL]
            values = np.zeros((len(labels), len(columns)))
            mask = np.zeros_like(values, dtype=bool)
            for r, label in enumerate(labels):
                for c, band in enumerate(columns):
                    n = lookup[_key(layer, table, label, band)]
                    values[r, c] = cells.values[n]
                    mask[r, c] = hidden[n]
            tables[(layer, table)] = pd.DataFrame(values, index=labels, columns=columns)
            suppressed[(layer, table)] = pd.DataFrame(mask, index=labels, columns=columns)
    return Protected(tables, suppressed, k)


def _key(layer: str, table: str, label: str, band: str) -> tuple:
    if band == TOTAL:
        return ("", "" if label == TOTAL else table, label, TOTAL)
    return (layer, "" if label == TOTAL else table, label, band)


def publish_percentages(protected: Protected, layer: str, table: str) -> pd.DataFrame:
    """Percentages by row (share of each band), only where they reveal nothing.

    A percentage is shown (one decimal) when its count is published and its row
    total is published and at least k; otherwise `SUPPRESSED`.
    """
    values = protected.tables[(layer, table)]
    hidden = protected.suppressed[(layer, table)]
    total = values[TOTAL]
    ok_total = ~hidden[TOTAL] & (total >= protected.k)
    shares = values.div(total.where(total > 0), axis=0) * 100
    text = shares.round(1).astype(str)
    show = ~hidden & ok_total.to_numpy()[:, None]
    return text.where(show, SUPPRESSED)
