"""``kpinb checkin ...``: record, list, edit, close, export and import check-ins.

Sub-commands: add, list, edit, close-action, history, export, import. Every
change is appended to the workspace's journal.sqlite (see :mod:`kpinb.journal.entries`).
Exit codes: 0 ok, 1 invalid input (the journal refused it), 2 bad usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kpinb.errors import UsageError

log = logging.getLogger(__name__)

# (flag, Entry field, prompt) for the fields `checkin add` needs
_FIELDS = (
    ("--employee", "employee_id", "Employee id"),
    ("--author", "author", "Your name (author)"),
    ("--what-moved", "what_moved", "What moved?"),
    ("--why-moved", "why_moved", "Why did it move?"),
    ("--expected-impact", "expected_impact", "Expected impact next period?"),
    ("--support-needed", "support_needed", "Support needed?"),
    ("--diagnosis", "diagnosis", "Diagnosis (execution, capability, dependency, none)"),
)


def register(sub: Any) -> None:
    """Add the ``checkin`` sub-command and its own sub-commands."""
    parser = sub.add_parser("checkin", help="the check-in journal: record decisions and actions")
    commands = parser.add_subparsers(dest="checkin_command", required=True, metavar="COMMAND")
    _add_parser(commands)
    _list_parser(commands)
    _edit_parser(commands)
    _close_parser(commands)
    _history_parser(commands)
    _export_parser(commands)
    _import_parser(commands)


def _workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workspace", type=Path, help="the workspace folder")


def _entry_flags(parser: argparse.ArgumentParser, *, edit: bool) -> None:
    for flag, field, prompt in _FIELDS:
        parser.add_argument(flag, dest=field, help=prompt)
    parser.add_argument(
        "--date", help="date of the check-in, YYYY-MM-DD" + ("" if edit else " (default: today)")
    )
    parser.add_argument(
        "--action",
        action="append",
        default=[],
        metavar="TEXT",
        help="an agreed action (repeat for several; each needs --owner and --due)",
    )
    parser.add_argument("--owner", action="append", default=[], help="owner of each --action")
    parser.add_argument("--due", action="append", default=[], help="due date of each --action")


def _add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "add", help="record a check-in (prompts for missing fields on a terminal)"
    )
    _workspace_arg(parser)
    _entry_flags(parser, edit=False)
    parser.set_defaults(func=run_add)


def _list_parser(commands: Any) -> None:
    parser = commands.add_parser("list", help="show the latest check-ins and their actions")
    _workspace_arg(parser)
    parser.add_argument("--employee", help="only this employee's check-ins")
    parser.add_argument("--open-actions", action="store_true", help="only the open actions")
    parser.set_defaults(func=run_list)


def _edit_parser(commands: Any) -> None:
    parser = commands.add_parser("edit", help="change an entry (writes a new version)")
    _workspace_arg(parser)
    parser.add_argument("entry_id", type=int, help="the entry's id (see `checkin list`)")
    _entry_flags(parser, edit=True)
    parser.add_argument("--note", default="", help="why the entry was changed")
    parser.set_defaults(func=run_edit)


def _close_parser(commands: Any) -> None:
    parser = commands.add_parser("close-action", help="mark an action done or dropped")
    _workspace_arg(parser)
    parser.add_argument("action_id", type=int, help="the action's id (see `checkin list`)")
    parser.add_argument(
        "--status",
        choices=("done", "dropped", "open"),
        default="done",
        help="new status (default: done; open reopens it)",
    )
    parser.add_argument("--note", default="", help="a word on how it went")
    parser.set_defaults(func=run_close)


def _history_parser(commands: Any) -> None:
    parser = commands.add_parser("history", help="every version of an entry and its actions")
    _workspace_arg(parser)
    parser.add_argument("entry_id", type=int, help="the entry's id (see `checkin list`)")
    parser.set_defaults(func=run_history)


def _export_parser(commands: Any) -> None:
    parser = commands.add_parser("export", help="write the journal as CSV or Excel")
    _workspace_arg(parser)
    parser.add_argument("--format", choices=("csv", "xlsx"), required=True)
    parser.add_argument(
        "--out", type=Path, help="output file (default: journal-export.csv/.xlsx here)"
    )
    parser.set_defaults(func=run_export)


def _import_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "import", help="import past check-ins from a checkins.csv file (all or nothing)"
    )
    _workspace_arg(parser)
    parser.add_argument("file", type=Path, help="the CSV file (docs/journal.md: columns)")
    parser.add_argument(
        "--update",
        action="store_true",
        help="record rows that differ from the journal as new versions",
    )
    parser.set_defaults(func=run_import)


# --- the commands ----------------------------------------------------------------------------


def run_add(args: argparse.Namespace) -> int:
    """Validate and append one check-in; prints its id."""
    from kpinb import journal

    _need_workspace(args.workspace)
    actions = _actions(args)
    try:
        values = _collect(args, interactive=sys.stdin.isatty())
        if not actions and sys.stdin.isatty():
            actions = _prompt_actions()
    except EOFError:
        raise UsageError("input ended before the check-in was complete; nothing saved") from None
    known = known_employees(args.workspace)
    entry = journal.Entry(date=_date(values.pop("date")), actions=actions, **values)
    entry_id = journal.add_entry(args.workspace, entry, known_ids=known)
    print(
        f"saved check-in {entry_id} for {entry.employee_id} "
        f"({len(entry.actions)} action(s)) in {journal.journal_path(args.workspace)}"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print the latest version of each entry with its actions (or only open actions)."""
    from kpinb import journal

    _need_workspace(args.workspace)
    ids = None if args.employee is None else [args.employee]
    actions = journal.list_actions(args.workspace, ids)
    if args.open_actions:
        _print_actions(actions[actions["status"] == "open"], empty="no open actions")
        return 0
    entries = journal.list_entries(args.workspace, ids)
    if entries.empty:
        print("no check-ins yet" + ("" if ids is None else f" for {args.employee}"))
    for entry in entries.itertuples(index=False):
        print(_entry_text(entry))
        mine = actions[actions["entry_id"] == entry.entry_id]
        _print_actions(mine, empty="    no actions", indent="    ")
        print()
    return 0


