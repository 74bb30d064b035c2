"""The period a command picks when none is given, worked out by hand from the last dates."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from kpinb.errors import UsageError
from kpinb.workspace import coverage
from tests.support import synthetic as syn


def _weekly(last: str, first: str = "2025-10-06"):  # type: ignore[no-untyped-def]
    """One person, one weekly KPI, a value every Monday from ``first`` to ``last``."""
    dates = pd.date_range(first, last, freq="7D")
    return syn.workspace({("E1", "k"): [1.0] * len(dates)}, {"k": syn.spec("k")}, dates=dates)


def _monthly(last: str):  # type: ignore[no-untyped-def]
    dates = pd.date_range("2025-01-01", last, freq="MS")
    ws = syn.workspace({("E1", "k"): [1.0] * len(dates)}, {"k": syn.spec("k")}, dates=dates)
    return replace(ws, kpis={"k": replace(ws.kpis["k"], cadence="monthly")})


def test_a_last_week_that_runs_past_the_quarter_end_completes_the_quarter() -> None:
    # Monday 28 Sep 2026 covers to Sunday 4 Oct: 2026-Q3 (to 30 Sep) is complete
    ws = _weekly("2026-09-28")
    assert coverage.runs_to(ws) == pd.Timestamp("2026-10-04")
    choice = coverage.choose_period(ws, None)
    assert choice.period.label == "2026-Q3" and choice.chosen
    assert "runs to 2026-10-04" in choice.reason


def test_a_last_week_that_ends_before_the_quarter_end_picks_the_quarter_before() -> None:
    # Monday 21 Sep 2026 covers to Sunday 27 Sep, three days short of 30 Sep
    ws = _weekly("2026-09-21")
    assert coverage.runs_to(ws) == pd.Timestamp("2026-09-27")
    choice = coverage.choose_period(ws, None)
    assert choice.period.label == "2026-Q2"
    assert choice.reason == (
        "2026-Q2: the latest complete quarter with data (the data runs to 2026-09-27, "
        "so 2026-Q3 is not complete yet)"
    )


def test_a_monthly_value_covers_its_month() -> None:
    assert coverage.choose_period(_monthly("2026-09-01"), None).period.label == "2026-Q3"
    assert coverage.runs_to(_monthly("2026-08-01")) == pd.Timestamp("2026-08-31")
    assert coverage.choose_period(_monthly("2026-08-01"), None).period.label == "2026-Q2"


def test_the_latest_complete_month_when_asked_for_months() -> None:
    # to 4 Oct: September is the latest complete month; to 27 Sep: August
    assert coverage.latest_complete(_weekly("2026-09-28"), months=1).label == "2026-09"
    assert coverage.latest_complete(_weekly("2026-09-21"), months=1).label == "2026-08"


def test_no_complete_quarter_is_a_usage_error_naming_the_flag() -> None:
    ws = _weekly("2026-08-03", first="2026-07-06")  # data only inside 2026-Q3, to 9 Aug
    assert coverage.latest_complete(ws) is None
    with pytest.raises(UsageError, match=r"runs to 2026-08-09.*--period"):
        coverage.choose_period(ws, None)


def test_a_given_period_is_kept() -> None:
    choice = coverage.choose_period(_weekly("2026-09-21"), "2026-Q3")
    assert choice.period.label == "2026-Q3" and not choice.chosen


def test_has_values() -> None:
    ws = _weekly("2026-09-21")
    from kpinb.periods import parse_period

    assert coverage.has_values(ws, parse_period("2026-Q3"))
    assert not coverage.has_values(ws, parse_period("2026-Q4"))
