"""Carry-over: weeks that carry part of the week before (lag-1 autocorrelation).

With lag-1 autocorrelation r the moving range sees only the small week-to-week steps
(the mean moving range shrinks by about sqrt(1 - r)), and a run of weeks on one side
of the centre is no longer rare, so XmR limits are too narrow and the CUSUM behind a
shift signals far too often (about 22 % of series at r = 0.5 against 1 % on
independent weeks). Where the carry-over is clear the shift rule is kept honest:

- **Measure**: r1 = the Pearson correlation of consecutive baseline points
  (``numpy.corrcoef(e[:-1], e[1:])``) of the baseline's residuals e from a straight
  line (a steady rise is not carry-over), per series, with at least
  :data:`MIN_PAIRS` pairs (else NaN).
- **Clear**: carry-over is a property of the KPI (how the figure is made), and one
  person's 40 weeks say little about it (a dip inside the baseline also makes
  consecutive weeks alike). So where the KPI has at least :data:`MIN_POOL` series of
  the same scope with an r1, their median decides: clear when above ``2.33 x`` its
  standard error ``1.2533 / sqrt(series x pairs)``. With fewer series, the series'
  own r1 decides: clear above ``2.33 / sqrt(pairs)`` (one-sided 1 % on independent
  weeks). Either is bias-corrected for use, r + (1 + 4r) / pairs (the small-sample
  bias of r1); below :data:`MIN_R` nothing changes.
- **Widen**: sigma = the larger of the moving-range sigma and the baseline's
  standard deviation (corrected for the carry-over's effect on it), limits =
  centre -/+ 3 sigma, and the CUSUM runs on z x sqrt((1 - r) / (1 + r)): the
  effective sample size n (1 - r) / (1 + r) of a mean of n such weeks.

Hand-worked example: baseline 0, 2, 0, 2, 0, 2 has no slope (the line is flat at 1
after the fit's tiny tilt) and alternates, so r1 is close to -1: no carry-over.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.analytics.signals import D2, NPL_FACTOR, lag, position, seg_sum

MIN_PAIRS = 10  # consecutive baseline pairs behind a series' own r1
MIN_POOL = 5  # series of one KPI and scope behind a pooled r1
Z_CLEAR = 2.33  # one-sided 1 %: how far above 0 an r1 must be to count as clear
MIN_R = 0.1  # smaller carry-over changes nothing
MAX_R = 0.9


def lag1(points: pd.DataFrame, base: np.ndarray) -> pd.DataFrame:
    """Per key: ``autocorrelation`` (Pearson r of consecutive baseline points after a
    straight line is taken out, NaN with fewer than :data:`MIN_PAIRS` pairs), ``pairs``,
    and the standard deviation ``sd`` of the baseline around that line.

    The line comes out first because a steady rise or fall is not carry-over: it
    makes consecutive weeks alike and would otherwise read as r1 near 1."""
    key = points["key"].to_numpy()
    pos = position(points).astype(float)
    value = points["value"].to_numpy(dtype=float)
    counts = np.diff(np.r_[np.flatnonzero(np.r_[True, key[1:] != key[:-1]]), len(key)])

    def per_key(v: np.ndarray) -> np.ndarray:
        return seg_sum(np.where(base, v, 0.0), key)

    with np.errstate(divide="ignore", invalid="ignore"):
        nb = per_key(np.ones(len(key)))
        t_mean = np.repeat(per_key(pos) / nb, counts)
        x_mean = np.repeat(per_key(value) / nb, counts)
        dt = pos - t_mean
        slope = per_key(dt * (value - x_mean)) / per_key(dt * dt)
        resid = value - x_mean - np.repeat(np.nan_to_num(slope), counts) * dt
        sd = np.sqrt(per_key(resid * resid) / (nb - 2))
    prev = lag(resid, position(points), 1)
    pair = base & (pos > 0) & np.r_[False, base[:-1]]
    n = seg_sum(pair.astype(float), key)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_mean = seg_sum(np.where(pair, prev, 0.0), key) / n
        b_mean = seg_sum(np.where(pair, resid, 0.0), key) / n
        da = np.where(pair, prev - np.repeat(a_mean, counts), 0.0)
        db = np.where(pair, resid - np.repeat(b_mean, counts), 0.0)
        r = seg_sum(da * db, key) / np.sqrt(seg_sum(da * da, key) * seg_sum(db * db, key))
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, int)
    r = np.where(n >= MIN_PAIRS, r, np.nan)
    return pd.DataFrame(
        {"autocorrelation": r, "pairs": n.astype(int), "sd": sd},
        index=pd.Index(key[starts], name="key"),
    )


def _unbiased(r: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """r1 corrected for its small-sample bias, (1 + 4 r) / pairs, within [0, MAX_R]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.clip(r + (1 + 4 * r) / pairs, 0.0, MAX_R))


