"""Where batch outputs go and how they get there: safe names, atomic writes, report state.

File names come from ids, never from display names, and are made safe for every
file system (:func:`safe_name`). Every file is written to a temporary name in the
same folder tree, flushed to disk and renamed into place (:func:`atomic_write`), so a
reader never sees half a report. Each published report keeps a state record (its
inputs key and file hashes) so a rerun can tell what is current. The batch decides
*what* to write; this module only knows *how* to write it safely. The page itself
comes from :mod:`kpinb.batch.export`, the index and run.json from :mod:`kpinb.batch.manifest`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from kpinb.batch.glance import glance
from kpinb.errors import BatchError
from kpinb.filenames import safe_name
from kpinb.files import atomic_write, atomic_write_together
from kpinb.scopes import SCOPE_DIRS
from kpinb.text import display_text

STAGING_PREFIX = ".staging-"
STATE_DIR = ".kpinb"
# failure details (executed notebooks, full errors): next to the period folders that
# readers browse, never inside them, readable by the account that ran kpinb only
PRIVATE_DIR = ".kpinb-private"


@dataclass(frozen=True)
class ReportFiles:
    """Where one report goes, relative to the period folder: its HTML page and JSON twin."""

    scope: str
    scope_id: str
    view: str
    stem: str

    @property
    def html(self) -> PurePosixPath:
        """``employees/E001.html`` (or ``employees/E001.manager.html`` for a second view)."""
        return PurePosixPath(SCOPE_DIRS[self.scope], f"{self.stem}.html")

    @property
    def json(self) -> PurePosixPath:
        """The JSON twin next to the HTML page."""
        return self.html.with_suffix(".json")

    @property
    def pdf(self) -> PurePosixPath:
        """The PDF next to the HTML page (``kpinb run --formats html,pdf``)."""
        return self.html.with_suffix(".pdf")

    @property
    def notebook(self) -> PurePosixPath:
        """Where the executed notebook of a report that could not be built is kept,
        relative to the period's private folder (:func:`private_dir`)."""
        return PurePosixPath("failed") / self.html.with_suffix(".ipynb")

    @property
    def label(self) -> str:
        """``employee E001 (manager view)``: how messages name the report."""
        return f"{self.scope} {display_text(self.scope_id)!r} ({self.view} view)"


def plan_files(requests: Iterable[tuple[str, str, str, bool]]) -> list[ReportFiles]:
    """File names for ``(scope, scope_id, view, primary)`` requests, checked for collisions.

    The primary view of a scope is written to ``<id>.html``, any other view to
    ``<id>.<view>.html``. Names are compared case-insensitively (macOS and Windows
    file systems would merge ``E001`` and ``e001``): if two reports would share a
    file, :class:`BatchError` lists every such pair before anything is written.
    """
    planned = []
    for scope, scope_id, view, primary in requests:
        stem = safe_name(scope_id) if primary else f"{safe_name(scope_id)}.{view}"
        planned.append(ReportFiles(scope, scope_id, view, stem))
    _check_collisions(planned)
    return planned


def _check_collisions(planned: list[ReportFiles]) -> None:
    seen: dict[str, list[ReportFiles]] = defaultdict(list)
    for files in planned:
        seen[str(files.html).casefold()].append(files)
    clashes = [group for group in seen.values() if len(group) > 1]
    if not clashes:
        return
    lines = [f"{len(clashes)} file name(s) would hold more than one report; nothing was written:"]
    for group in clashes:
        who = " and ".join(f.label for f in group)
        lines.append(f"  - {who} all map to {group[0].html}")
    lines.append("Fix: make these ids differ by more than letter case, accents or symbols.")
    raise BatchError("\n".join(lines))


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


def sha256_bytes(data: bytes | str) -> str:
    """Hex SHA-256 of ``data`` (text is hashed as UTF-8)."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def dumps_json(data: Any) -> str:
    """Stable, readable JSON (sorted keys, UTF-8, trailing newline)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second (for the manifest and index only)."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


# --- per-report state: what was published, from which inputs ---------------------------


def _state_relative(files: ReportFiles) -> PurePosixPath:
    return PurePosixPath(STATE_DIR, "state", f"{files.html}.json")


def _state_path(period_dir: Path, files: ReportFiles) -> Path:
    return resolve_under(period_dir, _state_relative(files))


