"""One atomic file writer: readers see the old file or the new one, never half of it.

Every file kpinb publishes (reports, twins, index, run.json, spreadsheets, the demo's
tables) goes through :func:`atomic_open` or :func:`atomic_write`: the bytes go to a
temporary file in the same folder, are flushed and fsynced, get the permissions an
ordinary file would get under the process umask (``mkstemp`` makes them private),
then are renamed over the target, and the folder is fsynced.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def current_umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no other way to read it: set and restore at once
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(
    path: Path,
    mode: str = "wb",
    *,
    tmp_dir: Path | None = None,
    private: bool = False,
    **open_kwargs: Any,
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; on success it replaces ``path`` atomically.

    ``tmp_dir`` must be on the same file system as ``path`` (default: its folder).
    On any error the temporary file is removed and ``path`` is left as it was.
    ``private``: readable by the owner only (0600), for files about people that
    readers of the reports must not see.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir or path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o600 if private else 0o666 & ~current_umask())
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write(
    path: Path, data: bytes | str, *, tmp_dir: Path | None = None, private: bool = False
) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically."""
    with atomic_open(path, "wb", tmp_dir=tmp_dir, private=private) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def atomic_write_together(files: list[tuple[Path, bytes | str]], *, tmp_dir: Path) -> None:
    """Write several files so that all of them are replaced or none is (a page and its
    twin): every new file is written whole to ``tmp_dir`` first (a full disk stops it
    there), then each is renamed into place; if a rename fails, the ones already
    renamed get their earlier version back."""
    written: list[tuple[Path, Path]] = []
    try:
        for path, data in files:
            fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=f".{path.name}.", suffix=".tmp")
            written.append((path, Path(tmp)))
            os.chmod(tmp, 0o666 & ~current_umask())
            with os.fdopen(fd, "wb") as handle:
                handle.write(data.encode("utf-8") if isinstance(data, str) else data)
                handle.flush()
                os.fsync(handle.fileno())
        _swap_in(written, tmp_dir)
    finally:
        for _, leftover in written:
            leftover.unlink(missing_ok=True)


def _swap_in(written: list[tuple[Path, Path]], tmp_dir: Path) -> None:
    """Rename each new file over its target, keeping the old ones until all are in."""
    kept: list[tuple[Path, Path | None]] = []
    try:
        for path, tmp in written:
            path.parent.mkdir(parents=True, exist_ok=True)
            old = None
            if path.exists():
                old = Path(tempfile.mktemp(dir=tmp_dir, prefix=f".{path.name}.", suffix=".old"))
                os.replace(path, old)
            kept.append((path, old))
            os.replace(tmp, path)
    except BaseException:
        for path, old in reversed(kept):
            if old is not None:
                os.replace(old, path)
            else:
                path.unlink(missing_ok=True)
        raise
    for _, old in kept:
        if old is not None:
            old.unlink(missing_ok=True)
    for folder in dict.fromkeys(path.parent for path, _ in kept):  # a page and its twin: once
        _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # platforms that cannot open a folder (Windows): rename is enough
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
