"""The end of the data: weeks that lie partly outside the period, and exports that are
not complete yet.

- **Partial week**: a weekly point is dated on its week's first day; when its week
  runs past the period's end (the week of 28 Sep in a quarter ending 30 Sep), part of
  it lies outside the period. It stays in the figures and the series gets the data
  note ``partial_week``; as a shift's evidence it counts only for the share of its
  days inside the period: the CUSUM reads it as centre + share x (value - centre), so
  a week with 2 of its 7 days in the period cannot carry a shift on its own.
- **Incomplete tail**: an export taken before the last weeks are complete shows a fall
  at the end of nearly everyone's data. For the whole workspace, each department and
  each team with at least ``min_group_size`` people reporting, the last dates of the
  data (at most :data:`TAIL_MAX` of the review period's) are read from the end: a date
  belongs to the tail when at least :data:`TAIL_SHARE` of the people reporting that
  date are below their own usual range's lower bound, centre - 2 sigma (a chance of
  about 2 % a person on routine weeks; a real 1.5 sd fall shared by a team puts about
  a third of its people there). The tail is listed per group and KPI (``tails``), each
  series of the group carries ``incomplete_tail`` (the tail's first date), and no shift
  rests on it (a shift first crossed in the tail is not declared).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_WHOLE_WEEKS = 2  # whole weeks of the period a shift needs since its onset
TAIL_MAX = 4  # dates at the end of the data that can form an incomplete tail
TAIL_SHARE = 0.8  # of the people reporting a date, the share below their usual range
TAIL_SIGMAS = 2.0
TAILS_COLUMNS = ("scope", "scope_id", "kpi_id", "since", "dates", "low", "of")


def inside_share(points: pd.DataFrame, cadence: np.ndarray, period_end: pd.Timestamp) -> np.ndarray:
    """Per row: the share of the point's week that lies in the period (1 for monthly
    points and for weeks wholly inside; 3 / 7 for the week of Monday 28 Sep in a
    quarter ending Wednesday 30 Sep)."""
    when = points["period"].to_numpy("datetime64[ns]")
    end = np.datetime64(pd.Timestamp(period_end), "ns")
    review = points["in_review"].to_numpy(dtype=bool)
    days = (end - when).astype("timedelta64[D]").astype(np.int64) + 1
    partial = review & (cadence == "weekly") & (days < 7)
    return np.where(partial, np.clip(days, 0, 7) / 7, 1.0)


def thin_evidence(points: pd.DataFrame, share: np.ndarray, shift: pd.DataFrame) -> pd.Series:
    """Per key of ``shift``: the shift rests on fewer than :data:`MIN_WHOLE_WEEKS` whole
    weeks of the period since its onset (a partial week can complete a shift that
    whole weeks began, never carry one alone)."""
    key = points["key"].to_numpy()
    onset = shift["shift_onset"].reindex(key).to_numpy("datetime64[ns]")
    whole = points["in_review"].to_numpy(dtype=bool) & (share >= 1)
    since = whole & (points["period"].to_numpy("datetime64[ns]") >= onset)
    count = pd.Series(since).groupby(key).sum().reindex(shift.index, fill_value=0)
    return (shift["shift"] != 0) & (count < MIN_WHOLE_WEEKS)


def incomplete_tails(people: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Incomplete tails per group and KPI (:data:`TAILS_COLUMNS`).

    ``people``: the review points of every person: ``kpi_id``, ``period``, ``value``,
    ``centre``, ``sigma`` (their usual range), and one column per group level
    (``team``, ``department``, ``workspace``) with the person's group id there."""
    out = []
    if people.empty:
        return pd.DataFrame(columns=list(TAILS_COLUMNS))
    lower = people["centre"] - TAIL_SIGMAS * people["sigma"].fillna(0)
    low = (people["value"] < lower) & people["centre"].notna()
    frame = people.assign(low=low.to_numpy())
    for level in ("team", "department", "workspace"):
        g = frame.dropna(subset=[level]).groupby([level, "kpi_id", "period"], observed=True)
        cells = pd.DataFrame({"n": g.size(), "low": g["low"].sum()}).reset_index()
        cells = cells.sort_values([level, "kpi_id", "period"], ascending=[True, True, False])
        cells["rank"] = cells.groupby([level, "kpi_id"], observed=True).cumcount()
        cells = cells[cells["rank"] < TAIL_MAX]
        fell = (cells["n"] >= min_group_size) & (cells["low"] >= TAIL_SHARE * cells["n"])
        # the run of fallen dates counted from the last one
        broken = (~fell).groupby([cells[level], cells["kpi_id"]], observed=True).cummax()
        tail = cells[(fell & ~broken).to_numpy()]
        if tail.empty:
            continue
        agg = tail.groupby([level, "kpi_id"], observed=True).agg(
            since=("period", "min"), dates=("period", "size")
        )
        last = tail.sort_values("period").groupby([level, "kpi_id"], observed=True).tail(1)
        last = last.set_index([level, "kpi_id"])
        agg["low"] = last["low"].astype(int)
        agg["of"] = last["n"].astype(int)
        agg = agg.reset_index().rename(columns={level: "scope_id"}).assign(scope=level)
        out.append(agg)
    if not out:
        return pd.DataFrame(columns=list(TAILS_COLUMNS))
    result = pd.concat(out, ignore_index=True)
    result["scope_id"] = result["scope_id"].astype(str)
    return result[list(TAILS_COLUMNS)]


