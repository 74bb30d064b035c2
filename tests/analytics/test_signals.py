"""The locked baseline, XmR limits within natural boundaries, Wheeler's rules and the
CUSUM status, on series worked out by hand."""

from __future__ import annotations

from math import comb

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
    Only 6 points, none in a review period: the baseline is all 6, trial limits."""
    lim = signals.xmr_limits(frame([10, 12, 11, 13, 12, 14])).iloc[0]
    assert lim["centre"] == pytest.approx(12)
    assert lim["mr_bar"] == pytest.approx(1.6)
    assert lim["lower"] == pytest.approx(7.744)
    assert lim["upper"] == pytest.approx(16.256)
    assert lim["url"] == pytest.approx(5.2288)
    assert lim["baseline_n"] == 6
    assert lim["baseline_kind"] == "trial"


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


def test_baseline_is_the_last_40_points_before_the_review_period() -> None:
    """60 points before the period: the baseline is points 20..59, locked; their mean is
    the centre (a step long before the period leaves the baseline)."""
    values = [0.0] * 20 + [10.0, 12.0] * 20 + [11.0] * 5
    points = frame(values, review_from=60)
    lim = signals.xmr_limits(points).iloc[0]
    assert lim["baseline_n"] == 40
    assert lim["baseline_start"] == points["period"].iloc[20]
    assert lim["baseline_end"] == points["period"].iloc[59]
    assert lim["baseline_kind"] == "locked"
    assert lim["centre"] == pytest.approx(11.0)
    assert lim["mr_bar"] == pytest.approx(2.0)
    assert signals.baseline_mask(points).tolist() == [False] * 20 + [True] * 40 + [False] * 5


@pytest.mark.parametrize(
    ("before", "kind"), [(25, "locked"), (20, "locked"), (19, "trial"), (6, "trial"), (5, "none")]
)
def test_baseline_kind_follows_the_points_before_the_period(before: int, kind: str) -> None:
    points = frame([10.0, 12.0] * 13 + [11.0] * 6, review_from=26)[26 - before :]
    lim = signals.xmr_limits(points.reset_index(drop=True)).iloc[0]
    assert lim["baseline_n"] == before
    assert lim["baseline_kind"] == kind
    assert np.isnan(lim["centre"]) == (kind == "none")


def test_moving_range_screen_drops_a_wild_range_once() -> None:
    """Moving ranges 1 x 8 and 11: mean 19/9 = 2.11, 3.267 x 2.11 = 6.90 < 11, so the 11
    leaves the estimate: mR-bar = 8/8 = 1; the centre keeps every point: 15/10 = 1.5."""
    lim = signals.xmr_limits(frame([0, 1, 0, 1, 0, 1, 0, 1, 0, 11, 5], review_from=10)).iloc[0]
    assert lim["mr_bar"] == pytest.approx(1.0)
    assert lim["centre"] == pytest.approx(1.5)


def test_fewer_than_six_points_has_no_limits_and_not_enough_history() -> None:
    points = frame([1, 2, 3, 100, 4, 5, 6], review_from=5)
    lim = signals.xmr_limits(points)
    assert np.isnan(lim["centre"].iloc[0])
    assert _status(points, lim) == "not_enough_history"


def test_boundaries_replace_limits_beyond_them_and_stop_detection_there() -> None:
    """Counts 0..3 (centre 1.5, mR-bar 1): limits 1.5 -/+ 2.66 = -1.16 .. 4.16; the floor 0
    replaces the lower limit, and a 0 in the period is not "beyond" it."""
    values = [1.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0, 1.0, 2.0] * 2 + [0.0, 5.0]
    points = frame(values, review_from=20)
    raw = signals.xmr_limits(points)
    lim = signals.apply_boundaries(raw, np.array([0.0]), np.array([np.nan]))
    row = lim.iloc[0]
    assert raw.iloc[0]["lower"] < 0
    assert row["lower"] == 0.0 and bool(row["lower_bounded"])
    assert row["upper"] == pytest.approx(raw.iloc[0]["upper"]) and not bool(row["upper_bounded"])
    rules = signals.run_rules(points, lim)
    assert rules["beyond_limit"].tolist()[-2:] == [0, 1]  # 0 on the floor, 5 above 4.41


def test_a_ceiling_of_100_replaces_an_upper_limit_beyond_it() -> None:
    values = [90.0, 100.0] * 10 + [100.0]
    lim = signals.apply_boundaries(
        signals.xmr_limits(frame(values, review_from=20)), np.array([0.0]), np.array([100.0])
    )
    assert lim.iloc[0]["upper"] == 100.0 and bool(lim.iloc[0]["upper_bounded"])
    assert lim.iloc[0]["lower"] == pytest.approx(95 - 2.66 * 10)


def _limits(centre: float, sigma: float, kind: str = "locked") -> pd.DataFrame:
    return pd.DataFrame(
        {"centre": [centre], "sigma": [sigma], "baseline_kind": [kind]},
        index=pd.Index([0], name="key"),
    )


def test_cusum_worked_by_hand() -> None:
    """centre 10, sigma 2 (k 0.75, h 4.75); z of the review weeks and the upper sum:

        z    0.5  2.0  -1.0  1.5  2.5  2.0  1.0  1.25  1.0  1.0
        S+   0    1.25  0    0.75 2.5  3.75 4.0  4.5   4.75 5.0

    4.75 is not above h; 5.0 is, in week 9. The run began in week 3 (S+ left 0 there):
    the shift's onset. Its size: the mean z from week 3 on, (1.5+2.5+2+1+1.25+1+1)/7
    = 1.464 sigmas, 2.929 in the KPI's units."""
    z = [0.5, 2.0, -1.0, 1.5, 2.5, 2.0, 1.0, 1.25, 1.0, 1.0]
    points = frame([10 + 2 * v for v in z], review_from=0)
    out = signals.shift_status(points, _limits(10.0, 2.0)).iloc[0]
    assert out["shift"] == 1 and bool(out["shift_holds"])
    assert out["shift_onset"] == points["period"].iloc[3]
    assert out["shift_detected"] == points["period"].iloc[9]
    assert out["shift_sigmas"] == pytest.approx(10.25 / 7)
    assert out["shift_size"] == pytest.approx(2 * 10.25 / 7)


