"""Improvement over time: Theil-Sen, period changes, streaks, bests, recoveries."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from kpinb.analytics import trend
from kpinb.periods import parse_period


def frame(
    values: list[float],
    *,
    key: int = 0,
    start: str = "2026-04-06",
    freq: str = "7D",
    review_from: int | None = None,
) -> pd.DataFrame:
    n = len(values)
    cut = n if review_from is None else review_from
    return pd.DataFrame(
        {
            "key": key,
            "period": pd.date_range(start, periods=n, freq=freq),
            "value": np.asarray(values, dtype=float),
            "version": 1,
            "in_review": np.arange(n) >= cut,
        }
    )


def brute_theil_sen(weeks: list[float], values: list[float]) -> float:
    """Second method: the median of every pairwise slope, one pair at a time."""
    slopes = [
        (values[j] - values[i]) / (weeks[j] - weeks[i])
        for i, j in itertools.combinations(range(len(values)), 2)
    ]
    return float(np.median(slopes))


def test_theil_sen_ignores_one_outlier() -> None:
    """2, 2.5, 3, 30, 4, 4.5 over weeks 0..5: the 10 pairs without the outlier have slope
    0.5; the 5 with it are 28/3, 27.5/2, 27, -26, -25.5/2. Sorted, the 8th of 15 is 0.5."""
    out = trend.theil_sen(frame([2, 2.5, 3, 30, 4, 4.5]), pd.Series([1]))
    assert out.loc[0, "trend_slope"] == pytest.approx(0.5)
    assert out.loc[0, "trend_n"] == 6
    assert out.loc[0, "trend_level"] == pytest.approx(4.5)  # the line at the last point


def test_theil_sen_matches_brute_force_on_many_series_and_uses_the_last_13() -> None:
    rng = np.random.default_rng(11)
    lengths = (6, 9, 13, 20, 30)
    parts = [frame(list(rng.normal(10, 3, n).round(2)), key=k) for k, n in enumerate(lengths)]
    out = trend.theil_sen(pd.concat(parts, ignore_index=True), pd.Series(1, index=range(5)))
    for k, part in enumerate(parts):
        tail = part.tail(13)
        weeks = list((tail["period"] - tail["period"].iloc[0]).dt.days / 7)
        assert out.loc[k, "trend_slope"] == pytest.approx(
            brute_theil_sen(weeks, list(tail["value"]))
        )
        assert out.loc[k, "trend_n"] == min(lengths[k], 13)


def test_slope_is_per_week_for_monthly_points() -> None:
    values = [100 + 10 * i for i in range(8)]  # +10 a month
    out = trend.theil_sen(frame(values, freq="MS", start="2026-01-01"), pd.Series([1]))
    # months of 28..31 days: the median pairwise slope is 10 / (about 30.4 / 7) per week
    assert out.loc[0, "trend_slope"] == pytest.approx(10 / (30.4 / 7), rel=0.03)


def test_fewer_than_six_points_have_no_trend() -> None:
    assert trend.theil_sen(frame([1, 2, 3, 4, 5]), pd.Series([1])).empty


def test_trend_direction_respects_the_kpi_direction_and_the_noise() -> None:
    rising = list(np.arange(13) * 0.5 + np.tile([0.0, 0.3], 7)[:13])
    flat = [10.0, 12.0] * 6 + [10.0]
    points = pd.concat(
        [frame(rising, key=0), frame(rising, key=1), frame(flat, key=2)], ignore_index=True
    )
    out = trend.theil_sen(points, pd.Series([1, -1, 1]))
    assert out["trend_direction"].tolist() == ["improving", "worsening", "steady"]
    assert out.loc[0, "trend_z"] == pytest.approx(-out.loc[1, "trend_z"])


def test_period_changes_against_previous_and_year_earlier() -> None:
    """Q2 2026 points 10, 12 (level 11); Q3 points 14, 16 (level 15); Q3 2025 point 5.
    Against Q2: +4, +4/11; against Q3 2025: +10, +2. A lower-is-better KPI orients -4."""
    dates = pd.to_datetime(["2025-08-04", "2026-05-04", "2026-06-01", "2026-07-06", "2026-08-03"])
    points = pd.DataFrame({"key": 0, "period": dates, "value": [5.0, 10, 12, 14, 16], "version": 1})
    out = trend.period_changes(points, pd.Series([1]), pd.Series([-1]), parse_period("2026-Q3"))
    row = out.iloc[0]
    assert (row["level"], row["n_in_period"]) == (15, 2)
    assert (row["prev_label"], row["prev_level"], row["prev_change"]) == ("2026-Q2", 11, 4)
    assert row["prev_change_rel"] == pytest.approx(4 / 11)
    assert row["prev_change_oriented"] == -4
    assert (row["yoy_label"], row["yoy_change"], row["yoy_change_rel"]) == ("2025-Q3", 10, 2)
    assert not row["prev_crosses_definition"] and not row["yoy_crosses_definition"]


def test_change_across_a_definition_change_is_flagged_and_review_uses_the_current() -> None:
    dates = pd.to_datetime(["2026-05-04", "2026-06-01", "2026-07-06", "2026-07-13"])
    points = pd.DataFrame(
        {"key": 0, "period": dates, "value": [10.0, 12, 100, 14], "version": [1, 2, 1, 2]}
    )
    out = trend.period_changes(points, pd.Series([2]), pd.Series([1]), parse_period("2026-Q3"))
    assert out.loc[0, "level"] == 14  # the version-1 point of Q3 (100) is not mixed in
    assert bool(out.loc[0, "prev_crosses_definition"])
    assert not bool(out.loc[0, "yoy_crosses_definition"])  # no year-earlier data at all
    assert np.isnan(out.loc[0, "yoy_level"])


def test_streak_counts_points_whose_smoothed_level_beats_four_points_earlier() -> None:
    """Values 1..13 with a dip to 5 at position 9. Smoothed (mean of 4) at 9 is
    (6+7+8+5)/4 = 6.5 > 4.5 at 5; at 10: 7.75 > 5.5; 11: 9 > 6.5; 12: 10.25 > 7.5.
    Positions 7..12 all beat 4 points earlier (0..6 cannot be compared): streak 6."""
    values = [float(v) for v in range(1, 14)]
    values[9] = 5.0
    points = frame(values)
    up = trend.streaks(points, np.ones(13), trend.smoothed(points))
    assert up.iloc[0] == 6
    down = trend.streaks(points, -np.ones(13), trend.smoothed(points))
    assert down.iloc[0] == 0


def test_streak_broken_by_a_lasting_fall() -> None:
    values = [1.0, 2, 3, 4, 5, 6, 7, 8, 2, 2, 2, 2, 3]
    points = frame(values)
    assert trend.streaks(points, np.ones(13), trend.smoothed(points)).iloc[0] == 0


def test_personal_best_direction_aware_and_new_only_after_six_points() -> None:
    values = [5.0, 7, 6, 9, 8, 7, 6, 10]
    points = frame(values, review_from=7)
    up = trend.personal_bests(points, np.ones(8)).iloc[0]
    assert (up["best_value"], bool(up["best_is_new"])) == (10, True)
    down = trend.personal_bests(points, -np.ones(8)).iloc[0]
    assert (down["best_value"], down["best_period"], bool(down["best_is_new"])) == (
        5,
        points["period"].iloc[0],
        False,
    )
    early = trend.personal_bests(frame([1.0, 2, 3], review_from=2), np.ones(3)).iloc[0]
    assert not bool(early["best_is_new"])  # a best at the third point is not news yet


def test_recovery_after_the_latest_dip() -> None:
    points = frame([10.0] * 8)
    worsening = np.array([0, 1, 0, 0, 1, 0, 0, 0], dtype=bool)
    gain = np.array([0, -3, -2, 1, -4, -2, 0.5, 1])
    out = trend.recoveries(points, worsening, gain).iloc[0]
    assert out["dip_period"] == points["period"].iloc[4]  # the latest dip
    assert bool(out["recovered"]) and out["recovered_period"] == points["period"].iloc[6]
    still = trend.recoveries(points, worsening, np.array([0, -3, -2, 1, -4, -2, -1, -1.0]))
    assert not bool(still.iloc[0]["recovered"])
