"""The demo's model: its constants, static data, calendar and people.

The static data (the KPI definitions and how each is simulated, roles, teams,
names, goals, check-in and feasibility texts) lives in ``data.yaml`` and is
read once on import. ``make_calendar`` places everything relative to ``end``;
``make_people`` builds the org chart and hands out the archetypes. The simulated
series are in ``demo_series``, the workspace tables in ``demo_tables``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from kpinb.errors import UsageError
from kpinb.kpis import KpiSpec
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
IMPROVER_WEEKS = 18  # the improvement starts this many weeks before the end (inclusive)
MIN_REVIEW_WEEKS = 8  # weeks of the review quarter the archetypes need to show
NEW_HIRE_WEEKS = 5  # weekly points a new hire has (fewer than 6 on purpose)


@dataclass(frozen=True, kw_only=True)
class KpiDef(KpiSpec):
    """A demo KPI: its dictionary entry (a :class:`KpiSpec`) plus how to simulate it."""

    decimals: int  # written with this many decimals
    levels: tuple[float, float]  # range of a person's usual level
    noise: float  # routine weekly noise, as a fraction of the level
    engaged: float = 0.0  # a ratio KPI: mean weekly denominator (Poisson)


# --------------------------------------------------------------------------- static data


def _load_data() -> dict[str, Any]:
    """The demo's static data (``data.yaml`` next to this module), read once."""
    text = resources.files("kpinb.demo").joinpath("data.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


_DATA = _load_data()
KPIS: dict[str, KpiDef] = {
    k["id"]: KpiDef(**{**k, "levels": tuple(k["levels"])}) for k in _DATA["kpis"]
}
# the system's changes (data.yaml: shared_move, quarterly_shape)
SHARED_MOVE: dict[str, Any] = _DATA["shared_move"]
QUARTERLY_SHAPE: dict[str, Any] = _DATA["quarterly_shape"]
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
SMALL_LAYOUT = 24  # below this many people the demo has only SMALL_TEAMS
NAMES = tuple(n.strip() for n in _DATA["names"].replace("\n", ";").split(";") if n.strip())
GOALS: dict[str, tuple[tuple[str, str], ...]] = {
    role: tuple((g["goal"], g["kpi_ids"]) for g in goals) for role, goals in _DATA["goals"].items()
}
# role -> what_moved, why_moved and action of the dependency_shift check-in
DEPENDENCY_NOTES: dict[str, dict[str, str]] = _DATA["dependency_notes"]
FEASIBILITY_REASONS: dict[str, str] = _DATA["feasibility"]
FAIRNESS: dict[str, Any] = _DATA["fairness"]  # the planted group gap and its near miss
# archetype -> its check-in rows, with dates as [weeks, position, days] (see data.yaml)
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
    teams = list(TEAMS) if people >= SMALL_LAYOUT else [t for t in TEAMS if t[0] in SMALL_TEAMS]
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
    heads: dict[str, int] = {}  # department -> the lead of its first team
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
    levels = {
        k: _usual_level(KPIS[k], rng.random()) for k in ROLES[role][1] if not KPIS[k].is_ratio
    }
    rates = np.random.default_rng([seed, 6, i])  # a stream of its own: the rest stays as it was
    levels |= {k: _usual_level(KPIS[k], rates.random()) for k in ROLES[role][1] if KPIS[k].is_ratio}
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
