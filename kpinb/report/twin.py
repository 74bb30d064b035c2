"""The JSON twin's data blocks, built from the period's analysis (docs/report-json.md).

Every figure a sentence states is read from these blocks, which are rounded here
once, exactly as the text shows them: KPI values to the KPI's decimals, slopes to
one more, scores to 2 decimals, percentages to 1. So the text and the twin cannot
disagree, and a test checks that they do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from kpinb.analytics import BASELINE_LOCKED, MOVE_STATUSES, SUCCESS, split_by
from kpinb.analytics import pattern as patterns
from kpinb.analytics import shared as sharing
from kpinb.kpis import difference_unit
from kpinb.report import sentences as st
from kpinb.report.stories import tell

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
    from kpinb.kpis import KpiSpec
    from kpinb.periods import Period
    from kpinb.report.render import Section
    from kpinb.workspace import Workspace


SCORING = {"low": 0.0, "high": 1.0, "success": SUCCESS}


def scoring(success: float = SUCCESS) -> dict[str, float]:
    """The twin's ``scoring`` key: goal scores run from 0 to 1; ``success`` (the
    workspace's success line) and above count as a success."""
    return {**SCORING, "success": success}


def success_decimals(success: float) -> int:
    """Decimals that show the success line as set: 1 for 0.7, 2 for 0.65."""
    return max(1, len(f"{success:g}".partition(".")[2]))


def blocks_of(ws: Workspace, part: Analysis) -> list[dict[str, Any]]:
    """The twin's KPI blocks of one scope's analysis, in the KPI dictionary's order."""
    order = {k: i for i, k in enumerate(ws.kpis)}
    rows = part.summary.sort_values("kpi_id", key=lambda s: s.map(order))
    points = split_by(part.points[part.points["current_version"]], "kpi_id")
    first = part.points.groupby("kpi_id", observed=True)["period"].min()
    goals, signals = split_by(part.goals, "kpi_id"), split_by(part.signals, "kpi_id")
    out = []
    for row in cast(list[dict[str, Any]], rows.to_dict("records")):  # columns named by text
        kpi = str(row["kpi_id"])
        pts = points.get(kpi)
        values = [row["level"]] if pts is None else pts["value"].tolist()
        size, held = st.decimals_for(values), st.data_decimals(values)
        goal = goals.get(kpi)
        block = _block(
            ws.kpis[kpi],
            row,
            None if goal is None else goal.iloc[0],
            signals.get(kpi, part.signals.iloc[0:0]),
            (min(size, held + 1), min(size, held)),
            part.period,
            first.get(kpi),
            part.success,
        )
        block["ending"] = _ending(pts, part.period, min(size, held))
        block["quality"]["incomplete_weeks"] = _incomplete_weeks(pts, part.period)
        block["quarters"] = _quarters(pts, part.period, min(size, held + 1))
        block["best"] = _best_since(block["best"], ws.kpis[kpi], first.get(kpi))
        block["pattern"] = pattern_block(row, pts, part.period)
        out.append({**block, "story": tell(block)})
    return out


