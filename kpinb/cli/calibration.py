"""``kpinb calibration ...``: record and list the decisions of a calibration meeting.

``decide`` appends one agreed rating with its reason to the journal's decision log
(append-only: a revised decision is a new row; ``--supersedes ID`` names the decision it
corrects); ``decisions`` lists a period's log. Ratings off the workspace's rating scale,
and a correction of a decision that is not the one in force, are bad usage (exit 2).
The pack itself is ``kpinb run WORKSPACE --period P --views calibration``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kpinb.cli.periods import add_period


def register(subparsers: Any) -> None:
    """Add ``kpinb calibration`` to the ``kpinb`` command."""
    parser = subparsers.add_parser(
        "calibration",
        help="record and list calibration decisions (the pack: kpinb run --views calibration)",
    )
    commands = parser.add_subparsers(dest="calibration_command", required=True)
    decide = commands.add_parser(
        "decide", help="record an agreed rating and its reason in the decision log"
    )
    decide.add_argument("workspace", type=Path, help="the workspace folder")
    # a decision names its period: never one guessed from the data
    decide.add_argument(
        "--period", required=True, help="review period, e.g. 2026-Q3 or FY2027-Q1 (fiscal)"
    )
    decide.add_argument("--employee", required=True, help="employee id")
    decide.add_argument("--agreed", required=True, type=float, help="the agreed rating")
    decide.add_argument(
        "--proposed", type=float, help="the proposed rating (default: the ratings table's)"
    )
    decide.add_argument("--reason", required=True, help="why this rating was agreed")
    decide.add_argument("--by", required=True, help="who recorded the decision")
    decide.add_argument("--on", help="the meeting's date, YYYY-MM-DD (default: today)")
    decide.add_argument(
        "--supersedes",
        type=int,
        metavar="ID",
        help="the decision this one corrects (its number in `kpinb calibration decisions`; "
        "--reason says why)",
    )
    decide.set_defaults(func=run_decide)
    listing = commands.add_parser("decisions", help="list a period's decision log")
    listing.add_argument("workspace", type=Path, help="the workspace folder")
    add_period(listing)
    listing.set_defaults(func=run_list)


def run_decide(args: argparse.Namespace) -> int:
    """Append one decision; the proposed rating defaults to the workspace's ratings table."""
    from kpinb.cli.checkin import _need_workspace
    from kpinb.errors import JournalError, UsageError
    from kpinb.journal import record_decision
    from kpinb.periods import parse_period
    from kpinb.workspace import load_workspace

    _need_workspace(args.workspace)
    ws = load_workspace(args.workspace)
    per = parse_period(args.period, ws.settings.fiscal_year_start)
    proposed = args.proposed
    if proposed is None:
        mine = ws.ratings[
            (ws.ratings["employee_id"] == args.employee) & (ws.ratings["period"] == per.label)
        ]
        proposed = float(mine["rating"].iloc[-1]) if len(mine) else None
    try:
        decision_id = record_decision(
            args.workspace,
            per.label,
            args.employee,
            agreed=args.agreed,
            proposed=proposed,
            reason=args.reason,
            decided_by=args.by,
            decided_on=args.on,
            known_ids=frozenset(ws.people["employee_id"].astype(str)),
            supersedes=args.supersedes,
            scale=ws.settings.rating_scale,
        )
    except JournalError as exc:
        if not exc.problems:  # the journal itself (damaged, read-only): not the arguments
            raise
        raise UsageError(str(exc)) from None
    scale = ws.settings.rating_scale
    corrects = f", superseding #{args.supersedes}" if args.supersedes is not None else ""
    print(
        f"recorded decision {decision_id} for {args.employee} ({per.label}): "
        f"{_rating(scale, args.agreed)}{corrects}"
    )
    return 0


def _rating(scale: Any, value: float) -> str:
    """``4 (Strong)`` with the scale's label, ``4`` where the label is the number."""
    label = scale.label(value)
    return f"{value:g}" if label == f"{value:g}" else f"{value:g} ({label})"


def run_list(args: argparse.Namespace) -> int:
    """Print every decision of the period, oldest first (revisions included)."""
    import pandas as pd

    from kpinb.cli.checkin import _need_workspace
    from kpinb.cli.periods import resolve
    from kpinb.journal import decision_history
    from kpinb.periods import parse_period
    from kpinb.settings import read_settings
    from kpinb.workspace import load_workspace

    _need_workspace(args.workspace)
    if args.period is not None:
        fiscal_start = read_settings(Path(args.workspace))[0].fiscal_year_start
        label = parse_period(args.period, fiscal_start).label
    else:
        label = resolve(load_workspace(args.workspace), args).period.label
    frame = decision_history(args.workspace, label)
    if frame.empty:
        print("no decisions recorded for this period")
        return 0
    for _, d in frame.iterrows():
        proposed = (
            "" if d["proposed_rating"] != d["proposed_rating"] else f"{d['proposed_rating']:g} -> "
        )
        corrects = "" if pd.isna(d["supersedes"]) else f" [supersedes #{d['supersedes']}]"
        print(
            f"#{d['decision_id']} {d['decided_on']:%Y-%m-%d} {d['employee_id']}: "
            f"{proposed}{d['agreed_rating']:g} ({d['decided_by']}){corrects}: {d['reason']}"
        )
    return 0
