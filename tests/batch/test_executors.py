"""The batch behind its executor seam, on an executor that starts no kernel.

The fake executor builds each report in this process with kpinb.report and hands the
run a notebook holding the report's display output, as a kernel would have; everything
after that (conversion, the twin check, publishing, failures, skipping, the index and
run.json) is the batch's own code, the same for the local and the Dask executor.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from kpinb.batch import run_batch
from kpinb.batch.executors.build import ReportBuilder
from kpinb.batch.records import ReportJob
from kpinb.periods import parse_period
from kpinb.report import build_report
from kpinb.workspace import load_workspace
from tests.support.stand_ins import FakeExecutor

PERIOD = "2026-Q3"


def _employees(out: Path) -> dict[str, Path]:
    return {p.stem: p for p in (out / PERIOD / "employees").glob("*.html")}


def test_every_report_is_published_from_what_the_executor_built(
    tmp_path: Path, workspace_dir: Path
) -> None:
    fake = FakeExecutor()
    result = run_batch(workspace_dir, PERIOD, out=tmp_path, executor=fake, progress=False)
    assert result.exit_code == 0 and fake.closed
    ws = load_workspace(workspace_dir)
    expected = {o.job.files.scope_id for o in result.outcomes if o.job.files.scope == "employee"}
    assert set(_employees(tmp_path)) == expected and expected
    for employee_id, page in _employees(tmp_path).items():
        report = build_report(ws, "employee", employee_id, PERIOD, "employee")
        html = page.read_text(encoding="utf-8")
        assert report.html.split("<style>")[0] in html  # the report's own fragment
        twin = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
        assert twin == json.loads(json.dumps(report.to_json()))
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert {r["status"] for r in manifest["reports"]} == {"written"}
    assert len(manifest["reports"]) == len(result.outcomes) == len(fake.given)


def test_a_failed_report_is_named_kept_apart_and_rebuilt_alone_on_rerun(
    tmp_path: Path, workspace_dir: Path
) -> None:
    first = FakeExecutor(fail=["E002"])
    result = run_batch(workspace_dir, PERIOD, out=tmp_path, executor=first, progress=False)
    assert result.exit_code == 1
    assert [o.job.files.scope_id for o in result.failed] == ["E002"]
    assert result.failed[0].error_kind == "ValueError in cell 2"
    assert "E002" not in _employees(tmp_path) and "E001" in _employees(tmp_path)
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    failed = [r for r in manifest["reports"] if r["status"] == "failed"]
    assert len(failed) == 1 and "planted" not in json.dumps(manifest)  # details stay private

    again = FakeExecutor()
    rerun = run_batch(workspace_dir, PERIOD, out=tmp_path, executor=again, progress=False)
    assert again.given == ["E002"]  # everything else is current
    assert rerun.exit_code == 0 and "E002" in _employees(tmp_path)
    assert len(rerun.by_status("unchanged")) == len(result.outcomes) - 1


def test_a_report_about_someone_else_is_never_published(
    tmp_path: Path, workspace_dir: Path
) -> None:
    fake = FakeExecutor(wrong="E001")
    result = run_batch(
        workspace_dir, PERIOD, out=tmp_path, executor=fake, only=["E002"], progress=False
    )
    assert result.exit_code == 1 and not _employees(tmp_path)
    assert "not the one asked for" in (result.failed[0].error or "")


def test_a_run_stopped_midway_leaves_whole_reports_and_no_lock(
    tmp_path: Path, workspace_dir: Path
) -> None:
    stopped = FakeExecutor(stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_batch(workspace_dir, PERIOD, out=tmp_path, executor=stopped, progress=False)
    assert stopped.closed
    period_dir = tmp_path / PERIOD
    pages = sorted(period_dir.rglob("*.html"))
    assert len(pages) == 2 and all(p.with_suffix(".json").is_file() for p in pages)
    leftovers = [p for p in period_dir.rglob("*") if ".tmp" in p.name or ".staging" in p.name]
    assert leftovers == []
    fake = FakeExecutor()  # the lock is free and the two finished reports are current
    result = run_batch(workspace_dir, PERIOD, out=tmp_path, executor=fake, progress=False)
    assert result.exit_code == 0
    assert len(result.by_status("unchanged")) == 2


def test_the_parameters_cell_is_skipped_only_when_the_injected_cell_rebinds_all_of_it() -> None:
    from kpinb.batch.executors.build import _only_rebinds

    sent = {"workspace", "employee_id", "period", "view"}
    plain = 'workspace: str = "ws"  # a note\nemployee_id = "E001"\nperiod = "2026-Q3"\n'
    assert _only_rebinds(plain + 'view: str = "employee"', sent)
    assert _only_rebinds("period = -1.5", sent)
    assert not _only_rebinds("import os\nperiod = 'x'", sent)  # a statement that does something
    assert not _only_rebinds("period = view", sent)  # a value that is not a literal
    assert not _only_rebinds("threshold = 3", sent)  # a name nobody injects keeps its value
    assert not _only_rebinds("period: str", sent)
    assert not _only_rebinds("period = (", sent)


def test_a_report_notebook_runs_its_injected_parameters_not_its_defaults(
    tmp_path: Path, workspace_dir: Path
) -> None:
    """The copy the batch runs: papermill's injected cell after the notebook's own
    parameters cell, which nbclient skips (``skip-execution``); the template is untouched."""
    from kpinb.batch.planning.plan import NOTEBOOKS_DIR, job_parameters

    notebook = NOTEBOOKS_DIR / "employee_report.ipynb"
    params = job_parameters("employee", "E002", PERIOD, "employee", str(workspace_dir))
    from kpinb.batch.records import ReportFiles

    job = ReportJob(ReportFiles("employee", "E002", "employee", "E002"), "x", notebook, params)
    builder = ReportBuilder.for_jobs(load_workspace(workspace_dir), parse_period(PERIOD), [job])
    nb = builder.notebook(job)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    own = next(i for i, t in enumerate(tags) if "parameters" in t)
    assert "skip-execution" in tags[own]
    assert "injected-parameters" in tags[own + 1]
    assert "'E002'" in nb.cells[own + 1].source or '"E002"' in nb.cells[own + 1].source
    template = builder.templates[notebook].cells[own]
    assert "skip-execution" not in template.metadata.get("tags", [])


def test_a_kernel_takes_the_workspace_over_with_its_analysis(
    tmp_path: Path, workspace_dir: Path
) -> None:
    """What the batch pickles once and each kernel adopts builds the same report as a
    workspace loaded and analysed afresh, and is found by the notebook's load_workspace."""
    import shutil

    from kpinb.report import period_analysis
    from kpinb.workspace import adopt_workspace, workspace_bytes

    folder = tmp_path / "ws"
    shutil.copytree(workspace_dir, folder)
    parent = load_workspace(folder)
    period_analysis(parent, parse_period(PERIOD))
    adopted = adopt_workspace(folder, workspace_bytes(parent))
    assert adopted is not parent and adopted.root == folder
    assert ("analysis", PERIOD) in adopted.derived  # not computed again
    assert load_workspace(folder, cache=True) is adopted
    fresh = load_workspace(folder)  # no cache: read and analysed again
    for employee_id in ("E001", "E004"):
        mine = build_report(adopted, "employee", employee_id, PERIOD)
        theirs = build_report(fresh, "employee", employee_id, PERIOD)
        assert mine.html == theirs.html and mine.twin == theirs.twin
    (folder / "people.csv").write_text(  # a changed folder is read again, not the pickle
        (folder / "people.csv").read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )
    assert load_workspace(folder, cache=True) is not adopted