def _block(
    spec: KpiSpec,
    row: dict[str, Any],
    goal: pd.Series | None,
    signals: pd.DataFrame,
    decimals: tuple[int, int],
    per: Period,
    first: Any,
    success: float = SUCCESS,
) -> dict[str, Any]:
    """One KPI block of the twin (docs/report-json.md), rounded as the text shows it.

    ``decimals``: (averages and ranges, single values). A weekly count of 7 is "7", its
    quarter's average "6.8": values at the precision the data has, averages one finer.
    """
    dec, point = decimals
    level = _num(row["level"], dec) if row["n_in_period"] > 0 else None  # None: withheld too
    return {
        "kpi_id": spec.id,
        "name": spec.name,
        "unit": spec.unit,
        "direction": spec.direction,
        "kind": spec.kind,
        "pair": spec.pair,
        "cadence": spec.cadence,
        "decimals": dec,
        "value_decimals": point,
        "definition_version": int(row["definition_version"]),
        "status": str(row["status"]),
        "shift": _shift(row, dec, per, spec.unit),
        "points": int(row["n_points"]),
        "n_people": int(row["n_people"]),
        "latest": _latest(row, point),
        "level": None if level is None else {"value": level, "points": int(row["n_in_period"])},
        "change": _change(row, "prev", "previous_period", level, dec, spec.unit),
        "year_change": _change(row, "yoy", "same_period_last_year", level, dec, spec.unit),
        "trend": {
            "slope_per_week": _num(row["trend_slope"], dec + 1),
            "direction": _str(row["trend_direction"]),
            "points": int(row["trend_n"]),
        },
        "over_time": _over_time(row, dec),
        "limits": None if _flag(row, "sparse") else _limits(row, dec, spec.denominator),
        "sparse": _sparse(row, point),
        "shared": shared_block(row),
        "pattern": patterns.record(row),
        "unusual_weeks": int((signals["rule"] == "beyond_limit").sum()) if len(signals) else 0,
        "signals": [
            {
                "rule": str(s["rule"]),
                "period": iso(s["period"]),
                "value": _num(s["value"], point),
                "direction": str(s["direction"]),
            }
            for _, s in signals.sort_values(["period", "rule"]).iterrows()
        ],
        "streak": {"length": int(row["streak_length"]), "unit": cadence_unit(spec.cadence)},
        "best": _best(row, point),
        "recovery": _recovery(row, point, per),
        "goal": None if goal is None else _goal(goal, dec, spec.sign, success),
        "quality": {
            "expected": int(row["expected_in_period"]),
            "missing": int(row["missing_in_period"]),
            "incomplete": int(row.get("incomplete_in_period") or 0),
            "stale": bool(row["stale"]),
            "last_observed": iso(row["last_observed"]),
            "out_of_range": int(row["out_of_range"]),
            "limits_widened": bool(row.get("limits_widened", False)),
            "partial_week": bool(row.get("partial_week", False)),
            "incomplete_tail": iso(row.get("incomplete_tail")),
        },
        "withheld": [w for w in str(row.get("withheld") or "").split(",") if w],
        "definition_changes": definition_changes(spec, first),
    }


def _ending(pts: pd.DataFrame | None, per: Period, dec: int) -> dict[str, Any] | None:
    """The period's points as the claims check reads them: the lowest and highest value
    and the last :data:`~kpinb.analytics.signals.CUSUM_RECENT` values (current
    definition, rounded as single values)."""
    from kpinb.analytics.signals import CUSUM_RECENT

    if pts is None:
        return None
    inside = pts[per.contains(pts["period"]).to_numpy()]
    if inside.empty:
        return None
    values = [_num(v, dec) for v in inside["value"]]
    return {
        "min": min(v for v in values if v is not None),
        "max": max(v for v in values if v is not None),
        "last": values[-CUSUM_RECENT:],
    }


def _quarters(pts: pd.DataFrame | None, per: Period, dec: int) -> list[dict[str, Any]]:
    """The series' quarters side by side, oldest first, ending with the review quarter:
    each one's level (the current definition's complete points; a rate's sum / sum) and
    its points. Only quarters with points; in an executive view only the dates shown."""
    from kpinb.analytics.quarters import quarter_levels

    if pts is None or pts.empty:
        return []
    shown = pts[~pts["incomplete"].to_numpy(dtype=bool)].assign(key=0)
    levels = quarter_levels(shown, per).sort_values("back", ascending=False)
    return [
        {"period": str(q), "level": _num(level, dec), "points": int(n)}
        for q, level, n in zip(levels["quarter"], levels["level"], levels["points"], strict=True)
    ]


