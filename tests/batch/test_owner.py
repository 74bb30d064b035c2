"""A period folder holds one workspace's reports: a run of another one is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kpinb.cli.main import main


def test_a_run_into_another_workspaces_reports_refuses_and_removes_nothing(
    workspace_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    period = tmp_path / "reports" / "2026-Q3"
    (period / "employees").mkdir(parents=True)
    theirs = {
        "employees/X001.html": "<p>X001</p>",
        "run.json": json.dumps({"workspace": "demo-workspace", "period": "2026-Q3"}),
    }
    for name, text in theirs.items():
        (period / name).write_text(text, "utf-8")
    mine = tmp_path / "my-workspace"
    shutil.copytree(workspace_dir, mine)
    args = ["run", str(mine), "--period", "2026-Q3", "--out", str(tmp_path / "reports")]
    assert main([*args, "--only", "E001"]) == 2
    err = capsys.readouterr().err
    assert (
        f"{period} holds the reports of workspace 'demo-workspace', not of 'my-workspace'; "
        "nothing was changed" in err
    )
    assert {p.relative_to(period).as_posix() for p in period.rglob("*") if p.is_file()} == set(
        theirs
    )
    for name, text in theirs.items():
        assert (period / name).read_text("utf-8") == text
