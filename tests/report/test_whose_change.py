"""Whose change is it, in the demo's reports: Support Americas' tickets rise for every
member after a triage change (week 3 of the review quarter, +30 %), and Product's pull
requests reviewed rise through every quarter (data.yaml: shared_move, quarterly_shape)."""

from __future__ import annotations

from typing import Any

import pytest

from kpinb.report import Report
from kpinb.report.stories import story_of
from kpinb.workspace import Workspace


def _twin(reports: tuple[Report, ...], scope: str, sid: str, view: str) -> dict[str, Any]:
    found = [r for r in reports if (r.scope, r.scope_id, r.view) == (scope, sid, view)]
    assert len(found) == 1
    return found[0].to_json()


def _section(twin: dict[str, Any], sid: str) -> list[dict[str, Any]]:
    return next(s["sentences"] for s in twin["sections"] if s["id"] == sid)


def _members(ws: Workspace, team: str) -> list[str]:
    return ws.people.loc[ws.people["team_id"] == team, "employee_id"].astype(str).tolist()


def test_every_member_of_the_moved_team_is_told_the_move_is_shared(
    demo_ws: Workspace, demo_reports: tuple[Report, ...]
) -> None:
    members = _members(demo_ws, "T05")
    assert len(members) == 7
    for eid in members:
        twin = _twin(demo_reports, "employee", eid, "employee")
        block = next(b for b in twin["kpis"] if b["kpi_id"] == "tickets_resolved")
        assert block["story"] == "shared"
        assert block["shared"] == {
            "scope": "team",
            "group_id": "T05",
            "moved": 7,
            "of": 7,
            "direction": "up",
            "onset": "2026-07-20",
            "own": False,
            "relative": None,
        }
        texts = [s["text"] for s in _section(twin, "kpis")]
        assert (
            "Tickets resolved rose for 7 of the 7 people in your team from the week of "
            "20 Jul 2026: a change you share with them, likely from the market, the process "
            "or the data, not a change of your own."
        ) in texts
        progress = " ".join(s["text"] for s in _section(twin, "progress"))
        assert "Tickets resolved" not in progress
        assert all(q["kpi_id"] != "tickets_resolved" for q in twin["questions"])


def test_the_team_page_opens_with_what_moved_for_everyone(
    demo_reports: tuple[Report, ...],
) -> None:
    twin = _twin(demo_reports, "team", "T05", "manager")
    first = twin["sections"][0]
    assert first["id"] == "moved"
    assert first["heading"] == "What moved for everyone"
    assert [s["id"] for s in first["sentences"]] == ["moved_everyone", "moved_everyone_over_time"]
    text = first["sentences"][0]["text"]
    assert text.startswith(
        "Support Americas: Tickets resolved rose for 7 of the 7 people from the week of "
        "20 Jul 2026; the group's figure moved by "
    )
    assert twin["moved_for_everyone"][0]["kpi_id"] == "tickets_resolved"
    assert (twin["moved_for_everyone"][0]["moved"], twin["moved_for_everyone"][0]["of"]) == (7, 7)
    # the members' shared move is no real change "of their own"
    assert all(s["kpi_id"] != "tickets_resolved" for s in twin["shifts_within"])
    # the department overview opens with it too; a team where nothing moved leaves the
    # section out (its twin keeps the empty list)
    assert _twin(demo_reports, "department", "Support", "executive")["sections"][0]["id"] == "moved"
    quiet = _twin(demo_reports, "team", "T06", "manager")
    assert quiet["moved_for_everyone"] == []
    assert "moved" not in [s["id"] for s in quiet["sections"]]


def test_a_group_page_never_names_what_moved_for_everyone_as_its_progress(
    demo_reports: tuple[Report, ...],
) -> None:
    """T05's tickets resolved rose for all 7 people: its page opens with that shared move
    and its "Team progress" names other KPIs only; the same holds on every team and
    department page of the demo (the group's own moves, not its teams')."""
    t05 = _twin(demo_reports, "team", "T05", "manager")
    assert "Tickets resolved" not in " ".join(s["text"] for s in _section(t05, "progress"))
    seen = 0
    for report in demo_reports:
        if report.scope == "employee":
            continue
        twin = report.to_json()
        own = {
            m["kpi_id"]
            for m in twin["moved_for_everyone"]
            if (m.get("scope"), str(m.get("scope_id"))) == (report.scope, report.scope_id)
        }
        names = [b["name"] for b in twin["kpis"] if b["kpi_id"] in own]
        seen += len(names)
        progress = " ".join(s["text"] for s in _section(twin, "progress"))
        assert not [n for n in names if n in progress], (report.scope_id, report.view, names)
    assert seen >= 2


