"""The deterministic demo workspace: realistic people, KPIs and known archetypes.

``write_demo`` builds a workspace folder (SPEC.md's table plus ``checkins.csv``
and ``archetypes.csv``) from a seed alone: no clock, no locale, floats written
with a fixed number of decimals, so the bytes are the same on every machine and
every day. Everything is placed relative to ``end``: 104 weekly points (Mondays)
ending on the week that holds ``end``, and the review period is the quarter that
holds that last Monday.

Each archetype is shaped on one KPI per person (``archetypes.csv``) and is
checked here with the XmR rules before it is kept, so the analytics can be
tested against it: a ``steady_improver`` rises (direction-aware) for the last
18 weeks beyond the natural process limits, a ``plateau`` and a
``noisy_stable`` show no signal in the review period, a ``dip_and_recovery``
dips in the previous quarter and is back in the review quarter, a
``dependency_shift`` steps the wrong way at the start of the review quarter (its
check-in note says why), and a ``new_hire`` starts 4 weeks before the end.
Everyone else shows mild routine noise. One KPI (first response time) changes
its definition three quarters before the review quarter, with a level shift;
a few people skip a few weeks (the rows are absent, not zero).

The static data (the KPI definitions and how each is simulated, roles, teams,
names, goals, check-in and feasibility texts) lives in ``demo_data.yaml`` next
to this module and is read once on import; this module holds the generator.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from kpinb.errors import UsageError
from kpinb.periods import Period, period_of

WEEKS = 104
ARCHETYPES = (
    "steady_improver",
    "plateau",
    "dip_and_recovery",
    "noisy_stable",
    "dependency_shift",
    "new_hire",
)
GENERATED = (
    "kpis.yaml",
    "people.csv",
    "teams.csv",
    "observations.csv",
    "targets.csv",
    "goals.csv",
    "ratings.csv",
    "feasibility.csv",
    "checkins.csv",
    "archetypes.csv",
)
IMPROVER_WEEKS = 18  # the improvement starts this many weeks before the end (inclusive)
MIN_REVIEW_WEEKS = 8  # weeks of the review quarter the archetypes need to show
NEW_HIRE_WEEKS = 5  # weekly points a new hire has (fewer than 6 on purpose)


@dataclass(frozen=True)
class KpiDef:
    """A demo KPI: its dictionary entry plus how to simulate it."""

    id: str
    name: str
    unit: str
    direction: str
    kind: str
    type: str
    cadence: str
    rollup: str
    owner: str
    source: str
    formula: str
    exclusions: str
    pair: str | None
    decimals: int  # written with this many decimals
    levels: tuple[float, float]  # range of a person's usual level
    noise: float  # routine weekly noise, as a fraction of the level

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is better."""
        return 1 if self.direction == "up" else -1


# --------------------------------------------------------------------------- static data


