"""Rows of an id column holding some ids (kpinb.columns.among), by hand."""

from __future__ import annotations

import pandas as pd

from kpinb.columns import among


def test_a_categorical_is_matched_by_its_categories_and_text_by_value() -> None:
    ids = ["E2", "E9", None, "E2", "E10"]
    wanted = {"E2", "E10", "nan", "None"}  # a missing value is never among the ids
    expected = [True, False, False, True, True]
    categorical = pd.Series(ids, dtype="category")
    assert among(categorical, wanted).tolist() == expected
    unused = categorical.cat.add_categories(["E5"])  # a category no row holds
    assert among(unused, wanted | {"E5"}).tolist() == expected
    assert among(pd.Series(["E2", "E9", "E10"], dtype=object), wanted).tolist() == [
        True,
        False,
        True,
    ]
    numbers = pd.Series([2, 9, 10], dtype="category")  # ids compared as text
    assert among(numbers, ["2", "10"]).tolist() == [True, False, True]
