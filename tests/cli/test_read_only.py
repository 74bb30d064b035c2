"""A workspace that cannot be written: every command that only reads works, every command
that would write the journal stops with a sentence, and nothing in the folder changes.

The commands run in a child process that really cannot write the folder: the folder is
made read-only (``chmod -R a-w``) and, when the tests run as root (who ignores file modes),
the child runs without the capabilities that let root write anyway (``setpriv``, from
util-linux). A second variant mounts the folder read-only (a private mount namespace), the
case where SQLite cannot create the journal's ``-wal`` and ``-shm`` files at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import kpinb
from kpinb import journal
from kpinb.journal import Action, Entry
from tests.support import wsfactory

REPO = Path(kpinb.__file__).resolve().parents[1]
# root writes through file modes: a child without these capabilities cannot
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]
ADD = [
    "checkin", "add", "--employee", "00124", "--author", "Bo", "--what-moved", "x",
    "--why-moved", "y", "--expected-impact", "z", "--support-needed", "none",
    "--diagnosis", "none", "--date", "2026-07-02",
]  # fmt: skip
DECIDE = [
    "calibration", "decide", "--period", "2026-Q3", "--employee", "00124", "--agreed", "4",
    "--reason", "steady", "--by", "HR",
]  # fmt: skip


def _entry() -> Entry:
    action = Action("pair up", "Ada", dt.date(2026, 8, 1))
    return Entry(
        dt.date(2026, 7, 1), "00123", "Ada", "calls up", "new script", "more deals",
        "coaching", "execution", (action,),
    )  # fmt: skip


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Path]:
    """A workspace with one check-in (one open action) and one calibration decision."""
    root = wsfactory.write(tmp_path / "ws")
    journal.add_entry(root, _entry())
    journal.record_decision(
        root, "2026-Q3", "00123", agreed=3, proposed=4, reason="late data", decided_by="HR",
        decided_on="2026-10-01",
    )  # fmt: skip
    yield root
    for path in [root, *root.iterdir()]:  # let pytest remove it again
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _freeze(folder: Path) -> dict[str, bytes]:
    """Make ``folder`` read-only; returns what it holds, to compare with afterwards."""
    held = {p.name: p.read_bytes() for p in folder.iterdir()}
    for path in [*folder.iterdir(), folder]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return held


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _kpinb(how: str, folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``kpinb argv`` (``WS`` stands for ``folder``) where ``folder`` cannot be written.

    ``how`` is "modes" (file modes, and no capabilities to override them) or "mount" (a
    read-only bind mount of the folder over itself, seen by the child only). The child
    first proves that it cannot create a file in the folder.
    """
    args = [str(folder) if a == "WS" else a for a in argv]
    probe = (
        "import sys, pathlib\n"
        "try:\n    pathlib.Path(sys.argv[1], 'probe').write_text('x')\n"
        "except OSError:\n    pass\n"
        "else:\n    sys.exit('the folder could be written: the test proves nothing')\n"
        "from kpinb.cli.main import main\nsys.exit(main(sys.argv[2:]))\n"
    )
    child = [sys.executable, "-c", probe, str(folder), *args]
    if how == "mount":
        mount = f"mount --bind -o ro '{folder}' '{folder}' && exec \"$@\""
        userns = [] if os.geteuid() == 0 else ["-r"]
        command = ["unshare", "-m", *userns, "sh", "-c", mount, "sh", *child]
    else:
        command = [*NO_OVERRIDE, *child] if os.geteuid() == 0 else child
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=folder.parent)


def _mount_works(folder: Path) -> bool:
    userns = [] if os.geteuid() == 0 else ["-r"]
    mount = f"mount --bind -o ro '{folder}' '{folder}'"
    if shutil.which("unshare") is None:
        return False
    done = subprocess.run(["unshare", "-m", *userns, "sh", "-c", mount], capture_output=True)
    return done.returncode == 0


HOWS = ["modes", "mount"]


