"""Repeating patterns: a shape that comes back in every quarter.

Sales KPIs often rise and fall the same way inside every quarter (a slow start, a
push at the quarter's end). Read against a flat baseline, that shape looks like a
trend, a streak or a shift every quarter. Here a series' usual shape is found and
the period is judged against it:

- **Position in the cycle**: the week of the quarter (days since the quarter's first
  day // 7, 0..12; a 14th week counts as the 13th); monthly points fall on weeks 0, 4
  and 8, so the same rule gives the month of the quarter.
- **Test**: over the earlier points (current version, before the review period, at most
  :data:`WINDOW` of them), a one-way ANOVA of the value by week of the quarter:
  F = (SSB / (k - 1)) / (SSW / (N - k)). A series has the pattern when p is under :data:`ALPHA`
  (the F distribution's tail, ``scipy.special.fdtrc``), the week-of-quarter means
  explain at least :data:`MIN_SHARE` of the variance (eta squared = SSB / SST), and the
  earlier points span at least :data:`MIN_CYCLES` quarters (``seen``). A person's series
  also takes the pattern of their team's series (or, where the team is too small to be
  judged, their department's), a team's that of its department: a shape everyone shares
  is clearer in the group's series than in one person's.
- **Judged against the shape**: the usual shape is the mean of the earlier points at
  each week of the quarter (the index). Review points are read as value - index +
  the earlier mean; baseline points as value - the mean of the *other* earlier points
  of their week (leave-one-out, so the baseline's spread is not understated) + the
  earlier mean. Status, trend and streak are computed on these values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.special import fdtrc

from kpinb.analytics.signals import counts_of, positions, seg_sum, starts_of

CYCLE_WEEKS = 13
WINDOW = 104  # earlier points the shape is learnt from (two years of weeks)
ALPHA = 0.001
MIN_SHARE = 0.2
MIN_CYCLES = 2


def _per_date(period: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``fn`` of each distinct date, spread back to every row (few dates, many rows)."""
    code, uniq = pd.factorize(np.asarray(period, dtype="datetime64[ns]"))
    return np.asarray(fn(np.asarray(uniq, dtype="datetime64[ns]")))[code]


def week_of_quarter(period: np.ndarray) -> np.ndarray:
    """Week of the quarter (0..12) of each date."""
    return _per_date(period, _week_of_quarter)


