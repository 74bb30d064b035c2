"""Hard to break: bad input, damaged journals and hostile text get a clear error or a
correct result, lose nothing and leak nothing (one test per hostile case)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pandas as pd
import pytest

from kpinb import cli, journal
from kpinb.batch.formats.page import external_fetches
from kpinb.errors import JournalError
from kpinb.journal import Entry
from kpinb.workspace import load_workspace, validate_workspace


def _copy(tmp_path: Path, workspace_dir: Path) -> Path:
    return Path(shutil.copytree(workspace_dir, tmp_path / "ws"))


def _entry(n: int, author: str = "Ada") -> Entry:
    return Entry(
        date=dt.date(2026, 7, 1) + dt.timedelta(days=n),
        employee_id="E001",
        author=author,
        what_moved=f"calls up, week {n} " + "x" * 300,
        why_moved="new script",
        expected_impact="more deals",
        support_needed="none for now",
        diagnosis="execution",
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- 1. a header-only observations file ---------------------------------------------------


def test_a_header_only_observations_file_is_valid_with_a_warning(
    tmp_path: Path, workspace_dir: Path
) -> None:
    ws = _copy(tmp_path, workspace_dir)
    header = (ws / "observations.csv").read_text(encoding="utf-8").splitlines()[0]
    (ws / "observations.csv").write_text(header + "\n", encoding="utf-8")
    result = validate_workspace(ws)
    assert result.ok and len(result.workspace.observations) == 0
    assert any("no values yet" in str(w) for w in result.warnings)
    assert cli.main(["validate", str(ws)]) == 0


# --- 2. "NA", "N/A", "null" are text -----------------------------------------------------


def test_na_words_in_text_columns_are_text_not_empty_cells(
    tmp_path: Path, workspace_dir: Path
) -> None:
    ws = _copy(tmp_path, workspace_dir)
    teams = pd.read_csv(ws / "teams.csv", dtype=str, keep_default_na=False)
    teams.loc[0, "department"] = "NA"
    teams.to_csv(ws / "teams.csv", index=False)
    people = pd.read_csv(ws / "people.csv", dtype=str, keep_default_na=False)
    people.loc[1, "name"], people.loc[2, "role"] = "null", "N/A"
    people.to_csv(ws / "people.csv", index=False)
    loaded = load_workspace(ws)
    assert loaded.teams["department"].iloc[0] == "NA"
    assert list(loaded.people["name"].iloc[1:2]) == ["null"]
    assert list(loaded.people["role"].iloc[2:3]) == ["N/A"]
    # the same in an Excel file
    (ws / "people.csv").unlink()
    people.to_excel(ws / "people.xlsx", index=False)
    assert list(load_workspace(ws).people["name"].iloc[1:2]) == ["null"]


def test_a_truly_empty_text_cell_is_still_empty(tmp_path: Path, workspace_dir: Path) -> None:
    ws = _copy(tmp_path, workspace_dir)
    people = pd.read_csv(ws / "people.csv", dtype=str, keep_default_na=False)
    people.loc[1, "name"] = ""
    people.to_csv(ws / "people.csv", index=False)
    result = validate_workspace(ws)
    assert not result.ok
    assert any("'name'" in str(p) for p in result.problems)


# --- 3. the offline scan reads markup, not text ------------------------------------------


@pytest.mark.parametrize(
    "text", ["@import a new habit", "url(//example.com/x)", "see url( //x ) and @import"]
)
def test_escaped_text_that_looks_like_css_is_not_a_fetch(text: str) -> None:
    import html

    page = f"<html><head><style>p {{ color: red }}</style></head><body><p>{html.escape(text)}"
    page += f'</p><div aria-label="{html.escape(text)}">x</div></body></html>'
    assert external_fetches(page) == []


@pytest.mark.parametrize(
    "page",
    [
        "<style>@import 'x.css';</style>",
        "<style>p { background: url(//evil.example/x.png) }</style>",
        '<p style="background: url(https://evil.example/x)">x</p>',
        '<img src="//evil.example/x.png">',
    ],
)
def test_markup_that_fetches_is_still_found(page: str) -> None:
    assert external_fetches(page) != []


# --- 4. a journal damaged inside its data pages --------------------------------------------


def _damaged_journal(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    for n in range(60):  # several pages of rows
        journal.add_entry(root, _entry(n))
    path = journal.journal_path(root)
    with sqlite3.connect(path) as conn:  # fold the write-ahead log into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[3 * page : 5 * page] = os.urandom(2 * page)  # header (page 1) intact
    path.write_bytes(bytes(data))
    return root


def test_a_damaged_journal_is_refused_by_every_command_and_never_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _damaged_journal(tmp_path)
    path = journal.journal_path(root)
    before = _sha(path)
    with pytest.raises(JournalError, match=r"damaged.*Recover: restore the last backup"):
        journal.list_entries(root)
    with pytest.raises(JournalError, match="nothing was read from it or written to it"):
        journal.add_entry(root, _entry(99))
    assert _sha(path) == before
    assert cli.main(["checkin", "list", str(root)]) == 1
    out = str(tmp_path / "x.csv")
    assert cli.main(["checkin", "export", str(root), "--format", "csv", "--out", out]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and "Traceback" not in err
    assert _sha(path) == before


# --- 10. REPLACE cannot rewrite history ----------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT OR REPLACE INTO entry_versions SELECT * FROM entry_versions WHERE entry_id = 1",
        "REPLACE INTO entries (entry_id, created_at) VALUES (1, 'x')",
        "INSERT OR REPLACE INTO action_versions SELECT * FROM action_versions",
        "REPLACE INTO actions (action_id, entry_id, created_at) VALUES (1, 1, 'x')",
    ],
)
def test_replace_cannot_rewrite_the_journal(tmp_path: Path, sql: str) -> None:
    from kpinb.journal import Action

    entry = _entry(1)
    entry = Entry(
        **{**entry.__dict__, "actions": (Action("call", "Ada", dt.date(2026, 7, 9), "open"),)}
    )
    journal.add_entry(tmp_path, entry)
    before = journal.history_entries(tmp_path), journal.history_actions(tmp_path)
    conn = sqlite3.connect(journal.journal_path(tmp_path))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(sql)
    conn.close()
    after = journal.history_entries(tmp_path), journal.history_actions(tmp_path)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])


def test_a_new_journal_is_private_to_its_owner(tmp_path: Path) -> None:
    journal.add_entry(tmp_path, _entry(1))
    mode = stat.S_IMODE(journal.journal_path(tmp_path).stat().st_mode)
    assert mode & 0o077 == 0, oct(mode)


def test_a_run_on_a_workspace_with_a_damaged_journal_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workspace_dir: Path
) -> None:
    ws = _copy(tmp_path, workspace_dir)
    for n in range(60):
        journal.add_entry(ws, _entry(n))
    path = journal.journal_path(ws)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[3 * 4096 : 5 * 4096] = os.urandom(2 * 4096)
    path.write_bytes(bytes(data))
    out = tmp_path / "reports"
    assert cli.main(["run", str(ws), "--period", "2026-Q3", "--out", str(out)]) == 2
    assert "damaged" in capsys.readouterr().err
    assert not any(out.rglob("*.html"))


# --- 5. the journal's own export imports back as nothing new ------------------------------


def test_export_then_import_of_the_same_journal_adds_nothing(tmp_path: Path) -> None:
    from kpinb.journal import Action

    tricky = [
        ("'=Ann", "=SUM(A1)"),
        (" Bea", "@bot"),
        ("''Cy", "+1 call"),
        ("Dee\x1b[31m", "note\u202e with an override\x07"),
    ]
    for n, (author, text) in enumerate(tricky):
        entry = _entry(n, author=author)
        entry = Entry(
            **{
                **entry.__dict__,
                "what_moved": text,
                "actions": (Action(text, author, dt.date(2026, 9, 1), "open"),),
            }
        )
        journal.add_entry(tmp_path, entry)
    before = journal.history_entries(tmp_path)
    for fmt in ("csv",):
        out = tmp_path / f"export.{fmt}"
        assert (
            cli.main(["checkin", "export", str(tmp_path), "--format", fmt, "--out", str(out)]) == 0
        )
        result = journal.import_checkins(tmp_path, out)
        assert (result.added, result.updated) == (0, 0)
    pd.testing.assert_frame_equal(journal.history_entries(tmp_path), before)
    stored = set(journal.list_entries(tmp_path)["author"])
    assert stored == {"'=Ann", "Bea", "''Cy", "Dee[31m"}  # trimmed, escapes removed


def test_journal_text_holds_no_terminal_escape(tmp_path: Path) -> None:
    journal.add_entry(tmp_path, _entry(1, author="Eve\x1b]0;x\x07\u202e"))
    [author] = journal.list_entries(tmp_path)["author"]
    assert author == "Eve]0;x"


# --- 6. an oversized check-in cell ---------------------------------------------------------


def test_an_oversized_checkin_cell_is_named_not_a_crash(tmp_path: Path) -> None:
    header = (
        "date,employee_id,author,what_moved,why_moved,expected_impact,support_needed,"
        "diagnosis,action,action_owner,action_due,action_status\n"
    )
    big = "x" * (200 * 1024)
    body = f"2026-07-01,E001,Ann,{big},why,impact,none,none,,,,\n"
    path = tmp_path / "checkins.csv"
    path.write_text(header + body, encoding="utf-8")
    with pytest.raises(JournalError) as caught:
        journal.import_checkins(tmp_path, path)
    message = str(caught.value)
    assert "row 2" in message and "'what_moved'" in message and "204,800 characters" in message
    assert not journal.journal_path(tmp_path).exists() or journal.list_entries(tmp_path).empty


# --- 8. values too large to add up --------------------------------------------------------


def test_values_that_would_overflow_are_refused_with_their_row(
    tmp_path: Path, workspace_dir: Path
) -> None:
    ws = _copy(tmp_path, workspace_dir)
    obs = pd.read_csv(ws / "observations.csv", dtype=str)
    obs.loc[3, "value"] = "1e308"
    obs.loc[5, "value"] = "z" * 5000
    obs.to_csv(ws / "observations.csv", index=False)
    problems = [str(p) for p in validate_workspace(ws).problems]
    assert any("row 5" in p and "'1e308' is beyond 1e+15" in p for p in problems), problems
    long = next(p for p in problems if "zzz" in p)
    assert "(5,000 characters)" in long and len(long) < 400


def test_no_twin_states_a_goal_score_without_its_current_value() -> None:
    from kpinb.report.twin import _goal

    goal = pd.Series(
        {
            "period": "2026-Q3",
            "target": 10.0,
            "baseline": 5.0,
            "baseline_source": "given",
            "current": float("nan"),
            "score": 1.0,
            "projected": float("nan"),
            "projected_score": 1.0,
            "remaining_points": 0,
        }
    )
    block = _goal(goal, 1, 1)
    assert block["current"] is None and block["score"] is None and not block["success"]
    assert block["projected_score"] is None


# --- minor: Latin-1 bytes, and no follow-on "unknown id" errors --------------------------


def test_latin1_bytes_name_the_first_bad_row_and_no_follow_on_errors(
    tmp_path: Path, workspace_dir: Path
) -> None:
    ws = _copy(tmp_path, workspace_dir)
    path = ws / "people.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    ascii_only = [line.encode("ascii", "replace").decode() for line in lines]
    ascii_only[3] = ascii_only[3].replace(",", ",Zoë ", 1)  # row 4 gains a non-ASCII name
    path.write_bytes("\n".join(ascii_only).encode("latin-1"))
    result = validate_workspace(ws)
    [problem] = result.problems
    assert problem.file == "people.csv" and problem.rows == (4,)
    assert "not UTF-8" in problem.problem and "0xeb" in problem.problem
    assert any("were not checked" in str(w) for w in result.warnings)


def test_a_cell_too_big_for_the_reader_is_named_with_the_limit(
    tmp_path: Path, workspace_dir: Path
) -> None:
    ws = _copy(tmp_path, workspace_dir)
    people = pd.read_csv(ws / "people.csv", dtype=str, keep_default_na=False)
    people.loc[2, "role"] = "r" * 3_000_000
    people.to_csv(ws / "people.csv", index=False)
    [problem] = validate_workspace(ws).problems
    assert (problem.file, problem.rows, problem.column) == ("people.csv", (4,), "role")
    assert "3,000,000 characters" in problem.problem and "1,048,576 bytes" in problem.problem
    assert "straddl" not in str(problem)


def test_reports_of_a_workspace_without_values_say_so(tmp_path: Path, workspace_dir: Path) -> None:
    from kpinb.report import build_report

    ws = _copy(tmp_path, workspace_dir)
    header = (ws / "observations.csv").read_text(encoding="utf-8").splitlines()[0]
    (ws / "observations.csv").write_text(header + "\n", encoding="utf-8")
    loaded = load_workspace(ws)
    for scope, sid, view in [
        ("employee", "E001", "employee"),
        ("team", "T01", "manager"),
        ("team", "T01", "executive"),
        ("department", str(loaded.teams["department"].iloc[0]), "executive"),
    ]:
        twin = build_report(loaded, scope, sid, "2026-Q3", view).to_json()
        text = " ".join(s["text"] for sec in twin["sections"] for s in sec["sentences"])
        said = text.lower()
        assert "no kpi values" in said or "no value" in said, (scope, view, text[:300])


def test_a_reader_that_stops_early_ends_the_listing_without_a_traceback(tmp_path: Path) -> None:
    """``kpinb calibration decisions ... | head -1``: far more output than a pipe holds,
    and the reader leaves after one line."""
    import subprocess
    import sys

    from tests.support import wsfactory

    root = wsfactory.write(tmp_path / "ws")
    for n in range(200):
        journal.record_decision(
            root, "2026-Q3", "00123", agreed=3, reason=f"meeting {n} " + "y" * 1000,
            decided_by="HR", decided_on="2026-10-01",
        )  # fmt: skip
    repo = Path(journal.__file__).resolve().parents[2]
    command = [sys.executable, "-m", "kpinb", "calibration", "decisions", str(root)]
    reader = subprocess.Popen(
        [*command, "--period", "2026-Q3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert reader.stdout is not None and reader.stderr is not None
    first = reader.stdout.readline()
    reader.stdout.close()  # what head does after its line
    err = reader.stderr.read().decode()
    code = reader.wait(timeout=120)
    assert first.startswith(b"#1 2026-10-01 00123: 3 (HR): meeting 0 yyy")
    assert (code, err) == (141, "")