def test_a_shift_that_came_and_went_does_not_hold() -> None:
    """z 3 3 3: S+ 2.25 4.5 6.75 (passes h in week 2); then -1 x 7: back to 0 in week 9."""
    z = [3, 3, 3, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0]
    out = signals.shift_status(frame(z, review_from=0), _limits(0.0, 1.0)).iloc[0]
    assert out["shift"] == 1 and not bool(out["shift_holds"])
    assert _status(frame(z, review_from=0), _limits(0.0, 1.0)) == "returned"


def test_trial_limits_give_no_verdict() -> None:
    z = [3.0] * 13
    assert signals.shift_status(frame(z, 0), _limits(0.0, 1.0, "trial")).iloc[0]["shift"] == 0


def test_a_constant_baseline_shifts_after_two_points_off_its_level() -> None:
    """sigma 0: a point off the level counts as z = 3: S+ 2.25, 4.5 > 4.75? no; 6.75 yes."""
    values = [5.0] * 20 + [6.0, 6.0, 6.0, 5.0]
    out = signals.shift_status(frame(values, 20), signals.xmr_limits(frame(values, 20))).iloc[0]
    assert out["shift"] == 1
    assert out["shift_detected"] == frame(values, 20)["period"].iloc[22]


def _status(points: pd.DataFrame, limits: pd.DataFrame, sign: int = 1) -> str:
    shift = signals.shift_status(points, limits)
    previous = np.zeros(len(points), dtype=bool)
    earlier = pd.DataFrame({"previous_shift": 0, "back_to_normal": False}, index=shift.index)
    if len(points) > len(limits):  # a real frame: ask the earlier-period check too
        earlier = signals.earlier_move(points, previous)
    lim = limits if "baseline_kind" in limits else limits.assign(baseline_kind="locked")
    sign_series = pd.Series(sign, index=shift.index)
    return signals.statuses(lim, shift, earlier, sign_series).iloc[0]["status"]


