"""Cards lead with one sentence: the headline and badge, the chart, then the rest in a
details element (closed on screen, open in print); nothing is lost."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kpinb.report.tone import visible_text

if TYPE_CHECKING:
    from kpinb.report import Report

# a KPI card (it has an id), up to the next card or the end of its section
CARD = re.compile(
    r'<div class="card status-[\w-]+" id="[\w-]+">(.*?)(?=<div class="card |</section>)', re.S
)


def _text(markup: str) -> str:
    return " ".join(visible_text(markup).split())


def _bare(text: str) -> str:
    """Text without any whitespace: tags around figures leave none behind."""
    return "".join(text.split())


def test_every_sentence_of_the_twin_is_on_the_page(demo_reports: tuple[Report, ...]) -> None:
    for report in demo_reports:
        page = _bare(visible_text(report.to_html()))
        for section in report.to_json()["sections"]:
            for sentence in section["sentences"]:
                assert _bare(sentence["text"]) in page, (report.title, sentence)


def test_a_kpi_card_shows_its_first_sentence_and_folds_the_rest(
    demo_reports: tuple[Report, ...],
) -> None:
    folded = 0
    for report in (r for r in demo_reports if r.scope == "employee"):
        twin = report.to_json()
        cards = CARD.findall(report.to_html())
        assert len(cards) == len(twin["kpis"])
        for card, block in zip(cards, twin["kpis"], strict=True):
            shown, _, more = card.partition('<details class="more">')
            lead = re.findall(r'<p class="lead">(.*?)</p>', shown, re.S)
            assert len(lead) <= 1
            if lead:  # the headline sentence names its KPI
                assert block["name"] in _text(lead[0]), (report.title, lead)
            assert len(re.findall(r"<p\b", shown)) == len(lead)  # no other sentence shown
            if more:
                folded += 1
                assert "<summary>More on " in more
    assert folded > 0


def test_siobhans_revenue_card_leads_with_its_level(demo_reports: tuple[Report, ...]) -> None:
    report = next(r for r in demo_reports if r.scope_id == "E002" and r.view == "employee")
    card = next(
        c for c in CARD.findall(report.to_html()) if c.lstrip().startswith("<h3>New revenue closed")
    )
    shown, _, more = card.partition('<details class="more">')
    lead = re.search(r'<p class="lead">(.*?)</p>', shown, re.S)
    assert lead is not None
    assert _bare(visible_text(lead[1])) == _bare(
        "New revenue closed averaged 45.1 kEUR in 2026-Q3, over 13 weekly values."
    )
    assert '<span class="badge">real improvement</span>' in shown
    assert shown.index("<svg") > shown.index('class="lead"')
    assert _bare("New personal best: 49.5 kEUR in the week of 28 Sep 2026.") in _bare(_text(more))
    assert "About this KPI:" in _text(more)


def test_no_caption_repeats_the_text_above_it(demo_reports: tuple[Report, ...]) -> None:
    for report in demo_reports:
        page = report.to_html()
        sentences = [s["text"] for sec in report.to_json()["sections"] for s in sec["sentences"]]
        for caption in re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S):
            said = _text(caption)
            assert not any(len(s) > 40 and s in said for s in sentences), (report.title, said)
