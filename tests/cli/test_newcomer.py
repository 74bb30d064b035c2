"""A newcomer's first hour: a safe demo, empty periods, `kpinb render`, small things."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from kpinb import cli
from kpinb.batch.planning import plan
from kpinb.batch.records import BatchResult
from kpinb.cli.demo import main_args, run_demo
from kpinb.demo import GENERATED, MARKER, write_demo
from kpinb.errors import UsageError
from kpinb.periods import parse_period
from kpinb.scopes import SCOPE_VIEWS
from kpinb.workspace import coverage, load_workspace

ROOT = Path(__file__).resolve().parents[2]
BEFORE = "2024-Q3"  # the test workspace's values start on 2024-10-07


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def real_workspace(tmp_path: Path, workspace_dir: Path) -> Path:
    """A user's own workspace, with check-ins in its journal."""
    from kpinb.journal import import_checkins

    ws = tmp_path / "myws"
    shutil.copytree(workspace_dir, ws)
    import_checkins(ws, ws / "checkins.csv")
    assert (ws / "journal.sqlite").is_file()
    return ws


# --------------------------------------------------------------------------- 1. safe demo


@pytest.mark.parametrize("no_run", [True, False], ids=["no-run", "run"])
def test_demo_refuses_a_folder_holding_a_real_workspace(
    real_workspace: Path, tmp_path: Path, monkeypatch, capsys, no_run: bool
) -> None:
    calls = []
    fake = types.ModuleType("kpinb.batch.orchestrate")
    fake.run_batch = lambda *a, **kw: calls.append(a)
    monkeypatch.setitem(sys.modules, "kpinb.batch.orchestrate", fake)
    before = _snapshot(real_workspace)
    argv = ["demo", "--out", str(real_workspace), "--reports", str(tmp_path / "r")]
    assert cli.main(argv + (["--no-run"] if no_run else [])) == 2
    err = capsys.readouterr().err
    assert str(real_workspace) in err and "Fix:" in err and "nothing was written" in err
    assert _snapshot(real_workspace) == before  # byte for byte, journal included
    assert sorted(p.name for p in tmp_path.iterdir()) == ["myws"]  # no temp folder, no reports
    assert calls == []


def test_demo_refuses_any_other_non_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match="not an earlier kpinb demo"):
        write_demo(folder, people=12)
    assert [p.name for p in folder.iterdir()] == ["todo.txt"]