def test_status_orients_the_shift_by_the_kpis_direction() -> None:
    values = [10.0, 12.0] * 10 + [14.0] * 13  # centre 11, sigma 2/1.128 = 1.77: z = 1.69
    points = frame(values, review_from=20)
    lim = signals.xmr_limits(points)
    assert _status(points, lim, sign=1) == "improving_shift"
    assert _status(points, lim, sign=-1) == "worsening_shift"
    flat = frame([10.0, 12.0] * 10 + [11.0, 12.0, 10.0] * 4 + [11.0], review_from=20)
    assert _status(flat, signals.xmr_limits(flat)) == "routine"


def test_back_to_normal_after_a_dip_is_a_return_not_a_rise() -> None:
    """40 weeks at 100 +/- 2, then a previous quarter 10 lower, then the review quarter back
    at 100: against the baseline (which holds the dip) it is a rise; against the normal
    before the dip it is routine. The status names the recovered dip."""
    normal = [100.0, 102.0, 98.0, 101.0, 99.0] * 8
    dip = [90.0, 92.0, 88.0, 91.0, 89.0, 90.0, 92.0, 88.0, 91.0, 89.0, 90.0, 92.0, 88.0]
    back = [100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 101.0, 99.0]
    points = frame(normal + dip + back, review_from=53)
    previous = (np.arange(len(points)) >= 40) & (np.arange(len(points)) < 53)
    lim = signals.xmr_limits(points)
    shift = signals.shift_status(points, lim)
    assert shift.iloc[0]["shift"] in (0, 1)  # against the baseline holding the dip: a rise or none
    earlier = signals.earlier_move(points, previous)
    assert earlier.iloc[0]["previous_shift"] == -1 and bool(earlier.iloc[0]["back_to_normal"])
    out = signals.statuses(lim, shift, earlier, pd.Series(1, index=shift.index)).iloc[0]
    assert out["status"] == "returned" and out["shift_direction"] == -1


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
    return rules[list(signals.RULES)].to_numpy(), _status(points, lim)


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
    step = np.r_[np.zeros(47), np.full(13, 3.0)]  # the last series shifts in its period
    parts = [
        frame(list(rng.normal(0, 1, n) + (step if n == 60 else 0)), review_from=n - 13, key=k)
        for k, n in enumerate((8, 25, 40, 60))
    ]
    together = pd.concat(parts, ignore_index=True)
    lim_all = signals.xmr_limits(together)
    rules_all = signals.run_rules(together, lim_all)
    offset = 0
    for k, part in enumerate(parts):
        lim_one = signals.xmr_limits(part)
        rules_one = signals.run_rules(part, lim_one)
        for column in ("centre", "mr_bar"):
            expected = lim_one.iloc[0][column]
            assert lim_all.loc[k, column] == pytest.approx(expected, nan_ok=True)
        one = signals.shift_status(part, lim_one).iloc[0]
        assert signals.shift_status(together, lim_all).loc[k].equals(one)
        got = rules_all.iloc[offset : offset + len(part)][list(signals.RULES)].to_numpy()
        assert (got == rules_one[list(signals.RULES)].to_numpy()).all()
        offset += len(part)


RARE_BASE = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0] * 4  # 8 deals in 40 weeks


def _rare(review: list[float]) -> pd.Series:
    points = frame(RARE_BASE + review, review_from=40)
    return signals.shift_status(points, signals.xmr_limits(points)).iloc[0]


def test_one_busy_week_of_a_rare_count_is_not_a_shift() -> None:
    """Baseline mean 0.2 a week: 3 and 2 deals in two weeks pass the CUSUM's h (z = 7.9),
    but 5 deals in the 8 weeks since against 8 in 40 is binomial(13, 8/48) tail 0.05:
    not a shift (the exact test asks for 0.005)."""
    assert _rare([0, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 0, 0])["shift"] == 0


def test_a_sustained_rise_of_a_rare_count_is_a_shift() -> None:
    """2 deals every week of the period: 26 against 8 in 40 weeks, tail far below 0.005."""
    out = _rare([2.0] * 13)
    assert out["shift"] == 1 and bool(out["shift_holds"])


def test_the_exact_test_matches_a_hand_worked_binomial_tail() -> None:
    """P(X >= 5) for X ~ binomial(13, 1/6): 1 - sum_{k<5} C(13,k) (1/6)^k (5/6)^(13-k)."""
    from math import comb

    from scipy.stats import binom

    by_hand = 1 - sum(comb(13, k) * (1 / 6) ** k * (5 / 6) ** (13 - k) for k in range(5))
    assert binom.sf(4, 13, 1 / 6) == pytest.approx(by_hand)
    assert 0.005 < by_hand < 0.1


