"""The KPI sections: the progress headline and one card per KPI (its sentences, badge,
colour, trend chart and the "About this KPI" line from the KPI dictionary), plus the
count of members or teams whose own series shift, which a team's or department's
cards name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kpinb.kpis import is_percent
from kpinb.report import chart_data, twin
from kpinb.report import narrative as nv
from kpinb.report import sentences as st
from kpinb.report.render import (
    Card,
    ChartBlock,
    QuarterCell,
    QuarterStrip,
    Section,
    chart_block,
    kpi_card_id,
)
from kpinb.report.sections.part import Part
from kpinb.report.stories import BADGE_GOAL, BADGE_WITHIN, PLAIN_CARD, goal_asks_more, story_of
from kpinb.text import display_text

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
    from kpinb.periods import Period
    from kpinb.workspace import Workspace


def progress(refs: list[st.Ref], period: st.Figure, heading: str = "Progress") -> Part:
    """The progress headline: real improvement first, else steady strengths."""
    return Part(Section("progress", heading, tuple(nv.headline(refs, period))))


def is_shift(block: dict[str, Any]) -> bool:
    """A shift against the usual level: the team and department views name and count it."""
    told = story_of(block["story"])
    return told is not None and told.shift


def card_status(block: dict[str, Any]) -> str:
    """Card colour from the KPI's story: improving, conversation (a shift), routine."""
    told = story_of(block["story"])
    return told.card if told else PLAIN_CARD


def badge(block: dict[str, Any], within: int = 0) -> str:
    """The card's badge: its story's, "changes within" for a routine aggregate with
    shifts within, "its goal asks for more" for a routine KPI whose goal is not met."""
    told = story_of(block["story"])
    if told is None:
        return ""
    if within and told.within_usual:
        return BADGE_WITHIN
    return BADGE_GOAL if told.name == "routine" and goal_asks_more(block) else told.badge


def cards(
    part: Analysis,
    refs: list[st.Ref],
    period: st.Figure,
    per: Period,
    ws: Workspace,
    within: dict[str, list[st.Sentence]] | None = None,
    heading: str = "KPIs",
) -> Part:
    """One card per KPI: its sentences (and the leading-indicator note) and trend chart;
    the twin's ``kpis`` gain each KPI's ``about``.

    ``within``: per KPI id, sentences naming members or teams with a shift of their own
    (a team's or department's card then says so instead of "no action needed").
    """
    out, blocks = [], []
    for ref in refs:
        block = ref.data
        inner = (within or {}).get(block["kpi_id"], [])
        sentences = (
            tuple(nv.kpi_card(ref, period, within=len(inner)))
            + tuple(inner)
            + tuple(_pair_sentence(ref, refs))
        )
        chart = trend_block(part, block, per, sentences)
        about, about_sentences = _about(ws, ref)
        sentences += about_sentences
        blocks.append(block if about is None else {**block, "about": about})
        out.append(
            Card(
                block["name"],
                sentences,
                card_status(block),
                badge(block, len(inner)),
                chart,
                strip=quarter_strip(ref),
                id=kpi_card_id(block["kpi_id"]),
            )
        )
    return Part(Section("kpis", heading, cards=tuple(out)), {"kpis": blocks})


def quarter_strip(ref: st.Ref) -> QuarterStrip | None:
    """The card's quarters side by side (twin ``quarters``), the review quarter last;
    none with fewer than two quarters."""
    quarters = ref.data.get("quarters") or []
    if len(quarters) < 2:
        return None
    last = len(quarters) - 1
    percent = is_percent(ref.unit)
    cells = tuple(
        QuarterCell(
            q["period"],
            ref.num(f"quarters.{i}.level", unit="%" if percent else "").text,
            i == last,
        )
        for i, q in enumerate(quarters)
    )
    return QuarterStrip("" if percent else display_text(ref.unit), cells)


ABOUT_FIELDS = (("formula", ""), ("source", "Source: "), ("owner", "Owner: "))


def _about(ws: Workspace, ref: st.Ref) -> tuple[dict[str, str] | None, tuple[st.Sentence, ...]]:
    """The card's last line, from the KPI dictionary: what the KPI counts (its formula),
    its source of truth and its owner (``About this KPI: <formula>. Source: <source>.
    Owner: <owner>.``), and the block's ``about`` that keeps them in the twin."""
    spec = ws.kpis.get(ref.data["kpi_id"])
    if spec is None:
        return None, ()
    about = {key: display_text(getattr(spec, key)).strip() for key, _ in ABOUT_FIELDS}
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
        return about, ()
    return about, (st.Sentence("kpi_about", tuple(p for p in parts if p)),)


def _pair_sentence(ref: st.Ref, refs: list[st.Ref]) -> list[st.Sentence]:
    """For a leading indicator, what its move means for its lagging partner."""
    block = ref.data
    partner = next((r for r in refs if r.data["kpi_id"] == block.get("pair")), None)
    if block["kind"] != "leading" or partner is None or block["status"] == "no_data":
        return []
    told = story_of(block["story"])
    state = told.pair if told else "steady"
    return [st.say("kpi_pair", kpi=ref.txt("name"), partner=partner.txt("name"), state=state)]


def trend_block(
    part: Analysis, block: dict[str, Any], per: Period, sentences: tuple[st.Sentence, ...]
) -> ChartBlock | None:
    """The KPI's trend chart with its key and text alternative: the last 4 quarters, or
    from the start of the baseline window when it lies earlier."""
    from kpinb.report import charts

    data = chart_data.trend_data(part, block, per)
    if data is None:
        return None
    key = charts.trend_key(
        per=twin.cadence_unit(block["cadence"]),
        limits=data.limits,
        target=data.target,
        review=data.review,
        unusual=len(data.unusual),
        shift=data.shift is not None,
        markers=len(data.markers),
        gaps=data.gaps,
    )
    description = f"{block['name']} ({block['unit']}). {key} " + " ".join(
        s.text for s in sentences[:2]
    )
    wide, narrow = (
        charts.trend_chart(
            data.frame,
            title=block["name"],
            unit=block["unit"],
            description=description,
            limits=data.limits,
            target=data.target,
            markers=data.markers,
            review=data.review,
            unusual=data.unusual,
            shift=data.shift,
            size=size,
        ).properties(padding=charts.PADDING)
        for size in (charts.WIDE, charts.NARROW)
    )
    return chart_block(wide, description, key, narrow)


def shifts_within(
    groups: list[dict[str, Any]], noun: str
) -> tuple[dict[str, Any], dict[str, list[st.Sentence]]]:
    """Per KPI id, a sentence saying how many members (or teams) show a shift of their
    own, and the twin's ``shifts_within`` holding the counts."""
    counts: dict[str, int] = {}
    for group in groups:
        for block in group["kpis"]:
            if is_shift(block):
                counts[block["kpi_id"]] = counts.get(block["kpi_id"], 0) + 1
    found = [{"kpi_id": k, "count": n} for k, n in counts.items()]
    ref = st.Ref("shifts_within", found)
    one, many = ("member", "members") if noun == "members" else ("team", "teams")
    heading = "Signals worth a conversation" if noun == "members" else "Teams"
    sentences = {
        kpi_id: [
            st.say(
                "within_shifts",
                n=ref.count(f"{i}.count", one, many),
                single=n == 1,
                where=heading,
            )
        ]
        for i, (kpi_id, n) in enumerate(counts.items())
    }
    return {"shifts_within": found}, sentences
