"""Disclosure protection: hand-worked tables, the rate and median rules, and an attacker.

Every expected suppression pattern below is worked out by hand in the test's comments. The
attacker (`peel`, `solve_linear`) is written here from the published frame and public knowledge
alone (which dimensions add up, the hierarchy, which margins stacked breakdowns share), not from the
module, and is itself checked on tables where it must succeed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from itertools import pairwise, product
from typing import Any

import numpy as np
import pandas as pd
import pytest

from warehouse.suppression import (
    SUPPRESSED,
    median_suppressed,
    rate_suppressed,
    suppress_counts,
    suppress_indicators,
)

Key = tuple[str, ...]
Parents = Mapping[str, Mapping[str, str]]


# --------------------------------------------------------------------------- building tables


def _up(value: str, parents: Mapping[str, str]) -> Iterator[str]:
    """The value, its ancestors, then ALL."""
    yield value
    while value in parents:
        value = parents[value]
        yield value
    if value != "ALL":
        yield "ALL"


def build(leaves: Mapping[Any, int], dims: list[str], parents: Parents | None = None) -> pd.DataFrame:
    """A long table with every margin and subtotal, from the interior (leaf) counts."""
    parents = parents or {}
    cells: dict[Key, int] = defaultdict(int)
    for key, n in leaves.items():
        for combo in product(*(_up(v, parents.get(d, {})) for v, d in zip(key, dims, strict=True))):
            cells[combo] += n
    return pd.DataFrame([(*k, n) for k, n in cells.items()], columns=[*dims, "count"])


def flagged(result_cells: pd.DataFrame, cols: list[str]) -> set[Key]:
    rows = result_cells[result_cells["suppressed"]]
    return {tuple(str(v) for v in r) for r in rows[cols].itertuples(index=False)}


def reasons(result_cells: pd.DataFrame, cols: list[str]) -> dict[Key, str]:
    rows = result_cells[result_cells["suppressed"]]
    return {
        tuple(str(v) for v in r[:-1]): r[-1] for r in rows[[*cols, "suppression"]].itertuples(index=False)
    }


# --------------------------------------------------------------------------- the attacker


def equations(
    keys: list[Key], dims: list[str], parents: Parents | None = None, offset: int = 0
) -> list[tuple[Key, list[Key]]]:
    """(total, parts) for every published total: each non-ALL value adds up to its parent."""
    parents = parents or {}
    present = set(keys)
    parts: dict[Key, list[Key]] = defaultdict(list)
    for key in keys:
        for i, dim in enumerate(dims):
            v = key[offset + i]
            if v == "ALL":
                continue
            total = (*key[: offset + i], parents.get(dim, {}).get(v, "ALL"), *key[offset + i + 1 :])
            if total in present:
                parts[total].append(key)
    # one equation per (total, dimension): regroup the parts by the dimension that varies
    out: list[tuple[Key, list[Key]]] = []
    for total, members in parts.items():
        by_dim: dict[int, list[Key]] = defaultdict(list)
        for m in members:
            (diff,) = [i for i in range(len(m)) if m[i] != total[i]]
            by_dim[diff].append(m)
        out += [(total, ms) for ms in by_dim.values()]
    return out


def stacked_links(keys: list[Key], category_pos: int) -> list[tuple[Key, Key]]:
    """Stacked breakdowns (breakdown first in the key) print the same margin once per breakdown."""
    same: dict[Key, list[Key]] = defaultdict(list)
    for key in keys:
        if key[category_pos] == "ALL":
            same[key[1:category_pos] + key[category_pos + 1 :]].append(key)
    return [(a, b) for ks in same.values() for a, b in pairwise(ks)]


def peel(
    published: Mapping[Key, int | str],
    eqs: list[tuple[Key, list[Key]]],
    links: Sequence[tuple[Key, Key]] = (),
) -> dict[Key, int]:
    """Repeatedly solve any equation with a single unknown; return what was recovered."""
    known = {k: int(v) for k, v in published.items() if v != SUPPRESSED}
    recovered: dict[Key, int] = {}
    changed = True
    while changed:
        changed = False
        for total, parts in eqs:
            unknown = [c for c in [total, *parts] if c not in known]
            if len(unknown) != 1:
                continue
            (u,) = unknown
            if u == total:
                value = sum(known[p] for p in parts)
            else:
                value = known[total] - sum(known[p] for p in parts if p != u)
            known[u] = recovered[u] = value
            changed = True
        for a, b in links:
            if (a in known) != (b in known):
                u, k = (b, a) if a in known else (a, b)
                known[u] = recovered[u] = known[k]
                changed = True
    return recovered


def solve_linear(
    published: Mapping[Key, int | str],
    eqs: list[tuple[Key, list[Key]]],
    links: Sequence[tuple[Key, Key]] = (),
) -> dict[Key, int]:
    """Every suppressed cell the published equations pin down, by rank, with its value."""
    unknown = sorted(k for k, v in published.items() if v == SUPPRESSED)
    if not unknown:
        return {}
    col = {k: j for j, k in enumerate(unknown)}
    rows, rhs = [], []
    signed = [(total, [(p, 1) for p in parts] + [(total, -1)]) for total, parts in eqs]
    signed += [(a, [(a, 1), (b, -1)]) for a, b in links]
    for _, terms in signed:
        row, b = np.zeros(len(unknown)), 0.0
        for cell, sign in terms:
            if cell in col:
                row[col[cell]] += sign
            else:
                b -= sign * int(published[cell])
        if row.any():
            rows.append(row)
            rhs.append(b)
    if not rows:
        return {}
    a = np.vstack(rows)
    base = np.linalg.matrix_rank(a)
    x = np.linalg.lstsq(a, np.array(rhs), rcond=None)[0]
    out = {}
    for k, j in col.items():
        unit = np.zeros(len(unknown))
        unit[j] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == base:
            out[k] = round(x[j])
    return out


def published_of(
    cells: pd.DataFrame, key_cols: list[str], mask: pd.Series | None = None
) -> dict[Key, int | str]:
    """key -> printed value; by default the module's flags, or any mask (to test the attacker)."""
    mask = cells["suppressed"] if mask is None else mask
    return {
        tuple(str(v) for v in key): SUPPRESSED if hidden else int(n)
        for key, n, hidden in zip(cells[key_cols].itertuples(index=False), cells["count"], mask, strict=True)
    }


