"""``kpinb findings``: one row per person (or group) and KPI with what the reports say,
written as Parquet, CSV or xlsx for BI tools (:mod:`kpinb.report.findings_table`)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from kpinb.cli.periods import add_period

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add ``kpinb findings`` to the ``kpinb`` command."""
    parser = subparsers.add_parser(
        "findings",
        help="write the period's findings table (one row per person and KPI) for BI tools",
        description="Write one row per person (or team, department) and KPI: status, the "
        "story its report tells, level and change, usual range, shared move and pattern, "
        "goal score and data notes. The file type follows --out's suffix: .parquet, .csv "
        "or .xlsx (text that a spreadsheet would run as a formula is neutralised). Exit 0, "
        "2 for bad usage, an invalid workspace or a period in which no one has a value. "
        "docs/bi.md",
    )
    parser.add_argument("workspace", type=Path, help="the workspace folder")
    add_period(parser, empty=True)
    parser.add_argument(
        "--out", type=Path, required=True, help="the file: findings.parquet, .csv or .xlsx"
    )
    parser.add_argument(
        "--view",
        choices=("executive", "manager"),
        default="executive",
        help="executive (default): teams and departments, groups under the minimum group "
        "size withheld; manager: every person's rows and their teams' (for HR and managers)",
    )
    parser.set_defaults(func=run_findings)


def run_findings(args: argparse.Namespace) -> int:
    """Build the table and write it atomically."""
    from kpinb.cli.periods import resolve
    from kpinb.errors import UsageError, WorkspaceError
    from kpinb.periods import parse_period
    from kpinb.report.findings_table import FORMATS, findings, write_findings
    from kpinb.workspace import load_workspace

    if args.out.suffix.lower() not in FORMATS:
        msg = f"--out {args.out}: name a .parquet, .csv or .xlsx file"
        raise UsageError(msg)
    if args.out.is_dir():
        msg = f"--out {args.out} is a folder; name the file to write, such as findings.parquet"
        raise UsageError(msg)
    if args.period is not None:
        parse_period(args.period)  # a bad period is bad usage before the data is read
    try:
        ws = load_workspace(args.workspace, cache=True)
    except WorkspaceError as exc:
        raise UsageError(str(exc)) from None
    choice = resolve(ws, args, check_empty=True)
    frame = findings(ws, choice.period, view=args.view)
    write_findings(frame, args.out)
    if choice.chosen:
        print(f"No --period given: {choice.reason}.")
    print(f"{len(frame)} finding(s), {args.view} view, {choice.period.label}: {args.out}")
    log.info(
        "findings written",
        extra={
            "period": choice.period.label,
            "view": args.view,
            "rows": len(frame),
            "out": str(args.out),
        },
    )
    return 0
