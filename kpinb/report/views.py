"""The three views: a person's coaching report (employee or manager view), a team's
report (manager view) and the executive overview (team and department aggregates,
minimum group size applied). Each assembles its sections in reading order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb.report import journal_sections, masking, sections, twin
from kpinb.report import narrative as nv
from kpinb.report import sentences as st
from kpinb.report.render import Card, ChartBlock, ItemList, Section, chart_block
from kpinb.report.stories import story_of

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


def _employee(
    ws: Workspace, result: Analysis, eid: str, per: Period, view: str, root: Path | None
) -> Built:
    """A person's report: progress, KPI cards, goals, own goals, routine, questions, notes."""
    person = ws.people.loc[ws.people["employee_id"] == eid].iloc[0]
    part = result.part("employee", eid)
    mask = masking.privacy(ws, eid) if view == "employee" else masking.identity
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
        journal_sections.routine_section(ws, eid, refs, per, root, mask, data),
        journal_sections.questions_section(refs, data),
        sections.notes_section(refs, period, per),
    ]
    if view == "manager":
        parts.insert(-1, sections.flags_section(ws, [eid], None, per, data))
    title = f"{person['name']}: coaching report, {per.label}"
    return Built(title, _subtitle(per, view), tuple(parts), twin.with_sentences(data, parts))


def _team(ws: Workspace, result: Analysis, tid: str, per: Period, root: Path | None) -> Built:
    """A team's report for its manager: the rolled-up series and each member's."""
    team = ws.teams.loc[ws.teams["team_id"] == tid].iloc[0]
    part = result.part("team", tid)
    blocks = twin.blocks_of(ws, part)
    refs = sections.refs(blocks)
    members = ws.people[ws.people["team_id"] == tid].sort_values("employee_id")
    ids = members["employee_id"].astype(str).tolist()
    mpart = result.subset("employee", ids)
    split = mpart.split_ids()
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
        Section(
            "kpis",
            "Team KPIs",
            cards=sections.cards(
                part, refs, period, per, ws, _within(data["members"], "members", data)
            ),
        ),
        _members_section(ws, mpart, data, refs, period),
        _conversations_section(data),
        _team_goals_section(refs, part, period, data),
        _team_actions_section(ws, root, ids, per, data),
        sections.flags_section(ws, ids, tid, per, data),
        _team_notes_section(refs, period, per, data),
    ]
    title = f"{team['name']}: team report, {per.label}"
    return Built(title, _subtitle(per, "manager"), tuple(parts), twin.with_sentences(data, parts))


def _members_section(
    ws: Workspace, mpart: Analysis, data: dict[str, Any], refs: list[st.Ref], period: st.Figure
) -> Section:
    """One card per KPI: how many members have values, and each member's small multiple."""
    names = {m["employee_id"]: m["name"] for m in data["members"]}
    in_review = mpart.points[mpart.points["in_review"]]
    data["trajectories"] = []
    cards = []
    for ref in refs:
        kpi = ref.data["kpi_id"]
        people = in_review.loc[in_review["kpi_id"] == kpi, "scope_id"].astype(str).nunique()
        data["trajectories"].append({"kpi_id": kpi, "name": ref.data["name"], "people": people})
        tref = st.Ref(f"trajectories[{len(data['trajectories']) - 1}]", data["trajectories"][-1])
        line = st.say(
            "team_members",
            kpi=tref.txt("name"),
            n=tref.count("people", "person", "people"),
            period=period,
        )
        own = _blocks_of(data["members"], "employee_id", kpi)
        chart = _multiples(mpart, kpi, list(names), names, ref.data, "member", (line,), own)
        cards.append(Card(ref.data["name"], (line,), chart=chart))
    return Section("members", "Each member's trajectory", cards=tuple(cards))


def _is_shift(block: dict[str, Any]) -> bool:
    """A shift against the usual level: the team and department views name and count it."""
    told = story_of(block["story"])
    return told is not None and told.shift


