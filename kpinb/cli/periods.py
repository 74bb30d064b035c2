"""``--period`` for the commands that report on a period: optional, defaulting to the
latest complete quarter with data (:mod:`kpinb.workspace.coverage`), and a period
without any value refused unless ``--allow-empty`` asks for empty reports."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from kpinb.errors import UsageError

if TYPE_CHECKING:
    from kpinb.workspace import Workspace
    from kpinb.workspace.coverage import PeriodChoice

log = logging.getLogger(__name__)

PERIOD_HELP = (
    "review period, e.g. 2026-Q3, FY2027-Q1 (a fiscal year) or 2026-09 (default: the "
    "latest quarter that the data covers to its end)"
)


def add_period(parser: argparse.ArgumentParser, *, empty: bool = False) -> None:
    """Add ``--period`` (and, with ``empty``, ``--allow-empty``) to a command."""
    parser.add_argument("--period", help=PERIOD_HELP)
    if empty:
        parser.add_argument(
            "--allow-empty",
            action="store_true",
            help="write the reports of a period in which no one has a value (they say "
            "there is nothing to show yet) instead of stopping with exit 2",
        )


def resolve(ws: Workspace, args: argparse.Namespace, *, check_empty: bool = False) -> PeriodChoice:
    """The period the command runs on: ``--period`` or the latest complete quarter with
    data (logged with the reason). With ``check_empty``, a period in which no one has a
    value is a :class:`UsageError` naming the latest period with data, unless
    ``--allow-empty`` is given (then a warning says so)."""
    from kpinb.workspace.coverage import choose_period, empty_period_note

    choice = choose_period(ws, getattr(args, "period", None))
    if choice.chosen:
        log.info("period %s", choice.reason, extra={"period": choice.period.label})
    note = empty_period_note(ws, choice.period) if check_empty else None
    if note is not None:
        if not getattr(args, "allow_empty", False):
            raise UsageError(f"{note} Or add --allow-empty to go on without values.")
        log.warning("note: %s", note, extra={"period": choice.period.label})
    return choice
