"""Each published report: its files, put in place together, and its state record.

A report is published as one file per output format (:mod:`kpinb.batch.formats`), all
written whole before any replaces its earlier version. Each published report keeps a
state record (its inputs key and file hashes) so a rerun can tell what is current; a
report that could not be built keeps its executed notebook in the private folder and
its earlier files where they were.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from kpinb.batch.formats import registry
from kpinb.batch.formats.twin import dumps_json
from kpinb.batch.publish.folder import STATE_DIR, now_iso, private_dir, resolve_under
from kpinb.batch.publish.glance import glance
from kpinb.batch.records import BuiltReport, ReportFiles, error_kind
from kpinb.files import atomic_write, atomic_write_together
from kpinb.hashing import sha256_bytes, sha256_file

if TYPE_CHECKING:
    from kpinb.batch.formats.base import OutputFormat


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
    period_dir: Path,
    state: Mapping[str, Any] | None,
    key: str,
    *,
    formats: Iterable[OutputFormat] | None = None,
) -> bool:
    """True when the published report was built from ``key`` and its files in ``formats``
    (default: the formats every report has) are intact."""
    if not state or state.get("status") != "ok" or state.get("key") != key:
        return False
    for part in (f.name for f in formats or registry.select(())):
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
    twin: Mapping[str, Any],
    rendered: Mapping[OutputFormat, str | bytes],
    *,
    name: str,
    key: str,
    staging: Path,
) -> None:
    """Put one finished report in place: a file per format of ``rendered`` together, then
    its state record.

    All files are written whole before any replaces its earlier version, so a full
    disk or an unwritable folder leaves the earlier set as it was (and raises); a run
    killed in between leaves the state record behind, so the next run rebuilds it. A
    report published without one of the registered formats (a PDF) removes that earlier
    file, which would no longer match.
    """
    atomic_write_together(
        [(resolve_under(period_dir, files.path(f.suffix)), data) for f, data in rendered.items()],
        tmp_dir=staging,
    )
    made = {f.name for f in rendered}
    for fmt in registry.FORMATS.values():
        if fmt.name not in made:
            resolve_under(period_dir, files.path(fmt.suffix)).unlink(missing_ok=True)
    private = private_dir(period_dir, create=False)
    resolve_under(private, files.notebook).unlink(missing_ok=True)  # an earlier failure
    quality = twin.get("data_quality")
    record: dict[str, Any] = {"status": "ok", "key": key, "name": name}
    for fmt, data in rendered.items():
        record[fmt.name] = str(files.path(fmt.suffix))
        record[f"{fmt.name}_sha256"] = sha256_bytes(data)
    record["quality"] = len(quality) if isinstance(quality, list | tuple) else None
    record.update(glance(twin))  # the index's at-a-glance figures
    _write_state(period_dir, files, record, staging)


def render(
    formats: Iterable[OutputFormat],
    sessions: Mapping[str, Any],
    built: BuiltReport,
    files: ReportFiles,
) -> dict[OutputFormat, str | bytes]:
    """Each format's file of one built report (``sessions``: what each format opened for
    the run, by name). A format that fails raises :class:`RenderError` naming it."""
    rendered = {}
    for fmt in formats:
        try:
            rendered[fmt] = fmt.render(sessions.get(fmt.name), built, files)
        except RuntimeError as exc:  # a format's own failure (the browser's BrowserError)
            raise RenderError(f"{fmt.name.upper()}: {exc}") from exc
    return rendered


class RenderError(Exception):
    """A format could not render a report; the message starts with the format's name."""


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
        paths = [item.path(suffix) for suffix in registry.suffixes()]
        for relative in (*paths, _state_relative(item)):
            resolve_under(period_dir, relative)


def remove_report(period_dir: Path, html: str) -> None:
    """Unpublish one report: its file of every format and its state record."""
    page = resolve_under(period_dir, html)
    for suffix in registry.suffixes():
        page.with_suffix(suffix).unlink(missing_ok=True)
    resolve_under(period_dir, PurePosixPath(STATE_DIR, "state", f"{html}.json")).unlink(
        missing_ok=True
    )