def carry_over(lags: pd.DataFrame, pool: pd.Series) -> pd.Series:
    """Per key: the carry-over r to correct for (0 where none is clear).

    ``pool`` names, per key, the series that share the KPI and scope (their median r1
    is the pooled estimate)."""
    r = lags["autocorrelation"].to_numpy(dtype=float)
    pairs = lags["pairs"].to_numpy(dtype=float)
    group = pool.reindex(lags.index).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        own_clear = r > Z_CLEAR / np.sqrt(pairs)
    own = np.where(own_clear, _unbiased(r, pairs), 0.0)
    frame = pd.DataFrame({"g": group, "r": r, "pairs": pairs}).dropna()
    g = frame.groupby("g", sort=False)
    med, count, mean_pairs = g["r"].median(), g["r"].size(), g["pairs"].mean()
    se = 1.2533 / np.sqrt(count * mean_pairs)
    clear = (count >= MIN_POOL) & (med > Z_CLEAR * se)
    pooled = pd.Series(np.where(clear, _unbiased(med.to_numpy(), mean_pairs.to_numpy()), 0.0))
    pooled.index = med.index
    pooled_here = count.reindex(group).fillna(0).to_numpy() >= MIN_POOL
    shared = pooled.reindex(group).fillna(0.0).to_numpy() if len(pooled) else np.zeros(len(r))
    used = np.where(pooled_here, shared, own)
    return pd.Series(np.where(used >= MIN_R, used, 0.0), index=lags.index, name="carry_over")


def widen(limits: pd.DataFrame, lags: pd.DataFrame, r: pd.Series) -> pd.DataFrame:
    """Limits kept honest where ``r`` (per key) is above 0: ``autocorrelation``,
    ``limits_widened``, sigma from the standard deviation where larger, limits at
    centre -/+ 3 sigma, ``mr_eff`` (the moving range the rules use: mr_bar unless
    widened) and ``cusum_scale`` = sqrt((1 - r) / (1 + r)) (1 unless widened)."""
    out = limits.copy()
    out["autocorrelation"] = lags["autocorrelation"].reindex(out.index)
    rr = r.reindex(out.index).fillna(0.0).to_numpy()
    n = lags["pairs"].reindex(out.index).to_numpy(dtype=float) + 1
    vif = (1 + rr) / (1 - rr)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the sample variance of n points with carry-over r misses about vif / n of it
        sd = lags["sd"].reindex(out.index).to_numpy() / np.sqrt(np.clip(1 - vif / n, 0.25, 1))
    mr_sigma = out["sigma"].to_numpy(dtype=float)
    widened = (rr > 0) & np.isfinite(mr_sigma) & np.isfinite(sd)
    sigma = np.where(widened, np.fmax(mr_sigma, sd), mr_sigma)
    out["limits_widened"] = widened
    out["sigma"] = sigma
    out["mr_eff"] = np.where(widened, sigma * D2, out["mr_bar"].to_numpy())
    centre = out["centre"].to_numpy(dtype=float)
    out["lower"] = np.where(widened, centre - NPL_FACTOR * out["mr_eff"], out["lower"])
    out["upper"] = np.where(widened, centre + NPL_FACTOR * out["mr_eff"], out["upper"])
    out["cusum_scale"] = np.where(widened, np.sqrt((1 - rr) / (1 + rr)), 1.0)
    return out