def test_two_big_weeks_of_a_skewed_amount_are_not_a_shift() -> None:
    """Revenue-like: most weeks 0, some 5,000 (centre 1,250, mR-bar 2,436, sigma 2,159).
    40,000 and 35,000 in two weeks pass the CUSUM at once (z = 17.9), but the 4 points since
    (40,000, 35,000, 0, 0) do not rank above the baseline's 30 zeros and 10 x 5,000: U =
    40 + 40 + 15 + 15 = 110 of 160 pairs, one-sided p = 0.06, not under 0.01."""
    from scipy.stats import mannwhitneyu

    base = ([0.0] * 3 + [5000.0]) * 10
    review = [0.0] * 9 + [40000.0, 35000.0, 0.0, 0.0]
    points = frame(base + review, review_from=40)
    out = signals.shift_status(points, signals.xmr_limits(points)).iloc[0]
    assert out["cusum_shift"] == 1 and out["shift"] == 0
    result = mannwhitneyu(review[9:], base, alternative="greater")
    assert result.statistic == 110 and 0.01 < result.pvalue < 0.1
    sustained = frame(base + [5000.0] * 13, review_from=40)  # every week a 5,000 week
    assert signals.shift_status(sustained, signals.xmr_limits(sustained)).iloc[0]["shift"] == 1


def _four_quarters(levels: list[float], last: list[float], startup: int = 0) -> pd.DataFrame:
    """Four quarters of 13 weeks around ``levels`` (+/-0.3 alternating), the last
    ``len(last)`` weeks replaced by ``last``; ``startup`` weeks at 0 in front."""
    values = [0.0] * startup
    for level in levels:
        values += [level + (0.3 if i % 2 else -0.3) for i in range(13)]
    values[len(values) - len(last) :] = last
    return frame(values, review_from=len(values) - 13)


def _period_status(points: pd.DataFrame) -> pd.Series:
    n = len(points)
    previous = (np.arange(n) >= n - 26) & (np.arange(n) < n - 13)
    lim = signals.xmr_limits(points)
    shift = signals.shift_status(points, lim)
    earlier = signals.earlier_move(points, previous)
    return signals.statuses(lim, shift, earlier, pd.Series(1, index=shift.index)).iloc[0]


@pytest.mark.parametrize("startup", [0, 13])
def test_a_collapse_to_zero_is_never_back_at_its_usual_level(startup: int) -> None:
    """3.7 / 4.4 / 7.2 / 1.5 a week over four quarters, the last 4 weeks 0: the previous
    quarter rose, this one fell below everything before; not a return ("back at its
    usual level", "routine again") but a worsening shift. With 13 start-up weeks at 0
    in front the older normal still leaves them out (they would pull it toward 0)."""
    points = _four_quarters([3.7, 4.4, 7.2, 1.5], [0.0, 0.0, 0.0, 0.0], startup)
    out = _period_status(points)
    assert out["status"] != "returned"
    assert not bool(out["returned_after_previous"])
    assert out["status"] == "worsening_shift"


def test_a_return_must_end_inside_the_usual_range() -> None:
    """A move that came and went (z 3 3 3, then back) but whose last point lies beyond
    the lower limit (centre 0 -/+ 3 sigma) is not "returned": it ends outside."""
    z = [3, 3, 3, -1, -1, -1, -1, -1, -1, -1, 0, 0, -3.5]
    points = frame(z, review_from=0)
    shift = signals.shift_status(points, _limits(0.0, 1.0))
    assert not bool(shift.iloc[0]["ends_inside"])
    assert _status(points, _limits(0.0, 1.0)) == "routine"


