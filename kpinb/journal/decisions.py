"""The calibration decision log: proposed and agreed ratings with their reason.

One row per decision in ``journal.sqlite`` (table ``calibration_decisions``, schema v4),
append-only like the rest of the journal: a decision revised in a later meeting is a
new row, and the latest row per period and employee is the one in force. A correction
names the decision it supersedes (``supersedes``, schema v6) and gives its reason; the
superseded row stays in the log as history. Ratings are checked against the
workspace's rating scale (``kpinb.toml``). Readers never create or migrate the file and
return an empty frame when there is no log yet.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import pandas as pd

from kpinb.errors import JournalError, Problem
from kpinb.journal.store import now, query, transaction, writer
from kpinb.settings import RatingScale, read_settings
from kpinb.text import clean_text

DECISION_COLUMNS = (
    "decision_id", "period", "employee_id", "proposed_rating", "agreed_rating", "reason",
    "decided_by", "decided_on", "recorded_at", "supersedes",
)  # fmt: skip
DECISIONS_SINCE = 4  # the schema version that added the table


def record_decision(
    root: str | Path,
    period: str,
    employee_id: str,
    *,
    agreed: float,
    reason: str,
    decided_by: str,
    proposed: float | None = None,
    decided_on: dt.date | str | None = None,
    known_ids: Collection[str] | None = None,
    supersedes: int | None = None,
    scale: RatingScale | None = None,
) -> int:
    """Append one calibration decision; returns its id. Every problem is named at once.

    ``period`` is the review period's label (``2026-Q3``); ``proposed`` the rating the
    manager proposed (usually the ratings table's); ``agreed`` the rating agreed in the
    meeting; ``reason`` why (required: a decision with no recorded reasoning cannot be
    defended later); ``decided_on`` the meeting's date (default: today, UTC).
    ``supersedes`` names the decision this one corrects (the one in force for the same
    period and person; ``reason`` then says why it is corrected). Both ratings must be
    values of ``scale`` (default: the rating scale of ``kpinb.toml`` in ``root``, 1-5
    without one).
    """
    from kpinb.periods import parse_period
    from kpinb.settings import read_settings

    problems: list[Problem] = []
    text = {
        "period": clean_text(period),
        "employee_id": clean_text(employee_id),
        "reason": clean_text(reason),
        "decided_by": clean_text(decided_by),
    }
    for name, value in text.items():
        if not value:
            problems.append(_problem(name, "is empty", f"give the decision's {name}"))
    if text["period"]:
        try:
            fiscal_start = read_settings(Path(root))[0].fiscal_year_start
            text["period"] = parse_period(text["period"], fiscal_start).label
        except Exception as exc:  # UsageError names the accepted forms
            problems.append(_problem("period", str(exc), "give the review period's label"))
    if known_ids is not None and text["employee_id"] and text["employee_id"] not in known_ids:
        problems.append(
            _problem(
                "employee_id",
                f"{text['employee_id']!r} is not in people",
                "use an employee_id of people.csv",
            )
        )
    ratings = {"agreed_rating": agreed, "proposed_rating": proposed}
    for column, rating in ratings.items():
        if rating is None and column == "proposed_rating":
            continue
        if not _is_number(rating):
            problems.append(_problem(column, f"{rating!r} is not a number", "give a number"))
    problems += off_scale(ratings, _scale(root, scale))
    day = _day(decided_on, problems)
    if supersedes is not None and (isinstance(supersedes, bool) or not isinstance(supersedes, int)):
        problems.append(
            _problem("supersedes", f"{supersedes!r} is not a decision id", "give its number")
        )
        supersedes = None
    if problems:
        raise JournalError(f"the decision was not saved: {len(problems)} problem(s)", problems)
    with writer(root) as conn, transaction(conn):
        if supersedes is not None:  # checked under the write lock: no correction races it
            problems = _supersede_problems(conn, supersedes, text["period"], text["employee_id"])
            if problems:
                raise JournalError("the decision was not saved: 1 problem(s)", problems)
        cursor = conn.execute(
            "INSERT INTO calibration_decisions (period, employee_id, proposed_rating, "
            "agreed_rating, reason, decided_by, decided_on, recorded_at, supersedes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                text["period"],
                text["employee_id"],
                None if proposed is None else float(proposed),
                float(agreed),
                text["reason"],
                text["decided_by"],
                day,
                now(),
                supersedes,
            ),
        )
        return int(cursor.lastrowid or 0)


def off_scale(ratings: Mapping[str, object], scale: RatingScale) -> list[Problem]:
    """A problem per rating (column name: value; None skipped) that is a number but not a
    value of ``scale``, naming the scale and the fix."""
    return [
        _problem(
            column,
            f"{value:g} is not on the rating scale ({scale.describe()})",
            f"give one of {scale.describe()} (the scale is set in kpinb.toml, [ratings] scale)",
        )
        for column, value in _numbers(ratings).items()
        if value not in scale
    ]


def _numbers(ratings: Mapping[str, object]) -> dict[str, float]:
    """The ratings that are numbers, as floats (the others are named as not numbers)."""
    out = {}
    for column, value in ratings.items():
        if value is not None and _is_number(value):
            out[column] = float(value)  # type: ignore[arg-type]  # _is_number: float() takes it
    return out


def _scale(root: str | Path, scale: RatingScale | None) -> RatingScale:
    if scale is not None:
        return scale
    settings, _ = read_settings(Path(root))  # a broken file: the default scale (1-5)
    return settings.rating_scale


def _supersede_problems(
    conn: sqlite3.Connection, decision_id: int, period: str, employee_id: str
) -> list[Problem]:
    """Why decision ``decision_id`` cannot be superseded by a decision of ``period`` and
    ``employee_id`` (empty when it can: it exists, is theirs, and is the one in force)."""
    fix = "name the decision in force (kpinb calibration decisions lists the log)"
    row = conn.execute(
        "SELECT period, employee_id FROM calibration_decisions WHERE decision_id = ?",
        (decision_id,),
    ).fetchone()
    if row is None:
        return [_problem("supersedes", f"there is no decision #{decision_id}", fix)]
    if (row[0], row[1]) != (period, employee_id):
        return [
            _problem(
                "supersedes",
                f"decision #{decision_id} is about {row[1]} in {row[0]}, not {employee_id} "
                f"in {period}",
                "supersede a decision of the same person and period",
            )
        ]
    later = conn.execute(
        "SELECT decision_id, supersedes FROM calibration_decisions WHERE period = ? AND "
        "employee_id = ? AND decision_id > ? ORDER BY decision_id",
        (period, employee_id, decision_id),
    ).fetchall()
    by = next((d for d, s in later if s == decision_id), None)
    if by is not None:
        return [
            _problem(
                "supersedes",
                f"decision #{decision_id} is already superseded by #{by}",
                f"supersede #{later[-1][0]}, the decision in force",
            )
        ]
    if later:
        return [
            _problem(
                "supersedes",
                f"decision #{decision_id} is no longer in force (#{later[-1][0]} is)",
                f"supersede #{later[-1][0]}, the decision in force",
            )
        ]
    return []


def decision_history(root: str | Path, period: str | None = None) -> pd.DataFrame:
    """Every decision ever recorded (optionally of one period), in the order written."""
    frame = query(
        root, "SELECT * FROM calibration_decisions", DECISION_COLUMNS, since=DECISIONS_SINCE
    )
    if period is not None:
        frame = frame[frame["period"] == period]
    return frame.sort_values("decision_id").reset_index(drop=True)


def latest_decisions(
    root: str | Path, period: str, employee_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """The decision in force per employee for ``period``: the latest one recorded."""
    frame = decision_history(root, period)
    if employee_ids is not None:
        frame = frame[frame["employee_id"].isin(list(employee_ids))]
    frame = frame.drop_duplicates("employee_id", keep="last")
    return frame.sort_values("employee_id").reset_index(drop=True)


def _problem(column: str, problem: str, fix: str) -> Problem:
    return Problem(file="calibration decision", problem=problem, fix=fix, column=column)


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    try:  # any value float() takes: numbers, numpy scalars, numeric text
        return math.isfinite(float(value))  # type: ignore[arg-type]  # float() decides, see except
    except (TypeError, ValueError):
        return False


def _day(value: dt.date | str | None, problems: list[Problem]) -> str:
    if value is None:
        return dt.datetime.now(dt.UTC).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        problems.append(_problem("decided_on", f"{value!r} is not a date", "use YYYY-MM-DD"))
        return ""