def test_the_cluster_snapshot_holds_what_the_loader_reads_and_a_consistent_journal(
    tmp_path: Path,
    workspace_dir: Path,
) -> None:
    """Only kpis.yaml, the tables and the journal go to the workers: a confidential
    spreadsheet or a backup beside them stays on this machine."""
    import shutil
    import sqlite3

    from kpinb.batch.executors.dask import snapshot_digest, workspace_snapshot

    folder = tmp_path / "ws"
    shutil.copytree(workspace_dir, folder)
    (folder / ".hidden").write_text("not sent")
    (folder / "salaries-confidential.csv").write_text("employee_id,salary\nE001,99000\n")
    (folder / "backup.zip").write_bytes(b"\0" * 1000)
    (folder / "old").mkdir()
    (folder / "old" / "people.csv").write_text("not sent either")
    (folder / "goals.csv").rename(folder / "goals.xlsx")  # read by its name, any extension
    conn = sqlite3.connect(folder / "journal.sqlite")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (42)")
    conn.commit()  # the row sits in journal.sqlite-wal until a checkpoint
    files = workspace_snapshot(folder)
    conn.close()
    expected = [
        "feasibility.csv",
        "goals.xlsx",
        "journal.sqlite",
        "kpinb.toml",
        "kpis.yaml",
        "observations.csv",
        "people.csv",
        "ratings.csv",
        "targets.csv",
        "teams.csv",
    ]  # not archetypes.csv nor checkins.csv either: the loader reads neither
    assert sorted(files) == expected
    for name in expected:
        if name != "journal.sqlite":
            assert files[name] == (folder / name).read_bytes()
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(files["journal.sqlite"])
    assert sqlite3.connect(copy).execute("SELECT x FROM t").fetchall() == [(42,)]
    assert snapshot_digest(files) == snapshot_digest(dict(reversed(files.items())))
    assert snapshot_digest(files) != snapshot_digest({**files, "people.csv": b"changed"})