def _within(
    groups: list[dict[str, Any]], noun: str, data: dict[str, Any]
) -> dict[str, list[st.Sentence]]:
    """Per KPI id, a sentence saying how many members (or teams) show a shift of their
    own; the counts go to the twin's ``shifts_within``."""
    counts: dict[str, int] = {}
    for group in groups:
        for block in group["kpis"]:
            if _is_shift(block):
                counts[block["kpi_id"]] = counts.get(block["kpi_id"], 0) + 1
    data["shifts_within"] = [{"kpi_id": k, "count": n} for k, n in counts.items()]
    ref = st.Ref("shifts_within", data["shifts_within"])
    one, many = ("member", "members") if noun == "members" else ("team", "teams")
    heading = "Signals worth a conversation" if noun == "members" else "Teams"
    return {
        item["kpi_id"]: [
            st.say(
                "within_shifts",
                n=ref.count(f"{i}.count", one, many),
                single=item["count"] == 1,
                where=heading,
            )
        ]
        for i, item in enumerate(data["shifts_within"])
    }


def _conversations_section(data: dict[str, Any]) -> Section:
    """Members' real changes (either way) and new personal bests, by name."""
    items = []
    for i, member in enumerate(data["members"]):
        for j, block in enumerate(member["kpis"]):
            ref = sections.block_ref(f"members[{i}].kpis[{j}]", block)
            name = st.text(f"members[{i}].name", member["name"])
            if _is_shift(block):
                items.append(
                    st.say(
                        "member_shift",
                        name=name,
                        kpi=ref.txt("name"),
                        onset=ref.when("shift.onset"),
                        story=block["story"],
                    )
                )
            elif block["best"] and block["best"]["is_new"]:
                items.append(
                    st.say(
                        "member_best",
                        name=name,
                        kpi=ref.txt("name"),
                        best=ref.val("best.value"),
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
                "No real changes this period: every member's KPIs show routine "
                "variation, no action needed."
                if any(b["level"] is not None for m in data["members"] for b in m["kpis"])
                else "No values for this period yet: nothing to discuss from the data.",
            ),
        ),
    )


def _team_goals_section(
    refs: list[st.Ref], part: Analysis, period: st.Figure, data: dict[str, Any]
) -> Section:
    """The team's own targets, plus how many members' goals score a success."""
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
        single=data["member_goals"]["success"] == 1,
    )
    return replace(section, sentences=(*section.sentences, extra), lists=())


def _team_actions_section(
    ws: Workspace, root: Path | None, ids: list[str], per: Period, data: dict[str, Any]
) -> Section:
    """Open actions of the team's members, from the journal."""
    everyone = tuple(ws.people["employee_id"].astype(str))
    _, actions = journal_sections.journal_frames(ws, root, ids, per, everyone)
    names = {m["employee_id"]: m["name"] for m in data["members"]}
    data["open_actions"] = [
        {
            **journal_sections.action(a, masking.identity),
            "name": names.get(str(a["employee_id"]), ""),
        }
        for _, a in actions.iterrows()
    ]
    ref = st.Ref("open_actions", data["open_actions"])
    items = tuple(
        journal_sections.action_sentence(ref, i, named=True)
        for i in range(len(data["open_actions"]))
    )
    return Section("actions", "Open actions", lists=(ItemList("", items, "No open actions."),))


def _team_notes_section(
    refs: list[st.Ref], period: st.Figure, per: Period, data: dict[str, Any]
) -> Section:
    """Members' gaps per KPI (counts, no names) and the team series' notes."""
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
    if all(r.data["level"] is None for r in refs):  # a period before the data: say so
        sentences.insert(0, st.say("note_no_values", period=period))
    return Section("notes", "Data notes", tuple(sentences or [st.say("note_clear", period=period)]))


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
    refs = sections.refs(blocks)
    period = st.text("period", per.label)
    data: dict[str, Any] = {
        "subject": {"scope": scope, "id": sid, "name": name},
        "min_group_size": int(result.min_group_size),
        "scoring": dict(twin.SCORING),
        "kpis": blocks,
        "not_shown": int(subject["suppressed"].astype(bool).sum()),
    }
    teams = None
    if scope == "department":
        teams = _teams_section(ws, result, ex, team_ids, data, period)
    within = _within(data["teams"], "teams", data) if teams else None
    parts = [
        Section("progress", "Progress", _executive_headline(refs, period, data)),
        Section("kpis", "KPIs", cards=sections.cards(part, refs, period, per, ws, within)),
    ]
    if teams is not None:
        parts.append(teams)
    parts.append(_privacy_section(data))
    notes = sections.notes_section(refs, period, per)
    parts.append(replace(notes, sentences=(*_withheld_notes(refs, data), *notes.sentences)))
    title = f"{name}: {'department' if scope == 'department' else 'team'} overview, {per.label}"
    return Built(title, _subtitle(per, "executive"), tuple(parts), twin.with_sentences(data, parts))


