"""Sentences: exact number formatting, figures kept apart from wording, section pieces.

The blocks below are hand-written JSON-twin blocks (see docs/report-json.md), so every
expected sentence can be read off the block by eye.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pandas as pd
import pytest

from kpinb.report import narrative as nv
from kpinb.report import sentences as st
from kpinb.report import stories


@pytest.mark.parametrize(
    ("values", "decimals"),
    [
        ([120.0, 95.5, 300.0], 0),
        ([99.0, 12.0, 14.0], 1),
        ([0.5, 3.2], 2),
        ([], 1),
        ([float("nan"), 150.0], 0),
        ([-250.0, -200.0], 0),
    ],
)
def test_decimals_for_uses_median_size(values: list[float], decimals: int) -> None:
    assert st.decimals_for(values) == decimals


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (1234.5, 1, "1,234.5"),
        (-0.25, 2, "-0.25"),
        (3.0, 0, "3"),
        (0.0, 1, "0.0"),
        (1234567.0, 0, "1,234,567"),
        (0.7, 2, "0.70"),
    ],
)
def test_format_number(value: float, decimals: int, text: str) -> None:
    assert st.format_number(value, decimals) == text


@pytest.mark.parametrize(
    ("value", "decimals", "out"),
    [
        (2.345, 1, 2.3),
        (-0.04, 1, 0.0),
        (float("nan"), 1, None),
        (None, 2, None),
        (float("inf"), 0, None),
        (12.5, 0, 12.0),
    ],
)
def test_rounded(value: float | None, decimals: int, out: float | None) -> None:
    result = st.rounded(value, decimals)
    assert result == out
    if out == 0.0:
        assert str(result) == "0.0"  # never "-0.0" in text or twin


@pytest.mark.parametrize(
    ("unit", "text"),
    [
        ("%", "12.5%"),
        ("percent", "12.5%"),
        ("kEUR", "12.5 kEUR"),
        ("", "12.5"),
        (" hours ", "12.5 hours"),
    ],
)
def test_with_unit(unit: str, text: str) -> None:
    assert st.with_unit("12.5", unit) == text


@pytest.mark.parametrize(
    ("number", "unit", "text"),
    [
        ("1", "deals", "1 deal"),
        ("7", "deals", "7 deals"),
        ("1.0", "deals", "1.0 deals"),
        ("1", "calls/week", "1 call/week"),
        ("1", "kEUR", "1 kEUR"),
        ("7", "count", "7"),
        ("1", "%", "1%"),
        ("-1", "days", "-1 day"),
    ],
)
def test_units_are_plural_aware_and_a_bare_count_has_none(
    number: str, unit: str, text: str
) -> None:
    assert st.with_unit(number, unit) == text


@pytest.mark.parametrize(
    ("values", "decimals"),
    [([7.0, 3.0, 0.0], 0), ([32.4, 30.0], 1), ([0.125], 3), ([1 / 3], 6), ([], 0)],
)
def test_data_decimals_is_the_precision_the_data_has(values: list[float], decimals: int) -> None:
    assert st.data_decimals(values) == decimals


@pytest.mark.parametrize(
    ("iso", "cadence", "text"),
    [
        ("2026-09-07", "weekly", "the week of 7 Sep 2026"),
        ("2026-09-01", "monthly", "Sep 2026"),
        ("2026-10-14", "", "14 Oct 2026"),
    ],
)
def test_format_date(iso: str, cadence: str, text: str) -> None:
    assert st.format_date(iso, cadence) == text


def test_magnitude_figure_shows_absolute_value_keeps_signed_value() -> None:
    fig = st.number("kpis[0].change.absolute", -6.7, 1, "kEUR", magnitude=True)
    assert (fig.value, fig.text) == (-6.7, "6.7 kEUR")


def test_say_keeps_figures_apart_from_wording() -> None:
    s = st.say(
        "kpi_best",
        best=st.number("kpis[0].best.value", 49.5, 1, "kEUR"),
        when=st.date("kpis[0].best.period", "2026-09-28", "weekly"),
    )
    assert s.text == "New personal best: 49.5 kEUR in the week of 28 Sep 2026."
    assert [p for p in s.parts if isinstance(p, str)] == ["New personal best: ", " in ", "."]
    assert s.to_json()["figures"] == [
        {"path": "kpis[0].best.value", "value": 49.5, "text": "49.5 kEUR"},
        {"path": "kpis[0].best.period", "value": "2026-09-28", "text": "the week of 28 Sep 2026"},
    ]


def test_say_never_escapes_or_interprets_data() -> None:
    name = "<b>R&D</b> {{ 7*7 }} \ue0000\ue001"
    s = st.say("question_execution", kpi=st.text("kpis[0].name", name))
    assert s.figures[0].text == name
    assert s.text.startswith("Execution: what's getting in the way of " + name)


def test_say_requires_every_slot() -> None:
    with pytest.raises(Exception, match="best"):
        st.say("kpi_best", when=st.date("x", "2026-09-28"))


# --- section pieces on hand-written blocks ---------------------------------------------


BLOCK: dict[str, Any] = {
    "kpi_id": "revenue",
    "name": "New revenue closed",
    "unit": "kEUR",
    "direction": "up",
    "kind": "lagging",
    "pair": None,
    "cadence": "weekly",
    "decimals": 1,
    "value_decimals": 1,
    "definition_version": 1,
    "status": "routine",
    "shift": None,
    "points": 40,
    "n_people": 1,
    "latest": {"period": "2026-09-28", "value": 41.0, "in_period": True},
    "level": {"value": 40.0, "points": 13},
    "change": {
        "against": "previous_period",
        "period": "2026-Q2",
        "previous": 38.0,
        "absolute": 2.0,
        "relative_pct": 5.3,
        "better": True,
        "crosses_definition": False,
    },
    "year_change": None,
    "trend": {"slope_per_week": 0.05, "direction": "steady", "points": 13},
    "limits": {
        "baseline_start": "2025-10-06",
        "baseline_end": "2026-02-16",
        "baseline_points": 20,
        "kind": "locked",
        "needed": 0,
        "centre": 39.0,
        "lower": 35.0,
        "upper": 43.0,
        "lower_bounded": False,
        "upper_bounded": False,
    },
    "unusual_weeks": 0,
    "signals": [],
    "streak": {"length": 0, "unit": "week"},
    "best": {"value": 44.0, "period": "2025-11-03", "is_new": False},
    "recovery": None,
    "goal": None,
    "quality": {
        "expected": 13,
        "missing": 0,
        "stale": False,
        "last_observed": "2026-09-28",
        "out_of_range": 0,
    },
    "definition_changes": [],
}
PERIOD = st.text("period", "2026-Q3")


def ref(**changes: Any) -> st.Ref:
    block = copy.deepcopy(BLOCK)
    for key, value in changes.items():
        target = block
        *path, last = key.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    block["story"] = stories.tell(block)  # as the twin derives it from the block
    return st.Ref(
        "kpis[0]",
        block,
        unit=block["unit"],
        decimals=block["decimals"],
        cadence=block["cadence"],
        value_decimals=block["value_decimals"],
    )


def texts(sentences: list[st.Sentence]) -> list[str]:
    return [s.text for s in sentences]


def test_card_routine_kpi() -> None:
    """A routine move is not called an improvement: it is a routine move."""
    assert texts(nv.kpi_card(ref(), PERIOD)) == [
        "New revenue closed averaged 40.0 kEUR in 2026-Q3, over 13 weekly values.",
        "Compared with 2026-Q2 (38.0 kEUR), it is 2.0 kEUR higher (5.3% more).",
        "Its values stay within the usual range of 35.0 kEUR to 43.0 kEUR (set from the week "
        "of 6 Oct 2025 to the week of 16 Feb 2026): routine variation, no action needed.",
    ]


def test_card_lower_is_better_kpi_that_rose() -> None:
    card = nv.kpi_card(ref(direction="down", change__better=False), PERIOD)
    assert card[1].text == "Compared with 2026-Q2 (38.0 kEUR), it is 2.0 kEUR higher (5.3% more)."


SHIFT_UP = {
    "direction": "improving",
    "holds": True,
    "after_previous": False,
    "previous_period": None,
    "onset": "2026-07-06",
    "size": 3.5,
}


def test_card_shift_trend_streak_and_best_tell_one_story() -> None:
    """A shift up: it names the week it began and how far it moved from the usual level;
    the change is an improvement; a recovery from an earlier dip is not told beside it."""
    r = ref(
        status="improving_shift",
        shift=dict(SHIFT_UP),
        signals=[
            {
                "rule": "beyond_limit",
                "period": "2026-09-21",
                "value": 44.0,
                "direction": "improving",
            },
        ],
        trend__direction="improving",
        trend__slope_per_week=0.58,
        streak__length=5,
        best__is_new=True,
        best__period="2026-09-21",
        recovery={
            "dip_period": "2026-07-06",
            "dip_value": 33.0,
            "since": "2026-08-03",
            "in_period": True,
        },
    )
    assert texts(nv.kpi_card(r, PERIOD))[1:] == [
        "Compared with 2026-Q2 (38.0 kEUR), it is 2.0 kEUR higher: an improvement of 5.3%.",
        "Since the week of 6 Jul 2026 it has run about 3.5 kEUR above its usual level of "
        "39.0 kEUR (usual range of 35.0 kEUR to 43.0 kEUR): a real improvement, not routine "
        "variation.",
        "The recent trend is improving: about 0.58 kEUR more each week over the last 13 weekly "
        "values.",
        "It has improved for 5 weeks in a row.",
        "New personal best: 44.0 kEUR in the week of 21 Sep 2026.",
    ]


def test_a_shift_against_both_the_change_and_the_trend_is_told_as_easing_back() -> None:
    """Above the usual level since July, but lower than last quarter and trending down: the
    badge may not say "real improvement"; the card says it is easing back."""
    r = ref(
        status="improving_shift",
        shift=dict(SHIFT_UP),
        change__absolute=-2.0,
        change__relative_pct=-5.3,
        change__better=False,
        trend__direction="worsening",
        trend__slope_per_week=-0.3,
    )
    assert r.data["story"] == "easing"
    assert texts(nv.kpi_card(r, PERIOD))[2] == (
        "Since the week of 6 Jul 2026 it has run about 3.5 kEUR above its usual level of "
        "39.0 kEUR (usual range of 35.0 kEUR to 43.0 kEUR) on the favourable side, and it "
        "eased back during the period: worth watching where it settles."
    )
    assert texts(nv.headline([r], PERIOD)) == [
        "No real improvement stands out in 2026-Q3 yet; each KPI below says where it stands "
        "and what would help."
    ]


def test_one_unusual_week_is_one_unusual_week_not_a_shift() -> None:
    r = ref(
        unusual_weeks=1,
        signals=[
            {
                "rule": "beyond_limit",
                "period": "2026-08-10",
                "value": 33.1,
                "direction": "worsening",
            }
        ],
    )
    assert texts(nv.kpi_card(r, PERIOD))[3] == (
        "One unusual week: 33.1 kEUR in the week of 10 Aug 2026, beyond the usual range on the "
        "less favourable side. A single week, not a shift."
    )


def test_a_limit_replaced_by_a_natural_boundary_is_not_stated() -> None:
    """Counts 0 to 5.8 a week: the lower limit would be below 0; the range reads "up to"."""
    r = ref(unit="deals", limits__lower=0.0, limits__upper=5.8, limits__lower_bounded=True)
    assert "usual range of up to 5.8 deals (set from" in texts(nv.kpi_card(r, PERIOD))[2]
    assert "0.0 deals to" not in " ".join(texts(nv.kpi_card(r, PERIOD)))


def test_trial_limits_say_how_much_more_history_is_needed() -> None:
    r = ref(
        status="not_enough_history",
        limits__kind="trial",
        limits__baseline_points=12,
        limits__needed=8,
    )
    assert texts(nv.kpi_card(r, PERIOD))[2] == (
        "Its usual range of 35.0 kEUR to 43.0 kEUR is a first estimate from only 12 weekly "
        "values before this period; 8 weekly values more are needed before a real change can "
        "be told from routine variation."
    )


def test_a_dip_in_the_previous_period_that_recovered_is_a_recovery() -> None:
    r = ref(
        status="returned",
        shift={
            "direction": "worsening",
            "holds": False,
            "after_previous": True,
            "previous_period": "2026-Q2",
            "onset": None,
            "size": None,
        },
        change__absolute=6.0,
        change__relative_pct=17.6,
    )
    assert r.data["story"] == "recovered"
    assert texts(nv.kpi_card(r, PERIOD))[1:] == [
        "Compared with 2026-Q2 (38.0 kEUR), it is 6.0 kEUR higher: an improvement of 17.6%.",
        "It is back at the level it held before a dip in 2026-Q2: a recovery (the usual range "
        "on the chart still includes 2026-Q2).",
    ]
    assert texts(nv.headline([r], PERIOD)) == [
        "New revenue closed is back at the level it held before a dip in 2026-Q2."
    ]


def test_card_new_kpi_without_history() -> None:
    r = ref(
        status="not_enough_history",
        limits=None,
        points=4,
        change=None,
        level={"value": 40.0, "points": 4},
    )
    assert texts(nv.kpi_card(r, PERIOD))[1:] == [
        "There are 4 weekly values under the current definition so far, not yet enough to set "
        "a usual range."
    ]


def test_headline_lists_real_improvements_only() -> None:
    """A shift up comes first; a routine KPI that is 5.3 % higher than last quarter is not
    progress (routine variation is never praised as a change)."""
    shift = ref(status="improving_shift", shift=dict(SHIFT_UP))
    other = ref(name="Meetings booked")
    assert texts(nv.headline([other, shift], PERIOD)) == [
        "New revenue closed shows a real improvement: since the week of 6 Jul 2026 it has run "
        "about 3.5 kEUR above its usual level of 39.0 kEUR."
    ]


def test_headline_falls_back_to_strengths_when_nothing_improved() -> None:
    flat = ref(change__absolute=0.0, change__relative_pct=0.0, change__better=False)
    assert texts(nv.headline([flat], PERIOD)) == [
        "New revenue closed is steady and dependable: 40.0 kEUR in 2026-Q3, within its usual "
        "range of 35.0 kEUR to 43.0 kEUR."
    ]
    assert [s.key for s in nv.headline([], PERIOD)] == ["headline_start"]


GOAL = {
    "period": "2026-Q3",
    "decimals": 1,
    "target": 42.0,
    "baseline": 38.0,
    "baseline_source": "given",
    "current": 40.8,
    "score": 0.7,
    "success": True,
    "projected": 41.5,
    "projected_score": 0.88,
    "projected_success": True,
    "remaining_points": 3,
}


def test_goal_at_point_seven_is_worded_as_success_with_projection() -> None:
    assert texts(nv.goal_sentences(ref(goal=dict(GOAL)))) == [
        "New revenue closed scores 0.70 on its goal: from 38.0 kEUR toward 42.0 kEUR, now at "
        "40.8 kEUR. That is a success.",
        "If the current trend continues, the period lands near 41.5 kEUR, a score of 0.88: on "
        "course for a success.",
    ]


def test_goal_of_a_finished_period_landed_and_has_no_projection() -> None:
    goal = {**GOAL, "score": 0.69, "success": False, "remaining_points": 0}
    assert texts(nv.goal_sentences(ref(goal=goal))) == [
        "New revenue closed landed at 40.8 kEUR on its goal, from 38.0 kEUR toward 42.0 kEUR: "
        "a score of 0.69. What would help close the rest of the gap is a good topic for the "
        "check-in."
    ]


def test_goal_on_the_way_only_while_moving_toward_it_with_time_left() -> None:
    goal = {**GOAL, "score": 0.5, "success": False, "projected_success": False}
    moving = ref(goal=dict(goal), trend__direction="improving", trend__slope_per_week=0.2)
    assert texts(nv.goal_sentences(moving))[0] == (
        "New revenue closed scores 0.50 on its goal: from 38.0 kEUR toward 42.0 kEUR, now at "
        "40.8 kEUR, on the way."
    )
    flat = ref(goal=dict(goal))
    assert texts(nv.goal_sentences(flat))[0] == (
        "New revenue closed scores 0.50 on its goal: from 38.0 kEUR toward 42.0 kEUR, now at "
        "40.8 kEUR; it has not been moving toward the target lately, a good topic for the "
        "check-in."
    )


def test_a_goal_moving_away_from_its_target_is_said_plainly() -> None:
    goal = {**GOAL, "current": 36.5, "score": 0.0, "success": False, "remaining_points": 0}
    assert texts(nv.goal_sentences(ref(goal=goal))) == [
        "New revenue closed ended the period at 36.5 kEUR, further from its target of 42.0 kEUR "
        "than its starting point of 38.0 kEUR (a score of 0.00): a good topic for the check-in."
    ]


def test_data_notes() -> None:
    r = ref(
        quality={
            "expected": 13,
            "missing": 2,
            "stale": True,
            "last_observed": "2026-09-07",
            "out_of_range": 1,
        },
        definition_changes=[
            {"version": 2, "effective_from": "2026-03-02", "change": "business hours only"}
        ],
    )
    assert texts(nv.data_notes(r, PERIOD, pd.Timestamp("2026-07-01"))) == [
        "New revenue closed: 2 of 13 expected values are missing in 2026-Q3; they are left "
        "out, never counted as zero.",
        "New revenue closed: no value has arrived recently (the latest is from the week of "
        "7 Sep 2026).",
        "New revenue closed changed its definition on 2 Mar 2026; limits, trend and bests use "
        "the current definition only. The change: business hours only",
        "New revenue closed, not used: 1 value outside the plausible range for its unit.",
    ]


def test_every_phrase_keeps_digits_out_of_its_wording() -> None:
    """Numbers reach a sentence only as figures: the phrase templates hold no digit."""
    from importlib import resources

    source = resources.files("kpinb").joinpath("templates", "phrases.j2").read_text("utf-8")
    wording = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", "", source, flags=re.DOTALL)
    assert re.findall(r"\d", wording) == []


def test_a_shift_down_names_its_onset_and_size_and_opens_a_conversation() -> None:
    r = ref(
        status="worsening_shift",
        shift={**SHIFT_UP, "direction": "worsening", "size": -4.2},
        change__absolute=-3.0,
        change__relative_pct=-7.9,
        change__better=False,
    )
    assert texts(nv.kpi_card(r, PERIOD))[2] == (
        "Since the week of 6 Jul 2026 it has run about 4.2 kEUR below its usual level of "
        "39.0 kEUR (usual range of 35.0 kEUR to 43.0 kEUR), on the less favourable side. That "
        "is a real change, worth a conversation about what changed around the work."
    )


def test_percent_kpis_change_in_percentage_points() -> None:
    r = ref(
        unit="%",
        change__absolute=-0.3,
        change__relative_pct=-0.3,
        change__better=False,
        change__previous=90.3,
        level={"value": 90.0, "points": 13},
    )
    # 90.3 - 0.3 = 90.0: the difference is in points, and no relative "%" beside it
    assert texts(nv.kpi_card(r, PERIOD))[1] == (
        "Compared with 2026-Q2 (90.3%), it is 0.3 percentage points lower."
    )


def test_a_percent_kpis_shift_is_in_percentage_points() -> None:
    """A rate whose usual level is 62.9 % and that runs at 86.1 % has moved 23.2 points."""
    r = ref(
        unit="%",
        status="improving_shift",
        shift={**SHIFT_UP, "size": 23.2},
        limits__centre=62.9,
        level={"value": 86.1, "points": 13},
    )
    said = " ".join(texts(nv.kpi_card(r, PERIOD)))
    assert "about 23.2 percentage points above its usual level of 62.9%" in said
    assert "23.2%" not in said


def test_goal_without_a_starting_point_says_so_or_that_it_is_met() -> None:
    goal = {
        **GOAL,
        "baseline": None,
        "score": None,
        "success": False,
        "projected_score": None,
        "current": 43.0,
    }
    assert texts(nv.goal_sentences(ref(goal=goal))) == [
        "New revenue closed is at 43.0 kEUR against a target of 42.0 kEUR: already at or past "
        "the target."
    ]
    lower_is_better = ref(goal=goal, direction="down")
    assert texts(nv.goal_sentences(lower_is_better)) == [
        "New revenue closed is at 43.0 kEUR against a target of 42.0 kEUR; there is no "
        "starting point yet to score the progress from."
    ]


def test_hold_the_level_goal() -> None:
    goal = {**GOAL, "baseline": 42.0, "target": 40.0, "current": 40.8, "score": 1.0}
    assert texts(nv.goal_sentences(ref(goal=goal)))[0] == (
        "New revenue closed aims to hold 40.0 kEUR and is now at 40.8 kEUR: holding it."
    )


def test_goal_across_a_definition_change_is_not_scored_against_the_old_definition() -> None:
    goal = {
        **GOAL,
        "baseline": None,
        "baseline_source": "crosses_definition_change",
        "score": None,
        "success": False,
        "projected_score": None,
        "current": 41.0,
    }
    assert texts(nv.goal_sentences(ref(goal=goal))) == [
        "New revenue closed is at 41.0 kEUR against a target of 42.0 kEUR; the definition "
        "changed since the previous period, so the progress cannot be scored against the "
        "old definition."
    ]


def test_kpi_without_values_in_the_period_says_so_and_implies_no_action() -> None:
    """A no_data KPI whose last weeks (before the period) formed a streak and a trend:
    its card says there is no value, the headline does not cite the old streak, and it
    raises no coaching question."""
    from kpinb.report.sections import journal

    r = ref(
        status="no_data",
        level=None,
        change=None,
        latest={"period": "2026-06-22", "value": 41.0, "in_period": False},
        streak={"length": 4, "unit": "week"},
        trend={"slope_per_week": -0.5, "direction": "worsening", "points": 13},
    )
    assert texts(nv.kpi_card(r, PERIOD)) == [
        "New revenue closed has no value in 2026-Q3, so there is nothing to read for this "
        "period and no action is implied; the latest is 41.0 kEUR in the week of 22 Jun 2026."
    ]
    assert [s.key for s in nv.headline([r], PERIOD)] == ["headline_start"]
    assert journal.questions([r], None).data["questions"] == []
