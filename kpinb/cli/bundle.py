"""``kpinb bundle``: one folder per reader with only their reports (for a shared drive)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kpinb.cli.periods import add_period, resolve
from kpinb.errors import UsageError


def register(subparsers: Any) -> None:
    """Add ``kpinb bundle`` to the ``kpinb`` command."""
    parser = subparsers.add_parser(
        "bundle",
        help="write one folder per reader with only the reports that are theirs",
        description="For each reader of the period's built reports (an employee their own "
        "report, a manager their people's manager-view reports and their team's, an HR "
        "partner named in kpinb.toml their departments' reports and calibration pack), write "
        "OUT/PERIOD/<id>/ with only those reports and an index.html listing only them, "
        "readable by this account only (0700 folders, 0600 files); --zip also packs each "
        "as OUT/PERIOD/<id>.zip. Exit 0, 2 for bad usage. docs/delivery.md",
    )
    parser.add_argument("workspace", type=Path, help="the workspace folder")
    add_period(parser)
    parser.add_argument(
        "--reports", type=Path, default=Path("reports"), help="reports folder (default: reports)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("bundles"), help="bundles folder (default: bundles)"
    )
    parser.add_argument("--zip", action="store_true", help="also write a zip file per reader")
    parser.set_defaults(func=run_bundle)


def run_bundle(args: argparse.Namespace) -> int:
    """Write the bundles and list them."""
    from kpinb.batch.publish.bundles import write_bundles
    from kpinb.errors import WorkspaceError
    from kpinb.periods import parse_period
    from kpinb.workspace import load_workspace

    if args.period is not None:
        parse_period(args.period)  # a bad period is bad usage before anything is read
    try:
        ws = load_workspace(args.workspace)
        per = resolve(ws, args).period
        out = args.out / per.label
        made, _ = write_bundles(ws, args.reports / per.label, out, zip_too=args.zip)
    except WorkspaceError as exc:  # the workspace, or its kpinb.toml
        raise UsageError(str(exc)) from None
    for bundle in made:
        print(
            f"  {bundle.folder.name}: {bundle.reader.name}, {len(bundle.reader.parcels)} report(s)"
        )
    print(f"{len(made)} bundle(s) written to {out}")
    return 0
