"""Check-in records: the entry and action types, their checks, and the checkins.csv format.

Pure: no file or database access. :mod:`kpinb.journal.entries` stores these records;
this module says what a valid one is, reads the import format into records
(naming every bad row), and plans an import against the journal's history.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from kpinb.csvtext import csv_rows
from kpinb.errors import Problem
from kpinb.journal.sheets import unneutralise
from kpinb.text import clean_text

DIAGNOSES = ("execution", "capability", "dependency", "none")
ACTION_STATUSES = ("open", "done", "dropped")
ENTRY_FIELDS = ("what_moved", "why_moved", "expected_impact", "support_needed", "diagnosis")
CHECKIN_COLUMNS = (
    "date", "employee_id", "author", *ENTRY_FIELDS,
    "action", "action_owner", "action_due", "action_status",
)  # fmt: skip


@dataclass(frozen=True)
class Action:
    """One agreed action: what, who, by when, and where it stands."""

    text: str
    owner: str
    due: dt.date
    status: str = "open"


@dataclass(frozen=True)
class Entry:
    """One check-in: the review routine's four answers, a diagnosis and the actions agreed."""

    date: dt.date
    employee_id: str
    author: str
    what_moved: str
    why_moved: str = ""
    expected_impact: str = ""
    support_needed: str = ""
    diagnosis: str = "none"
    actions: tuple[Action, ...] = ()


def entry_values(entry: Entry) -> tuple[str, ...]:
    """The stored columns of an entry version, as stored (dates ISO, text cleaned)."""
    fields = (clean_text(getattr(entry, f)) for f in ENTRY_FIELDS)
    return (
        entry.date.isoformat(),
        clean_text(entry.employee_id),
        clean_text(entry.author),
        *fields,
    )


def action_values(action: Action) -> tuple[str, str, str, str]:
    """The stored columns of an action version (text cleaned)."""
    return (
        clean_text(action.text),
        clean_text(action.owner),
        action.due.isoformat(),
        action.status,
    )


# --- checks -------------------------------------------------------------------------------------


def check_entry(
    entry: Entry, known_ids: Collection[str] | None = None, *, source: str = "check-in"
) -> list[Problem]:
    """Every problem with ``entry`` (empty list: it can be saved)."""
    found = [("date", p, f) for p, f in _date_problem(entry.date)]
    found += _text_problems(entry, known_ids)
    for action in entry.actions:
        found += _action_problems(action)
    return [Problem(file=source, column=c, problem=p, fix=f) for c, p, f in found]


