"""The batch on a Dask cluster (``kpinb run --scheduler``): a LocalCluster of two worker
processes, each with its own warm kernels.

Slow: starts a cluster and kernels. The reports must be byte-identical to the local
runner's; a worker killed mid-run must cost a retry, not a report; a failing report
must fail alone, exactly as in a local run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import distributed
import pytest

from kpinb.batch import run_batch
from kpinb.cli.main import main
from tests.support.stand_ins import write_stand_in_notebooks

pytestmark = pytest.mark.slow
PERIOD = "2026-Q3"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=50,
    ) as local:
        yield local.scheduler_address


def worker_pids(address: str) -> set[int]:
    """The worker processes' ids, once both workers are up (a nanny restarts a lost one)."""
    with distributed.Client(address, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=120)
        return set(client.run(os.getpid).values())


def report_files(period_dir: Path) -> dict[str, bytes]:
    """Every file a reader sees (pages, twins, index) and run.json's report list, with
    the run's own time stamps and durations left out."""
    files = {}
    for path in sorted(period_dir.rglob("*")):
        rel = path.relative_to(period_dir)
        if not path.is_file() or any(p.startswith(".") for p in rel.parts):
            continue
        data = path.read_bytes()
        if rel.name == "run.json":
            reports = json.loads(data)["reports"]
            data = json.dumps([{k: v for k, v in r.items() if k != "seconds"} for r in reports])
            data = data.encode()
        elif rel.name == "index.html" or rel.parts[0] == "managers":  # indexes: dated
            data = re.sub(rb"Updated \d{4}-\d\d-\d\d \d\d:\d\d", b"Updated", data)
        files[str(rel)] = data
    return files


def test_reports_on_the_cluster_are_identical_to_the_local_runners(
    cluster: str, tmp_path: Path, workspace_dir: Path
) -> None:
    local = run_batch(workspace_dir, PERIOD, out=tmp_path / "local", workers=2, progress=False)
    dask = run_batch(
        workspace_dir, PERIOD, out=tmp_path / "dask", scheduler=cluster, progress=False
    )
    assert local.exit_code == dask.exit_code == 0
    assert len(dask.by_status("written")) == len(local.outcomes) > 10
    mine = report_files(tmp_path / "local" / PERIOD)
    theirs = report_files(tmp_path / "dask" / PERIOD)
    assert sorted(mine) == sorted(theirs)
    assert [name for name in mine if mine[name] != theirs[name]] == []
    manifest = json.loads(dask.manifest.read_text(encoding="utf-8"))
    assert manifest["workers"] == 2  # the cluster's two single-threaded workers
    rerun = run_batch(
        workspace_dir, PERIOD, out=tmp_path / "dask", scheduler=cluster, progress=False
    )
    assert len(rerun.by_status("unchanged")) == len(local.outcomes)  # nothing rebuilt