def assert_safe(cells: pd.DataFrame, dims: list[str], parents: Parents | None = None) -> None:
    published = published_of(cells, dims)
    eqs = equations(list(published), dims, parents)
    assert peel(published, eqs) == {}
    assert solve_linear(published, eqs) == {}


# --------------------------------------------------------------------------- hand-worked tables

SEX = {("F",): 120, ("M",): 95, ("X",): 4, ("U",): 0}  # ALL = 219


def test_one_dimension_complement_is_next_smallest_non_zero() -> None:
    # X = 4 < 10 is primary. Alone in the group "F + M + X + U = ALL" it would be 219 - 120 - 95 - 0,
    # so one more cell goes: the next smallest non-zero interior cell is M = 95 (U = 0 is smaller but a
    # zero protects nothing, and the total 219 comes after interior cells).
    result = suppress_counts(build(SEX, ["sex"]), dims=["sex"])
    assert reasons(result.cells, ["sex"]) == {("X",): "primary", ("M",): "complementary"}
    printed = result.published.set_index("sex")["count"].to_dict()
    assert printed == {"F": 120, "M": SUPPRESSED, "X": SUPPRESSED, "U": 0, "ALL": 219}
    assert "suppression" not in result.published.columns  # the reason would say which one is small
    assert_safe(result.cells, ["sex"])


def test_attacker_recovers_a_lone_suppressed_cell() -> None:
    # With only the primary cell hidden, 219 - 120 - 95 - 0 = 4: the attacker must find it.
    cells = build(SEX, ["sex"])
    published = published_of(cells, ["sex"], mask=cells["count"].between(1, 9))
    eqs = equations(list(published), ["sex"])
    assert peel(published, eqs) == {("X",): 4}
    assert solve_linear(published, eqs) == {("X",): 4}