def _over_time(row: dict[str, Any], dec: int) -> dict[str, Any] | None:
    """A climb (or slide) across quarters (docs/analytics.md, "Over time"): which way,
    over how many quarters, from which quarter's level to the review quarter's; ``shared``
    when half or more of the person's teammates moved the same way (``moved`` of
    ``of``)."""
    direction = row.get("over_time")
    if not direction or pd.isna(direction) or pd.isna(row.get("over_time_to_level")):
        return None
    return {
        "direction": "improving" if direction > 0 else "worsening",
        "quarters": int(row["over_time_quarters"]),
        "from_period": str(row["over_time_from"]),
        "from_level": _num(row["over_time_from_level"], dec),
        "to_level": _num(row["over_time_to_level"], dec),
        "shared": bool(row.get("over_time_shared") or False),
        "moved": int(row.get("over_time_moved") or 0),
        "of": int(row.get("over_time_of") or 0),
    }


def _incomplete_weeks(pts: pd.DataFrame | None, per: Period) -> list[dict[str, Any]]:
    """A group's dates of the period with members missing: when, how many reported and
    how many usually do (the date is left out of the group's figures)."""
    if pts is None or "usual_n" not in pts or not pts["incomplete"].to_numpy(dtype=bool).any():
        return []
    gaps = pts[per.contains(pts["period"]).to_numpy() & pts["incomplete"].to_numpy(dtype=bool)]
    return [
        {"period": iso(p), "reported": int(n), "usual": int(u)}
        for p, n, u in zip(gaps["period"], gaps["n"], gaps["usual_n"], strict=True)
    ]


def _best_since(best: dict[str, Any] | None, spec: KpiSpec, first: Any) -> dict[str, Any] | None:
    """The best with ``since_definition``: the day the current definition took effect
    when the series has points under an earlier one (the best is the current
    definition's), else None."""
    if best is None:
        return None
    changes = definition_changes(spec, first)
    return {**best, "since_definition": changes[-1]["effective_from"] if changes else None}


def pattern_block(
    row: dict[str, Any], pts: pd.DataFrame | None, per: Period
) -> dict[str, Any] | None:
    """The repeating pattern (docs/analytics.md "Repeating patterns"): ``cycle``
    (``quarter``), ``seen`` (earlier quarters it was learnt from) and ``shape``: ``rises``
    or ``falls`` when the last 4 weeks of the earlier quarters sit above or below their
    first 4 on average, else ``other``."""
    found = patterns.record(row)
    if found is None:
        return None
    shape = "other"
    if pts is not None and len(pts):
        early = pts[pts["period"] < per.start]
        week = patterns.week_of_quarter(early["period"].to_numpy())
        value = early["value"].to_numpy(dtype=float)
        first, last = value[week <= 3], value[week >= 9]
        if len(first) and len(last):
            gap = float(last.mean() - first.mean())
            shape = "rises" if gap > 0 else "falls" if gap < 0 else "other"
    return {**found, "shape": shape}


def shared_block(row: dict[str, Any]) -> dict[str, Any] | None:
    """The group move the person's move is judged against (docs/analytics.md "Whose
    change is it"): null when the group did not move, or when fewer than half of its
    members moved that way (one or two people pulling a group's median is no move the
    group shares). Counts only, no names; the group always has at least the minimum
    group size."""
    found = sharing.record(row)
    if found is None or 2 * int(found["moved"]) < int(found["of"]):  # type: ignore[call-overload]  # a summary cell: object
        return None
    return {
        "scope": str(found["scope"]),
        "group_id": str(found["group_id"]),
        "moved": found["moved"],
        "of": found["of"],
        "direction": str(found["direction"]),
        "onset": iso(found["onset"]),
        "own": bool(found["own"]),
        "relative": found["relative"],
    }


