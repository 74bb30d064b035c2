"""What one run did, for whoever runs the batch: ``run.json`` and the failure details.

The manifest records what one run did and from which inputs (files, notebooks, code,
package versions); the failure details (``details.json``, in the private folder) give
each failed report's full error and its kept notebook. Both are written at the end of a
run (by :mod:`kpinb.batch.period_run`, atomically).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.batch.planning import inputs_keys
from kpinb.batch.publish.folder import PRIVATE_DIR, now_iso
from kpinb.hashing import digest, sha256_file
from kpinb.version import __version__

if TYPE_CHECKING:
    from kpinb.batch.records import ReportJob, ReportOutcome
    from kpinb.workspace import Workspace


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
        "workspace": ws.root.name if ws.root is not None else "",
        "inputs_hash": digest(*(f"{k}:{v}" for k, v in sorted(files.items()))),
        "workspace_files": files,
        "notebooks": {p.name: sha256_file(p) for p in sorted({j.notebook for j in jobs})},
        "code_fingerprint": inputs_keys.code_fingerprint(),
        "versions": inputs_keys.package_versions(),
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
    if outcome.error is not None:  # the kind only: details may quote people's data
        row["error_kind"] = outcome.error_kind
    return row


def failure_details(outcomes: Sequence[ReportOutcome], period_dir: Path) -> dict[str, Any]:
    """What the operator needs to fix failed reports (``details.json`` in the private
    folder): each report's full error and where its executed notebook is kept."""
    private = period_dir.parent / PRIVATE_DIR / period_dir.name
    return {
        "period": period_dir.name,
        "failed": [
            {
                "report": o.job.files.label,
                "html": str(o.job.files.html),
                "error": o.error,
                "notebook": (
                    str(o.failed_notebook.relative_to(private)) if o.failed_notebook else None
                ),
            }
            for o in outcomes
            if o.status == "failed"
        ],
    }


def check_owner(period_dir: Path, ws: Workspace) -> None:
    """Refuse a period folder whose ``run.json`` was written for another workspace (by
    its folder name): a run would remove that workspace's reports as people no longer
    in this one, a delivery would send them. Nothing is written or sent."""
    import json

    from kpinb.errors import BatchError

    path = period_dir / "run.json"
    try:
        theirs = str(json.loads(path.read_text("utf-8")).get("workspace", ""))
    except (OSError, ValueError, AttributeError):
        return  # no run yet, or a run.json no run of this kpinb wrote
    mine = ws.root.name if ws.root is not None else ""
    if theirs and mine and theirs != mine:
        msg = (
            f"{period_dir} holds the reports of workspace {theirs!r}, not of {mine!r}; "
            "nothing was changed. Use another output folder for this workspace (--out, or "
            f"--reports for kpinb deliver), or remove {period_dir} first to replace them"
        )
        raise BatchError(msg)


def workspace_files(root: Path | None) -> dict[str, str]:
    """SHA-256 of every file at the top of the workspace folder.

    Hidden files are skipped, and so are SQLite's side files of the journal
    (``journal.sqlite-wal``, ``-shm``, ``-journal``): they come and go with open
    connections, so their bytes say nothing about the run's inputs.
    """
    if root is None:
        return {}
    return {
        p.name: sha256_file(p)
        for p in sorted(Path(root).iterdir())
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.endswith(("-wal", "-shm", "-journal"))
    }
