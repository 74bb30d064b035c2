"""Where batch outputs go and how they get there: safe names, atomic writes, the index.

File names come from ids, never from display names, and are made safe for every
file system (:func:`safe_name`). Every file is written to a temporary name in the
same folder tree, flushed to disk and renamed into place (:func:`atomic_write`), so a
reader never sees half a report. The batch decides *what* to write; this module
only knows *how* to write it safely and how the index page and the manifest look.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from kpinb.errors import BatchError

SCOPE_DIRS = {"employee": "employees", "team": "teams", "department": "departments"}
MAX_STEM = 64  # characters kept from an id before the hash suffix
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(10)}
    | {f"LPT{i}" for i in range(10)}
)
STAGING_PREFIX = ".staging-"
STATE_DIR = ".kpinb"


def display_text(value: object) -> str:
    """``value`` as NFC text without control or format characters (U+202E, zero-width...).

    For names shown on pages: the right-to-left override and friends can make
    one name look like another, so they are dropped before anything is shown.
    """
    text = unicodedata.normalize("NFC", str(value))
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))


def safe_name(identifier: object) -> str:
    """A file-name stem made from an id: ``[A-Za-z0-9._-]``, no leading dot, not reserved.

    An id that is already safe is kept as it is (``E001`` -> ``E001``). Any other id
    is cleaned and gets a short hash of its NFC form, so ``../x`` and ``x`` never share
    a file: ``../x`` -> ``x-<8 hex>``. Ids equal after NFC normalisation share a name
    on purpose, so that :func:`plan_files` reports them as a collision.
    """
    raw = str(identifier)
    text = display_text(raw).strip()
    stem = _NOT_ALLOWED.sub("_", text).strip("._-")[:MAX_STEM].rstrip("._-")
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    if stem == raw:
        return stem
    digest = hashlib.sha256(unicodedata.normalize("NFC", raw).encode("utf-8")).hexdigest()
    return f"{stem or 'id'}-{digest[:8]}"


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
    def notebook(self) -> PurePosixPath:
        """Where the executed notebook of a report that could not be built is kept."""
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


def atomic_write(path: Path, data: bytes | str, *, tmp_dir: Path | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file (in ``tmp_dir``, which must be on the same file
    system, else next to ``path``), are flushed and fsynced, then renamed over ``path``.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = tmp_dir or path.parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # platforms that cannot open a folder (Windows): rename is enough
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


# --- the index page --------------------------------------------------------------------

STATUS_TEXT = {
    "ok": "ready",
    "failed": "not generated this run",
}


@cache
def _environment() -> Any:
    import jinja2

    folder = Path(__file__).parent / "templates" / "nbconvert" / "kpinb"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_index(
    *, period: str, records: Iterable[Mapping[str, Any]], warnings: Iterable[str], generated: str
) -> str:
    """The period's ``index.html``: every report, its status, and the data-quality summary.

    ``records`` are the per-report state records (scope, scope_id, name, view,
    status, html, error); ``warnings`` are the workspace's data-quality warnings
    as sentences. Every value is escaped by the template.
    """
    groups: dict[str, list[dict[str, Any]]] = {scope: [] for scope in SCOPE_DIRS}
    for record in sorted(records, key=lambda r: (r["scope_id"], r["view"])):
        groups.setdefault(record["scope"], []).append(_index_row(record))
    warning_list = [display_text(w) for w in warnings]
    template = _environment().get_template("run_index.html.j2")
    return template.render(
        period=period,
        groups=[(SCOPE_DIRS[scope].capitalize(), rows) for scope, rows in groups.items() if rows],
        warnings=warning_list,
        generated=generated,
        css=_css(),
    )


def _index_row(record: Mapping[str, Any]) -> dict[str, Any]:
    published = bool(record.get("html_sha256"))
    return {
        "name": display_text(record.get("name") or record["scope_id"]),
        "scope_id": display_text(record["scope_id"]),
        "view": record["view"],
        "href": record["html"] if published else None,
        "json": record["json"] if published else None,
        "status": STATUS_TEXT.get(record["status"], record["status"]),
        "attention": record["status"] != "ok",
        "kept_previous": record["status"] != "ok" and published,
        "updated": record.get("updated", ""),
        "quality": record.get("quality", 0),
    }


@cache
def _css() -> Any:
    from markupsafe import Markup

    folder = Path(__file__).parent / "templates" / "nbconvert" / "kpinb"
    return Markup((folder / "kpinb.css").read_text(encoding="utf-8"))  # our own file
