"""What a report says about KPIs: the progress headline, KPI cards, goals and data notes.

These functions choose the sentences (progress first, strongest first; routine
variation named as routine; questions, not verdicts) from the JSON twin's blocks;
the wording lives in ``templates/phrases.j2`` and the sentence model in
``kpinb.report.sentences``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from kpinb.report.sentences import PERCENT_UNITS, Figure, Ref, Sentence, say, values_word


def headline(refs: list[Ref], period: Figure, *, limit: int = 3) -> list[Sentence]:
    """Up to ``limit`` progress sentences (one per KPI), else the most stable strengths.

    Progress, strongest first: a real improvement (signal), a new personal best,
    a recovery, an improvement streak, an improving trend, a better level than
    the previous period, a goal scored a success.
    """
    ranked = sorted(
        (
            (score, i, s)
            for i, ref in enumerate(refs)
            for score, s in [_best_progress(ref, period)]
            if s is not None
        ),
        key=lambda t: (-t[0], t[1]),
    )
    if ranked:
        return [s for _, _, s in ranked[:limit]]
    strengths = [s for ref in refs if (s := _strength(ref, period)) is not None]
    return strengths[:limit] or [say("headline_start", period=period)]


def _best_progress(ref: Ref, period: Figure) -> tuple[float, Sentence | None]:
    if ref.get("status") == "no_data":  # a streak or trend that ended before the period
        return 0.0, None
    kpi = ref.txt("name")
    last = latest_signal(ref.data)
    if ref.get("status") == "improving_signal" and ref.has("limits") and last is not None:
        return 6.0, say("headline_signal", kpi=kpi, **_signal_figures(ref, last))
    if ref.has("best") and ref.get("best.is_new"):
        return 5.0, say(
            "headline_best", kpi=kpi, best=ref.num("best.value"), when=ref.when("best.period")
        )
    if ref.has("recovery") and ref.get("recovery.in_period"):
        return 4.0, say(
            "headline_recovered",
            kpi=kpi,
            since=ref.when("recovery.since"),
            dip_when=ref.when("recovery.dip_period"),
        )
    if ref.has("streak") and ref.get("streak.length") >= 3:
        return 3.0, say(
            "headline_streak",
            kpi=kpi,
            n=ref.count("streak.length", _unit_word(ref.cadence), _unit_word(ref.cadence) + "s"),
        )
    if _improving_trend(ref):
        return 2.0, say(
            "headline_trend",
            kpi=kpi,
            slope=_slope(ref),
            more=ref.get("trend.slope_per_week") > 0,
        )
    return _change_or_goal(ref, kpi, period)


def _change_or_goal(ref: Ref, kpi: Figure, period: Figure) -> tuple[float, Sentence | None]:
    change = ref.data.get("change")
    if (
        change
        and change["better"]
        and change["relative_pct"] not in (None, 0.0)
        and not change["crosses_definition"]
    ):
        return 1.0 + min(abs(change["relative_pct"]), 99) / 100, say(
            "headline_change",
            kpi=kpi,
            prev=ref.num("change.previous"),
            prev_period=ref.txt("change.period"),
            level=ref.num("level.value"),
            period=period,
            rel=ref.pct("change.relative_pct", magnitude=True),
        )
    if ref.has("goal") and ref.get("goal.success"):
        return 0.5, say("headline_goal", kpi=kpi, score=ref.num("goal.score", unit="", decimals=2))
    return 0.0, None


def _strength(ref: Ref, period: Figure) -> Sentence | None:
    if not ref.has("level"):
        return None
    kpi, level = ref.txt("name"), ref.num("level.value")
    if ref.get("status") == "routine" and ref.has("limits"):
        return say(
            "headline_strength",
            kpi=kpi,
            level=level,
            period=period,
            lower=ref.num("limits.lower"),
            upper=ref.num("limits.upper"),
        )
    return say("headline_held", kpi=kpi, level=level, period=period)


def _improving_trend(ref: Ref) -> bool:
    return (
        ref.has("trend.slope_per_week")
        and ref.get("trend.direction") == "improving"
        and ref.get("trend.slope_per_week") != 0
    )


def _unit_word(cadence: str) -> str:
    return "month" if cadence == "monthly" else "week"


def kpi_card(ref: Ref, period: Figure) -> list[Sentence]:
    """The sentences of one KPI card: level, change, status, trend, streak, best, recovery."""
    kpi = ref.txt("name")
    if not ref.has("level"):
        if not ref.has("latest"):
            return []
        return [
            say(
                "kpi_no_values",
                kpi=kpi,
                period=period,
                latest=ref.num("latest.value"),
                when=ref.when("latest.period"),
            )
        ]
    out = [
        say(
            "kpi_level",
            kpi=kpi,
            level=ref.num("level.value"),
            period=period,
            n=ref.count("level.points", values_word(ref.cadence, 1), values_word(ref.cadence)),
        )
    ]
    out += _change(ref, kpi)
    out += _status(ref)
    out += _extras(ref)
    return out


def _change(ref: Ref, kpi: Figure) -> list[Sentence]:
    change = ref.data.get("change")
    if not change or change["absolute"] is None:
        return []
    prev_period, prev = ref.txt("change.period"), ref.num("change.previous")
    if change["absolute"] == 0:
        out = [say("kpi_same", prev_period=prev_period, prev=prev)]
    else:
        flags = {"higher": change["absolute"] > 0, "better": bool(change["better"])}
        delta = ref.num("change.absolute", unit=delta_unit(ref.unit), magnitude=True)
        if change["relative_pct"] is None:
            out = [say("kpi_change_abs", prev_period=prev_period, prev=prev, delta=delta, **flags)]
        else:
            out = [
                say(
                    "kpi_change",
                    prev_period=prev_period,
                    prev=prev,
                    delta=delta,
                    rel=ref.pct("change.relative_pct", magnitude=True),
                    **flags,
                )
            ]
    if change["crosses_definition"]:
        out.append(say("kpi_crosses", kpi=kpi))
    return out


def _slope(ref: Ref) -> Figure:
    """The trend's slope per week, one decimal finer than the KPI's values."""
    return ref.num(
        "trend.slope_per_week",
        unit=delta_unit(ref.unit),
        decimals=ref.decimals + 1,
        magnitude=True,
    )


def delta_unit(unit: str) -> str:
    """The unit of a difference: percentage points for a KPI measured in percent."""
    return "percentage points" if unit.strip().lower() in PERCENT_UNITS else unit


def latest_signal(block: dict[str, Any]) -> int | None:
    """Index of the signal a sentence names: the latest point, ``beyond_limit`` first."""
    signals = block["signals"]
    if not signals:
        return None
    last = signals[-1]["period"]
    at = [i for i, s in enumerate(signals) if s["period"] == last]
    return next((i for i in at if signals[i]["rule"] == "beyond_limit"), at[-1])


def _signal_figures(ref: Ref, i: int) -> dict[str, Any]:
    """The figures of a signal sentence, and whether the point lies beyond a limit."""
    return {
        "when": ref.when(f"signals.{i}.period"),
        "value": ref.num(f"signals.{i}.value"),
        "lower": ref.num("limits.lower"),
        "upper": ref.num("limits.upper"),
        "centre": ref.num("limits.centre"),
        "beyond": ref.get(f"signals.{i}.rule") == "beyond_limit",
    }


def _status(ref: Ref) -> list[Sentence]:
    status = ref.get("status")
    if status == "not_enough_history":
        return [
            say(
                "kpi_new",
                n=ref.count("points", values_word(ref.cadence, 1), values_word(ref.cadence)),
                single=ref.get("points") == 1,
            )
        ]
    if not ref.has("limits"):
        return []
    lower, upper = ref.num("limits.lower"), ref.num("limits.upper")
    last = latest_signal(ref.data)
    if status in ("improving_signal", "worsening_signal") and last is not None:
        key = "kpi_signal_improving" if status == "improving_signal" else "kpi_signal_shift"
        return [say(key, **_signal_figures(ref, last))]
    return [
        say(
            "kpi_routine",
            lower=lower,
            upper=upper,
            start=ref.when("limits.baseline_start"),
            end=ref.when("limits.baseline_end"),
        )
    ]


def _extras(ref: Ref) -> list[Sentence]:
    out = []
    direction = ref.get("trend.direction") if ref.has("trend.slope_per_week") else None
    if direction in ("improving", "worsening") and ref.get("trend.slope_per_week") != 0:
        out.append(
            say(
                "kpi_trend",
                slope=_slope(ref),
                n=ref.count("trend.points", values_word(ref.cadence, 1), values_word(ref.cadence)),
                more=ref.get("trend.slope_per_week") > 0,
                improving=direction == "improving",
            )
        )
    if ref.has("streak") and ref.get("streak.length") >= 2:
        word = _unit_word(ref.cadence)
        out.append(say("kpi_streak", n=ref.count("streak.length", word, word + "s")))
    if ref.has("best") and ref.get("best.is_new"):
        out.append(say("kpi_best", best=ref.num("best.value"), when=ref.when("best.period")))
    if ref.has("recovery") and ref.get("recovery.in_period"):
        out.append(
            say(
                "kpi_recovered",
                dip=ref.num("recovery.dip_value"),
                dip_when=ref.when("recovery.dip_period"),
                since=ref.when("recovery.since"),
            )
        )
    return out


def goal_sentences(ref: Ref) -> list[Sentence]:
    """A goal's OKR score (0.7 and above worded as a success) and its projected landing."""
    goal, kpi = ref.get("goal"), ref.txt("name")
    ref = Ref(ref.path, ref.data, unit=ref.unit, decimals=goal["decimals"], cadence=ref.cadence)
    if goal["current"] is None:
        return [say("goal_no_values", kpi=kpi, target=ref.num("goal.target"))]
    sign = 1 if ref.get("direction") == "up" else -1
    if goal["score"] is None:
        return [
            say(
                "goal_no_baseline",
                kpi=kpi,
                target=ref.num("goal.target"),
                current=ref.num("goal.current"),
                met=sign * (goal["current"] - goal["target"]) >= 0,
                crosses=goal["baseline_source"] == "crosses_definition_change",
            )
        ]
    score = ref.num("goal.score", unit="", decimals=2)
    if sign * (goal["target"] - goal["baseline"]) <= 0:  # a "hold the level" target
        out = [
            say(
                "goal_hold",
                kpi=kpi,
                target=ref.num("goal.target"),
                current=ref.num("goal.current"),
                success=goal["success"],
            )
        ]
    else:
        out = [
            say(
                "goal_score",
                kpi=kpi,
                score=score,
                baseline=ref.num("goal.baseline"),
                target=ref.num("goal.target"),
                current=ref.num("goal.current"),
                success=goal["success"],
            )
        ]
    if goal["baseline_source"] == "previous_period" and ref.has("change"):
        out.append(say("goal_baseline_previous", prev_period=ref.txt("change.period")))
    if goal["remaining_points"] > 0 and goal["projected_score"] is not None:
        out.append(
            say(
                "goal_projected",
                projected=ref.num("goal.projected"),
                score=ref.num("goal.projected_score", unit="", decimals=2),
                success=goal["projected_success"],
            )
        )
    return out


