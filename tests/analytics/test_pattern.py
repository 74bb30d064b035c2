"""Repeating patterns: the week-of-quarter test, checked against scipy's one-way ANOVA,
and a quarterly ramp shared by a team judged against its usual shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import f_oneway

from kpinb.analytics import analyse, pattern
from tests.support.synthetic import MONDAYS, spec, workspace


def test_week_of_quarter_by_hand() -> None:
    dates = pd.to_datetime(
        ["2026-07-01", "2026-07-06", "2026-07-08", "2026-09-28", "2026-09-30", "2026-10-05"]
    ).to_numpy()
    # days since 1 Jul // 7: 0, 5 -> 0, 7 -> 1, 89 -> 12, 91 -> 13 counted as 12; 4 Oct -> 0
    assert pattern.week_of_quarter(dates).tolist() == [0, 0, 1, 12, 12, 0]
    months = pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-05-01"]).to_numpy()
    assert pattern.week_of_quarter(months).tolist() == [0, 4, 8, 4]


def _frame(values: np.ndarray, dates: pd.DatetimeIndex, review_from: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": 0,
            "period": dates,
            "value": values,
            "in_review": dates >= pd.Timestamp(review_from),
        }
    )


def _ramp(dates: pd.DatetimeIndex) -> np.ndarray:
    return 3.0 * pattern.week_of_quarter(dates.to_numpy())


def test_the_test_is_scipys_one_way_anova_on_the_earlier_points() -> None:
    dates = pd.date_range("2024-07-01", "2026-09-28", freq="7D")
    values = 50 + _ramp(dates) + np.random.default_rng(2).normal(0, 12, len(dates))
    got = pattern.detect(_frame(values, dates, "2026-07-01")).iloc[0]
    earlier = dates < pd.Timestamp("2026-07-01")
    earlier &= np.cumsum(earlier[::-1])[::-1] <= pattern.WINDOW  # the last 104 of them
    woq = pattern.week_of_quarter(dates.to_numpy())[earlier]
    groups = [values[earlier][woq == w] for w in range(13)]
    assert np.isclose(got["pattern_p"], f_oneway(*groups).pvalue, rtol=1e-6, atol=0)
    between = sum(len(g) * (g.mean() - values[earlier].mean()) ** 2 for g in groups)
    total = ((values[earlier] - values[earlier].mean()) ** 2).sum()
    assert np.isclose(got["pattern_share"], between / total)
    assert got["pattern_seen"] == 8 and got["pattern_found"]  # Q3 2024 .. Q2 2026


def test_noise_has_no_pattern() -> None:
    dates = pd.date_range("2024-07-01", "2026-09-28", freq="7D")
    values = np.random.default_rng(3).normal(50, 4, len(dates))
    assert not pattern.detect(_frame(values, dates, "2026-07-01")).iloc[0]["pattern_found"]


def test_one_earlier_quarter_is_not_a_pattern() -> None:
    dates = pd.date_range("2026-04-06", "2026-09-28", freq="7D")
    values = 50 + _ramp(dates) + np.random.default_rng(4).normal(0, 1, len(dates))
    got = pattern.detect(_frame(values, dates, "2026-07-01")).iloc[0]
    assert got["pattern_seen"] == 1 and not got["pattern_found"]


def test_a_quarterly_ramp_shared_by_a_team_is_its_usual_shape() -> None:
    """Six people rise by 3 a week through every quarter (noise sd 3): read against a
    flat baseline that is a rise in every review period; against the usual shape it is
    routine, with no trend and the pattern named."""
    ramp = _ramp(MONDAYS)
    series = {
        (f"E{i}", "k"): 50 + ramp + np.random.default_rng(10 + i).normal(0, 3, len(MONDAYS))
        for i in range(6)
    }
    result = analyse(workspace(series, {"k": spec("k", rollup="mean")}), "2026-Q3")
    rows = result.summary[result.summary["kpi_id"] == "k"]
    assert (rows["pattern_cycle"] == "quarter").all()
    assert (rows["pattern_seen"] == 3).all()  # Q4 2025, Q1 and Q2 2026
    assert (rows["status"] == "routine").all()
    assert (rows["trend_direction"] == "steady").all()
    assert (rows["streak_length"] < 8).all()
    assert not rows["limits_widened"].any()  # the shape is not carry-over


def test_the_record_of_a_summary_row() -> None:
    assert pattern.record({"pattern_cycle": "quarter", "pattern_seen": 3}) == {
        "cycle": "quarter",
        "seen": 3,
    }
    assert pattern.record({"pattern_cycle": None, "pattern_seen": 0}) is None
