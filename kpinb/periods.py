"""Review periods: quarters (``2026-Q3``) and months (``2026-09``).

A period is a closed date range. Observations belong to the period that holds
their ``period`` date (the first day of their week or month).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from kpinb.errors import UsageError

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$", re.ASCII)
# the years a period may fall in: its dates, and those of the periods compared with it
# (a year earlier, the quarters before), stay within what pandas can hold (1677-2262)
FIRST_YEAR, LAST_YEAR = 1700, 2250


@dataclass(frozen=True, order=True)
class Period:
    """A review period: its label and first and last day (inclusive)."""

    start: pd.Timestamp
    end: pd.Timestamp
    label: str

    @property
    def months(self) -> int:
        """Length of the period in months (3 for a quarter, 1 for a month)."""
        return 3 if "Q" in self.label else 1

    def shift(self, n: int) -> Period:
        """The period ``n`` periods later (negative: earlier)."""
        start = self.start + pd.DateOffset(months=n * self.months)
        return _make(start, self.months)

    def previous(self) -> Period:
        """The period just before this one."""
        return self.shift(-1)

    def year_earlier(self) -> Period:
        """The same period one year earlier."""
        return self.shift(-12 // self.months)

    def contains(self, dates: pd.Series) -> pd.Series:
        """Boolean mask of the dates that fall within this period."""
        return (dates >= self.start) & (dates <= self.end)


def _make(start: pd.Timestamp, months: int) -> Period:
    end = start + pd.DateOffset(months=months) - pd.Timedelta(days=1)
    if months == 3:
        label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    else:
        label = f"{start.year}-{start.month:02d}"
    return Period(start=pd.Timestamp(start), end=pd.Timestamp(end), label=label)


def parse_period(text: str) -> Period:
    """Parse ``2026-Q3`` or ``2026-09`` into a :class:`Period`.

    Raises :class:`UsageError` naming the accepted forms when ``text`` is neither.
    """
    text = unicodedata.normalize("NFKC", str(text)).strip()  # ２０２６-Q3 is 2026-Q3
    m = _QUARTER.match(text) or _MONTH.match(text)
    if m is None:
        msg = f"period {text!r} is not a quarter like 2026-Q3 or a month like 2026-09"
        raise UsageError(msg)
    if not FIRST_YEAR <= int(m[1]) <= LAST_YEAR:
        msg = (
            f"period {text!r} is outside the years kpinb handles ({FIRST_YEAR} to "
            f"{LAST_YEAR}); give the review period of your data, such as 2026-Q3"
        )
        raise UsageError(msg)
    if m.re is _QUARTER:
        return _make(pd.Timestamp(int(m[1]), 3 * int(m[2]) - 2, 1), 3)
    return _make(pd.Timestamp(int(m[1]), int(m[2]), 1), 1)


def period_of(date: pd.Timestamp, months: int = 3) -> Period:
    """The quarter (``months=3``) or month holding ``date``."""
    date = pd.Timestamp(date)
    month = (date.month - 1) // months * months + 1
    return _make(pd.Timestamp(date.year, month, 1), months)