def data_notes(ref: Ref, period: Figure, start: pd.Timestamp) -> list[Sentence]:
    """What a reader should know about one KPI's data: gaps, staleness, changes, exclusions."""
    kpi, out = ref.txt("name"), []
    if ref.get("quality.missing"):
        out.append(
            say(
                "note_missing",
                kpi=kpi,
                missing=ref.num("quality.missing", unit="", decimals=0),
                expected=ref.num("quality.expected", unit="", decimals=0),
                period=period,
            )
        )
    if ref.get("quality.stale") and ref.has("quality.last_observed"):
        out.append(say("note_stale", kpi=kpi, last=ref.when("quality.last_observed")))
    for i, change in enumerate(ref.get("definition_changes")):
        if pd.Timestamp(change["effective_from"]) >= start - pd.DateOffset(years=1):
            out.append(
                say(
                    "note_definition",
                    kpi=kpi,
                    when=ref.day(f"definition_changes.{i}.effective_from"),
                    change=ref.txt(f"definition_changes.{i}.change"),
                )
            )
    if ref.get("quality.out_of_range"):
        out.append(
            say("note_excluded", kpi=kpi, n=ref.count("quality.out_of_range", "value", "values"))
        )
    if ref.has("limits") and ref.get("limits.provisional"):
        out.append(
            say(
                "note_provisional",
                kpi=kpi,
                n=ref.count(
                    "limits.baseline_points", values_word(ref.cadence, 1), values_word(ref.cadence)
                ),
            )
        )
    return out
