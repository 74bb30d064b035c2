"""What the explorer's forms save, and how they check it first.

* A check-in goes to the journal through its own API (:func:`kpinb.journal.add_entry`),
  after :func:`kpinb.journal.check_entry` has named every problem by field.
* A feasibility flag is appended to the workspace's ``feasibility.csv`` in one atomic
  write, after the whole new file has passed the loader's own checks for that table
  (columns, review-period labels, scope, known people, teams and KPIs). Reading the file,
  checking it and writing it happen under an exclusive lock on the workspace folder
  (:func:`_flags_lock`), so flags saved at once from several explorers all stay.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import io
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock
import pandas as pd

from kpinb.errors import Problem
from kpinb.files import atomic_write
from kpinb.hashing import sha256_bytes
from kpinb.journal import ENTRY_FIELDS, Action, Entry, add_entry, check_entry, parse_date

if TYPE_CHECKING:
    from kpinb.workspace import Workspace

# the check-in form's fields, in the order it shows them
CHECKIN_FIELDS = ("date", "employee_id", "author", *ENTRY_FIELDS)
ACTION_FIELDS = ("text", "owner", "due", "status")
# check_entry's column names for an action's fields
_ACTION_COLUMNS = {
    "action": "text",
    "action_owner": "owner",
    "action_due": "due",
    "action_status": "status",
}
FLAG_FIELDS = ("scope", "scope_id", "kpi_id", "period", "flagged_by", "reason")


def _date(value: object) -> dt.date | str:
    """The form's date; text that is no date is kept as it is for the checks to report."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date) or value is None:
        return value if value is not None else ""
    return parse_date(str(value).strip())


def _text(values: Mapping[str, Any], name: str, default: str = "") -> str:
    value = values.get(name)
    return default if value is None else str(value).strip()


def checkin_entry(
    values: Mapping[str, Any], known_ids: Collection[str] | None = None
) -> tuple[Entry, dict[str, list[str]]]:
    """The entry a filled-in form describes, and every problem with it by field.

    ``values`` holds :data:`CHECKIN_FIELDS` (the date as a ``datetime.date`` or
    ``YYYY-MM-DD``) and ``actions``: a list of mappings of :data:`ACTION_FIELDS`;
    an action whose text, owner and due date are all empty is left out (an empty row
    of the form). Problems are keyed by field name, and ``actions[i].text`` (``owner``,
    ``due``, ``status``) for the i-th action row; no problems means it can be saved.
    """
    rows = [
        (i, a)
        for i, a in enumerate(values.get("actions") or ())
        if any(_text(a, f) for f in ("text", "owner")) or a.get("due") not in (None, "")
    ]
    actions = tuple(
        # an unreadable due date stays text: check_entry reports it and nothing is saved
        Action(_text(a, "text"), _text(a, "owner"), _date(a.get("due")), _text(a, "status", "open"))  # type: ignore[arg-type]
        for _, a in rows
    )
    entry = Entry(
        date=_date(values.get("date")),  # type: ignore[arg-type]  # bad text: reported below
        employee_id=_text(values, "employee_id"),
        author=_text(values, "author"),
        what_moved=_text(values, "what_moved"),
        why_moved=_text(values, "why_moved"),
        expected_impact=_text(values, "expected_impact"),
        support_needed=_text(values, "support_needed"),
        diagnosis=_text(values, "diagnosis", "none") or "none",
        actions=actions,
    )
    found: dict[str, list[str]] = {}
    for problem in check_entry(dataclasses.replace(entry, actions=()), known_ids):
        found.setdefault(problem.column or "entry", []).append(_said(problem))
    for (i, _), action in zip(rows, actions, strict=True):
        alone = Entry(date=dt.date(2000, 1, 1), employee_id="x", author="x", what_moved="x")
        for problem in check_entry(dataclasses.replace(alone, actions=(action,))):
            field = _ACTION_COLUMNS.get(problem.column or "", "text")
            found.setdefault(f"actions[{i}].{field}", []).append(_said(problem))
    return entry, found


def _said(problem: Problem) -> str:
    return f"{problem.problem}: {problem.fix}"


def save_checkin(
    root: str | Path, values: Mapping[str, Any], known_ids: Collection[str] | None = None
) -> tuple[int | None, dict[str, list[str]]]:
    """Check the form and, when nothing is wrong, add the entry to the journal at ``root``.

    Returns the new entry's number (``None`` when nothing was saved) and the problems
    by field (see :func:`checkin_entry`).
    """
    entry, problems = checkin_entry(values, known_ids)
    if problems:
        return None, problems
    return add_entry(root, entry, known_ids=known_ids), {}


# --- feasibility flags ---------------------------------------------------------------------


def feasibility_file(root: Path) -> tuple[Path, list[Problem]]:
    """The file flags are appended to: ``feasibility.csv``; a workspace that keeps the
    table as .xlsx or .parquet, or reads it from a database, is not written to (the
    problem says what to do)."""
    from kpinb.workspace.sources import table_source

    source = table_source(root, "feasibility")
    if source is not None:
        return root / "feasibility.csv", [
            Problem(
                source,
                "the explorer appends flags to feasibility.csv, and this workspace reads the "
                "table from a database (read-only)",
                "add the flag to the database's table the source reads",
            )
        ]
    others = [root / f"feasibility{ext}" for ext in (".xlsx", ".parquet")]
    found = [p for p in others if p.is_file()]
    if found:
        return root / "feasibility.csv", [
            Problem(
                found[0].name,
                "the explorer appends flags to feasibility.csv, and this workspace keeps "
                "the table in another format",
                f"add the flag to {found[0].name} in a spreadsheet, or convert it to "
                "feasibility.csv",
            )
        ]
    return root / "feasibility.csv", []