def moves_of(
    ws: Workspace, moves: pd.DataFrame, blocks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """What moved for everyone (:attr:`Analysis.moves`) in the twin: per group and KPI,
    how many of how many members moved, which way, from when, and the group's change
    (KPI units, at the KPI's decimals in ``blocks``; ``change_pct`` against its usual
    level). Team, department, then the whole workspace; KPIs in the dictionary's order."""
    if moves is None or not len(moves):
        return []
    dec = {b["kpi_id"]: b["decimals"] for b in blocks}
    order = {k: i for i, k in enumerate(ws.kpis)}
    rank = {"team": 0, "department": 1, "workspace": 2}
    rows = sorted(
        moves.to_dict("records"),
        key=lambda r: (
            rank.get(str(r["scope"]), 3),
            str(r["scope_id"]),
            order.get(r["kpi_id"], 99),
        ),
    )
    names = dict(zip(ws.teams["team_id"].astype(str), ws.teams["name"].astype(str), strict=False))
    out = []
    for r in rows:
        kpi, scope, sid = str(r["kpi_id"]), str(r["scope"]), str(r["scope_id"])
        spec = ws.kpis.get(kpi)
        if spec is None:
            continue
        d = dec.get(kpi, 1)
        out.append(
            {
                "scope": scope,
                "scope_id": sid,
                "name": names.get(sid, sid)
                if scope == "team"
                else ("the whole organisation" if scope == "workspace" else sid),
                "kpi_id": kpi,
                "kpi": spec.name,
                "direction": str(r["direction"]),
                "better": (str(r["direction"]) == "up") == (spec.direction == "up"),
                "onset": iso(r["onset"]),
                "moved": int(r["moved"]),
                "of": int(r["of"]),
                "unit": difference_unit(spec.unit),  # a percent KPI moves in points
                "decimals": d,
                "change": _num(r["change"], d),
                "change_pct": _num(100 * abs(float(r["change_rel"])), 1)
                if pd.notna(r["change_rel"]) and difference_unit(spec.unit) == spec.unit
                else None,
            }
        )
    return out


def definition_changes(spec: KpiSpec, first: Any) -> list[dict[str, Any]]:
    """The twin's ``definition_changes`` of a KPI whose series starts at ``first``: a
    version in force before the series' first point is its first definition."""
    return [
        {
            "version": v,
            "effective_from": iso(change.effective_from),
            "change": change.change,
        }
        for v, change in enumerate(spec.versions, start=2)
        if first is None or pd.isna(first) or change.effective_from > pd.Timestamp(first)
    ]


def _latest(row: dict[str, Any], dec: int) -> dict[str, Any] | None:
    if pd.isna(row["latest_period"]):
        return None
    return {
        "period": iso(row["latest_period"]),
        "value": _num(row["latest_value"], dec),
        "in_period": bool(row["latest_in_period"]),
    }


def _change(
    row: dict[str, Any], prefix: str, against: str, level: float | None, dec: int, unit: str
) -> dict[str, Any] | None:
    """Change of the period's level against an earlier period, from the shown (rounded) values.

    absolute = shown level - shown earlier level, so the text's subtraction adds up;
    relative_pct = absolute / |earlier| in percent, 1 decimal (None when earlier is 0);
    unit = the unit of ``absolute`` (percentage points for a percent KPI).
    """
    previous = _num(row[f"{prefix}_level"], dec)
    if level is None or previous is None:
        return None
    absolute = st.rounded(level - previous, dec)
    assert absolute is not None
    rel = st.rounded(100 * absolute / abs(previous), 1) if previous else None
    sign = 1 if row["direction"] == "up" else -1
    limit = _num(row.get(f"{prefix}_routine_limit"), dec)
    return {
        "against": against,
        "period": str(row[f"{prefix}_label"]),
        "previous": previous,
        "absolute": absolute,
        "unit": difference_unit(unit),
        "relative_pct": rel,
        "better": sign * absolute > 0,
        "crosses_definition": bool(row[f"{prefix}_crosses_definition"]),
        "routine_limit": limit,
        "held": held_level(absolute, limit),
    }


def held_level(absolute: float, limit: float | None) -> bool:
    """The change is within what routine variation explains (``|absolute| <=
    routine_limit``, both as shown): only then may a sentence say the KPI held level."""
    return limit is not None and abs(absolute) <= limit


def _sparse(row: dict[str, Any], dec: int) -> dict[str, Any] | None:
    """A sparse series' counts (docs/analytics.md, "Sparse series"): the value most of its
    baseline sits at and the points off it (events) before and in the period."""
    if not _flag(row, "sparse"):
        return None
    return {
        "value": _num(row["sparse_value"], dec),
        "baseline_points": int(row["baseline_n"]),
        "baseline_events": int(row["baseline_events"]),
        "period_points": int(row["period_points"]),
        "period_events": int(row["period_events"]),
    }


def _limits(row: dict[str, Any], dec: int, cases: str) -> dict[str, Any] | None:
    """The usual range and the baseline it rests on; ``kind`` trial (fewer than 20 points
    before the period: drawn, no verdict; ``needed`` more points give locked limits)."""
    if pd.isna(row["centre"]):
        return None
    kind = str(row["baseline_kind"])
    return {
        "baseline_start": iso(row["baseline_start"]),
        "baseline_end": iso(row["baseline_end"]),
        "baseline_points": int(row["baseline_n"]),
        "kind": kind,
        "needed": max(BASELINE_LOCKED - int(row["baseline_n"]), 0) if kind == "trial" else 0,
        "centre": _num(row["centre"], dec),
        "lower": _num(row["lower"], dec),
        "upper": _num(row["upper"], dec),
        "lower_bounded": bool(row["lower_bounded"]),
        "upper_bounded": bool(row["upper_bounded"]),
        "period": _period_range(row, dec, cases),
    }


def _period_range(row: dict[str, Any], dec: int, cases: str) -> dict[str, Any] | None:
    """A rate's usual range for the review period as a whole: for its summed
    denominator (the cases behind the period's rate), what its usual rate gives as
    routine (a week of few cases can land anywhere on the scale; a quarter cannot)."""
    n = row.get("period_denominator")
    if n is None or pd.isna(n) or pd.isna(row.get("period_lower")):
        return None
    return {
        "denominator": round(float(n), 6),
        "of": cases or "cases",
        "lower": _num(row["period_lower"], dec),
        "upper": _num(row["period_upper"], dec),
    }


def _shift(row: dict[str, Any], dec: int, per: Period, unit: str) -> dict[str, Any] | None:
    """The move the status names: which way, when it began, how far from the usual level;
    ``after_previous``: back at the usual level after the previous period moved."""
    direction = int(row.get("shift_direction") or 0)
    if direction == 0 or row["status"] not in MOVE_STATUSES:
        return None
    after = bool(row.get("returned_after_previous"))
    normal = (
        {"lower": _num(row.get("normal_lower"), dec), "upper": _num(row.get("normal_upper"), dec)}
        if after
        else None
    )
    return {
        "direction": "improving" if direction > 0 else "worsening",
        "holds": bool(row["shift_holds"]),
        "after_previous": after,
        "previous_period": per.previous().label if after else None,
        "onset": None if after else iso(row["shift_onset"]),
        "size": None if after else _num(row["shift_size"], dec),
        "normal": normal,
        "unit": difference_unit(unit),
    }


def _best(row: dict[str, Any], dec: int) -> dict[str, Any] | None:
    if pd.isna(row["best_value"]):
        return None
    return {
        "value": _num(row["best_value"], dec),
        "period": iso(row["best_period"]),
        "is_new": bool(row["best_is_new"]),
    }


def _recovery(row: dict[str, Any], dec: int, per: Period) -> dict[str, Any] | None:
    """The latest dip and the recovery from it; ``in_period`` when it came back this period."""
    if pd.isna(row["dip_period"]) or not bool(row["recovered"]):
        return None
    since = pd.Timestamp(row["recovered_period"])
    return {
        "dip_period": iso(row["dip_period"]),
        "dip_value": _num(row["dip_value"], dec),
        "since": iso(since),
        "in_period": bool(since >= per.start),
    }


def goal_decimals(goal: pd.Series, dec: int, sign: int) -> int:
    """Decimals for a goal's figures: the KPI's, or more until the shown baseline,
    target and current (and projected) give the shown scores again (to 2 decimals).

    Example: baseline 10.538, target 11, current 10.692 score 0.33; at 1 decimal the
    reader would work out (10.7 - 10.5) / (11.0 - 10.5) = 0.4, at 2 decimals
    (10.69 - 10.54) / (11.00 - 10.54) = 0.33.
    """
    from kpinb.analytics import goal_score as score

    def agrees(d: int, value: str, shown_score: str) -> bool:
        current, baseline, target = (_num(goal[c], d) for c in (value, "baseline", "target"))
        if current is None or baseline is None or target is None or pd.isna(goal[shown_score]):
            return True
        again = float(score(current, baseline, target, sign))
        return st.rounded(again, 2) == st.rounded(float(goal[shown_score]), 2)

    return next(
        (
            d
            for d in range(dec, dec + _MORE_GOAL_DECIMALS)
            if agrees(d, "current", "score") and agrees(d, "projected", "projected_score")
        ),
        dec + _MORE_GOAL_DECIMALS,
    )


_MORE_GOAL_DECIMALS = 3


def _goal(goal: pd.Series, dec: int, sign: int, success: float = SUCCESS) -> dict[str, Any]:
    """The goal block; success (a score of ``success`` or more) is judged on the rounded
    score, as the reader sees it.

    ``decimals``: the goal's figures may carry more decimals than the KPI's values
    (:func:`goal_decimals`), so the reader's own arithmetic gives the shown score.
    """
    score, projected_score = _num(goal["score"], 2), _num(goal["projected_score"], 2)
    dec = goal_decimals(goal, dec, sign)
    if _num(goal["current"], dec) is None:  # never a score without the figures it rests on
        score = None
    if _num(goal["projected"], dec) is None:
        projected_score = None
    return {
        "period": str(goal["period"]),
        "decimals": dec,
        "target": _num(goal["target"], dec),
        "baseline": _num(goal["baseline"], dec),
        "baseline_source": str(goal["baseline_source"]),
        "current": _num(goal["current"], dec),
        "score": score,
        "success": score is not None and score >= success,
        "projected": _num(goal["projected"], dec),
        "projected_score": projected_score,
        "projected_success": projected_score is not None and projected_score >= success,
        "remaining_points": int(goal["remaining_points"]),
    }


def _flag(row: dict[str, Any], column: str) -> bool:
    """A flag column of the summary (False when absent or missing, as in executive rows)."""
    value = row.get(column)
    return value is not None and not pd.isna(value) and bool(value)


def _num(value: Any, dec: int) -> float | None:
    return None if value is None or pd.isna(value) else st.rounded(float(value), dec)


def iso(value: Any) -> str | None:
    """An ISO day, or None for a missing date (None, NaN, NaT or an empty string)."""
    if value is None or (isinstance(value, str) and not value.strip()) or pd.isna(value):
        return None
    return pd.Timestamp(value).date().isoformat()


def _str(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def with_sentences(data: dict[str, Any], sections: list[Section]) -> dict[str, Any]:
    """The twin's ``sections``: every sentence of every section, in reading order."""
    out = []
    for sec in sections:
        sentences = [*sec.sentences, *(p.sentence for p in sec.points)]
        if sec.why is not None:
            sentences.append(sec.why.sentence)
        for card in sec.cards:
            sentences += [*card.sentences, *(s for lst in card.lists for s in lst.items)]
        sentences += [s for lst in sec.lists for s in lst.items]
        out.append(
            {"id": sec.id, "heading": sec.heading, "sentences": [s.to_json() for s in sentences]}
        )
    return {**data, "sections": out}


def cadence_unit(cadence: str) -> str:
    """``week`` or ``month``: the unit of a KPI's points."""
    return "month" if cadence == "monthly" else "week"