def test_zero_cells_are_published_unless_asked() -> None:
    # suppress_zero: U = 0 is primary beside X = 4, two unknowns in the group, nothing more to hide.
    result = suppress_counts(build(SEX, ["sex"]), dims=["sex"], suppress_zero=True)
    assert reasons(result.cells, ["sex"]) == {("X",): "primary", ("U",): "primary"}
    assert_safe(result.cells, ["sex"])
    # A table of zeros and large counts has nothing to hide by default.
    result = suppress_counts(build({("F",): 0, ("M",): 30}, ["sex"]), dims=["sex"])
    assert not result.suppressed.any()


def test_small_total_one_dimension() -> None:
    # a = 3, b = 4, c = 0, ALL = 7: a, b and the total are all below 10; the group then has three
    # unknowns (c = 0 is published), so no complement is needed.
    result = suppress_counts(build({("a",): 3, ("b",): 4, ("c",): 0}, ["cat"]), dims=["cat"])
    assert reasons(result.cells, ["cat"]) == {("a",): "primary", ("b",): "primary", ("ALL",): "primary"}
    assert_safe(result.cells, ["cat"])


def test_two_dimensions_iterate_across_both() -> None:
    #        x    y    z  | ALL
    #   A    3   15   40  |  58
    #   B   20   25   22  |  67
    #   C   30   12   18  |  60
    #  ALL  53   52   80  | 185
    # A,x = 3 is primary.            row A  has one -> A,y (15 < 40; the total 58 last)
    # column x has one (A,x) -> B,x (20 < 30);  column y has one (A,y) -> C,y (12 < 25)
    # row B has one (B,x) -> B,z (22 < 25);     row C has one (C,y) -> C,z (18 < 30)
    # column z now has two (B,z, C,z): stable. Every choice is the smallest in both of its groups,
    # so the sweep order does not matter.
    leaves = {
        ("A", "x"): 3, ("A", "y"): 15, ("A", "z"): 40,
        ("B", "x"): 20, ("B", "y"): 25, ("B", "z"): 22,
        ("C", "x"): 30, ("C", "y"): 12, ("C", "z"): 18,
    }  # fmt: skip
    dims = ["program", "sex"]
    result = suppress_counts(build(leaves, dims), dims=dims)
    assert reasons(result.cells, dims) == {
        ("A", "x"): "primary",
        ("A", "y"): "complementary",
        ("B", "x"): "complementary",
        ("C", "y"): "complementary",
        ("B", "z"): "complementary",
        ("C", "z"): "complementary",
    }
    assert_safe(result.cells, dims)
    wide = result.wide("program", "sex")
    assert list(wide.index) == ["A", "B", "C", "ALL"] and list(wide.columns) == ["x", "y", "z", "ALL"]
    assert list(wide.loc["A"]) == [SUPPRESSED, SUPPRESSED, 40, 58]
    assert list(wide.loc["ALL"]) == [53, 52, 80, 185]


def test_small_row_total_is_protected_in_the_column_of_totals() -> None:
    #         s1   s2 | ALL
    #   P1    15   20 |  35
    #   P2    40   45 |  85
    #   P3     2    5 |   7
    #  ALL    57   70 | 127
    # Primary: P3,s1  P3,s2  and the total P3,ALL = 7. Column s1 has one -> P1,s1 (15 < 40); column
    # s2 has one -> P1,s2 (20 < 45); the column of row totals has one (P3,ALL) -> P1,ALL (35 < 85).
    # Row P1 then has three. Whichever comes first, row P1 takes its interior cells before its total
    # and the same cells result.
    leaves = {
        ("P1", "s1"): 15,
        ("P1", "s2"): 20,
        ("P2", "s1"): 40,
        ("P2", "s2"): 45,
        ("P3", "s1"): 2,
        ("P3", "s2"): 5,
    }
    dims = ["program", "sex"]
    result = suppress_counts(build(leaves, dims), dims=dims)
    assert reasons(result.cells, dims) == {
        ("P3", "s1"): "primary",
        ("P3", "s2"): "primary",
        ("P3", "ALL"): "primary",
        ("P1", "s1"): "complementary",
        ("P1", "s2"): "complementary",
        ("P1", "ALL"): "complementary",
    }
    assert_safe(result.cells, dims)