def flag_file_bytes(path: Path, flag: Mapping[str, Any]) -> bytes:
    """The file with ``flag`` appended as its last row, in the file's own delimiter and
    column order (extra columns left empty); a new file gets the standard header."""
    old = path.read_bytes() if path.is_file() else b""
    text = old.decode("utf-8-sig") if old else ""
    bom = old.startswith(b"\xef\xbb\xbf")
    head = text.split("\n", 1)[0]
    delimiter = ";" if head.count(";") > head.count(",") else ","
    header = next(csv.reader([head.rstrip("\r")], delimiter=delimiter)) if head.strip() else []
    out = io.StringIO()
    newline = "\r\n" if "\r\n" in text else "\n"
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    if not header:
        header = list(FLAG_FIELDS)
        writer.writerow(header)
    elif text and not text.endswith("\n"):
        out.write(newline)
    names = [h.strip().lower() for h in header]
    writer.writerow([_text(flag, n) if n in FLAG_FIELDS else "" for n in names])
    return (b"\xef\xbb\xbf" if bom else b"") + (text + out.getvalue()).encode("utf-8")


def check_flag(ws: Workspace, flag: Mapping[str, Any], root: Path | None = None) -> list[Problem]:
    """Every problem with appending ``flag`` to the workspace's feasibility table.

    The whole new file is checked as the loader checks it (read, typed, each column's
    checks, scopes that exist), so a flag saved here never makes the workspace invalid.
    Also refused: an empty field, and a flag already in the table word for word.
    """
    root = _folder(ws, root)
    path, problems = feasibility_file(root)
    if problems:
        return problems
    missing = [n for n in FLAG_FIELDS if not _text(flag, n)]
    problems = [
        Problem("feasibility form", f"{n} is empty", f"fill in {n}", column=n) for n in missing
    ]
    if _already_flagged(ws, flag):
        problems.append(
            Problem(
                "feasibility form",
                "this flag is already in feasibility.csv",
                "nothing to add; change the reason to add another flag",
            )
        )
    return problems + _loader_problems(ws, path, flag_file_bytes(path, flag))


def _folder(ws: Workspace, root: Path | None) -> Path:
    """``root``, else the folder the workspace was loaded from."""
    found = root if root is not None else ws.root
    if found is None:
        raise TypeError("the workspace was not loaded from a folder: pass root")
    return Path(found)


def _already_flagged(ws: Workspace, flag: Mapping[str, Any]) -> bool:
    table = ws.feasibility
    if table.empty:
        return False
    same = pd.Series(True, index=table.index)
    for name in FLAG_FIELDS:
        same = same & (table[name].astype(str).str.strip() == _text(flag, name))
    return bool(same.any())


def _loader_problems(ws: Workspace, path: Path, data: bytes) -> list[Problem]:
    """The loader's checks of the feasibility table, run on ``data`` (the file to be)."""
    from kpinb.workspace import checks
    from kpinb.workspace.readers import read_table
    from kpinb.workspace.schema import TABLES, Context, check_table, type_table

    spec = TABLES["feasibility"]
    with tempfile.TemporaryDirectory(prefix="kpinb-flag-") as scratch:
        candidate = Path(scratch) / path.name
        candidate.write_bytes(data)
        try:
            raw = read_table(candidate, spec.categorical, spec.numbers)
        except Exception as exc:  # the existing file is unreadable: say so, write nothing
            return [Problem(path.name, f"cannot be read ({exc})", "repair the file first")]
    frame, problems = type_table(raw, spec, ws.settings.fiscal_year_start)
    if frame is None:
        return problems
    people = set(ws.people["employee_id"].astype(str))
    teams = set(ws.teams["team_id"].astype(str))
    ctx = Context(people=people, teams=teams, kpis=set(ws.kpis))
    problems += check_table(frame, raw, spec, ctx)
    problems += checks.scopes_exist(frame, raw, people, teams)
    return problems


def save_flag(ws: Workspace, flag: Mapping[str, Any], root: Path | None = None) -> list[Problem]:
    """Check ``flag`` (:func:`check_flag`) and, when nothing is wrong, append it to
    ``feasibility.csv`` in one atomic write. Returns the problems (empty: saved).

    The file is read, checked and replaced under the workspace's flags lock: without it,
    two saves at once would each append to the file as it was, and one flag would be lost.
    """
    root = _folder(ws, root)
    with _flags_lock(root):
        problems = check_flag(ws, flag, root)
        if not problems:
            path, _ = feasibility_file(root)
            atomic_write(path, flag_file_bytes(path, flag))
    return problems


@contextlib.contextmanager
def _flags_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on the workspace's flags (``filelock``: every platform); other
    savers wait for it. The lock file lives in the temporary folder, named after the
    workspace's path, so none is left in the workspace."""
    with filelock.FileLock(flags_lock_path(root), mode=0o666):
        yield


def flags_lock_path(root: Path) -> Path:
    """The lock file of a workspace folder's flags, in the temporary folder."""
    key = sha256_bytes(str(root.resolve()))[:16]
    return Path(tempfile.gettempdir()) / f"kpinb-flags-{key}.lock"


def problems_by_field(problems: Sequence[Problem], fields: Sequence[str]) -> dict[str, list[str]]:
    """Problems keyed by the form field they concern (``"form"`` for the rest)."""
    found: dict[str, list[str]] = {}
    for problem in problems:
        key = problem.column if problem.column is not None and problem.column in fields else "form"
        found.setdefault(key, []).append(_said(problem))
    return found
