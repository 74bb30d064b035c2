"""Pages of people (and teams) without KPI values: they say plainly what is missing and
what to do, ask nothing about KPIs without data and show no bare heading."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from kpinb.report import build_report, charts, claims
from kpinb.workspace import Workspace
from tests.support import synthetic as syn

PERIOD = "2026-Q3"


@pytest.fixture(scope="module")
def ws() -> Workspace:
    """T1: E0 with k; E1 with k and j (j stops before the period); E2 with no value at
    all. T2: F0 with no value at all (a team without data)."""
    base = syn.workspace(
        {("E0", "k"): syn.noise(1), ("E1", "k"): syn.noise(2), ("E1", "j"): syn.noise(3, n=30)},
        {"k": syn.spec("k"), "j": syn.spec("j")},
    )
    obs = base.observations
    late = (obs["employee_id"] == "E1") & (obs["kpi_id"] == "j") & (obs["period"] >= "2026-06-29")
    extra = base.people.iloc[[0, 0]].assign(
        employee_id=["E2", "F0"], name=["Nadia Idle", "Frank Far"], team_id=["T1", "T2"]
    )
    people = pd.concat([base.people, extra], ignore_index=True)
    teams = pd.DataFrame({"team_id": ["T1", "T2"], "name": ["North", "South"], "department": "D1"})
    return Workspace.from_tables(base.kpis, people, teams, obs[~late].reset_index(drop=True))


@pytest.fixture(autouse=True)
def _stub_charts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "to_svg", lambda chart: "<svg></svg>")


def _ids(twin: dict[str, Any]) -> list[str]:
    return [s["id"] for sec in twin["sections"] for s in sec["sentences"]]


@pytest.mark.parametrize("view", ["employee", "manager"])
def test_a_person_without_values_is_told_what_is_missing(ws: Workspace, view: str) -> None:
    report = build_report(ws, "employee", "E2", PERIOD, view)
    twin = report.to_json()
    first = twin["sections"][0]
    assert first["id"] == "progress"
    assert first["sentences"][0]["text"].startswith(
        "No KPI values arrived for Nadia Idle in 2026-Q3. Check that the export includes"
    )
    ids = _ids(twin)
    assert not {"question_growth", "questions_intro", "routine_moved", "routine_no_note"} & set(ids)
    assert "questions_no_data" in ids
    # no bare headings: a section with nothing to say is left out
    assert "kpis" not in [sec["id"] for sec in twin["sections"]]
    assert "<h2>KPIs</h2>" not in report.to_html()
    assert "What moved?" not in report.to_html()
    assert claims.check(twin) == []


def test_a_kpi_without_values_gets_no_questions(ws: Workspace) -> None:
    twin = build_report(ws, "employee", "E1", PERIOD).to_json()
    j = next(i for i, b in enumerate(twin["kpis"]) if b["kpi_id"] == "j")
    assert twin["kpis"][j]["level"] is None
    assert all(q["kpi_id"] != "j" for q in twin["questions"])
    assert all(m["kpi_id"] != "j" for m in twin["routine"]["moved"])
    for sec in twin["sections"]:
        if sec["id"] in ("progress", "questions", "routine"):
            for s in sec["sentences"]:
                assert not any(f["path"].startswith(f"kpis[{j}]") for f in s["figures"]), s
    assert "headline_no_data" not in _ids(twin)
    assert claims.check(twin) == []


@pytest.mark.parametrize(("scope", "view"), [("team", "manager"), ("team", "executive")])
def test_a_team_without_values_is_told_what_is_missing(
    ws: Workspace, scope: str, view: str
) -> None:
    twin = build_report(ws, scope, "T2", PERIOD, view).to_json()
    first = twin["sections"][0]["sentences"]
    if view == "executive" and twin["not_shown"]:
        pytest.skip("a group under the minimum size says why nothing is shown instead")
    assert first[0]["text"].startswith("No KPI values arrived for South in 2026-Q3.")
    assert "members' values" in first[0]["text"]
    assert claims.check(twin) == []
