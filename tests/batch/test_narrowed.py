"""A kernel building a few reports holds only their part of the workspace and analysis,
and builds exactly the reports the whole would give."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from kpinb.analytics import analyse
from kpinb.batch.planning.inputs_keys import related_rows
from kpinb.batch.planning.plan import ReportFiles
from kpinb.batch.records import ReportJob
from kpinb.periods import parse_period
from kpinb.report import build_report, narrowed_workspace, period_analysis
from kpinb.workspace import Workspace, load_workspace

PERIOD = "2026-Q3"


def _job(scope: str, scope_id: str, view: str) -> ReportJob:
    return ReportJob(ReportFiles(scope, scope_id, view, scope_id), scope_id, Path("x"), {})


@pytest.fixture(scope="module")
def whole(demo_ws: Workspace) -> Workspace:
    """A fresh load of the demo (its own derived results)."""
    assert demo_ws.root is not None
    return load_workspace(demo_ws.root)


@pytest.mark.parametrize(
    "jobs",
    [
        [("employee", "E002", "employee"), ("employee", "E002", "manager")],
        [("employee", "E001", "manager")],  # a manager: their people's rows come along
        [("team", "T01", "manager"), ("team", "T03", "executive")],
        [("department", "Sales", "executive"), ("employee", "E040", "employee")],
    ],
)
def test_a_narrowed_workspace_builds_the_same_reports(
    whole: Workspace, jobs: list[tuple[str, str, str]]
) -> None:
    per = parse_period(PERIOD)
    wanted = [_job(*j) for j in jobs]
    people, teams, departments = related_rows(whole, [j.files for j in wanted])
    part = narrowed_workspace(whole, per, people, teams, departments)
    assert len(part.observations) < len(whole.observations)  # a real narrowing
    # a run of these reports alone (--only): the analysis keeps only their rows
    assert whole.root is not None
    alone = load_workspace(whole.root)
    period_analysis(alone, per, given=analyse(alone, per, keep=(people, teams, departments)))
    kept = narrowed_workspace(alone, per, people, teams, departments)
    # what a kernel receives: the pickle, taken over
    part, kept = pickle.loads(pickle.dumps(part)), pickle.loads(pickle.dumps(kept))
    for scope, scope_id, view in jobs:
        full = build_report(whole, scope, scope_id, PERIOD, view)
        for made in (part, kept):
            narrow = build_report(made, scope, scope_id, PERIOD, view)
            assert narrow.twin == full.twin, (scope, scope_id, view)
            assert narrow.html == full.html, (scope, scope_id, view)


def test_the_pickle_of_a_few_reports_is_a_fraction_of_the_whole(whole: Workspace) -> None:
    per = parse_period(PERIOD)
    period_analysis(whole, per)
    people, teams, departments = related_rows(whole, [_job("employee", "E002", "employee").files])
    part = narrowed_workspace(whole, per, people, teams, departments)
    small, big = len(pickle.dumps(part)), len(pickle.dumps(whole))
    assert small < big / 3, (small, big)


def test_a_run_of_a_few_reports_leaves_the_whole_analysis_to_the_next_run(
    workspace_dir: Path, tmp_path: Path
) -> None:
    """The loader keeps a workspace for the process (``cache=True``), with what was
    derived from it: the analysis a run of a few reports keeps only their rows of must
    not be what the process' next, whole run builds everyone's reports from."""
    from kpinb import batch
    from kpinb.batch.formats.twin import dumps_json
    from tests.support.stand_ins import FakeExecutor

    def run(out: Path, only: list[str] | None) -> None:
        result = batch.run_batch(
            workspace_dir, PERIOD, out=out, only=only, executor=FakeExecutor(), progress=False
        )
        assert result.exit_code == 0

    run(tmp_path / "few", ["E002"])
    run(tmp_path / "all", None)
    fresh = load_workspace(workspace_dir)
    for eid in ("E002", "E009"):  # one the first run built, one it did not read
        published = (tmp_path / "all" / PERIOD / "employees" / f"{eid}.json").read_text()
        assert published == dumps_json(build_report(fresh, "employee", eid, PERIOD).twin), eid