def test_reports_published_to_a_url_are_uploaded_page_last_and_rebuilt_if_an_upload_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace_dir: Path
) -> None:
    """``--out memory://...`` (an fsspec URL): the run builds into a mirror folder here and
    uploads every report, then index.html and run.json; a failed upload fails that report
    only, and the next run builds and uploads it again."""
    import fsspec

    from kpinb.batch.publish import uploads as remote

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url = f"memory://bucket-{tmp_path.name}/reports"
    fs = fsspec.filesystem("memory")
    root = f"/bucket-{tmp_path.name}/reports/{PERIOD}"
    order: list[str] = []
    put = remote.Uploader.put

    def failing_put(self, period_dir, relatives):  # type: ignore[no-untyped-def]
        for rel in map(str, relatives):  # the connection drops at E003's page
            if rel == "employees/E003.html" and fail:
                raise ConnectionError("the network went away")
            order.append(rel)
            put(self, period_dir, [rel])

    fail = True
    monkeypatch.setattr(remote.Uploader, "put", failing_put)
    result = run_batch(workspace_dir, PERIOD, out=url, executor=FakeExecutor(), progress=False)
    assert result.published_to == f"{url}/{PERIOD}/"
    assert [(o.job.files.scope_id, o.error) for o in result.failed] == [
        ("E003", "upload: ConnectionError: the network went away")
    ]
    mirror = remote.mirror_for(url) / PERIOD
    assert result.out_dir == mirror and mirror.is_relative_to(tmp_path / "cache")
    uploaded = {p[len(root) + 1 :] for p in fs.find(root)}
    published = {
        str(p.relative_to(mirror))
        for p in mirror.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(mirror).parts)
    }
    assert uploaded == published | {"employees/E003.json"}  # its twin went, its page did not
    assert "employees/E003.html" not in published  # left the mirror: rebuilt next time
    for rel in published:
        assert fs.cat_file(f"{root}/{rel}") == (mirror / rel).read_bytes()
    twin, page = order.index("employees/E001.json"), order.index("employees/E001.html")
    assert twin < page and order[-2:] == ["index.html", "run.json"]

    fail = False
    again = FakeExecutor()
    rerun = run_batch(workspace_dir, PERIOD, out=url, executor=again, progress=False)
    assert rerun.exit_code == 0 and again.given == ["E003"]
    assert (
        fs.cat_file(f"{root}/employees/E003.html") == (mirror / "employees/E003.html").read_bytes()
    )


def test_a_url_that_cannot_be_written_stops_the_run_before_anything_is_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    workspace_dir: Path,
) -> None:
    from kpinb.cli.main import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url = "file:///proc/kpinb-cannot/reports"  # nobody, root included, makes folders there
    code = main(["run", str(workspace_dir), "--period", PERIOD, "--out", url])
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot publish to {url}" in err and "nothing was written" in err
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("out", "said"),
    [
        ("s3://", "names no bucket or host after 's3://' (is a variable such as $BUCKET empty?)"),
        ("s3:///2017-Q4", "names no bucket or host after 's3://'"),
        ("gs://", "names no bucket or host after 'gs://'"),
        ("file://", "names no bucket or host after 'file://'"),
        ("nosuchscheme://x/reports", "'nosuchscheme' is not a storage scheme kpinb can write to"),
        ("s3:/bucket/reports", "starts like a URL (s3:) but has no '//'"),
    ],
)
def test_an_out_url_with_no_bucket_or_an_unknown_scheme_is_bad_usage_and_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    workspace_dir: Path,
    out: str,
    said: str,
) -> None:
    """``--out "s3://$BUCKET"`` with an empty variable used to build into ``./s3:/``."""
    from kpinb.cli.main import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(workspace_dir), "--period", PERIOD, "--out", out])
    err = capsys.readouterr().err
    assert code == 2 and said in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no ./s3:, no mirror


