"""``kpinb demo``: write the demo workspace, import its check-ins, run every report on it."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from kpinb.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``kpinb demo`` to the command line."""
    p = subparsers.add_parser(
        "demo",
        help="write the deterministic demo workspace and run every report on it",
        description="Write a realistic demo workspace (the same bytes on every machine) "
        "and, unless --no-run, generate every report for its review period.",
    )
    p.add_argument("dir", nargs="?", help="same as --out")
    p.add_argument("--out", help="workspace folder (default: demo-workspace)")
    p.add_argument("--no-run", action="store_true", help="only write the workspace")
    p.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    p.add_argument(
        "--end",
        default="2026-09-30",
        help="last day of the history, YYYY-MM-DD (default: 2026-09-30); "
        "the review period is the quarter holding it",
    )
    p.add_argument("--people", type=int, default=60, help="number of people (8-64)")
    p.add_argument("--reports", default="reports", help="report folder (default: reports)")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace, *, echo: Callable[[str], None] = print) -> int:
    """Write the workspace, then (unless ``--no-run``) run the batch on it."""
    if args.dir and args.out and Path(args.dir) != Path(args.out):
        msg = f"two output folders given ({args.dir} and --out {args.out}); give one"
        raise UsageError(msg)
    from kpinb.demo import period_label, write_demo

    path = write_demo(
        args.dir or args.out or "demo-workspace", seed=args.seed, end=args.end, people=args.people
    )
    echo(f"demo workspace written to {path}")
    if args.no_run:
        return 0
    return _run_batch(path, period_label(args.end), Path(args.reports), echo)


def _run_batch(path: Path, period: str, reports: Path, echo: Callable[[str], None]) -> int:
    """Import the demo's check-ins into its journal, then generate every report."""
    import importlib

    from kpinb.journal import import_checkins

    imported = import_checkins(path, path / "checkins.csv")  # idempotent: reruns add nothing
    echo(f"check-ins imported into the journal: {imported.added} new, {imported.skipped} kept")
    try:  # looked up by name: tests stand a fake batch in for the real one
        run_batch = importlib.import_module("kpinb.batch.run").run_batch
    except (ModuleNotFoundError, AttributeError):
        echo(
            "the report batch is not available in this install; "
            f"the workspace is ready: kpinb run {path} --period {period}"
        )
        return 0
    result = run_batch(path, period, out=reports)
    index = getattr(result, "index", reports.resolve() / period / "index.html")
    failed = len(getattr(result, "failed", ()))
    note = f" ({failed} could not be generated; the index says why)" if failed else ""
    echo(f"reports: {index}{note}")
    return int(getattr(result, "exit_code", 0))


def main_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``kpinb demo`` arguments alone (for tests)."""
    parser = argparse.ArgumentParser(prog="kpinb")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["demo", *argv])
