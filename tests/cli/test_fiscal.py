"""A workspace whose fiscal year starts in July, run end to end by ``kpinb run``.

Its reports name the fiscal quarter (FY2027-Q1 is July-September 2026) and state the
same figures as the calendar workspace's 2026-Q3 reports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kpinb.cli.main import main
from kpinb.workspace import load_workspace
from tests.support.fiscal import fiscal_copy, fiscal_label

pytestmark = pytest.mark.slow


def _calendar_to_fiscal(text: str) -> str:
    return re.sub(r"\b\d{4}-Q[1-4]\b", lambda m: fiscal_label(m[0], 7), text)


def test_a_fiscal_run_says_fy_and_states_the_calendar_runs_figures(
    tmp_path: Path, workspace_dir: Path
) -> None:
    fiscal = fiscal_copy(workspace_dir, tmp_path / "fiscal", 7)
    assert set(load_workspace(fiscal).targets["period"]) >= {"FY2027-Q1", "FY2026-Q4"}
    only = ["--only", "E002", "--only", "T01"]
    out_cal, out_fy = tmp_path / "cal", tmp_path / "fy"
    args = ["--workers", "1", *only]
    assert (
        main(["run", str(workspace_dir), "--period", "2026-Q3", "--out", str(out_cal), *args]) == 0
    )
    assert main(["run", str(fiscal), "--period", "FY2027-Q1", "--out", str(out_fy), *args]) == 0
    for report in ("employees/E002", "teams/T01"):
        cal = json.loads((out_cal / "2026-Q3" / f"{report}.json").read_text(encoding="utf-8"))
        fy = json.loads((out_fy / "FY2027-Q1" / f"{report}.json").read_text(encoding="utf-8"))
        assert fy["period"] == "FY2027-Q1"
        for twin in (cal, fy):  # where each workspace lies and what it holds differ
            twin.pop("inputs", None)
        assert json.dumps(fy, sort_keys=True) == _calendar_to_fiscal(
            json.dumps(cal, sort_keys=True)
        )
        page = (out_fy / "FY2027-Q1" / f"{report}.html").read_text(encoding="utf-8")
        assert "FY2027-Q1" in page
        assert not re.search(r"\b20\d\d-Q[1-4]\b", page)


def test_a_calendar_quarter_is_refused_with_the_fiscal_name(
    tmp_path: Path, workspace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fiscal = fiscal_copy(workspace_dir, tmp_path / "fiscal", 7)
    assert main(["run", str(fiscal), "--period", "2026-Q3", "--out", str(tmp_path / "o")]) == 2
    assert "2026-Q3 is FY2027-Q1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
