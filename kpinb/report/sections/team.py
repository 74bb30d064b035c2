"""The team sections of a manager's team report: each member's trajectory per KPI (small
multiples on one scale) and the signals worth a conversation (members' real changes
and new personal bests, by name); the small-multiples chart the department overview
shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kpinb.analytics.quarters import OVER_TIME_MIN
from kpinb.report import chart_data, twin
from kpinb.report import narrative as nv
from kpinb.report import sentences as st
from kpinb.report.render import Card, ChartBlock, ItemList, Section, chart_block
from kpinb.report.sections.kpis import is_shift
from kpinb.report.sections.part import Part, block_ref
from kpinb.report.stories import polarity

if TYPE_CHECKING:
    from kpinb.analytics import Analysis


def members(
    mpart: Analysis, groups: list[dict[str, Any]], refs: list[st.Ref], period: st.Figure
) -> Part:
    """One card per KPI: how many members have values, and each member's small multiple
    (``groups``: the twin's ``members``)."""
    names = {m["employee_id"]: m["name"] for m in groups}
    in_review = mpart.points[mpart.points["in_review"]]
    trajectories: list[dict[str, Any]] = []
    cards = []
    for ref in refs:
        kpi = ref.data["kpi_id"]
        people = in_review.loc[in_review["kpi_id"] == kpi, "scope_id"].astype(str).nunique()
        trajectories.append({"kpi_id": kpi, "name": ref.data["name"], "people": people})
        tref = st.Ref(f"trajectories[{len(trajectories) - 1}]", trajectories[-1])
        line = st.say(
            "team_members",
            kpi=tref.txt("name"),
            n=tref.count("people", "person", "people"),
            period=period,
        )
        own = blocks_by_id(groups, "employee_id", kpi)
        chart = multiples_block(mpart, kpi, list(names), names, ref.data, "member", (line,), own)
        cards.append(Card(ref.data["name"], (line,), chart=chart))
    section = Section("members", "Each member's trajectory", cards=tuple(cards))
    return Part(section, {"trajectories": trajectories})


def conversations(groups: list[dict[str, Any]]) -> Part:
    """Members' real changes (either way) and new personal bests, by name (``groups``:
    the twin's ``members``)."""
    items = []
    for i, member in enumerate(groups):
        for j, block in enumerate(member["kpis"]):
            ref = block_ref(f"members[{i}].kpis[{j}]", block)
            name = st.text(f"members[{i}].name", member["name"])
            if is_shift(block):
                items.append(
                    st.say(
                        "member_shift",
                        name=name,
                        kpi=ref.txt("name"),
                        onset=ref.when("shared.onset" if block.get("shared") else "shift.onset"),
                        story=block["story"],
                    )
                )
            elif (
                block["best"]
                and block["best"]["is_new"]
                and polarity(block["story"]) >= 0
                and block["story"] != "shared"
            ):
                # as the person's own headline: a best only beside a story that is not
                # a topic to talk about, "since the definition changed" when it did
                items.append(nv.best_sentence(ref, "member_best", name=name, kpi=ref.txt("name")))
    empty = (
        "No real changes this period: every member's KPIs show routine variation, no action needed."
        if any(b["level"] is not None for m in groups for b in m["kpis"])
        else "No values for this period yet: nothing to discuss from the data."
    )
    return Part(
        Section(
            "conversations",
            "Signals worth a conversation",
            lists=(ItemList("", tuple(items), empty),),
        )
    )


def over_time_moves(
    group: str, members: list[dict[str, Any]], kpis: list[str]
) -> list[dict[str, Any]]:
    """Climbs or slides across quarters that most of a team shares: per KPI and way,
    ``moved`` of the ``of`` members with at least :data:`OVER_TIME_MIN` quarters told
    that way, when at least two did and half or more of them (the twin's
    ``moved_over_time``)."""
    out = []
    for kpi in kpis:
        judged = [
            b
            for m in members
            for b in m.get("kpis", [])
            if b["kpi_id"] == kpi and len(b.get("quarters") or []) >= OVER_TIME_MIN
        ]
        for way in ("improving", "worsening"):
            told = [b for b in judged if (b.get("over_time") or {}).get("direction") == way]
            if len(told) >= 2 and 2 * len(told) >= len(judged):
                out.append(
                    {
                        "name": group,
                        "kpi_id": kpi,
                        "kpi": told[0]["name"],
                        "direction": way,
                        "moved": len(told),
                        "of": len(judged),
                    }
                )
    return out


def moved_for_everyone(
    moved: list[dict[str, Any]], over_time: list[dict[str, Any]] | None = None
) -> Part:
    """The view's opening: what moved for everyone (``moved``: the twin's
    ``moved_for_everyone``, :func:`kpinb.report.twin.moves_of`): the KPI, how many of
    how many, from when, which way and the group's figure; then what most of the team
    shares across quarters (``over_time``, :func:`over_time_moves`). A change the whole
    group shares is the finding a manager can act on, before any one person's."""
    ref = st.Ref("moved_for_everyone", moved)
    across = st.Ref("moved_over_time", over_time or [])
    sentences = tuple(
        st.say(
            "moved_everyone",
            group=ref.txt(f"{i}.name"),
            kpi=ref.txt(f"{i}.kpi"),
            moved=ref.num(f"{i}.moved", unit="", decimals=0),
            of=ref.num(f"{i}.of", unit="", decimals=0),
            onset=st.date(ref.at(f"{i}.onset"), item["onset"], "weekly"),
            higher=item["direction"] == "up",
            change=ref.num(
                f"{i}.change", magnitude=True, unit=item["unit"], decimals=item["decimals"]
            ),
            pct=None if item["change_pct"] is None else ref.pct(f"{i}.change_pct"),
            better=item["better"],
            members=True,
        )
        for i, item in enumerate(moved)
    )  # nothing moved for everyone: the section says nothing and is left out
    sentences += tuple(
        st.say(
            "moved_everyone_over_time",
            group=across.txt(f"{i}.name"),
            kpi=across.txt(f"{i}.kpi"),
            moved=across.num(f"{i}.moved", unit="", decimals=0),
            of=across.num(f"{i}.of", unit="", decimals=0),
            improving=item["direction"] == "improving",
        )
        for i, item in enumerate(over_time or [])
    )
    section = Section("moved", "What moved for everyone", sentences)
    data: dict[str, Any] = {"moved_for_everyone": moved}
    if over_time is not None:
        data["moved_over_time"] = over_time
    return Part(section, data)


def blocks_by_id(groups: list[dict[str, Any]], key: str, kpi: str) -> dict[str, dict[str, Any]]:
    """Each member's or team's own KPI block for ``kpi``, by id (as in the twin)."""
    return {str(g[key]): b for g in groups for b in g.get("kpis", []) if b["kpi_id"] == kpi}


def multiples_block(
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
    scale, each with its own usual range and target (:func:`chart_data.multiples_data`),
    with its key and text alternative."""
    from kpinb.report import charts

    data = chart_data.multiples_data(part, kpi, ids, names, block, own)
    if data is None:
        return None
    bands = data.bands
    key = charts.multiples_key(
        per=twin.cadence_unit(block["cadence"]),
        bands=bands is not None and bool(bands["lower"].notna().any()),
        targets=bands is not None and bool(bands["target"].notna().any()),
        review=data.review,
        gaps=data.gaps,
    )
    description = f"{block['name']}, one small chart per {noun}. {key} " + " ".join(
        s.text for s in lines
    )
    chart = charts.small_multiples(
        data.frame,
        title=f"{block['name']} by {noun}",
        unit=block["unit"],
        description=description,
        bands=bands,
        review=data.review,
    )
    return chart_block(chart, description, key)
