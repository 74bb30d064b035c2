"""Reports published to a URL through fsspec: ``kpinb run ... --out s3://bucket/reports``.

A run always builds into a folder on this machine, where it holds the period's lock,
replaces a page, its twin and its PDF together and keeps each report's state (so a rerun
skips what is current). With a URL as ``--out`` that folder is a mirror in the user's
cache folder (one per URL), and every report published there is uploaded at once: the
twin and the PDF first, the page last, each object written whole (an object store
replaces an object atomically), so a reader who follows the index never opens half a
page. A report whose upload fails counts as failed ("upload: ...") and leaves the mirror,
so the next run builds and uploads it again. ``index.html`` and ``run.json`` go last.
Failure details (executed notebooks) stay in the mirror's private folder: never uploaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from kpinb.errors import BatchError


def is_url(out: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` (an fsspec URL, ``file://`` included), False for a folder."""
    return "://" in str(out)


def mirror_for(url: str) -> Path:
    """The folder on this machine that a run publishing to ``url`` builds into."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kpinb" / "out" / hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


class Uploader:
    """Copies a period's published files from the mirror to ``url``/PERIOD/ (fsspec)."""

    def __init__(self, url: str, period: str) -> None:
        import fsspec

        self.url = url.rstrip("/")
        try:
            self.fs: Any
            self.fs, root = fsspec.core.url_to_fs(self.url)
            self.root = f"{root.rstrip('/')}/{period}"
            self.fs.makedirs(self.root, exist_ok=True)
        except Exception as exc:  # each back end has its own errors (credentials, network)
            msg = (
                f"cannot publish to {url} ({type(exc).__name__}: {exc}); check the URL, that "
                "the fsspec package for its scheme is installed (s3fs, gcsfs, adlfs) and "
                "that its credentials are set"
            )
            raise BatchError(msg) from None
        self.where = f"{self.url}/{period}/"
        self.folders = {self.root}  # made already (a local or mounted file system needs them)

    def put(self, period_dir: Path, relatives: Iterable[PurePosixPath | str]) -> None:
        """Upload each file (relative to the period folder), in the order given."""
        for rel in relatives:
            target = f"{self.root}/{rel}"
            folder = target.rsplit("/", 1)[0]
            if folder not in self.folders:
                self.fs.makedirs(folder, exist_ok=True)
                self.folders.add(folder)
            self.fs.pipe_file(target, (period_dir / rel).read_bytes())

    def remove(self, relatives: Iterable[PurePosixPath | str]) -> None:
        """Remove files of a report that is no longer published (missing ones are fine)."""
        for rel in relatives:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(f"{self.root}/{rel}")
