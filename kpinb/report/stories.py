"""The stories a report tells about a KPI, listed once, and how a block gets its story.

A story is a KPI status (:mod:`kpinb.analytics.statuses`, against the person's own
recent normal) read together with the quarter's change and the trend: the one thing
its badge, card colour, headline, status sentence, review routine and coaching
questions all say. Every module that decides on a story looks its entry up here by
name, so ``git grep <story>`` finds every place that decides on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Story:
    """One story and everything the report does with it.

    ``polarity``: +1 good news, -1 a topic to talk about. ``badge``: the card's badge.
    ``phrase``: the macro in ``phrases.j2`` of the card's status sentence when the
    usual range is known. ``card``: the card's colour, the CSS class
    ``status-<card>`` in ``report.css`` (``routine``: the plain card). ``moved``: what
    moved, in the review routine's words (``routine_moved``). ``shift``: a shift against
    the usual level, which the team and department views name and count.
    ``glance``: counted by the run index as a shift up (+1) or down (-1).
    ``within_usual``: the series sits within its usual range (unusual weeks and runs
    are told; a routine aggregate with shifts within says "changes within").
    ``strength``: a steady level the headline may name when nothing improved.
    ``pair``: what a leading indicator's move means for its partner (``kpi_pair``).
    ``goal``: how it serves a personal goal (``own_goal_kpi``). ``stall``: why it
    deserves coaching questions (``plateau``: only when its goal is off track too).
    ``shared``: a move the person's group made (``kpi_shared``): context, never the
    person's progress, gap or evidence.
    """

    name: str
    polarity: int
    badge: str
    phrase: str
    card: str
    moved: str
    shift: bool = False
    glance: int = 0
    within_usual: bool = False
    strength: bool = False
    pair: str = "steady"
    goal: str = "steady"
    stall: str | None = None
    shared: bool = False


STORIES: dict[str, Story] = {
    s.name: s
    for s in (
        Story(
            "improving_shift",
            1,
            "real improvement",
            "kpi_improving_shift",
            "improving",
            "improving",
            shift=True,
            glance=1,
            pair="improving",
            goal="improving",
        ),
        Story(
            "worsening_shift",
            -1,
            "real change, worth a conversation",
            "kpi_worsening_shift",
            "conversation",
            "conversation",
            shift=True,
            glance=-1,
            pair="drifting",
            goal="conversation",
            stall="shift",
        ),
        Story(
            "easing",
            0,
            "above its usual level, easing back",
            "kpi_easing",
            "routine",
            "easing",
            shift=True,
        ),
        Story(
            "recovering",
            0,
            "coming back toward its usual level",
            "kpi_recovering",
            "routine",
            "recovering",
            shift=True,
            goal="conversation",
            stall="shift",
        ),
        Story(
            "recovered",
            1,
            "back at its usual level",
            "kpi_came_and_went",
            "improving",
            "recovered",
            within_usual=True,
            pair="improving",
            goal="improving",
        ),
        Story(
            "eased",
            0,
            "back at its usual level",
            "kpi_came_and_went",
            "routine",
            "eased",
            within_usual=True,
            strength=True,
        ),
        Story(
            "trend_up",
            1,
            "improving trend",
            "kpi_routine",
            "improving",
            "trend",
            within_usual=True,
            pair="improving",
            goal="improving",
        ),
        Story(
            "lean",
            -1,
            "within its usual range, drifting",
            "kpi_routine",
            "routine",
            "lean",
            within_usual=True,
            pair="drifting",
            goal="conversation",
            stall="lean",
        ),
        Story(
            "routine",
            0,
            "routine variation, no action needed",
            "kpi_routine",
            "routine",
            "routine",
            within_usual=True,
            strength=True,
            stall="plateau",
        ),
        Story(
            "shared",
            0,
            "a change you share",
            "kpi_shared",
            "shared",
            "shared",
            shared=True,
        ),
        Story(
            "own_ahead",
            1,
            "a real change of your own",
            "kpi_own_against",
            "improving",
            "improving",
            shift=True,
            glance=1,
            pair="improving",
            goal="improving",
        ),
        Story(
            "own_behind",
            -1,
            "a real change of your own, worth a conversation",
            "kpi_own_against",
            "conversation",
            "conversation",
            shift=True,
            glance=-1,
            pair="drifting",
            goal="conversation",
            stall="shift",
        ),
        Story("new", 0, "building history", "kpi_new", "routine", "new"),
        Story("no_data", 0, "no value in this period", "kpi_routine", "routine", "no_data"),
        Story(
            "withheld",
            0,
            "some figures not shown (group size)",
            "kpi_routine",
            "routine",
            "withheld",
        ),
        Story("suppressed", 0, "not shown (group size)", "kpi_routine", "routine", "suppressed"),
    )
}

# a routine aggregate whose members or teams show shifts of their own
BADGE_WITHIN = "routine overall, changes within"
# the card colour drawn by the plain ``.card`` rule (no ``status-`` rule of its own)
PLAIN_CARD = "routine"
# the status sentence of a return after the previous period moved (instead of
# ``kpi_came_and_went``), and of a usual range still on trial (instead of ``kpi_new``)
PHRASE_BACK_AFTER = "kpi_back_after"
PHRASE_TRIAL = "kpi_trial"
# the within-range sentence of most stories, and a rate's (its period's rate against the
# range for that many cases, instead of every week against a week's range)
PHRASE_ROUTINE = "kpi_routine"
PHRASE_RATE_ROUTINE = "kpi_rate_routine"

# statuses that are their own story, whatever the trend
_AS_IS = {
    "no_data": "no_data",
    "withheld": "withheld",
    "suppressed": "suppressed",
    "not_enough_history": "new",
    "improving_shift": "improving_shift",
    "worsening_shift": "worsening_shift",
}
# a shift that the quarter's change and the trend both contradict
_CONTRADICTED = {"improving_shift": "easing", "worsening_shift": "recovering"}


# a routine card beside a goal that asks for more: never "no action needed"
BADGE_GOAL = "routine variation, its goal asks for more"


def goal_asks_more(block: dict[str, Any]) -> bool:
    """The KPI has a goal with a value and it is not (yet) a success (score under the
    success line, or off track): its card never says "no action needed"."""
    goal = block.get("goal") or {}
    return goal.get("current") is not None and not goal.get("success")


def held_level(block: dict[str, Any]) -> bool:
    """The quarter's change is within what routine variation explains (twin
    ``change.held``): only then may a sentence say the KPI held level or is steady
    (no earlier level to compare with: no such claim)."""
    change = block.get("change")
    # a change block built before the twin had ``held`` keeps its old meaning
    return bool(change.get("held", True)) if change else False


def story_of(name: object) -> Story | None:
    """The story called ``name`` (None for a block without one, e.g. an old twin's)."""
    return STORIES.get(name) if isinstance(name, str) else None


def polarity(name: str | None) -> int:
    """+1 when the story is good news, -1 when it is a topic to talk about, else 0."""
    found = story_of(name)
    return found.polarity if found else 0


def tell(block: dict[str, Any]) -> str:
    """The one story of a KPI block that its badge, card, headline, routine and
    questions tell.

    A move the person's group made is ``shared``; one against it is the person's own
    (``own_ahead`` / ``own_behind``, which way against the group, direction-aware).
    Else from the status (against the person's own recent normal), then the trend. A badge
    never points one way while the quarter's change and the trend both point the other:
    such a shift is told as easing back or recovering instead.
    """
    status, trend = block["status"], block["trend"]["direction"]
    if status in _AS_IS and status not in _CONTRADICTED:
        return _AS_IS[status]
    against = block.get("shared")
    if against:  # the person's group moved: shared, or a move of their own against it
        if not against["own"]:
            return "shared"
        if against.get("relative"):
            ahead = (against["relative"] == "up") == (block["direction"] == "up")
            return "own_ahead" if ahead else "own_behind"
    shift = block["shift"] or {}
    if status == "returned" and block.get("sparse"):
        told = "routine"  # a sparse series has no usual range to be back within
    elif status == "returned":
        told = "recovered" if shift.get("direction") == "worsening" else "eased"
    elif status in _AS_IS:
        told = _AS_IS[status]
    else:
        told = {"improving": "trend_up", "worsening": "lean"}.get(trend, "routine")
    change = block["change"]
    better = None if not change or not change["absolute"] else bool(change["better"])
    sign = polarity(told)
    trend_sign = {"improving": 1, "worsening": -1}.get(trend, 0)
    if sign and better is not None and (1 if better else -1) == -sign == trend_sign:
        return _CONTRADICTED.get(told, "routine")
    return told
