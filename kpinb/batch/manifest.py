"""What a run leaves to read: the period's ``index.html`` and the run's ``run.json``.

The index lists every report of the period with its status and the workspace's
data-quality notes, for readers; the manifest records what one run did and from
which inputs (files, notebooks, code, package versions), for whoever runs the batch.
Both are written at the end of a run (by :mod:`kpinb.batch.run`, atomically).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.batch import inputs
from kpinb.batch.outputs import now_iso, sha256_file
from kpinb.scopes import SCOPE_DIRS
from kpinb.templating import css, environment
from kpinb.text import display_text
from kpinb.version import __version__

if TYPE_CHECKING:
    from kpinb.batch.jobs import ReportJob, ReportOutcome
    from kpinb.workspace import Workspace

# --- the index page --------------------------------------------------------------------

STATUS_TEXT = {
    "ok": "ready",
    "failed": "could not be generated",
}


def render_index(
    *, period: str, records: Iterable[Mapping[str, Any]], warnings: Iterable[str]
) -> str:
    """The period's ``index.html``: every report, its status, and the data-quality summary.

    ``records`` are the per-report state records (scope, scope_id, name, view,
    status, html, updated); ``warnings`` are the workspace's data-quality warnings
    as sentences. Every value is escaped by the template. The page depends on the
    records only (its date is the latest report's), so an unchanged period gives
    the same bytes and the file is left alone.
    """
    records = list(records)
    groups: dict[str, list[dict[str, Any]]] = {scope: [] for scope in SCOPE_DIRS}
    for record in sorted(records, key=lambda r: (r["scope_id"], r["view"])):
        groups.setdefault(record["scope"], []).append(_index_row(record))
    warning_list = [display_text(w) for w in warnings]
    template = environment().get_template("nbconvert/kpinb/run_index.html.j2")
    return template.render(
        period=period,
        show_quality=any(r["quality"] is not None for rows in groups.values() for r in rows),
        groups=[(SCOPE_DIRS[scope].capitalize(), rows) for scope, rows in groups.items() if rows],
        warnings=warning_list,
        generated=_latest(records),
        css=css("nbconvert/kpinb/kpinb.css"),
    )


def _latest(records: list[Mapping[str, Any]]) -> str:
    """When the newest published report was written (``2026-10-01 08:00``), or ''."""
    stamps = [str(r.get("updated", "")) for r in records if r.get("status") == "ok"]
    return max(stamps, default="")[:16].replace("T", " ")


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
        "quality": record.get("quality"),
    }


# --- run.json ----------------------------------------------------------------------------


def run_manifest(
    ws: Workspace,
    period: str,
    jobs: Sequence[ReportJob],
    outcomes: Sequence[ReportOutcome],
    *,
    period_dir: Path,
    workers: int,
    started: str,
    seconds: float,
) -> dict[str, Any]:
    """The content of ``run.json``: the run's inputs, timing, counts and one row per report."""
    files = workspace_files(ws.root)
    return {
        "kpinb_version": __version__,
        "period": period,
        "workspace": str(ws.root),
        "inputs_hash": inputs.digest(*(f"{k}:{v}" for k, v in sorted(files.items()))),
        "workspace_files": files,
        "notebooks": {p.name: inputs.sha256_path(p) for p in sorted({j.notebook for j in jobs})},
        "code_fingerprint": inputs.code_fingerprint(),
        "versions": inputs.package_versions(),
        "started": started,
        "finished": now_iso(),
        "seconds": round(seconds, 3),
        "workers": workers,
        "counts": {
            s: sum(o.status == s for o in outcomes) for s in ("written", "unchanged", "failed")
        },
        "reports": [_manifest_row(o, period_dir) for o in outcomes],
    }


def _manifest_row(outcome: ReportOutcome, period_dir: Path) -> dict[str, Any]:
    files = outcome.job.files
    row: dict[str, Any] = {
        "scope": files.scope,
        "id": files.scope_id,
        "view": files.view,
        "html": str(files.html),
        "json": str(files.json),
        "status": outcome.status,
        "seconds": round(outcome.seconds, 3),
        "inputs_key": outcome.job.key,
    }
    if outcome.error is not None:
        row["error"] = outcome.error
    if outcome.failed_notebook is not None:
        row["failed_notebook"] = str(outcome.failed_notebook.relative_to(period_dir))
    return row


def workspace_files(root: Path | None) -> dict[str, str]:
    """SHA-256 of every file at the top of the workspace folder (hidden files skipped)."""
    if root is None:
        return {}
    return {
        p.name: sha256_file(p)
        for p in sorted(Path(root).iterdir())
        if p.is_file() and not p.name.startswith(".")
    }
