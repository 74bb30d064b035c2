"""The check-in journal: decisions and actions that carry from one review to the next.

What goes into ``journal.sqlite`` is decided only here: adding, editing and
closing (:func:`add_entry`, :func:`edit_entry`, :func:`close_action`), importing
and exporting check-ins, and the read API for reports (:func:`latest_entries`,
:func:`open_actions`, ...). The file itself (schema versions, migrations, WAL
and locking) belongs to :mod:`kpinb.journal.store`; these two modules own it.

The journal is append-only: an entry or an action is a chain of version rows,
and editing an entry or closing an action adds a version. Every write is one
transaction. Readers never create or migrate the file; they return empty
frames when it does not exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kpinb.errors import JournalError, Problem
from kpinb.journal.records import (
    ACTION_STATUSES,
    CHECKIN_COLUMNS,
    ENTRY_FIELDS,
    Action,
    Entry,
    action_values,
    check_entry,
    entry_values,
    parse_checkins,
    plan_import,
)
from kpinb.journal.store import (
    now,
    query,
    transaction,
    writer,
)

LATEST_COLUMNS = ("entry_id", "date", "employee_id", "author", *ENTRY_FIELDS)
ACTION_COLUMNS = ("action_id", "entry_id", "employee_id", "text", "owner", "due", "status")


@dataclass(frozen=True)
class ImportResult:
    """What an import did; ``previous_import`` is when the same file was imported before."""

    added: int
    updated: int
    skipped: int
    previous_import: str | None = None


# --- writing ---------------------------------------------------------------------------------


def add_entry(root: str | Path, entry: Entry, *, known_ids: Collection[str] | None = None) -> int:
    """Validate ``entry`` and append it (with its actions); returns the new entry id."""
    _raise_problems("the check-in was not saved", check_entry(entry, known_ids))
    with writer(root) as conn, transaction(conn):
        return _insert_entry(conn, entry, origin="add", note="")


def edit_entry(
    root: str | Path,
    entry_id: int,
    changes: Mapping[str, object],
    *,
    new_actions: Sequence[Action] = (),
    known_ids: Collection[str] | None = None,
    note: str = "",
) -> int:
    """Write a new version of entry ``entry_id`` with ``changes`` applied; returns its number.

    ``changes`` maps entry fields (date, employee_id, author, what_moved, ...) to
    new values; ``new_actions`` are appended to the entry. Nothing is overwritten.
    """
    unknown = set(changes) - ({f.name for f in dataclasses.fields(Entry)} - {"actions"})
    if unknown:
        raise JournalError(f"cannot edit {sorted(unknown)}: not entry fields")
    with writer(root) as conn, transaction(conn):
        version, current = _current_entry(conn, entry_id)
        # ``changes`` names entry fields only (checked above); check_entry checks their values
        edited = dataclasses.replace(current, **changes, actions=tuple(new_actions))  # type: ignore[arg-type]
        _raise_problems(f"entry {entry_id} was not changed", check_entry(edited, known_ids))
        if entry_values(edited) == entry_values(current) and not new_actions:
            return version
        if entry_values(edited) != entry_values(current):
            version += 1
            _insert_entry_version(conn, entry_id, version, edited, "edit", note)
        for action in new_actions:
            _insert_action(conn, entry_id, action, "edit", note)
        return version


def close_action(root: str | Path, action_id: int, *, status: str = "done", note: str = "") -> int:
    """Write a new version of action ``action_id`` with ``status``; returns its number."""
    if status not in ACTION_STATUSES:
        raise JournalError(f"status '{status}' is not one of {', '.join(ACTION_STATUSES)}")
    with writer(root) as conn, transaction(conn):
        row = conn.execute(
            "SELECT version, text, owner, due, status FROM action_versions WHERE action_id = ? "
            "ORDER BY version DESC LIMIT 1",
            (action_id,),
        ).fetchone()
        if row is None:
            raise JournalError(f"there is no action {action_id}; `kpinb checkin list` shows ids")
        if row[4] == status:
            raise JournalError(f"action {action_id} is already {status}")
        conn.execute(
            "INSERT INTO action_versions (action_id, version, text, owner, due, status, "
            "recorded_at, origin, note) VALUES (?, ?, ?, ?, ?, ?, ?, 'close', ?)",
            (action_id, row[0] + 1, row[1], row[2], row[3], status, now(), note),
        )
        return int(row[0]) + 1


def _current_entry(conn: sqlite3.Connection, entry_id: int) -> tuple[int, Entry]:
    row = conn.execute(
        "SELECT version, date, employee_id, author, what_moved, why_moved, expected_impact, "
        "support_needed, diagnosis FROM entry_versions WHERE entry_id = ? "
        "ORDER BY version DESC LIMIT 1",
        (entry_id,),
    ).fetchone()
    if row is None:
        raise JournalError(f"there is no entry {entry_id}; `kpinb checkin list` shows ids")
    return int(row[0]), Entry(dt.date.fromisoformat(row[1]), *row[2:])


def _insert_entry(conn: sqlite3.Connection, entry: Entry, *, origin: str, note: str) -> int:
    cursor = conn.execute("INSERT INTO entries (created_at) VALUES (?)", (now(),))
    entry_id = int(cursor.lastrowid or 0)
    _insert_entry_version(conn, entry_id, 1, entry, origin, note)
    for action in entry.actions:
        _insert_action(conn, entry_id, action, origin, note)
    return entry_id


def _insert_entry_version(
    conn: sqlite3.Connection, entry_id: int, version: int, entry: Entry, origin: str, note: str
) -> None:
    conn.execute(
        "INSERT INTO entry_versions (entry_id, version, date, employee_id, author, what_moved, "
        "why_moved, expected_impact, support_needed, diagnosis, recorded_at, origin, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (entry_id, version, *entry_values(entry), now(), origin, note),
    )


def _insert_action(
    conn: sqlite3.Connection,
    entry_id: int,
    action: Action,
    origin: str,
    note: str,
    *,
    action_id: int | None = None,
    version: int = 1,
) -> None:
    if action_id is None:
        cursor = conn.execute(
            "INSERT INTO actions (entry_id, created_at) VALUES (?, ?)", (entry_id, now())
        )
        action_id = int(cursor.lastrowid or 0)
    conn.execute(
        "INSERT INTO action_versions (action_id, version, text, owner, due, status, "
        "recorded_at, origin, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (action_id, version, *action_values(action), now(), origin, note),
    )


def _raise_problems(message: str, problems: list[Problem]) -> None:
    if problems:
        raise JournalError(f"{message}: {len(problems)} problem(s)", problems)


# --- reading ---------------------------------------------------------------------------------

ENTRY_VERSION_COLUMNS = (
    "entry_id", "version", "date", "employee_id", "author", *ENTRY_FIELDS,
    "recorded_at", "origin", "note",
)  # fmt: skip
ACTION_VERSION_COLUMNS = (
    "action_id", "version", "entry_id", "text", "owner", "due", "status",
    "recorded_at", "origin", "note",
)  # fmt: skip
_LATEST_ENTRY_SQL = """
SELECT v.* FROM entry_versions v JOIN (SELECT entry_id, MAX(version) AS version
FROM entry_versions GROUP BY entry_id) m USING (entry_id, version)"""
# each action's latest version, with the employee and date of its entry's latest version
_LATEST_ACTION_SQL = f"""
SELECT v.*, a.entry_id, e.employee_id, e.date AS entry_date
FROM action_versions v JOIN actions a USING (action_id)
JOIN (SELECT action_id, MAX(version) AS version FROM action_versions GROUP BY action_id) m
USING (action_id, version) JOIN ({_LATEST_ENTRY_SQL}) e ON e.entry_id = a.entry_id"""


def list_entries(root: str | Path, employee_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The latest version of every entry (optionally of some people), oldest first."""
    frame = query(root, _LATEST_ENTRY_SQL, ENTRY_VERSION_COLUMNS)
    frame = _only(frame, employee_ids).sort_values(["date", "entry_id"], kind="stable")
    return frame.reset_index(drop=True)


