"""Disk faults while publishing: a report that cannot be written fails alone, with its
reason; every published page keeps the twin of its own run; the index and run.json say
what happened; an output folder that cannot be written at all stops the run (exit 2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kpinb.cli import main

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _pairs(period: Path) -> dict[str, tuple[bytes, bytes]]:
    """Every published page with its twin: {html path: (html bytes, json bytes)}."""
    out = {}
    for html in sorted(p for p in period.glob("*/*.html") if p.parent.name != "managers"):
        twin = html.with_suffix(".json")
        out[str(html.relative_to(period))] = (
            html.read_bytes(),
            twin.read_bytes() if twin.exists() else b"",
        )
    return out


def _run_with_file_size_limit(args: list[str], limit: int) -> subprocess.CompletedProcess[str]:
    """``kpinb`` in a process whose files cannot grow past ``limit`` bytes (RLIMIT_FSIZE:
    a write beyond it fails with EFBIG, as on a full disk)."""
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        "from kpinb.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=600
    )


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX only")
def test_a_full_disk_fails_only_the_reports_it_stops_and_never_splits_a_pair(
    tmp_path: Path,
    workspace_dir: Path,
) -> None:
    ws = Path(shutil.copytree(workspace_dir, tmp_path / "ws"))
    out = tmp_path / "reports"
    args = ["run", str(ws), "--period", "2026-Q3", "--out", str(out), "--workers", "2"]
    assert main(args) == 0
    period = out / "2026-Q3"
    first = _pairs(period)
    sizes = sorted(len(html) for html, _ in first.values())
    limit = sizes[len(sizes) // 2]  # half of the pages fit, half do not

    # new data: every report changes, so an old page next to a new twin would show
    obs = pd.read_csv(ws / "observations.csv", dtype={"employee_id": str})
    counted = obs["denominator"].notna() if "denominator" in obs else obs["value"].isna()
    obs.loc[~counted, "value"] = (obs.loc[~counted, "value"] * 1.5).round(2)
    obs.loc[counted, "value"] = None  # a ratio KPI's value comes from its counts
    obs.to_csv(ws / "observations.csv", index=False)
    done = _run_with_file_size_limit([*args, "--force"], limit)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert "disk: File too large" in done.stdout

    second = _pairs(period)
    assert second.keys() == first.keys()
    new = {p for p in second if second[p][0] != first[p][0]}
    assert new and len(new) < len(second)  # some written, some kept from the first run
    for path, (_html, twin) in second.items():
        if path in new:
            assert twin != first[path][1], f"{path}: a new page beside its old twin"
        else:
            assert twin == first[path][1], f"{path}: an old page beside a new twin"
    manifest = json.loads((period / "run.json").read_text())
    failed = {r["html"] for r in manifest["reports"] if r["status"] == "failed"}
    assert failed == set(second) - new
    assert {r["error_kind"] for r in manifest["reports"] if r["status"] == "failed"} == {
        "disk: File too large"
    }
    index = (period / "index.html").read_text()
    assert index.count("disk: File too large") == len(failed)
    assert not list(period.rglob("*.tmp")) and not list(period.glob(".staging-*"))


def test_an_output_folder_that_cannot_be_written_stops_the_run(
    tmp_path: Path, capsys, workspace_dir: Path
) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "2026-Q3").write_text("a file where the period folder goes")
    args = ["run", str(workspace_dir), "--period", "2026-Q3", "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "cannot write reports to" in err and "Traceback" not in err


def test_one_unwritable_subfolder_fails_its_reports_and_the_others_go_on(
    tmp_path: Path, capsys, workspace_dir: Path
) -> None:
    out = tmp_path / "reports"
    (out / "2026-Q3").mkdir(parents=True)
    (out / "2026-Q3" / "teams").write_text("a file where the teams folder goes")
    args = ["run", str(workspace_dir), "--period", "2026-Q3", "--out", str(out), "--workers", "2"]
    assert main(args) == 1
    period = out / "2026-Q3"
    assert list(period.glob("employees/*.html")) and list(period.glob("departments/*.html"))
    manifest = json.loads((period / "run.json").read_text())
    kinds = {r["scope"]: r.get("error_kind") for r in manifest["reports"]}
    assert kinds["team"].startswith("disk: ") and kinds["employee"] is None
    assert "could not be generated" in (period / "index.html").read_text()


def test_a_planted_symlink_is_refused_before_anything_is_written(
    tmp_path: Path, capsys, workspace_dir: Path
) -> None:
    out = tmp_path / "reports"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "2026-Q3").mkdir(parents=True)
    (out / "2026-Q3" / "teams").symlink_to(elsewhere, target_is_directory=True)
    args = ["run", str(workspace_dir), "--period", "2026-Q3", "--out", str(out)]
    assert main(args) == 2
    assert "outside the output folder" in capsys.readouterr().err
    assert not list(out.rglob("*.html")) and not list(elsewhere.iterdir())


def test_reports_of_people_who_left_are_removed_and_the_run_says_so(
    tmp_path: Path, capsys, workspace_dir: Path
) -> None:
    ws = Path(shutil.copytree(workspace_dir, tmp_path / "ws"))
    out = tmp_path / "reports"
    args = ["run", str(ws), "--period", "2026-Q3", "--out", str(out), "--workers", "2"]
    assert main(args) == 0
    period = out / "2026-Q3"
    assert (period / "employees" / "E010.html").exists()
    people = pd.read_csv(ws / "people.csv", dtype=str, keep_default_na=False)
    people = people[people["employee_id"] != "E010"]
    people.loc[people["manager_id"] == "E010", "manager_id"] = ""
    people.to_csv(ws / "people.csv", index=False)
    for name in ("observations", "goals", "ratings", "targets", "feasibility"):
        path = ws / f"{name}.csv"
        if path.exists():
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
            column = "employee_id" if "employee_id" in table else "scope_id"
            table[table[column] != "E010"].to_csv(path, index=False)
    capsys.readouterr()
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "Removed 1 report(s)" in said and "E010" in said
    assert not (period / "employees" / "E010.html").exists()
    assert not (period / "employees" / "E010.json").exists()
    assert "E010" not in (period / "index.html").read_text()


# E004's twin says its KPI "held level" beside a change far beyond routine variation
FALSE_CLAIM = """
if sid == "E004" and view == "employee":
    block = {"kpi_id": "k", "name": "Revenue", "direction": "up", "decimals": 1,
             "value_decimals": 0, "limits": None, "ending": None, "goal": None,
             "best": None, "shift": None,
             "change": {"absolute": 40.0, "routine_limit": 5.0, "held": False}}
    sentence = {"id": "headline_strength", "text": "Revenue held level in 2026-Q3.",
                "figures": [{"path": "kpis[0].name", "value": "Revenue", "text": "Revenue"}]}
    twin["kpis"] = [block]
    twin["sections"] = [{"id": "progress", "sentences": [sentence]}]
