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
        "and, unless --no-run, generate every report for its review period. It writes only "
        "into a new or empty folder or an earlier demo (marked by a .kpinb-demo file), "
        "never into your own workspace.",
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
    p.add_argument("--people", type=int, default=60, help="number of people, 8 to 64 (default: 60)")
    p.add_argument("--reports", default="reports", help="report folder (default: reports)")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace, *, echo: Callable[[str], None] = print) -> int:
    """Write the workspace, then (unless ``--no-run``) run the batch on it."""
    if args.dir and args.out and Path(args.dir) != Path(args.out):
        msg = f"two output folders given ({args.dir} and --out {args.out}); give one"
        raise UsageError(msg)
    from kpinb.demo import period_label, write_demo

    reports = Path(args.reports)
    if not args.no_run:
        check_out_folder(reports, "--reports")
    path = write_demo(
        args.dir or args.out or "demo-workspace", seed=args.seed, end=args.end, people=args.people
    )
    echo(f"demo workspace written to {path}")
    period = period_label(args.end)
    if args.no_run:
        echo(f"Next: generate its reports with `kpinb run {path} --period {period}`.")
        return 0
    return _run_batch(path, period, reports, echo)


def check_out_folder(folder: Path, flag: str) -> None:
    """Refuse an output folder that is a file, or lies under one (bad usage, exit 2)."""
    for path in (folder, *folder.parents):
        if path.exists():
            if not path.is_dir():
                msg = (
                    f"{flag} {folder}: {path} is a file, not a folder. Fix: give a folder for "
                    "the reports (it is created when missing)."
                )
                raise UsageError(msg)
            return


def _run_batch(path: Path, period: str, reports: Path, echo: Callable[[str], None]) -> int:
    """Import the demo's check-ins into its journal, then generate every report."""
    import importlib

    from kpinb.journal import import_checkins

    imported = import_checkins(path, path / "checkins.csv")  # idempotent: reruns add nothing
    echo(f"check-ins imported into the journal: {imported.added} new, {imported.skipped} kept")
    _record_decisions(path, period)
    try:  # looked up by name: tests stand a fake batch in for the real one
        run_batch = importlib.import_module("kpinb.batch.orchestrate").run_batch
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
    echo(next_steps(index, path, period))
    return int(getattr(result, "exit_code", 0))


def _record_decisions(path: Path, period: str) -> None:
    """The demo's calibration decisions (a decision and its correction) in its journal,
    once: a period whose log holds anything is left as it is."""
    import pandas as pd

    from kpinb.demo.decisions import planted_decisions
    from kpinb.journal import decision_history, record_decision
    from kpinb.periods import parse_period

    per = parse_period(period)
    if not decision_history(path, per.label).empty:
        return
    archetypes = pd.read_csv(path / "archetypes.csv", dtype=str)
    last = None
    for decision in planted_decisions(archetypes, per.end.date()):
        corrects = last if decision.pop("supersedes", False) else None
        last = record_decision(path, per.label, supersedes=corrects, **decision)


def next_steps(index: Path, workspace: Path, period: str) -> str:
    """What a newcomer does after the demo: read the reports, then try their own data."""
    return (
        "\nWhat next:\n"
        f"  1. Open {index} in a browser: every report of {period}.\n"
        f"  2. Check your own data: lay out your tables like {workspace} "
        "(docs/workspace.md says how) and run `kpinb validate YOUR-FOLDER`.\n"
        f"  3. Generate its reports into a folder of their own: "
        f"`kpinb run YOUR-FOLDER --period {period} --out my-reports`."
    )


def main_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``kpinb demo`` arguments alone (for tests)."""
    parser = argparse.ArgumentParser(prog="kpinb")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["demo", *argv])
