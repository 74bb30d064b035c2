"""The delivery log: append-only, and what it says was delivered."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kpinb import journal


def _log(root: Path, who: str, reports: dict[str, str], result: str = "sent") -> int:
    return journal.record_delivery(
        root,
        period="2026-Q3",
        recipient_id=who,
        address=f"{who.lower()}@example.com",
        reports=reports,
        message_id=f"<{who}@kpinb>",
        subject="s",
        result=result,
    )


def test_only_accepted_messages_count_as_delivered_and_every_version_is_kept(
    tmp_path: Path,
) -> None:
    assert journal.delivered(tmp_path, "2026-Q3") == {}  # no journal: nothing yet
    assert _log(tmp_path, "E001", {"employee/E001/employee": "a1"}) == 1
    _log(tmp_path, "E001", {"employee/E001/employee": "a2"})  # the report changed
    _log(tmp_path, "E002", {"employee/E002/employee": "b1"}, result="refused")
    assert journal.delivered(tmp_path, "2026-Q3") == {
        ("E001", "e001@example.com"): {
            ("employee/E001/employee", "a1"),
            ("employee/E001/employee", "a2"),
        }
    }
    assert journal.delivered(tmp_path, "2026-Q4") == {}
    log = journal.delivery_log(tmp_path)
    assert log["result"].tolist() == ["sent", "sent", "refused"]
    assert log["reports"][0] == '{"employee/E001/employee": "a1"}'


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE deliveries SET result = 'sent'",
        "DELETE FROM deliveries",
        "REPLACE INTO deliveries SELECT * FROM deliveries",
    ],
)
def test_the_log_cannot_be_changed(tmp_path: Path, sql: str) -> None:
    _log(tmp_path, "E001", {"employee/E001/employee": "a1"}, result="failed")
    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
        assert conn.execute("SELECT result FROM deliveries").fetchall() == [("failed",)]
    conn.close()


def test_an_unknown_result_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sent, refused, failed"):
        _log(tmp_path, "E001", {}, result="maybe")
