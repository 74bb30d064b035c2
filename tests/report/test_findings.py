"""The findings table for BI tools: the analysis's figures, the reports' stories, the
reports' audiences, and the same table read back from every file format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kpinb
from kpinb.analytics import analyse
from kpinb.cli.main import main
from kpinb.errors import UsageError
from kpinb.journal.sheets import unneutralise
from kpinb.report import Report
from kpinb.report.findings_table import COLUMNS, findings, write_findings
from kpinb.workspace import Workspace
from tests.support import synthetic as syn

PERIOD = "2026-Q3"


@pytest.fixture(scope="module")
def table(demo_ws: Workspace) -> pd.DataFrame:
    return findings(demo_ws, PERIOD, view="manager")


def test_one_row_per_person_and_kpi_with_the_analysis_figures(
    demo_ws: Workspace, table: pd.DataFrame
) -> None:
    result = analyse(demo_ws, PERIOD)
    summary = result.summary[result.summary["scope"].isin(["employee", "team"])]
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == len(summary)
    assert not table.duplicated(["scope", "scope_id", "kpi_id"]).any()
    both = table.merge(
        summary.astype({"scope_id": str, "kpi_id": str}),
        on=["scope", "scope_id", "kpi_id"],
        suffixes=("", "_a"),
        validate="one_to_one",
    )
    assert len(both) == len(table)
    assert (both["status"] == both["status_a"]).all()
    pairs = {
        "level": "level_a",
        "change": "prev_change",
        "change_relative": "prev_change_rel",
        "previous_level": "prev_level",
        "usual_low": "lower",
        "usual_centre": "centre",
        "usual_high": "upper",
    }
    for mine, theirs in pairs.items():
        np.testing.assert_array_equal(both[mine].to_numpy(float), both[theirs].to_numpy(float))
    goals = result.goals.astype({"scope_id": str, "kpi_id": str})
    scored = table.merge(goals, on=["scope", "scope_id", "kpi_id"], suffixes=("", "_g"))
    assert len(scored) == len(goals[goals["scope"].isin(["employee", "team"])]) > 0
    np.testing.assert_array_equal(scored["goal_score"].to_numpy(float), scored["score"])
    assert scored["goal_success"].astype(bool).tolist() == scored["success"].tolist()
    # a person's name, team and department
    e002 = table[(table["scope"] == "employee") & (table["scope_id"] == "E002")].iloc[0]
    person = demo_ws.people.set_index("employee_id").loc["E002"]
    assert (e002["name"], e002["team_id"]) == (person["name"], person["team_id"])


def test_each_story_is_the_one_the_persons_report_tells(
    table: pd.DataFrame, demo_reports: tuple[Report, ...]
) -> None:
    told = {
        (r.scope, r.scope_id, b["kpi_id"]): b["story"]
        for r in demo_reports
        if (r.scope, r.view) in {("employee", "employee"), ("team", "manager")}
        for b in r.to_json()["kpis"]
    }
    mine = {
        (row.scope, row.scope_id, row.kpi_id): row.story for row in table.itertuples(index=False)
    }
    assert mine == told
    assert len(set(mine.values())) > 3  # the demo tells several stories


def test_the_executive_view_holds_the_executive_reports_groups_and_stories(
    demo_ws: Workspace, demo_reports: tuple[Report, ...]
) -> None:
    exec_table = findings(demo_ws, PERIOD)  # the default view
    assert set(exec_table["view"]) == {"executive"}
    assert set(exec_table["scope"]) == {"team", "department"}  # no person's row
    told = {
        (r.scope, r.scope_id, b["kpi_id"]): b["story"]
        for r in demo_reports
        if r.view == "executive"
        for b in r.to_json()["kpis"]
    }
    mine = {
        (row.scope, row.scope_id, row.kpi_id): row.story
        for row in exec_table.itertuples(index=False)
    }
    assert mine == told


def test_the_executive_view_leaves_out_a_group_under_the_minimum_size() -> None:
    """T1 has 6 people and T2 5 (department D1), T9 (department D2) 2: T9 and D2 are
    under the minimum group size of 5, so neither has a row, and neither has D1 (everyone
    less D1 would be D2); T1 and T2 have theirs."""
    people = (
        {f"A{i}": "T1" for i in range(6)}
        | {f"C{i}": "T2" for i in range(5)}
        | {"B0": "T9", "B1": "T9"}
    )
    series = {(p, "k"): syn.noise(i) for i, p in enumerate(people)}
    ws = syn.workspace(series, {"k": syn.spec("k")}, people)
    shown = findings(ws, PERIOD)
    assert sorted(zip(shown["scope"], shown["scope_id"], strict=True)) == [
        ("team", "T1"),
        ("team", "T2"),
    ]
    everyone = findings(ws, PERIOD, view="manager")  # managers read their own people
    assert {"B0", "B1", "T9"} <= set(everyone["scope_id"])


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_each_format_reads_back_equal(table: pd.DataFrame, tmp_path: Path, suffix: str) -> None:
    path = write_findings(table, tmp_path / f"findings{suffix}")
    if suffix == ".parquet":  # the text columns' dtype read back depends on pyarrow's version
        pd.testing.assert_frame_equal(pd.read_parquet(path), table, check_dtype=False)
        return
    if suffix == ".csv":
        back = pd.read_csv(path, encoding="utf-8-sig", dtype=object, keep_default_na=False)
        rows = back.to_numpy().tolist()
        header = back.columns.tolist()
    else:
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True)["findings"]
        header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header == list(table.columns)
    assert len(rows) == len(table)
    for column, values in zip(header, zip(*rows, strict=True), strict=True):
        _same(table[column], list(values), column)


def _same(expected: pd.Series, got: list[object], column: str) -> None:
    """A column read back from CSV (all text) or xlsx (typed cells) equals the frame's."""
    for want, have in zip(expected.tolist(), got, strict=True):
        if want is pd.NA or (isinstance(want, float) and np.isnan(want)):
            assert have in (None, ""), (column, have)
        elif isinstance(want, bool):
            assert have in (want, str(want)), (column, want, have)
        elif isinstance(want, int | float):
            assert float(have) == pytest.approx(want, rel=1e-12, abs=0), (column, want, have)  # type: ignore[arg-type]
        else:
            assert unneutralise(have) == want or (want == "" and have is None), (column, have)


def test_the_public_function_takes_a_folder_and_defaults_the_period(
    workspace_dir: Path,
) -> None:
    # the test workspace's last weekly values are dated 2026-09-28 (to 4 Oct): 2026-Q3
    table = kpinb.findings(workspace_dir)
    assert set(table["period"]) == {"2026-Q3"}
    with pytest.raises(UsageError, match="view 'boss'"):
        findings(workspace_dir, view="boss")


def test_the_command_writes_the_file_and_refuses_bad_usage(
    workspace_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "f.parquet"
    args = ["findings", str(workspace_dir), "--period", PERIOD, "--view", "manager"]
    assert main([*args, "--out", str(out)]) == 0
    assert f"42 finding(s), manager view, {PERIOD}" in capsys.readouterr().out
    # values exactly; the text columns' dtype read back depends on pyarrow's version
    pd.testing.assert_frame_equal(
        pd.read_parquet(out), findings(workspace_dir, PERIOD, view="manager"), check_dtype=False
    )
    before = out.read_bytes()
    assert main([*args[:2], "--period", "2027-Q1", "--out", str(out)]) == 2  # no values
    assert "The latest period with data is 2026-Q3" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "f.json")]) == 2
    assert "name a .parquet, .csv or .xlsx file" in capsys.readouterr().err
    assert out.read_bytes() == before  # what was written stays
