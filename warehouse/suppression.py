"""Disclosure protection for published tables: small cells, the cells that would reveal them, rates, medians.

The rule (domain file, "Disclosure protection"): a published number that rests on fewer than
``threshold`` individuals (policy, default 10) is suppressed and shown as ``**``, and so is every
cell that would let a reader recover it from the published totals; medians need the same number of
values. The domain file says nothing about zero, and a zero reveals no one, so zeros are published
unless ``suppress_zero``.

Count tables (`suppress_counts`) are long frames, one row per cell: dimension columns plus a count;
a dimension value ``ALL`` (or ``TOTAL``) marks a margin. An *additive group* is a published total
and the cells that sum to it along one dimension (a row, a column, one level of a hierarchy).

1. **Primary**: every cell, margins included, with ``0 < n < threshold`` (``0 <= n`` with
   ``suppress_zero``). A total below the threshold is suppressed like any cell, and then counts as
   a suppressed cell of the group it belongs to as a member (a row total in the column of totals).
2. **Complementary**, the standard heuristic "every additive group has none or at least two
   suppressed cells": while some group has exactly one, suppress one more of its cells: the
   smallest non-zero published one, interior cells before margins (the grand total last), ties
   broken by the cells' keys.
   Groups are swept in a fixed order (by their total's key, then dimension) until a sweep changes
   nothing, so a complement that leaves a column with a single suppressed cell is caught next sweep.
3. **Exact audit**: two per group is not enough in general (two protected blocks joined by one
   suppressed cell let a reader solve for that cell by adding and subtracting whole rows and
   columns). A suppressed cell is recoverable exactly when its unit vector lies in the row space of
   the published equations restricted to the suppressed cells; for the first such cell the
   smallest published cell sharing a group with it is suppressed too, and step 2 resumes.

This is a heuristic, not the optimal (least information lost) linear-programming cell suppression of
tau-Argus and the like: it may suppress more than needed, it guarantees only that no suppressed cell
can be *computed exactly* from the published numbers of one call, and it does not enforce protection
intervals (a reader still learns bounds such as "at most 15"). A zero is used as a complement only
when a group has no other published cell. Numbers published by other tables are not seen here.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

SUPPRESSED: Final = "**"
DEFAULT_THRESHOLD: Final = 10
TOTAL_MARKERS: Final = ("ALL", "TOTAL")
FLAG_COL: Final = "suppressed"
REASON_COL: Final = "suppression"  # "primary" / "complementary" / None: restricted, never published
MEDIAN_INDICATORS: Final = ("MEDIAN_EARNINGS_Q2",)

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Group:
    """One published equation: cells[total] == sum(cells[members]).

    Public for tables whose equations span more than one frame (co-enrollment: a program's
    participants are the sum of the combinations holding it); `protect` takes a list of them."""

    total: int
    members: tuple[int, ...]


@dataclass(frozen=True)
class SuppressedTable:
    """`cells` keeps the true counts and why each was suppressed (restricted); `published` may leave.

    The reason must not be published: it tells a reader which of the suppressed cells is the small one.
    """

    cells: pd.DataFrame
    value_col: str
    threshold: int
    total_markers: tuple[Hashable, ...] = TOTAL_MARKERS

    @property
    def suppressed(self) -> pd.Series:
        return self.cells[FLAG_COL]

    @property
    def published(self) -> pd.DataFrame:
        """The input columns with the count as an int or ``**``, plus the `suppressed` flag."""
        out = self.cells.drop(columns=[REASON_COL])
        out[self.value_col] = mark_suppressed(out[self.value_col].astype("int64"), out[FLAG_COL])
        return out

    def wide(self, index: str, columns: str) -> pd.DataFrame:
        """A report pivot of `published` (one dimension down, one across), margins last.

        The other dimensions must be fixed first (filter `published` or call on one slice).
        """
        pub = self.published
        out = pub.pivot(index=index, columns=columns, values=self.value_col)
        return out.reindex(index=self._ordered(pub[index]), columns=self._ordered(pub[columns]))

    def _ordered(self, values: pd.Series) -> list[Hashable]:
        seen = list(pd.unique(values))
        return [v for v in seen if v not in self.total_markers] + [v for v in seen if v in self.total_markers]


def mark_suppressed(values: pd.Series, suppressed: pd.Series | BoolArray) -> pd.Series:
    """What a report prints: the value, or ``**`` where suppressed (an object column)."""
    out = values.astype(object).copy()
    out[np.asarray(suppressed, dtype=bool)] = SUPPRESSED
    return out


def suppress_counts(
    table: pd.DataFrame,
    *,
    dims: Sequence[str],
    value_col: str = "count",
    by: Sequence[str] = (),
    stacked: tuple[str, str] | None = None,
    hierarchy: Mapping[str, Mapping[Any, Any]] | None = None,
    total_markers: Collection[Hashable] = TOTAL_MARKERS,
    threshold: int = DEFAULT_THRESHOLD,
    suppress_zero: bool = False,
) -> SuppressedTable:
    """Primary and complementary suppression of a long count table with its margins.

    - `dims`: the table's dimensions; in each, the value in `total_markers` (at most one per
      dimension) is the margin, and a dimension without one adds up to nothing published. A margin
      that is not the sum of its parts (participants unduplicated across programs, race with
      several races per person) must not carry a total marker.
    - `by`: columns that split the frame into independent tables (program year, report).
    - `stacked`: ``(breakdown_col, category_dim)`` when several breakdowns (SEX, AGE, ...) of the
      same table are stacked: their margins (category at a total marker) are the same published
      numbers, so they are suppressed together and must agree.
    - `hierarchy`: per dimension, child -> parent for subtotals (parents' parent defaults to the
      total); values not listed roll up to the total.
    """
    dims, by = list(dims), list(by)
    markers = tuple(total_markers)
    _validate(table, dims, value_col, by, stacked)
    values = table[value_col].to_numpy(dtype=np.int64)
    suppressed = np.zeros(len(table), dtype=bool)
    primary = np.zeros(len(table), dtype=bool)
    parts = table.groupby(by, sort=False, dropna=False).indices.values() if by else [range(len(table))]
    for part in parts:
        idx = np.asarray(part, dtype=np.int64)
        groups, links, rank = _structure(table.iloc[idx], dims, stacked, hierarchy or {}, markers)
        sub_values = values[idx]
        for cls in links:
            if len(set(sub_values[cls].tolist())) > 1:
                shown = table.iloc[idx[cls]].to_dict("records")
                raise ValueError(f"stacked breakdowns disagree on a shared margin: {shown}")
        primary[idx] = _small(sub_values, threshold, suppress_zero)
        suppressed[idx] = protect(sub_values, primary[idx], groups, links, rank)
    reason = np.full(len(table), None, dtype=object)
    reason[suppressed] = "complementary"
    reason[primary] = "primary"
    cells = table.copy()
    cells[FLAG_COL] = suppressed
    cells[REASON_COL] = reason
    return SuppressedTable(cells=cells, value_col=value_col, threshold=threshold, total_markers=markers)


def rate_suppressed(
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    protect_numerator: bool = False,
    suppress_zero: bool = False,
) -> BoolArray:
    """A rate rests on its denominator's individuals: suppress it when that is below the threshold.

    The domain file names only the cohort size; `protect_numerator` also suppresses a rate whose
    numerator, or denominator minus numerator, is small (with the denominator published, the rate
    gives both away). A zero denominator has no rate to withhold: flagged only with `suppress_zero`.
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = _small(den, threshold, suppress_zero)
    if protect_numerator:
        out |= _small(num, threshold, suppress_zero) | _small(den - num, threshold, suppress_zero)
    return out


