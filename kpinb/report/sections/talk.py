"""For your next conversation: at most three one-line talking points at the top of a
person's report, each linking to what it is about. The clearest progress of the
person's own (the progress headline's first choice), the one change of their own worth
a conversation, and what is due (a goal projected to miss its success line, open
actions). The twin's ``talking_points`` keeps each point's kind, KPI and link. Then the
person's own why in one line: their first personal goal (``own_goals``), or an
invitation to name one; ``talking_why`` keeps its link and how many goals there are
(None without talking points: the why line closes them and never stands alone).
"""

from __future__ import annotations

from typing import Any

from kpinb.analytics import SUCCESS
from kpinb.report import narrative as nv
from kpinb.report import sentences as st
from kpinb.report import twin
from kpinb.report.render import Point, Section, card_href
from kpinb.report.stories import story_of

HEADING = "For your next conversation"

# what the progress point says, by the progress headline's phrase
_PROGRESS_KIND = {
    "headline_shift": "shift",
    "headline_best": "best",
    "headline_best_since": "best",
    "headline_over_time": "over_time",
    "headline_back": "back",
    "headline_dip_back": "back",
    "headline_trend": "trend",
    "headline_year": "year",
    "headline_goal": "goal",
}


def talking_points(
    refs: list[st.Ref],
    period: st.Figure,
    open_actions: int,
    scope: str,
    scope_id: str,
    routine_href: str,
    own_goals: list[dict[str, Any]],
    goals_href: str,
    success: float = SUCCESS,
) -> tuple[Section, dict[str, Any]]:
    """The section and the twin's ``talking_points`` and ``talking_why``
    (``open_actions``: how many actions are open; ``routine_href``: where they are
    listed; ``own_goals``: the twin's personal goals, listed at ``goals_href``;
    ``success``: the success line)."""
    found: list[dict[str, Any]] = []
    points: list[Point] = []

    def add(kind: str, kpi_id: str | None, href: str, **extra: Any) -> st.Ref:
        found.append({"kind": kind, "kpi_id": kpi_id, "href": href, **extra})
        return st.Ref(f"talking_points[{len(found) - 1}]", found[-1])

    ranked = nv.progress_ranked(refs, period)
    if ranked and ranked[0][0].has("level"):
        ref, headline = ranked[0]
        href = card_href(scope, scope_id, ref.data["kpi_id"])
        add("progress", ref.data["kpi_id"], href)
        what = _PROGRESS_KIND.get(headline.key, "goal")
        sentence = st.say(
            "talk_progress",
            kpi=ref.txt("name"),
            level=ref.num("level.value"),
            period=period,
            what=what,
        )
        points.append(Point(sentence, href))
    talk = _conversation(refs)
    if talk is not None:
        href = card_href(scope, scope_id, talk.data["kpi_id"])
        add("conversation", talk.data["kpi_id"], href)
        told = story_of(talk.data["story"])
        sentence = st.say(
            "talk_conversation",
            kpi=talk.txt("name"),
            level=talk.num("level.value"),
            period=period,
            badge=told.badge if told else "",
        )
        points.append(Point(sentence, href))
    risk = _goal_at_risk(refs)
    if risk is not None:
        href = card_href(scope, scope_id, risk.data["kpi_id"])
        due = add("due", risk.data["kpi_id"], href, open_actions=open_actions)
        scoring = st.Ref("scoring", twin.scoring(success))
        sentence = st.say(
            "talk_goal",
            kpi=risk.txt("name"),
            projected=risk.num("goal.projected_score", unit="", decimals=2),
            success=scoring.num("success", unit="", decimals=twin.success_decimals(success)),
            n=due.count("open_actions", "action", "actions") if open_actions else None,
        )
        points.append(Point(sentence, href))
    elif open_actions:
        due = add("due", None, routine_href, open_actions=open_actions)
        sentence = st.say("talk_actions", n=due.count("open_actions", "action", "actions"))
        points.append(Point(sentence, routine_href))
    if not points:  # nothing to talk about: no section, and no why line on its own
        return Section("talk", HEADING), {"talking_points": found, "talking_why": None}
    why, why_data = _why(own_goals, goals_href)
    section = Section("talk", HEADING, points=tuple(points), why=why)
    return section, {"talking_points": found, "talking_why": why_data}


def _why(own_goals: list[dict[str, Any]], href: str) -> tuple[Point, dict[str, Any]]:
    """The person's own why: their first personal goal (never anyone else's), with how
    many they have; without one, an invitation to name it."""
    data: dict[str, Any] = {"href": href, "goals": len(own_goals)}
    if not own_goals:
        return Point(st.say("talk_why_none"), href), data
    ref = st.Ref("talking_why", data)
    sentence = st.say(
        "talk_why",
        goal=st.Ref("own_goals[0]", own_goals[0]).txt("goal"),
        n=ref.count("goals", "personal goal", "personal goals") if len(own_goals) > 1 else None,
    )
    return Point(sentence, href), data


def _conversation(refs: list[st.Ref]) -> st.Ref | None:
    """The one change of the person's own worth a conversation: a story to talk about
    that is not the group's, a shift before a lean."""
    own = [
        (not told.shift, i, r)
        for i, r in enumerate(refs)
        if r.has("level")
        and (told := story_of(r.data["story"])) is not None
        and told.polarity < 0
        and not told.shared
    ]
    return min(own, key=lambda t: t[:2])[2] if own else None


def _goal_at_risk(refs: list[st.Ref]) -> st.Ref | None:
    """The goal projected furthest below its success line (None when every goal with a
    projection lands a success)."""
    at_risk = [
        r
        for r in refs
        if r.has("goal")
        and r.get("goal").get("projected_score") is not None
        and not r.get("goal")["projected_success"]
    ]
    return min(at_risk, key=lambda r: r.get("goal.projected_score"), default=None)