BRIDGE = {  # rows r1..r4 x columns c1..c4; every cell below 10 is primary
    ("r1", "c1"): 2, ("r1", "c2"): 3, ("r1", "c3"): 4, ("r1", "c4"): 50,
    ("r2", "c1"): 5, ("r2", "c2"): 6, ("r2", "c3"): 11, ("r2", "c4"): 60,
    ("r3", "c1"): 70, ("r3", "c2"): 80, ("r3", "c3"): 7, ("r3", "c4"): 8,
    ("r4", "c1"): 90, ("r4", "c2"): 85, ("r4", "c3"): 9, ("r4", "c4"): 1,
}  # fmt: skip


def test_two_per_group_is_not_enough_and_the_audit_catches_it() -> None:
    # The primaries form two protected blocks (r1-r2 x c1-c2, r3-r4 x c3-c4) joined by r1,c3 = 4. Every
    # row and column has at least two suppressed cells, yet rows r1 + r2 minus columns c1 + c2 leave
    # exactly r1,c3. The audit adds the smallest published cell sharing a group with it: r2,c3 = 11
    # (r1,c4 = 50 is larger; the totals come last), which makes a second link between the blocks.
    dims = ["row", "col"]
    cells = build(BRIDGE, dims)
    primary_only = published_of(cells, dims, mask=cells["count"].between(1, 9))
    eqs = equations(list(primary_only), dims)
    assert peel(primary_only, eqs) == {}  # the per-group rule alone sees nothing
    assert solve_linear(primary_only, eqs) == {("r1", "c3"): 4}

    result = suppress_counts(cells, dims=dims)
    expected = {k: "primary" for k, n in BRIDGE.items() if n < 10} | {("r2", "c3"): "complementary"}
    assert reasons(result.cells, dims) == expected
    assert_safe(result.cells, dims)


def test_hierarchy_subtotals_are_groups() -> None:
    # 14-15 = 4 and 16-18 = 30 add up to YOUTH_AGE = 34, which with 19-24 = 50 and 25+ = 200 adds up
    # to ALL = 284. 14-15 is primary and alone in YOUTH_AGE -> 16-18 (the member before the subtotal).
    # YOUTH_AGE itself stays published, so the ALL group has no suppressed cell.
    parents = {"age": {"14-15": "YOUTH_AGE", "16-18": "YOUTH_AGE"}}
    cells = build({("14-15",): 4, ("16-18",): 30, ("19-24",): 50, ("25+",): 200}, ["age"], parents)
    result = suppress_counts(cells, dims=["age"], hierarchy=parents)
    assert reasons(result.cells, ["age"]) == {("14-15",): "primary", ("16-18",): "complementary"}
    assert_safe(result.cells, ["age"], parents)


def test_stacked_breakdowns_suppress_their_shared_margins_together() -> None:
    # SEX and AGE of the same programs print the same program totals. In SEX alone the total P1,ALL
    # = 12 is a complement (row P1 is F = 12, M = 0: after F goes, only the total is non-zero); AGE
    # alone would print it, and with it an attacker recovers F in SEX.
    sex = build({("P1", "F"): 12, ("P1", "M"): 0, ("P2", "F"): 3, ("P2", "M"): 40}, ["program", "category"])
    age = build(
        {("P1", "young"): 6, ("P1", "old"): 6, ("P2", "young"): 20, ("P2", "old"): 23},
        ["program", "category"],
    )
    table = pd.concat([sex.assign(breakdown="SEX"), age.assign(breakdown="AGE")], ignore_index=True)
    key = ["breakdown", "program", "category"]
    dims = ["program", "category"]

    def attack(cells: pd.DataFrame) -> dict[Key, int]:
        published = published_of(cells, key)
        eqs = [
            e for b in ("SEX", "AGE") for e in equations([k for k in published if k[0] == b], dims, offset=1)
        ]
        links = stacked_links(list(published), category_pos=2)
        return peel(published, eqs, links) | solve_linear(published, eqs, links)

    separate = pd.concat(
        [suppress_counts(table[table["breakdown"] == b], dims=dims).cells for b in ("SEX", "AGE")]
    )
    assert attack(separate) != {}

    result = suppress_counts(table, dims=dims, stacked=("breakdown", "category"))
    assert attack(result.cells) == {}
    margins = result.cells[result.cells["category"] == "ALL"].pivot(
        index="program", columns="breakdown", values="suppressed"
    )
    assert (margins["SEX"] == margins["AGE"]).all()
    assert margins.loc["P1"].all()

    broken = table.copy()
    broken.loc[
        (broken["breakdown"] == "AGE") & (broken["program"] == "P1") & (broken["category"] == "ALL"), "count"
    ] = 13
    with pytest.raises(ValueError, match="disagree"):
        suppress_counts(broken, dims=dims, stacked=("breakdown", "category"))


