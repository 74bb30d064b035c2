"""HTML assembly: the Jinja2 environment, the report fragment and the standalone page.

Autoescape is on and undefined variables are errors, so data reaches the page
only as escaped text and a template typo fails loudly instead of printing a
blank. Charts enter as SVG rendered offline (``kpinb.report.charts.to_svg``); the page
carries its own CSS and fetches nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from kpinb.filenames import safe_name
from kpinb.report.sentences import Sentence
from kpinb.scopes import SCOPE_DIRS
from kpinb.templating import css, environment, one_style_block, stylesheet
from kpinb.text import display_text


@dataclass(frozen=True)
class ChartBlock:
    """A rendered chart: inline SVG, its text alternative and its key (the caption: what
    the chart draws, in words; the text alternative when empty). ``narrow``: the same
    chart drawn for a phone's column; the page shows it where the column is narrow and
    ``svg`` elsewhere (``kpinb.report.charts.Size``)."""

    svg: Markup
    description: str
    caption: str = ""
    narrow: Markup | None = None


@dataclass(frozen=True)
class ItemList:
    """A list of sentences under an optional heading; ``empty`` is said when it has none."""

    heading: str
    items: tuple[Sentence, ...]
    empty: str = ""


@dataclass(frozen=True)
class QuarterCell:
    """One quarter of a card's strip: its label, its level as shown, the review quarter."""

    label: str
    text: str
    current: bool = False


@dataclass(frozen=True)
class QuarterStrip:
    """A KPI's quarters side by side under its chart; ``unit`` said once in the caption."""

    unit: str
    cells: tuple[QuarterCell, ...]


@dataclass(frozen=True)
class Card:
    """One KPI (or member) card: heading, sentences, an optional chart and lists. ``id``:
    the card's stable anchor within its report (``<report anchor>-<id>``), when linked to.

    On the page the card leads with its first sentence (the headline, beside its badge)
    and its chart; the other sentences, the quarter strip and the lists follow in a
    details element, closed on screen and open in print."""

    heading: str
    sentences: tuple[Sentence, ...]
    status: str = "routine"
    badge: str = ""
    chart: ChartBlock | None = None
    lists: tuple[ItemList, ...] = ()
    strip: QuarterStrip | None = None
    id: str = ""


@dataclass(frozen=True)
class Point:
    """One talking point: its one-line sentence and the link to what it is about."""

    sentence: Sentence
    href: str


@dataclass(frozen=True)
class Section:
    """A report section in reading order. ``lead``: how many of its sentences the page
    shows before the rest go into a details element (``more``: its summary), closed on
    screen and open in print; None shows them all. ``why``: one linked line after the
    points (the person's own why, under their talking points)."""

    id: str
    heading: str
    sentences: tuple[Sentence, ...] = ()
    cards: tuple[Card, ...] = ()
    charts: tuple[ChartBlock, ...] = ()
    lists: tuple[ItemList, ...] = field(default=())
    points: tuple[Point, ...] = ()
    lead: int | None = None
    more: str = "More"
    why: Point | None = None


@dataclass(frozen=True)
class MemberLink:
    """A link from a team report to one member's report, as the batch publishes it."""

    name: str
    href: str


def render_fragment(
    *,
    title: str,
    subtitle: str,
    scope: str,
    scope_id: str,
    view: str,
    sections: tuple[Section, ...],
    members: Iterable[Mapping[str, Any]] = (),
    success: str = "0.7",
) -> str:
    """The report's HTML fragment (its own scoped CSS included).

    ``success`` is the goal score that counts as a success, as the reading note says it.

    ``members`` (a team's manager view: the twin's ``members``, ``employee_id`` and
    ``name``) become links to each member's report; every report ends with a short
    note on how to read it.
    """
    template = environment().get_template("report.html.j2")
    return template.render(
        title=title,
        subtitle=subtitle,
        scope=scope,
        scope_id=scope_id,
        view=view,
        sections=sections,
        members=member_links(members),
        css=css("report.css"),
        anchor=anchor_of(scope, scope_id),
        success=success,
    )


def member_links(members: Iterable[Mapping[str, Any]]) -> tuple[MemberLink, ...]:
    """Links to members' reports where the batch publishes them: a team page lives in
    ``teams/``, a person's page (its primary, employee view) at
    ``employees/<safe_name(employee_id)>.html`` beside it, so the link is relative."""
    folder = SCOPE_DIRS["employee"]
    return tuple(
        MemberLink(
            display_text(m.get("name") or m["employee_id"]),
            f"../{folder}/{safe_name(m['employee_id'])}.html",
        )
        for m in members
    )


def render_page(*, title: str, body: str) -> str:
    """A full standalone HTML page around a rendered fragment."""
    template = environment().get_template("page.html.j2")
    page = template.render(title=title, body=Markup(body), css=stylesheet("report"))
    return one_style_block(page)


def chart_block(chart: Any, description: str, caption: str = "", narrow: Any = None) -> ChartBlock:
    """Render an Altair chart to an inline SVG block; ``narrow``: the chart drawn for a
    phone's column, rendered beside it (each SVG marked ``wide`` or ``narrow``)."""
    from kpinb.report.charts import to_svg

    if narrow is None:
        return ChartBlock(Markup(to_svg(chart)), description, caption)
    wide_svg, narrow_svg = (
        _marked(to_svg(c), mark) for c, mark in ((chart, "wide"), (narrow, "narrow"))
    )
    return ChartBlock(Markup(wide_svg), description, caption, Markup(narrow_svg))


def _marked(svg: str, mark: str) -> str:
    """``svg`` with ``mark`` added to its root element's classes."""
    head, sep, rest = svg.partition(">")
    if 'class="' in head:
        head = head.replace('class="', f'class="{mark} ', 1)
    else:
        head += f' class="{mark}"'
    return head + sep + rest


def anchor_of(scope: str, scope_id: str) -> str:
    """The report's anchor: the prefix of every section's and card's id on its page."""
    return f"{scope}-{slug(scope_id)}"


def slug(text: str) -> str:
    """``text`` as an HTML id part: letters and digits kept, anything else a hyphen."""
    return "".join(c if c.isalnum() else "-" for c in text)


def card_href(scope: str, scope_id: str, kpi_id: str) -> str:
    """The link to a KPI's card within its report."""
    return f"#{anchor_of(scope, scope_id)}-{kpi_card_id(kpi_id)}"


def kpi_card_id(kpi_id: str) -> str:
    """A KPI card's id within its report."""
    return f"kpi-{slug(kpi_id)}"
