"""The demo's simulated series: archetype shapes, noise draws and their acceptance checks.

Each archetype is shaped on one KPI per person and is checked with the XmR rules
(``xmr_limits``, ``signals_at``) and two trend statistics (``slope_t``,
``theil_sen_z``) before it is kept; a series that does not show its archetype
unmistakably is redrawn from the same random stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpinb.demo.model import (
    IMPROVER_WEEKS,
    KPIS,
    NEW_HIRE_WEEKS,
    QUARTERLY_SHAPE,
    ROLES,
    SHARED_MOVE,
    VERSION_FACTOR,
    VERSIONED_KPI,
    WEEKS,
    Calendar,
    KpiDef,
    Person,
)

# --------------------------------------------------------------------------- XmR checks


def xmr_limits(baseline: np.ndarray) -> tuple[float, float, float]:
    """Centre line and natural process limits (mean ± 2.66 × mean moving range)."""
    centre = float(np.mean(baseline))
    spread = 2.66 * float(np.mean(np.abs(np.diff(baseline))))
    return centre, centre - spread, centre + spread


def signals_at(x: np.ndarray, at: np.ndarray, baseline: np.ndarray) -> dict[str, bool]:
    """Which XmR run rules fire at the positions ``at`` of ``x`` (limits from ``baseline``)."""
    centre, low, high = xmr_limits(baseline)
    half = (high - centre) / 2
    side = np.sign(x - centre)
    run = np.zeros(len(x), dtype=int)
    for j in range(len(x)):
        same = j > 0 and side[j] != 0 and side[j] == side[j - 1]
        run[j] = run[j - 1] + 1 if same else int(side[j] != 0)
    up = (x > centre + half).astype(int)
    down = (x < centre - half).astype(int)
    three = [j >= 3 and max(up[j - 3 : j + 1].sum(), down[j - 3 : j + 1].sum()) >= 3 for j in at]
    return {
        "beyond": bool(np.any((x[at] > high) | (x[at] < low))),
        "run_of_8": bool(np.any(run[at] >= 8)),
        "three_of_four": any(three),
    }


def slope_t(y: np.ndarray) -> float:
    """t statistic of the least-squares slope of ``y`` against 0, 1, 2, ..."""
    t = np.arange(len(y), dtype=float)
    tc = t - t.mean()
    slope = float(tc @ (y - y.mean()) / (tc @ tc))
    resid = y - y.mean() - slope * tc
    se = float(np.sqrt(resid @ resid / (len(y) - 2) / (tc @ tc)))
    return slope / se if se > 0 else 0.0


def theil_sen_z(y: np.ndarray) -> float:
    """Median pairwise slope of ``y`` in noise units: slope x sqrt(Sxx) / (mean mR / 1.128)."""
    t = np.arange(len(y), dtype=float)
    i, j = np.triu_indices(len(y), 1)
    slope = float(np.median((y[j] - y[i]) / (t[j] - t[i])))
    sigma = float(np.mean(np.abs(np.diff(y)))) / 1.128
    return slope * float(np.sqrt(np.sum((t - t.mean()) ** 2))) / sigma if sigma > 0 else 0.0


# --------------------------------------------------------------------------- series


@dataclass(frozen=True)
class Shape:
    """Positions that matter for one weekly series (indexes into the 104 weeks)."""

    first: int  # first week of the current definition version
    previous: np.ndarray  # weeks of the quarter before the review quarter
    review: np.ndarray  # weeks of the review quarter


def _shape(kpi: KpiDef, cal: Calendar) -> Shape:
    """The positions of ``kpi``'s current version and of the two latest quarters."""
    first = int(cal.weeks.searchsorted(cal.version_from)) if kpi.id == VERSIONED_KPI else 0
    return Shape(first, cal.week_index(cal.period.previous()), cal.week_index(cal.period))


def _multiplier(archetype: str, shape: Shape) -> np.ndarray:
    """The archetype's change of level, oriented so that +x is an improvement by x."""
    m = np.zeros(WEEKS)
    if archetype == "steady_improver":
        m[WEEKS - IMPROVER_WEEKS :] = 0.015 * np.arange(1, IMPROVER_WEEKS + 1)
    elif archetype == "dip_and_recovery":
        n = len(shape.previous)
        ramp = np.minimum(np.arange(1, n + 1), np.arange(n, 0, -1))
        m[shape.previous] = -0.25 * np.minimum(1.0, ramp / 3)
    elif archetype == "dependency_shift":
        m[shape.review] = -0.2
    elif archetype == "new_hire":
        m[-NEW_HIRE_WEEKS:] = -0.4 + 0.08 * np.arange(NEW_HIRE_WEEKS)
    return m


def system_change(person: Person, kpi: KpiDef, cal: Calendar) -> np.ndarray:
    """What the system, not the person, adds to the level (a fraction of it): the shared
    move of one team's members from a week of the review quarter, and the shape one
    department's KPI takes in every quarter (data.yaml: shared_move, quarterly_shape)."""
    m = np.zeros(WEEKS)
    if kpi.id == SHARED_MOVE["kpi"] and person.team_id == SHARED_MOVE["team"]:
        review = cal.week_index(cal.period)
        m[review[int(SHARED_MOVE["from_week"]) :]] = float(SHARED_MOVE["change"])
    if kpi.id == QUARTERLY_SHAPE["kpi"] and ROLES[person.role][0] == QUARTERLY_SHAPE["department"]:
        m += float(QUARTERLY_SHAPE["amplitude"]) * (week_of_quarter(cal.weeks) / 12 - 0.5)
    return m


