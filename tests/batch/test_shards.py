"""A full run's kernels hold one shard of the organisation at a time, and build exactly
the reports the whole workspace would give."""

from __future__ import annotations

import asyncio
import pickle
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from kpinb.batch import orchestrate as batch
from kpinb.batch.executors.build import ReportBuilder
from kpinb.batch.planning import plan, shards
from kpinb.batch.planning.inputs_keys import related_rows
from kpinb.batch.records import ReportFiles, ReportJob
from kpinb.periods import parse_period
from kpinb.report import build_report
from kpinb.scopes import ALL_VIEWS
from kpinb.workspace import Workspace, adopt_workspace, load_workspace

PERIOD = "2026-Q3"


def _jobs(ws: Workspace, only: list[str] | None = None) -> list[ReportJob]:
    """The run's jobs, as ``kpinb run`` plans them (every view; ``only`` as --only)."""
    per = parse_period(PERIOD)
    requests = plan.plan_requests(ws, per, views=ALL_VIEWS, only=only)
    return plan.make_jobs(ws, per, requests, notebooks_dir=plan.NOTEBOOKS_DIR)


def _job(scope: str, scope_id: str, view: str) -> ReportJob:
    return ReportJob(ReportFiles(scope, scope_id, view, scope_id), scope_id, Path("x"), {})


@pytest.fixture(scope="module")
def whole(demo_ws: Workspace) -> Workspace:
    """A fresh load of the demo (its own derived results): 60 people, three departments of
    24 (Sales), 15 (Support) and 21 (Product)."""
    assert demo_ws.root is not None
    return load_workspace(demo_ws.root)


def test_shards_group_whole_departments_and_split_a_big_one_by_team(whole: Workspace) -> None:
    jobs = _jobs(whole)
    found = shards.shard_jobs(whole, jobs, bound=20)
    # every job in exactly one shard, in the plan's order within it
    placed = [j.files for s in found for j in s.jobs]
    assert sorted(placed, key=str) == sorted((j.files for j in jobs), key=str)
    order = {j.files: n for n, j in enumerate(jobs)}
    for shard in found:
        assert [order[j.files] for j in shard.jobs] == sorted(order[j.files] for j in shard.jobs)
    # Support (15 people) fits whole; Sales (24) and Product (21) do not: their teams are
    # shared out, and each department's own report (no person's rows) goes where it fits
    team_of = dict(zip(whole.people["employee_id"], whole.people["team_id"], strict=True))
    department_of = dict(zip(whole.teams["team_id"], whole.teams["department"], strict=True))

    def department(files: ReportFiles) -> str:
        if files.scope == "department":
            return files.scope_id
        team = files.scope_id if files.scope == "team" else team_of[files.scope_id]
        return department_of[team]

    support = [s for s in found if any(department(j.files) == "Support" for j in s.jobs)]
    assert len(support) == 1  # a department that fits stays whole
    for name, size in (("Sales", 24), ("Product", 21)):
        members = set(
            whole.people.loc[whole.people["team_id"].map(department_of) == name, "employee_id"]
        )
        assert len(members) == size
        holding = [s for s in found if any(department(j.files) == name for j in s.jobs)]
        assert len(holding) > 1 and all(not members <= s.people for s in holding)
        assert set().union(*(s.people for s in holding)) >= members
    for shard in found:  # each shard's rows: the related rows of every one of its jobs
        people, teams, departments = related_rows(whole, [j.files for j in shard.jobs])
        assert (shard.people, shard.teams, shard.departments) == (people, teams, departments)
        assert len(shard.people) < len(whole.people)
    # nothing to split: one shard, the whole
    [one] = shards.shard_jobs(whole, jobs, bound=len(whole.people))
    assert len(one.jobs) == len(jobs) and len(one.people) == len(whole.people)