def tail_start(keys: pd.DataFrame, groups: dict[str, pd.Series], tails: pd.DataFrame) -> pd.Series:
    """Per key: the earliest incomplete tail of any group the series belongs to (its
    own group for a team or department series; a person's team, department and the
    workspace), NaT where none."""
    if tails.empty:
        return pd.Series(pd.NaT, index=keys.index, dtype="datetime64[ns]")
    since = tails.set_index(["scope", "scope_id", "kpi_id"])["since"]
    found = []
    for level, gid in groups.items():
        at = pd.MultiIndex.from_arrays(
            [np.full(len(keys), level), gid.astype(object).to_numpy(), keys["kpi_id"].to_numpy()]
        )
        found.append(pd.Series(since.reindex(at).to_numpy(), index=keys.index))
    return pd.concat(found, axis=1).min(axis=1).astype("datetime64[ns]")


def without_evidence(
    shift: pd.DataFrame, cut: pd.Series, thin: pd.Series | None = None
) -> pd.DataFrame:
    """``shift`` with every shift whose CUSUM first crossed at or after ``cut`` (per key,
    NaT = none), or that is ``thin`` (per key), left undeclared."""
    out = shift.copy()
    cut = cut.reindex(out.index)
    gone = (out["shift"].to_numpy() != 0) & (out["shift_detected"].to_numpy() >= cut.to_numpy())
    gone &= cut.notna().to_numpy()
    if thin is not None:
        gone |= thin.reindex(out.index, fill_value=False).to_numpy(dtype=bool)
    if not gone.any():
        return out
    out.loc[gone, "shift"] = 0
    out.loc[gone, "shift_holds"] = False
    for column in ("shift_onset", "shift_detected"):
        out.loc[gone, column] = pd.NaT
    for column in ("shift_size", "shift_sigmas"):
        out.loc[gone, column] = np.nan
    if "cusum_shift" in out:
        out.loc[gone, "cusum_shift"] = 0
    return out


BASELINE_POINTS = 40  # a person's usual range in the light check: the points before the tail


def tails_in_observations(
    observations: pd.DataFrame, people: pd.DataFrame, teams: pd.DataFrame, min_group_size: int
) -> pd.DataFrame:
    """Incomplete tails at the end of the data (:data:`TAILS_COLUMNS`), without the full
    analysis: the light check ``kpinb validate`` runs. Per KPI, the last
    :data:`TAIL_MAX` dates of the data are read against each person's usual range from
    their (at most :data:`BASELINE_POINTS`) points before those dates: mean and mean
    moving range / 1.128, as the analysis does, without its refinements."""
    obs = observations.dropna(subset=["value"]).sort_values(["employee_id", "kpi_id", "period"])
    if obs.empty:
        return pd.DataFrame(columns=list(TAILS_COLUMNS))
    obs = obs.assign(employee_id=obs["employee_id"].astype(str), kpi_id=obs["kpi_id"].astype(str))
    last = obs.groupby("kpi_id")["period"].transform(
        lambda p: p >= np.sort(p.unique())[-min(TAIL_MAX, p.nunique())]
    )
    end, before = obs[last.to_numpy()], obs[~last.to_numpy()]
    before = before.groupby(["employee_id", "kpi_id"]).tail(BASELINE_POINTS)
    g = before.groupby(["employee_id", "kpi_id"])
    mr = before.assign(mr=g["value"].diff().abs()).groupby(["employee_id", "kpi_id"])["mr"].mean()
    usual = pd.DataFrame({"centre": g["value"].mean(), "sigma": mr / 1.128, "n": g.size()})
    usual = usual[usual["n"] >= 6]  # the analysis' fewest points for limits
    frame = end.join(usual[["centre", "sigma"]], on=["employee_id", "kpi_id"], how="inner")
    team = people.set_index(people["employee_id"].astype(str))["team_id"].astype(str)
    dept = teams.set_index(teams["team_id"].astype(str))["department"].astype(str)
    frame["team"] = frame["employee_id"].map(team)
    frame["department"] = frame["team"].map(dept)
    frame["workspace"] = "organisation"
    return incomplete_tails(frame.reset_index(drop=True), min_group_size)
