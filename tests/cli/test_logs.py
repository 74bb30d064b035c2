"""Diagnostics through the real command on the demo workspace: levels, JSON lines, and the
period picked when none is given. The reports are built by an executor that starts no
kernel (``FakeExecutor``); everything else is the command's own code."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from kpinb.batch import orchestrate
from kpinb.cli.main import main
from kpinb.workspace import Workspace
from tests.support.stand_ins import FakeExecutor


@pytest.fixture
def fake_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """``kpinb run`` builds in this process; E003's report fails as a notebook would."""
    monkeypatch.setattr(orchestrate, "_executor", lambda *a, **kw: FakeExecutor(fail=["E003"]))


def _run(demo_ws: Workspace, out: Path, *flags: str) -> list[str]:
    root = str(demo_ws.root)
    return ["run", root, "--out", str(out), "--only", "E002,E003", *flags]


def _json_lines(err: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in err.splitlines()]  # every line is one object
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
        assert line["logger"].startswith("kpinb.")
    return lines


def test_json_lines_carry_the_period_the_reports_and_the_counts(
    demo_ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_kernels: None
) -> None:
    # no --period: the demo's last weekly values are dated Monday 2026-09-28, which
    # cover to Sunday 2026-10-04, so 2026-Q3 (to 30 Sep) is the latest complete quarter
    assert main(["--log-format", "json", *_run(demo_ws, tmp_path / "r")]) == 1
    out, err = capsys.readouterr()
    lines = _json_lines(err)
    chosen = [x for x in lines if x["logger"] == "kpinb.cli.periods"]
    assert len(chosen) == 1 and chosen[0]["level"] == "info" and chosen[0]["period"] == "2026-Q3"
    assert "runs to 2026-10-04" in chosen[0]["message"]
    failed = [x for x in lines if x["level"] == "error"]
    assert [(x["scope_id"], x["period"], x["view"]) for x in failed] == [
        ("E003", "2026-Q3", "employee")
    ]
    assert failed[0]["logger"] == "kpinb.batch.period_run" and "planted" in failed[0]["message"]
    done = [x for x in lines if "done" in x]
    assert done[-1]["done"] == done[-1]["total"] == 2 and done[-1]["message"] == "2/2 reports done"
    end = [x for x in lines if x["message"] == "run finished"]
    assert len(end) == 1
    assert (end[0]["written"], end[0]["failed"], end[0]["exit_code"]) == (1, 1, 1)
    # the results stay on stdout as text, with the period chosen and why
    assert (
        "No --period given: 2026-Q3: the latest complete quarter with data (the data runs "
        "to 2026-10-04, so 2026-Q4 is not complete yet)." in out
    )
    assert "1 written, 0 unchanged, 1 could not be generated (2026-Q3)." in out


def test_levels_quiet_default_verbose(
    demo_ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_kernels: None
) -> None:
    args = _run(demo_ws, tmp_path / "r", "--period", "2026-Q3", "--force")
    assert main(["--quiet", *args]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("kpinb: employee 'E003' (employee view): ")

    assert main(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert "kpinb: 2/2 reports done" in err and "kpinb: run finished" in err
    assert not any("E002" in line for line in err)  # a report built is not news

    assert main(["--verbose", *args]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "kpinb: employee 'E002' (employee view): written" in err

    assert main(["--quiet", "--log-format", "json", *args]) == 1
    lines = _json_lines(capsys.readouterr().err)
    assert [x["level"] for x in lines] == ["error"]


def test_usage_errors_are_json_lines_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workspace_dir: Path
) -> None:
    argv = ["--log-format", "json", "run", str(workspace_dir), "--period", "2027-Q1"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    [line] = _json_lines(capsys.readouterr().err)
    assert line["level"] == "error" and line["exit_code"] == 2
    assert "The latest period with data is 2026-Q3" in line["message"]
    assert not (tmp_path / "r").exists()


def test_no_progress_bar_among_json_lines_or_when_quiet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workspace_dir: Path
) -> None:
    import kpinb.batch
    from kpinb.batch.records import BatchResult

    seen = []

    def fake_run_batch(path: Path, period: Any, *, out: str, **kw: Any) -> BatchResult:
        seen.append(kw["progress"])
        folder = Path(out) / period.label
        return BatchResult(period.label, folder, folder / "index.html", folder / "run.json")

    monkeypatch.setattr(kpinb.batch, "run_batch", fake_run_batch)
    run = ["run", str(workspace_dir), "--period", "2026-Q3", "--out", str(tmp_path)]
    for flags in ([], ["--log-format", "json"], ["--quiet"]):
        assert main([*flags, *run]) == 0
    assert seen == [None, False, False]  # None: a bar only when stderr is a terminal


def test_the_command_leaves_the_callers_logging_as_it_was(workspace_dir: Path) -> None:
    logger = logging.getLogger("kpinb")
    before = (logger.level, logger.propagate, list(logger.handlers))
    main(["--quiet", "validate", str(workspace_dir)])
    assert (logger.level, logger.propagate, list(logger.handlers)) == before
