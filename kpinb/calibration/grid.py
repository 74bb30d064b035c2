"""The performance x potential grid (the "9-box"), when the ratings table rates potential.

Performance is the proposed rating's band on the workspace's rating scale, in thirds of
its range: *low* below the first third, *high* above the second, *mid* between (a value
on a boundary counts as mid, so a 1-5 scale reads 1-2 low, 3 mid, 4-5 high and a 1-4
scale 1 low, 2-3 mid, 4 high). Potential is the ratings table's optional ``potential``
column: 1 (low), 2 (medium) or 3 (high). A cell shows its count; its names only when it
holds at least the minimum group size, or in HR's own view (``names=True``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

PERFORMANCE = ("low", "mid", "high")
POTENTIAL = {1.0: "low", 2.0: "medium", 3.0: "high"}
GRID_COLUMNS = ("potential", "performance", "people", "names")


def performance_band(ratings: pd.Series, scale: Sequence[float]) -> pd.Series:
    """Each rating's band on ``scale`` (its values, lowest first): low, mid or high by
    the thirds of the scale's range (a boundary is mid); NaN where there is no rating."""
    low, high = float(min(scale)), float(max(scale))
    first, second = low + (high - low) / 3, low + 2 * (high - low) / 3

    def band(value: float) -> object:
        if pd.isna(value):
            return np.nan
        if value < first and not math.isclose(value, first):
            return "low"
        if value > second and not math.isclose(value, second):
            return "high"
        return "mid"

    return pd.to_numeric(ratings, errors="coerce").map(band).astype(object)


def potentials(ratings: pd.DataFrame, period: str) -> pd.Series:
    """The potential rated for each person in ``period`` (their last row's; NaN: none),
    indexed by employee_id."""
    if "potential" not in ratings:
        return pd.Series(dtype="float64")
    rows = ratings[ratings["period"].astype(str) == period]
    last = rows.drop_duplicates("employee_id", keep="last").set_index("employee_id")
    return pd.to_numeric(last["potential"], errors="coerce").dropna()


def grid_cells(
    people: pd.DataFrame, scale: Sequence[float], min_group_size: int, *, names: bool = False
) -> pd.DataFrame:
    """The nine cells, potential high to low, performance low to high: the count of
    people with both a rating and a potential in each, and their names (sorted) where the
    cell holds ``min_group_size`` or more, or everywhere with ``names`` (HR's own view).

    ``people``: name, rating, potential (NaN: not rated).
    """
    both = people[people["rating"].notna() & people["potential"].notna()]
    band = performance_band(both["rating"], scale)
    level = both["potential"].map(POTENTIAL)
    out = []
    for potential in reversed(list(POTENTIAL.values())):
        for performance in PERFORMANCE:
            inside = both[(band == performance) & (level == potential)]
            shown = names or len(inside) >= min_group_size
            out.append(
                {
                    "potential": potential,
                    "performance": performance,
                    "people": len(inside),
                    "names": ", ".join(sorted(inside["name"].astype(str))) if shown else "",
                }
            )
    return pd.DataFrame(out, columns=list(GRID_COLUMNS))