def _date_problem(value: object) -> list[tuple[str, str]]:
    """A date field is a ``datetime.date``; the parser leaves bad text in place to report it."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return []
    if value in ("", None):
        return [("the date is empty", "give a date as YYYY-MM-DD")]
    return [(f"'{value}' is not a date", "give a real date as YYYY-MM-DD, e.g. 2026-07-01")]


def _text_problems(entry: Entry, known_ids: Collection[str] | None) -> list[tuple[str, str, str]]:
    found = []
    for col in ("employee_id", "author", "what_moved"):
        if not str(getattr(entry, col)).strip():
            found.append((col, f"{col} is empty", f"fill in {col}"))
    if entry.employee_id.strip() and known_ids is not None and entry.employee_id not in known_ids:
        found.append(
            (
                "employee_id",
                f"employee '{entry.employee_id}' is not in the workspace's people",
                "correct the id, or add the person to people.csv first",
            )
        )
    if entry.diagnosis not in DIAGNOSES:
        found.append(
            (
                "diagnosis",
                f"diagnosis '{entry.diagnosis}' is not one of {', '.join(DIAGNOSES)}",
                "use execution, capability, dependency, or none when there is no diagnosis",
            )
        )
    return found


def _action_problems(action: Action) -> list[tuple[str, str, str]]:
    found = []
    for col, value in (("action", action.text), ("action_owner", action.owner)):
        if not value.strip():
            found.append((col, f"{col} is empty", f"fill in {col} for every action"))
    found += [("action_due", p, f) for p, f in _date_problem(action.due)]
    if action.status not in ACTION_STATUSES:
        found.append(
            (
                "action_status",
                f"status '{action.status}' is not one of {', '.join(ACTION_STATUSES)}",
                "use open, done or dropped",
            )
        )
    return found


# --- the checkins.csv format -----------------------------------------------------------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ACTION_FIELDS = ("action", "action_owner", "action_due", "action_status")
_Row = tuple[int, dict[str, str]]
# the journal's stored rows: (entry_id, version, *entry values) and
# (action_id, entry_id, version, *action values)
EntryRow = tuple[int, int, *tuple[object, ...]]
ActionRow = tuple[int, int, int, *tuple[object, ...]]


def parse_checkins(
    data: bytes, file_name: str, known_ids: Collection[str] | None = None
) -> tuple[list[tuple[Entry, tuple[int, ...]]], list[Problem]]:
    """Entries (with the file rows they came from) and every problem in a checkins.csv file.

    Comma or semicolon separated, UTF-8 with or without BOM; extra columns are
    ignored; rows count as in a spreadsheet (the header is row 1). Text that an
    export neutralised (``'=...``) is read back as it was written.
    """
    records, problems = _records(data, file_name)
    if problems:
        return [], problems
    groups: dict[tuple[str, str, str], list[_Row]] = {}
    for row, values in records:
        groups.setdefault((values["date"], values["employee_id"], values["author"]), []).append(
            (row, values)
        )
    entries = []
    for rows in groups.values():
        entry, found = _group_entry(rows, known_ids)
        problems += [dataclasses.replace(p, file=file_name) for p in found]
        entries.append((entry, tuple(r for r, _ in rows)))
    return ([] if problems else entries), problems


def _records(data: bytes, file_name: str) -> tuple[list[_Row], list[Problem]]:
    """The file's data rows as {column: stripped text}, or the problems that stop reading it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fix = "save the file as 'CSV UTF-8' (Excel: Save As > CSV UTF-8)"
        return [], [Problem(file=file_name, problem=f"not UTF-8 text ({exc.reason})", fix=fix)]
    reader = csv_rows(text)
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in CHECKIN_COLUMNS if c not in header]
    if missing:
        fix = f"the header row needs the columns {', '.join(CHECKIN_COLUMNS)}"
        return [], [
            Problem(file=file_name, rows=(1,), column=c, problem="column missing", fix=fix)
            for c in missing
        ]
    records, problems = [], []
    for row, cells in enumerate(reader, start=2):  # big cells read whole, then named
        if any(c.strip() for c in cells):
            problems += _oversized(file_name, row, header, cells)
            values = dict(zip(header, (_clean(c) for c in cells), strict=False))
            records.append((row, {c: values.get(c, "") for c in CHECKIN_COLUMNS}))
    return ([], problems) if problems else (records, [])


MAX_CELL = 64 * 1024  # characters in one check-in cell (a note, not a document)


def _oversized(file_name: str, row: int, header: list[str], cells: list[str]) -> list[Problem]:
    return [
        Problem(
            file=file_name,
            rows=(row,),
            column=column,
            problem=f"the cell holds {len(cell):,} characters, more than the "
            f"{MAX_CELL:,} a check-in cell may hold",
            fix="shorten the note (keep the decision and its reason; link long documents)",
        )
        for column, cell in zip(header, cells, strict=False)
        if len(cell) > MAX_CELL
    ]


def _clean(cell: str) -> str:
    return str(unneutralise(cell.strip()))