def test_a_run_in_shards_on_the_cluster_gives_the_whole_workspace_s_reports(
    cluster: str, tmp_path: Path, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each department's shard is scattered once and taken over by the workers' kernels;
    the reports are the local run's from the whole workspace, byte for byte."""
    from kpinb.batch.executors.build import ReportBuilder
    from kpinb.batch.planning import shards

    local = run_batch(workspace_dir, PERIOD, out=tmp_path / "local", workers=1, progress=False)
    written: list[int] = []
    write = ReportBuilder.write_workspaces

    def counted(self: ReportBuilder, folder: Path) -> list[Path | None]:
        paths = write(self, folder)
        written.append(sum(p is not None for p in paths))
        return paths

    monkeypatch.setattr(ReportBuilder, "write_workspaces", counted)
    monkeypatch.setattr(shards, "SHARD_PEOPLE", 6)
    dask = run_batch(
        workspace_dir, PERIOD, out=tmp_path / "dask", scheduler=cluster, progress=False
    )
    assert written == [2]  # Sales and Support, one shard each
    assert local.exit_code == dask.exit_code == 0
    assert len(dask.by_status("written")) == len(local.outcomes) > 10
    mine = report_files(tmp_path / "local" / PERIOD)
    theirs = report_files(tmp_path / "dask" / PERIOD)
    assert sorted(mine) == sorted(theirs)
    assert [name for name in mine if mine[name] != theirs[name]] == []


def test_a_worker_killed_mid_run_costs_a_retry_not_a_report(
    cluster: str, tmp_path: Path, workspace_dir: Path
) -> None:
    marker = tmp_path / "kill-once"
    marker.touch()
    # the kernel kills its Dask worker (its parent process) while building E003, once
    body = (
        f"import os, pathlib\n_m = pathlib.Path({str(marker)!r})\n"
        "if sid == 'E003' and _m.exists():\n    _m.unlink()\n    os.kill(os.getppid(), 9)\n"
        "    import time; time.sleep(30)\n"
    )
    notebooks = write_stand_in_notebooks(tmp_path / "nb", body=body)
    before = worker_pids(cluster)
    result = run_batch(
        workspace_dir,
        PERIOD,
        out=tmp_path / "out",
        scheduler=cluster,
        notebooks_dir=notebooks,
        views=["employee"],
        progress=False,
    )
    assert not marker.exists()  # the worker was killed
    assert result.exit_code == 0 and not result.failed
    pages = sorted(p.stem for p in (tmp_path / "out" / PERIOD / "employees").glob("*.html"))
    assert pages == sorted(o.job.files.scope_id for o in result.outcomes)
    assert "E003" in pages
    after = worker_pids(cluster)
    assert len(before - after) == 1  # one worker was replaced by its nanny


def test_a_failing_report_fails_alone_as_in_a_local_run(
    cluster: str, tmp_path: Path, workspace_dir: Path
) -> None:
    body = "if sid == 'E002':\n    raise ValueError('planted for E002')\n"
    notebooks = write_stand_in_notebooks(tmp_path / "nb", body=body)
    results = {
        where: run_batch(
            workspace_dir,
            PERIOD,
            out=tmp_path / where,
            notebooks_dir=notebooks,
            views=["employee"],
            progress=False,
            **options,
        )
        for where, options in (("local", {"workers": 2}), ("dask", {"scheduler": cluster}))
    }
    local, dask = results["local"], results["dask"]
    assert dask.exit_code == local.exit_code == 1
    assert [(o.job.files.scope_id, o.error_kind) for o in dask.failed] == [
        ("E002", "ValueError in cell 2")
    ]
    assert [(o.job.files.scope_id, o.error_kind) for o in local.failed] == [
        (o.job.files.scope_id, o.error_kind) for o in dask.failed
    ]
    assert dask.failed[0].failed_notebook is not None and dask.failed[0].failed_notebook.is_file()
    assert report_files(tmp_path / "local" / PERIOD) == report_files(tmp_path / "dask" / PERIOD)


def test_two_runs_sharing_a_cluster_keep_their_reports_and_kernels_apart(
    cluster: str, tmp_path: Path, workspace_dir: Path
) -> None:
    """Two periods of one workspace at once on the same workers: each run has its own
    tasks and its own kernels, so neither takes the other's results or stops its kernels."""
    from concurrent.futures import ThreadPoolExecutor

    def run(period: str) -> object:
        return run_batch(
            workspace_dir, period, out=tmp_path / period, scheduler=cluster, views=["employee"],
            progress=False,
        )  # fmt: skip

    with ThreadPoolExecutor(2) as pool:
        q3, q2 = pool.map(run, ["2026-Q3", "2026-Q2"])
    for result, period in ((q3, "2026-Q3"), (q2, "2026-Q2")):
        assert result.exit_code == 0  # type: ignore[attr-defined]
        for twin in (tmp_path / period / period / "employees").glob("*.json"):
            assert json.loads(twin.read_text(encoding="utf-8"))["period"] == period


def test_an_unreachable_scheduler_stops_the_run_before_anything_is_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    workspace_dir: Path,
) -> None:
    from kpinb.batch.executors import dask as dask_cluster

    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT_S", 2)
    out = tmp_path / "reports"
    nowhere = "tcp://127.0.0.1:9"
    code = main(
        ["run", str(workspace_dir), "--period", PERIOD, "--out", str(out), "--scheduler", nowhere]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert "nothing was written" in err and not out.exists()
    both = ["--scheduler", nowhere, "--workers", "2"]
    assert main(["run", str(workspace_dir), "--period", PERIOD, *both]) == 2
    assert "--workers is for a run on this machine" in capsys.readouterr().err


def test_workers_receive_only_the_files_the_reports_read(
    cluster: str, tmp_path: Path, workspace_dir: Path
) -> None:
    """A confidential spreadsheet and a backup beside the tables stay on this machine: each
    report's notebook lists the workspace folder it is given on its worker."""
    import shutil

    folder = tmp_path / "ws"
    shutil.copytree(workspace_dir, folder)
    (folder / "salaries-confidential.csv").write_text("employee_id,salary\nE001,99000\n")
    (folder / "backup-2026.zip").write_bytes(b"\0" * 100_000)
    seen = tmp_path / "seen"
    seen.mkdir()
    body = (
        "import os, pathlib\n"
        f"pathlib.Path({str(seen)!r}, sid).write_text('\\n'.join(sorted(os.listdir(workspace))))\n"
    )
    notebooks = write_stand_in_notebooks(tmp_path / "nb", body=body)
    result = run_batch(
        folder,
        PERIOD,
        out=tmp_path / "out",
        scheduler=cluster,
        notebooks_dir=notebooks,
        views=["employee"],
        progress=False,
    )
    assert result.exit_code == 0 and len(result.by_status("written")) > 5
    expected = [
        "feasibility.csv",
        "goals.csv",
        "kpinb.toml",
        "kpis.yaml",
        "observations.csv",
        "people.csv",
        "ratings.csv",
        "targets.csv",
        "teams.csv",
    ]  # what the loader reads (the committed workspace has no journal yet)
    listings = {path.name: path.read_text().split("\n") for path in seen.iterdir()}
    assert sorted(listings) == sorted(o.job.files.scope_id for o in result.outcomes)
    assert all(listing == expected for listing in listings.values())


def test_a_cluster_that_loses_every_worker_says_so_per_report_and_in_the_summary(
    tmp_path: Path, workspace_dir: Path
) -> None:
    """Every worker killed while E003 is built: the reports not yet built fail with one
    sentence naming the lost workers and the fix (not Dask's "cancelled ... already
    forgotten"), and the summary says it once for all of them."""
    from kpinb.batch.executors.dask import LOST_ERROR
    from kpinb.batch.records import CLUSTER_LOST
    from kpinb.cli.run import summary

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=50,
    ) as local:  # fmt: skip
        pids = tmp_path / "worker-pids"
        pids.write_text(" ".join(map(str, worker_pids(local.scheduler_address))))
        marker = tmp_path / "kill-once"
        marker.touch()
        body = (
            f"import os, pathlib\n_m = pathlib.Path({str(marker)!r})\n"
            "if sid == 'E003' and _m.exists():\n    _m.unlink()\n"
            f"    for _p in pathlib.Path({str(pids)!r}).read_text().split():\n"
            "        os.kill(int(_p), 9)\n"
            "    import time; time.sleep(30)\n"
        )
        notebooks = write_stand_in_notebooks(tmp_path / "nb", body=body)
        result = run_batch(
            workspace_dir,
            PERIOD,
            out=tmp_path / "out",
            scheduler=local.scheduler_address,
            notebooks_dir=notebooks,
            views=["employee"],
            progress=False,
        )
    assert not marker.exists()  # the workers were killed
    assert result.exit_code == 1
    lost = {o.job.files.scope_id for o in result.failed}
    assert "E003" in lost
    assert [(o.error, o.error_kind) for o in result.failed] == [(LOST_ERROR, CLUSTER_LOST)] * len(
        lost
    )
    assert (
        LOST_ERROR.startswith("the Dask cluster lost its workers before this report was built")
        and "check that the `dask worker` processes are running and run again" in LOST_ERROR
    )
    text = summary(result)
    assert (
        f"The Dask cluster lost its workers during the run: {len(lost)} report(s) were not "
        "built. Start workers with `dask worker ADDRESS`"
    ) in text
    assert "cancelled" not in text and "forgotten" not in text