def _load_data() -> dict[str, Any]:
    """The demo's static data (``demo_data.yaml`` next to this module), read once."""
    text = resources.files("kpinb").joinpath("demo_data.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


_DATA = _load_data()
KPIS: dict[str, KpiDef] = {
    k["id"]: KpiDef(**{**k, "levels": tuple(k["levels"])}) for k in _DATA["kpis"]
}
VERSIONED_KPI: str = _DATA["versioned_kpi"]["id"]
VERSION_FACTOR: float = _DATA["versioned_kpi"]["factor"]  # old values = new ones / factor
VERSION_CHANGE: str = _DATA["versioned_kpi"]["change"]
# role -> (department, KPI ids (the first is the one archetypes shape))
ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    role: (r["department"], tuple(r["kpis"])) for role, r in _DATA["roles"].items()
}
# team_id, name, role (department follows from the role)
TEAMS: tuple[tuple[str, str, str], ...] = tuple((t, n, r) for t, n, r in _DATA["teams"])
SMALL_TEAMS = ("T01", "T04")  # the layout below 24 people: one sales and one support team
NAMES = tuple(n.strip() for n in _DATA["names"].replace("\n", ";").split(";") if n.strip())
GOALS: dict[str, tuple[tuple[str, str], ...]] = {
    role: tuple((g["goal"], g["kpi_ids"]) for g in goals) for role, goals in _DATA["goals"].items()
}
# role -> what_moved, why_moved and action of the dependency_shift check-in
DEPENDENCY_NOTES: dict[str, dict[str, str]] = _DATA["dependency_notes"]
FEASIBILITY_REASONS: dict[str, str] = _DATA["feasibility"]
# archetype -> its check-in rows, with dates as [weeks, position, days] (see demo_data.yaml)
CHECKIN_NOTES: dict[str, list[dict[str, Any]]] = _DATA["checkins"]


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class Calendar:
    """Where everything sits in time, derived from ``end`` alone."""

    weeks: pd.DatetimeIndex  # 104 Mondays, the last one holds ``end``
    months: pd.DatetimeIndex  # first days of the 24 months ending with the last week's
    period: Period  # the review quarter: the one holding the last Monday
    version_from: pd.Timestamp  # the definition change of VERSIONED_KPI

    def week_index(self, period: Period) -> np.ndarray:
        """Positions of the weeks whose Monday falls in ``period``."""
        return np.flatnonzero(period.contains(pd.Series(self.weeks)).to_numpy())