def _week_of_quarter(period: np.ndarray) -> np.ndarray:
    day = np.asarray(period, dtype="datetime64[D]")
    month = day.astype("datetime64[M]").astype(np.int64)
    start = (month // 3 * 3).astype("datetime64[M]").astype("datetime64[D]")
    return np.asarray(np.minimum((day - start).astype(np.int64) // 7, CYCLE_WEEKS - 1))


def _quarter_index(period: np.ndarray) -> np.ndarray:
    """A running number of each date's quarter."""
    return _per_date(period, lambda d: d.astype("datetime64[M]").astype(np.int64) // 3)


def earlier_mask(points: pd.DataFrame) -> np.ndarray:
    """Points before the review period, at most the last :data:`WINDOW` of each key."""
    key = points["key"].to_numpy()
    if not len(key):
        return np.zeros(0, dtype=bool)
    pos = positions(key)
    counts = counts_of(key)
    review = points["in_review"].to_numpy(dtype=bool)
    first = np.minimum(np.minimum.reduceat(np.where(review, pos, len(key)), starts_of(key)), counts)
    first = np.repeat(first, counts)
    return (pos < first) & (pos >= first - WINDOW)


def detect(points: pd.DataFrame) -> pd.DataFrame:
    """Per key: ``pattern_p`` (the F test's p), ``pattern_share`` (eta squared),
    ``pattern_seen`` (earlier quarters with points) and ``pattern_found``."""
    key = points["key"].to_numpy()
    if not len(key):
        return pd.DataFrame(columns=["pattern_p", "pattern_share", "pattern_seen", "pattern_found"])
    early = earlier_mask(points)
    value = points["value"].to_numpy(dtype=float)
    woq = week_of_quarter(points["period"].to_numpy())
    uniq = pd.Index(key[starts_of(key)], name="key")
    code = np.searchsorted(uniq.to_numpy(), key)
    n_keys = len(uniq)
    cell = code[early] * CYCLE_WEEKS + woq[early]
    size = n_keys * CYCLE_WEEKS
    c_n = np.bincount(cell, minlength=size).reshape(n_keys, CYCLE_WEEKS)
    c_s = np.bincount(cell, weights=value[early], minlength=size).reshape(n_keys, -1)
    c_q = np.bincount(cell, weights=value[early] ** 2, minlength=size).reshape(n_keys, -1)
    n = c_n.sum(axis=1).astype(float)
    total = c_s.sum(axis=1)
    sst = c_q.sum(axis=1) - total**2 / np.maximum(n, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ssw = c_q.sum(axis=1) - np.nansum(np.where(c_n > 0, c_s**2 / c_n, 0.0), axis=1)
        k = (c_n > 0).sum(axis=1).astype(float)
        f_stat = (np.maximum(sst - ssw, 0) / (k - 1)) / (ssw / (n - k))
        share = np.where(sst > 0, np.maximum(sst - ssw, 0) / sst, 0.0)
    # the F distribution's survival function (what ``scipy.stats.f.sf`` computes for a
    # statistic of 0 or more), without importing scipy.stats (about 0.4 s a process)
    tail = fdtrc(k - 1, n - k, f_stat)
    p = np.where((k >= 3) & (n - k >= 10) & (ssw > 0), tail, np.nan)
    quarter = _quarter_index(points["period"].to_numpy()[early])
    span = int(quarter.max() - quarter.min()) + 1 if len(quarter) else 1
    distinct = np.unique(code[early].astype(np.int64) * span + (quarter - quarter.min()))
    seen = np.bincount(distinct // span, minlength=n_keys)
    found = (p < ALPHA) & (share >= MIN_SHARE) & (seen >= MIN_CYCLES)
    return pd.DataFrame(
        {"pattern_p": p, "pattern_share": share, "pattern_seen": seen, "pattern_found": found},
        index=uniq,
    )


def adjusted(points: pd.DataFrame, wanted: np.ndarray) -> pd.DataFrame:
    """The points of the ``wanted`` keys (a bool per row) judged against their usual
    shape (module docstring); points whose week of the quarter has no other earlier
    point are left out. Columns as ``points``; ``value`` replaced."""
    sub = points[wanted].reset_index(drop=True)
    key = sub["key"].to_numpy()
    early = earlier_mask(sub)
    value = sub["value"].to_numpy(dtype=float)
    woq = week_of_quarter(sub["period"].to_numpy())
    uniq, code = np.unique(key, return_inverse=True)
    cell = code * CYCLE_WEEKS + woq
    size = len(uniq) * CYCLE_WEEKS
    c_n = np.bincount(cell[early], minlength=size).astype(float)
    c_s = np.bincount(cell[early], weights=value[early], minlength=size)
    grand = seg_sum(np.where(early, value, 0.0), key) / np.maximum(
        seg_sum(early.astype(float), key), 1
    )
    grand = grand[code]
    with np.errstate(divide="ignore", invalid="ignore"):
        others = np.where(early, (c_s[cell] - value) / (c_n[cell] - 1), c_s[cell] / c_n[cell])
    out = sub.assign(value=value - others + grand)
    keep = np.isfinite(out["value"].to_numpy())
    out = out[keep].reset_index(drop=True)
    return pd.DataFrame(out.drop(columns=[c for c in ("pos", "baseline") if c in out]))


def record(row: dict[str, object] | pd.Series) -> dict[str, object] | None:
    """The ``pattern`` record of one summary row: None, or {cycle: "quarter", seen:
    earlier quarters the shape was learnt from}."""
    cycle = row.get("pattern_cycle")
    if not isinstance(cycle, str):
        return None
    seen = row.get("pattern_seen", 0)
    ok = isinstance(seen, (int, float, np.integer, np.floating)) and not pd.isna(seen)
    return {"cycle": cycle, "seen": int(seen) if ok else 0}  # type: ignore[arg-type]  # a summary cell: object
