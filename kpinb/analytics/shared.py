"""Whose change is it: a person's move judged against their group's.

A whole team or company moves when a market, a process or a data export changes; that
move is not the person's merit or fault. Each person's KPI is judged against a group:

- **Group**: the person's team when at least ``min_group_size`` of its members have
  data for the KPI in the review period, else their department, else the whole
  workspace (none when even that is smaller). ``of`` is that count.
- **Reference**: at each of the person's dates, the median of the *rest* of the group
  (leave-one-out, so a person cannot make their own group move).
- **Relative series**: the person minus that reference for a ``mean`` or ``median``
  KPI; the person's share of the group's total for a ``sum`` KPI (when everyone
  doubles, the share holds).
- The status's detector (:func:`kpinb.analytics.signals.shift_status`, with its
  carry-over correction) runs on both. The group **moved** when the reference shows a
  shift that holds at the period's end; the person **stands out** when the relative
  series does.

Classification (only people whose own series shifted or whose group's series shifted
are examined: for everyone else nothing moved):

- the group moved and the person does not stand out: a **shared** move (``own``
  False), whatever the person's own status says;
- the group moved and the person stands out (moved further, less, or held level
  against it): ``own`` True, ``relative`` says which way they moved against it;
- the group did not move: no record (a move of the person's is their own, as before).

``moved``: members of the group whose own series shows a holding shift the group's
way; ``onset``: the group series' onset where it shifted the same way, else the
reference's.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kpinb.analytics import carryover, signals, tail
from kpinb.kpis import KpiSpec

LEVELS = ("team", "department", "workspace")
WORKSPACE = "organisation"  # the group id of the whole workspace
SHIFTS = ("improving_shift", "worsening_shift")
_NONE = np.array(None, dtype=object)  # numpy's stubs take no bare None in where
_NAT = np.datetime64("NaT", "ns")

MOVES_COLUMNS = (
    "scope",
    "scope_id",
    "kpi_id",
    "direction",
    "onset",
    "moved",
    "of",
    "change",
    "change_rel",
)
RECORD_COLUMNS = (
    "shared_scope",
    "shared_group",
    "shared_moved",
    "shared_of",
    "shared_direction",
    "shared_onset",
    "shared_own",
    "shared_relative",
)


def raw_move(summary: pd.DataFrame) -> np.ndarray:
    """Raw direction (+1 up, -1 down) of each row's holding shift, 0 when none."""
    holding = summary["status"].isin(SHIFTS).to_numpy()
    return np.where(holding, summary["shift_direction"] * summary["sign"], 0).astype(int)


