"""The batch on real kernels: failure isolation, killed runs, hostile ids, kernel reuse.

Slow: every test starts kernels. Tests of the batch's own machinery (failure, kill)
use small stand-in notebooks that display a twin without building a real report,
so they stay fast; tests of what reports contain use kpinb's notebooks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from kpinb.batch import orchestrate as batch
from kpinb.batch.planning import inputs_keys as inputs
from kpinb.batch.planning import plan
from kpinb.cli.main import main
from kpinb.filenames import safe_name
from kpinb.report.notebook import notebook_html
from tests.support.stand_ins import rename_ids, without_index_filter, write_stand_in_notebooks

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def published(period_dir: Path) -> dict[str, tuple[int, int]]:
    """Published report files (not hidden, not failed/) with their inode and mtime."""
    found = {}
    for path in period_dir.rglob("*"):
        rel = path.relative_to(period_dir)
        if (
            path.is_file()
            and not any(p.startswith(".") for p in rel.parts)
            and rel.parts[0] in ("employees", "teams", "departments")
        ):
            found[str(rel)] = (path.stat().st_ino, path.stat().st_mtime_ns)
    return found


def test_one_report_that_fails_does_not_stop_the_others(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    workspace_dir: Path,
) -> None:
    # kpinb's code is part of every key; pin it so edits made while the test runs don't count
    monkeypatch.setattr(inputs, "code_fingerprint", lambda: "pinned")
    # E003's notebook raises; E005's builds a report about someone else (a leaky kernel would)
    body = (
        'if sid == "E003":\n    raise ValueError("made to fail: " + sid)\n'
        'if sid == "E005":\n    sid = "E006"'
    )
    notebooks = write_stand_in_notebooks(tmp_path / "nb", body=body)
    out = tmp_path / "reports"
    args = [
        "run",
        str(workspace_dir),
        "--period",
        "2026-Q3",
        "--out",
        str(out),
        "--workers",
        "2",
        "--notebooks",
        str(notebooks),
    ]
    assert main(args) == 1
    summary = capsys.readouterr().out
    assert "14 written, 0 unchanged, 2 could not be generated" in summary
    # cell 2 of the executed notebook: papermill-style injected parameters are cell 1;
    # In [2]: the notebook's own parameters cell (literals only, all injected again) is
    # skipped, so the injected cell is In [1]
    assert (
        "employee 'E003' (employee view): cell 2 (In [2]): ValueError: made to fail: E003"
        in summary
    )
    assert (
        "employee 'E005' (employee view): the report built is not the one asked for: "
        "id='E006' (expected 'E005')" in summary
    )
    period = out / "2026-Q3"
    files = published(period)
    assert len(files) == 2 * 14  # HTML and twin for 12 - 2 employees, 2 teams, 2 departments
    assert "employees/E003.html" not in files and "employees/E005.html" not in files
    assert "employees/E002.html" in files
    # failure details stay outside the folder readers browse, for the operator only
    assert not (period / "failed").exists()
    private = out / ".kpinb-private" / "2026-Q3"
    kept = nbformat.read(private / "failed" / "employees" / "E003.ipynb", as_version=4)
    assert kept.cells[-1].outputs[-1].ename == "ValueError"
    for path in (private, private.parent):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    for path in (private / "failed" / "employees" / "E003.ipynb", private / "details.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    details = {d["html"]: d for d in json.loads((private / "details.json").read_text())["failed"]}
    assert "made to fail: E003" in details["employees/E003.html"]["error"]
    assert details["employees/E003.html"]["notebook"] == "failed/employees/E003.ipynb"
    manifest = json.loads((period / "run.json").read_text())
    rows = {r["id"]: r for r in manifest["reports"]}
    # run.json (linked from the index) names the kind of failure, never its details
    assert rows["E003"]["status"] == "failed"
    assert rows["E003"]["error_kind"] == "ValueError in cell 2"
    assert rows["E005"]["error_kind"] == "the report built is not the one asked for"
    assert "made to fail" not in (period / "run.json").read_text()
    assert str(workspace_dir.resolve()) not in (period / "run.json").read_text()
    assert manifest["counts"] == {"written": 14, "unchanged": 0, "failed": 2}
    index = (period / "index.html").read_text()
    assert 'href="employees/E002.html"' in index and 'href="employees/E003.html"' not in index
    assert index.count("could not be generated") == 2

    # a rerun retries only the reports that could not be generated
    index_file = (period / "index.html").stat()
    assert main(args) == 1
    assert "0 written, 14 unchanged, 2 could not be generated" in capsys.readouterr().out
    assert published(period) == files
    after = (period / "index.html").stat()  # same content: the index is not rewritten
    assert (after.st_ino, after.st_mtime_ns) == (index_file.st_ino, index_file.st_mtime_ns)


def test_a_killed_run_leaves_whole_files_and_the_rerun_finishes_the_rest(
    tmp_path: Path, workspace_dir: Path
) -> None:
    notebooks = write_stand_in_notebooks(tmp_path / "nb", body="import time; time.sleep(0.3)")
    out = tmp_path / "reports"
    period = out / "2026-Q3"
    command = [
        sys.executable,
        "-m",
        "kpinb",
        "run",
        str(workspace_dir),
        "--period",
        "2026-Q3",
        "--out",
        str(out),
        "--workers",
        "1",
        "--notebooks",
        str(notebooks),
    ]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    states = period / ".kpinb" / "state"
    deadline = time.monotonic() + 60
    while len(list(states.rglob("*.json"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {json.loads(p.read_text())["html"] for p in states.rglob("*.json")}
    assert 4 <= len(done) < 16, "the run should be killed partway"
    for rel in published(period):
        text = (period / rel).read_text()
        assert text.rstrip().endswith("</html>") if rel.endswith(".html") else json.loads(text)
    assert not (period / "index.html").exists()  # written at the end: none yet, never half
    before = published(period)

    result = batch.run_batch(
        workspace_dir, "2026-Q3", out=out, workers=1, notebooks_dir=notebooks, progress=False
    )
    assert result.exit_code == 0
    unchanged = {str(o.job.files.html) for o in result.by_status("unchanged")}
    assert unchanged == done and len(result.by_status("written")) == 16 - len(done)
    after = published(period)
    assert len(after) == 32
    for rel in done:  # published before the kill: not written again
        twin = rel.replace(".html", ".json")
        assert after[rel] == before[rel] and after[twin] == before[twin]
    leftovers = [
        p for p in period.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".staging-")
    ]
    assert leftovers == []


def test_ctrl_c_stops_the_run_cleanly_and_the_rerun_finishes_the_rest(
    tmp_path: Path, workspace_dir: Path
) -> None:
    """SIGINT (Ctrl-C) partway: exit 130 with one line, no traceback or asyncio noise, no
    kernel left running, whole files only, the lock free for the rerun.

    The first four reports run through; every later one waits while ``hold`` exists, so
    the run is still going when the signal comes however slow the machine is (with a
    sleep instead, a loaded machine let the run finish before the test sent it)."""
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "hold").touch()
    notebooks = write_stand_in_notebooks(tmp_path / "nb", body=_held_after(4, gate))
    out = tmp_path / "reports"
    period = out / "2026-Q3"
    command = [sys.executable, "-m", "kpinb", "run", str(workspace_dir), "--period", "2026-Q3",
               "--out", str(out), "--workers", "2", "--notebooks", str(notebooks)]  # fmt: skip
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a shell without job control starts background commands
        # (a CI script's `... &`) with SIGINT ignored, and the run would inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    states = period / ".kpinb" / "state"
    deadline = time.monotonic() + 180
    while len(list(states.rglob("*.json"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(list(states.rglob("*.json"))) == 4, "four reports published, the rest held"
    kernels = _children(proc.pid)
    assert kernels, "the run's kernels are its child processes"
    proc.send_signal(signal.SIGINT)
    # the held reports may end now (the signal is in): the run stops as a real Ctrl-C
    # finds it, mid-report, not with kernels stuck in a cell that never returns
    (gate / "hold").unlink()
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr
    for noise in ("Traceback", "Task was destroyed", "Exception ignored"):
        assert noise not in stderr + stdout, stderr[-2000:]
    time.sleep(1)
    assert [pid for pid in kernels if _alive(pid)] == []
    for rel in published(period):
        text = (period / rel).read_text()
        assert text.rstrip().endswith("</html>") if rel.endswith(".html") else json.loads(text)
    done = {json.loads(p.read_text())["html"] for p in states.rglob("*.json")}
    result = batch.run_batch(
        workspace_dir, "2026-Q3", out=out, workers=2, notebooks_dir=notebooks, progress=False
    )
    assert result.exit_code == 0
    assert {str(o.job.files.html) for o in result.by_status("unchanged")} == done


def _held_after(count: int, gate: Path) -> str:
    """Notebook code that lets the first ``count`` reports through (each takes a numbered
    ticket in ``gate``) and holds every later one while ``gate/hold`` exists."""
    return (
        "import os, pathlib, time\n"
        f"gate = pathlib.Path({str(gate)!r})\n"
        "ticket = 0\n"
        "while True:\n"
        "    try:\n"
        "        os.close(os.open(gate / f'ticket-{ticket}', os.O_CREAT | os.O_EXCL))\n"
        "        break\n"
        "    except FileExistsError:\n"
        "        ticket += 1\n"
        f"while ticket >= {count} and (gate / 'hold').exists():\n"
        "    time.sleep(0.05)"
    )


def _children(pid: int) -> list[int]:
    """The ids of the processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"  # a zombie has exited


