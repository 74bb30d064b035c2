"""The data notes: gaps, stale series, definition changes and exclusions of each KPI,
members' gaps (counts, no names) in a team's report, and the figures the minimum group
size withholds in an executive overview; says so when all is clear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kpinb.report import narrative as nv
from kpinb.report import sentences as st
from kpinb.report.render import Section
from kpinb.report.sections.part import Part

if TYPE_CHECKING:
    from kpinb.periods import Period


def notes(
    refs: list[st.Ref],
    period: st.Figure,
    per: Period,
    *,
    withheld: tuple[st.Sentence, ...] = (),
    gaps: tuple[st.Sentence, ...] = (),
) -> Part:
    """The notes of the report's own series; ``withheld`` (an executive overview's) lead,
    ``gaps`` (a team's members') come before the series' notes."""
    sentences = [*gaps, *(s for ref in refs for s in nv.data_notes(ref, period, per.start))]
    sentences += nv.partial_week_note(refs)
    if not any(r.data["level"] for r in refs):  # a period before the data: say so
        sentences.insert(0, st.say("note_no_values", period=period))
    clear = [st.say("note_clear", period=period)]
    return Part(Section("notes", "Data notes", (*withheld, *(sentences or clear))))


def team_notes(
    refs: list[st.Ref], period: st.Figure, per: Period, members: list[dict[str, Any]]
) -> Part:
    """Members' gaps per KPI (counts, no names) and the team series' notes."""
    found: dict[str, dict[str, Any]] = {}
    for member in members:
        for block in member["kpis"]:
            if block["quality"]["missing"]:
                gap = found.setdefault(
                    block["kpi_id"],
                    {"kpi_id": block["kpi_id"], "name": block["name"], "people": 0, "missing": 0},
                )
                gap["people"] += 1
                gap["missing"] += block["quality"]["missing"]
    member_gaps = list(found.values())
    ref = st.Ref("member_gaps", member_gaps)
    gaps = tuple(
        st.say(
            "note_team_missing",
            kpi=ref.txt(f"{i}.name"),
            people=ref.count(f"{i}.people", "member", "members"),
            missing=ref.count(f"{i}.missing", "value", "values"),
            period=period,
        )
        for i in range(len(member_gaps))
    )
    return Part(notes(refs, period, per, gaps=gaps).section, {"member_gaps": member_gaps})
