"""The check-in journal (rank 2): records, the SQLite store, import and export, and
spreadsheet-safe writing. ``journal.sqlite`` is only touched through these functions."""

from kpinb.journal.entries import (
    ACTION_COLUMNS,
    LATEST_COLUMNS,
    ImportResult,
    add_entry,
    checkins_frame,
    close_action,
    edit_entry,
    entry_history,
    history_actions,
    history_entries,
    import_checkins,
    latest_entries,
    list_actions,
    list_entries,
    open_actions,
)
from kpinb.journal.records import (
    CHECKIN_COLUMNS,
    DIAGNOSES,
    STATUSES,
    Action,
    Entry,
    check_entry,
    parse_date,
)
from kpinb.journal.sheets import neutralise, unneutralise, write_csv, write_xlsx
from kpinb.journal.store import SCHEMA_VERSION, journal_path, migrate, schema_version

__all__ = [
    "ACTION_COLUMNS",
    "CHECKIN_COLUMNS",
    "DIAGNOSES",
    "LATEST_COLUMNS",
    "SCHEMA_VERSION",
    "STATUSES",
    "Action",
    "Entry",
    "ImportResult",
    "add_entry",
    "check_entry",
    "checkins_frame",
    "close_action",
    "edit_entry",
    "entry_history",
    "history_actions",
    "history_entries",
    "import_checkins",
    "journal_path",
    "latest_entries",
    "list_actions",
    "list_entries",
    "migrate",
    "neutralise",
    "open_actions",
    "parse_date",
    "schema_version",
    "unneutralise",
    "write_csv",
    "write_xlsx",
]
