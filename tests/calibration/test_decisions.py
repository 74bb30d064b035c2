"""Agreed ratings on the workspace's scale, and decisions corrected by a later one that
names them: refused cases, the log kept whole, the pack showing what is in force."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from kpinb import journal
from kpinb.calibration import build_pack, record_decision
from kpinb.cli.main import main
from kpinb.errors import JournalError
from kpinb.settings import RatingScale

DECIDE = ["--period", "2026-Q3", "--employee", "E006", "--reason", "agreed", "--by", "Ann"]


@pytest.fixture
def root(tmp_path: Path, workspace_dir: Path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(workspace_dir, copy)
    return copy


@pytest.mark.parametrize("agreed", ["9", "-3.7", "3.5", "0"])
def test_decide_refuses_a_rating_off_the_scale_listing_the_scale(
    root: Path, agreed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calibration", "decide", str(root), *DECIDE, f"--agreed={agreed}"]) == 2
    err = capsys.readouterr().err
    assert f"{float(agreed):g} is not on the rating scale (1, 2, 3, 4, 5)" in err
    assert "agreed_rating" in err and "Fix: give one of 1, 2, 3, 4, 5" in err
    assert journal.decision_history(root).empty  # nothing written


def test_decide_uses_the_workspace_scale_and_its_labels(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "ratings.csv").write_text("employee_id,period,rating\nE006,2026-Q3,2\n", "utf-8")
    (root / "kpinb.toml").write_text(
        '[ratings]\nscale = [1, 2, 3, 4]\nlabels = ["Developing", "Solid", "Strong", "Top"]\n',
        encoding="utf-8",
    )
    assert main(["calibration", "decide", str(root), *DECIDE, "--agreed", "5"]) == 2
    assert "(1 (Developing), 2 (Solid), 3 (Strong), 4 (Top))" in capsys.readouterr().err
    assert main(["calibration", "decide", str(root), *DECIDE, "--agreed", "3"]) == 0
    assert "recorded decision 1 for E006 (2026-Q3): 3 (Strong)" in capsys.readouterr().out
    # a proposed rating given by hand is checked too
    assert main(["calibration", "decide", str(root), *DECIDE, "--agreed", "3", "--proposed", "7"])
    assert "proposed_rating" in capsys.readouterr().err


def test_record_decision_reads_the_scale_from_the_folder_or_takes_one(tmp_path: Path) -> None:
    with pytest.raises(JournalError) as err:
        record_decision(tmp_path, "2026-Q3", "E1", agreed=6, proposed=0, reason="x", decided_by="y")
    assert sorted(p.column for p in err.value.problems) == ["agreed_rating", "proposed_rating"]
    half = RatingScale((1.0, 1.5, 2.0), ("low", "mid", "high"))
    assert record_decision(tmp_path, "2026-Q3", "E1", agreed=1.5, reason="x", decided_by="y",
                           scale=half) == 1  # fmt: skip


def _decide(
    root: Path, agreed: float, reason: str, employee: str = "E006", supersedes: int | None = None
) -> int:
    return record_decision(
        root,
        "2026-Q3",
        employee,
        agreed=agreed,
        reason=reason,
        decided_by="Ann",
        decided_on="2026-10-05",
        supersedes=supersedes,
    )


def test_a_correction_must_name_the_decision_in_force_of_the_same_person(root: Path) -> None:
    first = _decide(root, 3, "first")
    other = _decide(root, 4, "someone else", employee="E007")
    cases = {
        99: "there is no decision #99",
        other: f"decision #{other} is about E007 in 2026-Q3, not E006 in 2026-Q3",
    }
    for named, message in cases.items():
        with pytest.raises(JournalError) as err:
            _decide(root, 4, "fix", supersedes=named)
        (problem,) = err.value.problems
        assert problem.column == "supersedes" and message in problem.problem
    fix = _decide(root, 4, "typo: the meeting agreed 4", supersedes=first)
    with pytest.raises(JournalError) as err:
        _decide(root, 5, "again", supersedes=first)
    assert f"already superseded by #{fix}" in err.value.problems[0].problem
    assert f"supersede #{fix}" in err.value.problems[0].fix
    # a later plain revision leaves the correction out of force too
    later = _decide(root, 2, "revised")
    with pytest.raises(JournalError) as err:
        _decide(root, 5, "late", supersedes=fix)
    assert f"#{fix} is no longer in force (#{later} is)" in err.value.problems[0].problem
    log = journal.decision_history(root, "2026-Q3")
    assert log["decision_id"].tolist() == [first, other, fix, later]  # nothing lost
    assert log["supersedes"].tolist()[2] == first
    assert journal.latest_decisions(root, "2026-Q3")["agreed_rating"].tolist() == [2.0, 4.0]


def test_the_log_refuses_a_second_correction_of_one_decision_at_the_file_level(
    tmp_path: Path,
) -> None:
    first = _decide(tmp_path, 3, "first")
    _decide(tmp_path, 4, "fix", supersedes=first)
    with (
        sqlite3.connect(tmp_path / "journal.sqlite") as conn,
        pytest.raises(sqlite3.IntegrityError, match="UNIQUE"),
    ):
        conn.execute(
            "INSERT INTO calibration_decisions (period, employee_id, agreed_rating, reason, "
            "decided_by, decided_on, recorded_at, supersedes) "
            f"VALUES ('2026-Q3', 'E006', 5, 'x', 'y', '2026-10-05', 'now', {first})"
        )
    conn.close()


def test_a_v5_journal_is_read_then_migrated_keeping_its_decisions(tmp_path: Path) -> None:
    from kpinb.journal import store

    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        for version, statements in store.MIGRATIONS[:5]:
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?, 'then')", (version,))
        conn.execute(
            "INSERT INTO calibration_decisions (period, employee_id, proposed_rating, "
            "agreed_rating, reason, decided_by, decided_on, recorded_at) VALUES "
            "('2026-Q3', 'E1', 2, 3, 'old', 'Ann', '2026-10-01', 'then')"
        )
    conn.close()
    old = journal.decision_history(tmp_path)  # read without migrating
    assert old["reason"].tolist() == ["old"] and old["supersedes"].isna().all()
    assert journal.schema_version(tmp_path) == 5
    assert _decide(tmp_path, 4, "corrected", employee="E1", supersedes=1) == 2
    log = journal.decision_history(tmp_path)
    assert log["reason"].tolist() == ["old", "corrected"]
    assert log["supersedes"].tolist()[1] == 1


def test_the_pack_shows_the_decision_in_force_and_its_history(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _decide(root, 3, "first reading")
    fix = _decide(root, 4, "typo: the meeting agreed 4", supersedes=first)
    pack = build_pack(root, "2026-Q3", department="Sales")
    people = pack.people.set_index("employee_id")
    assert people.loc["E006", "agreed_rating"] == 4
    assert pack.decisions["decision_id"].tolist() == [first, fix]  # the log keeps both
    html = pack.to_html()
    log = html[html.index('<section class="decisions">') :]
    assert f'<del title="superseded by #{fix}">' in log
    assert "typo: the meeting agreed 4" in log and "first reading" in log
    assert log.index("typo: the meeting agreed 4") < log.index("first reading")  # in force first
    assert main(["calibration", "decisions", str(root), "--period", "2026-Q3"]) == 0
    assert f"[supersedes #{first}]: typo" in capsys.readouterr().out


def test_the_demo_records_a_corrected_decision_once(tmp_path: Path) -> None:
    """``kpinb demo`` plants a decision and its correction for the person rated low on an
    improving KPI (archetypes.csv); a rerun adds nothing."""
    import pandas as pd

    from kpinb.cli.demo import _record_decisions
    from kpinb.demo import write_demo

    root = write_demo(tmp_path / "demo")
    _record_decisions(root, "2026-Q3")
    _record_decisions(root, "2026-Q3")
    archetypes = pd.read_csv(root / "archetypes.csv", dtype=str)
    low = archetypes.loc[archetypes["archetype"] == "rated_low_improving", "employee_id"].item()
    log = journal.decision_history(root, "2026-Q3")
    assert log["employee_id"].tolist() == [low, low]
    assert log["agreed_rating"].tolist() == [4.0, 3.0]
    assert log["supersedes"].tolist()[1] == log["decision_id"].tolist()[0]
    assert log["decided_on"].dt.strftime("%Y-%m-%d").tolist() == ["2026-10-05"] * 2  # a Monday
    pack = build_pack(root, "2026-Q3")
    assert pack.people.set_index("employee_id").loc[low, "agreed_rating"] == 3
    assert '<del title="superseded by #2">#1</del>' in pack.to_html()
