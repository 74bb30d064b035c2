"""``kpinb run``: every report of a review period (the batch), with a summary at the end."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.cli.periods import add_period
from kpinb.errors import BatchError, WorkspaceError

if TYPE_CHECKING:
    from kpinb.batch import BatchResult
    from kpinb.workspace.coverage import PeriodChoice

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add ``kpinb run`` to the ``kpinb`` command."""
    parser = subparsers.add_parser(
        "run",
        help="generate every report of a review period",
        description="Generate every coaching report of a review period into OUT/PERIOD/ "
        "(index.html, employees/, teams/, departments/, run.json). Exit 0 when all are "
        "written or unchanged, 1 when some could not be generated, 2 for bad usage, an "
        "invalid workspace, clashing file names or a period in which no one has a value "
        "(nothing written). Without --period: the latest quarter that the data covers to "
        "its end.",
    )
    parser.add_argument("workspace", type=Path, help="the workspace folder")
    add_period(parser, empty=True)
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
        "period's calibration pack in OUT/PERIOD/calibration/; with --only in "
        "calibration-only-NAMES/)",
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
    from kpinb.cli.periods import resolve
    from kpinb.periods import parse_period

    if not is_url(args.out):  # a file there: bad usage (exit 2), not a traceback
        check_out_folder(Path(args.out), "--out")
    if args.period is not None:
        parse_period(args.period)  # a bad period is bad usage before the data is read
    try:
        from kpinb.workspace import load_workspace

        choice = resolve(load_workspace(args.workspace, cache=True), args, check_empty=True)
        quiet = args.quiet or args.log_format == "json"  # no bar among JSON lines
        result = run_batch(
            args.workspace,
            choice.period,
            out=args.out,
            only=_split(args.only),
            workers=args.workers,
            scheduler=args.scheduler,
            views=_split(args.views),
            force=args.force,
            notebooks_dir=args.notebooks,
            formats=_split(args.formats) or ("html",),
            progress=False if quiet else None,
        )
    except (WorkspaceError, BatchError) as exc:
        log.error("%s", exc, extra={"exit_code": 2})
        log.error("nothing was written.", extra={"exit_code": 2})
        return 2
    print(summary(result, choice if choice.chosen else None))
    log.info(
        "run finished",
        extra={
            "period": result.period,
            "written": len(result.by_status("written")),
            "unchanged": len(result.by_status("unchanged")),
            "failed": len(result.failed),
            "index": str(result.index),
            "exit_code": result.exit_code,
        },
    )
    return result.exit_code


def summary(result: BatchResult, chosen: PeriodChoice | None = None) -> str:
    """The end-of-run summary: the period when it was chosen from the data, counts, each
    report that could not be generated, the index."""
    lines = []
    if chosen is not None:
        lines.append(f"No --period given: {chosen.reason}.")
    lines += [
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