def make_calendar(end: str | pd.Timestamp) -> Calendar:
    """Weeks, months, review quarter and the definition-change date for ``end``."""
    try:
        stamp = pd.Timestamp(pd.to_datetime(str(end), format="%Y-%m-%d"))
    except (ValueError, TypeError) as exc:
        msg = f"end {str(end)!r} is not a date like 2026-09-30 (YYYY-MM-DD)"
        raise UsageError(msg) from exc
    last = stamp - pd.Timedelta(days=stamp.weekday())
    weeks = pd.date_range(end=last, periods=WEEKS, freq="7D")
    months = pd.date_range(end=last.replace(day=1), periods=WEEKS // 52 * 12, freq="MS")
    period = period_of(last)
    in_period = int(np.sum(np.asarray(weeks >= period.start)))
    if in_period < MIN_REVIEW_WEEKS:
        msg = (
            f"end {stamp.date()} leaves only {in_period} week(s) of {period.label} in the "
            f"history; the demo needs at least {MIN_REVIEW_WEEKS}: choose a date in the "
            "last month of a quarter, such as 2026-09-30"
        )
        raise UsageError(msg)
    # the change starts with the first Monday of the quarter three quarters back, so that
    # 20+ weeks of the new definition come before anything the archetypes shape
    change_quarter = period.shift(-3)
    version_from = weeks[weeks >= change_quarter.start][0]
    return Calendar(weeks, months, period, pd.Timestamp(version_from))


# --------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    """One demo employee and what shapes their data."""

    index: int
    employee_id: str
    name: str
    team_id: str
    manager_id: str
    role: str
    start_date: pd.Timestamp
    archetype: str  # "" for generic mild noise
    levels: dict[str, float]


def _team_sizes(people: int) -> list[tuple[str, str, str, int]]:
    """Teams used at this size and how many people each holds."""
    teams = list(TEAMS) if people >= 24 else [t for t in TEAMS if t[0] in SMALL_TEAMS]
    base, extra = divmod(people, len(teams))
    return [(*team, base + (i < extra)) for i, team in enumerate(teams)]


def _archetype_plan(people: int, members: int) -> list[str]:
    """The archetypes handed out, in order, to the non-lead members."""
    each = max(1, round(people / 15))
    new_hires = max(1, each // 2)
    plan: list[str] = []
    for r in range(each):
        plan += [a for a in ARCHETYPES if a != "new_hire" or r < new_hires]
    return (plan + [""] * members)[:members]


def _members_interleaved(teams: list[list[int]]) -> list[int]:
    """Non-lead member positions, taking one from each team in turn (mixes roles)."""
    longest = max(len(t) for t in teams)
    return [t[pos] for pos in range(1, longest) for t in teams if pos < len(t)]


def make_people(people: int, seed: int, cal: Calendar) -> list[Person]:
    """Everyone: team leads report to their department head, members to their lead."""
    if not 8 <= people <= len(NAMES):
        msg = f"people must be between 8 and {len(NAMES)} (got {people})"
        raise UsageError(msg)
    sizes = _team_sizes(people)
    rows: list[tuple[str, str, int]] = []  # (team_id, role, position in team)
    teams: list[list[int]] = []
    for team_id, _, role, size in sizes:
        teams.append(list(range(len(rows), len(rows) + size)))
        rows += [(team_id, role, pos) for pos in range(size)]
    archetypes = [""] * people
    members = _members_interleaved(teams)
    for i, archetype in zip(members, _archetype_plan(people, len(members)), strict=True):
        archetypes[i] = archetype
    heads = {}  # department -> the lead of its first team
    for team in teams:
        heads.setdefault(ROLES[rows[team[0]][1]][0], team[0])
    return [_person(i, rows[i], teams, heads, archetypes[i], seed, cal) for i in range(people)]


def _person(
    i: int,
    row: tuple[str, str, int],
    teams: list[list[int]],
    heads: dict[str, int],
    archetype: str,
    seed: int,
    cal: Calendar,
) -> Person:
    """Person ``i``: manager, usual levels and start date (before the history, or a new hire)."""
    team_id, role, pos = row
    lead = next(t[0] for t in teams if i in t)
    department = ROLES[role][0]
    manager = lead if pos > 0 else (None if heads[department] == i else heads[department])
    rng = np.random.default_rng([seed, 1, i])
    levels = {k: _usual_level(KPIS[k], rng.random()) for k in ROLES[role][1]}
    if archetype == "new_hire":
        start = cal.weeks[-NEW_HIRE_WEEKS]
    else:
        start = cal.weeks[0] - pd.Timedelta(weeks=int(rng.integers(2, 400)))
    return Person(
        index=i,
        employee_id=_eid(i),
        name=NAMES[i],
        team_id=team_id,
        manager_id="" if manager is None else _eid(manager),
        role=role,
        start_date=pd.Timestamp(start),
        archetype=archetype,
        levels=levels,
    )


def _usual_level(kpi: KpiDef, u: float) -> float:
    """A person's usual level: the fraction ``u`` of the way through the KPI's range."""
    low, high = kpi.levels
    return float(np.round(low + u * (high - low), kpi.decimals + 1))


def _eid(i: int) -> str:
    return f"E{i + 1:03d}"


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
    first = int(np.searchsorted(cal.weeks, cal.version_from)) if kpi.id == VERSIONED_KPI else 0
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


NOISE = {
    "plateau": 0.015,
    "noisy_stable": 0.15,
    "steady_improver": 0.025,
    "dip_and_recovery": 0.03,
    "dependency_shift": 0.03,
}


def _draw(person: Person, kpi: KpiDef, shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """One weekly series as written (rounded), before any archetype check."""
    level = person.levels[kpi.id]
    noise = NOISE.get(person.archetype, kpi.noise) if _shaped(person, kpi) else kpi.noise
    change = _multiplier(person.archetype, shape) if _shaped(person, kpi) else 0.0
    values = level * (1 + kpi.sign * change + noise * rng.standard_normal(WEEKS))
    if kpi.id == VERSIONED_KPI:
        old = np.arange(WEEKS) < shape.first
        values = np.where(old, values / VERSION_FACTOR, values)
    upper = 100.0 if kpi.unit == "%" else np.inf
    return np.round(np.clip(values, 0.0, upper), kpi.decimals)


def _shaped(person: Person, kpi: KpiDef) -> bool:
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
    check = person.archetype if _shaped(person, kpi) else ""
    shape = _shape(kpi, cal)
    for _ in range(500):
        values = _draw(person, kpi, shape, rng)
        if archetype_holds(check, values, shape, kpi.sign):
            return values
    msg = f"could not draw a clear {check} for {person.employee_id} on {kpi.id}"
    raise RuntimeError(msg)


def monthly_series(person: Person, kpi: KpiDef, cal: Calendar, seed: int) -> np.ndarray:
    """Monthly counts (Poisson around the person's level)."""
    rng = np.random.default_rng([seed, 3, person.index, list(KPIS).index(kpi.id)])
    return rng.poisson(person.levels[kpi.id], len(cal.months)).astype(float)


# --------------------------------------------------------------------------- tables


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _gaps(people: list[Person], cal: Calendar, seed: int) -> dict[str, np.ndarray]:
    """Weeks some generic people did not report (the rows are absent, not zero)."""
    generic = [p for p in people if not p.archetype and p.manager_id]
    rng = np.random.default_rng([seed, 4])
    chosen = rng.choice(
        len(generic), size=min(len(generic), max(2, len(people) // 12)), replace=False
    )
    review = cal.week_index(cal.period)
    gaps: dict[str, np.ndarray] = {}
    for n, j in enumerate(sorted(chosen)):
        start = review[4] if n == 0 else int(rng.integers(10, review[0] - 4))
        gaps[generic[j].employee_id] = np.arange(start, start + 2 + n % 2)
    return gaps


def observations(people: list[Person], cal: Calendar, seed: int) -> pd.DataFrame:
    """Every observation, sorted by employee, KPI and period."""
    gaps = _gaps(people, cal, seed)
    frames = []
    for p in people:
        for kpi_id in sorted(ROLES[p.role][1]):
            kpi = KPIS[kpi_id]
            if kpi.cadence == "weekly":
                dates, values = cal.weeks, weekly_series(p, kpi, cal, seed)
                keep = ~np.isin(np.arange(WEEKS), gaps.get(p.employee_id, []))
            else:
                dates, values = cal.months, monthly_series(p, kpi, cal, seed)
                keep = np.ones(len(dates), dtype=bool)
            keep &= np.asarray(dates >= p.start_date)
            frames.append(
                pd.DataFrame(
                    {
                        "employee_id": p.employee_id,
                        "kpi_id": kpi_id,
                        "period": dates[keep].strftime("%Y-%m-%d"),
                        "value": [_fmt(v, kpi.decimals) for v in values[keep]],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def kpis_yaml(cal: Calendar) -> str:
    """The KPI dictionary, with the one dated definition change."""
    entries = []
    for k in KPIS.values():
        entry = {
            "id": k.id,
            "name": k.name,
            "unit": k.unit,
            "direction": k.direction,
            "kind": k.kind,
            "type": k.type,
            "cadence": k.cadence,
            "rollup": k.rollup,
            "owner": k.owner,
            "source": k.source,
            "formula": k.formula,
            "exclusions": k.exclusions,
        }
        if k.pair:
            entry["pair"] = k.pair
        if k.id == VERSIONED_KPI:
            entry["versions"] = [
                {
                    "effective_from": cal.version_from.strftime("%Y-%m-%d"),
                    "change": VERSION_CHANGE,
                }
            ]
        entries.append(entry)
    header = "# kpinb demo KPI dictionary (generated by `kpinb demo`)\n"
    return header + yaml.safe_dump(
        {"kpis": entries}, sort_keys=False, allow_unicode=True, width=100
    )


def people_table(people: list[Person]) -> pd.DataFrame:
    """people.csv: manager_id empty for the department heads."""
    return pd.DataFrame(
        [
            {
                "employee_id": p.employee_id,
                "name": p.name,
                "team_id": p.team_id,
                "manager_id": p.manager_id,
                "role": p.role,
                "start_date": p.start_date.strftime("%Y-%m-%d"),
            }
            for p in people
        ]
    )


def teams_table(people: list[Person]) -> pd.DataFrame:
    """teams.csv: the teams that have people at this size."""
    used = {p.team_id for p in people}
    return pd.DataFrame(
        [
            {"team_id": t, "name": name, "department": ROLES[role][0]}
            for t, name, role in TEAMS
            if t in used
        ]
    )


def _quarters(cal: Calendar) -> list[Period]:
    """The review quarter and the three before it (targets and ratings cover these)."""
    return [cal.period.shift(-n) for n in (3, 2, 1, 0)]


def _quarter_means(obs: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    """Mean value per (employee, KPI, quarter label) of the written observations."""
    quarter = pd.to_datetime(obs.period).dt.to_period("Q").astype(str).str.replace("Q", "-Q")
    means = obs.value.astype(float).groupby([obs.employee_id, obs.kpi_id, quarter]).mean()
    return {key: float(v) for key, v in means.items()}


def targets_table(people: list[Person], obs: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """Quarterly targets: every person's KPIs (result KPIs with a baseline), team KPIs."""
    rows = []
    means = _quarter_means(obs)
    for q in _quarters(cal):
        for p in people:
            if p.start_date > q.end:
                continue
            for kpi_id in ROLES[p.role][1]:
                k = KPIS[kpi_id]
                base = means.get((p.employee_id, kpi_id, q.previous().label), float("nan"))
                with_base = k.type == "result" and not np.isnan(base)
                rows.append(
                    (
                        "employee",
                        p.employee_id,
                        kpi_id,
                        q.label,
                        _fmt(_target(k, p.levels[kpi_id], 0.08), k.decimals),
                        _fmt(base, k.decimals) if with_base else "",
                    )
                )
        rows += _team_targets(people, q)
    return pd.DataFrame(
        rows, columns=["scope", "scope_id", "kpi_id", "period", "target", "baseline"]
    )


def _target(k: KpiDef, level: float, stretch: float) -> float:
    raw = level * (1 + k.sign * stretch)
    return min(raw, 100.0) if k.unit == "%" else raw


def _team_targets(people: list[Person], q: Period) -> list[tuple[str, ...]]:
    """One target per team on its role's main KPI, rolled up by the KPI's rule."""
    rows = []
    for team_id, _, role in TEAMS:
        levels = [p.levels[ROLES[role][1][0]] for p in people if p.team_id == team_id]
        if not levels:
            continue
        k = KPIS[ROLES[role][1][0]]
        rolled = {"sum": np.sum, "mean": np.mean, "median": np.median}[k.rollup](levels)
        rows.append(
            ("team", team_id, k.id, q.label, _fmt(_target(k, rolled, 0.05), k.decimals), "")
        )
    return rows


def goals_table(people: list[Person], seed: int) -> pd.DataFrame:
    """The person's own why: one goal for most people, linked to their KPIs."""
    rng = np.random.default_rng([seed, 5])
    rows = []
    for p in people:
        pick = int(rng.integers(0, 4))
        if pick < 3:
            goal, kpi_ids = GOALS[p.role][pick]
            rows.append((p.employee_id, goal, kpi_ids))
    return pd.DataFrame(rows, columns=["employee_id", "goal", "kpi_ids"])


def ratings_table(people: list[Person], cal: Calendar, seed: int) -> pd.DataFrame:
    """Manager ratings (1-5) per quarter, for calibration only."""
    rng = np.random.default_rng([seed, 6])
    lift = {"steady_improver": 1, "dependency_shift": -1}
    rows = []
    for q in _quarters(cal):
        for p in people:
            draw = int(rng.integers(-1, 2))
            if p.start_date <= q.start:
                rating = 3 + (lift.get(p.archetype, 0) if q == cal.period else 0) + draw
                rows.append((p.employee_id, q.label, str(min(5, max(1, rating)))))
    return pd.DataFrame(rows, columns=["employee_id", "period", "rating"])


def feasibility_table(people: list[Person], cal: Calendar) -> pd.DataFrame:
    """Two flags: one person hit by the dependency, one team short of people."""
    rows = []
    shifted = [p for p in people if p.archetype == "dependency_shift"]
    if shifted:
        p = shifted[0]
        why = DEPENDENCY_NOTES[p.role]["why_moved"]
        reason = f"{why} {FEASIBILITY_REASONS['dependency_shift']}"
        rows.append(
            ("employee", p.employee_id, ROLES[p.role][1][0], cal.period.label, p.name, reason)
        )
    team = next(p for p in people if p.team_id == SMALL_TEAMS[-1])  # its lead
    reason = FEASIBILITY_REASONS["team"]
    rows.append(("team", team.team_id, ROLES[team.role][1][0], cal.period.label, team.name, reason))
    return pd.DataFrame(
        rows, columns=["scope", "scope_id", "kpi_id", "period", "flagged_by", "reason"]
    )


CHECKIN_COLUMNS = [
    "date",
    "employee_id",
    "author",
    "what_moved",
    "why_moved",
    "expected_impact",
    "support_needed",
    "diagnosis",
    "action",
    "action_owner",
    "action_due",
    "action_status",
]


def checkins_table(people: list[Person], cal: Calendar) -> pd.DataFrame:
    """A few past check-ins (import format): one row per action, same entry = same key."""
    names = {p.employee_id: p.name for p in people}
    when = _When(cal)
    rows: list[list[str]] = []
    for archetype, notes in CHECKIN_NOTES.items():
        person = next((p for p in people if p.archetype == archetype), None)
        if person is not None:
            author = names[person.manager_id]
            kpi = KPIS[ROLES[person.role][1][0]].name
            rows += [_checkin_row(note, when, person, author, kpi) for note in notes]
    return pd.DataFrame(rows, columns=CHECKIN_COLUMNS)


def _checkin_row(note: dict[str, Any], when: _When, p: Person, author: str, kpi: str) -> list[str]:
    """One checkins.csv row from its note in demo_data.yaml: dates placed, texts filled in."""
    fill = {"kpi": kpi, **DEPENDENCY_NOTES[p.role]}
    texts = [note.get(col, "").format(**fill) for col in CHECKIN_COLUMNS[3:9]]  # what..action
    owner = {"employee": p.name, "manager": author}.get(note.get("action_owner", ""), "")
    due = when.day(*note["action_due"]) if "action_due" in note else ""
    status = note.get("action_status", "")
    return [when.day(*note["date"]), p.employee_id, author, *texts, owner, due, status]


class _When:
    """Dates of check-ins: a weekday of a week of the review or the previous quarter."""

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self.positions = {
            "review": cal.week_index(cal.period),
            "previous": cal.week_index(cal.period.previous()),
            "all": np.arange(WEEKS),
        }

    def day(self, weeks: str, position: int, days: int = 2) -> str:
        """``days`` after the Monday at ``position`` among ``weeks`` (review, previous, all)."""
        week = self.positions[weeks][position]
        return (self.cal.weeks[week] + pd.Timedelta(days=days)).strftime("%Y-%m-%d")


def archetypes_table(people: list[Person]) -> pd.DataFrame:
    """What the generator built: one row per person and KPI an archetype shapes."""
    rows = [
        (p.employee_id, k, p.archetype)
        for p in people
        for k in ROLES[p.role][1]
        if p.archetype and _shaped(p, KPIS[k])
    ]
    return pd.DataFrame(rows, columns=["employee_id", "kpi_id", "archetype"])


# --------------------------------------------------------------------------- writing


def build_demo(*, seed: int = 7, end: str = "2026-09-30", people: int = 60) -> dict[str, str]:
    """Every file of the demo workspace as text, by file name (pure: no file access)."""
    cal = make_calendar(end)
    crowd = make_people(people, seed, cal)
    obs = observations(crowd, cal, seed)
    tables = {
        "people.csv": people_table(crowd),
        "teams.csv": teams_table(crowd),
        "observations.csv": obs,
        "targets.csv": targets_table(crowd, obs, cal),
        "goals.csv": goals_table(crowd, seed),
        "ratings.csv": ratings_table(crowd, cal, seed),
        "feasibility.csv": feasibility_table(crowd, cal),
        "checkins.csv": checkins_table(crowd, cal),
        "archetypes.csv": archetypes_table(crowd),
    }
    files = {"kpis.yaml": kpis_yaml(cal)}
    files.update(
        {name: frame.to_csv(index=False, lineterminator="\n") for name, frame in tables.items()}
    )
    return files


def write_demo(
    out_dir: str | os.PathLike[str], *, seed: int = 7, end: str = "2026-09-30", people: int = 60
) -> Path:
    """Write the demo workspace to ``out_dir`` atomically and return its path.

    The files are written into a temporary folder next to ``out_dir`` and swapped in
    whole. Files of an existing ``out_dir`` that the demo does not generate (such as
    ``journal.sqlite``) are carried over, never deleted.
    """
    out = Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        msg = f"{out} exists and is not a folder; choose another --out"
        raise UsageError(msg)
    files = build_demo(seed=seed, end=end, people=people)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the workspace is an ordinary folder
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")
        _swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _swap_in(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; what ``out`` held beyond the generated files moves over.

    The old folder is renamed aside first, so that a failure at any step leaves
    either the old or the new workspace whole, and ``journal.sqlite`` in one of them.
    """
    if not out.exists():
        os.rename(tmp, out)
        return
    old = out.with_name(f".{out.name}.old")
    if old.exists():
        msg = (f"{old} is left from an interrupted demo write and may hold a journal; "
               "move what you need out of it, delete it and run again")  # fmt: skip
        raise UsageError(msg)
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    for entry in old.iterdir():
        if entry.name not in GENERATED:  # journal.sqlite and the like
            os.replace(entry, out / entry.name)
    shutil.rmtree(old)


# --------------------------------------------------------------------------- command


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``kpinb demo`` to the command line."""
    p = subparsers.add_parser(
        "demo",
        help="write the deterministic demo workspace and run every report on it",
        description="Write a realistic demo workspace (the same bytes on every machine) "
        "and, unless --no-run, generate every report for its review period.",
    )
    p.add_argument("dir", nargs="?", help="same as --out")
    p.add_argument("--out", help="workspace folder (default: demo-workspace)")
    p.add_argument("--no-run", action="store_true", help="only write the workspace")
    p.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    p.add_argument(
        "--end",
        default="2026-09-30",
        help="last day of the history, YYYY-MM-DD (default: 2026-09-30); "
        "the review period is the quarter holding it",
    )
    p.add_argument("--people", type=int, default=60, help="number of people (8-64)")
    p.add_argument("--reports", default="reports", help="report folder (default: reports)")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace, *, echo: Callable[[str], None] = print) -> int:
    """Write the workspace, then (unless ``--no-run``) run the batch on it."""
    if args.dir and args.out and Path(args.dir) != Path(args.out):
        msg = f"two output folders given ({args.dir} and --out {args.out}); give one"
        raise UsageError(msg)
    path = write_demo(
        args.dir or args.out or "demo-workspace", seed=args.seed, end=args.end, people=args.people
    )
    echo(f"demo workspace written to {path}")
    if args.no_run:
        return 0
    return _run_batch(path, make_calendar(args.end).period.label, Path(args.reports), echo)


def _run_batch(path: Path, period: str, reports: Path, echo: Callable[[str], None]) -> int:
    """Import the demo's check-ins into its journal, then generate every report."""
    import importlib

    from kpinb.journal import import_checkins

    imported = import_checkins(path, path / "checkins.csv")  # idempotent: reruns add nothing
    echo(f"check-ins imported into the journal: {imported.added} new, {imported.skipped} kept")
    try:
        run_batch = importlib.import_module("kpinb.batch").run_batch
    except (ModuleNotFoundError, AttributeError):
        echo(
            "the report batch is not available in this version yet; "
            f"the workspace is ready: kpinb run {path} --period {period}"
        )
        return 0
    result = run_batch(path, period, out=reports)
    index = getattr(result, "index", reports.resolve() / period / "index.html")
    failed = len(getattr(result, "failed", ()))
    note = f" ({failed} could not be generated; the index says why)" if failed else ""
    echo(f"reports: {index}{note}")
    return int(getattr(result, "exit_code", 0))


def main_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``kpinb demo`` arguments alone (for tests)."""
    parser = argparse.ArgumentParser(prog="kpinb")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["demo", *argv])
