"""The journal's SQLite file: schema versions, migrations, connections.

``journal.sqlite`` in the workspace folder is opened only here; what goes into
it is decided only in :mod:`kpinb.journal.entries` (these two modules own the file). It
is append-only: SQLite triggers refuse UPDATE and DELETE on every journal
table. The file is in WAL mode with a busy timeout, so concurrent writers wait
for each other instead of failing; every write is one ``BEGIN IMMEDIATE``
transaction (:func:`transaction`).

The schema is versioned (table ``schema_version``) and migrated forward when a
writer opens it: v1 holds entries and actions; v2 adds ``origin`` and ``note``
to every version row, an index for import matching, and the ``imports`` ledger; v3
refuses REPLACE (an insert over an existing key); v4 adds the calibration decision log
(``calibration_decisions``: proposed and agreed ratings with their reason, one row per
decision, a revised decision is a new row), append-only and REPLACE-proof like the rest;
v5 adds the delivery log (``deliveries``: one row per message ``kpinb deliver`` tried to
send, with the reports and their content hashes, the Message-ID and the result);
v6 lets a decision name the one it corrects (``calibration_decisions.supersedes``, at most
one correction per decision); rows written before keep NULL there.
Every open checks the file (``PRAGMA quick_check``) and refuses a damaged one, saying
how to recover.
Readers never create or migrate the file: :func:`query` returns an empty frame
when it does not exist, and a journal in a folder that cannot be written (a read-only
mount) is read from a snapshot; a writer there stops with a sentence naming the folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from kpinb.errors import JournalError
from kpinb.text import clean_text

FILE_NAME = "journal.sqlite"
BUSY_TIMEOUT_S = 60.0

# --- schema and migrations -------------------------------------------------------------------

_APPEND_ONLY = """CREATE TRIGGER {table}_no_{verb} BEFORE {op} ON {table}
BEGIN SELECT RAISE(ABORT, 'the check-in journal is append-only: {table} rows cannot be
{verb}d; add a new version instead'); END"""


def _append_only(*tables: str) -> list[str]:
    """Triggers that make ``tables`` refuse UPDATE and DELETE."""
    return [
        _APPEND_ONLY.format(table=t, op=op, verb=verb)
        for t in tables
        for op, verb in (("UPDATE", "update"), ("DELETE", "delete"))
    ]


_V1 = [
    "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)",
    "CREATE TABLE entries (entry_id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL)",
    """CREATE TABLE entry_versions (
        entry_id INTEGER NOT NULL REFERENCES entries(entry_id), version INTEGER NOT NULL,
        date TEXT NOT NULL, employee_id TEXT NOT NULL, author TEXT NOT NULL,
        what_moved TEXT NOT NULL, why_moved TEXT NOT NULL, expected_impact TEXT NOT NULL,
        support_needed TEXT NOT NULL, diagnosis TEXT NOT NULL
            CHECK (diagnosis IN ('execution', 'capability', 'dependency', 'none')),
        recorded_at TEXT NOT NULL, PRIMARY KEY (entry_id, version))""",
    """CREATE TABLE actions (action_id INTEGER PRIMARY KEY AUTOINCREMENT,
        entry_id INTEGER NOT NULL REFERENCES entries(entry_id), created_at TEXT NOT NULL)""",
    """CREATE TABLE action_versions (
        action_id INTEGER NOT NULL REFERENCES actions(action_id), version INTEGER NOT NULL,
        text TEXT NOT NULL, owner TEXT NOT NULL, due TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'done', 'dropped')),
        recorded_at TEXT NOT NULL, PRIMARY KEY (action_id, version))""",
    *_append_only("schema_version", "entries", "entry_versions", "actions", "action_versions"),
]
_V2 = [
    "ALTER TABLE entry_versions ADD COLUMN origin TEXT NOT NULL DEFAULT 'v1'",
    "ALTER TABLE entry_versions ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE action_versions ADD COLUMN origin TEXT NOT NULL DEFAULT 'v1'",
    "ALTER TABLE action_versions ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    "CREATE INDEX entry_versions_identity ON entry_versions (employee_id, date, author)",
    """CREATE TABLE imports (import_id INTEGER PRIMARY KEY AUTOINCREMENT,
        file_name TEXT NOT NULL, sha256 TEXT NOT NULL, imported_at TEXT NOT NULL,
        added INTEGER NOT NULL, updated INTEGER NOT NULL, skipped INTEGER NOT NULL)""",
    *_append_only("imports"),
]
# REPLACE (INSERT OR REPLACE, REPLACE INTO) deletes the old row without firing DELETE
# triggers: a BEFORE INSERT trigger refuses any insert whose key already exists
_NO_REPLACE = """CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}
WHEN EXISTS (SELECT 1 FROM {table} WHERE {match})
BEGIN SELECT RAISE(ABORT, 'the check-in journal is append-only: {table} rows cannot be
replaced; add a new version instead'); END"""
_KEYS = {
    "entries": ("entry_id",),
    "entry_versions": ("entry_id", "version"),
    "actions": ("action_id",),
    "action_versions": ("action_id", "version"),
    "imports": ("import_id",),
}
_V3 = [
    _NO_REPLACE.format(table=table, match=" AND ".join(f"{k} = NEW.{k}" for k in keys))
    for table, keys in _KEYS.items()
]
# the calibration decision log: a revised decision is a new row (the latest per period and
# employee is the current one); ratings are REAL so any rating scale fits
_V4 = [
    """CREATE TABLE calibration_decisions (decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
        period TEXT NOT NULL, employee_id TEXT NOT NULL, proposed_rating REAL,
        agreed_rating REAL NOT NULL, reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
        decided_by TEXT NOT NULL CHECK (length(trim(decided_by)) > 0),
        decided_on TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    "CREATE INDEX calibration_decisions_period ON calibration_decisions (period, employee_id)",
    *_append_only("calibration_decisions"),
    _NO_REPLACE.format(table="calibration_decisions", match="decision_id = NEW.decision_id"),
]
# the delivery log: one row per message kpinb deliver tried to send (a report resent
# after a change is a new row), so a rerun sends only what was not delivered yet
_V5 = [
    """CREATE TABLE deliveries (delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,
        period TEXT NOT NULL, recipient_id TEXT NOT NULL, address TEXT NOT NULL,
        reports TEXT NOT NULL, message_id TEXT NOT NULL, subject TEXT NOT NULL,
        result TEXT NOT NULL CHECK (result IN ('sent', 'refused', 'failed')),
        detail TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    "CREATE INDEX deliveries_recipient ON deliveries (period, recipient_id, address)",
    *_append_only("deliveries"),
    _NO_REPLACE.format(table="deliveries", match="delivery_id = NEW.delivery_id"),
]
# a correction names the decision it supersedes (NULL: none); a decision is superseded
# at most once (the partial unique index), so corrections form one chain per person
_V6 = [
    "ALTER TABLE calibration_decisions ADD COLUMN supersedes INTEGER "
    "REFERENCES calibration_decisions(decision_id)",
    "CREATE UNIQUE INDEX calibration_decisions_superseded ON calibration_decisions "
    "(supersedes) WHERE supersedes IS NOT NULL",
]
MIGRATIONS: tuple[tuple[int, list[str]], ...] = (
    (1, _V1), (2, _V2), (3, _V3), (4, _V4), (5, _V5), (6, _V6),
)  # fmt: skip
SCHEMA_VERSION = MIGRATIONS[-1][0]


def journal_path(root: str | Path) -> Path:
    """Where the journal of the workspace at ``root`` lives."""
    return Path(root) / FILE_NAME


def check_journal(root: str | Path) -> None:
    """Raise :class:`JournalError` (saying how to recover) when the workspace's journal
    exists and is damaged; a missing journal is fine (there are no check-ins yet)."""
    with reader(root):
        pass


def copy_journal(root: str | Path, dest: Path) -> bool:
    """Copy the journal, as one consistent snapshot (its write-ahead log included), to
    ``dest``; ``False`` when there is no journal. For a reader on another machine (a Dask
    worker) that must see the check-ins exactly as this run does."""
    with reader(root) as conn:
        if conn is None:
            return False
        target = sqlite3.connect(dest)
        try:
            conn.backup(target)
        finally:
            target.close()
    return True


def schema_version(root: str | Path) -> int:
    """The schema version of the journal file (0 when it does not exist); read-only."""
    with reader(root) as conn:
        return 0 if conn is None else _version(conn)


def migrate(root: str | Path) -> int:
    """Create the journal, or bring it to the current schema; returns the schema version.

    Every write does this on its own; call it to upgrade a journal explicitly.
    """
    with writer(root) as conn:
        return _version(conn)


def _version(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return 0  # a new, empty file
    return int(row[0] or 0)


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply every migration newer than the file's version, in one transaction."""
    if _version(conn) == SCHEMA_VERSION:
        return
    with transaction(conn):
        current = _version(conn)  # again, now under the write lock
        if current > SCHEMA_VERSION:
            raise JournalError(
                f"journal.sqlite has schema version {current}, newer than this kpinb "
                f"knows ({SCHEMA_VERSION}); upgrade kpinb to use it"
            )
        for version, statements in MIGRATIONS:
            if version > current:
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, now()))


# --- connections -----------------------------------------------------------------------------


@contextlib.contextmanager
def writer(root: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection to the journal, created and migrated to the current schema if needed.

    A folder that cannot be written (a read-only mount, no permission) is a JournalError
    that names it and the fix: nothing was saved.
    """
    if not Path(root).is_dir():
        raise JournalError(f"workspace folder '{root}' does not exist")
    path = journal_path(root)
    with _read_only_as_journal_error(root):
        if not path.exists():  # notes about people: readable by its owner only
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            with _unreadable_as_journal_error(root):
                conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                _check_intact(conn, root)
                _ensure_wal(conn)
                conn.execute("PRAGMA foreign_keys = ON")
                _migrate(conn)
            yield conn
        finally:
            conn.close()


@contextlib.contextmanager
def _read_only_as_journal_error(root: str | Path) -> Iterator[None]:
    """A journal that cannot be written becomes a JournalError saying why and what to do."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if not _is_read_only_folder(exc):
            raise
        raise JournalError(read_only(root)) from None
    except OSError as exc:  # creating the file
        if not isinstance(exc, PermissionError) and exc.errno != errno.EROFS:
            raise
        raise JournalError(read_only(root)) from None


def read_only(root: str | Path) -> str:
    """What to say when the journal of the workspace at ``root`` cannot be written."""
    return (
        f"nothing was saved: the workspace folder {Path(root)} cannot be written (a read-only "
        f"disk or no permission), and the check-in journal ({FILE_NAME}, with the -wal and "
        "-shm files SQLite keeps beside it) lives there. Fix: make the folder writable for "
        "this account, or copy the workspace to a writable folder, and run the command again"
    )


def _check_intact(conn: sqlite3.Connection, root: str | Path) -> None:
    """Refuse a damaged journal (``PRAGMA quick_check``: a few ms for a journal's size),
    so nothing is read wrong from it or written into it."""
    found = [row[0] for row in conn.execute("PRAGMA quick_check(5)").fetchall()]
    if found != ["ok"]:
        detail = " ".join("; ".join(found).split())
        raise JournalError(damaged(root, detail[:160] + ("..." if len(detail) > 160 else "")))


def damaged(root: str | Path, detail: str) -> str:
    """What to say about a damaged journal, and how to recover."""
    path = journal_path(root)
    return (
        f"{path} cannot be read as a journal: it is damaged ({detail}); nothing was read "
        "from it or written to it. "
        f"Recover: restore the last backup of {path.name}, or move it aside and rebuild "
        f"what can still be read with the sqlite3 tool "
        f"(sqlite3 {path.name} .recover | sqlite3 recovered.sqlite), then put the "
        f"recovered file in its place"
    )


@contextlib.contextmanager
def _unreadable_as_journal_error(root: str | Path) -> Iterator[None]:
    """A file that is not a SQLite database (or is damaged) becomes a JournalError."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if type(exc) is not sqlite3.DatabaseError:  # locked, constraint...: not about the file
            raise
        raise JournalError(damaged(root, str(exc))) from None


def _ensure_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL mode (persistent); retry while another process holds it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: the write lock is taken up front, so writers queue."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.contextmanager
def reader(root: str | Path) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection, or None when there is no journal (never creates the file).

    A reader of a WAL-mode file needs its ``-shm`` (and ``-wal``) beside it, which SQLite
    creates on first read; in a folder that cannot be written (a read-only mount, no
    permission) that fails, so the journal is read from a snapshot instead
    (:func:`_snapshot`): nobody can change it there.
    """
    path = journal_path(root)
    if not path.is_file():
        yield None
        return
    with contextlib.ExitStack() as stack:
        try:
            conn = _open_read_only(root, f"{path.resolve().as_uri()}?mode=ro", stack)
        except sqlite3.OperationalError as exc:
            if not _is_read_only_folder(exc):
                raise
            try:
                conn = _open_read_only(root, _snapshot(path, stack), stack)
            except (sqlite3.OperationalError, OSError) as again:
                msg = (
                    f"{path} cannot be read ({again}); nothing was read from it. Fix: let "
                    "this account read the file (ask its owner), then run the command again"
                )
                raise JournalError(msg) from None
        yield conn


def _open_read_only(root: str | Path, uri: str, stack: contextlib.ExitStack) -> sqlite3.Connection:
    """A read-only connection to ``uri``, checked (closed when ``stack`` closes)."""
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
    stack.callback(conn.close)
    _check_readable(conn, root)
    return conn


def _check_readable(conn: sqlite3.Connection, root: str | Path) -> None:
    with _unreadable_as_journal_error(root):
        _check_intact(conn, root)
        _version(conn)


def _is_read_only_folder(exc: sqlite3.OperationalError) -> bool:
    """SQLite could not create or write the files it keeps beside the journal."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)


def _snapshot(path: Path, stack: contextlib.ExitStack) -> str:
    """A URI that reads ``path`` where its folder cannot be written.

    With no write-ahead log beside it, the file itself is opened ``immutable`` (SQLite
    then needs no ``-shm``). With one (a writer's last changes not yet merged into the
    file), the file and its log are copied to a private temporary folder and read there,
    so those changes are read too; the copy is removed when the connection closes.
    """
    wal = path.with_name(path.name + "-wal")
    if not (wal.is_file() and wal.stat().st_size > 0):
        return f"{path.resolve().as_uri()}?immutable=1"
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kpinb-journal-")))
    shutil.copyfile(path, folder / path.name)
    shutil.copyfile(wal, folder / wal.name)
    return f"{(folder / path.name).as_uri()}?mode=ro"


def now() -> str:
    """The time a row is recorded at: UTC, ISO 8601 with microseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


# --- typed reads -----------------------------------------------------------------------------

_DATE_COLUMNS = ("date", "due", "entry_date", "decided_on")
_INT_COLUMNS = ("entry_id", "action_id", "version", "decision_id")
_FLOAT_COLUMNS = ("proposed_rating", "agreed_rating")
_NULLABLE_INT_COLUMNS = ("supersedes",)  # absent in older journals: <NA>


def query(root: str | Path, sql: str, columns: Sequence[str], *, since: int = 1) -> pd.DataFrame:
    """Run ``sql`` read-only; typed frame with ``columns`` (empty when there is no journal,
    or when its schema is older than ``since``, the version that added the table read)."""
    with reader(root) as conn:
        rows: list[tuple[object, ...]] = []
        names: list[str] = list(columns)
        if conn is not None and _version(conn) >= max(since, 1):
            with _unreadable_as_journal_error(root):
                cursor = conn.execute(sql)
                rows, names = cursor.fetchall(), [d[0] for d in cursor.description]
    frame = pd.DataFrame.from_records(rows, columns=names).reindex(columns=list(columns))
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Journal columns with their dtypes: ids int64, dates datetime64, text str (object)."""
    for col in frame.columns:
        if col in _INT_COLUMNS:
            frame[col] = frame[col].astype("int64")
        elif col in _NULLABLE_INT_COLUMNS:
            frame[col] = pd.to_numeric(frame[col]).astype("Int64")
        elif col in _FLOAT_COLUMNS:
            frame[col] = pd.to_numeric(frame[col]).astype("float64")
        elif col in _DATE_COLUMNS:
            frame[col] = pd.to_datetime(frame[col], format="%Y-%m-%d").astype("datetime64[ns]")
        else:  # text as stored today: an older row may hold a terminal escape
            frame[col] = frame[col].fillna("").map(clean_text).astype(object)
    return frame