def week_of_quarter(weeks: pd.DatetimeIndex) -> np.ndarray:
    """Each Monday's week of its quarter, 0 to 12 (a 14th week counts as the 13th)."""
    start = weeks.to_period("Q").start_time
    return np.minimum(np.asarray((weeks - start).days) // 7, 12).astype(float)


NOISE = {
    "plateau": 0.015,
    "noisy_stable": 0.15,
    "steady_improver": 0.025,
    "dip_and_recovery": 0.03,
    "dependency_shift": 0.03,
}


def _draw(
    person: Person, kpi: KpiDef, shape: Shape, rng: np.random.Generator, system: np.ndarray
) -> np.ndarray:
    """One weekly series as written (rounded), before any archetype check."""
    level = person.levels[kpi.id]
    noise = NOISE.get(person.archetype, kpi.noise) if is_shaped(person, kpi) else kpi.noise
    change = _multiplier(person.archetype, shape) if is_shaped(person, kpi) else 0.0
    values = level * (1 + kpi.sign * change + system + noise * rng.standard_normal(WEEKS))
    if kpi.id == VERSIONED_KPI:
        old = np.arange(WEEKS) < shape.first
        values = np.where(old, values / VERSION_FACTOR, values)
    upper = 100.0 if kpi.unit == "%" else np.inf
    return np.round(np.clip(values, 0.0, upper), kpi.decimals)


def is_shaped(person: Person, kpi: KpiDef) -> bool:
    """Does the person's archetype shape this KPI (all of a new hire's; else the main one)?"""
    if person.archetype == "new_hire":
        return True
    return bool(person.archetype) and kpi.id == ROLES[person.role][1][0]


def archetype_holds(archetype: str, y: np.ndarray, shape: Shape, sign: int) -> bool:
    """Does the (rounded) series ``y`` show its archetype unmistakably?"""
    y = sign * y  # oriented: up is better
    firsts = [y[shape.first : shape.first + k] for k in (12, 16, 20)]
    review = shape.review
    flat_review = abs(theil_sen_z(y[review])) < 1.5
    if archetype in ("plateau", "noisy_stable"):
        recent = [y[review[0] - 20 : review[0]]]
        quiet = not any(any(signals_at(y, review, b).values()) for b in firsts + recent)
        flat = abs(slope_t(y[-20:])) < 1.5 and abs(slope_t(y[review])) < 1.5
        return quiet and flat and flat_review and abs(theil_sen_z(y[-13:])) < 1.5
    if archetype == "dip_and_recovery":
        dipped = all(np.sum(y[shape.previous] < xmr_limits(b)[1]) >= 4 for b in firsts)
        back = not any(any(signals_at(y, review, b).values()) for b in firsts)
        return dipped and back and flat_review
    if archetype == "steady_improver":
        beyond = all(np.sum(y[review] > xmr_limits(b)[2]) >= 6 for b in firsts)
        return beyond and slope_t(y[-IMPROVER_WEEKS:]) > 5 and theil_sen_z(y[-13:]) >= 3
    if archetype == "dependency_shift":
        worse = all(np.sum(y[review] < xmr_limits(b)[1]) >= len(review) - 3 for b in firsts)
        stepped = y[review].mean() < y[shape.previous].mean() - 0.1 * abs(y.mean())
        return worse and stepped and flat_review
    return True


def weekly_series(person: Person, kpi: KpiDef, cal: Calendar, seed: int) -> np.ndarray:
    """The person's weekly values, redrawn until a shaped archetype shows unmistakably."""
    rng = np.random.default_rng([seed, 2, person.index, list(KPIS).index(kpi.id)])
    check = person.archetype if is_shaped(person, kpi) else ""
    shape = _shape(kpi, cal)
    system = system_change(person, kpi, cal)
    for _ in range(500):
        values = _draw(person, kpi, shape, rng, system)
        if archetype_holds(check, values, shape, kpi.sign):
            return values
    msg = f"could not draw a clear {check} for {person.employee_id} on {kpi.id}"
    raise RuntimeError(msg)


def ratio_counts(
    person: Person, kpi: KpiDef, cal: Calendar, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A ratio KPI's weekly (numerator, denominator): Poisson cases (mean ``engaged``),
    each a success with the person's usual level (a percent)."""
    rng = np.random.default_rng([seed, 5, person.index, list(KPIS).index(kpi.id)])
    engaged = rng.poisson(kpi.engaged, len(cal.weeks))
    won = rng.binomial(engaged, person.levels[kpi.id] / 100.0)
    return won.astype(float), engaged.astype(float)


def monthly_series(person: Person, kpi: KpiDef, cal: Calendar, seed: int) -> np.ndarray:
    """Monthly counts (Poisson around the person's level)."""
    rng = np.random.default_rng([seed, 3, person.index, list(KPIS).index(kpi.id)])
    return rng.poisson(person.levels[kpi.id], len(cal.months)).astype(float)


# --------------------------------------------------------------------------- tables
