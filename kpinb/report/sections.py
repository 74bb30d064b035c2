"""Report sections shared by the views: KPI cards and charts, goals, the person's own
goals, feasibility flags and data notes. Each returns a :class:`kpinb.report.render.Section`
and records what its sentences state in the twin's data. The journal-driven sections
(review routine, coaching questions) live in :mod:`kpinb.report.journal_sections`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb.report import narrative as nv
from kpinb.report import sentences as st
from kpinb.report import twin
from kpinb.report.render import Card, ChartBlock, ItemList, Section, chart_block
from kpinb.report.stories import BADGE_WITHIN, PLAIN_CARD, story_of
from kpinb.text import display_text

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
    from kpinb.periods import Period
    from kpinb.workspace import Workspace


def refs(blocks: list[dict[str, Any]], base: str = "kpis") -> list[st.Ref]:
    """A figure source per KPI block at ``base[i]``."""
    return [block_ref(f"{base}[{i}]", b) for i, b in enumerate(blocks)]


def block_ref(path: str, block: dict[str, Any]) -> st.Ref:
    """A figure source for one KPI block: its unit, decimals and cadence."""
    return st.Ref(
        path,
        block,
        unit=block["unit"],
        decimals=block["decimals"],
        cadence=block["cadence"],
        value_decimals=block["value_decimals"],
    )


def _card_status(block: dict[str, Any]) -> str:
    """Card colour from the KPI's story: improving, conversation (a shift), routine."""
    told = story_of(block["story"])
    return told.card if told else PLAIN_CARD


def _badge(block: dict[str, Any], within: int) -> str:
    told = story_of(block["story"])
    if told is None:
        return ""
    return BADGE_WITHIN if within and told.within_usual else told.badge


def cards(
    part: Analysis,
    refs: list[st.Ref],
    period: st.Figure,
    per: Period,
    ws: Workspace,
    within: dict[str, list[st.Sentence]] | None = None,
) -> tuple[Card, ...]:
    """One card per KPI: its sentences (and the leading-indicator note) and trend chart.

    ``within``: per KPI id, sentences naming members or teams with a shift of their own
    (a team's or department's card then says so instead of "no action needed").
    """
    cards = []
    for ref in refs:
        block = ref.data
        inner = (within or {}).get(block["kpi_id"], [])
        sentences = (
            tuple(nv.kpi_card(ref, period, within=len(inner)))
            + tuple(inner)
            + tuple(_pair_sentence(ref, refs))
        )
        chart = _trend_block(part, block, per, ws, sentences)
        sentences += _about(ws, ref)
        cards.append(
            Card(block["name"], sentences, _card_status(block), _badge(block, len(inner)), chart)
        )
    return tuple(cards)


ABOUT_FIELDS = (("formula", ""), ("source", "Source: "), ("owner", "Owner: "))


def _about(ws: Workspace, ref: st.Ref) -> tuple[st.Sentence, ...]:
    """The card's last line, from the KPI dictionary: what the KPI counts (its formula),
    its source of truth and its owner (``About this KPI: <formula>. Source: <source>.
    Owner: <owner>.``). The twin keeps them in the block's ``about``."""
    spec = ws.kpis.get(ref.data["kpi_id"])
    if spec is None:
        return ()
    about = {key: display_text(getattr(spec, key)).strip() for key, _ in ABOUT_FIELDS}
    ref.data["about"] = about
    shown = st.Ref(ref.at("about"), about)
    parts: list[str | st.Figure] = ["About this KPI:"]
    for key, label in ABOUT_FIELDS:
        if about[key]:
            parts += [
                f" {label}",
                shown.txt(key),
                "" if about[key].endswith((".", "!", "?")) else ".",
            ]
    if len(parts) == 1:
        return ()
    return (st.Sentence("kpi_about", tuple(p for p in parts if p)),)


def _pair_sentence(ref: st.Ref, refs: list[st.Ref]) -> list[st.Sentence]:
    """For a leading indicator, what its move means for its lagging partner."""
    block = ref.data
    partner = next((r for r in refs if r.data["kpi_id"] == block.get("pair")), None)
    if block["kind"] != "leading" or partner is None or block["status"] == "no_data":
        return []
    told = story_of(block["story"])
    state = told.pair if told else "steady"
    return [st.say("kpi_pair", kpi=ref.txt("name"), partner=partner.txt("name"), state=state)]