@pytest.mark.parametrize("how", HOWS)
def test_reading_commands_work_on_a_read_only_workspace(ws, tmp_path, how) -> None:
    if how == "mount" and not _mount_works(ws):
        pytest.skip("this machine does not allow a private read-only mount")
    held = _freeze(ws) if how == "modes" else _contents(ws)
    listed = _kpinb(how, ws, "checkin", "list", "WS")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert "#1  2026-07-01  00123  (by Ada; diagnosis: execution)" in listed.stdout
    assert "[open] action 1: pair up (owner Ada, due 2026-08-01)" in listed.stdout
    export = tmp_path / "export.csv"
    exported = _kpinb(how, ws, "checkin", "export", "WS", "--format", "csv", "--out", str(export))
    assert exported.returncode == 0, exported.stderr
    assert '"00123","Ada","calls up"' in export.read_text(encoding="utf-8-sig")
    decisions = _kpinb(how, ws, "calibration", "decisions", "WS", "--period", "2026-Q3")
    assert (decisions.returncode, decisions.stderr) == (0, "")
    assert decisions.stdout.strip() == "#1 2026-10-01 00123: 4 -> 3 (HR): late data"
    assert _contents(ws) == held  # no -wal, no -shm, nothing changed


@pytest.mark.parametrize("how", HOWS)
def test_writing_commands_fail_with_a_sentence_on_a_read_only_workspace(ws, how) -> None:
    if how == "mount" and not _mount_works(ws):
        pytest.skip("this machine does not allow a private read-only mount")
    held = _freeze(ws) if how == "modes" else _contents(ws)
    for argv in (ADD, DECIDE):
        done = _kpinb(how, ws, *argv[:2], "WS", *argv[2:])
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert f"nothing was saved: the workspace folder {ws} cannot be written" in done.stderr
        assert "Fix: make the folder writable for this account, or copy the workspace to a " \
               "writable folder" in done.stderr  # fmt: skip
    assert _contents(ws) == held


def test_a_new_journal_in_a_read_only_workspace_is_refused_with_the_same_sentence(
    tmp_path,
) -> None:
    root = wsfactory.write(tmp_path / "fresh")
    _freeze(root)
    try:
        done = _kpinb("modes", root, *ADD[:2], "WS", *ADD[2:])
    finally:
        root.chmod(0o755)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"the workspace folder {root} cannot be written" in done.stderr
    assert not (root / "journal.sqlite").exists()


def test_a_write_ahead_log_left_beside_the_journal_is_read_too(ws, tmp_path) -> None:
    """A copy taken while a writer had the journal open holds its last check-in only in
    ``journal.sqlite-wal`` (and no ``-shm``): a read-only reader must still see it."""
    holder = sqlite3.connect(ws / "journal.sqlite")  # keeps the log from being merged
    holder.execute("SELECT COUNT(*) FROM entries").fetchall()
    journal.add_entry(ws, dataclasses.replace(_entry(), employee_id="00125"))
    copy = tmp_path / "copy"
    shutil.copytree(ws, copy, ignore=shutil.ignore_patterns("*-shm"))
    holder.close()
    assert (copy / "journal.sqlite-wal").stat().st_size > 0
    held = _freeze(copy)
    try:
        listed = _kpinb("modes", copy, "checkin", "list", "WS")
    finally:
        copy.chmod(0o755)
    assert (listed.returncode, listed.stderr) == (0, "")
    assert "00123" in listed.stdout and "00125" in listed.stdout
    assert _contents(copy) == held


def test_a_run_reads_a_read_only_workspace_and_shows_its_check_ins(ws, tmp_path) -> None:
    _freeze(ws)
    out = tmp_path / "reports"
    done = _kpinb("modes", ws, "run", "WS", "--period", "2026-Q3", "--out", str(out),
                  "--only", "00123")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 written, 0 unchanged, 0 could not be generated (2026-Q3)." in done.stdout
    page = next((out / "2026-Q3" / "employees").glob("*.html")).read_text(encoding="utf-8")
    assert "pair up" in page  # the open action, read from the journal


def test_a_journal_this_account_may_not_read_is_named_without_a_traceback(ws) -> None:
    (ws / "journal.sqlite").chmod(0)
    _freeze(ws)
    listed = _kpinb("modes", ws, "checkin", "list", "WS")
    assert listed.returncode == 1 and "Traceback" not in listed.stderr
    assert f"{ws / 'journal.sqlite'} cannot be read" in listed.stderr
    assert "Fix: let this account read the file" in listed.stderr