def test_by_splits_independent_tables() -> None:
    # The same table for two program years: each year is protected alone, with the 1-D result above.
    table = pd.concat([build(SEX, ["sex"]).assign(py=y) for y in (2023, 2024)], ignore_index=True)
    result = suppress_counts(table, dims=["sex"], by=["py"])
    assert flagged(result.cells, ["py", "sex"]) == {
        ("2023", "X"),
        ("2023", "M"),
        ("2024", "X"),
        ("2024", "M"),
    }


def test_deterministic_and_independent_of_row_order() -> None:
    # Ties: two equal candidates (b = c = 20) for the complement of a = 3; the key decides (b).
    cells = build({("a",): 3, ("c",): 20, ("b",): 20, ("d",): 50}, ["cat"])
    first = flagged(suppress_counts(cells, dims=["cat"]).cells, ["cat"])
    assert first == {("a",), ("b",)}
    for seed in range(5):
        shuffled = cells.sample(frac=1, random_state=seed)
        assert flagged(suppress_counts(shuffled, dims=["cat"]).cells, ["cat"]) == first
    dims = ["row", "col"]
    bridge = build(BRIDGE, dims)
    expected = flagged(suppress_counts(bridge, dims=dims).cells, dims)
    for seed in range(5):
        shuffled = bridge.sample(frac=1, random_state=seed).reset_index(drop=True)
        assert flagged(suppress_counts(shuffled, dims=dims).cells, dims) == expected


def test_bad_input_is_refused() -> None:
    cells = build(SEX, ["sex"])
    with pytest.raises(ValueError, match="more than one row"):
        suppress_counts(pd.concat([cells, cells.head(1)]), dims=["sex"])
    with pytest.raises(ValueError, match="non-negative"):
        suppress_counts(cells.assign(count=cells["count"] - 5), dims=["sex"])
    with pytest.raises(ValueError, match="more than one total marker"):
        suppress_counts(pd.concat([cells, pd.DataFrame({"sex": ["TOTAL"], "count": [219]})]), dims=["sex"])


# --------------------------------------------------------------------------- rates and medians


def test_rate_rule() -> None:
    num = [5, 5, 0, 0, 3, 47, 25, 0]
    den = [9, 10, 0, 0, 50, 50, 50, 50]
    # denominator below 10 -> suppressed; zero denominator: no rate to withhold unless suppress_zero
    assert rate_suppressed(num, den).tolist() == [True, False, False, False, False, False, False, False]
    assert rate_suppressed(num, den, suppress_zero=True)[2:4].tolist() == [True, True]
    # protect_numerator: 3 of 50 and 47 of 50 (3 not employed) give away a small group; 0 of 50 does not
    assert rate_suppressed(num, den, protect_numerator=True).tolist() == [
        True, True, False, False, True, True, False, False,
    ]  # fmt: skip
    assert rate_suppressed([20], [30], threshold=50).tolist() == [True]


def test_median_rule() -> None:
    # published only from at least `threshold` values; no values: no median to withhold
    assert median_suppressed([9, 10, 11, 0]).tolist() == [True, False, False, False]
    assert median_suppressed([0], suppress_zero=True).tolist() == [True]
    assert median_suppressed([10], threshold=11).tolist() == [True]


def test_indicators_rows() -> None:
    indicators = pd.DataFrame(
        {
            "program": ["ADULT", "ADULT", "YOUTH", "YOUTH"],
            "indicator": ["EMP_Q2", "MEDIAN_EARNINGS_Q2", "EMP_Q2", "MEDIAN_EARNINGS_Q2"],
            "numerator": [8, None, 30, None],
            "denominator": [40, 9, 8, 12],  # for the median: how many wage values it rests on
            "value": [0.2, 6100.0, 3.75, 5200.0],
        }
    )
    out = suppress_indicators(indicators)
    # ADULT EMP_Q2 8/40 (denominator fine); ADULT median of 9; YOUTH rate on 8; YOUTH median of 12
    assert out["suppressed"].tolist() == [False, True, True, False]
    assert suppress_indicators(indicators, protect_numerator=True)["suppressed"].tolist()[0]