def test_a_department_report_needs_no_person_s_rows(whole: Workspace) -> None:
    """A department's report reads its teams' and its own figures: built from a workspace
    holding no observation at all, only the analysis rows of its teams and itself, it is
    the report the whole workspace gives; its inputs key still changes with a member's
    data (they make its figures)."""
    from kpinb.batch.planning.inputs_keys import inputs_keys
    from kpinb.report import narrowed_workspace

    per = parse_period(PERIOD)
    for name in ("Sales", "Support", "Product"):
        job = _job("department", name, "executive")
        people, teams, departments = related_rows(whole, [job.files])
        assert people == set() and departments == {name}
        assert teams == set(whole.teams.loc[whole.teams["department"] == name, "team_id"])
        part = narrowed_workspace(whole, per, people, teams, departments)
        assert part.observations.empty
        held = part.derived[("analysis", PERIOD)].summary
        assert set(held["scope"]) == {"team", "department"}
        mine = build_report(part, "department", name, PERIOD, "executive")
        theirs = build_report(whole, "department", name, PERIOD, "executive")
        assert mine.twin == theirs.twin and mine.html == theirs.html, name
    sales = whole.teams.loc[whole.teams["department"] == "Sales", "team_id"]
    member = whole.people.loc[whole.people["team_id"].isin(sales), "employee_id"].iloc[0]
    changed = whole.observations.copy()
    at = changed.index[changed["employee_id"].astype(str) == str(member)][0]
    changed.loc[at, "value"] = changed.loc[at, "value"] + 1
    [job] = [
        j for j in _jobs(whole) if (j.files.scope, j.files.scope_id) == ("department", "Sales")
    ]
    before = inputs_keys(whole, per, [job])
    after = inputs_keys(replace(whole, observations=changed), per, [job])
    assert before[job.files] != after[job.files]


def test_each_shard_pickle_holds_its_rows_and_builds_the_whole_s_reports(
    whole: Workspace, tmp_path: Path
) -> None:
    per = parse_period(PERIOD)
    jobs = _jobs(whole)
    builder = ReportBuilder.for_jobs(whole, per, jobs, bound=20)
    assert len(builder.parts) > 3
    paths = builder.write_workspaces(tmp_path)
    assert all(p is not None and p.stat().st_mode & 0o077 == 0 for p in paths)  # private
    found = shards.shard_jobs(whole, jobs, bound=20)
    checked = set()
    for shard, path in zip(found, paths, strict=True):
        assert path is not None
        part: Workspace = pickle.loads(path.read_bytes())
        # only its people's observations and analysis rows, but all of them
        held = set(part.observations["employee_id"].astype(str))
        assert held == set(
            whole.observations.loc[
                whole.observations["employee_id"].astype(str).isin(shard.people), "employee_id"
            ].astype(str)
        )
        assert len(held) < len(set(whole.observations["employee_id"]))
        analysis = part.derived[("analysis", PERIOD)]
        employees = analysis.summary.loc[analysis.summary["scope"] == "employee", "scope_id"]
        assert set(employees.astype(str)) <= shard.people
        # reports of every scope and view built from the shard equal the whole's
        views = {(j.files.scope, j.files.view) for j in shard.jobs}
        picked = [j for j in shard.jobs if (j.files.scope, j.files.view) not in checked]
        picked += [j for j in shard.jobs if j.files.scope == "employee"][:2]
        checked |= views
        for job in picked:
            f = job.files
            mine = build_report(part, f.scope, f.scope_id, PERIOD, f.view)
            theirs = build_report(whole, f.scope, f.scope_id, PERIOD, f.view)
            assert mine.twin == theirs.twin, f
            assert mine.html == theirs.html, f
    assert checked >= {
        ("employee", "employee"),
        ("employee", "manager"),
        ("team", "manager"),
        ("team", "executive"),
        ("department", "executive"),
    }


def test_a_run_of_a_few_keeps_one_narrowed_part(whole: Workspace) -> None:
    per = parse_period(PERIOD)
    builder = ReportBuilder.for_jobs(whole, per, _jobs(whole, only=["E002", "E003"]), bound=20)
    [part] = builder.parts
    assert part.rows is not None and len(part.rows[0]) < len(whole.people)
    big = ReportBuilder.for_jobs(whole, per, _jobs(whole), bound=len(whole.people))
    [everything] = big.parts
    assert everything.rows is None  # one shard holding everyone: the whole workspace


