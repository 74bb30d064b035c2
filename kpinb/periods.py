"""Review periods: quarters (``2026-Q3``, or fiscal ``FY2027-Q1``) and months (``2026-09``).

A period is a closed date range. Observations belong to the period that holds
their ``period`` date (the first day of their week or month).

A workspace whose fiscal year starts in a month other than January names its quarters
by fiscal year: ``FY2027-Q1`` with a fiscal year starting in July is 2026-07-01 to
2026-09-30. A fiscal year is named by the calendar year it ends in (FY2027 runs from
2026-07-01 to 2027-06-30). With the fiscal year starting in January, fiscal and calendar
quarters are the same: ``FY2026-Q3`` is read as ``2026-Q3`` and labelled so. Months are
calendar months in every workspace. Whole years are not review periods.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from kpinb.errors import UsageError

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.ASCII)
_FISCAL_QUARTER = re.compile(r"^FY(\d{4})-Q([1-4])$", re.ASCII | re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$", re.ASCII)
# the years a period may fall in: its dates, and those of the periods compared with it
# (a year earlier, the quarters before), stay within what pandas can hold (1677-2262)
FIRST_YEAR, LAST_YEAR = 1700, 2250
MONTH_NAMES = tuple(pd.Timestamp(2026, m, 1).month_name() for m in range(1, 13))


@dataclass(frozen=True, order=True)
class Period:
    """A review period: its label and first and last day (inclusive).

    ``fiscal_start`` is the month the workspace's fiscal year starts (1: calendar
    years); the periods before and after this one are labelled the same way.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    label: str
    fiscal_start: int = 1

    @property
    def months(self) -> int:
        """Length of the period in months (3 for a quarter, 1 for a month)."""
        after = self.end + pd.Timedelta(days=1)
        return (after.year - self.start.year) * 12 + after.month - self.start.month

    def shift(self, n: int) -> Period:
        """The period ``n`` periods later (negative: earlier)."""
        start = self.start + pd.DateOffset(months=n * self.months)
        return _make(start, self.months, self.fiscal_start)

    def previous(self) -> Period:
        """The period just before this one."""
        return self.shift(-1)

    def year_earlier(self) -> Period:
        """The same period one year earlier."""
        return self.shift(-12 // self.months)

    def contains(self, dates: pd.Series) -> pd.Series:
        """Boolean mask of the dates that fall within this period."""
        return (dates >= self.start) & (dates <= self.end)


def fiscal_year(start: pd.Timestamp, fiscal_start: int = 1) -> int:
    """The fiscal year holding the date ``start``: the calendar year the fiscal year ends in."""
    first_year = start.year if start.month >= fiscal_start else start.year - 1
    return first_year + (1 if fiscal_start > 1 else 0)


def _make(start: pd.Timestamp, months: int, fiscal_start: int = 1) -> Period:
    end = start + pd.DateOffset(months=months) - pd.Timedelta(days=1)
    if months == 3 and fiscal_start == 1:
        label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    elif months == 3:
        quarter = (start.month - fiscal_start) % 12 // 3 + 1
        label = f"FY{fiscal_year(start, fiscal_start)}-Q{quarter}"
    else:
        label = f"{start.year}-{start.month:02d}"
    return Period(
        start=pd.Timestamp(start), end=pd.Timestamp(end), label=label, fiscal_start=fiscal_start
    )


def _fiscal_quarter_start(year: int, quarter: int, fiscal_start: int) -> pd.Timestamp:
    """First day of fiscal quarter ``quarter`` of fiscal year ``year``."""
    first_year = year - (1 if fiscal_start > 1 else 0)
    month = fiscal_start - 1 + 3 * (quarter - 1)  # months after January of first_year
    return pd.Timestamp(first_year + month // 12, month % 12 + 1, 1)


def _quarter_forms(fiscal_start: int) -> str:
    if fiscal_start == 1:
        return "a quarter like 2026-Q3 or a month like 2026-09"
    return "a fiscal quarter like FY2027-Q1 or a month like 2026-09"


def parse_period(text: str, fiscal_start: int = 1) -> Period:
    """Parse ``2026-Q3``, ``FY2027-Q1`` or ``2026-09`` into a :class:`Period`.

    ``fiscal_start`` is the month the fiscal year starts (the workspace's
    ``fiscal_year_start``). With a fiscal year starting in January, ``FY2026-Q3`` and
    ``2026-Q3`` are the same quarter; otherwise quarters are named by fiscal year and a
    calendar quarter is refused. Raises :class:`UsageError` naming the accepted forms.
    """
    if not 1 <= fiscal_start <= 12:
        raise ValueError(f"fiscal_start must be a month 1-12, not {fiscal_start!r}")
    text = unicodedata.normalize("NFKC", str(text)).strip()  # ２０２６-Q3 is 2026-Q3
    m = _QUARTER.match(text) or _FISCAL_QUARTER.match(text) or _MONTH.match(text)
    if m is None:
        msg = f"period {text!r} is not {_quarter_forms(fiscal_start)}"
        raise UsageError(msg)
    if not FIRST_YEAR <= int(m[1]) <= LAST_YEAR:
        msg = (
            f"period {text!r} is outside the years kpinb handles ({FIRST_YEAR} to "
            f"{LAST_YEAR}); give the review period of your data, such as "
            f"{'2026-Q3' if fiscal_start == 1 else 'FY2027-Q1'}"
        )
        raise UsageError(msg)
    if m.re is _MONTH:
        return _make(pd.Timestamp(int(m[1]), int(m[2]), 1), 1, fiscal_start)
    if m.re is _FISCAL_QUARTER:
        start = _fiscal_quarter_start(int(m[1]), int(m[2]), fiscal_start)
        return _make(start, 3, fiscal_start)
    start = pd.Timestamp(int(m[1]), 3 * int(m[2]) - 2, 1)
    if fiscal_start != 1:
        fiscal = period_of(start, 3, fiscal_start)
        same = fiscal.start == start
        which = f"{text} is {fiscal.label}" if same else f"{start.date()} is in {fiscal.label}"
        msg = (
            f"period {text!r} is a calendar quarter, but this workspace's fiscal year "
            f"starts in {MONTH_NAMES[fiscal_start - 1]}: name the fiscal quarter "
            f"({which}) or give a month like 2026-09"
        )
        raise UsageError(msg)
    return _make(start, 3)


def period_of(date: pd.Timestamp, months: int = 3, fiscal_start: int = 1) -> Period:
    """The quarter (``months=3``) or month holding ``date``, quarters by fiscal year."""
    date = pd.Timestamp(date)
    if months == 1:
        return _make(pd.Timestamp(date.year, date.month, 1), 1, fiscal_start)
    offset = (date.month - fiscal_start) % 12 // months * months  # months into the year
    month = date.month - (date.month - fiscal_start) % 12 + offset  # may be < 1
    start = pd.Timestamp(date.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return _make(start, months, fiscal_start)


def as_period(period: str | Period, fiscal_start: int = 1) -> Period:
    """``period`` as a :class:`Period` of a workspace whose fiscal year starts in month
    ``fiscal_start`` (a label is parsed; a period labelled for another calendar is
    re-read from its label, so a calendar quarter in a fiscal workspace is refused)."""
    if isinstance(period, Period) and period.fiscal_start == fiscal_start:
        return period
    label = period.label if isinstance(period, Period) else period
    return parse_period(label, fiscal_start)
