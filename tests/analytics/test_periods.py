"""Review periods, calendar and fiscal, against dates worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from kpinb.errors import UsageError
from kpinb.periods import as_period, parse_period, period_of


def _days(label: str, fiscal_start: int = 1) -> tuple[str, str]:
    p = parse_period(label, fiscal_start)
    return str(p.start.date()), str(p.end.date())


@pytest.mark.parametrize(
    ("label", "start", "days"),
    [
        ("2026-Q3", 1, ("2026-07-01", "2026-09-30")),
        ("FY2026-Q3", 1, ("2026-07-01", "2026-09-30")),  # January start: the same quarter
        ("FY2027-Q1", 7, ("2026-07-01", "2026-09-30")),  # FY2027 ends in June 2027
        ("FY2027-Q2", 7, ("2026-10-01", "2026-12-31")),
        ("FY2027-Q3", 7, ("2027-01-01", "2027-03-31")),
        ("FY2027-Q4", 7, ("2027-04-01", "2027-06-30")),
        ("FY2027-Q1", 2, ("2026-02-01", "2026-04-30")),
        ("FY2027-Q4", 2, ("2026-11-01", "2027-01-31")),  # across the calendar year end
        ("FY2027-Q1", 4, ("2026-04-01", "2026-06-30")),
        ("FY2026-Q4", 12, ("2026-09-01", "2026-11-30")),  # FY2026 is 2025-12..2026-11
        ("fy2027-q1", 7, ("2026-07-01", "2026-09-30")),
        ("2026-09", 7, ("2026-09-01", "2026-09-30")),  # months are calendar months
    ],
)
def test_quarters_against_hand_worked_dates(label: str, start: int, days: tuple[str, str]) -> None:
    assert _days(label, start) == days


def test_labels_name_the_fiscal_year_it_ends_in() -> None:
    assert parse_period("FY2027-Q1", 7).label == "FY2027-Q1"
    assert parse_period("FY2026-Q3").label == "2026-Q3"  # calendar style with January
    assert period_of(pd.Timestamp("2026-06-30"), 3, 7).label == "FY2026-Q4"
    assert period_of(pd.Timestamp("2026-07-01"), 3, 7).label == "FY2027-Q1"
    assert period_of(pd.Timestamp("2027-01-15"), 3, 2).label == "FY2027-Q4"
    assert period_of(pd.Timestamp("2026-01-31"), 3, 2).label == "FY2026-Q4"
    assert period_of(pd.Timestamp("2026-02-01"), 3, 2).label == "FY2027-Q1"
    assert period_of(pd.Timestamp("2026-09-15"), 1, 7).label == "2026-09"


def test_previous_shift_and_year_earlier_across_year_ends() -> None:
    q1 = parse_period("FY2027-Q1", 7)
    assert q1.previous().label == "FY2026-Q4"
    assert str(q1.previous().start.date()) == "2026-04-01"
    assert q1.year_earlier().label == "FY2026-Q1"
    assert str(q1.year_earlier().start.date()) == "2025-07-01"
    assert q1.shift(4).label == "FY2028-Q1"
    assert q1.shift(-5).label == "FY2025-Q4"
    q4 = parse_period("FY2027-Q4", 2)
    assert q4.shift(1).label == "FY2028-Q1"
    assert str(q4.shift(1).start.date()) == "2027-02-01"
    assert q4.previous().label == "FY2027-Q3"
    assert (q4.previous().start, q4.previous().end) == (
        pd.Timestamp("2026-08-01"),
        pd.Timestamp("2026-10-31"),
    )
    assert q4.year_earlier().label == "FY2026-Q4"
    assert str(q4.year_earlier().end.date()) == "2026-01-31"
    month = parse_period("2027-01", 7)
    assert month.previous().label == "2026-12"
    assert month.year_earlier().label == "2026-01"
    assert month.fiscal_start == 7 and month.months == 1 and q4.months == 3


def test_a_calendar_quarter_is_refused_in_a_fiscal_workspace() -> None:
    with pytest.raises(UsageError, match=r"2026-Q3 is FY2027-Q1"):
        parse_period("2026-Q3", 7)
    with pytest.raises(UsageError, match=r"2026-07-01 is in FY2027-Q2"):
        parse_period("2026-Q3", 2)
    with pytest.raises(UsageError, match="fiscal quarter like FY2027-Q1"):
        parse_period("2026-H1", 7)


def test_as_period_relabels_for_the_workspace() -> None:
    cal = parse_period("2026-09")
    assert as_period(cal, 7).fiscal_start == 7
    assert as_period("FY2027-Q1", 7) == parse_period("FY2027-Q1", 7)
    with pytest.raises(UsageError):
        as_period(parse_period("2026-Q3"), 7)
