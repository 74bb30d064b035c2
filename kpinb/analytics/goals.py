"""Goals as pathways: OKR-style scores (0.0 to 1.0; 0.7 or more counts as a success unless
the workspace sets its own line) and a projection of where the review period lands if the
recent trend goes on.

Worked example (higher is better): baseline 40, target 60, current 54 gives
(54 - 40) / (60 - 40) = 0.7, a success. For a lower-is-better KPI, baseline 10,
target 6, current 9 gives (9 - 10) / (6 - 10) = 0.25.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from kpinb.periods import Period

SUCCESS = 0.7  # the default success line; a workspace sets its own (goals.success)
_EPS = 1e-9  # a score that is 0.7 on paper may come out as 0.6999999999999998 in floats
_WEEKS_PER_MONTH = 365.25 / 12 / 7


def score(
    current: ArrayLike, baseline: ArrayLike, target: ArrayLike, sign: ArrayLike
) -> np.ndarray:
    """OKR score, clipped to 0..1 and direction-aware; NaN where current or baseline is.

    When the target is no better than the baseline (a "hold the level" target) the
    score is 1.0 if current is at or better than the target, else 0.0.
    """
    current, baseline, target, sign = (
        np.asarray(a, dtype=float) for a in (current, baseline, target, sign)
    )
    gap = sign * (target - baseline)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.clip(sign * (current - baseline) / gap, 0.0, 1.0)
    hold = np.where(sign * (current - target) >= 0, 1.0, 0.0)
    out = np.where(gap > 0, ratio, hold)
    return np.where(np.isnan(current) | np.isnan(baseline) | np.isnan(target), np.nan, out)


def remaining_steps(last: pd.Series, cadence: pd.Series, end: pd.Timestamp) -> np.ndarray:
    """Cadence steps still to come after each series' last point until ``end``."""
    days = (pd.Timestamp(end) - last).dt.days.to_numpy(dtype=float)
    months = (
        (pd.Timestamp(end).to_period("M") - last.dt.to_period("M"))
        .map(lambda d: getattr(d, "n", np.nan))
        .to_numpy(dtype=float)
    )
    steps: np.ndarray = np.where(cadence.to_numpy() == "monthly", months, np.floor(days / 7))
    remaining: np.ndarray = np.clip(np.nan_to_num(steps), 0, None).astype(int)
    return remaining


def project(summary: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Projected level of the review period: its points so far plus the Theil-Sen line
    (through the fitted value at the last point) for each remaining step.

    ``summary`` needs level, n_in_period, trend_slope, trend_level, last_observed,
    cadence. Without a trend the projection is the level so far.
    """
    steps = remaining_steps(summary["last_observed"], summary["cadence"], end)
    step_weeks = np.where(summary["cadence"].to_numpy() == "monthly", _WEEKS_PER_MONTH, 1.0)
    slope = summary["trend_slope"].to_numpy(dtype=float)
    has_trend = ~np.isnan(slope)
    line_sum = steps * summary["trend_level"].to_numpy(dtype=float) + (
        slope * step_weeks * steps * (steps + 1) / 2
    )
    n = summary["n_in_period"].to_numpy(dtype=float)
    level = summary["level"].to_numpy(dtype=float)
    projected = np.where(has_trend & (steps > 0), (n * level + line_sum) / (n + steps), level)
    return pd.DataFrame(
        {"projected": projected, "remaining_points": np.where(has_trend, steps, 0)},
        index=summary.index,
    )


def goal_progress(
    targets: pd.DataFrame, summary: pd.DataFrame, period: Period, success: float = SUCCESS
) -> pd.DataFrame:
    """Score every target of ``period`` against the matching series of ``summary``.

    A score of ``success`` or more (the workspace's success line) counts as a success.

    ``summary`` is the analysis summary (scope, scope_id, kpi_id, sign, level,
    prev_level, prev_crosses_definition, trend and last-point columns). The baseline
    is the target's own when given, else the level of the previous period, unless
    that period's points are (partly) of another definition version: then there is
    no baseline (``baseline_source`` = ``crosses_definition_change``) and no score,
    since a level of the old definition says nothing about progress on the new one.
    """
    columns = ["scope", "scope_id", "kpi_id", "period", "target", "baseline"]
    targets = targets.reindex(columns=columns)  # an absent targets file: no columns at all
    mine = targets[targets["period"].astype(str) == period.label]
    mine = mine[["scope", "scope_id", "kpi_id", "target", "baseline"]].astype(
        {"scope": str, "scope_id": str, "kpi_id": str}
    )
    cols = [
        "scope",
        "scope_id",
        "kpi_id",
        "sign",
        "level",
        "prev_level",
        "prev_crosses_definition",
        "n_in_period",
        "trend_slope",
        "trend_level",
        "last_observed",
        "cadence",
    ]
    merged = mine.merge(summary[cols], on=["scope", "scope_id", "kpi_id"], how="left")
    given = merged["baseline"].notna()
    crosses = ~given & merged["prev_crosses_definition"].fillna(False).astype(bool)
    baseline = merged["baseline"].where(given, merged["prev_level"].mask(crosses))
    source = np.where(
        given, "given", np.where(crosses, "crosses_definition_change", "previous_period")
    )
    sign = merged["sign"].fillna(1)
    proj = project(merged.assign(cadence=merged["cadence"].fillna("weekly")), period.end)
    out = pd.DataFrame(
        {
            "scope": merged["scope"],
            "scope_id": merged["scope_id"],
            "kpi_id": merged["kpi_id"],
            "period": period.label,
            "target": merged["target"],
            "baseline": baseline,
            "baseline_source": source.astype(object),
            "current": merged["level"],
        }
    )
    out["score"] = score(out["current"], baseline, out["target"], sign)
    out["success"] = out["score"] >= success - _EPS
    out["projected"] = proj["projected"]
    out["projected_score"] = score(out["projected"], baseline, out["target"], sign)
    out["projected_success"] = out["projected_score"] >= success - _EPS
    out["remaining_points"] = proj["remaining_points"]
    return out.reset_index(drop=True)