def run_edit(args: argparse.Namespace) -> int:
    """Write a new version of an entry with the given fields changed."""
    from kpinb import journal

    _need_workspace(args.workspace)
    changes = {
        field: getattr(args, field) for _, field, _ in _FIELDS if getattr(args, field) is not None
    }
    if args.date is not None:
        changes["date"] = _date(args.date)
    if "diagnosis" in changes:
        changes["diagnosis"] = changes["diagnosis"].strip().lower()
    new_actions = _actions(args)
    if not changes and not new_actions:
        raise UsageError("nothing to change: give at least one field flag, e.g. --why-moved")
    known = known_employees(args.workspace) if "employee_id" in changes else None
    version = journal.edit_entry(
        args.workspace,
        args.entry_id,
        changes,
        new_actions=new_actions,
        known_ids=known,
        note=args.note,
    )
    print(
        f"entry {args.entry_id} is now at version {version} (earlier versions are kept: "
        f"`kpinb checkin history {args.workspace} {args.entry_id}`)"
    )
    return 0


def run_close(args: argparse.Namespace) -> int:
    """Append a new version of an action with its new status."""
    from kpinb import journal

    _need_workspace(args.workspace)
    version = journal.close_action(
        args.workspace, args.action_id, status=args.status, note=args.note
    )
    print(f"action {args.action_id} is now {args.status} (version {version})")
    return 0


