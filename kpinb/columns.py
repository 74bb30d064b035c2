"""Rows of a column of ids that hold one of some ids, without a text object per row.

A workspace's and an analysis' id columns are categoricals over tens of millions of
rows; ``column.astype(str).isin(ids)`` makes a Python string per row first (about
3 GB for 50 million rows) where the categories alone need comparing.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd


def among(column: pd.Series, ids: Collection[str]) -> np.ndarray:
    """Which rows of ``column`` hold one of ``ids``, ids compared as text (a categorical
    by its categories; a missing value is never among them)."""
    wanted = {str(i) for i in ids}
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = np.asarray(column.cat.categories.astype(str), dtype=object)
        hit = np.append(np.isin(names, list(wanted)), False)  # code -1: missing
        codes = column.cat.codes.to_numpy()
        found: np.ndarray = hit[codes]
        return found
    return column.astype(str).isin(wanted).to_numpy()
