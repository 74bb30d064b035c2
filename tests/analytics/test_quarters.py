"""Improvement over time: quarter levels and a climb across quarters, worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.analytics import quarters
from kpinb.periods import parse_period

PERIOD = parse_period("2026-Q3")


def _weekly(levels: list[float], jitter: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Key 0: 13 Mondays in each of the quarters ending with 2026-Q3, each quarter's
    points averaging the given level exactly (a symmetric jitter around it)."""
    rng = np.random.default_rng(seed)
    frames = []
    for period, level in zip(quarters.quarters_back(PERIOD, len(levels)), levels, strict=True):
        days = pd.date_range(period.start, period.end, freq="W-MON")[:13]
        noise = rng.normal(0, jitter, len(days))
        frames.append(
            pd.DataFrame({"key": 0, "period": days, "value": level + noise - noise.mean()})
        )
    return pd.concat(frames, ignore_index=True)


def _verdict(levels: list[float], sigma: float = 1.0, sign: int = 1) -> pd.Series:
    table = quarters.quarter_levels(_weekly(levels), PERIOD)
    one = pd.Series([1.0], index=[0])
    out = quarters.over_time(table, one * sigma, one, one * sign, pd.Series(["weekly"], index=[0]))
    return out.iloc[0]


def test_quarter_levels_are_the_means_of_each_quarter_and_a_rate_is_sum_over_sum() -> None:
    pts = _weekly([10.0, 12.0], jitter=1.0)
    table = quarters.quarter_levels(pts, PERIOD)
    assert table["quarter"].tolist() == ["2026-Q2", "2026-Q3"]
    assert table["back"].tolist() == [1, 0]
    assert np.allclose(table["level"], [10.0, 12.0])
    assert table["points"].tolist() == [13, 13]
    # a rate: 1 of 1 (100 %) and 1 of 9 (11.1 %) in one quarter: 2 / 10 = 20 %, not 55.6 %
    rate = pd.DataFrame(
        {
            "key": 0,
            "period": pd.to_datetime(["2026-07-06", "2026-07-13"]),
            "value": [100.0, 100 / 9],
            "denominator": [1.0, 9.0],
        }
    )
    assert np.isclose(quarters.quarter_levels(rate, PERIOD)["level"].iloc[0], 20.0)


def test_a_slow_climb_across_five_quarters_is_improving_over_time() -> None:
    """The module's example: 10, 10.3, 10.6, 10.9, 11.2 over 13 points each, sigma 1:
    slope 0.3 a quarter, standard error 1 / sqrt(13 x 10), z = 0.3 x sqrt(130) = 3.42;
    the last quarter stands 1.2 / sqrt(2 / 13) = 3.06 standard errors above the first."""
    got = _verdict([10.0, 10.3, 10.6, 10.9, 11.2])
    assert np.isclose(got["over_time_z"], 0.3 * np.sqrt(130))
    assert got["over_time"] == 1 and got["over_time_quarters"] == 5
    assert got["over_time_from"] == "2025-Q3"
    assert np.isclose(got["over_time_from_level"], 10.0)
    assert np.isclose(got["over_time_to_level"], 11.2)
    # lower is better: the same climb is a slide the less favourable way
    assert _verdict([10.0, 10.3, 10.6, 10.9, 11.2], sign=-1)["over_time"] == -1


def test_a_hump_a_flat_line_or_too_few_quarters_is_no_climb() -> None:
    """A rise that came back (10, 11, 12, 11, 10.2) has z of its slope near 0; a climb
    whose last quarter is within routine variation of the first (sigma 3) is none;
    three quarters are too few for a verdict."""
    assert _verdict([10.0, 11.0, 12.0, 11.0, 10.2])["over_time"] == 0
    assert _verdict([10.0, 10.3, 10.6, 10.9, 11.2], sigma=3.0)["over_time"] == 0
    few = _verdict([10.0, 11.0, 12.0])
    assert few["over_time"] == 0 and few["over_time_quarters"] == 0


def test_a_climb_most_teammates_share_is_shared() -> None:
    """Team T1: E1, E2, E3 climb, E4 does not; E1's climb is shared (2 of its 3 judged
    teammates climbed: 2 x 2 >= 3). Team T2: only E5 climbs of 4: its own."""
    summary = pd.DataFrame(
        {
            "scope": "employee",
            "scope_id": [f"E{i}" for i in range(1, 9)],
            "kpi_id": "k",
            "over_time": [1, 1, 1, 0, 1, 0, 0, 0],
            "over_time_quarters": 5,
        }
    )
    members = pd.DataFrame(
        {"team_id": ["T1"] * 4 + ["T2"] * 4}, index=[f"E{i}" for i in range(1, 9)]
    )
    out = quarters.shared_over_time(summary, members)
    assert out["over_time_shared"].tolist() == [True, True, True, False, False] + [False] * 3
    assert (out.loc[0, "over_time_moved"], out.loc[0, "over_time_of"]) == (2, 3)
    assert (out.loc[4, "over_time_moved"], out.loc[4, "over_time_of"]) == (0, 3)
