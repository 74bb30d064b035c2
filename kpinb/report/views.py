"""The three views: a person's coaching report (employee or manager view), a team's
report (manager view) and the executive overview (team and department aggregates,
minimum group size applied). Each composes the parts of :mod:`kpinb.report.sections`
in reading order and the twin from the keys each part states.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb.report import masking, twin
from kpinb.report import sentences as st
from kpinb.report.render import Section, anchor_of
from kpinb.report.sections import executive, goals, journal, kpis, notes, talk, team
from kpinb.report.sections.part import Part, refs_of

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
    from kpinb.periods import Period
    from kpinb.workspace import Workspace


@dataclass(frozen=True)
class Built:
    """What a view assembled: title, subtitle, sections in reading order, twin data."""

    title: str
    subtitle: str
    sections: tuple[Section, ...]
    data: dict[str, Any]


def build(
    ws: Workspace,
    result: Analysis,
    scope: str,
    scope_id: str,
    per: Period,
    view: str,
    root: Path | None,
) -> Built:
    """Assemble the sections and twin data of one report from the period's analysis."""
    if scope == "employee":
        return _employee(ws, result, scope_id, per, view, root)
    if view == "manager":
        return _team(ws, result, scope_id, per, root)
    return _executive(ws, result, scope, scope_id, per)


def _subtitle(per: Period, view: str) -> str:
    start, end = (
        st.format_date(per.start.date().isoformat()),
        st.format_date(per.end.date().isoformat()),
    )
    return f"{view.title()} view. Review period {per.label}: {start} to {end}."


def _no_data(
    refs: list[st.Ref], period: st.Figure, name: st.Figure, *, person: bool = False
) -> Part | None:
    """The progress section of a page without a single KPI value in the period: what is
    missing and what to do (None when some KPI has a value)."""
    if any(r.data["level"] is not None for r in refs):
        return None
    sentence = st.say("headline_no_data", name=name, period=period, person=person)
    return Part(Section("progress", "Progress", (sentence,)))


def _progress(
    refs: list[st.Ref],
    period: st.Figure,
    name: st.Figure,
    heading: str,
    *,
    person: bool = False,
    shared: frozenset[str] = frozenset(),
) -> Part:
    """The progress headline, or what is missing when no KPI has a value. ``shared``:
    KPIs that moved for everyone in the group (told first, under "What moved for
    everyone"): never the group's own progress."""
    found = _no_data(refs, period, name, person=person)
    if found is None:
        return kpis.progress(_own(refs, shared), period, heading)
    return Part(replace(found.section, heading=heading))


def _own_moves(moves: pd.DataFrame, scope: str, sid: str) -> pd.DataFrame:
    """The moves of the group itself (not of its teams)."""
    return moves[(moves["scope"] == scope) & (moves["scope_id"].astype(str) == sid)]


def _moved_for_everyone(moves: pd.DataFrame) -> frozenset[str]:
    """The KPIs of a group's own moves: what moved for everyone in it."""
    return frozenset(moves["kpi_id"].astype(str))


def _own(refs: list[st.Ref], shared: frozenset[str]) -> list[st.Ref]:
    """The KPIs whose moves may be the group's own progress."""
    return [r for r in refs if str(r.data["kpi_id"]) not in shared]


def _said(section: Section) -> bool:
    """A section with something to say: no bare headings on a page."""
    return bool(
        section.sentences
        or section.cards
        or section.charts
        or section.lists
        or section.points
        or section.why
    )


def _built(title: str, subtitle: str, data: dict[str, Any], parts: list[Part]) -> Built:
    """The view's sections in reading order and its twin: ``data``, then each part's
    keys in reading order (a key already in ``data`` keeps its place). A section with
    nothing to say is left out."""
    merged = dict(data)
    for part in parts:
        merged.update(part.data)
    sections = [p.section for p in parts if _said(p.section)]
    return Built(title, subtitle, tuple(sections), twin.with_sentences(merged, sections))


