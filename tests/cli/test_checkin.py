"""``kpinb checkin ...``: exit codes, prompts, readable output, export and import."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from kpinb import journal
from kpinb.cli.main import main
from tests.support import wsfactory

FLAGS = [
    "--employee", "00123", "--author", "Ada", "--what-moved", "=1+2 calls",
    "--why-moved", "new script", "--expected-impact", "+5 deals", "--support-needed",
    "@coaching", "--diagnosis", "Execution", "--date", "2026-07-01",
]  # fmt: skip


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A valid workspace (people 00123, 00124, 00125) and a non-terminal stdin."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return wsfactory.write(tmp_path / "ws")


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_with_flags_then_list(ws, capsys) -> None:
    action = ["--action", "pair up", "--owner", "Ada", "--due", "2026-08-01"]
    code, out, _ = _run(capsys, "checkin", "add", ws, *FLAGS, *action)
    assert code == 0 and "saved check-in 1 for 00123 (1 action(s))" in out
    code, out, _ = _run(capsys, "checkin", "list", ws, "--employee", "00123")
    assert code == 0
    assert "#1  2026-07-01  00123  (by Ada; diagnosis: execution)" in out
    assert "What moved: =1+2 calls" in out
    assert "[open] action 1: pair up (owner Ada, due 2026-08-01)" in out
    code, out, _ = _run(capsys, "checkin", "list", ws, "--employee", "00124")
    assert (code, out.strip()) == (0, "no check-ins yet for 00124")


def test_add_without_a_terminal_names_the_missing_flags_and_exits_2(ws, capsys) -> None:
    code, _, err = _run(capsys, "checkin", "add", ws, "--employee", "00123", "--author", "Ada")
    assert code == 2
    assert "missing --what-moved, --why-moved, --expected-impact, --support-needed, " \
           "--diagnosis" in err  # fmt: skip
    assert not (ws / "journal.sqlite").exists()


def test_add_on_a_terminal_prompts_for_missing_fields_and_actions(ws, capsys, monkeypatch) -> None:
    answers = iter(["Bo", "deals up", "referrals", "steady", "none", "dependency",
                    "ask IT", "Bo", "2026-09-01", ""])  # fmt: skip
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    code, _, _ = _run(capsys, "checkin", "add", ws, "--employee", "00124", "--date", "2026-07-02")
    assert code == 0
    entry = journal.list_entries(ws).iloc[0]
    assert entry[["author", "what_moved", "why_moved", "expected_impact", "support_needed",
                  "diagnosis"]].tolist() == ["Bo", "deals up", "referrals", "steady", "none",
                                             "dependency"]  # fmt: skip
    assert journal.list_actions(ws)[["text", "owner"]].values.tolist() == [["ask IT", "Bo"]]


def test_invalid_input_exits_1_and_lists_every_problem(ws, capsys) -> None:
    bad = [*FLAGS, "--action", "x", "--owner", "", "--due", "2026-02-30"]
    bad[1], bad[13] = "E999", "blame"  # employee and diagnosis
    code, _, err = _run(capsys, "checkin", "add", ws, *bad)
    assert code == 1
    for column in ("employee_id", "diagnosis", "action_owner", "action_due"):
        assert f"column '{column}'" in err
    assert not (ws / "journal.sqlite").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["checkin", "add", "{ws}", *FLAGS, "--action", "x"],  # no --owner/--due for it
        ["checkin", "add", "{ws}/nowhere", *FLAGS],
        ["checkin", "edit", "{ws}", "1"],  # nothing to change
        ["checkin", "export", "{ws}", "--format", "pdf"],
        ["checkin", "close-action", "{ws}", "one"],
        ["checkin", "import", "{ws}", "{ws}/no.csv"],
    ],
)
def test_bad_usage_exits_2(ws, capsys, argv) -> None:
    _run(capsys, "checkin", "add", ws, *FLAGS)
    try:
        code = main([a.replace("{ws}", str(ws)) for a in argv])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2


def test_edit_close_and_history(ws, capsys) -> None:
    _run(capsys, "checkin", "add", ws, *FLAGS, "--action", "a", "--owner", "Ada", "--due",
         "2026-08-01")  # fmt: skip
    code, out, _ = _run(capsys, "checkin", "edit", ws, "1", "--why-moved", "playbook",
                        "--note", "typo")  # fmt: skip
    assert code == 0 and "version 2" in out
    code, out, _ = _run(capsys, "checkin", "close-action", ws, "1", "--status", "dropped")
    assert (code, out.strip()) == (0, "action 1 is now dropped (version 2)")
    code, _, err = _run(capsys, "checkin", "close-action", ws, "1", "--status", "dropped")
    assert code == 1 and "already dropped" in err
    code, out, _ = _run(capsys, "checkin", "history", ws, "1")
    assert code == 0
    assert "Why: new script" in out and "Why: playbook" in out and "(edit: typo)" in out
    assert "[open] action 1: a" in out and "[dropped] action 1: a" in out
    code, out, _ = _run(capsys, "checkin", "list", ws, "--open-actions")
    assert (code, out.strip()) == (0, "no open actions")


def test_export_xlsx_is_typed_and_neutralised(ws, capsys, tmp_path) -> None:
    _run(capsys, "checkin", "add", ws, *FLAGS, "--action=-call", "--owner", "Ada", "--due",
         "2026-08-01")  # fmt: skip
    out = tmp_path / "j.xlsx"
    assert _run(capsys, "checkin", "export", ws, "--format", "xlsx", "--out", out)[0] == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "checkins",
        "entry history",
        "action history",
        "calibration decisions",
    ]
    header, row = list(book["checkins"].iter_rows(values_only=False))[:2]
    cells = {h.value: c for h, c in zip(header, row, strict=True)}
    for column, text in [("what_moved", "'=1+2 calls"), ("expected_impact", "'+5 deals"),
                         ("support_needed", "'@coaching"), ("action", "'-call")]:  # fmt: skip
        assert (cells[column].value, cells[column].data_type) == (text, "s")
    assert cells["date"].value == dt.datetime(2026, 7, 1) and cells["date"].is_date
    assert cells["action_due"].value == dt.datetime(2026, 8, 1)
    assert (cells["entry_id"].value, cells["entry_id"].data_type) == (1, "n")


def test_import_twice_says_what_it_skipped(ws, capsys, tmp_path) -> None:
    csv_path = tmp_path / "c.csv"
    _run(capsys, "checkin", "add", ws, *FLAGS)
    _run(capsys, "checkin", "export", ws, "--format", "csv", "--out", csv_path)
    fresh = wsfactory.write(tmp_path / "fresh")
    code, out, _ = _run(capsys, "checkin", "import", fresh, csv_path)
    assert (code, out.splitlines()[0]) == (
        0, "imported c.csv: 1 entries added, 0 updated, 0 already in the journal (skipped)"
    )  # fmt: skip
    code, out, _ = _run(capsys, "checkin", "import", fresh, csv_path)
    assert code == 0 and "0 entries added, 0 updated, 1 already in the journal" in out
    assert "this file was imported before" in out


def test_a_bad_import_exits_1_naming_the_rows(ws, capsys, tmp_path) -> None:
    csv_path = tmp_path / "c.csv"
    csv_path.write_text(
        ",".join(journal.CHECKIN_COLUMNS) + "\n"
        "2026-07-01,00123,Ada,x,y,z,w,none,,,,\n"
        "2026-07-01,E404,Ada,x,y,z,w,none,,,,\n"
    )  # fmt: skip
    code, _, err = _run(capsys, "checkin", "import", ws, csv_path)
    assert code == 1
    assert "c.csv, row 3, column 'employee_id': employee 'E404' is not in" in err
    assert not (ws / "journal.sqlite").exists()


def test_input_ending_during_the_prompts_saves_nothing_and_exits_2(ws, capsys, monkeypatch) -> None:
    def ended(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", ended)
    code, _, err = _run(capsys, "checkin", "add", ws, "--employee", "00124")
    assert code == 2 and "nothing saved" in err
    assert not (ws / "journal.sqlite").exists()


def test_listing_an_empty_workspace_does_not_create_the_journal(ws, capsys) -> None:
    assert _run(capsys, "checkin", "list", ws) == (0, "no check-ins yet\n", "")
    assert _run(capsys, "checkin", "list", ws, "--open-actions") == (0, "no open actions\n", "")
    assert not (ws / "journal.sqlite").exists()


def test_a_workspace_with_problems_still_takes_check_ins_with_a_note(ws, capsys) -> None:
    (ws / "kpis.yaml").write_text("kpis: [unclosed", encoding="utf-8")
    flags = [*FLAGS]
    flags[1] = "E999"  # cannot be checked: people are not loaded from a broken workspace
    code, out, err = _run(capsys, "checkin", "add", ws, *flags)
    assert code == 0 and "saved check-in 1 for E999" in out
    assert "employee ids were not checked against people" in err
