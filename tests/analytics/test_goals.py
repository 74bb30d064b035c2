"""OKR scores and projections, worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpinb.analytics import goals
from kpinb.periods import parse_period


@pytest.mark.parametrize(
    ("current", "baseline", "target", "sign", "expected"),
    [
        (54, 40, 60, 1, 0.7),  # (54 - 40) / (60 - 40)
        (9, 10, 6, -1, 0.25),  # lower is better: (9 - 10) / (6 - 10)
        (70, 40, 60, 1, 1.0),  # beyond the target: clipped
        (35, 40, 60, 1, 0.0),  # below the baseline: clipped
        (12, 10, 6, -1, 0.0),  # lower is better and it rose: clipped
        (50, 50, 50, 1, 1.0),  # hold-the-level target, held
        (49, 50, 50, 1, 0.0),  # hold-the-level target, not held
        (52, 50, 45, 1, 1.0),  # target below the baseline of a rising KPI: held above it
    ],
)
def test_score(current: float, baseline: float, target: float, sign: int, expected: float) -> None:
    got = goals.score(
        np.array([current]), np.array([baseline]), np.array([target]), np.array([sign])
    )
    assert got[0] == pytest.approx(expected)


def test_score_is_direction_symmetric_and_nan_without_current() -> None:
    rng = np.random.default_rng(2)
    c, b, t = rng.normal(50, 10, (3, 50))
    up = goals.score(c, b, t, np.ones(50))
    assert np.allclose(up, goals.score(-c, -b, -t, -np.ones(50)))
    assert np.isnan(
        goals.score(np.array([np.nan]), np.array([1.0]), np.array([2.0]), np.array([1]))[0]
    )


def test_success_threshold() -> None:
    assert goals.SUCCESS == 0.7


def test_a_score_of_exactly_point_seven_is_a_success_despite_float_rounding() -> None:
    """Baseline 1.2, target 2.2, current 1.9: (1.9 - 1.2) / (2.2 - 1.2) = 0.7 / 1.0 = 0.7
    exactly, but in floats it comes out as 0.6999999999999998. Current 1.89 gives 0.69."""
    targets = pd.DataFrame(
        {
            "scope": ["employee", "employee"],
            "scope_id": ["E1", "E2"],
            "kpi_id": ["k", "k"],
            "period": ["2026-Q3", "2026-Q3"],
            "target": [2.2, 2.2],
            "baseline": [1.2, 1.2],
        }
    )
    summary = pd.concat(
        [
            _summary(level=1.9, trend_slope=np.nan, last_observed=pd.Timestamp("2026-09-28")),
            _summary(scope_id="E2", level=1.89, trend_slope=np.nan),
        ],
        ignore_index=True,
    )
    out = goals.goal_progress(targets, summary, parse_period("2026-Q3"))
    assert out["score"].tolist() == pytest.approx([0.7, 0.69])
    assert out["success"].tolist() == [True, False]
    assert out["projected_success"].tolist() == [True, False]


def _summary(**overrides: object) -> pd.DataFrame:
    row = {
        "scope": "employee",
        "scope_id": "E1",
        "kpi_id": "k",
        "sign": 1,
        "level": 50.0,
        "prev_level": 40.0,
        "prev_crosses_definition": False,
        "n_in_period": 11,
        "trend_slope": 1.0,
        "trend_level": 55.0,
        "last_observed": pd.Timestamp("2026-09-14"),
        "cadence": "weekly",
    }
    row.update(overrides)
    return pd.DataFrame([row])


def test_projection_adds_the_trend_line_for_the_remaining_weeks() -> None:
    """Last point 14 Sep, period ends 30 Sep: 2 more weekly points (21, 28 Sep) at
    55 + 1 and 55 + 2. Projected level = (11 x 50 + 56 + 57) / 13 = 663 / 13."""
    out = goals.project(_summary(), pd.Timestamp("2026-09-30"))
    assert out.loc[0, "remaining_points"] == 2
    assert out.loc[0, "projected"] == pytest.approx(663 / 13)


def test_projection_of_a_complete_period_is_its_level() -> None:
    out = goals.project(
        _summary(last_observed=pd.Timestamp("2026-09-28")), pd.Timestamp("2026-09-30")
    )
    assert out.loc[0, "projected"] == 50 and out.loc[0, "remaining_points"] == 0


def test_monthly_projection_counts_months() -> None:
    """Last point 1 Jul, period ends 30 Sep: Aug and Sep remain."""
    out = goals.project(
        _summary(
            cadence="monthly",
            last_observed=pd.Timestamp("2026-07-01"),
            n_in_period=1,
            trend_slope=0.0,
        ),
        pd.Timestamp("2026-09-30"),
    )
    assert out.loc[0, "remaining_points"] == 2
    assert out.loc[0, "projected"] == pytest.approx((50 + 2 * 55) / 3)


def test_goal_progress_uses_given_baseline_or_the_previous_period() -> None:
    targets = pd.DataFrame(
        {
            "scope": ["employee", "employee", "employee"],
            "scope_id": ["E1", "E1", "E1"],
            "kpi_id": ["k", "k", "k"],
            "period": ["2026-Q3", "2026-Q3", "2026-Q2"],
            "target": [60.0, 60.0, 99.0],
            "baseline": [45.0, np.nan, np.nan],
        }
    )
    out = goals.goal_progress(targets, _summary(), parse_period("2026-Q3"))
    assert len(out) == 2  # the Q2 target is not this period's
    assert out["baseline_source"].tolist() == ["given", "previous_period"]
    assert out["baseline"].tolist() == [45.0, 40.0]
    assert out["score"].tolist() == pytest.approx([5 / 15, 10 / 20])
    assert out["projected_score"].tolist() == pytest.approx(
        [(663 / 13 - 45) / 15, (663 / 13 - 40) / 20]
    )
    assert not out["success"].any()


def test_goal_without_data_scores_nan() -> None:
    targets = pd.DataFrame(
        {
            "scope": ["team"],
            "scope_id": ["T9"],
            "kpi_id": ["k"],
            "period": ["2026-Q3"],
            "target": [1.0],
            "baseline": [np.nan],
        }
    )
    out = goals.goal_progress(targets, _summary(), parse_period("2026-Q3"))
    assert np.isnan(out.loc[0, "score"]) and not out.loc[0, "success"]


def test_no_targets_at_all() -> None:
    out = goals.goal_progress(pd.DataFrame(), _summary(), parse_period("2026-Q3"))
    assert out.empty and {"score", "projected_score", "success"} <= set(out.columns)


def test_no_baseline_across_a_definition_change() -> None:
    """Without a given baseline, a previous period of another definition version gives
    no baseline and no score (its level measures something else); a given baseline
    still scores: (50 - 45) / (60 - 45) = 1/3."""
    targets = pd.DataFrame(
        {
            "scope": ["employee", "employee"],
            "scope_id": ["E1", "E1"],
            "kpi_id": ["k", "j"],
            "period": ["2026-Q3", "2026-Q3"],
            "target": [60.0, 60.0],
            "baseline": [np.nan, 45.0],
        }
    )
    summary = pd.concat(
        [
            _summary(prev_crosses_definition=True),
            _summary(kpi_id="j", prev_crosses_definition=True),
        ],
        ignore_index=True,
    )
    out = goals.goal_progress(targets, summary, parse_period("2026-Q3"))
    assert out["baseline_source"].tolist() == ["crosses_definition_change", "given"]
    assert np.isnan(out.loc[0, "baseline"]) and np.isnan(out.loc[0, "score"])
    assert np.isnan(out.loc[0, "projected_score"]) and not out.loc[0, "success"]
    assert out.loc[1, "score"] == pytest.approx(1 / 3)
