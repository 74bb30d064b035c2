"""The one-sided Mann-Whitney U test over many pairs of samples at once.

The shift checks ask, for every series that shifted, whether its points since the
onset rank above (or below) its baseline's. One ``scipy.stats.mannwhitneyu`` call per
series (or per sample sizes) spends most of its time on argument handling; this gives
each pair the p-value such a call gives (``use_continuity=True``, ``method="auto"``)
in a few array operations over all pairs together:

- the exact null distribution when either sample has at most 8 points and the pair
  has no ties (scipy's choice per call), by scipy's own recurrence, so the p-values
  agree to the last bit;
- otherwise the normal approximation with the tie correction and the continuity
  correction.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import binom, ndtr

EXACT_MAX = 8  # scipy's rule: exact when either sample has at most this many points


def one_sided_p(
    pair: np.ndarray, value: np.ndarray, first: np.ndarray, greater: np.ndarray
) -> np.ndarray:
    """Per pair ``0 .. len(greater) - 1``: the p-value that the first sample ranks
    above (``greater``) or below the second.

    ``pair``, ``value``, ``first``: one row per point, its pair, its value and whether it
    belongs to the pair's first sample (else the second). Each pair needs a point in
    both samples; values must not be NaN.
    """
    n_pairs = len(greater)
    pair = np.asarray(pair, dtype=np.int64)
    value = np.asarray(value, dtype=float)
    first = np.asarray(first, dtype=bool)
    order = np.lexsort((value, pair))
    g, v, f = pair[order], value[order], first[order]
    n = np.bincount(g, minlength=n_pairs)
    n1 = np.bincount(g, weights=f, minlength=n_pairs).astype(np.int64)
    n2 = n - n1
    rank = np.arange(len(g)) - (np.cumsum(n) - n)[g] + 1  # 1-based within the pair
    new = np.ones(len(g), dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    run = np.cumsum(new) - 1  # runs of tied values within a pair
    run_len = np.bincount(run).astype(float)
    run_pair = g[new]
    average = rank[new] + (run_len - 1) / 2  # tied points share their average rank
    r1 = np.bincount(g, weights=np.where(f, average[run], 0.0), minlength=n_pairs)
    tie_term = np.bincount(run_pair, weights=run_len**3 - run_len, minlength=n_pairs)
    ties = np.bincount(run_pair, weights=run_len > 1, minlength=n_pairs) > 0

    u1 = r1 - n1 * (n1 + 1) / 2
    u2 = n1 * n2 - u1
    u = np.where(greater, u1, u2)
    mu = n1 * n2 / 2
    total = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(n1 * n2 / 12 * ((total + 1) - tie_term / (total * (total - 1))))
        z = (u - mu - 0.5) / s
    p = ndtr(-z)
    exact = ((n1 <= EXACT_MAX) | (n2 <= EXACT_MAX)) & ~ties & (n1 > 0) & (n2 > 0)
    if exact.any():
        sizes = np.stack([np.minimum(n1, n2)[exact], np.maximum(n1, n2)[exact]], axis=1)
        k = u[exact].astype(np.int64)
        exact_p = np.empty(len(k))
        for a, b in np.unique(sizes, axis=0).tolist():
            at = (sizes[:, 0] == a) & (sizes[:, 1] == b)
            exact_p[at] = _exact_sf(k[at], a, b)
        p[exact] = exact_p
    out: np.ndarray = np.clip(p, 0.0, 1.0)
    return out


def _exact_sf(k: np.ndarray, n1: int, n2: int) -> np.ndarray:
    """P(U >= k) under the null for samples of ``n1 <= n2`` points (scipy's formula)."""
    pmf, cdf = _exact_table(n1, n2)
    kc = n1 * n2 - k  # the distribution is symmetric: look the smaller tail up
    low = k < kc
    out = cdf[np.where(low, k, kc)]
    out = np.where(low, 1.0 - out + pmf[np.where(low, k, 0)], out)
    return np.asarray(out, dtype=float)


@lru_cache(maxsize=512)
def _exact_table(n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """The null probabilities of U = 0 .. n1 n2 / 2 and their running sums, by the
    recurrence scipy's exact test uses (the same floating-point steps)."""
    maxu = n1 * n2 // 2
    sigma = np.zeros(maxu + 1, dtype=int)
    for d in range(1, n1 + 1):
        sigma[np.arange(d, maxu + 1, d)] += d
    for d in range(n2 + 1, n2 + n1 + 1):
        sigma[np.arange(d, maxu + 1, d)] -= d
    sigma = sigma[1:]
    configurations: np.ndarray = np.zeros(maxu + 1, dtype=np.uint64)
    configurations[0] = 1
    is_uint, uint_max = True, np.iinfo(np.uint64).max
    for u in range(1, maxu + 1):
        new = np.dot(configurations[:u], sigma[u - 1 :: -1]) / u
        if is_uint and new > uint_max:  # past 64-bit integers: go on in floats
            configurations, is_uint = configurations.astype(float), False
        configurations[u] = new
    pmf = configurations / binom(n1 + n2, n1)
    return pmf, np.cumsum(pmf)