def _executive_headline(
    refs: list[st.Ref], period: st.Figure, data: dict[str, Any]
) -> tuple[st.Sentence, ...]:
    """Progress of the shown series; when none can be shown, say why instead."""
    if not refs and data["not_shown"]:
        return (st.say("exec_hidden", subject=st.Ref("subject", data["subject"]).txt("name")),)
    return tuple(nv.headline(refs, period))


_WITHHELD_WORDS = {
    "latest": "the latest value",
    "level": "the level of the period",
    "change": "the comparison with the previous period",
    "year_change": "the comparison with a year earlier",
    "trend": "the trend",
    "limits": "the usual range and its signals",
    "history": "the best value, streak and recovery",
}


def _withheld_notes(refs: list[st.Ref], data: dict[str, Any]) -> list[st.Sentence]:
    """Which figures the minimum group size withholds, per KPI of the subject, and how
    many team series leave something out (hidden groups are never named)."""
    size = st.Ref("", data).count("min_group_size", "person", "people")
    out = [
        st.say(
            "exec_withheld",
            kpi=ref.txt("name"),
            size=size,
            parts=[_WITHHELD_WORDS[w] for w in ref.data["withheld"]],
        )
        for ref in refs
        if ref.data["withheld"]
    ]
    teams = [b for t in data.get("teams", []) for b in t["kpis"] if b["withheld"]]
    if teams:
        data["teams_withheld"] = len(teams)
        out.append(
            st.say(
                "exec_teams_withheld",
                n=st.Ref("", data).count("teams_withheld", "team series", "team series"),
                size=size,
            )
        )
    return out


def _privacy_section(data: dict[str, Any]) -> Section:
    """States the minimum group size and how many figures it hides."""
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
    """One card per KPI: each shown team's level and change, and its small multiple."""
    part = _team_blocks(ws, result, ex, team_ids, data)
    cards = []
    for kpi in ws.kpis:
        found = [
            (i, j, t, b)
            for i, t in enumerate(data["teams"])
            for j, b in enumerate(t["kpis"])
            if b["kpi_id"] == kpi and b["level"]
        ]
        if not found:
            continue
        lines = tuple(s for i, j, t, b in found for s in _team_line(i, j, t, b, period))
        shown = [t["team_id"] for _, _, t, _ in found]
        block = found[0][3]
        own = _blocks_of(data["teams"], "team_id", kpi)
        chart = _multiples(part, kpi, shown, _team_names(ws), block, "team", lines, own)
        cards.append(Card(block["name"], lines, chart=chart))
    return Section("teams", "Teams", cards=tuple(cards))


def _team_names(ws: Workspace) -> dict[str, str]:
    return dict(zip(ws.teams["team_id"].astype(str), ws.teams["name"].astype(str), strict=True))


def _team_blocks(
    ws: Workspace, result: Analysis, ex: pd.DataFrame, team_ids: list[str], data: dict[str, Any]
) -> Analysis:
    """The twin's ``teams``: blocks of the shown (team, KPI) groups only; returns their part."""
    rows = ex[(ex["scope"] == "team") & ex["scope_id"].astype(str).isin(team_ids)]
    visible = rows[~rows["suppressed"].astype(bool)]
    data["teams_not_shown"] = int(len(rows) - len(visible))
    shown_ids = sorted(set(visible["scope_id"].astype(str)))
    part = result.subset("team", shown_ids)
    keep = set(zip(visible["scope_id"].astype(str), visible["kpi_id"].astype(str), strict=True))
    pairs = zip(
        part.summary["scope_id"].astype(str), part.summary["kpi_id"].astype(str), strict=True
    )
    shown = pd.Series([p in keep for p in pairs], index=part.summary.index, dtype=bool)
    summary = part.summary[shown]
    split = replace(part, summary=summary).split_ids()
    names = _team_names(ws)
    data["teams"] = [
        {"team_id": tid, "name": names[tid], "kpis": twin.blocks_of(ws, split[tid])}
        for tid in shown_ids
        if tid in split
    ]
    return part


