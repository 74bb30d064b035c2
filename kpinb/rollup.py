"""Team and department series, group sizes, and minimum-group-size suppression.

A team's (or department's) value at a point date is the KPI's rollup rule (sum,
mean, median) over the people of the group with a point that date. Aggregates
shown outside a manager's own team cover at least ``min_group_size`` people:
smaller groups are suppressed, and so are the next-smallest groups of the same
parent until the suppressed ones together cover the threshold, so none can be
worked out by subtracting the visible groups from the parent (SPEC idea 11;
research/reliability.md B.4, Viva Glint's "suppression threshold").
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kpinb.errors import UsageError
from kpinb.kpis import KpiSpec
from kpinb.periods import Period

MIN_GROUP_SIZE = 5
ORGANISATION = "organisation"


def memberships(people: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    """employee_id -> team_id, department (NA when the team is unknown)."""
    dept = teams.set_index("team_id")["department"]
    out = people[["employee_id", "team_id"]].astype(str).copy()
    out["department"] = out["team_id"].map(dept)
    return out.set_index("employee_id")


def _group_codes(observations: pd.DataFrame, mapping: pd.Series) -> pd.Categorical:
    """The group (team or department) of each observation, as a categorical."""
    emp = observations["employee_id"]
    cats = emp.cat.categories if isinstance(emp.dtype, pd.CategoricalDtype) else None
    if cats is None:
        return pd.Categorical(emp.astype(str).map(mapping))
    per_code = pd.Categorical(pd.Index(cats.astype(str)).map(mapping))
    codes = per_code.codes[emp.cat.codes.to_numpy()]
    codes = np.where(emp.cat.codes.to_numpy() < 0, -1, codes)
    return pd.Categorical.from_codes(codes, categories=per_code.categories)


def rollup_series(
    observations: pd.DataFrame, members: pd.DataFrame, kpis: Mapping[str, KpiSpec]
) -> pd.DataFrame:
    """Rolled-up series of every team and department: scope, scope_id, kpi_id, period,
    value, n (people contributing that date)."""
    rule = observations["kpi_id"].astype(str).map({k: s.rollup for k, s in kpis.items()})
    frames = []
    for scope, column in (("team", "team_id"), ("department", "department")):
        group = _group_codes(observations, members[column])
        base = pd.DataFrame({"scope_id": group, "kpi_id": observations["kpi_id"],
                             "period": observations["period"],
                             "value": observations["value"].to_numpy()})
        base = base[group.codes >= 0]
        for how in ("sum", "mean", "median"):
            part = base[(rule == how).to_numpy()[group.codes >= 0]]
            if part.empty:
                continue
            g = part.groupby(["scope_id", "kpi_id", "period"], observed=True, sort=True)
            agg = g["value"].agg([how, "size"]).reset_index()
            agg = agg.rename(columns={how: "value", "size": "n"})
            frames.append(agg.assign(scope=scope))
    if not frames:
        return pd.DataFrame(columns=["scope", "scope_id", "kpi_id", "period", "value", "n"])
    out = pd.concat(frames, ignore_index=True)
    return out[["scope", "scope_id", "kpi_id", "period", "value", "n"]]


def group_sizes(
    observations: pd.DataFrame, members: pd.DataFrame, period: Period
) -> pd.DataFrame:
    """Distinct people with a point of each KPI in the review period, per team (parent:
    its department) and per department (parent: the organisation)."""
    recent = observations[period.contains(observations["period"])]
    people = pd.DataFrame({"employee_id": recent["employee_id"].astype(str),
                           "kpi_id": recent["kpi_id"].astype(str)}).drop_duplicates()
    people = people.join(members, on="employee_id")
    frames = []
    for scope, column, parent in (("team", "team_id", "department"),
                                  ("department", "department", None)):
        g = people.dropna(subset=[column]).groupby([column, "kpi_id"], sort=True)
        sizes = g.size().rename("n_people").reset_index().rename(columns={column: "scope_id"})
        if parent is None:
            sizes["parent"] = ORGANISATION
        else:
            sizes["parent"] = sizes["scope_id"].map(
                members.drop_duplicates(column).set_index(column)[parent])
        frames.append(sizes.assign(scope=scope))
    out = pd.concat(frames, ignore_index=True)
    return out[["scope", "scope_id", "kpi_id", "parent", "n_people"]]


def suppress(sizes: pd.DataFrame, min_group_size: int = MIN_GROUP_SIZE) -> pd.DataFrame:
    """Add ``suppressed`` and ``reason`` to group sizes (scope, scope_id, kpi_id, parent,
    n_people).

    Within each (scope, parent, kpi_id): every group under ``min_group_size`` is
    suppressed; if any is, the next-smallest groups are suppressed too until at
    least 2 are and they cover ``min_group_size`` people together (or all are).
    """
    if min_group_size < 3:
        msg = f"min_group_size {min_group_size} is below 3; use 3 or more (default 5)"
        raise UsageError(msg)
    out = sizes.sort_values(["scope", "parent", "kpi_id", "n_people", "scope_id"])
    cell = [out["scope"], out["parent"].fillna(""), out["kpi_id"]]
    rank = out.groupby(cell, sort=False).cumcount().to_numpy() + 1
    covered = out.groupby(cell, sort=False)["n_people"].cumsum().to_numpy()
    small = (out["n_people"] < min_group_size).to_numpy()
    n_small = pd.Series(small, index=out.index).groupby(cell, sort=False).transform("sum")
    enough = (rank >= np.maximum(n_small.to_numpy(), 2)) & (covered >= min_group_size)
    first_enough = pd.Series(np.where(enough, rank, np.iinfo(np.int64).max), index=out.index)
    cutoff = first_enough.groupby(cell, sort=False).transform("min").to_numpy()
    suppressed = (n_small.to_numpy() > 0) & (rank <= cutoff)
    out["suppressed"] = suppressed
    out["reason"] = np.where(
        small, f"fewer than {min_group_size} people",
        np.where(suppressed, "complementary: protects a smaller suppressed group in "
                 + out["parent"].fillna("").astype(str), ""))
    out["reason"] = out["reason"].astype(object)
    return out.sort_index().reset_index(drop=True)