def _group_entry(
    rows: list[_Row], known_ids: Collection[str] | None
) -> tuple[Entry, list[Problem]]:
    """The entry that ``rows`` (one identity) make, and every problem in them."""
    first_row, first = rows[0]
    entry = Entry(
        date=parse_date(first["date"]),  # type: ignore[arg-type]  # bad text is reported below
        employee_id=first["employee_id"],
        author=first["author"],
        what_moved=first["what_moved"],
        why_moved=first["why_moved"],
        expected_impact=first["expected_impact"],
        support_needed=first["support_needed"],
        diagnosis=first["diagnosis"].lower(),
    )
    all_rows = tuple(r for r, _ in rows)  # an entry-level problem is in each of its rows
    problems = [
        dataclasses.replace(p, rows=all_rows, count=len(all_rows))
        for p in check_entry(entry, known_ids)
    ]
    actions: dict[str, Action] = {}
    for row, values in rows:
        problems += _consistency(row, values, first_row, first)
        action, found = _row_action(row, values, actions)
        problems += found
        if action is not None:
            actions[action.text] = action
    return dataclasses.replace(entry, actions=tuple(actions.values())), problems


def _consistency(
    row: int, values: dict[str, str], first_row: int, first: dict[str, str]
) -> list[Problem]:
    """Rows of one entry must agree on the entry's columns."""
    return [
        Problem(
            file="",
            rows=(row,),
            column=f,
            problem=f"this row and row {first_row} are one entry (same date, employee_id and "
            f"author) but their {f} differs",
            fix=f"give every row of one entry the same {f}",
        )
        for f in ENTRY_FIELDS
        if values[f] != first[f]
        and not (f == "diagnosis" and values[f].lower() == first[f].lower())
    ]


def _row_action(
    row: int, values: dict[str, str], seen: Mapping[str, Action]
) -> tuple[Action | None, list[Problem]]:
    """The action on this row (None when its action columns are empty) and its problems."""
    if not any(values[c] for c in _ACTION_FIELDS):
        return None, []
    action = Action(
        text=values["action"],
        owner=values["action_owner"],
        due=parse_date(values["action_due"]),  # type: ignore[arg-type]  # reported below
        status=values["action_status"].lower() or "open",
    )
    found = _action_problems(action)
    if action.text and action.text in seen:
        found.append(
            ("action", "the same action appears twice in one entry", "keep one row for it")
        )
    return action, [Problem(file="", rows=(row,), column=c, problem=p, fix=f) for c, p, f in found]


def parse_date(text: str) -> dt.date | str:
    """``YYYY-MM-DD`` as a date; other text is returned as is, for `check_entry` to name."""
    if _ISO_DATE.match(text):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(text)
    return text


# --- planning an import ------------------------------------------------------------------------


@dataclass
class ImportPlan:
    """What importing a file will write; ``problems`` (conflicts) mean: write nothing."""

    new_entries: list[Entry] = field(default_factory=list)
    entry_versions: list[tuple[int, int, Entry]] = field(default_factory=list)
    new_actions: list[tuple[int, Action]] = field(default_factory=list)
    action_versions: list[tuple[int, int, Action]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"added": 0, "updated": 0, "skipped": 0})
    problems: list[Problem] = field(default_factory=list)


def plan_import(
    entries: Iterable[tuple[Entry, tuple[int, ...]]],
    entry_rows: Iterable[EntryRow],
    action_rows: Iterable[ActionRow],
    file_name: str,
    *,
    update: bool = False,
) -> ImportPlan:
    """Decide, per file entry, to add it, skip it (already there) or update it (``update``).

    ``entry_rows`` are the journal's (entry_id, version, *entry_values) and
    ``action_rows`` its (action_id, entry_id, version, *action_values), oldest
    version first. An entry is already there when an entry with the same date,
    employee and author holds or held its content and every one of its actions.
    """
    history = _History(entry_rows, action_rows)
    plan = ImportPlan()
    for entry, rows in entries:
        matches = history.by_identity.get(entry_values(entry)[:3], [])
        if any(history.holds(m, entry) for m in matches):
            outcome = "skipped"
        elif not matches:
            plan.new_entries.append(entry)
            outcome = "added"
        elif update and len(matches) == 1:
            history.plan_update(matches[0], entry, plan)
            outcome = "updated"
        else:
            differs = history.differences(matches[-1], entry)
            plan.problems.append(_conflict(entry, rows, file_name, matches, differs, update))
            outcome = "skipped"
        plan.counts[outcome] += 1
    return plan