def _trend_block(
    part: Analysis,
    block: dict[str, Any],
    per: Period,
    ws: Workspace,
    sentences: tuple[st.Sentence, ...],
) -> ChartBlock | None:
    """The KPI's trend chart with its key and text alternative: the last 4 quarters, or
    from the start of the baseline window when it lies earlier."""
    from kpinb.report import charts

    lim = block["limits"]
    first = per.start - pd.DateOffset(months=9)
    if lim and lim.get("baseline_start"):
        first = min(first, pd.Timestamp(lim["baseline_start"]))
    pts = part.points[
        (part.points["kpi_id"] == block["kpi_id"])
        & (part.points["period"] >= first)
        & (part.points["period"] <= per.end)
        & ~part.points["incomplete"]  # a team week with members missing is not a real dip
    ]
    if pts.empty:
        return None
    frame = pts.rename(columns={"smoothed": "level"})[["period", "value", "level"]]
    frame = charts.fill_gaps(frame, block["cadence"])
    gaps = int(frame["value"].isna().sum())
    limits = None
    if lim:
        baseline = None
        start = pts.loc[pts["current_version"], "period"].min()  # limits hold for this version
        if lim.get("baseline_start") and lim.get("baseline_end"):
            baseline = charts.Span(
                pd.Timestamp(lim["baseline_start"]), pd.Timestamp(lim["baseline_end"])
            )
            start = max(start, baseline.start)
        limits = charts.Limits(
            lim["centre"],
            lim["lower"],
            lim["upper"],
            start,
            frame["period"].max(),
            lower_bounded=bool(lim.get("lower_bounded")),
            upper_bounded=bool(lim.get("upper_bounded")),
            baseline=baseline,
        )
    review = charts.Span(per.start, min(per.end, frame["period"].max()), per.label)
    goal = block["goal"]
    target = goal["target"] if goal and goal.get("target") is not None else None
    markers = [
        charts.Marker(pd.Timestamp(c["effective_from"]), f"definition v{c['version']}")
        for c in block["definition_changes"]
        if pd.Timestamp(c["effective_from"]) >= frame["period"].min()
    ]
    values = frame.set_index("period")["value"]
    unusual = [
        (when, float(values.get(when, s["value"])))
        for s in block.get("signals", [])
        if s["rule"] == "beyond_limit" and (when := pd.Timestamp(s["period"])) in values.index
    ]
    shift = block.get("shift") or {}
    onset = pd.Timestamp(shift["onset"]) if shift.get("onset") else None
    key = charts.trend_key(
        per=twin.cadence_unit(block["cadence"]),
        limits=limits,
        target=target,
        review=review,
        unusual=len(unusual),
        shift=onset is not None,
        markers=len(markers),
        gaps=gaps,
    )
    description = f"{block['name']} ({block['unit']}). {key} " + " ".join(
        s.text for s in sentences[:2]
    )
    chart = charts.trend_chart(
        frame,
        title=block["name"],
        unit=block["unit"],
        description=description,
        limits=limits,
        target=target,
        markers=markers,
        review=review,
        unusual=unusual,
        shift=onset,
    )
    return chart_block(chart, description, key)


def goals_section(refs: list[st.Ref], part: Analysis, period: st.Figure) -> Section:
    """OKR scores with the 0.7 success wording, projections and a goal chart."""
    with_goal = [r for r in refs if r.data["goal"] is not None]
    if not with_goal:
        return Section(
            "goals", "Goals", lists=(ItemList("", (), "No targets are set for this period."),)
        )
    root = st.Ref("scoring", dict(twin.SCORING))
    sentences = [
        st.say(
            "goals_intro",
            low=root.num("low", decimals=1),
            high=root.num("high", decimals=1),
            success=root.num("success"),
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

    description = (
        "Goal scores from 0 to 1 (bars), the projected landing (ticks) and the "
        "0.7 success line. " + " ".join(s.text for s in sentences[1:])
    )
    chart = charts.goal_chart(
        frame.astype({"score": float, "projected": float}),
        title="Goal scores",
        description=description,
    )
    return Section("goals", "Goals", tuple(sentences), charts=(chart_block(chart, description),))


def own_goals_section(ws: Workspace, eid: str, refs: list[st.Ref], data: dict[str, Any]) -> Section:
    """The person's own goals (their why) and how each linked KPI serves them."""
    rows = ws.goals[ws.goals["employee_id"] == eid]
    by_id = {r.data["kpi_id"]: r for r in refs}
    data["own_goals"] = []
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
        data["own_goals"].append({"goal": str(row["goal"]), "kpis": links})
        ref = st.Ref(f"own_goals[{i}]", data["own_goals"][-1])
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
    return Section("own_goals", "Personal goals", lists=tuple(lists))


def _state(block: dict[str, Any]) -> str:
    """How a KPI serves a personal goal: improving, steady, worth a talk, or no values."""
    if block["level"] is None:
        return "none"
    told = story_of(block["story"])
    return told.goal if told else "steady"


def notes_section(refs: list[st.Ref], period: st.Figure, per: Period) -> Section:
    """Gaps, stale series, definition changes and exclusions; says so when all is clear."""
    sentences = [s for ref in refs for s in nv.data_notes(ref, period, per.start)]
    if not any(r.data["level"] for r in refs):
        sentences.insert(0, st.say("note_no_values", period=period))
    return Section("notes", "Data notes", tuple(sentences or [st.say("note_clear", period=period)]))


def flags_section(
    ws: Workspace, ids: list[str], team_id: str | None, per: Period, data: dict[str, Any]
) -> Section:
    """Feasibility flags on the period's targets of these people (and team)."""
    f = ws.feasibility
    mine = ((f["scope"] == "employee") & f["scope_id"].isin(ids)) | (
        (f["scope"] == "team") & (f["scope_id"] == team_id)
    )
    rows = f[mine & (f["period"] == per.label)]
    data["flags"] = [
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
    ref = st.Ref("flags", data["flags"])
    items = tuple(
        st.say(
            "flag",
            who=ref.txt(f"{i}.flagged_by"),
            kpi=ref.txt(f"{i}.kpi"),
            period=st.text("period", per.label),
            reason=ref.txt(f"{i}.reason"),
        )
        for i in range(len(data["flags"]))
    )
    return Section(
        "flags",
        "Feasibility flags",
        lists=(ItemList("", items, "No target has been flagged as hard to reach."),),
    )


def _kpi_name(ws: Workspace, kpi_id: str) -> str:
    spec = ws.kpis.get(str(kpi_id))
    return spec.name if spec else str(kpi_id)