def test_a_zero_heavy_baseline_never_gets_a_range_of_zero_width() -> None:
    """0 in 36 of 40 weeks, 50 in four single weeks (the last ends the baseline): moving
    ranges 50 x 7 (mean 350/39 = 8.97), each above 3.267 x 8.97 = 29.3, so the screen
    would leave none (width 0); it keeps them: mR-bar 8.97, and the baseline is sparse
    (36/40 = 0.9 >= 0.75 at 0)."""
    values = ([0.0] * 9 + [50.0]) * 4 + [0.0] * 13
    points = frame(values, review_from=40)
    lim = signals.xmr_limits(points).iloc[0]
    assert lim["mr_bar"] == pytest.approx(350 / 39)
    assert lim["upper"] > lim["lower"]
    sparse = signals.sparse_counts(points).iloc[0]
    assert bool(sparse["sparse"]) and sparse["sparse_value"] == 0
    assert sparse["baseline_events"] == 4 and sparse["period_events"] == 0
    assert sparse["period_points"] == 13


SPARSE_BASE = ([0.0] * 6 + [16.7] + [0.0] * 3) * 4  # a share late: 4 late weeks in 40


def _mid_p_upper(events: int, total: int, share: float) -> float:
    """P(W > events) + P(W = events) / 2 for W ~ binomial(total, share), by hand."""

    def pmf(k: int) -> float:
        return comb(total, k) * share**k * (1 - share) ** (total - k)

    return sum(pmf(k) for k in range(events + 1, total + 1)) + pmf(events) / 2


def test_three_late_weeks_of_a_sparse_share_are_not_a_shift() -> None:
    """The CUSUM crosses on 33.3, 50 and 16.7 % in a row (mR-bar 3.4 from a baseline
    mostly 0), but 3 events in the 13 review weeks against 4 in 40 is a mid-p tail of
    binomial(7, 13/53) above 0.1: routine."""
    review = [0.0] * 6 + [33.3, 50.0, 16.7] + [0.0] * 4
    points = frame(SPARSE_BASE + review, review_from=40)
    limits = signals.xmr_limits(points)
    assert _mid_p_upper(3, 7, 13 / 53) > signals.SPARSE_ALPHA
    assert signals.shift_status(points, limits).iloc[0]["shift"] == 0
    gate = signals._sparse_and_unproven(
        points, limits.index, np.asarray([review]), np.asarray([True])
    )
    assert gate.tolist() == [True]  # the CUSUM's call, not borne out by the events


def test_late_weeks_most_of_the_period_are_a_shift() -> None:
    """9 late weeks of 13 against 4 in 40: mid-p tail of binomial(13, 13/53) far below 0.1."""
    review = [16.7, 0, 33.3, 0, 16.7, 16.7, 0, 33.3, 16.7, 0, 16.7, 33.3, 16.7]
    points = frame(SPARSE_BASE + review, review_from=40)
    assert _mid_p_upper(9, 13, 13 / 53) < signals.SPARSE_ALPHA
    assert signals.shift_status(points, signals.xmr_limits(points)).iloc[0]["shift"] == 1


def test_sparse_counts_agree_with_value_counts_by_hand() -> None:
    """Per series: sparse when the baseline's most frequent value holds >= 75 % of it
    (pandas value_counts, a second method), that value, and the points off it."""
    rng = np.random.default_rng(5)
    series = [
        rng.choice([0.0] * 5 + [16.7, 33.3], size=53),  # mostly 0: sparse
        rng.choice([0.0, 0.0, 0.0, 16.7, np.nan], size=53),  # 60 % at 0: not
        np.round(rng.normal(50, 5, 53), 1),  # continuous: not
        np.array([2.0] * 30 + [1.0, 3.0] * 5 + [2.0] * 13),  # 30 of 40 at 2: sparse
    ]
    points = pd.concat(
        [frame(list(v), review_from=40, key=k) for k, v in enumerate(series)], ignore_index=True
    )
    got = signals.sparse_counts(points)
    for k, values in enumerate(series):
        base, review = pd.Series(values[:40]), values[40:]
        counts = base.value_counts(dropna=True)
        mode = counts.index[counts.to_numpy() == counts.max()].min()
        sparse = counts.max() / len(base) >= signals.SPARSE_SHARE
        assert bool(got.loc[k, "sparse"]) == sparse, k
        if sparse:
            assert got.loc[k, "sparse_value"] == mode
            assert got.loc[k, "baseline_events"] == int((base != mode).sum())
            assert got.loc[k, "period_events"] == int((review != mode).sum())
    assert got["sparse"].tolist() == [True, False, False, True]
