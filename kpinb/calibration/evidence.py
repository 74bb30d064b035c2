"""The evidence of each person for calibration: pure functions over the period's tables.

Everything here reads what :func:`kpinb.analytics.analyse` already computed (statuses
against the person's own recent normal, changes, goal scores, streaks and bests, data
quality) plus the ratings, journal and feasibility tables; nothing is recomputed and
nothing is read from disk. A person's *evidence direction* is what their KPIs' statuses
say this period, and a rating's *standing* is where it sits against the period's median
rating; the prompts (:mod:`kpinb.calibration.prompts`) compare the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kpinb.analytics import KPI_STATUSES, READABLE_STATUSES, SUCCESS
from kpinb.kpis import is_percent
from kpinb.report.stories import story_of

if TYPE_CHECKING:
    from kpinb.kpis import KpiSpec
    from kpinb.periods import Period
    from kpinb.settings import RatingScale

# how a status reads in the pack (never a verdict: a shift opens a conversation)
STATUS_LABELS = {s.name: s.label for s in KPI_STATUSES.values()}
MISSING_SHARE = 0.25  # a quarter of a KPI's expected points absent is a gap under a rating

KPI_COLUMNS = (
    "employee_id", "kpi_id", "kpi", "unit", "status", "status_label", "shift_onset", "level",
    "prev_label", "prev_change", "prev_change_rel", "better_than_previous", "trend_direction",
    "streak_length", "best_is_new", "goal_target", "goal_score", "goal_success",
    "projected", "projected_score", "expected_in_period", "missing_in_period", "stale",
    "last_observed", "out_of_range", "shared", "over_time", "over_time_from",
    "over_time_from_level", "over_time_to_level", "over_time_shared",
)  # fmt: skip
# the label of a KPI whose move the person's group made (context, not evidence)
SHARED_LABEL = "a change shared with the group: context, not individual evidence"


def evidence_status(story: str) -> str:
    """The status a KPI counts as in calibration, from the story the person's own report
    tells: a shift up or down only where the report tells one (a shift its quarter's
    change and trend contradict, told as easing back or recovering, counts as routine;
    so does a move the group made), a return where it tells one."""
    told = story_of(story)
    if told is None:
        return "routine"
    if told.glance:
        return "improving_shift" if told.glance > 0 else "worsening_shift"
    return {
        "recovered": "returned",
        "eased": "returned",
        "new": "not_enough_history",
        "no_data": "no_data",
    }.get(told.name, "routine")


def kpi_evidence(
    summary: pd.DataFrame,
    goals: pd.DataFrame,
    kpis: Mapping[str, KpiSpec],
    told: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per person and KPI: status, change against their own past, goal, quality.

    ``summary`` and ``goals`` are the analysis tables (any scopes: only employee rows
    are kept). ``told``: the story and badge each person's own report gives each KPI
    (:func:`kpinb.report.told`); with it, ``status`` is the story's
    (:func:`evidence_status`), ``status_label`` its badge and ``shared`` the report's
    shared story, so the pack tells a KPI as the report does. ``better_than_previous``
    is +1, -1 or 0 by the KPI's direction (NaN change: 0).
    """
    rows = summary[summary["scope"] == "employee"].copy()
    rows["employee_id"] = rows["scope_id"].astype(str)
    rows["kpi_id"] = rows["kpi_id"].astype(str)
    mine = goals[goals["scope"] == "employee"].assign(
        employee_id=lambda g: g["scope_id"].astype(str), kpi_id=lambda g: g["kpi_id"].astype(str)
    )
    mine = mine.rename(
        columns={"target": "goal_target", "score": "goal_score", "success": "goal_success"}
    )
    keep = ["employee_id", "kpi_id", "goal_target", "goal_score", "goal_success"]
    keep += ["projected", "projected_score"]
    rows = rows.merge(mine[keep], on=["employee_id", "kpi_id"], how="left")
    rows["kpi"] = rows["kpi_id"].map(lambda k: kpis[k].name if k in kpis else k)
    rows["unit"] = rows["kpi_id"].map(lambda k: kpis[k].unit if k in kpis else "")
    # a percent KPI's change is in percentage points (prev_change); a relative change of a
    # percentage is left empty, so no sheet shows "+16 %" for a rate that rose 9 points
    rows["prev_change_rel"] = rows["prev_change_rel"].where(~rows["unit"].map(is_percent))
    rows["status"] = rows["status"].astype(str)
    rows["status_label"] = rows["status"].map(STATUS_LABELS).fillna(rows["status"])
    rows["shared"] = shared_moves(rows)
    if told is not None:
        stories = told.set_index(["employee_id", "kpi_id"])
        at = pd.MultiIndex.from_frame(rows[["employee_id", "kpi_id"]])
        story = stories["story"].reindex(at).to_numpy()
        known = pd.notna(story)
        rows["status"] = np.where(
            known, [evidence_status(str(s)) for s in story], rows["status"]
        ).astype(object)
        rows["status_label"] = np.where(
            known, stories["badge"].reindex(at).to_numpy(), rows["status_label"]
        ).astype(object)
        rows["shared"] = np.where(known, story == "shared", rows["shared"]).astype(bool)
    rows.loc[rows["shared"], "status_label"] = SHARED_LABEL
    oriented = pd.to_numeric(rows["prev_change_oriented"], errors="coerce")
    rows["better_than_previous"] = np.sign(oriented.fillna(0.0)).astype(int)
    rows["goal_success"] = rows["goal_success"].astype("boolean")
    order = {k: i for i, k in enumerate(kpis)}
    rows = rows.sort_values(
        ["employee_id", "kpi_id"], key=lambda s: s.map(order) if s.name == "kpi_id" else s
    )
    return rows.loc[:, list(KPI_COLUMNS)].reset_index(drop=True)


