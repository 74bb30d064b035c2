"""The check-in journal: append-only history, migrations, concurrency, import and read API."""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from kpinb import journal
from kpinb.errors import JournalError
from kpinb.journal import Action, Entry

D = dt.date
HEADER = (
    "date,employee_id,author,what_moved,why_moved,expected_impact,support_needed,"
    "diagnosis,action,action_owner,action_due,action_status\n"
)
PEOPLE = {"00123", "00124", "00125"}


JULY_1 = D(2026, 7, 1)


def _entry(employee: str = "00123", day: D = JULY_1, **kw: object) -> Entry:
    base = dict(
        date=day, employee_id=employee, author="Ada", what_moved="calls up",
        why_moved="new script", expected_impact="more deals", support_needed="none for now",
        diagnosis="execution",
    )  # fmt: skip
    return Entry(**(base | kw))  # type: ignore[arg-type]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _csv(tmp_path: Path, body: str, name: str = "checkins.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


# --- read API without a journal ---------------------------------------------------------------


def test_readers_return_typed_empty_frames_and_never_create_the_file(tmp_path) -> None:
    latest = journal.latest_entries(tmp_path, ["00123"], as_of="2026-09-30")
    actions = journal.open_actions(tmp_path, ["00123"])
    assert list(latest.columns) == [
        "entry_id", "date", "employee_id", "author", "what_moved", "why_moved",
        "expected_impact", "support_needed", "diagnosis",
    ]  # fmt: skip
    assert list(actions.columns) == [
        "action_id", "entry_id", "employee_id", "text", "owner", "due", "status",
    ]  # fmt: skip
    assert latest.empty and actions.empty
    assert latest["date"].dtype == "datetime64[ns]" and actions["due"].dtype == "datetime64[ns]"
    assert journal.schema_version(tmp_path) == 0
    assert list(tmp_path.iterdir()) == []
    assert journal.latest_entries(tmp_path / "no-such-folder", ["x"]).empty


# --- writing, versions, append-only ------------------------------------------------------------


def test_a_new_journal_is_current_and_in_wal_mode(tmp_path) -> None:
    journal.add_entry(tmp_path, _entry())
    assert journal.schema_version(tmp_path) == journal.SCHEMA_VERSION == 6
    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_latest_entries_and_open_actions_respect_as_of(tmp_path) -> None:
    """00123: June entry (action A open) and August entry (action B open, action C done).

    as_of 2026-07-31 sees the June entry and A only; no as_of sees August, A and B.
    """
    due = D(2026, 10, 1)
    june = journal.add_entry(
        tmp_path, _entry(day=D(2026, 6, 1), actions=(Action("A", "Ada", due),))
    )
    august = journal.add_entry(
        tmp_path,
        _entry(day=D(2026, 8, 1), what_moved="deals up",
               actions=(Action("B", "Ada", due), Action("C", "Ada", due, "done"))),
    )  # fmt: skip
    journal.add_entry(tmp_path, _entry("00124", day=D(2026, 9, 1)))
    before = journal.latest_entries(tmp_path, ["00123"], as_of="2026-07-31")
    assert before[["entry_id", "what_moved"]].values.tolist() == [[june, "calls up"]]
    assert journal.open_actions(tmp_path, ["00123"], as_of="2026-07-31")["text"].tolist() == ["A"]
    now = journal.latest_entries(tmp_path, ["00123", "00124"])
    assert now[["employee_id", "entry_id"]].values.tolist() == [["00123", august], ["00124", 3]]
    opened = journal.open_actions(tmp_path, ["00123"])
    assert sorted(opened["text"]) == ["A", "B"] and set(opened["employee_id"]) == {"00123"}


