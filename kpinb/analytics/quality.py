"""Data quality per series: implausible values, missing points, stale series.

Reports say what they could not use (SPEC idea 13): values outside the unit's
plausible range are set aside here, listed, and never used by the analytics.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kpinb.kpis import STALE_DAYS, KpiSpec, is_percent

NON_NEGATIVE_UNITS = frozenset(
    {
        "count",
        "calls",
        "tickets",
        "deals",
        "cases",
        "visits",
        "items",
        "orders",
        "hours",
        "minutes",
        "days",
        "seconds",
        "eur",
        "keur",
        "usd",
        "gbp",
        "€",
        "$",
        "£",
        "h",
        "min",
        "meetings",
        "reviews",
        "defects",
        "calls/week",
        "deals/week",
    }
)


def plausible_range(unit: str) -> tuple[float, float]:
    """The (low, high) plausible values of a unit: 0..100 for %, >= 0 for counts, else any."""
    key = str(unit).strip().lower()
    if is_percent(key):
        return 0.0, 100.0
    if key in NON_NEGATIVE_UNITS:
        return 0.0, np.inf
    return -np.inf, np.inf


def natural_bounds(kpis: Mapping[str, KpiSpec], observations: pd.DataFrame) -> pd.DataFrame:
    """Per KPI id: the ``floor`` and ``ceiling`` no value can pass (NaN = none), and
    whether its unit is a ``percent`` (a share, never a count).

    A KPI's own ``min`` / ``max`` when given; otherwise 0 is the floor of a KPI that
    has never been negative in the workspace (a count, an amount, a duration) and 100
    the ceiling of a percentage.
    """
    lowest = observations.groupby("kpi_id", observed=True)["value"].min()
    rows = {}
    for kid, spec in kpis.items():
        low = lowest.get(kid, np.nan)
        floor = spec.min if spec.min is not None else (0.0 if not low < 0 else np.nan)
        ceiling = spec.max if spec.max is not None else (100.0 if is_percent(spec.unit) else np.nan)
        rows[kid] = (floor, ceiling, is_percent(spec.unit))
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["floor", "ceiling", "percent"])
    out = out.astype({"floor": float, "ceiling": float, "percent": bool})
    out.index.name = "kpi_id"
    return out


def split_plausible(
    observations: pd.DataFrame, kpis: Mapping[str, KpiSpec]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split observations into (usable, excluded); excluded carries a ``reason``.

    A value is excluded when it is not finite or outside its unit's plausible range.
    """
    kpi = observations["kpi_id"].astype("category")
    bounds = [
        plausible_range(kpis[k].unit) if k in kpis else (-np.inf, np.inf)
        for k in kpi.cat.categories.astype(str)
    ]
    codes = kpi.cat.codes.to_numpy()
    table = np.array([*bounds, (-np.inf, np.inf)], dtype=float).reshape(-1, 2)
    low, high = (pd.Series(table[codes, i], index=observations.index) for i in (0, 1))
    value = observations["value"].to_numpy(dtype=float)
    finite = np.isfinite(value)
    ok = finite & (value >= low.to_numpy()) & (value <= high.to_numpy())
    if ok.all():
        return observations, _excluded_frame(observations.iloc[:0], low.iloc[:0], high.iloc[:0])
    bad = ~ok
    excluded = _excluded_frame(observations[bad], low[bad], high[bad])
    return observations[ok], excluded


def _excluded_frame(rows: pd.DataFrame, low: pd.Series, high: pd.Series) -> pd.DataFrame:
    value = rows["value"].astype(float)
    reason = np.where(
        ~np.isfinite(value),
        "not a number",
        np.where(value < low, "below the plausible range", "above the plausible range"),
    )
    out = pd.DataFrame(
        {
            "scope_id": rows["employee_id"].astype(str),
            "kpi_id": rows["kpi_id"].astype(str),
            "period": rows["period"],
            "value": value,
            "reason": reason.astype(object),
            "low": low.to_numpy(),
            "high": high.to_numpy(),
        }
    )
    return out  # the observations' index: rows of several parts are put back in order


def expected_points(
    first: pd.Series, cadence: pd.Series, start: pd.Timestamp, end: pd.Timestamp
) -> np.ndarray:
    """Cadence steps a series should have in [start, end], counted from its first point.

    Weekly series are anchored on their own weekday (the first point's), monthly
    series on the first of the month.
    """
    lo = np.maximum(first.to_numpy("datetime64[ns]"), np.datetime64(start, "ns"))
    end64 = np.datetime64(end, "ns")
    day = np.timedelta64(1, "D")
    offset = ((first.to_numpy("datetime64[ns]") - lo) // day) % 7
    first_week = lo.astype("datetime64[D]") + offset.astype("timedelta64[D]")
    weeks = (end64.astype("datetime64[D]") - first_week) // np.timedelta64(7, "D") + 1
    lo_month = lo.astype("datetime64[M]")
    lo_month = np.where(
        lo_month.astype("datetime64[D]") < lo.astype("datetime64[D]"), lo_month + 1, lo_month
    )
    months = (end64.astype("datetime64[M]") - lo_month).astype(int) + 1
    count: np.ndarray = np.where(cadence.to_numpy() == "monthly", months, weeks.astype(int))
    expected: np.ndarray = np.clip(count, 0, None)
    return expected


def staleness(last: pd.Series, cadence: pd.Series, end: pd.Timestamp) -> pd.DataFrame:
    """Days since the last point (at ``end``) and whether the series is stale.

    Stale: no point in the last two cadence steps (14 days weekly, 62 days monthly).
    """
    days = (pd.Timestamp(end) - last).dt.days
    limit = cadence.map(STALE_DAYS).fillna(14)
    return pd.DataFrame({"days_since_last": days, "stale": (days >= limit) | last.isna()})