def shared_moves(rows: pd.DataFrame) -> pd.Series:
    """Per row: the KPI moved with the person's group (docs/analytics.md "Whose change is
    it": ``shared_own`` False, at least half the group moving that way), so its status is
    context, never individual evidence."""
    if "shared_own" not in rows:
        return pd.Series(False, index=rows.index)
    own = rows["shared_own"].astype("boolean")
    moved = pd.to_numeric(rows["shared_moved"], errors="coerce")
    of = pd.to_numeric(rows["shared_of"], errors="coerce")
    return ((own == False) & (2 * moved >= of)).fillna(False).astype(bool)  # noqa: E712


def direction_of(statuses: pd.Series) -> str:
    """What a person's statuses say this period.

    ``improving`` (an improving shift and none the other way), ``worsening`` (the
    mirror), ``mixed`` (both), ``steady`` (readable KPIs, no shift), ``thin`` (no KPI
    can be read this period: too new or no value).
    """
    values = set(statuses.astype(str))
    up, down = "improving_shift" in values, "worsening_shift" in values
    if up and down:
        return "mixed"
    if up:
        return "improving"
    if down:
        return "worsening"
    return "steady" if values & set(READABLE_STATUSES) else "thin"


def person_evidence(kpi_rows: pd.DataFrame, success: float = SUCCESS) -> pd.DataFrame:
    """One row per person: counts of each status, goals, streaks and bests, data gaps.

    ``success``: the goal score that counts as a success (the workspace's
    ``[goals] success``; 0.7 by default).

    Columns: employee_id, kpis, improving, worsening, returned, routine, too_new,
    no_value, direction, goals, goals_at_success, goals_projected_success,
    mean_goal_score, new_bests, longest_streak, stale_kpis, missing_points,
    expected_points, out_of_range, shared (KPIs that moved with the group: counted as
    routine, never as the person's improving or worsening evidence).
    """
    columns = [
        "employee_id", "kpis", "improving", "worsening", "returned", "routine", "too_new",
        "no_value", "direction", "goals", "goals_at_success", "goals_projected_success",
        "mean_goal_score", "new_bests", "longest_streak", "stale_kpis", "missing_points",
        "expected_points", "out_of_range", "shared",
    ]  # fmt: skip
    out = []
    for eid, rows in kpi_rows.groupby("employee_id", sort=True):
        shared = (
            rows["shared"].astype(bool) if "shared" in rows else pd.Series(False, index=rows.index)
        )
        # a move the group made is context: it counts as routine, not as evidence
        status = rows["status"].where(~shared, "routine")
        scored = rows["goal_score"].dropna()
        projected = rows["projected_score"].dropna()
        out.append(
            {
                "employee_id": str(eid),
                "kpis": len(rows),
                "improving": int((status == "improving_shift").sum()),
                "worsening": int((status == "worsening_shift").sum()),
                "returned": int((status == "returned").sum()),
                "routine": int((status == "routine").sum()),
                "too_new": int((status == "not_enough_history").sum()),
                "no_value": int((status == "no_data").sum()),
                "direction": direction_of(status),
                "goals": len(scored),
                "goals_at_success": int((scored >= success).sum()),
                "goals_projected_success": int((projected >= success).sum()),
                "mean_goal_score": float(scored.mean()) if len(scored) else np.nan,
                "new_bests": int(rows["best_is_new"].fillna(False).astype(bool).sum()),
                "longest_streak": int(rows["streak_length"].fillna(0).max()),
                "stale_kpis": int(rows["stale"].fillna(False).astype(bool).sum()),
                "missing_points": int(rows["missing_in_period"].fillna(0).sum()),
                "expected_points": int(rows["expected_in_period"].fillna(0).sum()),
                "out_of_range": int(rows["out_of_range"].fillna(0).sum()),
                "shared": int(np.sum(shared)),
            }
        )
    return pd.DataFrame(out, columns=columns)


