"""Process-behaviour signals: XmR natural process limits and Wheeler's detection rules.

Works on many series at once. ``points`` frames hold one row per point of the
current definition version, sorted by ``key`` then ``period``, with columns
``key`` (int series id), ``period``, ``value`` and ``in_review`` (the point lies in
the review period). Directions are raw here (+1 above the centre, -1 below);
callers multiply by the KPI's sign to say improving or worsening.

Hand-worked example (baseline = all 6 points, none in review)::

    values        10  12  11  13  12  14
    moving ranges      2   1   2   1   2      mean moving range = 8 / 5 = 1.6
    centre = 72 / 6 = 12
    limits = 12 -/+ 2.66 * 1.6 = 7.744 .. 16.256
    upper range limit = 3.268 * 1.6 = 5.2288
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BASELINE_MIN = 12
BASELINE_MAX = 20
MIN_POINTS = 6
NPL_FACTOR = 2.66
URL_FACTOR = 3.268
RUN_LENGTH = 8
RULES = ("beyond_limit", "run_of_8", "3_of_4")
# a point's rule hits as one bit code (bit i = RULES[i]) and the name of each code
RULE_NAMES = [
    ",".join(r for b, r in enumerate(RULES) if c >> b & 1) for c in range(2 ** len(RULES))
]
_TOL = 1e-9  # of the mean moving range
_TOL_CENTRE = 1e-12  # of |centre|: absorbs rounding of large levels


def positions(key: np.ndarray) -> np.ndarray:
    """0-based position of each row within its run of equal ``key`` values."""
    n = len(key)
    idx = np.arange(n)
    starts = np.ones(n, dtype=bool)
    starts[1:] = key[1:] != key[:-1]
    return idx - np.maximum.accumulate(np.where(starts, idx, 0))


def position(points: pd.DataFrame) -> np.ndarray:
    """Row positions within each series: the ``pos`` column when present, else computed."""
    if "pos" in points:
        return points["pos"].to_numpy()
    return positions(points["key"].to_numpy())


def starts_of(key: np.ndarray) -> np.ndarray:
    """Index of the first row of each run of equal ``key`` values."""
    if not len(key):
        return np.array([], dtype=np.int64)
    return np.flatnonzero(np.r_[True, key[1:] != key[:-1]])


def counts_of(key: np.ndarray) -> np.ndarray:
    """Rows in each run of equal ``key`` values, in order."""
    return np.diff(np.r_[starts_of(key), len(key)])


def sizes(key: np.ndarray) -> np.ndarray:
    """Length of the run of equal ``key`` values each row belongs to."""
    counts = counts_of(key)
    return np.repeat(counts, counts)


def seg_sum(values: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each run of equal ``key`` values, in order."""
    starts = starts_of(key)
    if not len(starts):
        return np.zeros(0)
    return np.add.reduceat(values, starts)


def take(per_key: pd.Series, key: np.ndarray) -> np.ndarray:
    """Values of a key-indexed series for each row's ``key`` (NaN for absent keys)."""
    top = int(key.max()) + 1 if len(key) else 0
    return per_key.reindex(np.arange(max(top, 1))).to_numpy()[key]


def lag(values: np.ndarray, pos: np.ndarray, k: int, fill: float = np.nan) -> np.ndarray:
    """``values`` shifted down by ``k`` rows within each series (``fill`` where none)."""
    out = np.full(len(values), fill, dtype=float)
    if k < len(values):
        out[k:] = values[:-k] if k else values
    out[pos < k] = fill
    return out


def baseline_mask(points: pd.DataFrame) -> np.ndarray:
    """Rows in the XmR baseline: the first 12 to 20 points before the review period.

    With fewer than 12 points before it, the baseline is provisional: the first
    min(12, n) points of the series, review-period points included. Uses the
    ``baseline`` column when the frame already has one.
    """
    if "baseline" in points:
        return points["baseline"].to_numpy()
    key = points["key"].to_numpy()
    counts = counts_of(key)
    before = seg_sum((~points["in_review"].to_numpy()).astype(np.int64), key)
    n_base = np.where(
        before >= BASELINE_MIN,
        np.minimum(before, BASELINE_MAX),
        np.minimum(BASELINE_MIN, counts),
    )
    return position(points) < np.repeat(n_base, counts)


