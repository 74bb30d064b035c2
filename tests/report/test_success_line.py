"""The workspace's success line (``goals.success`` in kpinb.toml) reaches the reports."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kpinb.calibration.pack import build_pack
from kpinb.report import build_report, charts
from kpinb.workspace import load_workspace

# E006's meetings booked in 2026-Q3: current 136/13 = 10.4615, baseline 9.45, target 11:
# (10.4615 - 9.45) / (11 - 9.45) = 0.6526, shown as 0.65: a success from 0.6, not from 0.7
_ROW = "employee,E006,meetings_booked,2026-Q3,11,"


def _workspace(src: Path, dst: Path, toml: str | None) -> Path:
    shutil.copytree(src, dst)
    targets = dst / "targets.csv"
    text = targets.read_text(encoding="utf-8")
    assert text.count(_ROW + "\n") == 1
    targets.write_text(text.replace(_ROW + "\n", _ROW + "9.45\n"), encoding="utf-8")
    if toml is not None:
        (dst / "kpinb.toml").write_text(toml, encoding="utf-8")
    return dst


def _goal(twin: dict, kpi: str) -> dict:
    [block] = [b for b in twin["kpis"] if b["kpi_id"] == kpi]
    return block["goal"]


@pytest.fixture(autouse=True)
def _no_svg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "to_svg", lambda chart: '<svg class="stub"></svg>')


def test_a_success_line_of_0_6_words_a_0_65_goal_as_a_success(
    workspace_dir: Path, tmp_path: Path
) -> None:
    root = _workspace(workspace_dir, tmp_path / "ws", "[goals]\nsuccess = 0.6\n")
    ws = load_workspace(root)
    report = build_report(ws, "employee", "E006", "2026-Q3")
    assert report.twin["scoring"] == {"low": 0.0, "high": 1.0, "success": 0.6}
    goal = _goal(report.twin, "meetings_booked")
    assert (goal["score"], goal["success"], goal["projected_success"]) == (0.65, True, True)
    text = re.sub(r"<[^>]+>", "", report.html)
    assert "a score of 0.6 or more is a success" in text
    assert "0.6 or more counts as a success" in text  # the note on how to read it
    assert (
        "Pipeline meetings booked landed at 10.46 meetings on its goal, from 9.45 meetings "
        "toward 11.00 meetings: a score of 0.65, a success." in text
    )
    assert "(a success from 0.6)" in text  # the talking point on a goal at risk
    assert "0.7" not in re.sub(r"\d0\.7|0\.7\d", "", text)  # the default line is gone
    team = build_report(ws, "team", "T01", "2026-Q3", "manager")
    assert team.twin["scoring"]["success"] == 0.6
    assert "At 0.6 or more" in re.sub(r"<[^>]+>", "", team.html)
    pack = build_pack(ws, "2026-Q3")
    row = pack.people.set_index("employee_id").loc["E006"]
    assert row["goals_at_success"] == 2  # win rate (1.0) and meetings booked (0.65)
    pages = pack.pages().values()
    assert any("goals at 0.6+ (projected)" in page for page in pages)
    assert not any("0.7+" in page for page in pages)


def test_by_default_the_same_goal_is_below_the_0_7_line(
    workspace_dir: Path, tmp_path: Path
) -> None:
    ws = load_workspace(_workspace(workspace_dir, tmp_path / "ws", None))
    report = build_report(ws, "employee", "E006", "2026-Q3")
    assert report.twin["scoring"] == {"low": 0.0, "high": 1.0, "success": 0.7}
    goal = _goal(report.twin, "meetings_booked")
    assert (goal["score"], goal["success"]) == (0.65, False)
    assert "a score of 0.7 or more is a success" in re.sub(r"<[^>]+>", "", report.html)


def test_a_line_of_0_65_is_said_with_its_two_decimals(workspace_dir: Path, tmp_path: Path) -> None:
    root = _workspace(workspace_dir, tmp_path / "ws", "[goals]\nsuccess = 0.65\n")
    report = build_report(load_workspace(root), "employee", "E006", "2026-Q3")
    assert report.twin["scoring"]["success"] == 0.65
    assert _goal(report.twin, "meetings_booked")["success"] is True
    assert "a score of 0.65 or more is a success" in re.sub(r"<[^>]+>", "", report.html)


def test_the_goal_chart_draws_the_line_where_it_is_set() -> None:
    import pandas as pd

    frame = pd.DataFrame({"label": ["a"], "score": [0.65], "projected": [0.7]})
    spec = charts.goal_chart(frame, title="t", description="d", success=0.6).to_json()
    assert '"success": 0.6' in spec and '"success": 0.7' not in spec
