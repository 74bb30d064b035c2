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

The mirror is private to the account that runs kpinb (folders 0700, files 0600: it holds
every report). It is not trusted over the destination: a report is skipped as current
only when the destination still holds each of its files at the mirror's size
(:meth:`Uploader.holds`), so a page deleted or cut short there is uploaded again. Report
pages at the destination that the mirror does not know (another machine publishes to
the same URL) are named at the start of the run (:meth:`Uploader.foreign`): the index
this run uploads lists only the reports in this machine's mirror.
An ``--out`` that looks like a URL but names no bucket or host (``s3://`` with an empty
variable), or a scheme fsspec does not know, is bad usage (:func:`check_out`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Collection, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from kpinb.errors import BatchError, UsageError
from kpinb.extras import require_for_url

# schemes whose URL names a path on this machine or in memory: no bucket or host needed
_HOSTLESS = frozenset({"file", "local", "memory"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def is_url(out: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` (an fsspec URL, ``file://`` included), False for a folder."""
    return "://" in str(out)


def check_out(out: str | os.PathLike[str]) -> None:
    """Refuse (:class:`UsageError`) an ``--out`` that is meant as a URL but cannot be one: a
    scheme with nothing after it or no bucket or host (``s3://``, ``s3:///reports``: an
    empty shell variable), a scheme fsspec does not know, or ``scheme:`` without ``//``.
    Such a value would otherwise be taken as a local folder (``./s3:/``)."""
    text = str(out)
    if not is_url(text):
        found = _SCHEME.match(text)
        if found and not Path(found.group(1) + ":").exists():
            msg = (
                f"--out {text!r} starts like a URL ({found.group(1)}:) but has no '//'; "
                f"write {found.group(1)}://bucket/folder, or ./{text} for a local folder"
            )
            raise UsageError(msg)
        return
    import fsspec
    from fsspec.registry import registry

    scheme, rest = text.split("://", 1)
    scheme = scheme.rsplit("::", 1)[-1].lower()  # a chained URL: the last scheme's
    known = set(fsspec.available_protocols()) | set(registry)
    if scheme not in known:
        msg = (
            f"--out {text!r}: '{scheme}' is not a storage scheme kpinb can write to (fsspec "
            "knows s3, gs, az, file, memory and more); give a folder or a URL such as "
            "s3://bucket/reports"
        )
        raise UsageError(msg)
    host = rest.split("/", 1)[0]
    if not rest.strip("/") or (scheme not in _HOSTLESS and not host):
        msg = (
            f"--out {text!r} names no bucket or host after '{scheme}://' (is a variable "
            f"such as $BUCKET empty?); give the whole URL, e.g. {scheme}://my-bucket/reports"
        )
        raise UsageError(msg)
    require_for_url(scheme)  # s3fs, gcsfs: their extra, named when missing


def mirror_for(url: str) -> Path:
    """The folder on this machine that a run publishing to ``url`` builds into."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kpinb" / "out" / hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def make_private(mirror: Path) -> None:
    """Make the mirror readable by its owner only: ``kpinb/out`` and every folder in the
    mirror 0700, every file 0600 (the mirror holds every report of the URL)."""
    mirror.mkdir(mode=0o700, parents=True, exist_ok=True)
    mirror.parent.chmod(0o700)
    for folder, _dirs, files in os.walk(mirror):
        Path(folder).chmod(0o700)
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(0o600)


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
        self.sizes = self._sizes()  # what the destination holds now: path -> bytes

    def _sizes(self) -> dict[str, int]:
        """Every file under the period at the destination, relative path -> size."""
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return {}
        prefix = self.root.rstrip("/") + "/"
        return {
            str(path)[len(prefix) :]: int(info.get("size") or 0)
            for path, info in found.items()
            if str(path).startswith(prefix)
        }

    def holds(self, period_dir: Path, relatives: Iterable[PurePosixPath | str]) -> bool:
        """True when the destination holds each file as the mirror does (same size), as
        it was when the run began: otherwise the report is built and uploaded again."""
        for rel in map(str, relatives):
            local = period_dir / rel
            if not local.is_file() or self.sizes.get(rel) != local.stat().st_size:
                return False
        return True

    def foreign(self, known: Collection[str]) -> list[str]:
        """Report pages at the destination that ``known`` (the mirror's and this run's
        pages) does not hold: published there by another machine, or another mirror."""
        return sorted(
            rel for rel in self.sizes if rel.endswith(".html") and "/" in rel and rel not in known
        )

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
