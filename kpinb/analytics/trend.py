"""Improvement over time: period levels and changes, Theil-Sen trend, streaks,
personal bests and recoveries, for many series at once.

Frames hold one row per point, sorted by ``key`` (int series id) then ``period``.
``sign`` is +1 for a higher-is-better KPI and -1 for lower-is-better; multiplying
a change by it makes positive mean better.

Hand-worked Theil-Sen example: points (week 0, 1), (1, 3), (2, 2), (3, 5) give the
pairwise slopes 2, 0.5, 4/3, -1, 1, 3; their median is (1 + 4/3) / 2 = 7/6 per week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.analytics.signals import MIN_POINTS, counts_of, lag, position, sizes, starts_of, take
from kpinb.periods import Period

TREND_POINTS = 13
SMOOTH = 4
D2 = 1.128  # bias correction of the mean moving range (n = 2) into a sigma estimate
TREND_Z = 2.0
# a quarter's change "held level" when it is within HELD_Z standard errors of a
# difference of two means of routine variation (:func:`routine_change`)
HELD_Z = 2.0
_WEEK = np.timedelta64(7, "D")
_CHUNK = 20_000


def _level(points: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """Mean value, point count, definition versions and fewest contributors at one date
    (column ``n`` of the points, 1 when absent) of the masked points, per key.

    A rate (every point with a ``denominator``) has as level its sum of numerators over
    its sum of denominators: a week of 30 cases weighs 30 times a week of 1.
    """
    sub = points.loc[mask, ["key", "value", "version"]]
    sub["people"] = points.loc[mask, "n"] if "n" in points else 1
    den = points.loc[mask, "denominator"] if "denominator" in points else None
    sub["den"] = den.where(den > 0) if den is not None else np.nan
    sub["num"] = sub["value"] * sub["den"]
    g = sub.groupby("key", sort=True)
    mean = g["value"].mean()
    rated = g["den"].count() == g.size()
    weighted = g["num"].sum() / g["den"].sum().where(rated)
    return pd.DataFrame(
        {
            "level": weighted.where(rated, mean),
            "n": g.size(),
            "vmin": g["version"].min(),
            "vmax": g["version"].max(),
            "min_people": g["people"].min(),
        }
    )


def period_changes(
    points: pd.DataFrame,
    current: pd.Series,
    sign: pd.Series,
    period: Period,
    usable: np.ndarray | None = None,
) -> pd.DataFrame:
    """Level in the review period (current-version points) and its change against the
    previous period and the same period a year earlier, per key.

    ``points`` needs key, period, value, version (all versions), optionally ``n``
    (contributors at each date); ``current`` and ``sign`` are indexed by key. A
    reference period holding any point of another version than ``current`` is
    flagged ``*_crosses_definition``. ``n_min``, ``prev_n_min``, ``yoy_n_min``: the
    fewest contributors at any date behind each level (the privacy rule of
    executive views). ``usable``: a mask of the points the levels may rest on (all by
    default); a mask instead of a filtered frame spares a copy of the points.
    """
    dates = points["period"]
    use = np.ones(len(points), dtype=bool) if usable is None else usable
    cur_version = take(current, points["key"].to_numpy())
    in_review = period.contains(dates).to_numpy() & (points["version"].to_numpy() == cur_version)
    now = _level(points, in_review & use).reindex(current.index)
    out = pd.DataFrame({"level": now["level"], "n_in_period": now["n"].fillna(0).astype(int)})
    out["n_min"] = now["min_people"]
    for prefix, ref in (("prev", period.previous()), ("yoy", period.year_earlier())):
        before = _level(points, ref.contains(dates).to_numpy() & use).reindex(current.index)
        change = out["level"] - before["level"]
        out[f"{prefix}_label"] = ref.label
        out[f"{prefix}_level"] = before["level"]
        out[f"{prefix}_n"] = before["n"]
        out[f"{prefix}_n_min"] = before["min_people"]
        out[f"{prefix}_change"] = change
        out[f"{prefix}_change_rel"] = change / before["level"].abs().replace(0, np.nan)
        out[f"{prefix}_change_oriented"] = change * sign
        crosses = (before["vmin"] != current) | (before["vmax"] != current)
        out[f"{prefix}_crosses_definition"] = crosses & before["n"].notna()
    return out


def routine_change(sigma: pd.Series, n: pd.Series, n_before: pd.Series) -> pd.Series:
    """The largest change of a period's mean against an earlier period's mean that
    routine variation explains: ``HELD_Z x sigma x sqrt(1/n + 1/n_before)``, sigma the
    usual range's (mean moving range / 1.128), n and n_before the points behind each
    mean. NaN without a sigma or points. Example: sigma 3, 13 and 13 weekly points:
    2 x 3 x sqrt(2/13) = 2.35.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        n1 = n.astype(float).where(n > 0)
        n2 = n_before.astype(float).where(n_before > 0)
        out: pd.Series = HELD_Z * sigma * np.sqrt(1 / n1 + 1 / n2)
    return out


