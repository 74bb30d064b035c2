"""The claims check: every demo report's sentences agree with their own numbers, and
a planted false claim is caught."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from kpinb.report import claims

if TYPE_CHECKING:
    from kpinb.report import Report


def test_every_demo_report_passes_the_claims_check(demo_reports: tuple[Report, ...]) -> None:
    failures = [(r.title, f) for r in demo_reports for f in claims.check(r.to_json())]
    assert failures == []


def test_no_demo_range_has_zero_width(demo_reports: tuple[Report, ...]) -> None:
    for report in demo_reports:
        for block in report.to_json().get("kpis", []):
            if block["limits"] and block["limits"]["lower"] is not None:
                assert block["limits"]["upper"] > block["limits"]["lower"], block["name"]


def _twin_with(reports: tuple[Report, ...], key: str, words: str = "") -> dict[str, Any]:
    """A copy of the first demo twin holding a sentence ``key`` with ``words``."""
    for report in reports:
        twin = report.to_json()
        for sec in twin["sections"]:
            if any(s["id"] == key and words in s["text"] for s in sec["sentences"]):
                return copy.deepcopy(twin)
    raise AssertionError(f"no demo sentence {key}")


def _first(twin: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for sec in twin["sections"] for s in sec["sentences"] if s["id"] == key)


def test_a_planted_direction_and_held_level_are_caught(demo_reports: tuple[Report, ...]) -> None:
    twin = _twin_with(demo_reports, "kpi_change")
    sentence = _first(twin, "kpi_change")
    word = " higher" if " higher" in sentence["text"] else " lower"
    sentence["text"] = sentence["text"].replace(word, " lower" if word == " higher" else " higher")
    sentence["text"] += " It has held level."
    found = {f.claim for f in claims.check(twin)}
    assert "direction against the change" in found
    block = twin["kpis"][int(sentence["figures"][0]["path"].split("[")[1].split("]")[0])]
    if not block["change"]["held"]:
        assert "held level beyond routine variation" in found


def test_a_planted_stay_within_and_best_are_caught(demo_reports: tuple[Report, ...]) -> None:
    twin = _twin_with(demo_reports, "kpi_routine", "stay within")
    sentence = next(
        s
        for sec in twin["sections"]
        for s in sec["sentences"]
        if s["id"] == "kpi_routine" and "stay within" in s["text"]
    )
    i = int(sentence["figures"][0]["path"].split("[")[1].split("]")[0])
    block = twin["kpis"][i]
    block["ending"]["max"] = block["limits"]["upper"] + 10
    found = {f.claim for f in claims.check(twin)}
    assert "stay within a range its points leave" in found
    block["limits"]["lower"] = block["limits"]["upper"]
    assert "usual range of zero width" in {f.claim for f in claims.check(twin)}


def test_no_action_needed_beside_a_goal_is_caught() -> None:
    block = {
        "name": "k",
        "direction": "up",
        "decimals": 1,
        "value_decimals": 0,
        "change": None,
        "limits": {"lower": 1.0, "upper": 9.0},
        "ending": {"min": 2.0, "max": 8.0, "last": [5.0]},
        "goal": {"current": 5.0, "score": 0.0, "success": False},
        "best": None,
        "shift": None,
    }
    sentence = {
        "id": "kpi_routine",
        "text": "Its values stay within the usual range of 1.0 to 9.0: routine variation, "
        "no action needed.",
        "figures": [{"path": "kpis[0].limits.lower", "value": 1.0, "text": "1.0"}],
    }
    twin = {"kpis": [block], "sections": [{"id": "kpis", "sentences": [sentence]}]}
    assert [f.claim for f in claims.check(twin)] == ["no action needed beside a goal"]
    block["goal"]["success"] = True
    assert claims.check(twin) == []
    block["signals"] = [{"rule": "run_of_8", "period": "2026-09-14", "direction": "improving"}]
    assert [f.claim for f in claims.check(twin)] == ["no action needed beside a run of eight"]


def test_a_routine_card_with_a_run_of_eight_says_worth_watching_not_settled(
    demo_reports: tuple[Report, ...],
) -> None:
    """Every routine card whose values ran eight on one side says the run is worth
    watching and never "no action needed" (teams' and members' cards included)."""
    seen = 0
    for report in demo_reports:
        twin = report.twin
        for section in twin["sections"]:
            by_block: dict[str, list[str]] = {}
            for s in section.get("sentences", []):
                paths = [f["path"] for f in s.get("figures", [])]
                if paths and "kpis[" in paths[0]:
                    by_block.setdefault(paths[0].split("]")[0], []).append(
                        s["id"] + ":" + s["text"]
                    )
            for texts in by_block.values():
                if any(t.startswith("kpi_run:") for t in texts):
                    seen += 1
                    assert not any("no action needed" in t for t in texts), texts
    assert seen > 0  # the demo has such cards


def test_a_rate_card_states_the_range_for_its_cases(demo_reports: tuple[Report, ...]) -> None:
    """The demo's win rate (deals won / deals engaged): a person's card states the range
    for the quarter's number of deals, worked out here from the twin's own p-bar
    figures, never a week's range of the whole scale; a planted rate outside it is
    caught."""
    twin = _twin_with(demo_reports, "kpi_rate_routine")
    sentence = _first(twin, "kpi_rate_routine")
    block = twin["kpis"][int(sentence["figures"][0]["path"].split("[")[1].split("]")[0])]
    period = block["limits"]["period"]
    assert period["of"] == "deals engaged"
    assert f"Over its {period['denominator']:,.0f} deals engaged" in sentence["text"]
    assert f"from {period['lower']:.1f}% to {period['upper']:.1f}%" in sentence["text"]
    assert "whole scale" not in sentence["text"]
    assert period["upper"] - period["lower"] < 60  # a week of 2-10 deals spans far more
    assert period["lower"] <= block["level"]["value"] <= period["upper"]
    assert claims.check(twin) == []
    block["level"]["value"] = period["upper"] + 5
    assert {f.claim for f in claims.check(twin)} == {"a rate within a range its period leaves"}