def _employee(
    ws: Workspace, result: Analysis, eid: str, per: Period, view: str, root: Path | None
) -> Built:
    """A person's report: talking points, progress, KPI cards, goals, own goals, routine,
    questions, notes."""
    person = ws.people.loc[ws.people["employee_id"] == eid].iloc[0]
    part = result.part("employee", eid)
    mask = masking.privacy(ws, eid) if view == "employee" else masking.identity
    blocks = twin.blocks_of(ws, part)
    refs = refs_of(blocks)
    period = st.text("period", per.label)
    team_name = ws.teams.loc[ws.teams["team_id"] == person["team_id"], "name"]
    data: dict[str, Any] = {
        "subject": {
            "employee_id": eid,
            "name": str(person["name"]),
            "team_id": str(person["team_id"]),
            "team": str(team_name.iloc[0]) if len(team_name) else None,
            "role": str(person["role"]),
        },
        "scoring": twin.scoring(result.success),
        "kpis": blocks,
    }
    cards = kpis.cards(part, refs, period, per, ws)
    own = goals.own_goals(ws, eid, refs)
    routine = journal.routine(ws, eid, refs, per, root, mask)
    questions = journal.questions(refs, routine.data["routine"]["checkin"], period)
    points, talk_data = talk.talking_points(
        refs,
        period,
        len(routine.data["routine"]["open_actions"]),
        "employee",
        eid,
        f"#{anchor_of('employee', eid)}-routine",
        own.data["own_goals"],
        f"#{anchor_of('employee', eid)}-own_goals",
        part.success,
    )
    parts = [
        Part(points, talk_data),
        _progress(
            refs, period, st.text("subject.name", str(person["name"])), "Progress", person=True
        ),
        cards,
        goals.goals(refs, part, period),
        own,
        routine,
        questions,
        notes.notes(refs, period, per),
    ]
    if view == "manager":
        parts.insert(-1, goals.flags(ws, [eid], None, per))
    title = f"{person['name']}: coaching report, {per.label}"
    return _built(title, _subtitle(per, view), data, parts)


def _team(ws: Workspace, result: Analysis, tid: str, per: Period, root: Path | None) -> Built:
    """A team's report for its manager, action first: what moved for everyone, the team's
    progress, signals worth a conversation, goals with their breakdown, open actions and
    flags; then the charts (the team's KPI cards, each member's trajectory) and notes."""
    row = ws.teams.loc[ws.teams["team_id"] == tid].iloc[0]
    part = result.part("team", tid)
    blocks = twin.blocks_of(ws, part)
    refs = refs_of(blocks)
    people = ws.people[ws.people["team_id"] == tid].sort_values("employee_id")
    ids = people["employee_id"].astype(str).tolist()
    mpart = result.subset("employee", ids)
    split = mpart.split_ids()
    period = st.text("period", per.label)
    members: list[dict[str, Any]] = [
        {
            "employee_id": eid,
            "name": str(name),
            "kpis": twin.blocks_of(ws, one) if (one := split.get(eid)) else [],
        }
        for eid, name in zip(ids, people["name"], strict=True)
    ]
    data: dict[str, Any] = {
        "subject": {
            "team_id": tid,
            "name": str(row["name"]),
            "department": str(row["department"]),
        },
        "scoring": twin.scoring(result.success),
        "kpis": blocks,
        "members": members,
    }
    within, inner = kpis.shifts_within(members, "members")
    data.update(within)
    names = {m["employee_id"]: m["name"] for m in members}
    own_moves = _own_moves(result.moves, "team", tid)
    across = team.over_time_moves(str(row["name"]), members, list(ws.kpis))
    parts = [
        team.moved_for_everyone(twin.moves_of(ws, own_moves, blocks), across),
        _progress(
            refs,
            period,
            st.text("subject.name", str(row["name"])),
            "Team progress",
            shared=_moved_for_everyone(own_moves) | {m["kpi_id"] for m in across},
        ),
        team.conversations(members),
        goals.member_goals(refs, part, period, members),
        journal.team_actions(ws, root, ids, per, names),
        goals.flags(ws, ids, tid, per),
        kpis.cards(part, refs, period, per, ws, inner, "Team KPIs"),
        team.members(mpart, members, refs, period),
        notes.team_notes(refs, period, per, members),
    ]
    title = f"{row['name']}: team report, {per.label}"
    return _built(title, _subtitle(per, "manager"), data, parts)


