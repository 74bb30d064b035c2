"""The period folder a run publishes into: its lock, staging, private folder, safe paths.

Every file a run writes is resolved inside the period folder (:func:`resolve_under`),
written to a temporary name in the same tree and renamed into place
(:func:`kpinb.files.atomic_write`), so a reader never sees half a report. One run at a
time holds a period folder (:func:`hold_lock`); failure details go to a private folder
beside it (:func:`private_dir`). What a report's files and state are is
:mod:`kpinb.batch.publish.reports`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import filelock

from kpinb.errors import BatchError
from kpinb.files import atomic_write

STAGING_PREFIX = ".staging-"
STATE_DIR = ".kpinb"
# failure details (executed notebooks, full errors): next to the period folders that
# readers browse, never inside them, readable by the account that ran kpinb only
PRIVATE_DIR = ".kpinb-private"


def resolve_under(root: Path, relative: PurePosixPath | str) -> Path:
    """``root / relative``, refusing any path that resolves outside ``root``."""
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        msg = f"refusing to write {path}: it is outside the output folder {base}"
        raise BatchError(msg)
    return path


def write_if_changed(path: Path, data: str, *, tmp_dir: Path | None = None) -> bool:
    """Atomically write ``data`` unless ``path`` already holds exactly it; True if written."""
    payload = data.encode("utf-8")
    if path.is_file() and path.read_bytes() == payload:
        return False
    atomic_write(path, payload, tmp_dir=tmp_dir)
    return True


def make_staging(period_dir: Path) -> Path:
    """A fresh hidden staging folder inside ``period_dir``, after removing stale ones.

    Staging folders left by a killed run hold only unfinished files; nothing in them
    was ever published, so they are deleted. The caller holds the period's lock.
    """
    for stale in period_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in period_dir.rglob(".*.tmp"):
        stale.unlink(missing_ok=True)
    return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=period_dir))


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second (for the manifest and index only)."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def private_dir(period_dir: Path, *, create: bool = True) -> Path:
    """``<out>/.kpinb-private/<period>/``: failure details of a period's run, outside the
    folder readers browse, readable by its owner only (0700)."""
    folder = period_dir.parent / PRIVATE_DIR / period_dir.name
    if create:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for level in (folder.parent, folder):
            level.chmod(0o700)
    return folder


def check_writable(period_dir: Path) -> None:
    """Stop before anything is written when the period folder cannot be written at all
    (a read-only disk, a file in its place, no permission)."""
    try:
        period_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=period_dir, prefix=".probe-"):
            pass
    except OSError as exc:
        msg = (
            f"cannot write reports to {period_dir} ({exc.strerror or exc}); choose another "
            "--out folder or make this one writable"
        )
        raise BatchError(msg) from None


@contextmanager
def hold_lock(period_dir: Path) -> Iterator[None]:
    """Hold the period folder's lock: a second run on the same folder stops at once.

    The lock is ``filelock``'s, so it holds on every platform (``flock`` on POSIX,
    ``msvcrt`` on Windows) and is released when the run ends, however it ends."""
    folder = period_dir / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(folder / "lock", timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        msg = f"another kpinb run is writing {period_dir}; wait for it to finish"
        raise BatchError(msg) from None
    try:
        yield
    finally:
        lock.release()
