"""``kpinb run``: every report of a review period (the batch), with a summary at the end."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.errors import BatchError, WorkspaceError

if TYPE_CHECKING:
    from kpinb.batch import BatchResult


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
    parser.add_argument(
        "--period", required=True, help="review period, e.g. 2026-Q3, FY2027-Q1 (fiscal) or 2026-09"
    )
    parser.add_argument(
        "--out",
        default="reports",
        help="reports folder (default: reports), or a URL such as s3://bucket/reports "
        "(built in a mirror folder here, each report uploaded as it is published)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="IDS",
        help="comma-separated employee ids, team ids or department names",
    )
    parser.add_argument("--workers", type=int, help="parallel kernels (default: the cores)")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="build the reports on the workers of this Dask scheduler (tcp://host:8786) "
        "instead of on this machine (docs/scale-out.md)",
    )
    parser.add_argument(
        "--views",
        action="append",
        metavar="VIEWS",
        help="comma-separated views: employee, manager, executive, calibration (the "
        "period's calibration pack in OUT/PERIOD/calibration/)",
    )
    parser.add_argument(
        "--force", action="store_true", help="regenerate reports whose inputs have not changed"
    )
    parser.add_argument(
        "--formats",
        action="append",
        metavar="FORMATS",
        help="comma-separated output formats: html and json (always, the page and its "
        "twin), pdf (printed by headless Chromium, which must be installed)",
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
    from kpinb.batch import run_batch
    from kpinb.batch.publish.uploads import is_url
    from kpinb.cli.demo import check_out_folder

    if not is_url(args.out):  # a file there: bad usage (exit 2), not a traceback
        check_out_folder(Path(args.out), "--out")
    try:
        result = run_batch(
            args.workspace,
            args.period,
            out=args.out,
            only=_split(args.only),
            workers=args.workers,
            scheduler=args.scheduler,
            views=_split(args.views),
            force=args.force,
            notebooks_dir=args.notebooks,
            formats=_split(args.formats) or ("html",),
        )
    except (WorkspaceError, BatchError) as exc:
        print(f"kpinb: {exc}", file=sys.stderr)
        print("kpinb: nothing was written.", file=sys.stderr)
        return 2
    print(summary(result))
    note = _empty_period_note(args.workspace, result.period)
    if note:
        print(note)
    return result.exit_code


def _empty_period_note(workspace: Path, period: str) -> str | None:
    """The note for a period in which no one has a value (see ``empty_period_note``)."""
    from kpinb.batch.planning.plan import empty_period_note
    from kpinb.errors import KpinbError
    from kpinb.periods import parse_period
    from kpinb.workspace import load_workspace

    try:
        ws = load_workspace(workspace, cache=True)
    except KpinbError:  # changed since the run began: no note rather than a false one
        return None
    return empty_period_note(ws, parse_period(period, ws.settings.fiscal_year_start))


def summary(result: BatchResult) -> str:
    """The end-of-run summary: counts, each report that could not be generated, the index."""
    lines = [
        f"{len(result.by_status('written'))} written, "
        f"{len(result.by_status('unchanged'))} unchanged, "
        f"{len(result.failed)} could not be generated ({result.period})."
    ]
    from kpinb.batch.records import CLUSTER_LOST

    lost = [o for o in result.failed if o.error_kind == CLUSTER_LOST]
    if lost:
        lines.append(
            f"The Dask cluster lost its workers during the run: {len(lost)} report(s) were not "
            "built. Start workers with `dask worker ADDRESS` (docs/scale-out.md) and run the "
            "same command again; it builds only those."
        )
    for outcome in result.failed:
        lines.append(f"  - {outcome.job.files.label}: {outcome.error}")
        if outcome.failed_notebook is not None:
            lines.append(f"    executed notebook kept (for you only) at {outcome.failed_notebook}")
    lines += [f"  ! {problem}" for problem in result.unwritten]
    if result.removed:
        lines.append(
            f"Removed {len(result.removed)} report(s) whose subject is no longer in the "
            "workspace: " + "; ".join(result.removed)
        )
    lines.append(f"Index: {result.index}")
    if result.published_to is not None:
        lines.append(f"Uploaded to {result.published_to} (index.html there)")
    if result.calibration is not None:
        lines.append(f"Calibration pack (HR and managers only): {result.calibration}")
    return "\n".join(lines)