def test_the_quarterly_kpi_names_its_pattern_once_and_is_routine(
    demo_ws: Workspace, demo_reports: tuple[Report, ...]
) -> None:
    for eid in _members(demo_ws, "T06"):
        twin = _twin(demo_reports, "employee", eid, "employee")
        block = next(b for b in twin["kpis"] if b["kpi_id"] == "prs_reviewed")
        if block["status"] == "not_enough_history":
            continue
        assert block["pattern"] == {"cycle": "quarter", "seen": 7, "shape": "rises"}
        said = [s for s in _section(twin, "kpis") if s["id"] == "kpi_pattern"]
        assert len(said) == 1
        assert "it rises through every quarter; seen in 7 earlier quarters" in said[0]["text"]
    routine = [
        b["story"]
        for eid in _members(demo_ws, "T06")
        for b in _twin(demo_reports, "employee", eid, "employee")["kpis"]
        if b["kpi_id"] == "prs_reviewed" and b["pattern"] and b["status"] != "not_enough_history"
    ]
    assert routine and set(routine) == {"routine"}


@pytest.mark.parametrize("view", ["employee", "manager"])
def test_no_shared_move_is_progress_or_a_gap_in_any_demo_report(
    demo_reports: tuple[Report, ...], view: str
) -> None:
    seen = 0
    for report in demo_reports:
        if report.scope != "employee" or report.view != view:
            continue
        twin = report.to_json()
        shared = {b["kpi_id"]: b["name"] for b in twin["kpis"] if b["story"] == "shared"}
        seen += len(shared)
        progress = _section(twin, "progress")
        for sentence in progress:
            for name in shared.values():
                assert name not in sentence["text"], (report, sentence)
        assert not set(shared) & {q["kpi_id"] for q in twin["questions"]}, report
        for block in twin["kpis"]:
            told = story_of(block["story"])
            if block["shared"] and not block["shared"]["own"]:
                assert told is not None and told.shared and told.polarity == 0
                assert told.badge not in ("real improvement", "real change, worth a conversation")
    assert seen >= 7


def test_no_team_or_department_page_says_of_their_own_about_a_shared_move(
    demo_reports: tuple[Report, ...],
) -> None:
    for report in demo_reports:
        if report.scope == "employee":
            continue
        twin = report.to_json()
        counted = {s["kpi_id"]: s["count"] for s in twin.get("shifts_within", [])}
        for member in twin.get("members", []):
            for block in member["kpis"]:
                if block["story"] == "shared":
                    counted[block["kpi_id"]] = counted.get(block["kpi_id"], 0)
        own: dict[str, int] = {}
        for member in twin.get("members", []):
            for block in member["kpis"]:
                told = story_of(block["story"])
                if told is not None and told.shift:
                    own[block["kpi_id"]] = own.get(block["kpi_id"], 0) + 1
        if "members" in twin:
            assert {k: v for k, v in counted.items() if v} == own, report
        for section in twin["sections"]:
            for sentence in section["sentences"]:
                if "of their own" in sentence["text"] or "of its own" in sentence["text"]:
                    assert sentence["id"] in ("within_shifts", "member_shift"), sentence


def test_a_department_move_is_left_out_where_a_team_holds_its_figures_back() -> None:
    """Department D moved on k and q; its team T2 is under the minimum size on k. The
    department's row for k would give T2's count and change by subtraction (D less the
    teams shown), so only its row for q stays; the shown team's rows stay."""
    import pandas as pd

    from kpinb.report.views import group_moves

    moves = pd.DataFrame(
        {
            "scope": ["department", "department", "team"],
            "scope_id": ["D", "D", "T1"],
            "kpi_id": ["k", "q", "k"],
            "moved": [9, 8, 6],
            "of": [9, 9, 6],
        }
    )
    summary = pd.DataFrame(
        {
            "scope": ["team", "team", "team", "team"],
            "scope_id": ["T1", "T1", "T2", "T2"],
            "kpi_id": ["k", "q", "k", "q"],
            "suppressed": [False, False, True, False],
            "status": ["improving_shift", "routine", "suppressed", "routine"],
        }
    )
    got = group_moves(moves, summary, "department", "D", ["T1", "T2"])
    assert list(zip(got["scope_id"], got["kpi_id"], strict=True)) == [("D", "q"), ("T1", "k")]
    withheld = summary.assign(status=["routine", "routine", "routine", "withheld"])
    withheld["suppressed"] = False
    got = group_moves(moves, withheld, "department", "D", ["T1", "T2"])
    assert list(zip(got["scope_id"], got["kpi_id"], strict=True)) == [("D", "k"), ("T1", "k")]
    # a team's own executive view: its own rows only
    assert group_moves(moves, summary, "team", "T1", ["T1"])["kpi_id"].tolist() == ["k"]
