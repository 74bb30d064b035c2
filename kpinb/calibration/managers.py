"""Per manager: the ratings they proposed beside their people's evidence, and an
indication of leniency or severity that states its basis, sample size and uncertainty.

Basis of the indication. Each rated person's rating is compared with the mean rating
that people *outside this manager's group* with the same evidence direction received
(improving, steady, worsening, mixed, thin: :func:`kpinb.calibration.evidence.direction_of`;
where fewer than :data:`MIN_REFERENCE` others share it, all others). The indication is
the mean of these gaps over the manager's rated people, with a 95 % Student t interval
(:func:`gap_interval`: the spread of the manager's own gaps plus the uncertainty of the
references; small groups get wide intervals, as they should).
It reads "higher than the evidence suggests" only when the whole interval is above 0,
"lower" only when it is below 0, and "in line" otherwise. A group of fewer than
``min_group_size`` rated people gets no indication at all, only its counts.
Shares of people with an improving shift and with a goal at the success line come with a
95 % Wilson interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

LEVEL = 0.95
MIN_REFERENCE = 3
_Z = 1.959963984540054  # the normal quantile of 0.975

MANAGER_COLUMNS = (
    "manager_id", "manager", "department", "people", "rated", "ratings", "mean_rating",
    "share_above_middle", "improving_share", "improving_low", "improving_high",
    "goal_success_share", "goal_success_low", "goal_success_high", "gap", "gap_low",
    "gap_high", "indication", "basis",
)  # fmt: skip


def wilson(successes: int, n: int, z: float = _Z) -> tuple[float, float]:
    """The Wilson score interval of a share (95 % by default); (nan, nan) when n is 0."""
    if n <= 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def reference_gaps(people: pd.DataFrame, by: str = "manager_id") -> pd.DataFrame:
    """Each rated person's rating minus the mean rating of others with the same evidence
    direction outside their group (``by``: their manager's by default; all others where
    fewer than :data:`MIN_REFERENCE` share it), and that reference mean's squared
    standard error.

    Columns gap, ref_var (NaN for people without a rating or a group), on ``people``'s index.
    """
    rated = people[people["rating"].notna() & people[by].fillna("").astype(str).ne("")]
    out = pd.DataFrame(np.nan, index=people.index, columns=["gap", "ref_var"], dtype="float64")
    for idx, row in rated.iterrows():
        others = rated[rated[by] != row[by]]
        alike = others[others["direction"] == row["direction"]]
        pool = (alike if len(alike) >= MIN_REFERENCE else others)["rating"].astype(float)
        if len(pool):
            out.loc[idx, "gap"] = float(row["rating"]) - float(pool.mean())
            spread = float(pool.var(ddof=1)) if len(pool) > 1 else 0.0
            out.loc[idx, "ref_var"] = spread / len(pool)
    return out


def gap_interval(
    gaps: np.ndarray, ref_var: np.ndarray, level: float = LEVEL
) -> tuple[float, float]:
    """The interval of the mean gap: Student t on n - 1 degrees of freedom over the spread
    of the manager's own gaps plus the references' uncertainty (their mean squared
    standard error, as if fully correlated: the cautious side). (nan, nan) under 2 gaps."""
    from scipy import stats

    n = len(gaps)
    if n < 2:
        return float("nan"), float("nan")
    se = math.sqrt(float(gaps.var(ddof=1)) / n + float(np.mean(ref_var)))
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * se
    mean = float(gaps.mean())
    return mean - half, mean + half


def manager_table(people: pd.DataFrame, names: dict[str, str], min_group_size: int) -> pd.DataFrame:
    """One row per manager with direct reports in ``people``.

    ``people``: employee_id, manager_id, department, rating (NaN: none), standing
    (+1/0/-1 against the period's median), direction, improving (count), goals,
    goals_at_success. ``names``: employee_id -> display name.
    """
    frame = people.join(reference_gaps(people))
    out = []
    for manager_id, group in frame[frame["manager_id"].fillna("").ne("")].groupby(
        "manager_id", sort=True
    ):
        out.append(_row(str(manager_id), group, names, min_group_size))
    return pd.DataFrame(out, columns=list(MANAGER_COLUMNS))


def _row(
    manager_id: str, group: pd.DataFrame, names: dict[str, str], min_group_size: int
) -> dict[str, object]:
    rated = group[group["rating"].notna()]
    n = len(rated)
    counts = rated["rating"].round(2).value_counts().sort_index()
    distribution = ", ".join(
        f"{_fmt(k)}: {int(v)}" for k, v in zip(counts.index, counts, strict=True)
    )
    departments = sorted(set(group["department"].astype(str)))
    row: dict[str, object] = {
        "manager_id": manager_id,
        "manager": names.get(manager_id, manager_id),
        "department": ", ".join(departments),
        "people": len(group),
        "rated": n,
        "ratings": distribution,
        "mean_rating": float(rated["rating"].mean()) if n else np.nan,
    }
    blank = dict.fromkeys(MANAGER_COLUMNS[7:17], np.nan)
    row.update(blank)
    if n < min_group_size:
        row["indication"] = f"none: fewer than {min_group_size} rated people"
        row["basis"] = (
            f"{n} rated {'person' if n == 1 else 'people'}; no shares and no indication "
            f"under {min_group_size}: too few to read a pattern"
        )
        return row
    row["share_above_middle"] = float((rated["standing"] > 0).mean())
    row.update(evidence_shares(rated))
    mean = mean_gap(rated)
    row.update(mean)
    gap, low, high = mean["gap"], mean["gap_low"], mean["gap_high"]
    gaps = rated["gap"].notna().sum()
    if low > 0:  # NaN compares False: no interval, no indication
        row["indication"] = "ratings run higher than the evidence suggests"
    elif high < 0:
        row["indication"] = "ratings run lower than the evidence suggests"
    else:
        row["indication"] = "in line with the evidence (within the uncertainty)"
    row["basis"] = (
        f"mean of each rating minus the mean rating of people elsewhere with the same "
        f"evidence direction: {gap:+.2f} over {gaps} rated people, 95 % interval "
        f"{low:+.2f} to {high:+.2f}"
    )
    return row


def evidence_shares(rated: pd.DataFrame) -> dict[str, float]:
    """The evidence beside a group's ratings: the share of its rated people with an
    improving shift of their own (``improving`` > 0: shared moves never count) and the
    share of those with goals who have one at the success line (``goals_at_success`` > 0),
    each with its 95 % Wilson interval."""
    n = len(rated)
    improving = int((rated["improving"] > 0).sum())
    with_goals = rated[rated["goals"] > 0]
    successes = int((with_goals["goals_at_success"] > 0).sum())
    return {
        "improving_share": improving / n if n else np.nan,
        "improving_low": wilson(improving, n)[0],
        "improving_high": wilson(improving, n)[1],
        "goal_success_share": successes / len(with_goals) if len(with_goals) else np.nan,
        "goal_success_low": wilson(successes, len(with_goals))[0],
        "goal_success_high": wilson(successes, len(with_goals))[1],
    }


def mean_gap(rated: pd.DataFrame) -> dict[str, float]:
    """The mean of a group's gaps (:func:`reference_gaps`' columns gap and ref_var) with
    its 95 % interval (:func:`gap_interval`)."""
    known = rated[rated["gap"].notna()]
    gaps = known["gap"].to_numpy(dtype=float)
    low, high = gap_interval(gaps, known["ref_var"].to_numpy(dtype=float))
    return {"gap": float(gaps.mean()) if len(gaps) else np.nan, "gap_low": low, "gap_high": high}


def _fmt(value: float) -> str:
    return f"{value:g}"
