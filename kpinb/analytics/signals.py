"""Process-behaviour signals: a locked baseline, XmR limits within natural boundaries,
Wheeler's rules for single weeks and runs, and a CUSUM for the period's status.

Works on many series at once. ``points`` frames hold one row per point of the
current definition version, sorted by ``key`` then ``period``, with columns
``key`` (int series id), ``period``, ``value`` and ``in_review`` (the point lies in
the review period). Directions are raw here (+1 above the centre, -1 below);
callers multiply by the KPI's sign to say improving or worsening.

The rule (docs/analytics.md, "Status", with the measured rates):

- **Baseline**: the most recent points before the review period, at most
  :data:`BASELINE_MAX`, locked for the period. With :data:`BASELINE_LOCKED` or more
  the limits are locked; with :data:`MIN_POINTS` to 19 they are trial limits (drawn,
  no shift verdict); with fewer there are none.
- **Limits**: centre = mean, limits = centre -/+ 2.66 x mean moving range, moving
  ranges above 3.267 x their mean left out of the estimate once (NHSRplotthedots), unless
  that would leave no variation at all (a zero-heavy series keeps them: a usual range
  never has zero width while the baseline varies). A
  limit beyond a natural boundary is replaced by it and nothing is detected beyond
  it on that side (:func:`apply_boundaries`).
- **Rates** (a ratio KPI's points carry their ``denominator``): centre p-bar = sum of
  the numerators / sum of the denominators over the baseline, and each point's own
  sigma from its denominator, Laney's p' chart: sigma_i = sigma_Z x sqrt(p-bar (1 -
  p-bar) / n_i), sigma_Z = mean moving range of the baseline's z_i = (p_i - p-bar) /
  sqrt(p-bar (1 - p-bar) / n_i) over 1.128, never below 1 (a plain p-chart unless the
  weeks vary more than their counts explain). Limits p-bar -/+ 3 sigma_i per point;
  the rules and the CUSUM use sigma_i (:func:`point_sigma`).
- **Status**: a two-sided CUSUM over the review points on z = (x - centre) / sigma,
  sigma = mR-bar / 1.128, with k = :data:`CUSUM_K` and h = :data:`CUSUM_H`
  (:func:`shift_status`). Wheeler's rules (:func:`run_rules`) mark unusual weeks and
  runs on the chart and in the text; they do not set the status.

Hand-worked example (a 6-point baseline: trial limits)::

    values        10  12  11  13  12  14
    moving ranges      2   1   2   1   2      mean moving range = 8 / 5 = 1.6
    centre = 72 / 6 = 12
    limits = 12 -/+ 2.66 * 1.6 = 7.744 .. 16.256
    upper range limit = 3.268 * 1.6 = 5.2288
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.analytics import ranktest
from kpinb.analytics.statuses import MOVE_STATUSES
from kpinb.kpis import RATE_SCALE

BASELINE_MAX = 40  # the baseline: at most the last 40 points before the period
BASELINE_LOCKED = 20  # locked limits (and a shift verdict) from this many
MIN_POINTS = 6  # trial limits from this many (fewer: no limits)
NPL_FACTOR = 2.66
URL_FACTOR = 3.268
D2 = 1.128  # sigma = mean moving range / d2
MR_SCREEN = 3.267  # moving ranges above 3.267 x their mean leave the estimate (once)
CUSUM_K = 0.75  # reference value, in sigmas: half the smallest shift worth finding
CUSUM_H = 4.75  # decision interval, in sigmas (tuned with benchmarks/signals.py)
CUSUM_RECENT = 4  # a shift still holds when its last 4 points stay on its side
# a series' first points (a start-up: a new hire, a new export) never make the older normal
# a return is measured against (:func:`earlier_move`)
STARTUP_POINTS = 13
# a baseline with this share or more of its points at one value is sparse (zero-heavy):
# too uniform for a usual range (:func:`sparse_counts`)
SPARSE_SHARE = 0.75
CONSTANT_Z = 3.0  # z of a point off the level of a constant baseline (sigma 0)
# counts too small for the normal approximation (a baseline mean under 5 a point): a
# shift must also pass an exact test of its counts against the baseline's (one-sided)
RARE_MEAN = 5.0
RARE_ALPHA = 0.005
# every shift must also show in the ranks: the points since its onset against the
# baseline's, one-sided Mann-Whitney U (skewed amounts, such as revenue with many empty
# weeks, otherwise trip the CUSUM's normal scale)
RANK_ALPHA = 0.01
RATE_PERIOD_Z = 3.0  # a rate: the period as a whole beyond 3 sigma of its case count
SPARSE_ALPHA = 0.1  # a sparse series: the events test that confirms a CUSUM shift
RUN_LENGTH = 8
RULES = ("beyond_limit", "run_of_8", "3_of_4")
# a point's rule hits as one bit code (bit i = RULES[i]) and the name of each code
RULE_NAMES = [
    ",".join(r for b, r in enumerate(RULES) if c >> b & 1) for c in range(2 ** len(RULES))
]
_TOL = 1e-9  # of the mean moving range
_TOL_CENTRE = 1e-12  # of |centre|: absorbs rounding of large levels
_NAT = np.datetime64("NaT", "ns")


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
    values: np.ndarray = per_key.reindex(np.arange(max(top, 1))).to_numpy()[key]
    return values


def lag(values: np.ndarray, pos: np.ndarray, k: int, fill: float = np.nan) -> np.ndarray:
    """``values`` shifted down by ``k`` rows within each series (``fill`` where none)."""
    out = np.full(len(values), fill, dtype=float)
    if k < len(values):
        out[k:] = values[:-k] if k else values
    out[pos < k] = fill
    return out


def baseline_mask(points: pd.DataFrame) -> np.ndarray:
    """Rows in the baseline: the last :data:`BASELINE_MAX` points before the first point
    of the review period (the ``baseline`` column when the frame already has one)."""
    if "baseline" in points:
        return points["baseline"].to_numpy()
    review = points["in_review"].to_numpy(dtype=bool)
    return _baseline(points["key"].to_numpy(), position(points), review)


def _baseline(key: np.ndarray, pos: np.ndarray, review: np.ndarray) -> np.ndarray:
    """:func:`baseline_mask` from the key, position and review columns."""
    counts = counts_of(key)
    if not len(key):
        return np.zeros(0, dtype=bool)
    first = np.minimum(np.minimum.reduceat(np.where(review, pos, len(key)), starts_of(key)), counts)
    start = np.repeat(np.maximum(first - BASELINE_MAX, 0), counts)
    out: np.ndarray = (pos >= start) & (pos < np.repeat(first, counts))
    return out


def _from_baseline(key: np.ndarray, review: np.ndarray) -> np.ndarray:
    """Rows from their series' first baseline point on (all rows of a series without
    one): the limits and the CUSUM read nothing before it."""
    if not len(key):
        return np.zeros(0, dtype=bool)
    pos = positions(key)
    base = _baseline(key, pos, review)
    first = np.minimum.reduceat(np.where(base, pos, len(key)), starts_of(key))
    first = np.where(first == len(key), 0, first)
    out: np.ndarray = pos >= np.repeat(first, counts_of(key))
    return out


def xmr_limits(points: pd.DataFrame) -> pd.DataFrame:
    """Per ``key``: baseline window and kind, centre, mean moving range, sigma, limits.

    ``baseline_kind`` is ``locked`` (at least :data:`BASELINE_LOCKED` points), ``trial``
    (:data:`MIN_POINTS` or more) or ``none`` (fewer: limits NaN). Moving ranges above
    3.267 x their mean are left out of the estimate once, so one wild week does not
    widen the limits for a whole quarter.
    """
    key = points["key"].to_numpy()
    pos = position(points)
    value = points["value"].to_numpy(dtype=float)
    base = baseline_mask(points)
    ranged = base & (pos > 0) & np.r_[False, base[:-1]]
    mr = np.where(ranged, np.abs(value - lag(value, pos, 1)), 0.0)
    n_base = seg_sum(base.astype(np.int64), key)
    period = points["period"].to_numpy("datetime64[ns]")
    counts = counts_of(key)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = seg_sum(np.where(base, value, 0.0), key) / n_base
        first_mr = seg_sum(mr, key) / seg_sum(ranged.astype(np.int64), key)
        kept = ranged & (mr <= MR_SCREEN * np.repeat(first_mr, counts) * (1 + _TOL))
        mr_bar = seg_sum(np.where(kept, mr, 0.0), key) / seg_sum(kept.astype(np.int64), key)
    mr_bar = np.where(np.isnan(mr_bar) & (n_base > 0), 0.0, mr_bar)
    # the screen never leaves a varying baseline with no variation: a series mostly at one
    # value keeps every moving range rather than a usual range of zero width
    mr_bar = np.where((mr_bar == 0) & (first_mr > 0), first_mr, mr_bar)
    kind = np.where(
        n_base >= BASELINE_LOCKED, "locked", np.where(n_base >= MIN_POINTS, "trial", "none")
    )
    enough = n_base >= MIN_POINTS
    starts = starts_of(key)
    idx = np.arange(len(key))
    has = n_base > 0
    if len(key):
        first_row = np.minimum.reduceat(np.where(base, idx, len(key) - 1), starts)
        last_row = np.maximum.reduceat(np.where(base, idx, 0), starts)
    else:
        first_row = last_row = starts
    out = pd.DataFrame(
        {
            "n_points": counts,
            "baseline_n": n_base.astype(int),
            "baseline_start": np.where(has, period[first_row], _NAT),
            "baseline_end": np.where(has, period[last_row], _NAT),
            "baseline_kind": kind.astype(object),
            "centre": np.where(enough, centre, np.nan),
            "mr_bar": np.where(enough, mr_bar, np.nan),
        },
        index=pd.Index(key[starts], name="key"),
    )
    whole = np.abs(value - np.round(value)) <= 1e-9
    out["count_like"] = seg_sum((base & ~(whole & (value >= 0))).astype(np.int64), key) == 0
    out["count_like"] &= n_base > 0
    out["baseline_sum"] = seg_sum(np.where(base, value, 0.0), key)
    out["sigma"] = out["mr_bar"] / D2
    out["lower"] = out["centre"] - NPL_FACTOR * out["mr_bar"]
    out["upper"] = out["centre"] + NPL_FACTOR * out["mr_bar"]
    out["url"] = URL_FACTOR * out["mr_bar"]
    out["chart"] = "xmr"
    out["p_bar"] = out["sigma_z"] = np.nan
    if "denominator" in points:
        _rate_limits(out, points, base, enough)
    return out


def _rate_limits(
    out: pd.DataFrame, points: pd.DataFrame, base: np.ndarray, enough: np.ndarray
) -> None:
    """Replace the XmR figures of rate series (points with a denominator) by a p or p'
    chart's, in place: ``p_bar``, ``sigma_z``, ``chart``; centre 100 x p-bar; ``sigma``,
    ``lower``, ``upper`` at the baseline's mean denominator (the usual range a card
    states; each point's own limits come from :func:`point_sigma`).

    A p-bar of 0 or 1 would give limits of no width: the sigma then uses (sum x + 0.5)
    / (sum n + 1) instead, so one case off the level is not a signal by construction.
    """
    key = points["key"].to_numpy()
    den = points["denominator"].to_numpy(dtype=float)
    has = np.isfinite(den) & (den > 0)
    if not has.any():
        return
    counts = counts_of(key)
    pos = position(points)
    p = points["value"].to_numpy(dtype=float) / RATE_SCALE
    inb = base & has
    n_sum = seg_sum(np.where(inb, den, 0.0), key)
    x_sum = seg_sum(np.where(inb, p * den, 0.0), key)
    rate = seg_sum(has.astype(np.int64), key) == counts  # every point has its count
    with np.errstate(divide="ignore", invalid="ignore"):
        p_bar = x_sum / n_sum
        p_sig = np.where((p_bar <= 0) | (p_bar >= 1), (x_sum + 0.5) / (n_sum + 1), p_bar)
        unit = np.sqrt(p_sig * (1 - p_sig))
        z = (p - np.repeat(p_bar, counts)) / (np.repeat(unit, counts) / np.sqrt(den))
        ranged = inb & (pos > 0) & np.r_[False, inb[:-1]]
        mr = np.where(ranged, np.abs(z - lag(z, pos, 1)), 0.0)
        first_mr = seg_sum(mr, key) / seg_sum(ranged.astype(np.int64), key)
        kept = ranged & (mr <= MR_SCREEN * np.repeat(first_mr, counts) * (1 + _TOL))
        sigma_z = seg_sum(np.where(kept, mr, 0.0), key) / seg_sum(kept.astype(np.int64), key) / D2
        mean_n = n_sum / seg_sum(inb.astype(np.int64), key)
    sigma_z = np.where(np.isnan(sigma_z), 1.0, sigma_z)
    factor = np.maximum(sigma_z, 1.0)
    rate &= enough & (n_sum > 0)
    sigma = RATE_SCALE * factor * unit / np.sqrt(mean_n)
    centre = RATE_SCALE * p_bar
    out["chart"] = np.where(rate, np.where(sigma_z > 1.0, "p'", "p"), out["chart"]).astype(object)
    out["p_bar"] = np.where(rate, p_sig, np.nan)  # the sigma's p (p-bar, or corrected)
    out["sigma_z"] = np.where(rate, factor, np.nan)
    out["centre"] = np.where(rate, centre, out["centre"])
    out["sigma"] = np.where(rate, sigma, out["sigma"])
    out["mr_bar"] = np.where(rate, sigma * D2, out["mr_bar"])
    out["lower"] = np.where(rate, centre - 3 * sigma, out["lower"])
    out["upper"] = np.where(rate, centre + 3 * sigma, out["upper"])
    out["url"] = np.where(rate, URL_FACTOR * sigma * D2, out["url"])


def point_sigma(
    points: pd.DataFrame, limits: pd.DataFrame, rows: np.ndarray | None = None
) -> np.ndarray:
    """Each point's sigma: its series' sigma, or for a rate sigma_Z x sqrt(p-bar (1 -
    p-bar) / n_i) with the point's own denominator n_i (x 100: a percent). Only for the
    points at ``rows`` (positions) when given."""
    key = points["key"].to_numpy()
    key = key if rows is None else key[rows]
    sigma = take(limits["sigma"], key)
    if "denominator" not in points or "p_bar" not in limits:
        return sigma
    p_bar, factor = take(limits["p_bar"], key), take(limits["sigma_z"], key)
    den = points["denominator"].to_numpy(dtype=float)
    den = den if rows is None else den[rows]
    rate = np.isfinite(p_bar) & np.isfinite(den) & (den > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = RATE_SCALE * factor * np.sqrt(p_bar * (1 - p_bar) / den)
    out: np.ndarray = np.where(rate, own, sigma)
    return out


def sparse_counts(points: pd.DataFrame) -> pd.DataFrame:
    """Per key: is the baseline sparse (at least :data:`SPARSE_SHARE` of its points at
    one value, such as a share late that is 0 most weeks), that value, and the points
    off it (the events) in the baseline and in the review period.

    A sparse series gets no usual range in the report: its mean and moving ranges say
    little when nearly every point is the same, so the card counts its events instead.
    Columns ``sparse``, ``sparse_value``, ``baseline_events``, ``period_events``,
    ``period_points`` (the value and the events only of a series that can be sparse:
    NaN and 0 for one with too few equal neighbours to be).
    """
    base = baseline_mask(points)
    review = points["in_review"].to_numpy(dtype=bool)
    key = points["key"].to_numpy()
    value = points["value"].to_numpy(dtype=float)
    keys, code = np.unique(key, return_inverse=True)
    n_base = np.bincount(code[base], minlength=len(keys))
    # a baseline with 75 % of its n points at one value has at least n / 2 - 1 pairs of
    # equal neighbours (each other point breaks at most two): only such keys can be
    # sparse, and only theirs are sorted (a key's points are contiguous, in time order)
    known = base & ~np.isnan(value)
    same = np.r_[
        False, (code[1:] == code[:-1]) & (value[1:] == value[:-1]) & known[1:] & known[:-1]
    ]
    pairs = np.bincount(code, weights=same, minlength=len(keys))
    can = (n_base >= MIN_POINTS) & (
        pairs >= SPARSE_SHARE * n_base - (1 - SPARSE_SHARE) * n_base - 1
    )
    # the baseline's most frequent value per candidate key (ties: the smallest), by runs
    # of equal (key, value) in sorted order
    chosen = known & can[code]
    kb, vb = code[chosen], value[chosen]
    order = np.lexsort((vb, kb))
    ks, vs = kb[order], vb[order]
    changes = np.r_[True, (ks[1:] != ks[:-1]) | (vs[1:] != vs[:-1])]
    starts = np.flatnonzero(changes) if len(ks) else np.zeros(0, dtype=np.int64)
    runs = np.diff(np.r_[starts, len(ks)])
    run_key, run_value = ks[starts], vs[starts]
    best = np.lexsort((run_value, -runs, run_key))
    first = best[np.r_[True, run_key[best][1:] != run_key[best][:-1]]] if len(best) else best
    mode = np.full(len(keys), np.nan)
    top = np.zeros(len(keys))
    mode[run_key[first]], top[run_key[first]] = run_value[first], runs[first]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = top / n_base
    off = (value != mode[code]) & can[code]  # events only of a series that can be sparse
    out = pd.DataFrame(
        {
            "sparse": (share >= SPARSE_SHARE) & (n_base >= MIN_POINTS),
            "sparse_value": mode,
            "baseline_events": np.bincount(code, weights=off & base, minlength=len(keys)),
            "period_events": np.bincount(code, weights=off & review, minlength=len(keys)),
            "period_points": np.bincount(code, weights=review, minlength=len(keys)),
        },
        index=pd.Index(keys, name="key"),
    )
    for column in ("baseline_events", "period_events", "period_points"):
        out[column] = out[column].astype(np.int64)
    return out


def apply_boundaries(limits: pd.DataFrame, floor: np.ndarray, ceiling: np.ndarray) -> pd.DataFrame:
    """Limits within natural boundaries (``floor`` and ``ceiling`` per row, NaN = none).

    A limit at or beyond its boundary is replaced by it and ``lower_bounded`` /
    ``upper_bounded`` is set: no point can lie beyond it, so nothing is detected
    beyond a limit on that side (a count's usual range "up to 5.8", never "-1.8 to
    5.8"). The centre and sigma are unchanged: the CUSUM works on the mean.
    """
    out = limits.copy()
    lower_bounded = out["lower"].to_numpy() <= floor  # False where either is NaN
    upper_bounded = out["upper"].to_numpy() >= ceiling
    out["floor"], out["ceiling"] = floor, ceiling
    out["lower"] = np.where(lower_bounded, floor, out["lower"])
    out["upper"] = np.where(upper_bounded, ceiling, out["upper"])
    out["lower_bounded"], out["upper_bounded"] = lower_bounded, upper_bounded
    return out


def _band(value: np.ndarray, centre: np.ndarray, width: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """+1 above centre + width, -1 below centre - width, else 0 (with a tolerance)."""
    up: np.ndarray = value > centre + width + tol
    down: np.ndarray = value < centre - width - tol
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
    width = "mr_eff" if "mr_eff" in limits else "mr_bar"  # widened for carry-over
    centre, mr_bar = (take(limits[c], key) for c in ("centre", width))
    if "p_bar" in limits:  # a rate's limits are 3 sigma_i from its centre, per point
        rate = np.isfinite(take(limits["p_bar"], key))
        mr_bar = np.where(rate, 3 * point_sigma(points, limits) / NPL_FACTOR, mr_bar)
    tol = _TOL * mr_bar + _TOL_CENTRE * np.abs(centre)
    side = _band(value, centre, np.zeros_like(centre), tol)
    half = _band(value, centre, NPL_FACTOR / 2 * mr_bar, tol)
    beyond = _band(value, centre, NPL_FACTOR * mr_bar, tol)
    if "lower_bounded" in limits:  # nothing is detected beyond a natural boundary
        off = np.where(take(limits["lower_bounded"].astype(float), key) == 1, -1, 0)
        off = np.stack([off, np.where(take(limits["upper_bounded"].astype(float), key) == 1, 1, 0)])
        for side_off in off:
            beyond = np.where((beyond == side_off) & (side_off != 0), 0, beyond)
            half = np.where((half == side_off) & (side_off != 0), 0, half)
    out = pd.DataFrame(index=points.index)
    out["side"] = side
    out["beyond_limit"] = beyond.astype(np.int8)
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


def _z_scores(value: np.ndarray, centre: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(value - centre) / sigma; with sigma 0, +/-:data:`CONSTANT_Z` off the level, else 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (value - centre) / sigma
    off = np.abs(value - centre) > _TOL_CENTRE * np.abs(centre)
    return np.where(sigma == 0, np.where(off, np.sign(value - centre) * CONSTANT_Z, 0.0), z)


def _cusum(z: np.ndarray, k: float, h: float) -> dict[str, np.ndarray]:
    """One-sided upper CUSUM along axis 1 of ``z`` (NaN = no point: the sum is kept).

    Per row: the end value, the column where the latest run that crossed ``h`` began
    (its onset) and where it crossed (-1 if none), and whether that run still goes on
    at the end (the sum has not returned to 0 since).
    """
    n = z.shape[0]
    s = np.zeros(n)
    run_start = np.full(n, -1)
    crossed = np.zeros(n, dtype=bool)
    onset = np.full(n, -1)
    detected = np.full(n, -1)
    for t in range(z.shape[1]):
        zt = z[:, t]
        valid = ~np.isnan(zt)
        new = np.where(valid, np.maximum(0.0, s + np.nan_to_num(zt) - k), s)
        run_start = np.where(valid & (s == 0) & (new > 0), t, run_start)
        cross = valid & (new > h) & ~crossed
        onset = np.where(cross, run_start, onset)
        detected = np.where(cross, t, detected)
        crossed = (crossed | cross) & (new > 0)
        s = new
    return {"end": s, "onset": onset, "detected": detected, "ongoing": crossed}


def shift_status(points: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Per key of ``limits``: did the level shift during the review period?

    Two-sided CUSUM on z = (x - centre) / sigma over the review points, S+ = max(0,
    S+ + z - k) and S- = max(0, S- - z - k) from 0; a shift is declared when one passes
    h. ``shift_onset`` is the first point of the run that passed (the week the shift
    began), ``shift_detected`` the point where it passed; if both sides passed, the
    larger sum at the end wins. The shift still holds at the end (``shift_holds``) when
    that run has not returned to 0 and the mean of its last :data:`CUSUM_RECENT`
    points is still on its side of the centre; otherwise it came and went (a dip that
    recovered). ``shift_size``: mean of the points from onset to the end minus the
    centre. No verdict without locked limits (``shift`` 0).

    Columns: shift (+1 up, -1 down, 0 none, raw), shift_holds, shift_onset,
    shift_detected, shift_size, shift_sigmas, n_review.
    """
    index = limits.index
    nk = len(index)
    review = points["in_review"].to_numpy(dtype=bool)
    rkey = points["key"].to_numpy(np.int64)[review]
    row = index.get_indexer(rkey)
    rpos = positions(rkey)
    keep = row >= 0
    row, rpos = row[keep], rpos[keep]
    width = int(rpos.max()) + 1 if len(rpos) else 1
    centre = limits["centre"].to_numpy(dtype=float)
    sigma = limits["sigma"].to_numpy(dtype=float)
    x = np.full((nk, width), np.nan)
    x[row, rpos] = points["value"].to_numpy(dtype=float)[review][keep]
    dates = np.full((nk, width), _NAT)
    dates[row, rpos] = points["period"].to_numpy("datetime64[ns]")[review][keep]
    n_review = np.bincount(row, minlength=nk)

    per_point = np.full((nk, width), np.nan)
    per_point[row, rpos] = point_sigma(points, limits, np.flatnonzero(review)[keep])
    z = _z_scores(x, centre[:, None], per_point)
    if "cusum_scale" in limits:  # carry-over: the effective sample size of the run
        z = z * limits["cusum_scale"].to_numpy(dtype=float)[:, None]
    up, down = _cusum(z, CUSUM_K, CUSUM_H), _cusum(-z, CUSUM_K, CUSUM_H)
    fired_up, fired_down = up["detected"] >= 0, down["detected"] >= 0
    pick_up = fired_up & (
        ~fired_down
        | (up["end"] > down["end"])
        | ((up["end"] == down["end"]) & (up["detected"] >= down["detected"]))
    )
    direction = pick_up.astype(np.int64) - (fired_down & ~pick_up).astype(np.int64)
    onset = np.where(pick_up, up["onset"], down["onset"])
    detected = np.where(pick_up, up["detected"], down["detected"])
    ongoing = np.where(pick_up, up["ongoing"], down["ongoing"])

    verdict = (limits["baseline_kind"].to_numpy(dtype=object) == "locked") & (n_review > 0)
    verdict &= ~np.isnan(centre) & ~np.isnan(sigma)
    shifted = verdict & (direction != 0)
    crossed = np.where(shifted, direction, 0)
    if "count_like" in limits:
        shifted &= ~_rare_and_unproven(limits, x, onset, direction, shifted)
    shifted &= ~_unranked(points, limits.index, x, onset, direction, shifted)
    shifted &= ~_sparse_and_unproven(points, limits.index, x, shifted)
    rates = period_rate(points, limits)
    # a rate whose weeks are too small for the CUSUM: the period's rate against the
    # usual range for that many cases (a shift of the period as a whole)
    z_period = rates["period_z"].to_numpy(dtype=float)
    by_period = verdict & ~shifted & (np.nan_to_num(np.abs(z_period)) > RATE_PERIOD_Z)
    by_period &= ~_sparse_and_unproven(points, limits.index, x, by_period)
    direction = np.where(by_period, np.sign(np.nan_to_num(z_period)), direction).astype(np.int64)
    direction = np.where(shifted | by_period, direction, 0)
    onset = np.where(by_period, 0, onset)
    detected = np.where(by_period, n_review - 1, detected)
    ongoing = np.where(by_period, True, ongoing)
    shifted |= by_period

    prefix = np.zeros((nk, width + 1))
    prefix[:, 1:] = np.cumsum(np.nan_to_num(x), axis=1)
    count = np.zeros((nk, width + 1))
    count[:, 1:] = np.cumsum(~np.isnan(x), axis=1)
    rows = np.arange(nk)
    a = np.clip(onset, 0, width)
    with np.errstate(divide="ignore", invalid="ignore"):
        since = (prefix[rows, width] - prefix[rows, a]) / (count[rows, width] - count[rows, a])
        tail = np.maximum(a, n_review - CUSUM_RECENT)
        last = (prefix[rows, width] - prefix[rows, tail]) / (count[rows, width] - count[rows, tail])
    since, last = since - centre, last - centre
    holds = ongoing & (direction * last > 0)
    inside = _ends_inside(x, n_review, limits)

    with np.errstate(divide="ignore", invalid="ignore"):
        since = np.where(by_period, rates["period_value"].to_numpy() - centre, since)
        sigmas = np.where(sigma > 0, since / sigma, np.nan)
    at = np.maximum(onset, 0)
    return pd.DataFrame(
        {
            "shift": np.where(shifted, direction, 0).astype(np.int8),
            "shift_holds": shifted & holds,
            "shift_onset": np.where(shifted, dates[rows, at], _NAT),
            "shift_detected": np.where(shifted, dates[rows, np.maximum(detected, 0)], _NAT),
            "shift_size": np.where(shifted, since, np.nan),
            "shift_sigmas": np.where(shifted, sigmas, np.nan),
            "n_review": n_review,
            "cusum_shift": crossed.astype(np.int8),
            "ends_inside": inside,
        },
        index=index,
    ).join(rates[["period_denominator", "period_lower", "period_upper"]])


def period_rate(points: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Per key of ``limits``: a rate series' review-period rate and the usual range for
    a period of that many cases.

    The period's rate is sum of numerators / sum of denominators (``period_value``, x
    100), over ``period_denominator`` cases N; its usual range is the p' chart's for one
    point of N: 100 x (p-bar -/+ 3 sigma_Z sqrt(p-bar (1 - p-bar) / N)), within the
    natural boundaries; ``period_z`` = (rate - p-bar) / that sigma. A week of 3 cases
    can land anywhere from 0 % to 100 % as routine; a quarter of 40 cannot. NaN for
    series that are not rates. Example: p-bar 0.4, sigma_Z 1, N 40: sigma = sqrt(0.24 /
    40) = 0.0775, range 16.8 % to 63.2 %.
    """
    nan = np.full(len(limits), np.nan)
    out = pd.DataFrame(
        {c: nan for c in ("period_denominator", "period_value", "period_lower", "period_upper")}
        | {"period_z": nan},
        index=limits.index,
    )
    if "denominator" not in points or "p_bar" not in limits:
        return out
    den = points["denominator"].to_numpy(dtype=float)
    review = points["in_review"].to_numpy(dtype=bool) & np.isfinite(den) & (den > 0)
    if not review.any():
        return out
    frame = pd.DataFrame(
        {
            "key": points["key"].to_numpy()[review],
            "n": den[review],
            "x": points["value"].to_numpy(dtype=float)[review] / RATE_SCALE * den[review],
        }
    )
    sums = frame.groupby("key")[["n", "x"]].sum().reindex(limits.index)
    p_sig = limits["p_bar"].to_numpy(dtype=float)
    p_bar = limits["centre"].to_numpy(dtype=float) / RATE_SCALE
    n = sums["n"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = limits["sigma_z"].to_numpy(dtype=float) * np.sqrt(p_sig * (1 - p_sig) / n)
        rate = sums["x"].to_numpy(dtype=float) / n
        out["period_z"] = (rate - p_bar) / sigma
    floor = limits["floor"].to_numpy(dtype=float) if "floor" in limits else 0.0
    ceiling = limits["ceiling"].to_numpy(dtype=float) if "ceiling" in limits else RATE_SCALE
    ok = np.isfinite(p_sig) & (n > 0)
    out["period_denominator"] = np.where(ok, n, np.nan)
    out["period_value"] = np.where(ok, RATE_SCALE * rate, np.nan)
    out["period_lower"] = np.where(ok, np.fmax(RATE_SCALE * (p_bar - 3 * sigma), floor), np.nan)
    out["period_upper"] = np.where(ok, np.fmin(RATE_SCALE * (p_bar + 3 * sigma), ceiling), np.nan)
    out["period_z"] = np.where(ok, out["period_z"], np.nan)
    return out


def _ends_inside(x: np.ndarray, n_review: np.ndarray, limits: pd.DataFrame) -> np.ndarray:
    """Per row of ``x`` (review points, left-aligned): the last :data:`CUSUM_RECENT`
    points all lie within the limits (False without limits or points)."""
    centre = limits["centre"].to_numpy(dtype=float)[:, None]
    mr_bar = (limits["mr_bar"] if "mr_bar" in limits else limits["sigma"] * D2).to_numpy(
        dtype=float
    )[:, None]
    lower = limits["lower"].to_numpy(dtype=float)[:, None] if "lower" in limits else None
    upper = limits["upper"].to_numpy(dtype=float)[:, None] if "upper" in limits else None
    if lower is None or upper is None:  # centre and sigma only: the plain XmR limits
        lower, upper = centre - NPL_FACTOR * mr_bar, centre + NPL_FACTOR * mr_bar
    tol = _TOL * mr_bar + _TOL_CENTRE * np.abs(centre)
    cols = np.arange(x.shape[1])[None, :]
    last = (cols >= (n_review - CUSUM_RECENT)[:, None]) & ~np.isnan(x)
    with np.errstate(invalid="ignore"):
        out_of = last & ((x < lower - tol) | (x > upper + tol) | np.isnan(lower))
    ended: np.ndarray = (n_review > 0) & ~out_of.any(axis=1)
    return ended


_SHIFT_COLUMNS = ("key", "period", "value", "denominator", "in_review")
"""The columns of a points frame that :func:`xmr_limits` and :func:`shift_status` read."""


def earlier_move(
    points: pd.DataFrame,
    previous: np.ndarray,
    startup: np.ndarray | None = None,
    crossed: pd.Index | None = None,
) -> pd.DataFrame:
    """Per key: did the ``previous`` period (a mask of points just before the review
    period) shift against the normal before it, and is the review period back at that
    normal? Columns ``previous_shift`` (raw +1/-1/0; a shift that held at the previous
    period's end) and ``back_to_normal`` (the review period shows no shift against
    the normal before the previous period, that normal has locked limits, and the
    period's last :data:`CUSUM_RECENT` points lie within them).

    The older normal leaves out the ``startup`` points (by default each series' first
    :data:`STARTUP_POINTS`; the analysis counts them from the series' first point under
    any definition): a start-up (a ramp from zero) would pull it toward any later
    collapse, which would then read as a return. ``normal_lower`` / ``normal_upper``:
    that normal's limits, which a return ends within.

    A quarter that dipped sits in the baseline of the next one and lowers its centre,
    so the next quarter's return to the usual level reads as a rise against that
    baseline: this tells the two apart ("back at its usual level after a dip").

    ``crossed``: the keys whose review-period CUSUM crossed (column ``cusum_shift`` of
    :func:`shift_status`), when known: :func:`statuses` reads ``previous_shift`` and
    ``back_to_normal`` of those alone, so only they get the two CUSUM runs (the others
    read 0 and False); every key still gets the older normal's limits. Each series is
    computed on its own, so the keys asked get what a run over all keys gives them.
    """
    review = points["in_review"].to_numpy(dtype=bool)
    # only the columns the limits and the CUSUM read, from each series' baseline on
    points = points[[c for c in _SHIFT_COLUMNS if c in points]]
    key = points["key"].to_numpy()
    asked = np.ones(len(key), dtype=bool) if crossed is None else np.isin(key, crossed)
    rows = np.flatnonzero(~review & asked)
    rows = rows[_from_baseline(key[rows], previous[rows])]
    before = points.take(rows).reset_index(drop=True)
    before["in_review"] = previous[rows]
    prev = shift_status(before, xmr_limits(before))
    if startup is None:
        startup = positions(key) < STARTUP_POINTS
    rows = np.flatnonzero(~previous & ~startup)
    rows = rows[_from_baseline(key[rows], review[rows])]
    older = points.take(rows).reset_index(drop=True)
    older_limits = xmr_limits(older)
    if crossed is None:
        now = shift_status(older, older_limits)
    else:
        mine = asked[rows]
        now = shift_status(
            older[mine].reset_index(drop=True),
            older_limits[older_limits.index.isin(crossed)],
        )
    keys = pd.Index(np.unique(points["key"].to_numpy()), name="key")
    held = prev["shift"].where(prev["shift_holds"], 0).reindex(keys, fill_value=0)
    locked = older_limits["baseline_kind"].eq("locked").reindex(keys, fill_value=False)
    back = now["shift"].reindex(keys, fill_value=0).eq(0) & now["n_review"].reindex(keys).gt(0)
    back &= locked & now["ends_inside"].reindex(keys, fill_value=False)
    return pd.DataFrame(
        {
            "previous_shift": held.astype(np.int8),
            "back_to_normal": back,
            "normal_lower": older_limits["lower"].reindex(keys),
            "normal_upper": older_limits["upper"].reindex(keys),
        }
    )


def _unranked(
    points: pd.DataFrame,
    index: pd.Index,
    x: np.ndarray,
    onset: np.ndarray,
    direction: np.ndarray,
    shifted: np.ndarray,
) -> np.ndarray:
    """Shifts whose points since the onset do not rank above (or below) the baseline's:
    a one-sided Mann-Whitney U test, p at or above :data:`RANK_ALPHA`.

    All series in one pass of :func:`ranktest.one_sided_p` (each gets the p-value a
    ``scipy.stats.mannwhitneyu`` call of its own would)."""
    out = np.zeros(len(index), dtype=bool)
    rows = np.flatnonzero(shifted)
    if not len(rows):
        return out
    base = baseline_mask(points)
    key = points["key"].to_numpy()  # sorted: each series is one run of rows
    values = points["value"].to_numpy(dtype=float)
    wanted = index.to_numpy()[rows]
    lo, hi = np.searchsorted(key, wanted, "left"), np.searchsorted(key, wanted, "right")
    base_rows = np.flatnonzero(base)
    first = np.searchsorted(base_rows, lo)  # the baseline is one run of rows per series
    n2 = np.searchsorted(base_rows, hi) - first
    base_start = base_rows[np.minimum(first, max(len(base_rows) - 1, 0))] if len(base_rows) else lo
    start = np.maximum(onset[rows], 0)
    valid = ~np.isnan(x[rows])
    before = np.cumsum(valid, axis=1)[np.arange(len(rows)), np.maximum(start - 1, 0)]
    n1 = valid.sum(axis=1) - np.where(start > 0, before, 0)
    ok = np.flatnonzero((n2 >= 2) & (n1 > 0))
    if not len(ok):
        return out
    n1, n2, start, base_start = n1[ok], n2[ok], start[ok], base_start[ok]
    cols = np.arange(x.shape[1])[None, :]
    since = (cols >= start[:, None]) & (cols < (start + n1)[:, None])
    pair_since = np.broadcast_to(np.arange(len(ok))[:, None], since.shape)[since]
    pair_base = np.repeat(np.arange(len(ok)), n2)
    offset = np.arange(len(pair_base)) - np.repeat(np.cumsum(n2) - n2, n2)
    p = ranktest.one_sided_p(
        np.concatenate([pair_since, pair_base]),
        np.concatenate([x[rows[ok]][since], values[base_start[pair_base] + offset]]),
        np.concatenate([np.ones(len(pair_since), bool), np.zeros(len(pair_base), bool)]),
        direction[rows[ok]] > 0,
    )
    out[rows[ok]] = p >= RANK_ALPHA
    return out


def _rare_and_unproven(
    limits: pd.DataFrame,
    x: np.ndarray,
    onset: np.ndarray,
    direction: np.ndarray,
    shifted: np.ndarray,
) -> np.ndarray:
    """Shifts of small counts that an exact test does not bear out.

    With a baseline mean under :data:`RARE_MEAN` a point, counts are too skewed for the
    CUSUM's normal scale (a quiet baseline makes one busy week look like a shift). Given
    the counts since the onset (W, over w points) and in the baseline (B, over b points),
    W is binomial(W + B, w / (w + b)) when the rate did not change: the shift stands only
    when that tail, in its direction, is below :data:`RARE_ALPHA`.
    """
    rare: np.ndarray = (
        shifted & limits["count_like"].to_numpy(bool) & (limits["centre"].to_numpy() < RARE_MEAN)
    )
    rare &= np.all(np.isnan(x) | (np.abs(x - np.round(x)) <= 1e-9) & (x >= 0), axis=1)
    if not rare.any():
        return rare
    from scipy.stats import binom  # only when a rare count shifted (the import: ~0.4 s)

    cols = np.arange(x.shape[1])[None, :]
    since = (cols >= np.maximum(onset, 0)[:, None]) & ~np.isnan(x)
    window = np.where(since, x, 0.0).sum(axis=1)
    points = since.sum(axis=1)
    base_sum = limits["baseline_sum"].to_numpy(dtype=float)
    base_n = limits["baseline_n"].to_numpy(dtype=float)
    total = np.round(window + base_sum)
    share = points / np.maximum(points + base_n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = binom.sf(np.round(window) - 1, total, share)  # P(W >= observed)
        lower = binom.cdf(np.round(window), total, share)  # P(W <= observed)
    p: np.ndarray = np.where(direction > 0, upper, lower)
    unproven: np.ndarray = rare & ~(p < RARE_ALPHA)
    return unproven


def _sparse_and_unproven(
    points: pd.DataFrame, index: pd.Index, x: np.ndarray, shifted: np.ndarray
) -> np.ndarray:
    """Shifts of a sparse series (a baseline mostly at one value, such as a share late
    that is 0 % most weeks) that an exact test of its events does not bear out.

    Its moving ranges say little, so a few non-zero weeks can cross the CUSUM. The
    events (points off the baseline's usual value) are counted instead: given W events
    in the w points of the review period and B in the b baseline points, W is
    binomial(W + B, w / (w + b)) when the event rate did not change; the shift stands
    only when that tail's mid-p value (the count's own probability counted half: the
    exact tail of so few events is conservative), on the side the events moved, is
    below :data:`SPARSE_ALPHA`.
    """
    out = np.zeros(len(index), dtype=bool)
    if not shifted.any():
        return out
    wanted = index[shifted]
    sub = points[np.isin(points["key"].to_numpy(), wanted)]
    counts = sparse_counts(sub).reindex(index)
    sparse = shifted & counts["sparse"].fillna(False).to_numpy(bool)
    if not sparse.any():
        return out
    from scipy.stats import binom  # only when a sparse series shifted (the import: ~0.4 s)

    mode = counts["sparse_value"].to_numpy(dtype=float)[:, None]
    since = ~np.isnan(x)  # the whole review period: an onset leaves too few events
    window = (since & (x != mode)).sum(axis=1).astype(float)
    points_since = since.sum(axis=1)
    per_key = sub.assign(b=baseline_mask(sub)).groupby("key")["b"].sum().reindex(index)
    base_n = per_key.fillna(0).to_numpy(dtype=float)
    total = window + counts["baseline_events"].fillna(0).to_numpy(dtype=float)
    share = points_since / np.maximum(points_since + base_n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        at = 0.5 * binom.pmf(window, total, share)  # mid-p: half the observed count's mass
        upper = binom.sf(window, total, share) + at  # P(W > observed) + half P(W = observed)
        lower = binom.cdf(window - 1, total, share) + at
    # events above the usual value are a rise, below it a fall; both directions test
    # the count of events against the baseline's rate
    p = np.where(window * (1 - share) >= (total - window) * share, upper, lower)
    unproven: np.ndarray = sparse & ~(p < SPARSE_ALPHA)
    return unproven


def statuses(
    limits: pd.DataFrame, shift: pd.DataFrame, earlier: pd.DataFrame, sign: pd.Series
) -> pd.DataFrame:
    """The period's status per series and the oriented direction of the move it names.

    ``improving_shift`` / ``worsening_shift``: a shift that holds at the period's end;
    ``returned``: a move that came and went this period, or a return to the usual level
    after the previous period moved the other way (``shift_direction`` says which way
    the move went: -1 for a dip that recovered), and in both cases the period ends
    inside the usual range it returned to (its last :data:`CUSUM_RECENT` points within
    the limits, or within the older normal's for a return after the previous period;
    a move that came and went but ends outside is ``routine``, its unusual weeks
    told); ``routine``; ``not_enough_history`` (no
    locked baseline: no verdict); ``no_data`` (no point in the period). ``shift`` and
    ``earlier`` are raw; ``sign`` orients them.
    """
    idx = shift.index
    s = sign.reindex(idx).to_numpy()
    raw = shift["shift"].to_numpy()
    previous = earlier["previous_shift"].reindex(idx, fill_value=0).to_numpy()
    back = earlier["back_to_normal"].reindex(idx, fill_value=False).to_numpy(dtype=bool)
    # the period moved against a baseline holding a previous shift the other way (the
    # CUSUM's call, before the rank and count tests: those ask the baseline holding that
    # move) and is back at the normal before it: a return, named by the previous move
    crossed = shift["cusum_shift"].to_numpy() if "cusum_shift" in shift else raw
    inside = (
        shift["ends_inside"].to_numpy(dtype=bool)
        if "ends_inside" in shift
        else np.ones(len(idx), dtype=bool)
    )
    returned_after = (crossed != 0) & (previous == -crossed) & back
    holds = shift["shift_holds"].to_numpy(dtype=bool) & ~returned_after
    direction = np.where(returned_after, previous, raw) * s
    status = np.select(
        [
            shift["n_review"].to_numpy() == 0,
            limits["baseline_kind"].reindex(idx).to_numpy(dtype=object) != "locked",
            direction == 0,
            ~holds & (inside | returned_after),
            ~holds,
            direction > 0,
        ],
        ["no_data", "not_enough_history", "routine", "returned", "routine", "improving_shift"],
        "worsening_shift",
    )
    return pd.DataFrame(
        {
            "status": status.astype(object),
            "shift_direction": np.where(np.isin(status, MOVE_STATUSES), direction, 0),
            "returned_after_previous": returned_after & (status == "returned"),
        },
        index=idx,
    )


def rule_codes(hits: pd.DataFrame) -> np.ndarray:
    """Bit code of the rules hit on each row of ``hits`` (one column per rule, nonzero = hit);
    :data:`RULE_NAMES` names each code."""
    code = np.zeros(len(hits), dtype=np.int8)  # 3 rules: codes 0-7
    for bit, rule in enumerate(RULES):
        code |= (hits[rule].to_numpy() != 0).astype(np.int8) << bit
    return code