def rating_standing(ratings: pd.Series) -> tuple[pd.Series, float]:
    """Each rating against the period's median rating: +1 above, -1 below, 0 at it.

    Returns the standings (NaN where there is no rating) and the median (NaN when no
    one is rated). The median of everyone rated in the period is the middle that
    "high" and "low" are read against, whatever the rating scale.
    """
    values = pd.to_numeric(ratings, errors="coerce")
    median = float(values.median()) if values.notna().any() else float("nan")
    standing = np.sign(values - median)
    return standing.where(values.notna()), median


def period_journal(entries: pd.DataFrame, actions: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Per person: check-ins dated in the period, open actions, a dependency diagnosis.

    ``entries``: the journal's latest entry versions (employee_id, date, diagnosis,
    why_moved); ``actions``: open actions as of the period's end (employee_id). Columns:
    employee_id, checkins, open_actions, dependency_note (the latest "dependency"
    entry's why_moved in the period, "" if none).
    """
    dated = entries[(entries["date"] >= period.start) & (entries["date"] <= period.end)]
    checkins = dated.groupby("employee_id").size()
    dependency = (
        dated[dated["diagnosis"] == "dependency"]
        .sort_values("date")
        .groupby("employee_id")["why_moved"]
        .last()
    )
    opened = actions.groupby("employee_id").size()
    ids = sorted(set(checkins.index) | set(opened.index) | set(dependency.index))
    return pd.DataFrame(
        {
            "employee_id": [str(i) for i in ids],
            "checkins": [int(checkins.get(i, 0)) for i in ids],
            "open_actions": [int(opened.get(i, 0)) for i in ids],
            "dependency_note": [str(dependency.get(i, "")) for i in ids],
        },
        columns=["employee_id", "checkins", "open_actions", "dependency_note"],
    )


def person_flags(flags: pd.DataFrame, people: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Feasibility flags of the period that concern each person: their own, and their team's.

    Columns: employee_id, kpi_id, scope (employee/team), flagged_by, reason.
    """
    columns = ["employee_id", "kpi_id", "scope", "flagged_by", "reason"]
    now = flags[flags["period"].astype(str) == period.label]
    own = now[now["scope"] == "employee"].assign(employee_id=lambda f: f["scope_id"].astype(str))
    teams = now[now["scope"] == "team"].merge(
        people[["employee_id", "team_id"]].astype(str), left_on="scope_id", right_on="team_id"
    )
    both = pd.concat([own, teams], ignore_index=True)
    if both.empty:
        return pd.DataFrame(columns=columns)
    both["kpi_id"] = both["kpi_id"].astype(str)
    return both.loc[:, columns].sort_values(["employee_id", "kpi_id"]).reset_index(drop=True)


def rating_text(scale: RatingScale, value: float | None) -> str:
    """A rating as people read it: ``4 (Strong)`` with the scale's label, ``4`` where the
    label is the number itself, "" for none (None or NaN)."""
    if value is None or value != value:
        return ""
    number = f"{float(value):g}"
    label = scale.label(float(value))
    return number if label == number else f"{number} ({label})"


def tenure_years(start: pd.Series, period: Period) -> pd.Series:
    """Years from each start date to the period's end, to one decimal."""
    days = (period.end - pd.to_datetime(start)).dt.days
    return (days / 365.25).round(1)