def test_editing_and_closing_keep_the_full_history(tmp_path) -> None:
    action = Action("pair with a colleague", "Ada", D(2026, 8, 1))
    entry_id = journal.add_entry(tmp_path, _entry(actions=(action,)))
    assert journal.edit_entry(tmp_path, entry_id, {"why_moved": "a new playbook"}, note="typo") == 2
    assert journal.close_action(tmp_path, 1, status="done", note="went well") == 2
    assert journal.close_action(tmp_path, 1, status="open") == 3  # reopened: a third version
    entries = journal.history_entries(tmp_path)
    assert entries[["version", "why_moved", "origin", "note"]].values.tolist() == [
        [1, "new script", "add", ""],
        [2, "a new playbook", "edit", "typo"],
    ]
    actions = journal.history_actions(tmp_path)
    assert actions[["version", "status", "origin"]].values.tolist() == [
        [1, "open", "add"], [2, "done", "close"], [3, "open", "close"],
    ]  # fmt: skip
    history = journal.entry_history(tmp_path, entry_id)
    assert history[["kind", "version"]].values.tolist() == [
        ["entry", 1], ["action", 1], ["entry", 2], ["action", 2], ["action", 3],
    ]  # fmt: skip
    assert journal.latest_entries(tmp_path, ["00123"])["why_moved"].tolist() == ["a new playbook"]


def test_an_edit_that_changes_nothing_writes_nothing(tmp_path) -> None:
    entry_id = journal.add_entry(tmp_path, _entry())
    assert journal.edit_entry(tmp_path, entry_id, {"why_moved": "new script"}) == 1
    assert len(journal.history_entries(tmp_path)) == 1


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE entry_versions SET what_moved = 'x'",
        "DELETE FROM entry_versions",
        "UPDATE action_versions SET status = 'done'",
        "DELETE FROM action_versions",
        "DELETE FROM entries",
        "DELETE FROM actions",
        "DELETE FROM schema_version",
    ],
)
def test_history_rows_cannot_be_updated_or_deleted(tmp_path, sql: str) -> None:
    journal.add_entry(tmp_path, _entry(actions=(Action("A", "Ada", D(2026, 8, 1)),)))
    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
        assert conn.execute("SELECT COUNT(*) FROM entry_versions").fetchone()[0] == 1


def test_a_bad_entry_names_every_problem_and_writes_nothing(tmp_path) -> None:
    bad = _entry(
        "E999", what_moved=" ", diagnosis="blame",
        actions=(Action("", "Ada", "2026-02-30", "closed"),),  # type: ignore[arg-type]
    )  # fmt: skip
    with pytest.raises(JournalError) as err:
        journal.add_entry(tmp_path, bad, known_ids=PEOPLE)
    columns = sorted(p.column or "" for p in err.value.problems)
    assert columns == ["action", "action_due", "action_status", "diagnosis", "employee_id",
                       "what_moved"]  # fmt: skip
    assert not (tmp_path / "journal.sqlite").exists()


def test_unknown_ids_are_refused_by_edit_and_close(tmp_path) -> None:
    journal.add_entry(tmp_path, _entry())
    with pytest.raises(JournalError, match="no entry 9"):
        journal.edit_entry(tmp_path, 9, {"why_moved": "x"})
    with pytest.raises(JournalError, match="no action 9"):
        journal.close_action(tmp_path, 9)
    with pytest.raises(JournalError, match="not entry fields"):
        journal.edit_entry(tmp_path, 1, {"actions": ()})


# --- migration ---------------------------------------------------------------------------------

# The v1 schema as shipped, written out by hand so the test does not trust journal.py's copy.
V1_FIXTURE = """
CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL);
CREATE TABLE entries (entry_id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL);
CREATE TABLE entry_versions (entry_id INTEGER NOT NULL, version INTEGER NOT NULL,
  date TEXT NOT NULL, employee_id TEXT NOT NULL, author TEXT NOT NULL, what_moved TEXT NOT NULL,
  why_moved TEXT NOT NULL, expected_impact TEXT NOT NULL, support_needed TEXT NOT NULL,
  diagnosis TEXT NOT NULL, recorded_at TEXT NOT NULL, PRIMARY KEY (entry_id, version));
CREATE TABLE actions (action_id INTEGER PRIMARY KEY AUTOINCREMENT, entry_id INTEGER NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE action_versions (action_id INTEGER NOT NULL, version INTEGER NOT NULL,
  text TEXT NOT NULL, owner TEXT NOT NULL, due TEXT NOT NULL, status TEXT NOT NULL,
  recorded_at TEXT NOT NULL, PRIMARY KEY (action_id, version));
INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00');
INSERT INTO entries VALUES (1, 't1'), (2, 't2'), (3, 't3');
INSERT INTO entry_versions VALUES
  (1, 1, '2026-04-01', '00123', 'Ada', 'calls up', 'script', 'more', 'none', 'execution', 't1'),
  (1, 2, '2026-04-01', '00123', 'Ada', 'calls up', 'new script', 'more', 'none', 'execution', 't4'),
  (2, 1, '2026-05-01', '00124', 'Ada', 'deals flat', 'holidays', 'same', 'cover', 'none', 't2'),
  (3, 1, '2026-06-01', '00125', 'Bo', 'tickets slow', 'CRM outage', 'back', 'IT', 'dependency',
   't3');
INSERT INTO actions VALUES (1, 1, 't1'), (2, 3, 't3');
INSERT INTO action_versions VALUES
  (1, 1, 'pair up', 'Ada', '2026-05-01', 'open', 't1'),
  (1, 2, 'pair up', 'Ada', '2026-05-01', 'done', 't5'),
  (2, 1, 'ask IT for a date', 'Bo', '2026-07-01', 'open', 't3');
"""


