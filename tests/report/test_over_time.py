"""Improvement over time on the demo's pages: each KPI card shows the person's quarters
side by side (numbers from the twin, levels worked out here from the observations), and
every sentence over quarters or a year agrees with its own numbers."""

from __future__ import annotations

import copy
import html
import re
from typing import TYPE_CHECKING, Any

from kpinb.periods import parse_period
from kpinb.report import claims

if TYPE_CHECKING:
    from kpinb.report import Report
    from kpinb.workspace import Workspace

PERIOD = parse_period("2026-Q3")


def _cards(page: str) -> dict[str, str]:
    """Each KPI card's HTML by its heading."""
    out = {}
    for chunk in page.split('<div class="card')[1:]:
        heading = re.search(r"<h3>([^<]*)", chunk)
        if heading:
            out[html.unescape(heading.group(1).strip())] = chunk
    return out


def _employee_views(reports: tuple[Report, ...]) -> list[Report]:
    return [r for r in reports if r.scope == "employee" and r.view == "employee"]


def test_every_card_with_a_year_of_history_shows_its_quarters(
    demo_reports: tuple[Report, ...],
) -> None:
    """Every demo person with a year of a KPI (at least 4 quarters under its current
    definition) has a strip on that card whose cells are the twin's quarter levels as
    shown, the review quarter last and marked."""
    seen = 0
    for report in _employee_views(demo_reports):
        cards = _cards(report.html)
        for block in report.to_json()["kpis"]:
            quarters = block["quarters"]
            if len(quarters) < 4:
                continue
            card = cards[block["name"]]
            assert "<caption>Quarter by quarter" in card, (report.scope_id, block["name"])
            heads = re.findall(r"<th scope=\"col\"[^>]*>([^<]*)</th>", card)
            cells = re.findall(r"<td[^>]*>([^<]*)</td>", card)
            assert heads == [q["period"] for q in quarters]
            assert heads[-1] == "2026-Q3" and '<td class="now">' in card
            dec = block["decimals"]
            suffix = "%" if block["unit"] == "%" else ""
            assert cells == [f"{q['level']:,.{dec}f}{suffix}" for q in quarters]
            assert quarters[-1]["level"] == block["level"]["value"]
            seen += 1
    assert seen > 100


def test_quarter_levels_are_each_quarters_mean_of_the_persons_values(
    demo_ws: Workspace, demo_reports: tuple[Report, ...]
) -> None:
    """Worked out from the observations: a person's quarter level is the mean of their
    values dated in it (a ratio KPI's: its numerators over its denominators)."""
    obs = demo_ws.observations
    checked = 0
    for report in _employee_views(demo_reports)[:12]:
        for block in report.to_json()["kpis"]:
            spec = demo_ws.kpis[block["kpi_id"]]
            if spec.versions or not block["quarters"]:
                continue
            mine = obs[(obs["employee_id"] == report.scope_id) & (obs["kpi_id"] == block["kpi_id"])]
            for q in block["quarters"]:
                per = parse_period(q["period"])
                rows = mine[per.contains(mine["period"]).to_numpy()]
                if spec.is_ratio:
                    want = 100 * rows["numerator"].sum() / rows["denominator"].sum()
                else:
                    want = rows["value"].mean()
                assert len(rows) == q["points"]
                assert abs(want - q["level"]) <= 0.5 * 10 ** -block["decimals"] + 1e-9
                checked += 1
    assert checked > 50


