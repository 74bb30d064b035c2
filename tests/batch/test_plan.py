"""Batch planning without kernels: requests, parameters, inputs keys, refusals before writing."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpinb.batch.planning import plan
from kpinb.cli.main import main
from kpinb.errors import BatchError, UsageError
from kpinb.periods import parse_period
from kpinb.workspace import Workspace, load_workspace
from tests.support.stand_ins import rename_ids

Q3 = parse_period("2026-Q3")


def test_default_plan_is_each_scope_in_its_primary_view(ws: Workspace) -> None:
    requests = plan.plan_requests(ws, Q3)
    by_scope = {
        s: [(r.scope_id, r.view) for r in requests if r.scope == s]
        for s in ("employee", "team", "department")
    }
    # people.csv: E001..E012, all started before 2026-09-30; teams T01, T04
    assert by_scope["employee"] == [(f"E{i:03d}", "employee") for i in range(1, 13)]
    assert by_scope["team"] == [("T01", "manager"), ("T04", "manager")]
    assert by_scope["department"] == [("Sales", "executive"), ("Support", "executive")]
    assert all(r.primary for r in requests)


def test_people_who_start_after_the_period_get_no_report(ws: Workspace) -> None:
    # E010 starts on 2026-08-31: inside Q3, outside Q2
    ids = {r.scope_id for r in plan.plan_requests(ws, parse_period("2026-Q2"))}
    assert "E010" not in ids and "E009" in ids


def test_views_pick_every_scope_that_offers_them(ws: Workspace) -> None:
    requests = plan.plan_requests(ws, Q3, views=("manager",), only=["E002", "T01", "Sales"])
    assert [(r.scope, r.scope_id, r.view, r.primary) for r in requests] == [
        ("employee", "E002", "manager", False),
        ("team", "T01", "manager", True),
    ]


def test_unknown_only_ids_are_refused_with_a_suggestion(ws: Workspace) -> None:
    with pytest.raises(UsageError, match=r"'E0013' \(did you mean [^)]*'E001'"):
        plan.plan_requests(ws, Q3, only=["E001", "E0013"])


def test_batch_views_match_the_facade() -> None:
    from kpinb.scopes import SCOPE_VIEWS as VIEWS

    assert {k: tuple(v) for k, v in VIEWS.items()} == plan.SCOPE_VIEWS


@pytest.mark.parametrize("scope", ["employee", "team", "department"])
def test_each_notebook_declares_exactly_what_the_batch_sends(scope: str) -> None:
    import papermill

    notebook = plan.NOTEBOOKS_DIR / plan.NOTEBOOKS[scope]
    declared = papermill.inspect_notebook(str(notebook))
    sent = plan.job_parameters(scope, "X1", "2026-Q3", plan.PRIMARY_VIEW[scope], "/ws")
    assert set(declared) == set(sent) == plan.expected_parameters(scope)
    assert all(isinstance(v, str) for v in sent.values())
    assert declared["workspace"]["default"] == '"../tests/data/workspace"'
    plan.check_parameters(notebook, set(sent))  # does not raise


def test_parameter_drift_stops_the_run(tmp_path: Path) -> None:
    notebook = tmp_path / "employee_report.ipynb"
    shutil.copy(plan.NOTEBOOKS_DIR / "employee_report.ipynb", notebook)
    text = notebook.read_text().replace('view: str = \\"employee\\"', 'show: str = \\"employee\\"')
    notebook.write_text(text)
    with pytest.raises(BatchError, match=r"declares \['employee_id', 'period', 'show', "):
        plan.check_parameters(notebook, plan.expected_parameters("employee"))


def _keys(ws: Workspace) -> dict[tuple[str, str], str]:
    jobs = plan.make_jobs(ws, Q3, plan.plan_requests(ws, Q3), notebooks_dir=plan.NOTEBOOKS_DIR)
    return {(j.files.scope, j.files.scope_id): j.key for j in jobs}


def test_a_change_to_one_person_rekeys_only_the_reports_that_read_it(ws: Workspace) -> None:
    before = _keys(ws)
    obs = ws.observations.copy()
    row = obs.index[obs["employee_id"].astype(str) == "E003"][0]
    obs.loc[row, "value"] = obs.loc[row, "value"] + 1
    after = _keys(replace(ws, observations=obs))
    changed = {k for k in before if before[k] != after[k]}
    # E003 is in T01 (Sales) and reports to E001: their reports read E003's rows
    assert changed == {
        ("employee", "E003"),
        ("employee", "E001"),
        ("team", "T01"),
        ("department", "Sales"),
    }


def test_keys_are_stable_for_unchanged_inputs(ws: Workspace, workspace_dir: Path) -> None:
    assert _keys(ws) == _keys(load_workspace(workspace_dir))


def test_an_invalid_workspace_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workspace_dir: Path
) -> None:
    broken = tmp_path / "ws"
    shutil.copytree(workspace_dir, broken)
    (broken / "people.csv").write_text("employee_id,name\nE001,Ana\n")
    out = tmp_path / "reports"
    assert main(["run", str(broken), "--period", "2026-Q3", "--out", str(out)]) == 2
    assert not out.exists()
    assert "nothing was written" in capsys.readouterr().err


def test_ids_that_would_share_a_file_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workspace_dir: Path
) -> None:
    clash = tmp_path / "ws"
    shutil.copytree(workspace_dir, clash)
    rename_ids(clash, {"E012": "e001"})
    out = tmp_path / "reports"
    assert main(["run", str(clash), "--period", "2026-Q3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'E001'" in err and "'e001'" in err and "employees/E001.html" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-Q5"], "not a quarter"),
        (["--period", "2026-Q3", "--views", "boss"], "unknown view"),
        (["--period", "2026-Q3", "--workers", "0"], "--workers must be 1 or more"),
        (["--period", "2026-Q3", "--only", "nobody"], "not in the workspace"),
    ],
)
def test_bad_usage_exits_2_and_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
    workspace_dir: Path,
) -> None:
    out = tmp_path / "reports"
    assert main(["run", str(workspace_dir), "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_clash_outside_only_and_views_still_stops_the_run(
    tmp_path: Path, workspace_dir: Path
) -> None:
    # E012 renamed e001: --only E001 alone must not write employees/E001.html, which a
    # later --only e001 run would overwrite on a case-insensitive disk (macOS, Windows)
    clash = tmp_path / "ws"
    shutil.copytree(workspace_dir, clash)
    rename_ids(clash, {"E012": "e001"})
    ws = load_workspace(clash)
    requests = plan.plan_requests(ws, Q3, only=["E001"])
    with pytest.raises(BatchError, match=r"'E001'.*'e001'"):
        plan.make_jobs(ws, Q3, requests, notebooks_dir=plan.NOTEBOOKS_DIR)
    # an employee whose id is E003.manager clashes with E003's manager view, asked or not
    rename_ids(clash, {"E012": "e001", "E005": "E003.manager"})
    ws = load_workspace(clash)
    requests = plan.plan_requests(ws, Q3, only=["E003"])
    with pytest.raises(BatchError, match=r"employees/E003\.manager\.html"):
        plan.make_jobs(ws, Q3, requests, notebooks_dir=plan.NOTEBOOKS_DIR)


def test_a_package_upgrade_changes_the_inputs_key(monkeypatch):
    """An Altair or nbconvert upgrade can change a page, so it must not be skipped."""
    from kpinb.batch.planning import inputs_keys as inputs

    before = inputs.code_fingerprint()
    real = inputs.package_versions
    monkeypatch.setattr(inputs, "package_versions", lambda: {**real(), "altair": "99.0.0"})
    assert inputs.code_fingerprint() != before
    monkeypatch.setattr(inputs, "package_versions", real)
    assert inputs.code_fingerprint() == before


def _carrying_over(ws: Workspace, kpi: str, people: pd.Index, seed: int) -> pd.DataFrame:
    """``ws``'s observations with ``kpi``'s weeks of ``people`` made AR(1) with
    phi = 0.6 (each week carries 60 % of the week before), whole numbers around 50."""
    rng = np.random.default_rng(seed)
    obs = ws.observations.sort_values(["employee_id", "kpi_id", "period"]).reset_index(drop=True)
    for person in people:
        rows = obs.index[(obs["kpi_id"] == kpi) & (obs["employee_id"] == person)]
        level, values = 0.0, []
        for step in rng.normal(0, 1, len(rows)):
            level = 0.6 * level + step
            values.append(round(50 + 4 * level))
        obs.loc[rows, "value"] = values
    return obs


def test_a_change_that_moves_another_person_s_figures_rekeys_their_report(
    ws: Workspace,
) -> None:
    """A KPI's carry-over is pooled over all its series (their median r1): one person's
    new weeks move the usual range of someone who is neither their manager nor a direct
    report, whose workspace rows did not change. Their report's key changes (a rerun
    would else keep the old range); the report of someone without the KPI keeps its key."""
    from kpinb.analytics import analyse
    from kpinb.report import build_report

    kpi = str(ws.observations["kpi_id"].value_counts().index[0])
    holders = pd.Index(ws.observations.loc[ws.observations["kpi_id"] == kpi, "employee_id"])
    holders = holders.astype(str).unique()
    before = replace(ws, observations=_carrying_over(ws, kpi, holders, seed=5))
    changed = before.observations.copy()
    manager = ws.people.set_index("employee_id")["manager_id"].astype(str)
    mover = holders[-1]
    rows = (changed["employee_id"] == mover) & (changed["kpi_id"] == kpi)
    changed.loc[rows, "value"] = np.round(50 + 4 * np.random.default_rng(6).normal(size=rows.sum()))
    after = replace(ws, observations=changed)
    other = next(p for p in holders if mover not in (p, manager[p]) and manager[mover] != p)
    ranges = []
    for w in (before, after):
        s = analyse(w, Q3).summary
        ranges.append(s.loc[(s["scope_id"] == other) & (s["kpi_id"] == kpi), "upper"].item())
    assert ranges[0] != ranges[1]  # the pooled carry-over moved the other's usual range
    keys = _keys(before), _keys(after)
    assert keys[0][("employee", other)] != keys[1][("employee", other)]
    twins = [build_report(w, "employee", other, Q3.label, "employee").twin for w in (before, after)]
    assert twins[0] != twins[1]  # the rebuild the new key asks for is needed
    without = set(ws.people["employee_id"].astype(str)) - set(holders)
    assert without and all(keys[0][("employee", p)] == keys[1][("employee", p)] for p in without)


def test_analysis_digests_follow_each_id_s_own_rows(ws: Workspace) -> None:
    """One point of one person changed: their digest changes, nobody else's; a digest
    asked for only some ids is the same as in the digests of everyone."""
    from kpinb.analytics import analyse
    from kpinb.batch.planning.inputs_keys import analysis_digests

    analysis = analyse(ws, Q3)
    summary = analysis.summary
    wanted = set(zip(summary["scope"].astype(str), summary["scope_id"].astype(str), strict=True))
    before = analysis_digests(analysis, wanted)
    points = analysis.points.copy()
    row = points.index[points["scope_id"].astype(str) == "E003"][0]
    points.loc[row, "value"] = points.loc[row, "value"] + 1
    after = analysis_digests(replace(analysis, points=points), wanted)
    assert {k for k in wanted if before[k] != after[k]} == {("employee", "E003")}
    few = {("employee", "E003"), ("team", "T01")}
    assert analysis_digests(analysis, few) == {k: before[k] for k in few}


def test_a_run_of_a_few_reports_keys_them_as_the_whole_run_does(workspace_dir: Path) -> None:
    """``--only``: the analysis keeps only the rows the named reports read and only
    their people's rows are hashed; their keys are the keys a whole run gives them (a
    whole run after it finds them current)."""
    from kpinb.analytics import analyse
    from kpinb.batch.planning.inputs_keys import related_rows
    from kpinb.report import period_analysis

    whole = _keys(load_workspace(workspace_dir))
    few = load_workspace(workspace_dir)
    requests = plan.plan_requests(few, Q3, only=["E003", "Support"])
    period_analysis(few, Q3, given=analyse(few, Q3, keep=related_rows(few, requests)))
    jobs = plan.make_jobs(few, Q3, requests, notebooks_dir=plan.NOTEBOOKS_DIR)
    assert {(j.files.scope, j.files.scope_id) for j in jobs} == {
        ("employee", "E003"),
        ("department", "Support"),
    }
    people = related_rows(few, requests)[0]
    mine = few.observations["employee_id"].isin(people)
    assert 2 * mine.sum() < len(few.observations)  # only their rows are hashed
    assert all(j.key == whole[j.files.scope, j.files.scope_id] for j in jobs)