def _executive(ws: Workspace, result: Analysis, scope: str, sid: str, per: Period) -> Built:
    """Team-level aggregates only: hidden groups are counted, never shown or named, and
    no figure resting on fewer than the minimum group size is shown (the masked
    analysis, :attr:`Analysis.executive_analysis`, feeds every block and chart)."""
    result = result.executive_analysis
    ex = result.summary
    if scope == "department":
        team_ids = ws.teams.loc[ws.teams["department"] == sid, "team_id"].astype(str).tolist()
        name = sid
    else:
        team_ids = [sid]
        name = str(ws.teams.loc[ws.teams["team_id"] == sid, "name"].iloc[0])
    subject = ex[(ex["scope"] == scope) & (ex["scope_id"].astype(str) == sid)]
    shown = subject.loc[~subject["suppressed"].astype(bool), "kpi_id"].astype(str).tolist()
    part = result.part(scope, sid)
    part = replace(part, summary=part.summary[part.summary["kpi_id"].isin(shown)])
    blocks = twin.blocks_of(ws, part)
    refs = refs_of(blocks)
    period = st.text("period", per.label)
    size = int(result.min_group_size)
    not_shown = int(subject["suppressed"].astype(bool).sum())
    data: dict[str, Any] = {
        "subject": {"scope": scope, "id": sid, "name": name},
        "min_group_size": size,
        "scoring": twin.scoring(result.success),
        "kpis": blocks,
        "not_shown": not_shown,
    }
    inner = None
    shown_teams: list[dict[str, Any]] = []
    teams: list[Part] = []
    if scope == "department":
        teams = [executive.teams(ws, result, ex, team_ids, period)]
        shown_teams = teams[0].data["teams"]
        within, inner = kpis.shifts_within(shown_teams, "teams")
        data.update(teams[0].data)
        data.update(within)
    hidden = not_shown + data.get("teams_not_shown", 0)
    withheld, withheld_sentences = executive.withheld_notes(refs, size, shown_teams)
    moves = group_moves(result.moves, ex, scope, sid, team_ids)
    # nothing withheld and no value: say what is missing
    empty = None if not_shown else _no_data(refs, period, st.text("subject.name", name))
    parts = [
        team.moved_for_everyone(twin.moves_of(ws, moves, blocks)),
        empty
        or executive.headline(
            refs,
            period,
            data["subject"],
            not_shown,
            own=_own(refs, _moved_for_everyone(_own_moves(moves, scope, sid))),
        ),
        *teams,
        kpis.cards(part, refs, period, per, ws, inner),
        executive.privacy(size, hidden),
        Part(notes.notes(refs, period, per, withheld=withheld_sentences).section, withheld),
    ]
    kind = "department" if scope == "department" else "team"
    title = f"{name}: {kind} overview, {per.label}"
    return _built(title, _subtitle(per, "executive"), data, parts)


def group_moves(
    moves: pd.DataFrame, summary: pd.DataFrame, scope: str, sid: str, team_ids: list[str]
) -> pd.DataFrame:
    """What moved for everyone in an executive view: the group's own moves and, in a
    department's, those of its teams (the masked analysis already leaves hidden teams
    out). A department's move of a KPI that one of its teams withholds (a group under
    the minimum size, or dates with too few people) is left out too: its counts and
    change, less those of the teams shown, would give the hidden team's."""
    ids = moves["scope_id"].astype(str)
    mine = (moves["scope"] == scope) & (ids == sid)
    if scope != "department":
        return moves[mine]
    teams = summary[(summary["scope"] == "team") & summary["scope_id"].astype(str).isin(team_ids)]
    held_back = teams["suppressed"].astype(bool) | teams["status"].eq("withheld")
    partial = set(teams.loc[held_back, "kpi_id"].astype(str))
    mine &= ~moves["kpi_id"].astype(str).isin(partial)
    return moves[mine | ((moves["scope"] == "team") & ids.isin(team_ids))]