# --------------------------------------------------------------------------- randomized attack


def _random_leaves(rng: np.random.Generator, shape: tuple[int, ...]) -> dict[Key, int]:
    labels = [[f"v{i}" for i in range(n)] for n in shape]
    small = rng.integers(0, 10, size=shape)
    large = rng.integers(10, 120, size=shape)
    kind = rng.choice(3, size=shape, p=[0.15, 0.3, 0.55])  # zero / small / large
    counts = np.where(kind == 0, 0, np.where(kind == 1, small, large))
    return {tuple(labels[d][i] for d, i in enumerate(ix)): int(counts[ix]) for ix in np.ndindex(*shape)}


@pytest.mark.parametrize("seed", range(4))
def test_random_tables_leak_nothing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shapes = [(6,), (3, 4), (5, 5), (2, 3, 3), (4, 2, 3)]
    for run in range(60):
        shape = shapes[run % len(shapes)]
        dims = [f"d{i}" for i in range(len(shape))]
        parents: dict[str, dict[str, str]] = {}
        if run % 3 == 0:  # a subtotal level in the first dimension
            parents = {"d0": {"v0": "SUB", "v1": "SUB"}}
        threshold = int(rng.choice([5, 10, 11]))
        suppress_zero = bool(run % 4 == 0)
        cells = build(_random_leaves(rng, shape), dims, parents)
        result = suppress_counts(
            cells, dims=dims, hierarchy=parents, threshold=threshold, suppress_zero=suppress_zero
        )
        out = result.cells
        small = (out["count"] < threshold) & ((out["count"] > 0) | suppress_zero)
        assert out.loc[small, "suppressed"].all()  # every small cell is hidden
        assert (out.loc[small, "suppression"] == "primary").all()
        assert_safe(out, dims, parents)
        again = suppress_counts(
            cells.sample(frac=1, random_state=run), dims=dims, hierarchy=parents,
            threshold=threshold, suppress_zero=suppress_zero,
        )  # fmt: skip
        assert flagged(again.cells, dims) == flagged(out, dims)


def _split(rng: np.random.Generator, total: int, parts: int) -> list[int]:
    cuts = np.sort(rng.integers(0, total + 1, size=parts - 1))
    return [int(n) for n in np.diff(np.concatenate([[0], cuts, [total]]))]


@pytest.mark.parametrize("seed", range(2))
def test_random_stacked_breakdowns_leak_nothing(seed: int) -> None:
    # Three breakdowns of the same programs: each splits every program's total its own way.
    rng = np.random.default_rng(100 + seed)
    dims, key = ["program", "category"], ["breakdown", "program", "category"]
    for _ in range(25):
        programs = [f"p{i}" for i in range(int(rng.integers(2, 5)))]
        totals = {p: int(rng.choice([rng.integers(0, 12), rng.integers(12, 150)])) for p in programs}
        frames = []
        for breakdown, n_cats in (("SEX", 2), ("AGE", 4), ("EDU", 3)):
            leaves = {
                (p, f"{breakdown}{c}"): n
                for p in programs
                for c, n in enumerate(_split(rng, totals[p], n_cats))
            }
            frames.append(build(leaves, dims).assign(breakdown=breakdown))
        table = pd.concat(frames, ignore_index=True)
        out = suppress_counts(table, dims=dims, stacked=("breakdown", "category")).cells
        assert out.loc[out["count"].between(1, 9), "suppressed"].all()
        published = published_of(out, key)
        eqs = [
            e
            for b in ("SEX", "AGE", "EDU")
            for e in equations([k for k in published if k[0] == b], dims, offset=1)
        ]
        links = stacked_links(list(published), category_pos=2)
        assert peel(published, eqs, links) == {}
        assert solve_linear(published, eqs, links) == {}