def median_suppressed(
    n_values: npt.ArrayLike, *, threshold: int = DEFAULT_THRESHOLD, suppress_zero: bool = False
) -> BoolArray:
    """A median is published only when computed from at least `threshold` values.

    The domain file says "above the same threshold"; the same threshold means a cell of n values
    is published when n >= threshold, so a median is too. With no values there is no median to
    withhold (flagged only with `suppress_zero`, as for counts).
    """
    return _small(np.asarray(n_values, dtype=float), threshold, suppress_zero)


def suppress_indicators(
    indicators: pd.DataFrame,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    median_indicators: Collection[str] = MEDIAN_INDICATORS,
    median_n_col: str = "denominator",
    protect_numerator: bool = False,
    suppress_zero: bool = False,
) -> pd.DataFrame:
    """Set `suppressed` on rows shaped like the `indicators` table (indicator, numerator, denominator).

    Rates follow `rate_suppressed`; medians follow `median_suppressed` on `median_n_col`, the column
    that holds how many values the median was computed from.
    """
    out = indicators.copy()
    is_median = out["indicator"].isin(list(median_indicators)).to_numpy()
    rate = rate_suppressed(
        out["numerator"],
        out["denominator"],
        threshold=threshold,
        protect_numerator=protect_numerator,
        suppress_zero=suppress_zero,
    )
    median = median_suppressed(out[median_n_col], threshold=threshold, suppress_zero=suppress_zero)
    out[FLAG_COL] = np.where(is_median, median, rate)
    return out