def _visible(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not any(x.startswith(".") for x in p.relative_to(folder).parts)
    }


def test_a_page_deleted_or_cut_short_at_the_destination_is_uploaded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace_dir: Path
) -> None:
    """The mirror says E002 and E003 are current; the destination lost E002's page and
    holds half of E003's twin: the next run builds and uploads both again."""
    from kpinb.batch.publish import uploads as remote

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url = (tmp_path / "remote").as_uri()
    assert run_batch(workspace_dir, PERIOD, out=url, executor=FakeExecutor()).exit_code == 0
    there = tmp_path / "remote" / PERIOD
    (there / "employees" / "E002.html").unlink()
    twin = there / "employees" / "E003.json"
    twin.write_bytes(twin.read_bytes()[:100])
    again = FakeExecutor()
    rerun = run_batch(workspace_dir, PERIOD, out=url, executor=again, progress=False)
    assert rerun.exit_code == 0 and again.given == ["E002", "E003"]
    assert _visible(there) == _visible(remote.mirror_for(url) / PERIOD)
    third = FakeExecutor()
    assert run_batch(workspace_dir, PERIOD, out=url, executor=third).exit_code == 0
    assert third.given == []  # all there now: nothing rebuilt


def test_the_mirror_of_a_url_is_readable_by_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace_dir: Path
) -> None:
    import os
    import stat

    from kpinb.batch.publish import uploads as remote

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url = (tmp_path / "remote").as_uri()
    old = os.umask(0o022)  # the usual umask: ordinary files would be world-readable
    try:
        result = run_batch(
            workspace_dir, PERIOD, out=url, executor=FakeExecutor(fail=["E003"]), progress=False
        )
    finally:
        os.umask(old)
    mirror = remote.mirror_for(url)
    assert result.out_dir == mirror / PERIOD and len(result.failed) == 1
    found = [mirror.parent, *mirror.rglob("*"), mirror]
    modes = {str(p): stat.S_IMODE(p.stat().st_mode) for p in found}
    assert {m for p, m in modes.items() if Path(p).is_dir()} == {0o700}
    assert {m for p, m in modes.items() if Path(p).is_file()} == {0o600}
    assert (mirror / PERIOD / "employees" / "E001.html").is_file()


def test_pages_another_machine_published_to_the_url_are_named_at_the_start(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    workspace_dir: Path,
) -> None:
    """Two machines (two mirrors) publish one URL: the second run says that the index it
    uploads will not list the first machine's reports."""
    url = (tmp_path / "remote").as_uri()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine-a"))
    with caplog.at_level(logging.WARNING, logger="kpinb"):
        run_batch(workspace_dir, PERIOD, out=url, only=["E001", "E002"], executor=FakeExecutor())
    assert not caplog.records
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine-b"))
    with caplog.at_level(logging.WARNING, logger="kpinb"):
        run_batch(workspace_dir, PERIOD, out=url, only=["E003"], executor=FakeExecutor())
    err = caplog.text
    assert (
        f"note: {url}/{PERIOD}/ holds 2 report page(s) that this machine did not "
        "publish (employees/E001.html, employees/E002.html): another machine publishes to "
        "this URL too." in err
    )
    assert "the index.html this run uploads lists only the reports built on this machine" in err


def test_a_file_url_gets_the_same_files_as_the_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace_dir: Path
) -> None:
    """``file://`` goes through fsspec too: folders are made as needed, bytes are equal."""
    from kpinb.batch.publish import uploads as remote

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url = (tmp_path / "remote").as_uri()
    result = run_batch(workspace_dir, PERIOD, out=url, executor=FakeExecutor(), progress=False)
    assert result.exit_code == 0
    mirror, there = remote.mirror_for(url) / PERIOD, tmp_path / "remote" / PERIOD

    def visible(folder: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(folder)): p.read_bytes()
            for p in folder.rglob("*")
            if p.is_file() and not any(x.startswith(".") for x in p.relative_to(folder).parts)
        }

    assert visible(there) == visible(mirror) and "employees/E001.html" in visible(there)