def list_actions(root: str | Path, employee_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The latest version of every action, with its entry's employee_id and entry_date; by due."""
    columns = (*ACTION_VERSION_COLUMNS, "employee_id", "entry_date")
    frame = _only(query(root, _LATEST_ACTION_SQL, columns), employee_ids).sort_values(
        ["due", "action_id"], kind="stable"
    )
    return frame.reset_index(drop=True)


def latest_entries(
    root: str | Path, employee_ids: Iterable[str], *, as_of: dt.date | str | None = None
) -> pd.DataFrame:
    """Per employee, the latest version of their latest entry dated on or before ``as_of``.

    Columns: entry_id, date, employee_id, author, what_moved, why_moved,
    expected_impact, support_needed, diagnosis. Empty when there is no journal.
    """
    frame = list_entries(root, employee_ids)
    if as_of is not None:
        frame = frame[frame["date"] <= pd.Timestamp(as_of)]
    frame = frame.drop_duplicates("employee_id", keep="last")
    return frame.loc[:, list(LATEST_COLUMNS)].sort_values("employee_id").reset_index(drop=True)


def open_actions(
    root: str | Path, employee_ids: Iterable[str], *, as_of: dt.date | str | None = None
) -> pd.DataFrame:
    """Actions whose latest status is open, from entries dated on or before ``as_of``.

    Columns: action_id, entry_id, employee_id, text, owner, due, status; by due date.
    """
    actions = list_actions(root, employee_ids)
    actions = actions[actions["status"] == "open"]
    if as_of is not None:
        actions = actions[actions["entry_date"] <= pd.Timestamp(as_of)]
    return actions.loc[:, list(ACTION_COLUMNS)].reset_index(drop=True)


def entry_history(root: str | Path, entry_id: int) -> pd.DataFrame:
    """Every version of entry ``entry_id`` and of its actions, in the order they were written.

    Columns: kind (entry/action), id, version, recorded_at, origin, note, and the
    entry's or the action's fields. Raises JournalError for an unknown entry.
    """
    entries = query(root, "SELECT * FROM entry_versions", ENTRY_VERSION_COLUMNS)
    entries = entries[entries["entry_id"] == entry_id]
    if entries.empty:
        raise JournalError(f"there is no entry {entry_id}; `kpinb checkin list` shows ids")
    actions = history_actions(root)
    actions = actions[actions["entry_id"] == entry_id]
    both = pd.concat(
        [
            entries.assign(kind="entry", id=entries["entry_id"]),
            actions.assign(kind="action", id=actions["action_id"]),
        ],
        ignore_index=True,
    )
    both = both.sort_values(["recorded_at", "kind"], ascending=[True, False], kind="stable")
    both["action_id"] = both["action_id"].astype("Int64")
    first = ["kind", "id", "version", "recorded_at", "origin", "note"]
    return both[first + [c for c in both.columns if c not in first]].reset_index(drop=True)


def history_entries(root: str | Path) -> pd.DataFrame:
    """Every entry version ever written (the full, append-only history)."""
    frame = query(root, "SELECT * FROM entry_versions", ENTRY_VERSION_COLUMNS)
    return frame.sort_values(["entry_id", "version"]).reset_index(drop=True)


def history_actions(root: str | Path) -> pd.DataFrame:
    """Every action version ever written, with the entry it belongs to."""
    sql = "SELECT v.*, a.entry_id FROM action_versions v JOIN actions a USING (action_id)"
    frame = query(root, sql, ACTION_VERSION_COLUMNS)
    return frame.sort_values(["action_id", "version"]).reset_index(drop=True)


def _only(frame: pd.DataFrame, employee_ids: Iterable[str] | None) -> pd.DataFrame:
    if employee_ids is None:
        return frame
    if isinstance(employee_ids, str):
        employee_ids = [employee_ids]
    return frame[frame["employee_id"].isin(list(employee_ids))]


# --- export and import -----------------------------------------------------------------------


def checkins_frame(root: str | Path) -> pd.DataFrame:
    """The journal's current state in the checkins.csv format (one row per action).

    Extra columns entry_id and action_id come last; the import ignores them, so an
    export imported again adds nothing.
    """
    entries = list_entries(root)
    actions = list_actions(root).rename(
        columns={"text": "action", "owner": "action_owner", "due": "action_due"}
    )
    actions = actions.rename(columns={"status": "action_status"})
    frame = entries.merge(actions[[*CHECKIN_COLUMNS[-4:], "entry_id", "action_id"]], "left")
    frame["action_id"] = frame["action_id"].astype("Int64")
    frame = frame.sort_values(["date", "entry_id", "action_id"], kind="stable")
    return frame[[*CHECKIN_COLUMNS, "entry_id", "action_id"]].reset_index(drop=True)


def import_checkins(
    root: str | Path,
    csv_path: str | Path,
    *,
    known_ids: Collection[str] | None = None,
    update: bool = False,
) -> ImportResult:
    """Import past check-ins from a checkins.csv file, all or nothing.

    Every bad row is reported at once (JournalError.problems) before the journal
    is touched. Entries already in the journal (same date, employee and author,
    and content that the journal holds or held) are skipped, so importing a file
    twice adds nothing. An entry whose content differs from the journal's is a
    conflict, unless ``update``: then the file's content is written as a new version.
    """
    path = Path(csv_path)
    data = path.read_bytes()
    entries, problems = parse_checkins(data, path.name, known_ids)
    _raise_problems(f"nothing was imported from {path.name}", problems)
    with writer(root) as conn, transaction(conn):
        return _import(conn, entries, path.name, hashlib.sha256(data).hexdigest(), update)


def _import(
    conn: sqlite3.Connection,
    entries: list[tuple[Entry, tuple[int, ...]]],
    file_name: str,
    sha: str,
    update: bool,
) -> ImportResult:
    """Plan against the journal as it is under the write lock, then write the plan."""
    entry_rows = conn.execute(
        "SELECT entry_id, version, date, employee_id, author, what_moved, why_moved, "
        "expected_impact, support_needed, diagnosis FROM entry_versions ORDER BY version"
    ).fetchall()
    action_rows = conn.execute(
        "SELECT v.action_id, a.entry_id, v.version, v.text, v.owner, v.due, v.status "
        "FROM action_versions v JOIN actions a USING (action_id) ORDER BY v.version"
    ).fetchall()
    plan = plan_import(entries, entry_rows, action_rows, file_name, update=update)
    _raise_problems(f"nothing was imported from {file_name}", plan.problems)
    for entry in plan.new_entries:
        _insert_entry(conn, entry, origin="import", note=file_name)
    for entry_id, version, entry in plan.entry_versions:
        _insert_entry_version(conn, entry_id, version, entry, "import", file_name)
    for entry_id, action in plan.new_actions:
        _insert_action(conn, entry_id, action, "import", file_name)
    for action_id, version, action in plan.action_versions:
        _insert_action(conn, 0, action, "import", file_name, action_id=action_id, version=version)
    return _record_import(conn, file_name, sha, plan.counts)


def _record_import(
    conn: sqlite3.Connection, file_name: str, sha: str, counts: dict[str, int]
) -> ImportResult:
    """Note the import in the ledger (when it wrote anything); say when the file came before."""
    before = conn.execute(
        "SELECT MIN(imported_at) FROM imports WHERE sha256 = ?", (sha,)
    ).fetchone()[0]
    if counts["added"] or counts["updated"]:
        conn.execute(
            "INSERT INTO imports (file_name, sha256, imported_at, added, updated, skipped) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (file_name, sha, now(), counts["added"], counts["updated"], counts["skipped"]),
        )
    return ImportResult(**counts, previous_import=before)