"""


def test_a_report_whose_claims_fail_is_refused_and_the_others_publish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workspace_dir: Path
) -> None:
    from tests.support.stand_ins import write_stand_in_notebooks

    out = tmp_path / "reports"
    args = ["run", str(workspace_dir), "--period", "2026-Q3", "--out", str(out)]
    args += ["--workers", "2", "--notebooks"]
    good = write_stand_in_notebooks(tmp_path / "good")
    assert main([*args, str(good)]) == 0
    period = out / "2026-Q3"
    first = _pairs(period)
    capsys.readouterr()

    lying = write_stand_in_notebooks(tmp_path / "lying", twin_body=FALSE_CLAIM)
    assert main([*args, str(lying), "--force"]) == 1
    summary = capsys.readouterr().out
    assert "1 could not be generated" in summary
    line = next(x for x in summary.splitlines() if "'E004' (employee view)" in x)
    assert "held level beyond routine variation" in line
    assert "Revenue held level in 2026-Q3." in line
    manifest = json.loads((period / "run.json").read_text())
    failed = [r for r in manifest["reports"] if r["status"] == "failed"]
    assert [(r["id"], r["view"]) for r in failed] == [("E004", "employee")]
    # every other report published; nothing already written is lost
    second = _pairs(period)
    assert second.keys() == first.keys()
    assert second["employees/E004.html"] == first["employees/E004.html"]
