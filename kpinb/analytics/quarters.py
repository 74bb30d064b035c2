"""Improvement over time: a series' quarters side by side and a climb across them.

**Quarter levels** (:func:`quarter_levels`): the review quarter and the ones before it,
each with its level, the mean of the current definition's complete points dated in it
(a rate's: sum of numerators / sum of denominators) and its point count.

**Over time** (:func:`over_time`): a climb (or slide) across the last
:data:`OVER_TIME_QUARTERS` quarters that no single quarter shows on its own. The quarter
levels are fitted on the quarter's position by weighted least squares, each weighted by
its points (a mean of n points has variance sigma^2 / n):

    slope = sum w (q - q_bar) (y - y_bar) / sum w (q - q_bar)^2,
    z = slope / (sigma / sqrt(sum w (q - q_bar)^2)) x carry-over scale x sign

with sigma the usual range's (mean moving range / 1.128, so a slow climb hardly widens
it) and the carry-over scale the CUSUM's (a series whose weeks carry over counts fewer
independent points). Improving over time when z >= :data:`OVER_TIME_Z` over at least
:data:`OVER_TIME_MIN` quarters with enough points (:data:`MIN_SHARE` of a full quarter),
the review quarter among them, and the review quarter's level stands that many standard
errors beyond the first quarter's (sigma x sqrt(1/n_first + 1/n_now)): a climb, not a
hump or a dip in between; worsening the mirror. A quarter's
mean covers all its weeks, so a shape that repeats within every quarter cancels out.

Hand-worked example: quarter levels 10, 10.3, 10.6, 10.9, 11.2 of 13 weekly points
each, sigma 1: q - q_bar = -2..2, sum w (q - q_bar)^2 = 13 x 10 = 130, slope = 0.3 per
quarter, its standard error 1 / sqrt(130) = 0.0877, z = 3.42: improving over time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.periods import Period

QUARTERS_SHOWN = 8  # quarters side by side on a card (the review quarter and 7 before)
OVER_TIME_QUARTERS = 5  # the review quarter and the four before it
OVER_TIME_MIN = 4  # quarters with enough points for a verdict
OVER_TIME_Z = 2.0
MIN_SHARE = 0.5  # a quarter counts with at least half a full quarter's points
FULL_QUARTER = {"weekly": 13, "monthly": 3}


def quarters_back(period: Period, n: int) -> list[Period]:
    """The ``n`` quarters ending with ``period``, oldest first."""
    out = [period]
    for _ in range(n - 1):
        out.append(out[-1].previous())
    return out[::-1]


def quarter_levels(
    points: pd.DataFrame,
    period: Period,
    n: int = QUARTERS_SHOWN,
    usable: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per key and quarter of the ``n`` ending with ``period``: ``quarter`` (label),
    ``back`` (0 the review quarter, 1 the one before, ...), ``level`` and ``points``.

    ``points``: key, period, value and optionally denominator, already restricted to
    what the levels may rest on (the current definition's complete points), or with
    ``usable`` the mask of those points (which spares a filtered copy of them).
    """
    spans = quarters_back(period, n)
    starts = np.array([p.start.to_datetime64() for p in spans], dtype="datetime64[ns]")
    dates = points["period"].to_numpy("datetime64[ns]")
    q = np.searchsorted(starts, dates, side="right") - 1
    inside = (q >= 0) & (dates <= np.array([period.end], dtype="datetime64[ns]")[0])
    if usable is not None:
        inside &= usable
    frame = pd.DataFrame(
        {
            "key": points["key"].to_numpy()[inside],
            "q": q[inside],
            "value": points["value"].to_numpy(dtype=float)[inside],
        },
        copy=False,
    )
    den = (
        points["denominator"].to_numpy(dtype=float)[inside]
        if "denominator" in points
        else np.full(len(frame), np.nan)
    )
    frame["den"] = np.where(den > 0, den, np.nan)
    frame["num"] = frame["value"] * frame["den"]
    g = frame.groupby(["key", "q"], sort=True)
    out = pd.DataFrame(
        {
            "mean": g["value"].mean(),
            "points": g.size(),
            "rated": g["den"].count(),
            "num": g["num"].sum(),
            "den": g["den"].sum(),
        }
    ).reset_index()
    rate = out["rated"] == out["points"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["level"] = np.where(rate, out["num"] / out["den"], out["mean"])
    labels = np.array([p.label for p in spans], dtype=object)
    out["quarter"] = labels[out["q"].to_numpy()]
    out["back"] = n - 1 - out["q"]
    return out[["key", "quarter", "back", "level", "points"]]


def over_time(
    levels: pd.DataFrame,
    sigma: pd.Series,
    scale: pd.Series,
    sign: pd.Series,
    cadence: pd.Series,
) -> pd.DataFrame:
    """Per key of ``sigma``: the climb across the last :data:`OVER_TIME_QUARTERS`
    quarters (module docstring). Columns ``over_time`` (+1 improving, -1 worsening, 0
    neither), ``over_time_z``, ``over_time_quarters`` (quarters used),
    ``over_time_from`` (the first used quarter's label), ``over_time_from_level`` and
    ``over_time_to_level`` (the review quarter's level)."""
    index = sigma.index
    full = cadence.reindex(index).map(FULL_QUARTER).fillna(13).to_numpy(dtype=float)
    recent = levels[levels["back"] < OVER_TIME_QUARTERS]
    need = pd.Series(np.maximum(2.0, MIN_SHARE * full), index=index)
    recent = recent[recent["points"].to_numpy() >= need.reindex(recent["key"]).to_numpy()]
    recent = recent[np.isfinite(recent["level"].to_numpy())]
    g = recent.groupby("key")
    k = g.size().reindex(index).fillna(0).astype(int)
    has_now = recent.loc[recent["back"] == 0, "key"]
    x = -recent["back"].to_numpy(dtype=float)
    w = recent["points"].to_numpy(dtype=float)
    y = recent["level"].to_numpy(dtype=float)
    key = recent["key"].to_numpy()
    sw = pd.Series(w).groupby(key).sum()
    x_bar = (pd.Series(w * x).groupby(key).sum() / sw).reindex(key).to_numpy()
    y_bar = (pd.Series(w * y).groupby(key).sum() / sw).reindex(key).to_numpy()
    sxx = pd.Series(w * (x - x_bar) ** 2).groupby(key).sum().reindex(index)
    sxy = pd.Series(w * (x - x_bar) * (y - y_bar)).groupby(key).sum().reindex(index)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = sxy / sxx
        z = slope * np.sqrt(sxx) / sigma.reindex(index)
    z = z * scale.reindex(index).fillna(1.0) * sign.reindex(index)
    ok = (k >= OVER_TIME_MIN) & index.isin(has_now) & np.isfinite(z) & (sigma.reindex(index) > 0)
    z = z.where(ok)
    first = recent.sort_values("back", ascending=False).drop_duplicates("key").set_index("key")
    now = recent[recent["back"] == 0].set_index("key")
    # the review quarter stands beyond routine variation from the first: a climb, not a
    # hump or a dip in between
    net = (now["level"] - first["level"]).reindex(index) * sign.reindex(index)
    spread = sigma.reindex(index) * np.sqrt(
        1 / now["points"].reindex(index) + 1 / first["points"].reindex(index)
    )
    net_z = net * scale.reindex(index).fillna(1.0) / spread
    direction = np.where(
        (z >= OVER_TIME_Z) & (net_z >= OVER_TIME_Z),
        1,
        np.where((z <= -OVER_TIME_Z) & (net_z <= -OVER_TIME_Z), -1, 0),
    )
    return pd.DataFrame(
        {
            "over_time": np.where(ok, direction, 0).astype(np.int8),
            "over_time_z": z.to_numpy(dtype=float),
            "over_time_quarters": np.where(ok, k, 0),
            "over_time_from": first["quarter"].reindex(index).where(ok).to_numpy(dtype=object),
            "over_time_from_level": first["level"].reindex(index).where(ok).to_numpy(dtype=float),
            "over_time_to_level": now["level"].reindex(index).where(ok).to_numpy(dtype=float),
        },
        index=index,
    )


def shared_over_time(summary: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Per employee row of ``summary``: did the rest of their team move the same way over
    time? ``over_time_moved`` of ``over_time_of`` teammates with a verdict moved the
    person's way; the person's climb is **shared** (``over_time_shared``) when at
    least two teammates have a verdict and half of them or more moved that way: a
    team-wide move across quarters is not the person's own, as in a single quarter."""
    person = summary["scope"].to_numpy() == "employee"
    rows = summary.loc[person, ["scope_id", "kpi_id", "over_time", "over_time_quarters"]]
    team = rows["scope_id"].astype(str).map(members["team_id"]).to_numpy()
    frame = pd.DataFrame(
        {
            "team": team,
            "kpi": rows["kpi_id"].astype(str).to_numpy(),
            "judged": rows["over_time_quarters"].to_numpy() > 0,
            "up": rows["over_time"].to_numpy() > 0,
            "down": rows["over_time"].to_numpy() < 0,
        },
        index=rows.index,
    )
    totals = frame.groupby(["team", "kpi"])[["judged", "up", "down"]].transform("sum")
    mine = rows["over_time"].to_numpy()
    of = totals["judged"].to_numpy() - frame["judged"].to_numpy()
    same = np.where(
        mine > 0,
        totals["up"].to_numpy() - frame["up"].to_numpy(),
        totals["down"].to_numpy() - frame["down"].to_numpy(),
    )
    shared = (mine != 0) & (of >= 2) & (2 * same >= of)
    out = pd.DataFrame(
        {"over_time_shared": False, "over_time_moved": 0, "over_time_of": 0}, index=summary.index
    )
    out.loc[rows.index, "over_time_shared"] = shared
    out.loc[rows.index, "over_time_moved"] = np.where(mine != 0, same, 0)
    out.loc[rows.index, "over_time_of"] = np.where(mine != 0, of, 0)
    return out
