"""XmR limits and Wheeler's detection rules, on series worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpinb.analytics import signals


def frame(values: list[float], review_from: int | None = None, key: int = 0) -> pd.DataFrame:
    """One weekly series; points from index ``review_from`` on lie in the review period."""
    n = len(values)
    start = n if review_from is None else review_from
    return pd.DataFrame(
        {
            "key": key,
            "period": pd.date_range("2025-01-06", periods=n, freq="7D"),
            "value": np.asarray(values, dtype=float),
            "in_review": np.arange(n) >= start,
        }
    )


def rules_of(values: list[float], review_from: int | None = None) -> pd.DataFrame:
    points = frame(values, review_from)
    return signals.run_rules(points, signals.xmr_limits(points))


def test_hand_worked_example() -> None:
    """values 10 12 11 13 12 14: moving ranges 2 1 2 1 2, mean 8/5 = 1.6;
    centre 72/6 = 12; limits 12 -/+ 2.66 x 1.6 = 7.744 .. 16.256; URL 3.268 x 1.6 = 5.2288.
    Only 6 points, none before the review period: the baseline is all 6 (provisional)."""
    lim = signals.xmr_limits(frame([10, 12, 11, 13, 12, 14])).iloc[0]
    assert lim["centre"] == pytest.approx(12)
    assert lim["mr_bar"] == pytest.approx(1.6)
    assert lim["lower"] == pytest.approx(7.744)
    assert lim["upper"] == pytest.approx(16.256)
    assert lim["url"] == pytest.approx(5.2288)
    assert lim["baseline_n"] == 6
    assert bool(lim["baseline_provisional"])


def test_textbook_example_montgomery() -> None:
    """D. C. Montgomery, Introduction to Statistical Quality Control (6th ed., Wiley 2009),
    Example 6.5: weekly mortgage-loan processing costs, individuals and moving-range
    chart. Published: x-bar = 300.5, MR-bar = 7.79, UCL = 321.22, LCL = 279.78
    (Montgomery writes 3 / d2 = 3 / 1.128, which is Wheeler's 2.66)."""
    costs = [
        310,
        288,
        297,
        298,
        307,
        303,
        294,
        297,
        308,
        306,
        294,
        299,
        297,
        299,
        314,
        295,
        293,
        306,
        301,
        304,
    ]
    lim = signals.xmr_limits(frame(costs)).iloc[0]
    assert lim["baseline_n"] == 20
    assert lim["centre"] == pytest.approx(300.5)
    assert round(lim["mr_bar"], 2) == 7.79
    assert round(lim["upper"], 2) == 321.22
    assert round(lim["lower"], 2) == 279.78
    assert not rules_of(costs)[list(signals.RULES)].to_numpy().any()  # in control


def test_baseline_is_first_20_points_before_the_review_period() -> None:
    values = [10.0, 12.0] * 15 + [11.0] * 5  # 30 points before the review period, 5 in it
    points = frame(values, review_from=30)
    lim = signals.xmr_limits(points).iloc[0]
    assert lim["baseline_n"] == 20
    assert lim["baseline_end"] == points["period"].iloc[19]
    assert not bool(lim["baseline_provisional"])
    assert signals.baseline_mask(points).sum() == 20


def test_short_history_gives_a_provisional_baseline_of_12() -> None:
    points = frame([10.0, 12.0] * 4 + [11.0] * 6, review_from=8)  # 8 before, 6 in review
    lim = signals.xmr_limits(points).iloc[0]
    assert lim["baseline_n"] == 12
    assert bool(lim["baseline_provisional"])


def test_fewer_than_six_points_has_no_limits_and_not_enough_history() -> None:
    lim = signals.xmr_limits(frame([1, 2, 3, 100, 4], review_from=0))
    assert np.isnan(lim["centre"].iloc[0])
    status = signals.statuses(lim["n_points"], pd.Series([1.0], index=lim.index))
    assert status.iloc[0] == "not_enough_history"


# Baseline for the rule tests: 12, 10 repeated six times: centre 11, every moving range 2,
# limits 11 -/+ 5.32 = 5.68 .. 16.32, halfway band 11 -/+ 2.66 = 8.34 .. 13.66.
# It ends on 10 (below the centre), so a run above the centre starts in the review period.
BASE = [12.0, 10.0] * 6


@pytest.mark.parametrize(("point", "hit"), [(16.4, 1), (16.3, 0), (5.6, -1), (5.7, 0)])
def test_beyond_limit(point: float, hit: int) -> None:
    rules = rules_of([*BASE, point], review_from=12)
    assert rules["beyond_limit"].iloc[-1] == hit
    assert rules["beyond_limit"].iloc[:-1].eq(0).all()


def test_run_of_eight_triggers_on_the_eighth_point_only() -> None:
    rules = rules_of([*BASE, *[11.5] * 8], review_from=12)
    assert rules["run_of_8"].tolist() == [0] * 19 + [1]
    assert rules["beyond_limit"].eq(0).all() and rules["3_of_4"].eq(0).all()


def test_run_of_seven_or_a_point_on_the_centre_does_not_trigger() -> None:
    assert rules_of([*BASE, *[11.5] * 7], review_from=12)["run_of_8"].eq(0).all()
    broken = [*BASE, *[11.5] * 4, 11.0, *[11.5] * 4]  # 11.0 lies on the centre
    assert rules_of(broken, review_from=12)["run_of_8"].eq(0).all()
    below = [*BASE, *[10.5] * 8]  # BASE ends on 10: the run below has 9 points
    assert rules_of(below, review_from=12)["run_of_8"].iloc[-2:].tolist() == [-1, -1]


def test_three_of_four_beyond_the_halfway_band() -> None:
    rules = rules_of([*BASE, 14, 11.5, 14, 14], review_from=12)
    assert rules["3_of_4"].tolist() == [0] * 15 + [1]
    assert rules["beyond_limit"].eq(0).all()


@pytest.mark.parametrize("tail", [[14, 11.5, 11.5, 14], [14, 8.3, 14, 8.3], [13.6, 13.6, 13.6, 12]])
def test_three_of_four_not_triggered(tail: list[float]) -> None:
    """Two of four beyond the band, or beyond it on different sides, or inside the band."""
    assert rules_of([*BASE, *tail], review_from=12)["3_of_4"].eq(0).all()


def test_status_follows_the_latest_signal_direction() -> None:
    n = pd.Series([20, 20, 20, 5])
    latest = pd.Series([1.0, -1.0, np.nan, 1.0])
    assert signals.statuses(n, latest).tolist() == [
        "improving_signal",
        "worsening_signal",
        "routine",
        "not_enough_history",
    ]


def test_signal_direction_takes_the_side_of_the_hit() -> None:
    rules = rules_of([*BASE, 14, 11.5, 14, 17], review_from=12)
    direction = signals.signal_direction(rules)
    assert direction[-1] == 1 and direction[:-1].tolist() == [0] * 15


def test_direction_symmetry_negated_series_has_mirrored_sides() -> None:
    """Negating a series mirrors every hit; multiplied by the flipped sign (-1) the
    oriented verdict is the same."""
    rng = np.random.default_rng(3)
    values = [*list(np.round(rng.normal(50, 5, 40), 1)), 70.0, 30.0, *([56.0] * 9)]
    up, down = rules_of(values, 40), rules_of([-v for v in values], 40)
    for rule in signals.RULES:
        assert (up[rule].to_numpy() == -down[rule].to_numpy()).all()
    assert (signals.signal_direction(up) * 1 == signals.signal_direction(down) * -1).all()
    assert up[list(signals.RULES)].to_numpy().any()  # the example does signal


def _verdicts(values: np.ndarray, review_from: int) -> tuple[np.ndarray, str]:
    points = frame(list(values), review_from)
    lim = signals.xmr_limits(points)
    rules = signals.run_rules(points, lim)
    direction = signals.signal_direction(rules)
    live = direction[points["in_review"].to_numpy() & (direction != 0)]
    latest = pd.Series([live[-1] if len(live) else np.nan], index=lim.index)
    return rules[list(signals.RULES)].to_numpy(), signals.statuses(lim["n_points"], latest).iloc[0]


series = st.lists(st.integers(-1000, 1000), min_size=6, max_size=40)


@settings(max_examples=150, deadline=None)
@given(series, st.integers(0, 40), st.integers(-1_000_000, 1_000_000))
def test_adding_a_constant_changes_no_signal(values: list[int], cut: int, shift: int) -> None:
    base = np.asarray(values, dtype=float)
    rules, status = _verdicts(base, cut)
    shifted_rules, shifted_status = _verdicts(base + shift, cut)
    assert (rules == shifted_rules).all() and status == shifted_status


@settings(max_examples=150, deadline=None)
@given(series, st.integers(0, 40), st.floats(0.001, 1000, allow_nan=False))
def test_scaling_by_a_positive_factor_changes_no_signal(
    values: list[int], cut: int, factor: float
) -> None:
    base = np.asarray(values, dtype=float)
    rules, status = _verdicts(base, cut)
    scaled_rules, scaled_status = _verdicts(base * factor, cut)
    assert (rules == scaled_rules).all() and status == scaled_status


def test_many_series_at_once_match_one_at_a_time() -> None:
    """Grouped computation equals computing each series on its own (second method)."""
    rng = np.random.default_rng(5)
    parts = [
        frame(list(rng.normal(0, 1, n)), review_from=n - 5, key=k)
        for k, n in enumerate((8, 25, 40))
    ]
    together = pd.concat(parts, ignore_index=True)
    lim_all = signals.xmr_limits(together)
    rules_all = signals.run_rules(together, lim_all)
    offset = 0
    for k, part in enumerate(parts):
        lim_one = signals.xmr_limits(part)
        rules_one = signals.run_rules(part, lim_one)
        assert lim_all.loc[k, "centre"] == pytest.approx(lim_one.iloc[0]["centre"])
        assert lim_all.loc[k, "mr_bar"] == pytest.approx(lim_one.iloc[0]["mr_bar"])
        got = rules_all.iloc[offset : offset + len(part)][list(signals.RULES)].to_numpy()
        assert (got == rules_one[list(signals.RULES)].to_numpy()).all()
        offset += len(part)