def leave_one_out(cell: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the median of the *other* values of its cell (NaN when it is alone) and
    the cell's total.

    Hand-worked: a cell 1, 2, 3, 10 gives 3 (of 2, 3, 10), 3, 2, 2 and total 16.
    """
    n = len(cell)
    if not n:
        return np.zeros(0), np.zeros(0)
    order = np.lexsort((value, cell))
    c, v = cell[order], value[order]
    starts = signals.starts_of(c)
    counts = signals.counts_of(c)
    s = np.repeat(starts, counts)
    j = np.arange(n) - s
    rest = np.repeat(counts, counts) - 1

    def nth(i: np.ndarray) -> np.ndarray:  # the i-th smallest of the rest (0-based)
        return np.asarray(v[np.clip(s + i + (i >= j), 0, n - 1)])

    odd = rest % 2 == 1
    lo = np.where(odd, (rest - 1) // 2, rest // 2 - 1)
    hi = np.where(odd, (rest - 1) // 2, rest // 2)
    med = np.where(rest >= 1, (nth(lo) + nth(hi)) / 2, np.nan)
    total = np.repeat(np.add.reduceat(v, starts), counts)
    out_med, out_total = np.empty(n), np.empty(n)
    out_med[order], out_total[order] = med, total
    return out_med, out_total


def choose_groups(
    people: pd.DataFrame,
    members: pd.DataFrame,
    sizes: pd.DataFrame,
    with_data: pd.Series,
    min_group_size: int,
) -> pd.DataFrame:
    """Per employee key (``people``: scope_id, kpi_id): the group its moves are judged
    against: ``level`` (team, department, workspace or None), ``group_id``, ``of``
    (members with data in the review period)."""
    emp = people["scope_id"].astype(str)
    kpi = people["kpi_id"].astype(str)
    size = sizes.set_index(["scope", "scope_id", "kpi_id"])["n_people"]
    ws_size = with_data.groupby(kpi).sum()
    out = pd.DataFrame(index=people.index)
    out["level"] = None
    out["group_id"] = None
    out["of"] = np.nan
    for level, column in (("team", "team_id"), ("department", "department")):
        gid = emp.map(members[column])
        at = pd.MultiIndex.from_arrays([np.full(len(gid), level, dtype=object), gid, kpi])
        count = pd.Series(size.reindex(at).to_numpy(dtype=float), index=people.index)
        pick = out["level"].isna() & (count >= min_group_size)
        out.loc[pick, "level"] = level
        out.loc[pick, "group_id"] = gid[pick]
        out.loc[pick, "of"] = count[pick]
    count = kpi.map(ws_size).astype(float)
    pick = out["level"].isna() & (count >= min_group_size)
    out.loc[pick, "level"] = "workspace"
    out.loc[pick, "group_id"] = WORKSPACE
    out.loc[pick, "of"] = count[pick]
    return out


def _detect(frame: pd.DataFrame, kpi: pd.Series, cut: pd.Series | None = None) -> pd.DataFrame:
    """Holding shift (raw +1/-1/0) and onset per key of ``frame`` (key, period, value,
    in_review, optionally ``inside``: the share of each point's week in the period;
    sorted), by the status's detector with its carry-over correction and the end-of-
    data rules (``cut``: per key, the first date of an incomplete tail)."""
    frame = frame.reset_index(drop=True)
    limits = signals.xmr_limits(frame)
    lags = carryover.lag1(frame, signals.baseline_mask(frame))
    limits = carryover.widen(limits, lags, carryover.carry_over(lags, kpi))
    shift = signals.shift_status(frame, limits)
    if "inside" in frame:
        thin = tail.thin_evidence(frame, frame["inside"].to_numpy(dtype=float), shift)
        none = pd.Series(dtype="datetime64[ns]")
        shift = tail.without_evidence(shift, cut if cut is not None else none, thin)
    move = np.where(shift["shift_holds"].to_numpy(), shift["shift"].to_numpy(), 0)
    return pd.DataFrame({"move": move, "onset": shift["shift_onset"]}, index=shift.index)


def _org_series(
    rows: pd.DataFrame, people: pd.DataFrame, kpis: Mapping[str, KpiSpec], wanted: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The whole workspace's series of the ``wanted`` KPIs (each KPI's rollup over the
    people with a point that date; dates with fewer people than the median count of
    the 9 dates around them left out, as for teams) and its moves."""
    mine = rows["key"].isin(people.index[people["kpi_id"].isin(wanted)]).to_numpy()
    emp = rows[["key", "period", "value"]][mine]  # the columns read, not every column
    kpi = people["kpi_id"].reindex(emp["key"].to_numpy()).to_numpy()
    frame = pd.DataFrame(
        {"kpi_id": kpi, "period": emp["period"].to_numpy(), "value": emp["value"].to_numpy()}
    )
    g = frame.groupby(["kpi_id", "period"], sort=True)["value"]
    agg = pd.DataFrame({"sum": g.sum(), "mean": g.mean(), "n": g.size()})
    rule = agg.index.get_level_values("kpi_id").map({k: s.rollup for k, s in kpis.items()})
    if (rule == "median").any():
        agg["median"] = g.median()
    agg["value"] = [agg[r].iat[i] for i, r in enumerate(rule)]
    agg = agg.reset_index()
    usual = agg.groupby("kpi_id")["n"].transform(
        lambda n: n.rolling(9, center=True, min_periods=1).median()
    )
    agg = agg[(agg["n"] >= usual).to_numpy()].reset_index(drop=True)
    agg["key"] = pd.factorize(agg["kpi_id"])[0]
    in_review = rows.drop_duplicates("period").set_index("period")["in_review"]
    agg["in_review"] = agg["period"].map(in_review).fillna(False).to_numpy(dtype=bool)
    series = agg[["key", "period", "value", "in_review"]]
    ids = agg.drop_duplicates("key").set_index("key")["kpi_id"]
    moves = _detect(series, ids)
    limits = signals.xmr_limits(series.reset_index(drop=True))
    moves["size"] = _since(series, moves) - limits["centre"]
    moves["centre"] = limits["centre"]
    moves.index = pd.Index(ids.reindex(moves.index).to_numpy(), name="kpi_id")
    return series, moves


def _since(series: pd.DataFrame, moves: pd.DataFrame) -> pd.Series:
    """Mean of each key's points from its onset to the end (NaN without a move)."""
    onset = series["key"].map(moves["onset"])
    after = series["period"].to_numpy() >= onset.to_numpy()
    return series["value"].where(after).groupby(series["key"]).mean()


def attribute(
    rows: pd.DataFrame,
    summary: pd.DataFrame,
    members: pd.DataFrame,
    sizes: pd.DataFrame,
    kpis: Mapping[str, KpiSpec],
    min_group_size: int,
    cut: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-employee-key record columns :data:`RECORD_COLUMNS`, the moves table).

    ``rows``: current-version points of every series (key, period, value, in_review),
    sorted by key then period; ``summary``: indexed by key, with scope, scope_id,
    kpi_id, sign, status, shift_direction, shift_onset, shift_size, centre,
    n_in_period, suppressed; ``sizes``: the groups table (team and department
    sizes); ``cut``: per key, the first date of an incomplete tail (no evidence from
    it on). ``rows`` may carry ``inside`` (the share of each point's week in the
    period: a partial week cannot carry a move alone)."""
    people = summary[summary["scope"] == "employee"]
    with_data = people["n_in_period"].gt(0)
    chosen = choose_groups(people, members, sizes, with_data, min_group_size)
    move = pd.Series(raw_move(summary), index=summary.index)
    kpi = people["kpi_id"].astype(str)

    # the groups' own series: teams and departments from the summary, the workspace here
    groups = summary[summary["scope"] != "employee"]
    group_move = pd.DataFrame(
        {
            "move": move[groups.index].to_numpy(),
            "onset": groups["shift_onset"].to_numpy(),
            "size": groups["shift_size"].to_numpy(),
            "centre": groups["centre"].to_numpy(),
        },
        index=pd.MultiIndex.from_arrays(
            [groups["scope"].astype(str), groups["scope_id"].astype(str), groups["kpi_id"]],
            names=["level", "group_id", "kpi_id"],
        ),
    )
    on_ws = set(kpi[chosen["level"] == "workspace"])
    if on_ws:
        _, org = _org_series(rows, people, kpis, on_ws)
        org.index = pd.MultiIndex.from_arrays(
            [["workspace"] * len(org), [WORKSPACE] * len(org), org.index],
            names=["level", "group_id", "kpi_id"],
        )
        group_move = pd.concat([group_move, org[["move", "onset", "size", "centre"]]])
    where = pd.MultiIndex.from_arrays(
        [chosen["level"].fillna(""), chosen["group_id"].fillna(""), kpi]
    )
    theirs = group_move.reindex(where)
    theirs.index = people.index
    group_moved = theirs["move"].fillna(0).to_numpy() != 0
    candidate = chosen["level"].notna().to_numpy() & (group_moved | (move[people.index] != 0))
    records = _empty_records(people.index)
    gids = group_ids(people, members)
    tally = _tally(people, gids, move)
    ws_size = with_data.groupby(kpi).sum()
    moves = _moves(group_move, tally, sizes, ws_size, min_group_size)
    if not candidate.any():
        return records, moves

    ref, rel = _relative_series(rows, people, chosen, candidate, gids, kpis)
    key_kpi = kpi.astype(object)
    ref_move = _detect(ref, key_kpi, cut).reindex(people.index)
    rel_move = _detect(rel, key_kpi, cut).reindex(people.index)
    g = ref_move["move"].fillna(0).to_numpy().astype(int)
    r = rel_move["move"].fillna(0).to_numpy().astype(int)
    has = candidate & (g != 0)

    # members moving each way in each person's group
    at = pd.MultiIndex.from_arrays([chosen["level"].fillna(""), chosen["group_id"].fillna(""), kpi])
    counts = tally.reindex(at).fillna(0).astype(int)
    moved = np.where(g > 0, counts["up"].to_numpy(), counts["down"].to_numpy())
    same = theirs["move"].fillna(0).to_numpy() == g
    onset = np.where(same, theirs["onset"].to_numpy(), ref_move["onset"].to_numpy())
    records["shared_scope"] = np.where(has, chosen["level"].to_numpy(dtype=object), _NONE)
    records["shared_group"] = np.where(has, chosen["group_id"].to_numpy(dtype=object), _NONE)
    records["shared_moved"] = pd.array(np.where(has, moved, 0), dtype="Int64")
    records["shared_moved"] = records["shared_moved"].mask(~has)
    records["shared_of"] = pd.array(chosen["of"].to_numpy(), dtype="Int64")
    records["shared_of"] = records["shared_of"].mask(~has)
    records["shared_direction"] = np.where(has, np.where(g > 0, "up", "down").astype(object), _NONE)
    records["shared_onset"] = np.where(has, onset.astype("datetime64[ns]"), _NAT)
    records["shared_own"] = np.where(has, r != 0, _NONE)
    records["shared_relative"] = np.where(has, r, 0)
    return records, moves


def _empty_records(index: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame(index=index)
    for column in ("shared_scope", "shared_group", "shared_direction", "shared_own"):
        out[column] = pd.Series([None] * len(index), index=index, dtype=object)
    out["shared_moved"] = pd.array([pd.NA] * len(index), dtype="Int64")
    out["shared_of"] = pd.array([pd.NA] * len(index), dtype="Int64")
    out["shared_onset"] = pd.Series(_NAT, index=index, dtype="datetime64[ns]")
    out["shared_relative"] = 0
    return out[list(RECORD_COLUMNS)]


def _relative_series(
    rows: pd.DataFrame,
    people: pd.DataFrame,
    chosen: pd.DataFrame,
    candidate: np.ndarray,
    gids: dict[str, pd.Series],
    kpis: Mapping[str, KpiSpec],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference (median of the rest of the group) and relative series of every
    candidate key, as frames of key, period, value, in_review (sorted)."""
    read = [c for c in ("key", "period", "value", "in_review", "inside") if c in rows]
    # the columns read, then the people's rows: not a copy of every column of the rows
    emp_rows = rows[read][rows["key"].isin(people.index).to_numpy()]
    key = emp_rows["key"].to_numpy()
    top = int(people.index.max()) + 1
    kpi_code = np.full(top, -1)
    kpi_code[people.index] = pd.factorize(people["kpi_id"].astype(str))[0]
    is_sum = np.zeros(top, dtype=bool)
    rule = people["kpi_id"].astype(str).map({k: s.rollup == "sum" for k, s in kpis.items()})
    is_sum[people.index] = rule.fillna(False).to_numpy(dtype=bool)
    period = emp_rows["period"].to_numpy()
    date_code, dates = pd.factorize(period)
    n_dates = max(len(dates), 1)
    value = emp_rows["value"].to_numpy(dtype=float)
    inside = emp_rows["inside"].to_numpy(dtype=float) if "inside" in emp_rows else np.ones(len(key))
    parts = []
    for level in LEVELS:
        mine = np.zeros(top, dtype=bool)
        level_of = chosen["level"].to_numpy()
        mine[people.index[candidate & (level_of == level)]] = True
        if not mine.any():
            continue
        gid_code = np.full(top, -1)
        gid_code[people.index] = pd.factorize(gids[level].astype(object))[0]
        # the groups (and KPIs) a candidate sits in at this level, and all their members
        pair = gid_code * (kpi_code.max() + 1) + kpi_code
        wanted = np.zeros(top, dtype=bool)
        wanted[people.index] = np.isin(pair[people.index], np.unique(pair[mine]))
        wanted &= gid_code >= 0
        idx = np.flatnonzero(wanted[key])
        cell = pair[key[idx]] * n_dates + date_code[idx]
        med, total = leave_one_out(cell, value[idx])
        take = mine[key[idx]]
        sel = idx[take]
        parts.append(
            pd.DataFrame(
                {
                    "key": key[sel],
                    "period": period[sel],
                    "value": value[sel],
                    "in_review": emp_rows["in_review"].to_numpy()[sel],
                    "inside": inside[sel],
                    "ref": med[take],
                    "total": total[take],
                    "sum": is_sum[key[sel]],
                }
            )
        )
    both = pd.concat(parts, ignore_index=True).sort_values(["key", "period"], kind="stable")
    cols = ["key", "period", "value", "in_review", "inside"]
    ref = both[both["ref"].notna().to_numpy()].assign(value=lambda f: f["ref"])[cols]
    is_share = both["sum"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_value = np.where(
            is_share,
            both["value"].to_numpy() / both["total"].to_numpy(),
            both["value"].to_numpy() - both["ref"].to_numpy(),
        )
    rel = both.assign(value=rel_value)[np.isfinite(rel_value)][cols]
    return ref.reset_index(drop=True), rel.reset_index(drop=True)


def group_ids(people: pd.DataFrame, members: pd.DataFrame) -> dict[str, pd.Series]:
    """Per level: the group id of every employee key (NaN where none)."""
    emp = people["scope_id"].astype(str)
    return {
        "team": emp.map(members["team_id"]),
        "department": emp.map(members["department"]),
        "workspace": pd.Series(WORKSPACE, index=people.index, dtype=object),
    }


def _tally(people: pd.DataFrame, gids: dict[str, pd.Series], move: pd.Series) -> pd.DataFrame:
    """Members with a holding shift up / down, per (level, group_id, kpi_id)."""
    kpi = people["kpi_id"].astype(str)
    m = move.reindex(people.index).to_numpy()
    frames = []
    for level, gid in gids.items():
        frame = pd.DataFrame({"group_id": gid, "kpi_id": kpi, "up": m > 0, "down": m < 0})
        per = frame.dropna(subset=["group_id"]).groupby(["group_id", "kpi_id"])[["up", "down"]]
        frames.append(per.sum().reset_index().assign(level=level))
    out = pd.concat(frames, ignore_index=True)
    return out.set_index(["level", "group_id", "kpi_id"])[["up", "down"]].astype(int)


def _moves(
    group_move: pd.DataFrame,
    tally: pd.DataFrame,
    sizes: pd.DataFrame,
    ws_size: pd.Series,
    min_group_size: int,
) -> pd.DataFrame:
    """What moved for everyone: per group and KPI whose own series shifted and holds,
    with at least ``min_group_size`` members with data of which at least half moved
    that way themselves: scope (team, department, workspace), scope_id, kpi_id,
    direction (up / down), onset, moved, of, change (the group series' mean since the
    onset minus its centre, KPI units) and change_rel (that over |centre|)."""
    cols = list(MOVES_COLUMNS)
    gm = group_move[group_move["move"].fillna(0) != 0]
    if gm.empty:
        return pd.DataFrame(columns=cols)
    size = sizes.set_index(["scope", "scope_id", "kpi_id"])["n_people"]
    of = size.reindex(gm.index).to_numpy(dtype=float)
    is_ws = gm.index.get_level_values("level") == "workspace"
    of = np.where(is_ws, ws_size.reindex(gm.index.get_level_values("kpi_id")).to_numpy(), of)
    counts = tally.reindex(gm.index).fillna(0)
    up = gm["move"].to_numpy() > 0
    moved = np.where(up, counts["up"], counts["down"]).astype(int)
    centre = gm["centre"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = gm["size"].to_numpy(dtype=float) / np.abs(centre)
    out = pd.DataFrame(
        {
            "scope": gm.index.get_level_values("level"),
            "scope_id": gm.index.get_level_values("group_id"),
            "kpi_id": gm.index.get_level_values("kpi_id"),
            "direction": np.where(up, "up", "down"),
            "onset": gm["onset"].to_numpy(),
            "moved": moved,
            "of": of,
            "change": gm["size"].to_numpy(dtype=float),
            "change_rel": np.where(np.isfinite(rel), rel, np.nan),
        }
    )
    keep = (out["of"] >= min_group_size) & (2 * out["moved"] >= out["of"])
    out = out[keep.to_numpy()].reset_index(drop=True)
    out["of"] = out["of"].astype(int)
    return out[cols]


def record(row: Mapping[str, object]) -> dict[str, object] | None:
    """The ``shared`` record of one summary row: None when the group did not move,
    else {scope, group_id, moved, of, direction ("up" / "down"), onset (Timestamp),
    own (bool), relative ("up" / "down" / None: how the person moved against the
    group's move, for an own one)}."""
    own = row.get("shared_own")
    if own is None or own is pd.NA or (isinstance(own, float) and np.isnan(own)):
        return None
    relative = int(row.get("shared_relative", 0) or 0)  # type: ignore[call-overload]  # a summary cell: object
    return {
        "scope": row["shared_scope"],
        "group_id": row["shared_group"],
        "moved": int(row["shared_moved"]),  # type: ignore[call-overload]  # a summary cell: object
        "of": int(row["shared_of"]),  # type: ignore[call-overload]  # a summary cell: object
        "direction": row["shared_direction"],
        "onset": pd.Timestamp(row["shared_onset"]),  # type: ignore[arg-type]  # a summary cell: object
        "own": bool(own),
        "relative": {1: "up", -1: "down"}.get(relative),
    }