# --------------------------------------------------------------------------- internals


def _small(n: npt.NDArray[Any], threshold: int, suppress_zero: bool) -> BoolArray:
    """Below the threshold; zero only when asked. NaN (no data) is never small."""
    return np.asarray((n < threshold) & ((n > 0) | (suppress_zero & (n == 0))), dtype=np.bool_)


def _validate(
    table: pd.DataFrame, dims: list[str], value_col: str, by: list[str], stacked: tuple[str, str] | None
) -> None:
    if not dims:
        raise ValueError("dims must name at least one dimension")
    keys = by + ([stacked[0]] if stacked else []) + dims
    missing = [c for c in [*keys, value_col] if c not in table.columns]
    if missing:
        raise ValueError(f"columns missing from the table: {missing}")
    if stacked and (stacked[1] not in dims or stacked[0] in dims or stacked[0] in by):
        raise ValueError("stacked is (breakdown column, one of dims); the breakdown is not a dim or by")
    if table[keys].isna().any().any():
        raise ValueError("dimension values must not be null")
    if table.duplicated(keys).any():
        raise ValueError(f"more than one row per cell ({keys})")
    counts = table[value_col]
    if not pd.api.types.is_numeric_dtype(counts) or counts.isna().any():
        raise ValueError(f"{value_col} must be numeric with no nulls")
    if (counts < 0).any() or (counts % 1 != 0).any():
        raise ValueError(f"{value_col} must hold non-negative whole counts")


def _structure(
    sub: pd.DataFrame,
    dims: list[str],
    stacked: tuple[str, str] | None,
    hierarchy: Mapping[str, Mapping[Any, Any]],
    markers: tuple[Hashable, ...],
) -> tuple[list[Group], list[list[int]], npt.NDArray[np.int64]]:
    """The additive groups, the linked margins of stacked breakdowns, and a tie-break rank.

    Everything is keyed by cell values, not row order, so a shuffled input gives the same result.
    """
    part_of: list[Hashable] = sub[stacked[0]].tolist() if stacked else [None] * len(sub)
    keys: list[tuple[Hashable, ...]] = list(zip(*(sub[d].tolist() for d in dims), strict=True))
    index = {(p, k): i for i, (p, k) in enumerate(zip(part_of, keys, strict=True))}
    roots: dict[tuple[Hashable, int], Hashable] = {}
    for p in dict.fromkeys(part_of):
        for di, dim in enumerate(dims):
            present = {k[di] for q, k in zip(part_of, keys, strict=True) if q == p}
            found = [m for m in markers if m in present]
            if len(found) > 1:
                raise ValueError(f"{dim} has more than one total marker: {found}")
            if found:
                roots[(p, di)] = found[0]

    members: dict[tuple[int, int], list[int]] = {}
    for i, (p, k) in enumerate(zip(part_of, keys, strict=True)):
        for di, dim in enumerate(dims):
            v, root = k[di], roots.get((p, di))
            if v in hierarchy.get(dim, {}):
                parent = hierarchy[dim][v]
            elif root is None or v == root:
                continue
            else:
                parent = root
            t = index.get((p, (*k[:di], parent, *k[di + 1 :])))
            if t is not None:
                members.setdefault((t, di), []).append(i)

    order = sorted(range(len(sub)), key=lambda i: (str(part_of[i]), tuple(str(v) for v in keys[i])))
    rank = np.empty(len(sub), dtype=np.int64)
    rank[order] = np.arange(len(sub))
    groups = [
        Group(total=t, members=tuple(sorted(m, key=lambda i: rank[i])))
        for (t, _), m in sorted(members.items(), key=lambda item: (rank[item[0][0]], item[0][1]))
    ]

    links: list[list[int]] = []
    if stacked:
        ci = dims.index(stacked[1])
        shared: dict[tuple[Hashable, ...], list[int]] = {}
        for i, k in enumerate(keys):
            if k[ci] in markers:
                shared.setdefault((*k[:ci], *k[ci + 1 :]), []).append(i)
        links = [sorted(c, key=lambda i: rank[i]) for c in shared.values() if len(c) > 1]
    return groups, links, rank