def run_history(args: argparse.Namespace) -> int:
    """Print every version of an entry and its actions, oldest first."""
    from kpinb import journal

    _need_workspace(args.workspace)
    history = journal.entry_history(args.workspace, args.entry_id)
    for row in history.itertuples(index=False):
        recorded = str(row.recorded_at)[:19].replace("T", " ")
        how = str(row.origin) + (f": {row.note!s}" if row.note else "")
        print(f"{recorded} UTC  {row.kind} {row.id} v{row.version} ({how})")
        if row.kind == "entry":
            print(_indent(_entry_text(row)))
        else:
            print(f"      {_action_text(row)}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the journal (current state, and full history for xlsx) to a file."""
    from kpinb import journal
    from kpinb.journal import sheets

    _need_workspace(args.workspace)
    out = args.out or Path(f"journal-export.{args.format}")
    if args.format == "csv":
        sheets.write_csv(journal.checkins_frame(args.workspace), out)
    else:
        frames = {
            "checkins": journal.checkins_frame(args.workspace),
            "entry history": journal.history_entries(args.workspace),
            "action history": journal.history_actions(args.workspace),
            "calibration decisions": journal.decision_history(args.workspace),
        }
        sheets.write_xlsx(frames, out)
    print(f"wrote {out}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Import a checkins.csv file in one transaction; say what was added and skipped."""
    from kpinb import journal

    _need_workspace(args.workspace)
    if not args.file.is_file():
        raise UsageError(f"{args.file} is not a file")
    result = journal.import_checkins(
        args.workspace, args.file, known_ids=known_employees(args.workspace), update=args.update
    )
    print(
        f"imported {args.file.name}: {result.added} entries added, {result.updated} updated, "
        f"{result.skipped} already in the journal (skipped)"
    )
    if result.previous_import:
        print(
            f"this file was imported before ({result.previous_import[:10]}); "
            "entries already present were not added again"
        )
    return 0


# --- helpers ---------------------------------------------------------------------------------


def known_employees(workspace: Path) -> frozenset[str] | None:
    """The workspace's employee ids, or None (with a note) when the workspace cannot be loaded."""
    from kpinb.errors import WorkspaceError
    from kpinb.workspace import load_workspace

    try:
        people = load_workspace(workspace).people
    except WorkspaceError:
        log.warning(
            "note: %s has problems (`kpinb validate %s` lists them); employee ids were "
            "not checked against people",
            workspace,
            workspace,
        )
        return None
    return frozenset(people["employee_id"].astype(str))


def _need_workspace(path: Path) -> None:
    if not path.is_dir():
        raise UsageError(f"workspace folder '{path}' does not exist")


def _collect(
    args: argparse.Namespace, *, interactive: bool, ask: Callable[[str], str] | None = None
) -> dict[str, str]:
    """The entry's text fields from flags, prompting for missing ones on a terminal."""
    ask = ask or input  # looked up at call time, so tests can replace input()
    values = {field: getattr(args, field) for _, field, _ in _FIELDS}
    missing = [flag for flag, field, _ in _FIELDS if values[field] is None]
    if missing and not interactive:
        raise UsageError(f"missing {', '.join(missing)} (or run on a terminal to be asked)")
    for _, field, prompt in _FIELDS:
        if values[field] is None:
            values[field] = ask(f"{prompt}: ").strip()
    values["diagnosis"] = (values["diagnosis"] or "").strip().lower()
    values["date"] = args.date or dt.date.today().isoformat()
    return values


def _prompt_actions(ask: Callable[[str], str] | None = None) -> tuple[Any, ...]:
    """Ask for actions until an empty line."""
    from kpinb import journal

    ask = ask or input
    actions = []
    while text := ask("Action agreed (empty to finish): ").strip():
        owner = ask("  owner: ").strip()
        due = _date(ask("  due (YYYY-MM-DD): "))
        actions.append(journal.Action(text, owner, due))
    return tuple(actions)


def _actions(args: argparse.Namespace) -> tuple[Any, ...]:
    """``--action/--owner/--due`` triples, paired in the order given."""
    from kpinb import journal

    if not len(args.action) == len(args.owner) == len(args.due):
        raise UsageError(
            f"{len(args.action)} --action, {len(args.owner)} --owner and "
            f"{len(args.due)} --due given: give one --owner and one --due per "
            "--action"
        )
    return tuple(
        journal.Action(text, owner, _date(due))
        for text, owner, due in zip(args.action, args.owner, args.due, strict=True)
    )


def _date(text: str) -> Any:
    """A date, or the text itself: the journal's checks name a bad date with the others."""
    from kpinb.journal import parse_date

    return parse_date(text.strip())


def _entry_text(entry: Any) -> str:
    lines = [
        f"#{entry.entry_id}  {entry.date:%Y-%m-%d}  {entry.employee_id}  "
        f"(by {entry.author}; diagnosis: {entry.diagnosis})",
        f"  What moved: {entry.what_moved}",
        f"  Why: {entry.why_moved or '-'}",
        f"  Expected impact: {entry.expected_impact or '-'}",
        f"  Support needed: {entry.support_needed or '-'}",
    ]
    return "\n".join(lines)


def _action_text(action: Any) -> str:
    return (
        f"[{action.status}] action {action.action_id}: {action.text} "
        f"(owner {action.owner}, due {action.due:%Y-%m-%d})"
    )


def _print_actions(actions: Any, *, empty: str, indent: str = "") -> None:
    if actions.empty:
        print(empty)
    for action in actions.itertuples(index=False):
        who = f" for {action.employee_id}" if not indent else ""
        print(f"{indent}{_action_text(action)}{who}")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