def test_migration_from_v1_keeps_every_entry_and_action_version(tmp_path) -> None:
    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        conn.executescript(V1_FIXTURE)
        before_entries = conn.execute("SELECT * FROM entry_versions ORDER BY 1, 2").fetchall()
        before_actions = conn.execute("SELECT * FROM action_versions ORDER BY 1, 2").fetchall()
    conn.close()
    assert journal.schema_version(tmp_path) == 1
    assert journal.migrate(tmp_path) == 6
    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        after_entries = conn.execute("SELECT * FROM entry_versions ORDER BY 1, 2").fetchall()
        after_actions = conn.execute("SELECT * FROM action_versions ORDER BY 1, 2").fetchall()
        versions = conn.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    conn.close()
    # every v1 row is there unchanged, followed by v2's new origin and note columns
    assert after_entries == [(*row, "v1", "") for row in before_entries]
    assert after_actions == [(*row, "v1", "") for row in before_actions]
    assert versions == [(1,), (2,), (3,), (4,), (5,), (6,)]
    assert journal.latest_entries(tmp_path, PEOPLE)["why_moved"].tolist() == [
        "new script", "holidays", "CRM outage",
    ]  # fmt: skip
    assert journal.open_actions(tmp_path, PEOPLE)["text"].tolist() == ["ask IT for a date"]
    assert journal.add_entry(tmp_path, _entry()) == 4  # and it keeps working


def test_a_journal_from_a_newer_kpinb_is_refused(tmp_path) -> None:
    journal.migrate(tmp_path)
    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 'later')")
    conn.close()
    with pytest.raises(JournalError, match="newer"):
        journal.add_entry(tmp_path, _entry())


def test_a_file_that_is_not_a_journal_is_refused_and_left_alone(tmp_path) -> None:
    (tmp_path / "journal.sqlite").write_bytes(b"not a database, just notes" * 100)
    before = _sha(tmp_path / "journal.sqlite")
    with pytest.raises(JournalError, match="cannot be read as a journal"):
        journal.latest_entries(tmp_path, ["00123"])
    with pytest.raises(JournalError, match="cannot be read as a journal"):
        journal.add_entry(tmp_path, _entry())
    assert _sha(tmp_path / "journal.sqlite") == before


# --- concurrency -------------------------------------------------------------------------------