def test_hostile_ids_and_names_give_safe_files_and_escaped_text(
    tmp_path: Path, workspace_dir: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(workspace_dir, ws)
    ids = {
        "E002": "../x",
        "E003": 'q"uote',
        "E004": "<script>alert(1)</script>",
        "E006": "E\u202e006",
    }
    rename_ids(ws, ids)
    people = (ws / "people.csv").read_text(encoding="utf-8")
    people = people.replace("Siobhán O'Brien", "<img src=x onerror=alert(1)>")
    people = people.replace("Lukas Schmidt", "\u202eevil name")
    (ws / "people.csv").write_text(people, encoding="utf-8")
    out = tmp_path / "reports"
    result = batch.run_batch(
        ws, "2026-Q3", out=out, workers=2, progress=False, only=[*ids.values(), "T01"]
    )
    assert result.exit_code == 0, [o.error for o in result.failed]
    period = out / "2026-Q3"
    names = sorted(p.name for p in (period / "employees").iterdir())
    assert names == sorted(
        f"{safe_name(i)}.{ext}" for i in ids.values() for ext in ("html", "json")
    )
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", n) for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports", "ws"]  # nothing outside
    pages = [*period.rglob("*.html")]
    for page in pages:
        text = without_index_filter(page.read_text(encoding="utf-8"))
        assert "<script" not in text and "<img src=x" not in text, page
        assert "\u202e" not in re.search(r"<title>(.*)</title>", text).group(1)
    index = (period / "index.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in index and "\u202e" not in index
    x_page = (period / "employees" / f"{safe_name('../x')}.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in x_page
    twin = json.loads((period / "employees" / f"{safe_name('../x')}.json").read_text())
    assert twin["id"] == "../x"


def _normalised(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """The displayed outputs of a report notebook, without volatile fields."""
    shown = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for mime, value in sorted(output.get("data", {}).items()):
                text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else value
                shown.append((mime, re.sub(r"0x[0-9a-f]{6,}", "0x?", text)))
    return shown


def test_reports_from_a_reused_kernel_equal_a_fresh_papermill_run(
    tmp_path: Path, workspace_dir: Path
) -> None:
    import papermill

    out = tmp_path / "reports"
    # one worker: E004's report runs in the kernel that just built E002's and E003's
    result = batch.run_batch(
        workspace_dir,
        "2026-Q3",
        out=out,
        workers=1,
        progress=False,
        only=["E002", "E003", "E004"],
        restart_every=10,
    )
    assert [o.status for o in result.outcomes] == ["written"] * 3
    fresh = papermill.execute_notebook(
        str(plan.NOTEBOOKS_DIR / "employee_report.ipynb"),
        str(tmp_path / "fresh.ipynb"),
        parameters={
            "workspace": str(workspace_dir.resolve()),
            "employee_id": "E004",
            "period": "2026-Q3",
            "view": "employee",
        },
        cwd=str(plan.NOTEBOOKS_DIR),
        progress_bar=False,
        kernel_name="python3",
    )
    fresh_shown = _normalised(fresh)
    # the page fragment (published), the twin, and the notebook-safe HTML JupyterLab shows
    assert [m for m, _ in fresh_shown] == [
        "application/vnd.kpinb.page+html",
        "application/vnd.kpinb.report+json",
        "text/html",
    ]
    twin = json.loads((out / "2026-Q3" / "employees" / "E004.json").read_text())
    assert json.dumps(twin, sort_keys=True) == fresh_shown[1][1]
    assert fresh_shown[2][1] == notebook_html(fresh_shown[0][1])
    page = (out / "2026-Q3" / "employees" / "E004.html").read_text(encoding="utf-8")
    # the page holds the fragment as shown, its <style> moved into the page's one block
    style = re.compile(r"<style>(.*?)</style>", re.S)
    shown = fresh_shown[0][1].strip()
    assert style.sub("", shown) in page
    head = page.partition("</head>")[0]
    assert all(css.strip() in head for css in style.findall(shown))
    assert twin["id"] == "E004"
