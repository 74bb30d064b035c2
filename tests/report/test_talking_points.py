"""For your next conversation: at most three one-line talking points at the top of a
person's report, each linking to its card, kept in the twin."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kpinb.report import claims
from kpinb.report.stories import story_of

if TYPE_CHECKING:
    from kpinb.report import Report


def _people(reports: tuple[Report, ...]) -> list[Report]:
    return [r for r in reports if r.scope == "employee"]


def test_points_link_to_cards_on_the_page_and_tell_the_right_kpis(
    demo_reports: tuple[Report, ...],
) -> None:
    seen = set()
    for report in _people(demo_reports):
        twin = report.to_json()
        points = twin["talking_points"]
        assert len(points) <= 3
        if not points:
            continue
        assert twin["sections"][0]["id"] == "talk"
        html = report.to_html()
        ids = set(re.findall(r'\bid="([^"]+)"', html))
        blocks = {b["kpi_id"]: b for b in twin["kpis"]}
        for point in points:
            seen.add(point["kind"])
            assert point["href"].startswith("#") and point["href"][1:] in ids, point
            assert f'href="{point["href"]}"' in html
            if point["kind"] == "conversation":
                told = story_of(blocks[point["kpi_id"]]["story"])
                assert told is not None and told.polarity < 0 and not told.shared
            if point["kind"] == "due" and point["kpi_id"]:
                goal = blocks[point["kpi_id"]]["goal"]
                assert goal["projected_score"] is not None and not goal["projected_success"]
        assert [p["kind"] for p in points] == sorted(
            (p["kind"] for p in points), key=["progress", "conversation", "due"].index
        )
        assert claims.check(twin) == []
    assert seen == {"progress", "conversation", "due"}


def test_siobhans_points_read_as_worked_out_by_hand(demo_reports: tuple[Report, ...]) -> None:
    """E002: revenue shifted up (progress), meetings lean down (conversation), the meetings
    goal is projected at 0.00 and one action is open (due)."""
    report = next(r for r in demo_reports if r.scope_id == "E002" and r.view == "employee")
    talk = report.to_json()["sections"][0]
    assert [s["text"] for s in talk["sentences"]] == [
        "Recognise New revenue closed: 45.1 kEUR in 2026-Q3, a real improvement.",
        "Ask about Pipeline meetings booked: 12.8 meetings in 2026-Q3, within its usual range,"
        " drifting.",
        "Due: the goal for Pipeline meetings booked is projected at 0.00 (a success from 0.7);"
        " 1 action open.",
        "Why: Move into a senior account role.",
    ]
    due = talk["sentences"][2]["figures"]
    assert [f["path"] for f in due] == [
        "kpis[0].name",
        "kpis[0].goal.projected_score",
        "scoring.success",
        "talking_points[2].open_actions",
    ]
    html = report.to_html()
    assert html.index('class="sec-talk"') < html.index('class="sec-progress"')


def test_the_persons_own_why_follows_the_points_in_one_linked_line(
    demo_reports: tuple[Report, ...],
) -> None:
    """After the points: the person's first personal goal, traced to ``own_goals[0]`` and
    linking to the personal goals; without a goal, an invitation to name one."""
    seen = {"talk_why": 0, "talk_why_none": 0}
    for report in _people(demo_reports):
        twin = report.to_json()
        talk = twin["sections"][0]
        if not twin["talking_points"]:  # no points, no section: the why never stands alone
            assert talk["id"] != "talk" and twin["talking_why"] is None
            assert 'class="why"' not in report.to_html()
            continue
        assert talk["id"] == "talk"
        why = talk["sentences"][-1]
        seen[why["id"]] += 1
        own = twin["own_goals"]
        assert twin["talking_why"] == {
            "href": f"#employee-{report.scope_id}-own_goals",
            "goals": len(own),
        }
        if own:
            assert why["id"] == "talk_why"
            assert why["figures"][0] == {
                "path": "own_goals[0].goal",
                "value": own[0]["goal"],
                "text": own[0]["goal"],
            }
        else:
            assert why["id"] == "talk_why_none" and why["figures"] == []
        html = report.to_html()
        line = re.search(r'<p class="why"><a href="([^"]+)">', html)
        assert line and line[1] == twin["talking_why"]["href"]
        assert html.index("</ol>") < line.start() < html.index('class="sec-progress"')
        assert f'id="{line[1][1:]}"' in html
    assert seen["talk_why"] and seen["talk_why_none"]  # the demo has people with and without


def test_a_why_that_is_not_the_persons_own_goal_is_caught(
    demo_reports: tuple[Report, ...],
) -> None:
    import copy

    report = next(r for r in demo_reports if r.scope_id == "E002" and r.view == "employee")
    twin = copy.deepcopy(report.to_json())
    why = twin["sections"][0]["sentences"][-1]
    assert claims.check(twin) == []
    why["figures"][0]["value"] = why["figures"][0]["text"] = "A colleague's goal"
    assert [f.claim for f in claims.check(twin)] == ["a why that is not the person's own goal"]
