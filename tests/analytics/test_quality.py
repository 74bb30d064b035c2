"""Data quality: implausible values, expected and missing points, staleness."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.analytics import quality
from kpinb.kpis import KpiSpec


def spec(kid: str, unit: str) -> KpiSpec:
    return KpiSpec(kid, kid, unit, "up", "lagging", "result", "weekly", "sum", "o", "s", "f")


def test_plausible_ranges_by_unit() -> None:
    assert quality.plausible_range("%") == (0, 100)
    assert quality.plausible_range(" Percent ") == (0, 100)
    assert quality.plausible_range("hours") == (0, np.inf)
    assert quality.plausible_range("NPS points") == (-np.inf, np.inf)


def test_split_plausible_sets_aside_and_explains() -> None:
    obs = pd.DataFrame(
        {
            "employee_id": pd.Categorical(["E1", "E1", "E1", "E2", "E2"]),
            "kpi_id": pd.Categorical(["pct", "pct", "pct", "cnt", "cnt"]),
            "period": pd.to_datetime(
                ["2026-07-06", "2026-07-13", "2026-07-20"] * 1 + ["2026-07-06", "2026-07-13"]
            ),
            "value": [100.0, 101.0, np.nan, -1.0, 0.0],
        }
    )
    clean, excluded = quality.split_plausible(
        obs, {"pct": spec("pct", "%"), "cnt": spec("cnt", "count")}
    )
    assert clean["value"].tolist() == [100.0, 0.0]
    assert excluded["reason"].tolist() == [
        "above the plausible range",
        "not a number",
        "below the plausible range",
    ]
    assert excluded["scope_id"].tolist() == ["E1", "E1", "E2"]


def test_expected_weekly_points_anchor_on_the_series_weekday() -> None:
    """Q3 2026 (1 Jul, a Wednesday, to 30 Sep). Monday series: 6 Jul .. 28 Sep = 13 weeks.
    Wednesday series: 1 Jul .. 30 Sep = 14. A Monday series starting 7 Sep: 7, 14, 21, 28 = 4."""
    first = pd.Series(pd.to_datetime(["2026-01-05", "2026-01-07", "2026-09-07"]))
    got = quality.expected_points(
        first, pd.Series(["weekly"] * 3), pd.Timestamp("2026-07-01"), pd.Timestamp("2026-09-30")
    )
    assert got.tolist() == [13, 14, 4]


def test_expected_monthly_points() -> None:
    first = pd.Series(pd.to_datetime(["2025-01-01", "2026-08-01", "2026-10-01"]))
    got = quality.expected_points(
        first, pd.Series(["monthly"] * 3), pd.Timestamp("2026-07-01"), pd.Timestamp("2026-09-30")
    )
    assert got.tolist() == [3, 2, 0]


def test_staleness_after_two_missing_steps() -> None:
    last = pd.Series(pd.to_datetime(["2026-09-21", "2026-09-14", "2026-08-01", "2026-07-01"]))
    cadence = pd.Series(["weekly", "weekly", "monthly", "monthly"])
    out = quality.staleness(last, cadence, pd.Timestamp("2026-09-30"))
    assert out["days_since_last"].tolist() == [9, 16, 60, 91]
    assert out["stale"].tolist() == [False, True, False, True]
