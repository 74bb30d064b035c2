"""What a report says about KPIs: the progress headline, KPI cards, goals and data notes.

These functions choose the sentences (progress first, strongest first; routine
variation named as routine; questions, not verdicts) from the JSON twin's blocks;
the wording lives in ``templates/phrases.j2`` and the sentence model in
``kpinb.report.sentences``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from kpinb.kpis import difference_unit, is_percent
from kpinb.report import stories
from kpinb.report.sentences import Figure, Ref, Sentence, say, values_word
from kpinb.report.stories import (
    PHRASE_BACK_AFTER,
    PHRASE_RATE_ROUTINE,
    PHRASE_ROUTINE,
    PHRASE_TRIAL,
    goal_asks_more,
    held_level,
    story_of,
)


def headline(refs: list[Ref], period: Figure, *, limit: int = 3) -> list[Sentence]:
    """Up to ``limit`` progress sentences (one per KPI), else the most stable strengths.

    Progress is real improvement only, strongest first: a shift up against the person's
    own recent normal, a new personal best, a return to the usual level after a dip, a
    sustained improving trend, a goal scored a success. A routine move is never called
    an improvement.
    """
    ranked = progress_ranked(refs, period)
    if ranked:
        return [s for _, s in ranked[:limit]]
    strengths = [s for ref in refs if (s := _strength(ref, period)) is not None]
    if strengths:
        return strengths[:limit]
    if any(ref.has("level") for ref in refs):
        return [say("headline_none", period=period)]
    return [say("headline_start", period=period)]


def progress_ranked(refs: list[Ref], period: Figure) -> list[tuple[Ref, Sentence]]:
    """Each KPI with real progress of the person's own and its headline sentence,
    strongest first (the order the progress headline tells them in)."""
    ranked = sorted(
        (
            (score, i, ref, s)
            for i, ref in enumerate(refs)
            for score, s in [_best_progress(ref, period)]
            if s is not None
        ),
        key=lambda t: (-t[0], t[1]),
    )
    return [(ref, s) for _, _, ref, s in ranked]


def polarity(ref: Ref) -> int:
    """+1 when the KPI's story is good news, -1 when it is a topic to talk about."""
    return stories.polarity(ref.get("story"))


def _best_progress(ref: Ref, period: Figure) -> tuple[float, Sentence | None]:
    told, kpi = ref.get("story"), ref.txt("name")
    if is_shared(ref):  # the group's move: never the person's progress
        return 0.0, None
    if told == "improving_shift" and ref.has("limits"):
        return 6.0, say("headline_shift", kpi=kpi, **_shift_figures(ref))
    if ref.has("best") and ref.get("best.is_new") and polarity(ref) >= 0:
        return 5.0, best_sentence(ref, "headline_best", kpi=kpi)
    if (
        ref.has("over_time")
        and ref.get("over_time.direction") == "improving"
        and not ref.get("over_time.shared")
        and polarity(ref) >= 0
    ):
        return 4.5, say("headline_over_time", kpi=kpi, **_over_time_figures(ref, period))
    if told == "recovered":
        if ref.get("shift.after_previous"):
            return 4.0, say(
                "headline_back",
                kpi=kpi,
                previous=ref.txt("shift.previous_period"),
            )
        return 4.0, say("headline_dip_back", kpi=kpi, onset=ref.when("shift.onset"))
    if told == "trend_up" and _improving_trend(ref):
        return 3.0, say(
            "headline_trend",
            kpi=kpi,
            slope=_slope(ref),
            more=ref.get("trend.slope_per_week") > 0,
        )
    if _year_moved(ref) and ref.get("year_change.better") and polarity(ref) >= 0:
        return 2.5, say("headline_year", kpi=kpi, **_year_figures(ref))
    if ref.has("goal") and ref.get("goal.success"):
        return 2.0, say("headline_goal", kpi=kpi, score=ref.num("goal.score", unit="", decimals=2))
    return 0.0, None


def is_shared(ref: Ref) -> bool:
    """The KPI's story is a move the person's group made (context, not theirs)."""
    told = story_of(ref.get("story"))
    return told is not None and told.shared