def test_jobs_run_shard_by_shard(whole: Workspace) -> None:
    per = parse_period(PERIOD)
    jobs = _jobs(whole)
    builder = ReportBuilder.for_jobs(whole, per, jobs, bound=20)
    order = [builder.part_of(j) for j in builder.ordered(jobs)]
    assert order == sorted(order) and len(set(order)) == len(builder.parts)


def _notebook(*sources: str):  # type: ignore[no-untyped-def]
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


@pytest.mark.slow
def test_a_kernel_switching_shards_holds_the_new_shard_only(
    tmp_path: Path, workspace_dir: Path
) -> None:
    from kpinb.batch.executors.kernels import WarmKernel

    folder = tmp_path / "ws"
    shutil.copytree(workspace_dir, folder)
    ws = load_workspace(folder)
    builder = ReportBuilder.for_jobs(ws, parse_period(PERIOD), _jobs(ws), bound=6)
    paths = builder.write_workspaces(tmp_path)
    assert len(paths) == 2  # Sales and Support, six people each
    held = [
        set(pickle.loads(p.read_bytes()).observations["employee_id"].astype(str))
        for p in paths
        if p is not None
    ]
    assert held[0].isdisjoint(held[1])
    look = (
        "import kpinb, weakref\n"
        "from kpinb.workspace import load_workspace\n"
        f"ws = load_workspace({str(folder)!r}, cache=True)\n"
        "gone = getattr(kpinb, '_probe', lambda: None)() is None\n"
        "kpinb._probe = weakref.ref(ws)\n"
        "print(sorted(set(ws.observations['employee_id'].astype(str))), gone)"
    )

    async def scenario() -> list[str]:
        kernel = WarmKernel(cwd=tmp_path, restart_every=100)
        await kernel.start()
        try:
            seen = []
            for path in paths:
                kernel.prime = builder.prime_code(folder, path)
                run = await kernel.run(_notebook(look))
                assert run.error is None, run.error
                seen.append(run.nb.cells[0].outputs[0]["text"].strip())
            return seen
        finally:
            await kernel.shutdown()

    first, second = asyncio.run(scenario())
    assert first == f"{sorted(held[0])} True"
    # the new shard's people only, and the old shard's workspace really freed
    assert second == f"{sorted(held[1])} True"
    # the adopted parts are what the parent wrote
    assert set(adopt_workspace(folder, paths[1]).observations["employee_id"]) == held[1]  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_full_run_in_shards_publishes_what_the_whole_workspace_gives(
    tmp_path: Path, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One kernel builds every report of the test workspace, switching from one
    department's shard to the other's; every page and twin equals a run on the whole."""

    def run(out: Path) -> dict[str, bytes]:
        result = batch.run_batch(
            workspace_dir, PERIOD, out=out, workers=1, progress=False, force=True, views=ALL_VIEWS
        )
        assert {o.status for o in result.outcomes} == {"written"}
        return {
            str(p.relative_to(out)): p.read_bytes()
            for folder in ("employees", "teams", "departments")
            for p in sorted((out / PERIOD / folder).glob("*"))
            if p.suffix in (".html", ".json")
        }

    written: list[int] = []
    write = ReportBuilder.write_workspaces

    def counted(self: ReportBuilder, folder: Path) -> list[Path | None]:
        paths = write(self, folder)
        written.append(sum(p is not None for p in paths))
        return paths

    monkeypatch.setattr(ReportBuilder, "write_workspaces", counted)
    pages = run(tmp_path / "whole")
    monkeypatch.setattr(shards, "SHARD_PEOPLE", 6)
    sharded = run(tmp_path / "sharded")
    assert written == [1, 2]  # the whole, then one shard per department
    assert len(pages) > 20 and {Path(p).parts[1] for p in pages} >= {
        "employees",
        "teams",
        "departments",
    }
    assert sharded == pages
