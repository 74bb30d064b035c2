"""The three views: a person's coaching report (employee or manager view), a team's
report (manager view) and the executive overview (team and department aggregates,
minimum group size applied). Each assembles its sections in reading order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb import narrative as nv
from kpinb import sections, twin
from kpinb import sentences as st
from kpinb.render import ItemList, Section, chart_block

if TYPE_CHECKING:
    from kpinb.analysis import Analysis
    from kpinb.periods import Period
    from kpinb.workspace import Workspace


@dataclass(frozen=True)
class Built:
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


def _employee(
    ws: Workspace, result: Analysis, eid: str, per: Period, view: str, root: Path | None
) -> Built:
    person = ws.people.loc[ws.people["employee_id"] == eid].iloc[0]
    part = result.for_scope("employee", eid)
    mask = sections.privacy(ws, eid) if view == "employee" else sections.identity
    blocks = twin.blocks_of(ws, part)
    refs = sections.refs(blocks)
    period = st.text("period", per.label)
    team = ws.teams.loc[ws.teams["team_id"] == person["team_id"], "name"]
    data: dict[str, Any] = {
        "subject": {
            "employee_id": eid,
            "name": str(person["name"]),
            "team_id": str(person["team_id"]),
            "team": str(team.iloc[0]) if len(team) else None,
            "role": str(person["role"]),
        },
        "scoring": dict(twin.SCORING),
        "kpis": blocks,
    }
    parts = [
        Section("progress", "Progress", tuple(nv.headline(refs, period))),
        Section("kpis", "KPIs", cards=sections.cards(part, refs, period, per, ws)),
        sections.goals_section(refs, part, period),
        sections.own_goals_section(ws, eid, refs, data),
        sections.routine_section(ws, eid, refs, per, root, mask, data),
        sections.questions_section(refs, data),
        sections.notes_section(refs, period, per),
    ]
    if view == "manager":
        parts.insert(-1, sections.flags_section(ws, [eid], None, per, data))
    title = f"{person['name']}: coaching report, {per.label}"
    return Built(title, _subtitle(per, view), tuple(parts), twin.with_sentences(data, parts))


def _team(ws: Workspace, result: Analysis, tid: str, per: Period, root: Path | None) -> Built:
    team = ws.teams.loc[ws.teams["team_id"] == tid].iloc[0]
    part = result.for_scope("team", tid)
    blocks = twin.blocks_of(ws, part)
    refs = sections.refs(blocks)
    members = ws.people[ws.people["team_id"] == tid].sort_values("employee_id")
    ids = members["employee_id"].astype(str).tolist()
    mpart = twin.subset(result, "employee", ids)
    split = twin.split_ids(mpart)
    period = st.text("period", per.label)
    data: dict[str, Any] = {
        "subject": {
            "team_id": tid,
            "name": str(team["name"]),
            "department": str(team["department"]),
        },
        "scoring": dict(twin.SCORING),
        "kpis": blocks,
        "members": [
            {
                "employee_id": eid,
                "name": str(name),
                "kpis": twin.blocks_of(ws, one) if (one := split.get(eid)) else [],
            }
            for eid, name in zip(ids, members["name"], strict=True)
        ],
    }
    parts = [
        Section("progress", "Team progress", tuple(nv.headline(refs, period))),
        Section("kpis", "Team KPIs", cards=sections.cards(part, refs, period, per, ws)),
        _members_section(ws, mpart, data, refs, period),
        _conversations_section(data),
        _team_goals_section(refs, part, period, data),
        _team_actions_section(root, ids, per, data),
        sections.flags_section(ws, ids, tid, per, data),
        _team_notes_section(refs, period, per, data),
    ]
    title = f"{team['name']}: team report, {per.label}"
    return Built(title, _subtitle(per, "manager"), tuple(parts), twin.with_sentences(data, parts))


def _members_section(
    ws: Workspace, mpart: Analysis, data: dict[str, Any], refs: list[st.Ref], period: st.Figure
) -> Section:
    from kpinb import charts

    names = {m["employee_id"]: m["name"] for m in data["members"]}
    data["trajectories"] = []
    sentences, blocks = [], []
    for ref in refs:
        kpi = ref.data["kpi_id"]
        pts = mpart.points[
            (mpart.points["kpi_id"] == kpi)
            & mpart.points["current_version"]
            & (mpart.points["period"] >= mpart.period.start - pd.DateOffset(months=9))
        ]
        people = sorted(set(pts.loc[pts["in_review"], "scope_id"].astype(str)))
        data["trajectories"].append(
            {"kpi_id": kpi, "name": ref.data["name"], "people": len(people)}
        )
        tref = st.Ref(f"trajectories[{len(data['trajectories']) - 1}]", data["trajectories"][-1])
        sentence = st.say(
            "team_members",
            kpi=tref.txt("name"),
            n=tref.count("people", "person", "people"),
            period=period,
        )
        sentences.append(sentence)
        if pts.empty:
            continue
        frame = pts.assign(member=pts["scope_id"].astype(str).map(names)).rename(
            columns={"smoothed": "level"}
        )
        description = (
            f"{ref.data['name']}: one small chart per team member, values and "
            f"smoothed level (dashed). {sentence.text}"
        )
        chart = charts.small_multiples(
            frame,
            title=f"{ref.data['name']} by member",
            unit=ref.data["unit"],
            description=description,
        )
        blocks.append(chart_block(chart, description))
    return Section("members", "Each member's trajectory", tuple(sentences), charts=tuple(blocks))


def _conversations_section(data: dict[str, Any]) -> Section:
    items = []
    for i, member in enumerate(data["members"]):
        for j, block in enumerate(member["kpis"]):
            ref = st.Ref(
                f"members[{i}].kpis[{j}]",
                block,
                unit=block["unit"],
                decimals=block["decimals"],
                cadence=block["cadence"],
            )
            name = st.text(f"members[{i}].name", member["name"])
            if block["status"] in ("improving_signal", "worsening_signal") and block["signals"]:
                last = len(block["signals"]) - 1
                items.append(
                    st.say(
                        "member_signal",
                        name=name,
                        kpi=ref.txt("name"),
                        when=ref.when(f"signals.{last}.period"),
                        improving=block["status"] == "improving_signal",
                    )
                )
            elif block["best"] and block["best"]["is_new"]:
                items.append(
                    st.say(
                        "member_best",
                        name=name,
                        kpi=ref.txt("name"),
                        best=ref.num("best.value"),
                        when=ref.when("best.period"),
                    )
                )
    return Section(
        "conversations",
        "Signals worth a conversation",
        lists=(
            ItemList(
                "",
                tuple(items),
                "No signals this period: every member's KPIs show routine "
                "variation, no action needed.",
            ),
        ),
    )


def _team_goals_section(
    refs: list[st.Ref], part: Analysis, period: st.Figure, data: dict[str, Any]
) -> Section:
    section = sections.goals_section(refs, part, period)
    goals = [b["goal"] for m in data["members"] for b in m["kpis"] if b["goal"]]
    data["member_goals"] = {"goals": len(goals), "success": sum(1 for g in goals if g["success"])}
    if not goals:
        return section
    ref = st.Ref("member_goals", data["member_goals"])
    extra = st.say(
        "member_goals",
        n_success=ref.num("success", decimals=0),
        n=ref.num("goals", decimals=0),
        period=period,
    )
    return replace(section, sentences=(*section.sentences, extra), lists=())


def _team_actions_section(
    root: Path | None, ids: list[str], per: Period, data: dict[str, Any]
) -> Section:
    _, actions = sections.journal_frames(root, ids, per)
    names = {m["employee_id"]: m["name"] for m in data["members"]}
    data["open_actions"] = [
        {**sections.action(a, sections.identity), "name": names.get(str(a["employee_id"]), "")}
        for _, a in actions.iterrows()
    ]
    ref = st.Ref("open_actions", data["open_actions"])
    items = tuple(
        st.say(
            "action_open_member",
            name=ref.txt(f"{i}.name"),
            action=ref.txt(f"{i}.text"),
            owner=ref.txt(f"{i}.owner"),
            due=ref.day(f"{i}.due"),
        )
        for i, a in enumerate(data["open_actions"])
        if a["due"]
    )
    return Section("actions", "Open actions", lists=(ItemList("", items, "No open actions."),))


def _team_notes_section(
    refs: list[st.Ref], period: st.Figure, per: Period, data: dict[str, Any]
) -> Section:
    gaps: dict[str, dict[str, Any]] = {}
    for member in data["members"]:
        for block in member["kpis"]:
            if block["quality"]["missing"]:
                gap = gaps.setdefault(
                    block["kpi_id"],
                    {"kpi_id": block["kpi_id"], "name": block["name"], "people": 0, "missing": 0},
                )
                gap["people"] += 1
                gap["missing"] += block["quality"]["missing"]
    data["member_gaps"] = list(gaps.values())
    ref = st.Ref("member_gaps", data["member_gaps"])
    sentences = [
        st.say(
            "note_team_missing",
            kpi=ref.txt(f"{i}.name"),
            people=ref.count(f"{i}.people", "member", "members"),
            missing=ref.count(f"{i}.missing", "value", "values"),
            period=period,
        )
        for i in range(len(data["member_gaps"]))
    ]
    sentences += [s for r in refs for s in nv.data_notes(r, period, per.start)]
    return Section("notes", "Data notes", tuple(sentences or [st.say("note_clear", period=period)]))


def _executive(ws: Workspace, result: Analysis, scope: str, sid: str, per: Period) -> Built:
    ex = result.executive()
    if scope == "department":
        team_ids = ws.teams.loc[ws.teams["department"] == sid, "team_id"].astype(str).tolist()
        name = sid
    else:
        team_ids = [sid]
        name = str(ws.teams.loc[ws.teams["team_id"] == sid, "name"].iloc[0])
    subject = ex[(ex["scope"] == scope) & (ex["scope_id"].astype(str) == sid)]
    shown = subject.loc[~subject["suppressed"].astype(bool), "kpi_id"].astype(str).tolist()
    part = result.for_scope(scope, sid)
    part = replace(part, summary=part.summary[part.summary["kpi_id"].isin(shown)])
    blocks = twin.blocks_of(ws, part)
    refs = sections.refs(blocks)
    period = st.text("period", per.label)
    data: dict[str, Any] = {
        "subject": {"scope": scope, "id": sid, "name": name},
        "min_group_size": int(result.min_group_size),
        "scoring": dict(twin.SCORING),
        "kpis": blocks,
        "not_shown": int(subject["suppressed"].astype(bool).sum()),
    }
    parts = [
        Section("progress", "Progress", tuple(nv.headline(refs, period))),
        Section("kpis", "KPIs", cards=sections.cards(part, refs, period, per, ws)),
    ]
    if scope == "department":
        parts.append(_teams_section(ws, result, ex, team_ids, data, period))
    parts.append(_privacy_section(data))
    parts.append(sections.notes_section(refs, period, per))
    title = f"{name}: {'department' if scope == 'department' else 'team'} overview, {per.label}"
    return Built(title, _subtitle(per, "executive"), tuple(parts), twin.with_sentences(data, parts))


def _privacy_section(data: dict[str, Any]) -> Section:
    ref = st.Ref("", data)
    sentences = [st.say("exec_min_group", size=ref.count("min_group_size", "person", "people"))]
    hidden = data["not_shown"] + data.get("teams_not_shown", 0)
    if hidden:
        data["figures_not_shown"] = hidden
        sentences.append(
            st.say("exec_suppressed", n=ref.count("figures_not_shown", "figure", "figures"))
        )
    return Section("privacy", "Group size", tuple(sentences))


def _teams_section(
    ws: Workspace,
    result: Analysis,
    ex: pd.DataFrame,
    team_ids: list[str],
    data: dict[str, Any],
    period: st.Figure,
) -> Section:
    from kpinb import charts

    rows = ex[(ex["scope"] == "team") & ex["scope_id"].astype(str).isin(team_ids)]
    visible = rows[~rows["suppressed"].astype(bool)]
    data["teams_not_shown"] = int(len(rows) - len(visible))
    names = dict(zip(ws.teams["team_id"].astype(str), ws.teams["name"].astype(str), strict=True))
    part = twin.subset(result, "team", sorted(set(visible["scope_id"].astype(str))))
    data["teams"] = []
    for tid in sorted(set(visible["scope_id"].astype(str))):
        keep = part.summary["kpi_id"].isin(visible.loc[visible["scope_id"] == tid, "kpi_id"])
        tpart = replace(
            twin.subset(part, "team", [tid]),
            summary=part.summary[keep & (part.summary["scope_id"] == tid)],
        )
        data["teams"].append(
            {"team_id": tid, "name": names[tid], "kpis": twin.blocks_of(ws, tpart)}
        )
    sentences, blocks = [], []
    for kpi in ws.kpis:
        found = [
            (i, j, t, b)
            for i, t in enumerate(data["teams"])
            for j, b in enumerate(t["kpis"])
            if b["kpi_id"] == kpi and b["level"]
        ]
        sentences += [_team_line(i, j, t, b, period) for i, j, t, b in found]
        if found:
            pts = part.points[
                (part.points["kpi_id"] == kpi)
                & part.points["scope_id"].isin([t["team_id"] for _, _, t, _ in found])
                & (part.points["period"] >= result.period.start - pd.DateOffset(months=9))
            ]
            frame = pts.assign(member=pts["scope_id"].astype(str).map(names)).rename(
                columns={"smoothed": "level"}
            )
            label = found[0][3]["name"]
            description = f"{label}: one small chart per team, values and smoothed level."
            blocks.append(
                chart_block(
                    charts.small_multiples(
                        frame,
                        title=f"{label} by team",
                        unit=found[0][3]["unit"],
                        description=description,
                    ),
                    description,
                )
            )
    return Section("teams", "Teams", tuple(sentences), charts=tuple(blocks))


def _team_line(
    i: int, j: int, team: dict[str, Any], block: dict[str, Any], period: st.Figure
) -> st.Sentence:
    ref = st.Ref(
        f"teams[{i}].kpis[{j}]",
        block,
        unit=block["unit"],
        decimals=block["decimals"],
        cadence=block["cadence"],
    )
    name = st.text(f"teams[{i}].name", team["name"])
    people = ref.count("n_people", "person", "people")
    level = ref.num("level.value")
    change = block["change"]
    if change and change["relative_pct"] not in (None, 0.0):
        return st.say(
            "exec_team_change",
            team=name,
            level=level,
            period=period,
            people=people,
            rel=ref.pct("change.relative_pct", magnitude=True),
            prev_period=ref.txt("change.period"),
            higher=change["relative_pct"] > 0,
        )
    return st.say("exec_team", team=name, level=level, period=period, people=people)