def read_states(period_dir: Path) -> dict[str, dict[str, Any]]:
    """Every report's state record in ``period_dir``, keyed by its HTML path."""
    states = {}
    for path in (period_dir / STATE_DIR / "state").rglob("*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # unreadable: treated as never published
            continue
        states[record.get("html", "")] = record
    return states


def is_current(
    period_dir: Path, state: Mapping[str, Any] | None, key: str, *, pdf: bool = False
) -> bool:
    """True when the published report was built from ``key`` and its files are intact
    (with ``pdf``, its PDF too)."""
    if not state or state.get("status") != "ok" or state.get("key") != key:
        return False
    for part in ("html", "json", "pdf") if pdf else ("html", "json"):
        if not state.get(part):
            return False
        path = period_dir / state[part]
        if not path.is_file() or sha256_file(path) != state.get(f"{part}_sha256"):
            return False
    return True


def _write_state(
    period_dir: Path, files: ReportFiles, record: dict[str, Any], staging: Path
) -> None:
    base = {
        "scope": files.scope,
        "scope_id": files.scope_id,
        "view": files.view,
        "html": str(files.html),
        "json": str(files.json),
        "updated": now_iso(),
    }
    atomic_write(_state_path(period_dir, files), dumps_json({**base, **record}), tmp_dir=staging)


def publish(
    period_dir: Path,
    files: ReportFiles,
    html: str,
    twin: Mapping[str, Any],
    *,
    name: str,
    key: str,
    staging: Path,
    pdf: bytes | None = None,
) -> None:
    """Put one finished report in place: its JSON twin, HTML page and PDF (when given)
    together, then its state record.

    All files are written whole before any replaces its earlier version, so a full
    disk or an unwritable folder leaves the earlier set as it was (and raises); a run
    killed in between leaves the state record behind, so the next run rebuilds it. A
    page published without a PDF removes an earlier PDF, which would no longer match.
    """
    twin_text = dumps_json(twin)
    written = [
        (resolve_under(period_dir, files.json), twin_text),
        (resolve_under(period_dir, files.html), html),
    ]
    if pdf is not None:
        written.append((resolve_under(period_dir, files.pdf), pdf))
    atomic_write_together(written, tmp_dir=staging)
    if pdf is None:
        resolve_under(period_dir, files.pdf).unlink(missing_ok=True)
    private = private_dir(period_dir, create=False)
    resolve_under(private, files.notebook).unlink(missing_ok=True)  # an earlier failure
    quality = twin.get("data_quality")
    record = {
        "status": "ok",
        "key": key,
        "name": name,
        "html_sha256": sha256_bytes(html),
        "json_sha256": sha256_bytes(twin_text),
        **({"pdf": str(files.pdf), "pdf_sha256": sha256_bytes(pdf)} if pdf is not None else {}),
        "quality": len(quality) if isinstance(quality, list | tuple) else None,
        **glance(twin),  # the index's at-a-glance figures
    }
    _write_state(period_dir, files, record, staging)


def keep_failed(
    period_dir: Path, files: ReportFiles, nb: Any, error: str, *, name: str, staging: Path
) -> Path | None:
    """Keep the executed notebook of a report that could not be built, in the period's
    private folder (``failed/``); the state record keeps the error's kind only.

    Nothing is published, and a previously published version stays where it was.
    Returns the notebook's path (``None`` when there is no notebook to keep).
    """
    import nbformat

    kept = None
    if nb is not None:
        try:
            kept = resolve_under(private_dir(period_dir), files.notebook)
            kept.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(kept, nbformat.writes(nb), tmp_dir=staging, private=True)
        except OSError:  # a full disk: the record below still says what happened
            kept = None
    # the published page (from the last good run, however many failures ago) stays put
    previous = read_states(period_dir).get(str(files.html), {})
    keep = (
        "status",
        "key",
        "name",
        "error",
        "html",
        "json",
        "scope",
        "scope_id",
        "view",
        "updated",
    )
    record = {  # the kept page's hashes and at-a-glance counts stay with it
        k: v for k, v in previous.items() if previous.get("html_sha256") and k not in keep
    }
    record.update({"status": "failed", "key": "", "name": name, "error": error_kind(error)})
    _write_state(period_dir, files, record, staging)
    return kept


def check_targets(period_dir: Path, files: Iterable[ReportFiles]) -> None:
    """Refuse, before anything is written, a report whose files would land outside the
    period folder (a planted symlink): :func:`resolve_under` for every file a run writes."""
    for item in files:
        for relative in (item.html, item.json, item.pdf, _state_relative(item)):
            resolve_under(period_dir, relative)


def remove_report(period_dir: Path, html: str) -> None:
    """Unpublish one report: its page, its twin, its PDF and its state record."""
    page = resolve_under(period_dir, html)
    for path in (page, page.with_suffix(".json"), page.with_suffix(".pdf")):
        path.unlink(missing_ok=True)
    resolve_under(period_dir, PurePosixPath(STATE_DIR, "state", f"{html}.json")).unlink(
        missing_ok=True
    )


_CELL = re.compile(r"^(?:cell (\d+)|the kernel)(?: \(In \[\d*\]\))?: ([A-Za-z_][\w.]*)")
_KNOWN = (
    "the page would fetch from another host",
    "the report built is not the one asked for",
    "the notebook displayed no report",
)


def error_kind(error: str) -> str:
    """The kind of a report's error message, with nothing from the data in it."""
    match = _CELL.match(error)
    if match:
        where = f"cell {match.group(1)}" if match.group(1) else "the kernel"
        return f"{match.group(2)} in {where}"
    if error.startswith("disk: "):
        return error.split(" (", 1)[0]
    return next((known for known in _KNOWN if error.startswith(known)), "other error")


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
    """Hold the period folder's lock: a second run on the same folder stops at once."""
    folder = period_dir / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("a+") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock, runs must not overlap
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            msg = f"another kpinb run is writing {period_dir}; wait for it to finish"
            raise BatchError(msg) from None
        yield
