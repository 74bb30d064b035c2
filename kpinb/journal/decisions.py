"""The calibration decision log: proposed and agreed ratings with their reason.

One row per decision in ``journal.sqlite`` (table ``calibration_decisions``, schema v4),
append-only like the rest of the journal: a decision revised in a later meeting is a
new row, and the latest row per period and employee is the one in force. Readers never
create or migrate the file and return an empty frame when there is no log yet.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable
from pathlib import Path

import pandas as pd

from kpinb.errors import JournalError, Problem
from kpinb.journal.store import now, query, transaction, writer
from kpinb.text import clean_text

DECISION_COLUMNS = (
    "decision_id", "period", "employee_id", "proposed_rating", "agreed_rating", "reason",
    "decided_by", "decided_on", "recorded_at",
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
) -> int:
    """Append one calibration decision; returns its id. Every problem is named at once.

    ``period`` is the review period's label (``2026-Q3``); ``proposed`` the rating the
    manager proposed (usually the ratings table's); ``agreed`` the rating agreed in the
    meeting; ``reason`` why (required: a decision with no recorded reasoning cannot be
    defended later); ``decided_on`` the meeting's date (default: today, UTC).
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
    day = _day(decided_on, problems)
    if problems:
        raise JournalError(f"the decision was not saved: {len(problems)} problem(s)", problems)
    with writer(root) as conn, transaction(conn):
        cursor = conn.execute(
            "INSERT INTO calibration_decisions (period, employee_id, proposed_rating, "
            "agreed_rating, reason, decided_by, decided_on, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                text["period"],
                text["employee_id"],
                None if proposed is None else float(proposed),
                float(agreed),
                text["reason"],
                text["decided_by"],
                day,
                now(),
            ),
        )
        return int(cursor.lastrowid or 0)


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
