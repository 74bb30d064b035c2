"""The batch: every coaching report of a review period, in parallel and safely (``kpinb run``).

One run:

1. checks the period, views and ids, validates the workspace (invalid: nothing written);
2. plans every report and its file names, stopping when two ids would share a file,
   and checks that each notebook declares exactly the parameters the batch sends;
3. gives each report an inputs key (its workspace slice, notebook, kpinb code) and
   skips reports whose key and published files are unchanged, unless ``force``;
4. runs the rest on warm kernels (:mod:`kpinb.kernels`), one per worker, checks that
   each finished notebook is about the id it was asked for, converts it to HTML with
   kpinb's nbconvert template and publishes the page and its JSON twin atomically;
   a report that stops keeps its executed notebook under ``failed/`` and is never
   published, and never stops the others;
5. writes ``index.html`` and ``run.json``.

This module checks the arguments (1) and is the ``kpinb run`` command; planning
and inputs keys (2, 3) are :mod:`kpinb.plan` and :mod:`kpinb.inputs`, running and
publishing (4, 5) :mod:`kpinb.runner`, with :mod:`kpinb.outputs` (safe names, atomic
writes, report state), :mod:`kpinb.export` (the page) and :mod:`kpinb.manifest`
(``index.html``, ``run.json``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.errors import BatchError, UsageError, WorkspaceError
from kpinb.outputs import resolve_under
from kpinb.periods import Period, parse_period
from kpinb.plan import ALL_VIEWS, NOTEBOOKS_DIR, make_jobs, plan_requests
from kpinb.runner import RESTART_EVERY, BatchResult, PeriodRun

if TYPE_CHECKING:
    import argparse

    from kpinb.workspace import Workspace


def run_batch(
    workspace_path: str | os.PathLike[str],
    period: str | Period,
    *,
    out: str | os.PathLike[str] = Path("reports"),
    only: Iterable[str] | None = None,
    workers: int | None = None,
    views: Iterable[str] | None = None,
    force: bool = False,
    notebooks_dir: str | os.PathLike[str] | None = None,
    restart_every: int = RESTART_EVERY,
    progress: bool | None = None,
) -> BatchResult:
    """Generate every report of ``period`` for the workspace at ``workspace_path``.

    Parameters
    ----------
    workspace_path
        The workspace folder (SPEC.md "Workspace").
    period
        ``2026-Q3`` or ``2026-09`` (or a :class:`Period`).
    out
        The reports folder; this run writes only inside ``out/<period>/``.
    only
        Ids to limit the run to: employee ids, team ids or department names.
    workers
        Kernels running in parallel (default: the machine's cores).
    views
        Views to produce (employee, manager, executive). Default: each scope in its
        primary view (employees: employee, teams: manager, departments: executive).
    force
        Regenerate reports whose inputs have not changed.
    notebooks_dir
        Folder holding the three report notebooks (default: the repository's).
    restart_every
        Notebooks one kernel runs before it is replaced by a fresh one.
    progress
        Progress bar (True), plain log lines (False), or decide by the terminal (None).

    Raises
    ------
    UsageError
        Bad period, view, worker count or unknown ids (nothing written).
    WorkspaceError
        The workspace is invalid; every problem is listed (nothing written).
    BatchError
        Two reports would share a file, or a notebook's parameters differ from what
        the batch sends (nothing written).
    """
    per = period if isinstance(period, Period) else parse_period(period)
    chosen = _check_views(views)
    count = _check_workers(workers)
    ws = _load(Path(workspace_path))
    requests = plan_requests(ws, per, views=chosen, only=only)
    folder = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    jobs = make_jobs(ws, per, requests, notebooks_dir=folder)
    period_dir = resolve_under(Path(out), per.label)
    run = PeriodRun(
        per,
        period_dir,
        jobs,
        notebooks_dir=folder,
        workers=count,
        restart_every=restart_every,
        progress=progress,
    )
    return run.run(ws, force=force)


def _check_views(views: Iterable[str] | None) -> tuple[str, ...] | None:
    if views is None:
        return None
    chosen = tuple(dict.fromkeys(v.strip() for v in views if v.strip()))
    unknown = [v for v in chosen if v not in ALL_VIEWS]
    if unknown or not chosen:
        msg = f"unknown view(s) {', '.join(unknown) or '(none given)'}; use {', '.join(ALL_VIEWS)}"
        raise UsageError(msg)
    return chosen


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if workers < 1:
        msg = f"--workers must be 1 or more (got {workers})"
        raise UsageError(msg)
    return workers


def _load(path: Path) -> Workspace:
    from kpinb.workspace import validate_workspace

    result = validate_workspace(path)
    if result.workspace is None:
        raise WorkspaceError(list(result.problems), list(result.warnings))
    return result.workspace


# --- command line ----------------------------------------------------------------------


def register(subparsers: Any) -> None:
    """Add ``kpinb run`` to the ``kpinb`` command."""
    parser = subparsers.add_parser(
        "run",
        help="generate every report of a review period",
        description="Generate every coaching report of a review period into OUT/PERIOD/ "
        "(index.html, employees/, teams/, departments/, run.json). Exit 0 when all are "
        "written or unchanged, 1 when some could not be generated, 2 for bad usage, an "
        "invalid workspace or clashing file names (nothing written).",
    )
    parser.add_argument("workspace", type=Path, help="the workspace folder")
    parser.add_argument("--period", required=True, help="review period, e.g. 2026-Q3 or 2026-09")
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), help="reports folder (default: reports)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="IDS",
        help="comma-separated employee ids, team ids or department names",
    )
    parser.add_argument("--workers", type=int, help="parallel kernels (default: the cores)")
    parser.add_argument(
        "--views",
        action="append",
        metavar="VIEWS",
        help="comma-separated views: employee, manager, executive",
    )
    parser.add_argument(
        "--force", action="store_true", help="regenerate reports whose inputs have not changed"
    )
    parser.add_argument(
        "--notebooks",
        type=Path,
        metavar="DIR",
        help="folder with your own employee_report.ipynb, team_report.ipynb and "
        "department_report.ipynb (default: kpinb's)",
    )
    parser.set_defaults(func=_cmd_run)


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _cmd_run(args: argparse.Namespace) -> int:
    try:
        result = run_batch(
            args.workspace,
            args.period,
            out=args.out,
            only=_split(args.only),
            workers=args.workers,
            views=_split(args.views),
            force=args.force,
            notebooks_dir=args.notebooks,
        )
    except (WorkspaceError, BatchError) as exc:
        print(f"kpinb: {exc}", file=sys.stderr)
        print("kpinb: nothing was written.", file=sys.stderr)
        return 2
    print(summary(result))
    return result.exit_code


def summary(result: BatchResult) -> str:
    """The end-of-run summary: counts, each report that could not be generated, the index."""
    lines = [
        f"{len(result.by_status('written'))} written, "
        f"{len(result.by_status('unchanged'))} unchanged, "
        f"{len(result.failed)} could not be generated ({result.period})."
    ]
    for outcome in result.failed:
        lines.append(f"  - {outcome.job.files.label}: {outcome.error}")
        if outcome.failed_notebook is not None:
            lines.append(f"    executed notebook kept at {outcome.failed_notebook}")
    lines.append(f"Index: {result.index}")
    return "\n".join(lines)