def _strength(ref: Ref, period: Figure) -> Sentence | None:
    told = story_of(ref.get("story"))
    if not ref.has("level") or told is None or not told.strength:
        return None
    if not ref.has("limits") or not held_level(ref.data):
        return None  # "steady" only when the quarter's change is routine variation
    if goal_asks_more(ref.data):
        return None  # not "dependable" beside a goal that asks for more
    return say(
        "headline_strength",
        kpi=ref.txt("name"),
        level=ref.num("level.value"),
        period=period,
        **_range(ref),
    )


def _improving_trend(ref: Ref) -> bool:
    return (
        ref.has("trend.slope_per_week")
        and ref.get("trend.direction") == "improving"
        and ref.get("trend.slope_per_week") != 0
    )


def _unit_word(cadence: str) -> str:
    return "month" if cadence == "monthly" else "week"


def _range(ref: Ref) -> dict[str, Any]:
    """The usual range's figures: a limit replaced by a natural boundary is left out of
    the words ("up to 5.8 deals", never "-1.8 to 5.8")."""
    if ref.has("limits.period"):  # a rate: the range for the period's number of cases
        return {
            "lower": ref.num("limits.period.lower"),
            "upper": ref.num("limits.period.upper"),
            "open_low": False,
            "open_high": False,
        }
    return {
        "lower": ref.num("limits.lower"),
        "upper": ref.num("limits.upper"),
        "open_low": bool(ref.get("limits.lower_bounded")),
        "open_high": bool(ref.get("limits.upper_bounded")),
    }


def _shift_figures(ref: Ref) -> dict[str, Any]:
    """When the shift began, how far it moved from the usual level, and that level."""
    return {
        "onset": ref.when("shift.onset"),
        "size": ref.num("shift.size", unit=difference_unit(ref.unit), magnitude=True),
        "higher": ref.get("shift.size") > 0,
        "centre": ref.num("limits.centre"),
        **_range(ref),
    }