def _with(reports: tuple[Report, ...], key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A copy of the first demo twin with a sentence ``key``, and that sentence."""
    for report in reports:
        twin = report.to_json()
        for sec in twin["sections"]:
            for s in sec["sentences"]:
                if s["id"] == key:
                    twin = copy.deepcopy(twin)
                    found = next(
                        t for sec in twin["sections"] for t in sec["sentences"] if t["id"] == key
                    )
                    return twin, found
    raise AssertionError(f"no demo sentence {key}")


def _block(twin: dict[str, Any], sentence: dict[str, Any]) -> dict[str, Any]:
    index = int(sentence["figures"][0]["path"].split("[")[1].split("]")[0])
    return twin["kpis"][index]


def test_over_time_sentences_state_their_twins_numbers_and_a_false_one_is_caught(
    demo_reports: tuple[Report, ...],
) -> None:
    twin, sentence = _with(demo_reports, "kpi_over_time")
    block = _block(twin, sentence)
    over = block["over_time"]
    assert over["direction"] in ("improving", "worsening") and not over["shared"]
    assert f"Across {over['quarters']} quarters" in sentence["text"]
    assert f"in {over['from_period']} to" in sentence["text"]
    assert claims.check(twin) == []
    over["to_level"], over["from_level"] = over["from_level"], over["to_level"]
    assert {f.claim for f in claims.check(twin)} == {"over time against its levels"}
    twin, sentence = _with(demo_reports, "kpi_over_time_shared")
    assert "others in your team: a move you share" in sentence["text"]
    _block(twin, sentence)["over_time"]["shared"] = False
    assert "over time shared against its numbers" in {f.claim for f in claims.check(twin)}


def test_a_year_ago_is_said_only_beyond_routine_variation(
    demo_reports: tuple[Report, ...],
) -> None:
    """Every "a year ago" sentence names a change beyond the twin's routine limit, its
    direction the change's sign; a planted one within routine variation is caught."""
    seen = 0
    for report in _employee_views(demo_reports):
        twin = report.to_json()
        for sec in twin["sections"]:
            for s in sec["sentences"]:
                if s["id"] != "kpi_year":
                    continue
                year = _block(twin, s)["year_change"]
                assert abs(year["absolute"]) > year["routine_limit"]
                assert (" higher" in s["text"]) == (year["absolute"] > 0)
                seen += 1
    assert seen >= 5
    twin, sentence = _with(demo_reports, "kpi_year")
    _block(twin, sentence)["year_change"]["held"] = True
    assert "a year's change against its numbers" in {f.claim for f in claims.check(twin)}


def test_no_shared_climb_is_anyones_progress(demo_reports: tuple[Report, ...]) -> None:
    """Support Americas' tickets resolved climbed for all 7 people: no one's Progress
    names it as their climb, and each of their cards tells it as shared."""
    shared = 0
    for report in _employee_views(demo_reports):
        twin = report.to_json()
        climbs = [
            s["text"]
            for sec in twin["sections"]
            for s in sec["sentences"]
            if s["id"] == "headline_over_time"
        ]
        for block in twin["kpis"]:
            if (block["over_time"] or {}).get("shared"):
                shared += 1
                assert not [c for c in climbs if c.startswith(block["name"])], report.scope_id
    assert shared >= 5


def test_a_team_opens_with_a_climb_most_of_it_shares(
    demo_ws: Workspace, demo_reports: tuple[Report, ...]
) -> None:
    """Support Americas (T05): every member's tickets resolved climbed across quarters
    (counted here from the members' own blocks); the team page says so in "What moved
    for everyone" and its "Team progress" does not claim it."""
    team = next(
        r for r in demo_reports if (r.scope, r.scope_id, r.view) == ("team", "T05", "manager")
    )
    twin = team.to_json()
    climbed = [
        m["employee_id"]
        for m in twin["members"]
        for b in m["kpis"]
        if b["kpi_id"] == "tickets_resolved"
        and (b["over_time"] or {}).get("direction") == "improving"
    ]
    assert len(climbed) == len(twin["members"]) == 7
    assert twin["moved_over_time"] == [
        {
            "name": "Support Americas",
            "kpi_id": "tickets_resolved",
            "kpi": "Tickets resolved",
            "direction": "improving",
            "moved": 7,
            "of": 7,
        }
    ]
    moved = next(sec for sec in twin["sections"] if sec["id"] == "moved")
    assert moved["sentences"][-1]["text"].startswith(
        "Support Americas: across the last quarters, Tickets resolved improved for 7 of the "
        "7 people with a year of data."
    )
    progress = next(sec for sec in twin["sections"] if sec["id"] == "progress")
    assert not any("Tickets resolved" in s["text"] for s in progress["sentences"])