def _add_many(root: str, author: str, count: int, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    for i in range(count):
        action = Action(f"action {i}", author, D(2026, 10, 1))
        journal.add_entry(root, _entry(author=author, what_moved=f"{i}", actions=(action,)))


def test_two_processes_adding_500_entries_each_end_with_1000(tmp_path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    workers = [
        ctx.Process(target=_add_many, args=(str(tmp_path), name, 500, barrier))
        for name in ("Ada", "Bo")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0]
    entries = journal.list_entries(tmp_path)
    assert len(entries) == 1000 and entries["entry_id"].nunique() == 1000
    assert entries.groupby("author")["what_moved"].nunique().to_dict() == {"Ada": 500, "Bo": 500}
    assert len(journal.list_actions(tmp_path)) == 1000


# --- import ------------------------------------------------------------------------------------

GOOD = (
    "2026-05-06,00123,Ada,calls dipped,new process,recovery,coaching,capability,"
    "pair up,Ada,2026-06-03,done\n"
    "2026-05-06,00123,Ada,calls dipped,new process,recovery,coaching,capability,"
    "read the playbook,Ada,2026-06-10,open\n"
    "2026-08-19,00124,Bo,deals steady,routine,steady,none,none,,,,\n"
)


def test_import_groups_rows_into_entries_with_their_actions(tmp_path) -> None:
    result = journal.import_checkins(tmp_path, _csv(tmp_path, GOOD), known_ids=PEOPLE)
    assert (result.added, result.updated, result.skipped) == (2, 0, 0)
    actions = journal.list_actions(tmp_path)
    assert actions[["entry_id", "text", "status"]].values.tolist() == [
        [1, "pair up", "done"], [1, "read the playbook", "open"],
    ]  # fmt: skip
    assert journal.history_entries(tmp_path)["origin"].tolist() == ["import", "import"]


def test_importing_the_same_file_twice_adds_nothing(tmp_path) -> None:
    path = _csv(tmp_path, GOOD)
    journal.import_checkins(tmp_path, path)
    journal.close_action(tmp_path, 2)  # the journal moves on after the first import
    again = journal.import_checkins(tmp_path, path)
    assert (again.added, again.updated, again.skipped) == (0, 0, 2)
    assert again.previous_import is not None
    assert len(journal.history_entries(tmp_path)) == 2


def test_a_changed_row_is_a_conflict_unless_update_is_asked(tmp_path) -> None:
    journal.import_checkins(tmp_path, _csv(tmp_path, GOOD))
    changed = _csv(tmp_path, GOOD.replace("deals steady", "deals up"), "changed.csv")
    with pytest.raises(JournalError) as err:
        journal.import_checkins(tmp_path, changed)
    assert [(p.file, p.rows) for p in err.value.problems] == [("changed.csv", (4,))]
    assert "(entry 2); the file differs in what_moved" in err.value.problems[0].problem
    result = journal.import_checkins(tmp_path, changed, update=True)
    assert (result.added, result.updated, result.skipped) == (0, 1, 1)
    assert journal.history_entries(tmp_path)["what_moved"].tolist() == [
        "calls dipped", "deals steady", "deals up",
    ]  # fmt: skip


def test_update_versions_changed_actions_and_adds_new_ones(tmp_path) -> None:
    """GOOD's entry 1 has 'pair up' (action 1) and 'read the playbook' (action 2, open).

    The new file closes action 2 and adds 'present it': action 2 gets version 2 (done),
    'present it' becomes action 3, action 1 and the entry itself stay at version 1.
    """
    journal.import_checkins(tmp_path, _csv(tmp_path, GOOD))
    rows = GOOD.splitlines()
    changed = [
        rows[0],
        rows[1].replace(",open", ",done"),
        rows[1].replace("read the playbook", "present it").replace(",open", ","),
    ]
    path = _csv(tmp_path, "\n".join(changed) + "\n", "closed.csv")
    with pytest.raises(JournalError, match="action 'read the playbook', new action 'present it'"):
        journal.import_checkins(tmp_path, path)
    result = journal.import_checkins(tmp_path, path, update=True)
    assert (result.added, result.updated, result.skipped) == (0, 1, 0)
    actions = journal.history_actions(tmp_path)
    assert actions[["action_id", "version", "text", "status"]].values.tolist() == [
        [1, 1, "pair up", "done"],
        [2, 1, "read the playbook", "open"],
        [2, 2, "read the playbook", "done"],
        [3, 1, "present it", "open"],
    ]
    assert journal.history_entries(tmp_path)["version"].tolist() == [1, 1]


def test_import_errors_name_every_bad_row(tmp_path) -> None:
    body = (
        GOOD  # rows 2-4 are fine
        + "2026/07/01,00123,Ada,x,y,z,w,none,,,,\n"  # row 5: date format
        + "2026-07-02,E999,Ada,x,y,z,w,blame,,,,\n"  # row 6: unknown id, bad diagnosis
        + "2026-07-03,00125,Bo,x,y,z,w,none,call IT,,2026-13-01,closed\n"  # row 7: three
        + "2026-07-04,00125,Bo,x,y,z,w,none,a,Bo,2026-08-01,open\n"  # row 8: fine alone
        + "2026-07-04,00125,Bo,other,y,z,w,none,b,Bo,2026-08-01,open\n"  # row 9: differs from 8
        + "2026-07-05,00125,,,y,z,w,none,,,,\n"  # row 10: author and what_moved empty
    )
    with pytest.raises(JournalError) as err:
        journal.import_checkins(tmp_path, _csv(tmp_path, body), known_ids=PEOPLE)
    found = sorted((p.rows, p.column) for p in err.value.problems)
    assert found == [
        ((5,), "date"), ((6,), "diagnosis"), ((6,), "employee_id"),
        ((7,), "action_due"), ((7,), "action_owner"), ((7,), "action_status"),
        ((9,), "what_moved"), ((10,), "author"), ((10,), "what_moved"),
    ]  # fmt: skip
    assert all(p.file == "checkins.csv" and p.fix for p in err.value.problems)
    assert not (tmp_path / "journal.sqlite").exists()


def test_missing_columns_are_named(tmp_path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("date,employee_id,author,what_moved\n2026-07-01,00123,Ada,x\n")
    with pytest.raises(JournalError) as err:
        journal.import_checkins(tmp_path, path)
    assert [p.column for p in err.value.problems] == [
        "why_moved", "expected_impact", "support_needed", "diagnosis",
        "action", "action_owner", "action_due", "action_status",
    ]  # fmt: skip


@pytest.mark.parametrize("bad_body", ["2026-13-40,00123,Ada,x,y,z,w,none,,,,\n", "conflict"])
def test_a_failed_import_leaves_the_journal_byte_for_byte_unchanged(tmp_path, bad_body) -> None:
    journal.import_checkins(tmp_path, _csv(tmp_path, GOOD))
    journal.add_entry(tmp_path, _entry("00125"))
    before = _sha(tmp_path / "journal.sqlite")
    if bad_body == "conflict":  # fails inside the transaction, after two entries were added
        bad_body = "2026-09-01,00125,Cy,a,b,c,d,none,,,,\n" * 1 + GOOD.replace("steady", "up")
        bad_body = "2026-09-02,00124,Cy,a,b,c,d,none,,,,\n" + bad_body
    with pytest.raises(JournalError):
        journal.import_checkins(tmp_path, _csv(tmp_path, bad_body, "bad.csv"))
    assert _sha(tmp_path / "journal.sqlite") == before
    assert len(journal.list_entries(tmp_path)) == 3


def test_an_import_that_breaks_while_writing_is_rolled_back(tmp_path, monkeypatch) -> None:
    """The last step (the ledger row) fails after every entry was inserted: none may stay."""
    journal.add_entry(tmp_path, _entry("00125"))
    before = _sha(tmp_path / "journal.sqlite")

    def broken(*args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr("kpinb.journal.entries._record_import", broken)
    with pytest.raises(sqlite3.OperationalError):
        journal.import_checkins(tmp_path, _csv(tmp_path, GOOD))
    assert _sha(tmp_path / "journal.sqlite") == before
    assert len(journal.history_entries(tmp_path)) == 1
    assert journal.history_actions(tmp_path).empty


def test_semicolons_bom_extra_columns_and_neutralised_text_are_read(tmp_path) -> None:
    header = HEADER.strip().replace(",", ";") + ";extra\n"
    row = "2026-07-01;00123;Ada;'=1+2;y;z;w;Execution;'-call;Ada;2026-08-01;;ignored\n"
    path = tmp_path / "c.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (header + row).encode())
    journal.import_checkins(tmp_path, path)
    entry = journal.list_entries(tmp_path).iloc[0]
    action = journal.list_actions(tmp_path).iloc[0]
    assert (entry["what_moved"], entry["diagnosis"]) == ("=1+2", "execution")
    assert (action["text"], action["status"]) == ("-call", "open")


def test_an_export_imports_again_as_the_same_journal(tmp_path) -> None:
    from kpinb.journal.sheets import write_csv

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    journal.import_checkins(first, _csv(tmp_path, GOOD))
    journal.add_entry(
        first, _entry(what_moved="=HYPERLINK(x)", actions=(Action("@x", "A", D(2026, 1, 2)),))
    )
    exported = write_csv(journal.checkins_frame(first), tmp_path / "export.csv")
    assert journal.import_checkins(first, exported).added == 0
    assert journal.import_checkins(second, exported).added == 3
    columns = ["date", "employee_id", "what_moved", "diagnosis"]
    pd.testing.assert_frame_equal(
        journal.list_entries(first)[columns], journal.list_entries(second)[columns]
    )
    # by due date: 2026-01-02, 2026-06-03, 2026-06-10
    assert journal.list_actions(second)["text"].tolist() == ["@x", "pair up", "read the playbook"]