def kpi_card(ref: Ref, period: Figure, *, within: int = 0) -> list[Sentence]:
    """The sentences of one KPI card, all telling its one story (twin ``story``): level,
    change, status, unusual weeks, trend, streak, best, recovery.

    ``within``: how many of its members or teams show a shift of their own; the card
    then never says "no action needed" (the view names them).
    """
    kpi = ref.txt("name")
    if not ref.has("level"):
        if not ref.has("latest"):
            return []
        return [
            say(
                "kpi_no_values",
                kpi=kpi,
                period=period,
                latest=ref.val("latest.value"),
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
    out += _year(ref)
    out += _status(ref, within, period)
    out += _over_time(ref, period)
    out += _pattern(ref)
    out += _unusual(ref)
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
        # "an improvement" only when the KPI's story is one: a routine move is not
        flags = {
            "higher": change["absolute"] > 0,
            "praise": bool(change["better"]) and polarity(ref) > 0,
        }
        delta = ref.num("change.absolute", unit=difference_unit(ref.unit), magnitude=True)
        # a percent KPI's change is said in points only: "+16.4 %" of a rate misleads
        if change["relative_pct"] is None or is_percent(ref.unit):
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


def _year(ref: Ref) -> list[Sentence]:
    """The same quarter a year ago (a shape that repeats every quarter cancels out),
    when it moved beyond routine variation (:func:`_year_moved`)."""
    if not _year_moved(ref):
        return []
    return [say("kpi_year", **_year_figures(ref))]


def _year_moved(ref: Ref) -> bool:
    """The same quarter a year ago is known under the same definition, the change from it
    is beyond routine variation, and the KPI's story is not a move the group made."""
    change = ref.data.get("year_change")
    if not change or not change["absolute"] or change["crosses_definition"]:
        return False
    return not change.get("held") and not is_shared(ref)


def _year_figures(ref: Ref) -> dict[str, Any]:
    change = ref.get("year_change")
    return {
        "period": ref.txt("year_change.period"),
        "prev": ref.num("year_change.previous"),
        "delta": ref.num("year_change.absolute", unit=difference_unit(ref.unit), magnitude=True),
        "higher": change["absolute"] > 0,
    }


def _over_time_figures(ref: Ref, period: Figure) -> dict[str, Any]:
    return {
        "quarters": ref.count("over_time.quarters", "quarter", "quarters"),
        "from_period": ref.txt("over_time.from_period"),
        "from_level": ref.num("over_time.from_level"),
        "to_level": ref.num("over_time.to_level"),
        "period": period,
    }


def _over_time(ref: Ref, period: Figure) -> list[Sentence]:
    """A climb or slide across quarters; a move the teammates share is told as shared."""
    if not ref.has("over_time"):
        return []
    figures = _over_time_figures(ref, period)
    if ref.get("over_time.shared"):
        return [
            say(
                "kpi_over_time_shared",
                moved=ref.num("over_time.moved", unit="", decimals=0),
                of=ref.num("over_time.of", unit="", decimals=0),
                **figures,
            )
        ]
    if is_shared(ref):
        return []
    improving = ref.get("over_time.direction") == "improving"
    told = story_of(ref.get("story"))
    climb = told is None or not told.shift  # a shift this quarter already shows it
    return [say("kpi_over_time", improving=improving, climb=climb, **figures)]


def _slope(ref: Ref) -> Figure:
    """The trend's slope per week, one decimal finer than the KPI's values."""
    return ref.num(
        "trend.slope_per_week",
        unit=difference_unit(ref.unit),
        decimals=ref.decimals + 1,
        magnitude=True,
    )


def _sparse(ref: Ref, period: Figure) -> Sentence:
    """A sparse series: its events (values off its usual value) counted, no range."""
    word = values_word(ref.cadence)
    one = values_word(ref.cadence, 1)
    return say(
        "kpi_sparse",
        value=ref.val("sparse.value"),
        base_events=ref.num("sparse.baseline_events", unit="", decimals=0),
        base_points=ref.count("sparse.baseline_points", one, word),
        events=ref.num("sparse.period_events", unit="", decimals=0),
        points=ref.count("sparse.period_points", one, word),
        period=period,
    )


def _inside(ref: Ref) -> bool:
    """Every value of the period lies within the usual range (twin ``ending``)."""
    if "ending" not in ref.data:  # a block built before the twin had ``ending``
        return True
    if not ref.has("ending") or not ref.has("limits"):
        return False
    return bool(
        ref.get("ending.min") >= ref.get("limits.lower")
        and ref.get("ending.max") <= ref.get("limits.upper")
    )


# the phrase of a new best, and of one since the definition changed
_BEST_PHRASES = {
    "kpi_best": "kpi_best_since",
    "headline_best": "headline_best_since",
    "member_best": "member_best_since",
}


def best_sentence(ref: Ref, key: str, **args: Any) -> Sentence:
    """A new personal best; "since the definition changed on ..." when the series has
    values under an earlier definition (the best is the current definition's)."""
    figures = {"best": ref.val("best.value"), "when": ref.when("best.period"), **args}
    if ref.has("best.since_definition"):
        return say(_BEST_PHRASES[key], since=ref.day("best.since_definition"), **figures)
    return say(key, **figures)


def _status(ref: Ref, within: int, period: Figure) -> list[Sentence]:
    """The card's status sentence: the phrase of the KPI's story (:mod:`stories`)."""
    told = story_of(ref.get("story"))
    if told is None:
        return []
    if told.phrase == "kpi_new":
        if ref.has("limits") and ref.get("limits.kind") == "trial":
            word = values_word(ref.cadence)
            return [
                say(
                    PHRASE_TRIAL,
                    n=ref.count("limits.baseline_points", values_word(ref.cadence, 1), word),
                    needed=ref.count("limits.needed", values_word(ref.cadence, 1), word),
                    **_range(ref),
                )
            ]
        return [
            say(
                told.phrase,
                n=ref.count("points", values_word(ref.cadence, 1), values_word(ref.cadence)),
                single=ref.get("points") == 1,
            )
        ]
    if told.phrase in ("kpi_shared", "kpi_own_against"):
        return [_against_group(ref, told.phrase)]
    if ref.has("sparse"):
        return [_sparse(ref, period)]
    if not ref.has("limits"):
        return []
    if told.shift:
        return [say(told.phrase, **_shift_figures(ref))]
    dip = told.name == "recovered"  # back after a dip (eased: after a high stretch)
    if told.phrase == "kpi_came_and_went":
        if ref.has("shift") and ref.get("shift.after_previous"):
            return [say(PHRASE_BACK_AFTER, previous=ref.txt("shift.previous_period"), dip=dip)]
        return [
            say(
                told.phrase,
                onset=ref.when("shift.onset"),
                centre=ref.num("limits.centre"),
                dip=dip,
                **_range(ref),
            )
        ]
    if ref.has("limits.period") and told.phrase == PHRASE_ROUTINE:
        return [_rate_routine(ref, within, told.name)]
    return [
        say(
            told.phrase,
            start=ref.when("limits.baseline_start"),
            end=ref.when("limits.baseline_end"),
            settled=told.name == "routine" and not within and _inside(ref) and not _run(ref),
            inside=_inside(ref),
            goal=told.name == "routine" and goal_asks_more(ref.data),
            **_range(ref),
        )
    ]


def rate_inside(ref: Ref) -> bool:
    """A rate's level for the period lies within the usual range for its cases."""
    level = ref.get("level.value")
    return bool(ref.get("limits.period.lower") <= level <= ref.get("limits.period.upper"))


def _rate_routine(ref: Ref, within: int, story: str) -> Sentence:
    """A rate's routine sentence: its period's rate against the range its usual rate
    gives for that many cases (a week of few cases can land anywhere on the scale)."""
    inside = rate_inside(ref)
    cases = str(ref.get("limits.period.of"))
    return say(
        PHRASE_RATE_ROUTINE,
        cases=ref.count("limits.period.denominator", cases, cases),
        level=ref.num("level.value"),
        centre=ref.num("limits.centre"),
        start=ref.when("limits.baseline_start"),
        end=ref.when("limits.baseline_end"),
        inside=inside,
        above=ref.get("level.value") > ref.get("limits.centre"),
        settled=story == "routine" and not within and inside and not _run(ref),
        goal=story == "routine" and goal_asks_more(ref.data),
        **_range(ref),
    )


def _against_group(ref: Ref, phrase: str) -> Sentence:
    """How the person's group moved (counts only, no names) and, for a move of their
    own, how theirs went against it: held level, less, further or the other way."""
    up = ref.get("shared.direction") == "up"
    figures = {
        "kpi": ref.txt("name"),
        "moved": ref.num("shared.moved", unit="", decimals=0),
        "of": ref.num("shared.of", unit="", decimals=0),
        "scope": ref.get("shared.scope"),
        "onset": ref.when("shared.onset"),
        "higher": up,
    }
    if phrase == "kpi_shared":
        return say(phrase, **figures)
    shift = ref.data.get("shift") or {}
    mine = {"improving": 1, "worsening": -1}.get(str(shift.get("direction")), 0)
    mine *= 1 if ref.get("direction") == "up" else -1  # raw: +1 up, -1 down
    group = 1 if up else -1
    if mine == 0:
        yours = "held"
    elif mine != group:
        yours = "other"
    else:
        yours = "further" if (ref.get("shared.relative") == "up") == up else "less"
    return say(phrase, **figures, yours=yours, ahead=ref.get("story") == "own_ahead")


def _pattern(ref: Ref) -> list[Sentence]:
    """A shape that repeats within every quarter, said once: the period is read against it."""
    if not ref.has("pattern"):
        return []
    return [
        say(
            "kpi_pattern",
            kpi=ref.txt("name"),
            shape=ref.get("pattern.shape"),
            seen=ref.count("pattern.seen", "earlier quarter", "earlier quarters"),
        )
    ]


def _run(ref: Ref) -> bool:
    """A run of eight on one side of the centre: worth watching, so never "no action
    needed" beside it."""
    return any(s["rule"] == "run_of_8" for s in ref.get("signals") or [])


def _unusual(ref: Ref) -> list[Sentence]:
    """Wheeler's rules as what they are: one unusual week, or a run, never a shift."""
    told = story_of(ref.get("story"))
    if told is None or not told.within_usual or not ref.has("limits"):
        return []
    if ref.has("shift") and ref.get("shift.after_previous"):
        return []  # against limits holding the previous period's move: not news
    signals = ref.get("signals")
    beyond = [i for i, s in enumerate(signals) if s["rule"] == "beyond_limit"]
    if beyond:
        i = beyond[-1]
        return [
            say(
                "kpi_unusual_week",
                n=ref.count("unusual_weeks", "week", "weeks"),
                single=len(beyond) == 1,
                value=ref.val(f"signals.{i}.value"),
                when=ref.when(f"signals.{i}.period"),
                favourable=signals[i]["direction"] == "improving",
            )
        ]
    runs = [i for i, s in enumerate(signals) if s["rule"] == "run_of_8"]
    if runs:
        i = runs[-1]
        return [
            say(
                "kpi_run",
                when=ref.when(f"signals.{i}.period"),
                centre=ref.num("limits.centre"),
                favourable=signals[i]["direction"] == "improving",
            )
        ]
    return []


def _extras(ref: Ref) -> list[Sentence]:
    out = []
    good = polarity(ref)
    direction = ref.get("trend.direction") if ref.has("trend.slope_per_week") else None
    shared = is_shared(ref)  # the group's move: its trend and streak are not the person's
    if (
        direction in ("improving", "worsening")
        and ref.get("trend.slope_per_week") != 0
        and not shared
    ):
        out.append(
            say(
                "kpi_trend",
                slope=_slope(ref),
                n=ref.count("trend.points", values_word(ref.cadence, 1), values_word(ref.cadence)),
                more=ref.get("trend.slope_per_week") > 0,
                improving=direction == "improving",
            )
        )
    if good > 0 and ref.has("streak") and ref.get("streak.length") >= 3 and not shared:
        word = _unit_word(ref.cadence)
        out.append(say("kpi_streak", n=ref.count("streak.length", word, word + "s")))
    if ref.has("best") and ref.get("best.is_new") and good >= 0 and not is_shared(ref):
        out.append(best_sentence(ref, "kpi_best"))
    if (
        ref.has("recovery")
        and ref.get("recovery.in_period")
        and ref.get("story") == "recovered"
        and not ref.get("shift.after_previous")
    ):
        out.append(
            say(
                "kpi_recovered",
                dip=ref.val("recovery.dip_value"),
                dip_when=ref.when("recovery.dip_period"),
                since=ref.when("recovery.since"),
            )
        )
    return out


def goal_sentences(ref: Ref) -> list[Sentence]:
    """A goal's OKR score (the success line and above worded as a success) and its landing."""
    goal, kpi = ref.get("goal"), ref.txt("name")
    trend = ref.get("trend.direction")
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
                state=goal_state(goal, sign, trend),
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


def goal_state(goal: dict[str, Any], sign: int, trend: str | None) -> str:
    """How a scored goal stands: ``success`` (at the success line or more), ``away``
    (further from the target than at the start), ``landed`` (the period is over),
    ``on_the_way`` (moving toward the target with time left) or ``not_moving`` (time
    left, no move toward it)."""
    if goal["success"]:
        return "landed_success" if goal["remaining_points"] == 0 else "success"
    if sign * (goal["current"] - goal["baseline"]) < 0:
        return "away_landed" if goal["remaining_points"] == 0 else "away"
    if goal["remaining_points"] == 0:
        return "landed"
    return "on_the_way" if trend == "improving" else "not_moving"


INCOMPLETE_SHOWN = 3  # a group's dates with members missing named in its data note


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
    if ref.has("quality.incomplete") and ref.get("quality.incomplete"):
        unit = _unit_word(ref.cadence)
        weeks = ref.get("quality.incomplete_weeks") if ref.has("quality.incomplete_weeks") else []
        shown = [
            (
                ref.when(f"quality.incomplete_weeks.{i}.period"),
                ref.num(f"quality.incomplete_weeks.{i}.reported", unit="", decimals=0),
                ref.num(f"quality.incomplete_weeks.{i}.usual", unit="", decimals=0),
            )
            for i in range(min(len(weeks), INCOMPLETE_SHOWN))
        ]
        out.append(
            say(
                "note_incomplete",
                kpi=kpi,
                n=ref.count("quality.incomplete", unit, f"{unit}s"),
                unit=unit,
                weeks=shown,
                more=len(weeks) - len(shown),
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
    if ref.has("quality.limits_widened") and ref.get("quality.limits_widened"):
        out.append(say("note_carryover", kpi=kpi))
    if ref.has("quality.incomplete_tail"):
        out.append(say("note_tail", kpi=kpi, since=ref.when("quality.incomplete_tail")))
    return out


def partial_week_note(refs: list[Ref]) -> list[Sentence]:
    """Once per report: the period's last week lies partly outside it (a data note, not
    a shift's evidence)."""
    for ref in refs:
        if (
            ref.has("quality.partial_week")
            and ref.get("quality.partial_week")
            and ref.has("latest")
        ):
            return [say("note_partial_week", when=ref.when("latest.period"))]
    return []