def xmr_limits(points: pd.DataFrame) -> pd.DataFrame:
    """Per ``key``: baseline window, centre, mean moving range, limits, upper range limit.

    Limits are NaN for a series with fewer than 6 points (not enough history).
    """
    key = points["key"].to_numpy()
    pos = position(points)
    value = points["value"].to_numpy(dtype=float)
    base = baseline_mask(points)
    ranged = base & (pos > 0)
    mr = np.where(ranged, np.abs(value - lag(value, pos, 1)), 0.0)
    n_base = seg_sum(base.astype(np.int64), key)
    before = seg_sum((~points["in_review"].to_numpy()).astype(np.int64), key)
    period = points["period"].to_numpy("datetime64[ns]")
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = seg_sum(np.where(base, value, 0.0), key) / n_base
        mr_bar = seg_sum(mr, key) / seg_sum(ranged.astype(np.int64), key)
    enough = counts_of(key) >= MIN_POINTS
    out = pd.DataFrame(
        {
            "n_points": counts_of(key),
            "baseline_n": n_base.astype(int),
            "baseline_start": period[pos == 0],
            "baseline_end": period[base & ~_next_in_base(base, key)],
            "baseline_provisional": before < BASELINE_MIN,
            "centre": np.where(enough, centre, np.nan),
            "mr_bar": np.where(enough, mr_bar, np.nan),
        },
        index=pd.Index(key[starts_of(key)], name="key"),
    )
    out["lower"] = out["centre"] - NPL_FACTOR * out["mr_bar"]
    out["upper"] = out["centre"] + NPL_FACTOR * out["mr_bar"]
    out["url"] = URL_FACTOR * out["mr_bar"]
    return out


def _next_in_base(base: np.ndarray, key: np.ndarray) -> np.ndarray:
    """True where the next row is a baseline row of the same series."""
    out = np.zeros(len(base), dtype=bool)
    out[:-1] = base[1:] & (key[1:] == key[:-1])
    return out


def _band(value: np.ndarray, centre: np.ndarray, width: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """+1 above centre + width, -1 below centre - width, else 0 (with a tolerance)."""
    up = value > centre + width + tol
    down = value < centre - width - tol
    return up.astype(np.int8) - down.astype(np.int8)


def _run_of_eight(side: np.ndarray, key: np.ndarray) -> np.ndarray:
    """+1/-1 where the point completes 8+ successive points on that side of the centre."""
    n = len(side)
    new = np.ones(n, dtype=bool)
    new[1:] = (side[1:] != side[:-1]) | (key[1:] != key[:-1])
    run_pos = positions(np.cumsum(new))
    return np.where((side != 0) & (run_pos + 1 >= RUN_LENGTH), side, 0).astype(np.int8)


def _three_of_four(half: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """+1/-1 where the point ends 4 successive points with 3+ beyond the halfway band."""
    out = np.zeros(len(half), dtype=np.int8)
    for side in (1, -1):
        total = np.cumsum(half == side, dtype=np.int64)
        window = total.copy()
        window[4:] -= total[:-4]
        out[(pos >= 3) & (window >= 3)] = side
    return out


def run_rules(points: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Per point: side of the centre and each rule's hit (+1 above, -1 below, 0 none).

    Rules (Wheeler): ``beyond_limit`` a point outside the natural process limits;
    ``run_of_8`` 8 or more successive points on one side of the centre (a point on
    the centre breaks a run); ``3_of_4`` 3 of 4 successive points closer to the same
    limit than to the centre. A tolerance of 1e-9 x mean moving range + 1e-12 x
    |centre| keeps a point lying exactly on a line from flipping with rounding.
    """
    key = points["key"].to_numpy()
    pos = position(points)
    value = points["value"].to_numpy(dtype=float)
    centre, mr_bar = (take(limits[c], key) for c in ("centre", "mr_bar"))
    tol = _TOL * mr_bar + _TOL_CENTRE * np.abs(centre)
    side = _band(value, centre, np.zeros_like(centre), tol)
    half = _band(value, centre, NPL_FACTOR / 2 * mr_bar, tol)
    out = pd.DataFrame(index=points.index)
    out["side"] = side
    out["beyond_limit"] = _band(value, centre, NPL_FACTOR * mr_bar, tol)
    out["run_of_8"] = _run_of_eight(side, key)
    out["3_of_4"] = _three_of_four(half, pos)
    return out


def signal_direction(rules: pd.DataFrame) -> np.ndarray:
    """Raw direction of each point's signal (+1/-1), 0 when no rule is hit.

    At one point all hits share a side (a point beyond a limit ends any run on
    the other side), so the first non-zero rule gives it.
    """
    out = np.zeros(len(rules), dtype=np.int8)
    for rule in reversed(RULES):
        hit = rules[rule].to_numpy()
        out = np.where(hit != 0, hit, out)
    return out


def statuses(n_points: pd.Series, last_signal: pd.Series) -> pd.Series:
    """Status per series from its point count and the oriented direction of its latest
    signal in the review period (+1, -1, or 0/NaN for none)."""
    status = np.where(
        last_signal > 0,
        "improving_signal",
        np.where(last_signal < 0, "worsening_signal", "routine"),
    )
    status = np.where(n_points < MIN_POINTS, "not_enough_history", status)
    return pd.Series(status, index=n_points.index, dtype=object)


def rule_codes(hits: pd.DataFrame) -> np.ndarray:
    """Bit code of the rules hit on each row of ``hits`` (one column per rule, nonzero = hit);
    :data:`RULE_NAMES` names each code."""
    code = np.zeros(len(hits), dtype=np.int64)
    for bit, rule in enumerate(RULES):
        code |= (hits[rule].to_numpy() != 0).astype(np.int64) << bit
    return code