def _blocks_of(groups: list[dict[str, Any]], key: str, kpi: str) -> dict[str, dict[str, Any]]:
    """Each member's or team's own KPI block for ``kpi``, by id (as in the twin)."""
    return {str(g[key]): b for g in groups for b in g.get("kpis", []) if b["kpi_id"] == kpi}


def _multiples(
    part: Analysis,
    kpi: str,
    ids: list[str],
    names: dict[str, str],
    block: dict[str, Any],
    noun: str,
    lines: tuple[st.Sentence, ...],
    own: dict[str, dict[str, Any]] | None = None,
) -> ChartBlock | None:
    """Small multiples of one KPI, one panel per team or member (last 4 quarters), on one
    scale, each with its own usual range (``own``: each one's KPI block, as in the twin:
    an executive block whose limits are withheld has none) and target."""
    from kpinb.report import charts

    per = part.period
    pts = part.points[
        (part.points["kpi_id"] == kpi)
        & part.points["scope_id"].astype(str).isin(ids)
        & part.points["current_version"]
        & ~part.points["incomplete"]  # a team week with members missing is not a real dip
        & (part.points["period"] >= per.start - pd.DateOffset(months=9))
        & (part.points["period"] <= per.end)
    ]
    if pts.empty:
        return None
    frame = pts.assign(member=pts["scope_id"].astype(str).map(names)).rename(
        columns={"smoothed": "level"}
    )[["member", "period", "value", "level"]]
    frame = charts.fill_gaps(frame, block["cadence"], by="member")
    gaps = int(frame["value"].isna().sum())
    first, last = frame["period"].min(), frame["period"].max()
    rows = []
    for sid, b in (own or {}).items():
        if sid not in ids or names.get(sid) not in set(frame["member"]):
            continue
        lim, goal = b.get("limits"), b.get("goal")
        target = goal.get("target") if goal else None
        if not lim and target is None:
            continue
        start = max(first, pd.Timestamp(lim["baseline_start"])) if lim else first
        rows.append(
            {
                "member": names[sid],
                "lower": lim["lower"] if lim else None,
                "upper": lim["upper"] if lim else None,
                "centre": lim["centre"] if lim else None,
                "start": start,
                "end": last,
                "target": target,
            }
        )
    bands = pd.DataFrame(rows) if rows else None
    has_bands = bands is not None and bands["lower"].notna().any()
    has_targets = bands is not None and bands["target"].notna().any()
    review = charts.Span(per.start, min(per.end, last), per.label)
    key = charts.multiples_key(
        per=twin.cadence_unit(block["cadence"]),
        bands=has_bands,
        targets=has_targets,
        review=review,
        gaps=gaps,
    )
    description = f"{block['name']}, one small chart per {noun}. {key} " + " ".join(
        s.text for s in lines
    )
    chart = charts.small_multiples(
        frame,
        title=f"{block['name']} by {noun}",
        unit=block["unit"],
        description=description,
        bands=bands,
        review=review,
    )
    return chart_block(chart, description, key)


def _team_line(
    i: int, j: int, team: dict[str, Any], block: dict[str, Any], period: st.Figure
) -> list[st.Sentence]:
    """One team's level for a KPI, with the relative change when there is one, and the
    shift it shows against its own usual level, if any."""
    ref = sections.block_ref(f"teams[{i}].kpis[{j}]", block)
    name = st.text(f"teams[{i}].name", team["name"])
    shift = []
    if _is_shift(block):
        shift = [
            st.say(
                "exec_team_shift",
                team=name,
                kpi=ref.txt("name"),
                onset=ref.when("shift.onset"),
                story=block["story"],
            )
        ]
    return [_team_level(ref, name, block, period), *shift]


def _team_level(
    ref: st.Ref, name: st.Figure, block: dict[str, Any], period: st.Figure
) -> st.Sentence:
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
