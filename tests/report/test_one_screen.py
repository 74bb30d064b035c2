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


def test_team_and_department_pages_lead_with_what_to_act_on(
    demo_reports: tuple[Report, ...],
) -> None:
    checked = 0
    for report in demo_reports:
        ids = [s["id"] for s in report.to_json()["sections"]]
        if report.scope == "team" and report.view == "manager":
            order = ["moved", "conversations", "goals", "kpis", "members"]
            assert [i for i in ids if i in order] == [i for i in order if i in ids], ids
            assert {"conversations", "goals", "kpis", "members"} <= set(ids), ids
            checked += 1
        if report.scope == "department":
            assert ids.index("teams") < ids.index("kpis"), ids
            checked += 1
    assert checked


def test_a_team_pages_goals_say_who_is_at_the_success_line_and_who_is_far(
    demo_reports: tuple[Report, ...],
) -> None:
    """Sales North (T01), worked out from its members' goal scores: four members have a
    goal at 0.7 or more; the far list names every member with a goal below 0.3."""
    report = next(r for r in demo_reports if r.scope_id == "T01" and r.view == "manager")
    twin = report.to_json()
    [goals] = [s for s in twin["sections"] if s["id"] == "goals"]
    texts = [s["text"] for s in goals["sentences"]]
    assert texts[1] == "4 of 24 individual goals score a success in 2026-Q3."
    assert [t for t in texts if t.startswith(("Siobhán", "Amara", "Mei", "Fatima"))][:4] == [
        "Siobhán O'Brien: New revenue closed 1.00.",
        "Amara Okafor: New revenue closed 0.70.",
        "Mei Lin Chen: Win rate 1.00.",
        "Fatima Al-Sayed: Win rate 1.00.",
    ]
    far = [
        (m["name"], b["name"], b["goal"]["score"])
        for m in twin["members"]
        for b in m["kpis"]
        if b["goal"] and b["goal"]["score"] is not None and b["goal"]["score"] < 0.3
    ]
    assert len(far) == 18
    for name, kpi, score in far:
        assert any(t.startswith(f"{name}:") and f"{kpi} {score:.2f}" in t for t in texts), name
    html = report.to_html()
    assert html.index("At 0.7 or more") < html.index("Far from target (below 0.3)")
