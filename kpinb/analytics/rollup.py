"""Team and department series, group sizes, and minimum-group-size suppression.

A team's (or department's) value at a point date is the KPI's rollup rule (sum,
mean, median) over the people of the group with a point that date; a ratio KPI's is
its rate, 100 x the sum of the numerators / the sum of the denominators (so a week with
30 cases weighs 30 times one with 1), and its ``denominator`` is that sum. Aggregates
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
from kpinb.kpis import RATE_SCALE, KpiSpec
from kpinb.periods import Period

MIN_GROUP_SIZE = 5
RULE_CODES = {"sum": 0, "mean": 1, "median": 2, "ratio": 3}
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
    """Rolled-up series of every team and department: scope, scope_id (categorical),
    kpi_id (categorical), period, value, n (people contributing that date), denominator
    (a ratio KPI's summed denominator, else NaN)."""
    kpi = observations["kpi_id"].astype("category")
    rules = np.array(
        [_rule(kpis[k]) if k in kpis else 0 for k in kpi.cat.categories.astype(str)],
        dtype=np.int64,
    )
    counts = {
        c: observations[c].to_numpy(dtype=float) if c in observations else None
        for c in ("numerator", "denominator")
    }
    dates, uniq_dates = pd.factorize(observations["period"], sort=True)
    frames = []
    for scope, column in (("team", "team_id"), ("department", "department")):
        group = _group_codes(observations, members[column])
        cells = _aggregate(
            group.codes,
            kpi.cat.codes.to_numpy(),
            dates,
            observations["value"].to_numpy(dtype=float),
            rules,
            (len(group.categories), len(rules), len(uniq_dates)),
            counts["numerator"],
            counts["denominator"],
        )
        frames.append(
            pd.DataFrame(
                {
                    "scope": scope,
                    "scope_id": pd.Categorical.from_codes(
                        cells["group"], categories=group.categories
                    ),
                    "kpi_id": pd.Categorical.from_codes(
                        cells["kpi"], categories=kpi.cat.categories, ordered=kpi.cat.ordered
                    ),
                    "period": np.asarray(uniq_dates)[cells["date"]],
                    "value": cells["value"],
                    "n": cells["n"],
                    "denominator": cells["denominator"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _rule(spec: KpiSpec) -> int:
    """The code of a KPI's group rule: a ratio's sum / sum, else its rollup."""
    return RULE_CODES["ratio"] if spec.is_ratio else RULE_CODES[spec.rollup]


def _cells(cell: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct cell codes (sorted) and each row's index into them.

    Counts over the whole code space when it is small (no sort), else sorts.
    """
    if space > 4 * len(cell) + 1_000_000:
        return np.unique(cell, return_inverse=True)
    used = np.flatnonzero(np.bincount(cell, minlength=space))
    index = np.zeros(space, dtype=np.int64)
    index[used] = np.arange(len(used))
    return used, index[cell]


def _aggregate(
    group: np.ndarray,
    kpi: np.ndarray,
    date: np.ndarray,
    value: np.ndarray,
    rules: np.ndarray,
    shape: tuple[int, int, int],
    numerator: np.ndarray | None = None,
    denominator: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Sum, mean, median or rate (each KPI's rule, coded as in RULE_CODES) of ``value``
    per (group, kpi, date) cell, returned sorted by cell; vectorised with bincount. A
    rate is 100 x sum(numerator) / sum(denominator) (NaN when that sum is 0)."""
    ok = (group >= 0) & (kpi >= 0)
    n_kpi, n_date = shape[1], shape[2]
    cell = (group[ok].astype(np.int64) * n_kpi + kpi[ok]) * n_date + date[ok]
    value = value[ok]
    uniq, ids = _cells(cell, int(np.prod(shape, dtype=np.int64)))
    count = np.bincount(ids, minlength=len(uniq))
    total = np.bincount(ids, weights=value, minlength=len(uniq))
    rule = rules[(uniq // n_date) % n_kpi]
    out = np.where(rule == RULE_CODES["mean"], total / np.maximum(count, 1), total)
    medians = rules[kpi[ok]] == RULE_CODES["median"]
    if medians.any():
        med = pd.Series(value[medians]).groupby(ids[medians]).median()
        out[med.index.to_numpy()] = med.to_numpy()
    denominators = np.full(len(uniq), np.nan)
    ratio = rule == RULE_CODES["ratio"]
    if ratio.any() and numerator is not None and denominator is not None:
        num = np.bincount(ids, weights=np.nan_to_num(numerator[ok]), minlength=len(uniq))
        den = np.bincount(ids, weights=np.nan_to_num(denominator[ok]), minlength=len(uniq))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(ratio, RATE_SCALE * num / den, out)
        denominators = np.where(ratio, den, np.nan)
    return {
        "group": uniq // (n_kpi * n_date),
        "kpi": (uniq // n_date) % n_kpi,
        "date": uniq % n_date,
        "value": out,
        "n": count,
        "denominator": denominators,
    }


def group_sizes(observations: pd.DataFrame, members: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Distinct people with a point of each KPI in the review period, per team (parent:
    its department) and per department (parent: the organisation)."""
    recent = observations[period.contains(observations["period"])]
    people = recent[["employee_id", "kpi_id"]].drop_duplicates()
    people = pd.DataFrame({c: people[c].astype(str).to_numpy() for c in people.columns})
    people = people.join(members, on="employee_id")
    frames = []
    for scope, column, parent in (
        ("team", "team_id", "department"),
        ("department", "department", None),
    ):
        g = people.dropna(subset=[column]).groupby([column, "kpi_id"], sort=True)
        sizes = g.size().rename("n_people").reset_index().rename(columns={column: "scope_id"})
        if parent is None:
            sizes["parent"] = ORGANISATION
        else:
            sizes["parent"] = sizes["scope_id"].map(
                members.drop_duplicates(column).set_index(column)[parent]
            )
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
        small,
        f"fewer than {min_group_size} people",
        np.where(
            suppressed,
            "complementary: protects a smaller suppressed group in "
            + out["parent"].fillna("").astype(str),
            "",
        ),
    )
    out["reason"] = out["reason"].astype(object)
    return out.sort_index().reset_index(drop=True)