def protect(
    values: npt.NDArray[np.int64],
    primary: BoolArray,
    groups: list[Group],
    links: list[list[int]],
    rank: npt.NDArray[np.int64],
) -> BoolArray:
    """Complementary suppression (sweeps) then the exact audit, until no suppressed cell is recoverable.

    `values` are the cells, `primary` the cells suppressed for being small, `groups` the published
    equations, `links` classes of cells that are the same published number, `rank` the tie-break.
    """
    suppressed = primary.copy()
    total_of = np.zeros(len(values), dtype=np.int64)
    for g in groups:
        total_of[g.total] += 1
    linked = {i: cls for cls in links for i in cls}
    for cls in links:  # one copy suppressed means all are
        if suppressed[cls].any():
            suppressed[cls] = True

    def pick(candidates: Sequence[int]) -> int | None:
        """Smallest non-zero published cell, interior before totals, then by key."""
        open_ = [int(c) for c in candidates if not suppressed[c]]
        if not open_:
            return None
        return min(open_, key=lambda c: (values[c] == 0, total_of[c], values[c], rank[c]))

    def suppress(c: int) -> None:
        suppressed[linked.get(c, [c])] = True

    while True:
        changed = True
        while changed:
            changed = False
            for g in groups:
                cells = (*g.members, g.total)
                if int(suppressed[list(cells)].sum()) == 1:
                    choice = pick(cells)
                    if choice is not None:
                        suppress(choice)
                        changed = True
        exposed = np.flatnonzero(_recoverable(len(values), groups, links, suppressed))
        if exposed.size == 0:
            return suppressed
        j = int(min(exposed, key=lambda c: rank[c]))
        near = [c for g in groups if j == g.total or j in g.members for c in (*g.members, g.total)]
        choice = pick(near)
        if choice is None:
            choice = pick(range(len(values)))
        if choice is None:  # everything is suppressed: nothing left to publish or to recover
            return suppressed
        suppress(choice)


def _recoverable(n: int, groups: list[Group], links: list[list[int]], suppressed: BoolArray) -> BoolArray:
    """Suppressed cells that the published equations determine exactly.

    With the published cells moved to the right-hand side, the system A x = b over the suppressed
    cells fixes x_j exactly when every vector of A's null space is zero at j.
    """
    unknown = np.flatnonzero(suppressed)
    out = np.zeros(n, dtype=bool)
    if unknown.size == 0:
        return out
    col = {int(c): k for k, c in enumerate(unknown)}
    rows: list[npt.NDArray[np.float64]] = []
    equations = [(g.members, (g.total,)) for g in groups]
    equations += [((a,), (b,)) for cls in links for a, b in pairwise(cls)]
    for plus, minus in equations:
        row = np.zeros(unknown.size)
        for c in plus:
            if suppressed[c]:
                row[col[c]] += 1.0
        for c in minus:
            if suppressed[c]:
                row[col[c]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return out
    a = np.vstack(rows)
    _, s, vt = np.linalg.svd(a)
    rank = int((s > max(a.shape) * np.finfo(float).eps * s.max()).sum())
    null = vt[rank:]
    out[unknown] = np.all(np.abs(null) < 1e-9, axis=0)
    return out