class _History:
    """The journal's entries by (date, employee_id, author), with every version they had."""

    def __init__(self, entry_rows: Iterable[EntryRow], action_rows: Iterable[ActionRow]) -> None:
        self.versions: dict[int, set[tuple[object, ...]]] = {}
        self.latest: dict[int, tuple[int, tuple[object, ...]]] = {}
        entries = [(e, v, tuple(map(_cleaned, rest))) for e, v, *rest in entry_rows]
        actions = [(a, e, v, tuple(map(_cleaned, rest))) for a, e, v, *rest in action_rows]
        for entry_id, version, values in entries:
            self.versions.setdefault(entry_id, set()).add(values)
            self.latest[entry_id] = (version, values)
        self.by_identity: dict[tuple[object, ...], list[int]] = {}
        for entry_id, (_, values) in self.latest.items():
            self.by_identity.setdefault(values[:3], []).append(entry_id)
        # per entry, per action text: (action_id, latest version, every version's values)
        self.actions: dict[int, dict[object, tuple[int, int, set[tuple[object, ...]]]]] = {}
        for action_id, entry_id, version, values in actions:
            per_text = self.actions.setdefault(entry_id, {})
            _, _, seen = per_text.get(values[0], (action_id, 0, set()))
            per_text[values[0]] = (action_id, version, seen | {values})

    def holds(self, entry_id: int, entry: Entry) -> bool:
        """True when the journal holds or held ``entry``'s content and each of its actions."""
        if entry_values(entry) not in self.versions[entry_id]:
            return False
        have = self.actions.get(entry_id, {})
        return all(
            clean_text(a.text) in have and action_values(a) in have[clean_text(a.text)][2]
            for a in entry.actions
        )

    def differences(self, entry_id: int, entry: Entry) -> list[str]:
        """The columns in which ``entry`` differs from the journal's latest version."""
        _, values = self.latest[entry_id]
        names = ("date", "employee_id", "author", *ENTRY_FIELDS)
        found = [n for n, a, b in zip(names, entry_values(entry), values, strict=True) if a != b]
        have = self.actions.get(entry_id, {})
        for action in entry.actions:
            text = clean_text(action.text)
            if text not in have:
                found.append(f"new action '{action.text}'")
            elif action_values(action) not in have[text][2]:
                found.append(f"action '{action.text}'")
        return found

    def plan_update(self, entry_id: int, entry: Entry, plan: ImportPlan) -> None:
        """New versions for what differs; actions matched by their text, new ones added."""
        version, values = self.latest[entry_id]
        if entry_values(entry) != values:
            plan.entry_versions.append((entry_id, version + 1, entry))
        have = self.actions.get(entry_id, {})
        for action in entry.actions:
            text = clean_text(action.text)
            if text not in have:
                plan.new_actions.append((entry_id, action))
            elif action_values(action) not in have[text][2]:
                action_id, last, _ = have[text]
                plan.action_versions.append((action_id, last + 1, action))


def _cleaned(value: object) -> object:
    """A stored value as stored today (an older journal may hold untrimmed text)."""
    return clean_text(value) if isinstance(value, str) else value


def _conflict(
    entry: Entry,
    rows: tuple[int, ...],
    file_name: str,
    matches: list[int],
    differs: list[str],
    update: bool,
) -> Problem:
    """The problem of a file entry that differs from the journal's entry with its identity."""
    who = f"{entry.employee_id} by {entry.author} on {entry.date.isoformat()}"
    ids = ", ".join(str(m) for m in matches)
    if update:
        fix = f"several journal entries ({ids}) match: change them with `kpinb checkin edit`"
    else:
        fix = (
            "rerun with --update to record the file's content as a new version of the entry "
            "(history is kept), or make these rows match the journal"
        )
    return Problem(
        file=file_name,
        rows=rows,
        count=len(rows),
        problem=f"the journal already has an entry for {who} (entry {ids}); the file differs "
        f"in {', '.join(differs) or 'content'}",
        fix=fix,
    )