def test_demo_writes_into_an_empty_folder_and_marks_it(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert cli.main(["demo", "--no-run", "--out", str(out), "--people", "12"]) == 0
    assert (out / MARKER).is_file()
    assert sorted(p.name for p in out.iterdir()) == sorted(GENERATED)
    load_workspace(out)  # the marker is ignored by the loader


def test_demo_rewrites_an_earlier_demo_and_keeps_its_journal(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    write_demo(out, people=12)
    (out / "journal.sqlite").write_bytes(b"journal bytes")
    (out / "observations.csv").write_text("stale", encoding="utf-8")
    assert cli.main(["demo", "--no-run", "--out", str(out), "--people", "12"]) == 0
    assert (out / "journal.sqlite").read_bytes() == b"journal bytes"
    assert (out / "observations.csv").read_text(encoding="utf-8").startswith("employee_id")
    assert (out / MARKER).is_file()


# --------------------------------------------------------------------------- 3. empty periods


def test_every_scope_and_view_builds_for_a_period_before_the_data(workspace_dir: Path) -> None:
    from kpinb.report import build_report

    ws = load_workspace(workspace_dir)
    ids = {
        "employee": ws.people["employee_id"].tolist(),
        "team": ws.teams["team_id"].tolist(),
        "department": sorted(set(ws.teams["department"])),
    }
    for scope, views in SCOPE_VIEWS.items():
        for scope_id in ids[scope]:
            for view in views:
                report = build_report(ws, scope, scope_id, BEFORE, view)
                page = report.to_html()
                assert f"No KPI values for {BEFORE} have arrived" in page, (scope, scope_id, view)
                assert "every expected value arrived" not in page
                json.dumps(report.to_json(), default=str)


def test_team_report_of_an_empty_period_calls_nothing_routine(workspace_dir: Path) -> None:
    from kpinb.report import build_report

    ws = load_workspace(workspace_dir)
    page = build_report(ws, "team", "T01", BEFORE, "manager").to_html()
    assert "No values for this period yet" in page
    assert "routine variation, no action needed" not in page


@pytest.mark.slow
def test_run_on_a_period_before_the_data_writes_reports_and_names_the_latest_period(
    tmp_path: Path, capsys, workspace_dir: Path
) -> None:
    out = tmp_path / "reports"
    argv = ["run", str(workspace_dir), "--period", BEFORE, "--out", str(out), "--allow-empty"]
    assert cli.main([*argv, "--only", "E002,T01,Sales", "--workers", "2"]) == 0
    printed = capsys.readouterr()
    assert "3 written" in printed.out and "0 could not be generated" in printed.out
    assert f"no one has a value in {BEFORE}" in printed.err and "2026-Q3" in printed.err
    period = out / BEFORE
    for rel in ("employees/E002", "teams/T01", "departments/Sales"):
        assert (period / f"{rel}.html").is_file() and (period / f"{rel}.json").is_file(), rel
        assert f"No KPI values for {BEFORE}" in (period / f"{rel}.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- 5. run's words


def test_run_out_naming_a_file_is_bad_usage_with_a_sentence(
    tmp_path: Path, capsys, workspace_dir: Path
) -> None:
    afile = tmp_path / "reports.txt"
    afile.write_text("x", encoding="utf-8")
    for out in (afile, afile / "sub"):
        argv = ["run", str(workspace_dir), "--period", "2026-Q3", "--out", str(out)]
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert "is a file, not a folder" in err and "Traceback" not in err
    assert afile.read_text(encoding="utf-8") == "x"


def test_a_period_without_values_exits_2_naming_the_latest_period_with_data(
    tmp_path: Path, monkeypatch, capsys, workspace_dir: Path
) -> None:
    import kpinb.batch

    calls = []

    def fake_run_batch(path, period, *, out, **kw):
        calls.append(period.label)
        folder = Path(out) / period.label
        return BatchResult(period.label, folder, folder / "index.html", folder / "run.json")

    monkeypatch.setattr(kpinb.batch, "run_batch", fake_run_batch)
    argv = ["run", str(workspace_dir), "--period", "2027-Q1", "--out", str(tmp_path)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "no one has a value in 2027-Q1 (it is after the latest value)" in err
    assert "The latest period with data is 2026-Q3: --period 2026-Q3" in err
    assert "--allow-empty" in err and calls == []  # nothing run, nothing written
    assert cli.main([*argv, "--allow-empty"]) == 0  # asked for: the empty reports, noted
    assert calls == ["2027-Q1"]
    assert "no one has a value in 2027-Q1" in capsys.readouterr().err
    assert cli.main([*argv[:2], "--period", "2026-Q3", *argv[4:]]) == 0
    assert "note:" not in capsys.readouterr().err  # a period with values: no note


def test_empty_period_note_names_the_month_for_a_monthly_period(workspace_dir: Path) -> None:
    ws = load_workspace(workspace_dir)
    note = coverage.empty_period_note(ws, parse_period("2024-02"))
    assert note is not None and "before the first value" in note and "2026-09" in note
    assert coverage.empty_period_note(ws, parse_period("2025-Q2")) is None


# --------------------------------------------------------------------------- 6. kpinb render


def test_render_refuses_what_is_not_an_executed_report(tmp_path: Path, capsys) -> None:
    assert cli.main(["render", str(tmp_path / "missing.ipynb")]) == 2
    assert "is not a file" in capsys.readouterr().err
    blank = tmp_path / "blank.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), blank)
    assert cli.main(["render", str(blank)]) == 1
    assert "displayed no report" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank.ipynb"]


@pytest.mark.slow
def test_render_gives_the_batch_page_and_a_twin_equal_to_build_report(
    tmp_path: Path, capsys, workspace_dir: Path
) -> None:
    import papermill

    from kpinb.batch.formats.page import external_fetches
    from kpinb.report import build_report

    executed = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(plan.NOTEBOOKS_DIR / plan.NOTEBOOKS["employee"]),
        str(executed),
        parameters={"workspace": str(workspace_dir), "employee_id": "E002"},
        cwd=str(plan.NOTEBOOKS_DIR),
        progress_bar=False,
        kernel_name="python3",
    )
    assert cli.main(["render", str(executed), "--out", str(tmp_path / "page" / "E002.html")]) == 0
    printed = capsys.readouterr().out
    page, twin_path = tmp_path / "page" / "E002.html", tmp_path / "page" / "E002.json"
    assert str(page) in printed and str(twin_path) in printed
    html = page.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "kpinb" in html and "2026-Q3 · employee view" in html
    assert "load_workspace" not in html  # outputs only, no code
    assert external_fetches(html) == []
    expected = build_report(load_workspace(workspace_dir), "employee", "E002", "2026-Q3").to_json()
    twin = json.loads(twin_path.read_text(encoding="utf-8"))
    assert twin == json.loads(json.dumps(expected, default=str))
    # the default page goes beside the notebook
    assert cli.main(["render", str(executed)]) == 0
    assert (tmp_path / "out.html").read_text(encoding="utf-8") == html


def test_readme_lists_render_and_its_papermill_example_uses_the_notebooks_defaults() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "kpinb render" in readme
    pattern = r"papermill notebooks/employee_report\.ipynb out\.ipynb(.*?)```"
    command = re.search(pattern, readme, re.S)
    assert command is not None
    options = dict(re.findall(r"-[pr] (\w+) (\S+)", command[1]))
    nb = nbformat.read(plan.NOTEBOOKS_DIR / plan.NOTEBOOKS["employee"], as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    defaults = dict(re.findall(r'^(\w+): str = "([^"]*)"', cell.source, re.M))
    assert options == defaults
    assert "--cwd notebooks" in command[1]  # the default workspace is relative to notebooks/
    assert "kpinb render out.ipynb" in readme


# --------------------------------------------------------------------------- 2, 10. small things


def test_notebooks_are_found_in_the_checkout() -> None:
    assert plan.find_notebooks_dir() == ROOT / "notebooks" == plan.NOTEBOOKS_DIR


def test_demo_ends_by_saying_what_to_do_next(tmp_path: Path, monkeypatch, capsys) -> None:
    fake = types.ModuleType("kpinb.batch.orchestrate")
    fake.run_batch = lambda path, period, **kw: None
    monkeypatch.setitem(sys.modules, "kpinb.batch.orchestrate", fake)
    args = main_args(["--out", str(tmp_path / "ws"), "--people", "12"])
    args.reports = str(tmp_path / "r")
    assert run_demo(args) == 0
    printed = capsys.readouterr().out
    tail = printed[printed.index("What next") :]
    assert str(tmp_path / "r" / "2026-Q3" / "index.html") in tail
    assert "kpinb validate" in tail and "kpinb run" in tail
    # the reader's reports go to a folder of their own: a run refuses the demo's folder
    assert "--out my-reports" in tail


def test_demo_reports_naming_a_file_is_bad_usage(tmp_path: Path, capsys) -> None:
    afile = tmp_path / "r"
    afile.write_text("x", encoding="utf-8")
    argv = ["demo", "--out", str(tmp_path / "ws"), "--reports", str(afile)]
    assert cli.main(argv) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert not (tmp_path / "ws").exists()


def test_gitignore_covers_checkpoints_and_the_readme_notebook() -> None:
    paths = ["notebooks/.ipynb_checkpoints/x-checkpoint.ipynb", "out.ipynb"]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert done.stdout.split() == paths


def test_journal_side_files_are_not_hashed(tmp_path: Path) -> None:
    from kpinb.batch.publish.manifest import workspace_files

    for name in ("people.csv", "journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"):
        (tmp_path / name).write_text(name, encoding="utf-8")
    (tmp_path / MARKER).write_text("demo", encoding="utf-8")
    assert sorted(workspace_files(tmp_path)) == ["journal.sqlite", "people.csv"]


def test_help_texts(capsys) -> None:
    for argv in (["validate", "--help"], ["demo", "--help"], ["render", "--help"]):
        with pytest.raises(SystemExit) as stop:
            cli.main(argv)
        assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Check every file of a workspace folder" in text
    assert "number of people, 8 to 64 (default: 60)" in text
    assert "JSON twin" in text


def test_only_accepts_team_names(workspace_dir: Path) -> None:
    ws = load_workspace(workspace_dir)
    per = parse_period("2026-Q3")
    requests = plan.plan_requests(ws, per, only=["Sales North", "E010"])
    assert sorted((r.scope, r.scope_id) for r in requests) == [
        ("employee", "E010"),
        ("team", "T01"),
    ]
    with pytest.raises(UsageError, match=r"Sales Nort'.*Sales North"):
        plan.plan_requests(ws, per, only=["Sales Nort"])
