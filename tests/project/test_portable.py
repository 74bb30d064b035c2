"""kpinb on a platform without POSIX-only modules: nothing imports them, the run lock and
the flags lock hold through filelock, and the PDF printer starts Chromium without fcntl."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import filelock
import pytest

from kpinb.batch.publish.folder import hold_lock
from kpinb.errors import BatchError
from kpinb.explorer.forms import _flags_lock, flags_lock_path

ROOT = Path(__file__).resolve().parents[2]
POSIX_ONLY = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "syslog"}


def test_no_module_imports_a_posix_only_module() -> None:
    found = []
    for path in sorted((ROOT / "kpinb").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} {n}"
                for n in names
                if n.split(".")[0] in POSIX_ONLY
            ]
    assert found == []


def test_a_second_run_on_a_locked_period_folder_stops_and_the_lock_is_freed(
    tmp_path: Path,
) -> None:
    with (
        hold_lock(tmp_path),
        pytest.raises(BatchError, match="another kpinb run is writing"),
        hold_lock(tmp_path),
    ):
        pass
    with hold_lock(tmp_path):  # released when the first run ended
        pass


def test_the_flags_lock_is_held_while_a_flag_is_saved(tmp_path: Path) -> None:
    path = flags_lock_path(tmp_path)
    assert tmp_path not in path.parents  # no lock file in the workspace
    with _flags_lock(tmp_path), pytest.raises(filelock.Timeout):
        filelock.FileLock(path, timeout=0).acquire()
    with filelock.FileLock(path, timeout=0):  # free again
        pass
    assert list(tmp_path.iterdir()) == []


# run in a fresh interpreter where ``import fcntl`` fails, as on Windows
_WITHOUT_FCNTL = """
import json, pkgutil, importlib, sys
sys.modules["fcntl"] = None
import kpinb
names = [m.name for m in pkgutil.walk_packages(kpinb.__path__, "kpinb.")]
# __main__ runs the command line; the Dask executor imports distributed, whose locket
# takes msvcrt where fcntl is missing (a real Windows has it; this simulation does not)
names = [n for n in names if n not in ("kpinb.__main__", "kpinb.batch.executors.dask")]
for name in names:
    importlib.import_module(name)
from pathlib import Path
from kpinb.batch.formats import pdf
from kpinb.batch.publish.folder import hold_lock
from kpinb.errors import BatchError
folder = Path(sys.argv[1])
with hold_lock(folder):
    try:
        with hold_lock(folder):
            second = "ran"
    except BatchError as exc:
        second = str(exc)
version = None
if pdf.find_chromium() is not None:
    with pdf.Browser() as browser:
        version = browser.version
print(json.dumps({"modules": len(names), "second": second, "version": version,
                  "fcntl": "fcntl" in sys.modules and sys.modules["fcntl"] is not None}))
"""


def test_without_fcntl_every_module_imports_the_lock_holds_and_chromium_starts(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_WITHOUT_FCNTL), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["modules"] > 100 and not result["fcntl"]
    assert result["second"].startswith(f"another kpinb run is writing {tmp_path}")
    from kpinb.batch.formats.pdf import find_chromium

    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed")
        pytest.skip("Chromium is not installed")
    assert result["version"].startswith(("HeadlessChrome/", "Chrome/"))


def test_on_windows_chromium_gets_the_pipe_handles_by_name_and_inherits_only_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Windows branch of the printer's start: the two pipe ends' OS handles are made
    inheritable, handed over in the start-up info's handle list (nothing else inherited)
    and named by ``--remote-debugging-io-pipes=READ,WRITE`` (Chromium reads commands from
    the first); no POSIX trampoline, no fd passing. Windows' own modules are stood in
    for: this records what would be asked of them."""
    import types

    from kpinb.batch.formats import pdf

    handles = {7: 1700, 8: 1800}  # fd -> the OS handle msvcrt would give
    inheritable: list[tuple[int, bool]] = []
    started: dict[str, object] = {}

    class StartupInfo:
        lpAttributeList: dict[str, list[int]] | None = None

    def popen(argv: list[str], **kwargs: object) -> str:
        started.update(argv=argv, **kwargs)
        return "process"

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(
        sys.modules, "msvcrt", types.SimpleNamespace(get_osfhandle=handles.__getitem__)
    )
    monkeypatch.setattr(
        os, "set_handle_inheritable", lambda h, flag: inheritable.append((h, flag)), raising=False
    )
    monkeypatch.setattr(subprocess, "STARTUPINFO", StartupInfo, raising=False)
    monkeypatch.setattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200, raising=False)
    monkeypatch.setattr(subprocess, "Popen", popen)

    assert pdf._spawn(["chrome.exe", "--headless"], 7, 8, subprocess.DEVNULL) == "process"
    assert started["argv"] == ["chrome.exe", "--headless", "--remote-debugging-io-pipes=1700,1800"]
    assert inheritable == [(1700, True), (1800, True)]
    info = started["startupinfo"]
    assert isinstance(info, StartupInfo)
    assert info.lpAttributeList == {"handle_list": [1700, 1800]}
    assert started["creationflags"] == 0x200
    assert "pass_fds" not in started and "start_new_session" not in started
    assert started["stdin"] is subprocess.DEVNULL and started["stdout"] is subprocess.DEVNULL
    assert "--remote-debugging-pipe" in pdf.FLAGS  # Chromium's switch for the pipe itself
