"""The goal sections: OKR scores with the success line and a goal chart, the
person's own goals (their why), how many members' goals score a success, and the
feasibility flags raised on the period's targets.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb.report import narrative as nv
from kpinb.report import sentences as st
from kpinb.report import twin
from kpinb.report.render import ItemList, Section, chart_block
from kpinb.report.sections.part import Part
from kpinb.report.stories import held_level, story_of

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
    from kpinb.periods import Period
    from kpinb.workspace import Workspace


def goals(refs: list[st.Ref], part: Analysis, period: st.Figure) -> Part:
    """OKR scores with the success wording (the analysis's success line), projections
    and a goal chart."""
    with_goal = [r for r in refs if r.data["goal"] is not None]
    if not with_goal:
        return Part(
            Section(
                "goals", "Goals", lists=(ItemList("", (), "No targets are set for this period."),)
            )
        )
    root = st.Ref("scoring", twin.scoring(part.success))
    line = root.num("success", decimals=twin.success_decimals(part.success))
    sentences = [
        st.say(
            "goals_intro",
            low=root.num("low", decimals=1),
            high=root.num("high", decimals=1),
            success=line,
        )
    ]
    for ref in with_goal:
        sentences += nv.goal_sentences(ref)
    frame = pd.DataFrame(
        {
            "label": [r.data["name"] for r in with_goal],
            "score": [r.data["goal"]["score"] for r in with_goal],
            "projected": [r.data["goal"]["projected_score"] for r in with_goal],
        }
    )
    from kpinb.report import charts

    caption = (
        "Goal scores from 0 to 1 (bars), the projected landing (ticks) and the "
        f"{line.text} success line."
    )
    description = caption + " " + " ".join(s.text for s in sentences[1:])
    wide, narrow = (
        charts.goal_chart(
            frame.astype({"score": float, "projected": float}),
            title="Goal scores",
            description=description,
            success=part.success,
            size=size,
        )
        for size in (charts.WIDE, charts.NARROW)
    )
    section = Section(
        "goals",
        "Goals",
        tuple(sentences),
        charts=(chart_block(wide, description, caption, narrow),),
        lead=1,
        more="Each goal in words",
    )
    return Part(section)


# a member's goal this far below its success line is "far from target" in the breakdown
FAR = 0.3


def member_goals(
    refs: list[st.Ref], part: Analysis, period: st.Figure, members: list[dict[str, Any]]
) -> Part:
    """The team's own targets, how many members' goals score a success, and the
    breakdown: who is at the success line or above, who is far from target."""
    section = goals(refs, part, period).section
    scored = [
        (i, j, m, b)
        for i, m in enumerate(members)
        for j, b in enumerate(m["kpis"])
        if b["goal"] and b["goal"]["score"] is not None
    ]
    counts = {
        "goals": len(scored),
        "success": sum(1 for *_, b in scored if b["goal"]["success"]),
    }
    data = {"member_goals": counts}
    if not scored:
        return Part(section, data)
    ref = st.Ref("member_goals", counts)
    extra = st.say(
        "member_goals",
        n_success=ref.num("success", decimals=0),
        n=ref.num("goals", decimals=0),
        period=period,
        single=counts["success"] == 1,
    )

    def line(rows: list[tuple[int, int, dict[str, Any], dict[str, Any]]]) -> st.Sentence:
        """One member's goals of the breakdown: each KPI and its score."""
        i = rows[0][0]
        blocks = [st.Ref(f"members[{i}].kpis[{j}]", b) for _, j, _, b in rows]
        return st.say(
            "member_goal",
            name=st.text(f"members[{i}].name", rows[0][2]["name"]),
            kpis=[b.txt("name") for b in blocks],
            scores=[b.num("goal.score", unit="", decimals=2) for b in blocks],
        )

    def by_member(keep: Any) -> tuple[st.Sentence, ...]:
        """A line per member with goals that ``keep`` selects, in the members' order."""
        groups: dict[int, list[tuple[int, int, dict[str, Any], dict[str, Any]]]] = {}
        for row in scored:
            if keep(row[3]["goal"]):
                groups.setdefault(row[0], []).append(row)
        return tuple(line(rows) for rows in groups.values())

    met = by_member(lambda g: g["success"])
    mark = f"{part.success:g}"
    far = by_member(lambda g: g["score"] < FAR)
    lists = (
        ItemList(f"At {mark} or more", met, f"No individual goal scores {mark} or more yet."),
        ItemList(f"Far from target (below {FAR})", far, "No individual goal is far from target."),
    )
    lead = section.sentences[:1]
    sentences = (*lead, extra, *section.sentences[1:])
    return Part(replace(section, sentences=sentences, lists=lists, lead=len(lead) + 1), data)


def own_goals(ws: Workspace, eid: str, refs: list[st.Ref]) -> Part:
    """The person's own goals (their why) and how each linked KPI serves them."""
    rows = ws.goals[ws.goals["employee_id"] == eid]
    by_id = {r.data["kpi_id"]: r for r in refs}
    found: list[dict[str, Any]] = []
    lists = []
    for i, (_, row) in enumerate(rows.iterrows()):
        links = [
            {
                "kpi_id": k,
                "name": ws.kpis[k].name if k in ws.kpis else k,
                "state": _state(by_id[k].data) if k in by_id else "none",
            }
            for k in row["kpi_ids"]
        ]
        found.append({"goal": str(row["goal"]), "kpis": links})
        ref = st.Ref(f"own_goals[{i}]", found[-1])
        items = [st.say("own_goal", goal=ref.txt("goal"))]
        items += [
            st.say("own_goal_kpi", kpi=ref.txt(f"kpis.{j}.name"), state=link["state"])
            for j, link in enumerate(links)
        ]
        lists.append(ItemList("", tuple(items)))
    if not lists:
        lists.append(
            ItemList("", (), "No personal goals recorded yet: a good topic for the next check-in.")
        )
    return Part(Section("own_goals", "Personal goals", lists=tuple(lists)), {"own_goals": found})


def _state(block: dict[str, Any]) -> str:
    """How a KPI serves a personal goal: improving, steady, worth a talk, or no values."""
    if block["level"] is None:
        return "none"
    told = story_of(block["story"])
    state = told.goal if told else "steady"
    # "holding steady" only when the quarter's change is within routine variation
    return "serves" if state == "steady" and not held_level(block) else state


def flags(ws: Workspace, ids: list[str], team_id: str | None, per: Period) -> Part:
    """Feasibility flags on the period's targets of these people (and team)."""
    f = ws.feasibility
    mine = ((f["scope"] == "employee") & f["scope_id"].isin(ids)) | (
        (f["scope"] == "team") & (f["scope_id"] == team_id)
    )
    rows = f[mine & (f["period"] == per.label)]
    found = [
        {
            "scope": str(r["scope"]),
            "scope_id": str(r["scope_id"]),
            "kpi_id": str(r["kpi_id"]),
            "kpi": _kpi_name(ws, r["kpi_id"]),
            "flagged_by": str(r["flagged_by"]),
            "reason": str(r["reason"]),
        }
        for _, r in rows.iterrows()
    ]
    ref = st.Ref("flags", found)
    items = tuple(
        st.say(
            "flag",
            who=ref.txt(f"{i}.flagged_by"),
            kpi=ref.txt(f"{i}.kpi"),
            period=st.text("period", per.label),
            reason=ref.txt(f"{i}.reason"),
        )
        for i in range(len(found))
    )
    section = Section(
        "flags",
        "Feasibility flags",
        lists=(ItemList("", items, "No target has been flagged as hard to reach."),),
    )
    return Part(section, {"flags": found})


def _kpi_name(ws: Workspace, kpi_id: str) -> str:
    spec = ws.kpis.get(str(kpi_id))
    return spec.name if spec else str(kpi_id)