def _window(points: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The last ``n`` points of every key as (keys, weeks, values) matrices, right-aligned."""
    key = points["key"].to_numpy()
    pos = position(points)
    size = sizes(key)
    from_end = size - 1 - pos
    keep = from_end < n
    keys, row = np.unique(key[keep], return_inverse=True)
    weeks = np.full((len(keys), n), np.nan)
    values = np.full((len(keys), n), np.nan)
    col = n - 1 - from_end[keep]
    epoch = points["period"].to_numpy("datetime64[ns]")[keep] - np.datetime64("2000-01-03", "ns")
    weeks[row, col] = epoch / _WEEK
    values[row, col] = points["value"].to_numpy(dtype=float)[keep]
    return keys, weeks, values


def _pairwise_median(weeks: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Theil-Sen slope per row (median pairwise slope) and the fitted value at the last point."""
    i, j = np.triu_indices(weeks.shape[1], 1)
    slopes = (values[:, j] - values[:, i]) / (weeks[:, j] - weeks[:, i])
    slope = np.nanmedian(slopes, axis=1)
    fitted = np.nanmedian(values + slope[:, None] * (weeks[:, -1:] - weeks), axis=1)
    return slope, fitted


def theil_sen(
    points: pd.DataFrame, sign: pd.Series, n: int = TREND_POINTS, floor: pd.Series | None = None
) -> pd.DataFrame:
    """Robust slope (units per week) over each key's last ``n`` points, and its meaning.

    Needs at least 6 points. ``trend_z`` = sign x slope x sqrt(sum (t - mean t)^2) / sigma,
    sigma = mean moving range / 1.128 of the same points: about how many standard
    errors the slope is from flat (``floor``, per key: a least sigma, such as the
    baseline's). ``trend_direction`` is improving when z >= 2,
    worsening when z <= -2, steady in between (the move is within the noise).
    """
    keys, weeks, values = _window(points, n)
    count = np.sum(~np.isnan(values), axis=1)
    ok = count >= MIN_POINTS
    keys, weeks, values, count = keys[ok], weeks[ok], values[ok], count[ok]
    slope, fitted = np.empty(len(keys)), np.empty(len(keys))
    for lo in range(0, len(keys), _CHUNK):
        part = slice(lo, lo + _CHUNK)
        slope[part], fitted[part] = _pairwise_median(weeks[part], values[part])
    sigma = np.nanmean(np.abs(np.diff(values, axis=1)), axis=1) / D2 if len(keys) else slope
    if floor is not None:  # a sigma known better elsewhere (per key) is the least it can be
        sigma = np.fmax(sigma, floor.reindex(keys).to_numpy(dtype=float))
    sxx = np.nansum((weeks - np.nanmean(weeks, axis=1, keepdims=True)) ** 2, axis=1)
    oriented = slope * sign.reindex(keys).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(oriented == 0, 0.0, oriented * np.sqrt(sxx) / sigma)
    direction = judge(z).to_numpy()
    return pd.DataFrame(
        {
            "trend_slope": slope,
            "trend_n": count,
            "trend_level": fitted,
            "trend_z": z,
            "trend_direction": direction.astype(object),
        },
        index=pd.Index(keys, name="key"),
    )


def judge(z: np.ndarray | pd.Series) -> pd.Series:
    """The trend's direction from its z: improving at :data:`TREND_Z` or more,
    worsening at -:data:`TREND_Z` or less, steady in between (index kept)."""
    index = z.index if isinstance(z, pd.Series) else None
    v = np.asarray(z, dtype=float)
    out = np.where(v >= TREND_Z, "improving", np.where(v <= -TREND_Z, "worsening", "steady"))
    return pd.Series(out.astype(object), index=index)


def smoothed(points: pd.DataFrame) -> np.ndarray:
    """Mean of each point and the 3 before it in its series (NaN for the first 3)."""
    pos = position(points)
    value = points["value"].to_numpy(dtype=float)
    total = sum((lag(value, pos, k) for k in range(SMOOTH)), np.zeros(len(value)))
    return total / SMOOTH


def streaks(points: pd.DataFrame, sign: np.ndarray, smooth: np.ndarray) -> pd.Series:
    """Consecutive points, ending at each key's last, whose smoothed level is better
    (direction-aware) than the smoothed level 4 points earlier."""
    key = points["key"].to_numpy()
    pos = position(points)
    earlier = lag(smooth, pos, SMOOTH)
    gain = sign * (smooth - earlier)
    better = gain > 1e-9 * (np.abs(smooth) + np.abs(earlier))
    starts = starts_of(key)
    if not len(starts):
        return pd.Series(dtype=int, name="streak_length")
    last_pos = counts_of(key) - 1
    last_break = np.maximum.reduceat(np.where(better, -1, pos), starts)
    return pd.Series(
        last_pos - last_break, index=pd.Index(key[starts], name="key"), name="streak_length"
    )


def personal_bests(points: pd.DataFrame, sign: np.ndarray) -> pd.DataFrame:
    """Best point per key (direction-aware, earliest if tied) and whether it is new:
    in the review period with at least 6 earlier points of the same version."""
    oriented = pd.Series(sign * points["value"].to_numpy(dtype=float), index=points.index)
    best = oriented.groupby(points["key"].to_numpy()).idxmax()
    rows = points.loc[best.to_numpy()]
    pos = position(points)
    is_new = rows["in_review"].to_numpy() & (
        pos[points.index.get_indexer(pd.Index(best))] >= MIN_POINTS
    )
    return pd.DataFrame(
        {
            "best_value": rows["value"].to_numpy(),
            "best_period": rows["period"].to_numpy(),
            "best_is_new": is_new,
        },
        index=pd.Index(best.index, name="key"),
    )


def recoveries(points: pd.DataFrame, worsening: np.ndarray, gain: np.ndarray) -> pd.DataFrame:
    """The latest dip (a worsening signal) per key and the first later point at which
    the smoothed level is back at or better than the centre.

    ``worsening``: bool per point; ``gain``: sign x (smoothed - centre) per point.
    """
    key = points["key"].to_numpy()
    pos = pd.Series(position(points), index=points.index)
    dip_pos = pos[worsening].groupby(key[worsening]).max()
    after = pos > pd.Series(key, index=points.index).map(dip_pos)
    back = after & (gain >= 0)
    dip_rows = points.loc[pos[worsening].groupby(key[worsening]).idxmax()]
    first_back = pos[back].groupby(key[back.to_numpy()]).idxmin()
    out = pd.DataFrame(
        {"dip_period": dip_rows["period"].to_numpy(), "dip_value": dip_rows["value"].to_numpy()},
        index=pd.Index(dip_pos.index, name="key"),
    )
    out["recovered_period"] = (
        points.loc[first_back.to_numpy(), "period"].set_axis(first_back.index).reindex(out.index)
    )
    out["recovered"] = out["recovered_period"].notna()
    return out
