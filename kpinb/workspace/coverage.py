"""How far a workspace's data reaches: the review period a command picks when none is
given, and whether a period holds any value at all.

A weekly value is dated on its week's first day and covers the seven days from there;
a monthly value covers its month. The data *runs to* the last day the latest value
covers, and a period is *complete* when its last day is on or before that day: with a
last weekly value on Monday 28 September 2026 the data runs to Sunday 4 October, so
2026-Q3 is complete; with a last one on 21 September it runs to 27 September, and the
latest complete quarter is 2026-Q2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from kpinb.errors import UsageError
from kpinb.periods import Period, parse_period, period_of

if TYPE_CHECKING:
    from kpinb.workspace.loader import Workspace


@dataclass(frozen=True)
class PeriodChoice:
    """The review period a command runs on and why (``reason`` is one sentence)."""

    period: Period
    reason: str
    chosen: bool  # picked from the data (no period was given)


def runs_to(ws: Workspace) -> pd.Timestamp | None:
    """The last day the workspace's latest value covers (None without any value)."""
    obs = ws.observations
    if obs.empty:
        return None
    last = obs.groupby("kpi_id", observed=True)["period"].max()
    ends = [
        _covered_until(date, ws.kpis[str(kpi)].cadence if str(kpi) in ws.kpis else "weekly")
        for kpi, date in last.items()
    ]
    return max(ends)


def _covered_until(date: pd.Timestamp, cadence: str) -> pd.Timestamp:
    if cadence == "monthly":
        return pd.Timestamp(date) + pd.offsets.MonthEnd(0)
    return pd.Timestamp(date) + pd.Timedelta(days=6)


def latest_complete(ws: Workspace, months: int = 3) -> Period | None:
    """The latest quarter (``months=3``) or month that the data covers to its end and
    that holds at least one value; None when there is none."""
    through = runs_to(ws)
    if through is None:
        return None
    fiscal = ws.settings.fiscal_year_start
    per = period_of(through, months, fiscal)
    if per.end > through:
        per = per.previous()
    dates = ws.observations["period"]
    before = dates[dates <= per.end]
    if before.empty:
        return None
    return period_of(before.max(), months, fiscal)


def choose_period(ws: Workspace, period: str | Period | None) -> PeriodChoice:
    """The period given, or else the latest complete quarter with data.

    Raises :class:`UsageError` when none was given and no quarter is complete yet.
    """
    if period is not None:
        fiscal = ws.settings.fiscal_year_start
        given = period if isinstance(period, Period) else parse_period(period, fiscal)
        return PeriodChoice(given, f"{given.label}: the period asked for", chosen=False)
    through = runs_to(ws)
    per = latest_complete(ws)
    if per is None or through is None:
        first = "" if through is None else f" (the data runs to {through.date().isoformat()})"
        msg = (
            f"no review quarter is complete yet{first}: give the period to report on "
            "with --period, such as --period 2026-Q3"
        )
        raise UsageError(msg)
    day = through.date().isoformat()
    current = period_of(through, 3, ws.settings.fiscal_year_start)
    if current == per:
        why = f"the latest quarter, which the data covers to its end (it runs to {day})"
    else:
        why = (
            f"the latest complete quarter with data (the data runs to {day}, "
            f"so {current.label} is not complete yet)"
        )
    return PeriodChoice(per, f"{per.label}: {why}", chosen=True)


def has_values(ws: Workspace, per: Period) -> bool:
    """True when at least one value falls in ``per``."""
    return bool(per.contains(ws.observations["period"]).any())


def empty_period_note(ws: Workspace, per: Period) -> str | None:
    """A note when no one has a value in ``per``: it names the latest period with data.

    ``None`` when some value falls in ``per`` (or the workspace has no values at all).
    """
    dates = ws.observations["period"]
    if dates.empty or has_values(ws, per):
        return None
    latest = period_of(dates.max(), per.months, per.fiscal_start)
    where = ""
    if per.end < dates.min():
        where = " (it is before the first value)"
    elif per.start > dates.max():
        where = " (it is after the latest value)"
    return (
        f"no one has a value in {per.label}{where}, so its reports would say there is "
        f"nothing to show yet. The latest period with data is {latest.label}: "
        f"--period {latest.label}."
    )
