"""The executive sections: the headline when nothing can be shown, one card per KPI
with each shown team's level and small multiple (department overviews), the group
size and what it hides, and the notes on withheld figures. Hidden groups are counted,
never shown or named.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb.kpis import POINTS, is_percent
from kpinb.report import narrative as nv
from kpinb.report import sentences as st
from kpinb.report import twin
from kpinb.report.render import Card, Section
from kpinb.report.sections.kpis import is_shift
from kpinb.report.sections.part import Part, block_ref
from kpinb.report.sections.team import blocks_by_id, multiples_block

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
    from kpinb.workspace import Workspace


def headline(
    refs: list[st.Ref],
    period: st.Figure,
    subject: dict[str, Any],
    hidden: int,
    *,
    own: list[st.Ref] | None = None,
) -> Part:
    """Progress of the shown series (``own``: those whose move is not one that moved for
    everyone in the group; default all); when none can be shown, say why instead."""
    said: tuple[st.Sentence, ...]
    if not refs and hidden:
        said = (st.say("exec_hidden", subject=st.Ref("subject", subject).txt("name")),)
    else:
        said = tuple(nv.headline(refs if own is None else own, period))
    return Part(Section("progress", "Progress", said))


def teams(
    ws: Workspace, result: Analysis, ex: pd.DataFrame, team_ids: list[str], period: st.Figure
) -> Part:
    """One card per KPI: each shown team's level and change, and its small multiple; the
    twin's ``teams_not_shown`` and ``teams`` (blocks of the shown groups only)."""
    part, data = _team_blocks(ws, result, ex, team_ids)
    shown_teams = data["teams"]
    cards = []
    for kpi in ws.kpis:
        found = [
            (i, j, t, b)
            for i, t in enumerate(shown_teams)
            for j, b in enumerate(t["kpis"])
            if b["kpi_id"] == kpi and b["level"]
        ]
        if not found:
            continue
        lines = tuple(s for i, j, t, b in found for s in _team_line(i, j, t, b, period))
        shown = [t["team_id"] for _, _, t, _ in found]
        block = found[0][3]
        own = blocks_by_id(shown_teams, "team_id", kpi)
        chart = multiples_block(part, kpi, shown, _team_names(ws), block, "team", lines, own)
        cards.append(Card(block["name"], lines, chart=chart))
    return Part(Section("teams", "Teams", cards=tuple(cards)), data)


def _team_names(ws: Workspace) -> dict[str, str]:
    return dict(zip(ws.teams["team_id"].astype(str), ws.teams["name"].astype(str), strict=True))


def _team_blocks(
    ws: Workspace, result: Analysis, ex: pd.DataFrame, team_ids: list[str]
) -> tuple[Analysis, dict[str, Any]]:
    """The shown (team, KPI) groups' part of the analysis, and the twin's
    ``teams_not_shown`` and ``teams``."""
    rows = ex[(ex["scope"] == "team") & ex["scope_id"].astype(str).isin(team_ids)]
    visible = rows[~rows["suppressed"].astype(bool)]
    shown_ids = sorted(set(visible["scope_id"].astype(str)))
    part = result.subset("team", shown_ids)
    keep = set(zip(visible["scope_id"].astype(str), visible["kpi_id"].astype(str), strict=True))
    pairs = zip(
        part.summary["scope_id"].astype(str), part.summary["kpi_id"].astype(str), strict=True
    )
    shown = pd.Series([p in keep for p in pairs], index=part.summary.index, dtype=bool)
    split = replace(part, summary=part.summary[shown]).split_ids()
    names = _team_names(ws)
    data = {
        "teams_not_shown": int(len(rows) - len(visible)),
        "teams": [
            {"team_id": tid, "name": names[tid], "kpis": twin.blocks_of(ws, split[tid])}
            for tid in shown_ids
            if tid in split
        ],
    }
    return part, data


def _team_line(
    i: int, j: int, team: dict[str, Any], block: dict[str, Any], period: st.Figure
) -> list[st.Sentence]:
    """One team's level for a KPI, with the relative change when there is one, and the
    shift it shows against its own usual level, if any."""
    ref = block_ref(f"teams[{i}].kpis[{j}]", block)
    name = st.text(f"teams[{i}].name", team["name"])
    shift = []
    if is_shift(block):
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
    # a percent KPI's change in percentage points, any other's relative (in %)
    points = is_percent(ref.unit)
    key = "change.absolute" if points else "change.relative_pct"
    if change and change[key.split(".")[1]] not in (None, 0.0):
        rel = ref.num(key, unit=POINTS, magnitude=True) if points else ref.pct(key, magnitude=True)
        return st.say(
            "exec_team_change",
            team=name,
            level=level,
            period=period,
            people=people,
            rel=rel,
            prev_period=ref.txt("change.period"),
            higher=change[key.split(".")[1]] > 0,
        )
    return st.say("exec_team", team=name, level=level, period=period, people=people)


def privacy(min_group_size: int, hidden: int) -> Part:
    """States the minimum group size and how many figures it hides (``hidden``: the
    subject's and the teams' series not shown)."""
    data: dict[str, Any] = {"figures_not_shown": hidden} if hidden else {}
    ref = st.Ref("", {"min_group_size": min_group_size, **data})
    sentences = [st.say("exec_min_group", size=ref.count("min_group_size", "person", "people"))]
    if hidden:
        sentences.append(
            st.say("exec_suppressed", n=ref.count("figures_not_shown", "figure", "figures"))
        )
    return Part(Section("privacy", "Group size", tuple(sentences)), data)


_WITHHELD_WORDS = {
    "latest": "the latest value",
    "level": "the level of the period",
    "change": "the comparison with the previous period",
    "year_change": "the comparison with a year earlier",
    "trend": "the trend",
    "limits": "the usual range and its signals",
    "history": "the best value, streak and recovery",
}


def withheld_notes(
    refs: list[st.Ref], min_group_size: int, shown_teams: list[dict[str, Any]]
) -> tuple[dict[str, Any], tuple[st.Sentence, ...]]:
    """Which figures the minimum group size withholds, per KPI of the subject, and how
    many team series leave something out (hidden groups are never named); the twin's
    ``teams_withheld`` when some do."""
    size = st.Ref("", {"min_group_size": min_group_size}).count(
        "min_group_size", "person", "people"
    )
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
    withheld = [b for t in shown_teams for b in t["kpis"] if b["withheld"]]
    if not withheld:
        return {}, tuple(out)
    data = {"teams_withheld": len(withheld)}
    out.append(
        st.say(
            "exec_teams_withheld",
            n=st.Ref("", data).count("teams_withheld", "team series", "team series"),
            size=size,
        )
    )
    return data, tuple(out)
