"""Synthetic workspaces for analytics tests: chosen series on 52 Mondays, made in memory.

Every value is computed from a seed here, so a test can work out what the analysis
must say by hand.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from kpinb.kpis import KpiSpec, KpiVersion
from kpinb.workspace import Workspace

MONDAYS = pd.date_range("2025-10-06", "2026-09-28", freq="7D")  # 52 weeks, Q3 2026 = last 13


def spec(
    kid: str,
    direction: str = "up",
    unit: str = "count",
    rollup: str = "sum",
    kind: str = "lagging",
    pair: str | None = None,
    versions: tuple[KpiVersion, ...] = (),
) -> KpiSpec:
    return KpiSpec(
        kid,
        kid,
        unit,
        direction,
        kind,
        "result",
        "weekly",
        rollup,
        "o",
        "s",
        "f",
        pair=pair,
        versions=versions,
    )


def workspace(
    series: dict[tuple[str, str], np.ndarray | list[float]],
    kpis: dict[str, KpiSpec],
    teams: dict[str, str] | None = None,
    targets: pd.DataFrame | None = None,
    dates: pd.DatetimeIndex = MONDAYS,
) -> Workspace:
    """A workspace from {(employee, kpi): values}; a series shorter than ``dates`` ends
    on the last date (people who joined late)."""
    rows = []
    for (emp, kpi), values in series.items():
        values = np.asarray(values, dtype=float)
        rows.append(
            pd.DataFrame(
                {
                    "employee_id": emp,
                    "kpi_id": kpi,
                    "period": dates[len(dates) - len(values) :],
                    "value": values,
                }
            )
        )
    obs = pd.concat(rows, ignore_index=True).sort_values(["employee_id", "kpi_id", "period"])
    obs = obs.astype({"employee_id": "category", "kpi_id": "category"}).reset_index(drop=True)
    people_ids = sorted({e for e, _ in series})
    team_of = teams or {}
    people = pd.DataFrame(
        {
            "employee_id": people_ids,
            "name": people_ids,
            "team_id": [team_of.get(e, "T1") for e in people_ids],
            "manager_id": pd.NA,
            "role": "r",
            "start_date": pd.Timestamp("2020-01-06"),
        }
    )
    team_ids = sorted(set(people["team_id"]))
    teams_df = pd.DataFrame(
        {
            "team_id": team_ids,
            "name": team_ids,
            "department": ["D1" if t != "T9" else "D2" for t in team_ids],
        }
    )
    extra = {} if targets is None else {"targets": targets}
    return Workspace.from_tables(kpis, people, teams_df, obs, **extra)


def noise(seed: int, n: int = 52, level: float = 50, sd: float = 3) -> np.ndarray:
    return np.round(np.random.default_rng(seed).normal(level, sd, n), 1)


def drop_weeks(ws: Workspace, who: str, weeks: list[int]) -> Workspace:
    """``ws`` without ``who``'s values in the given weeks (indexes into MONDAYS)."""
    obs = ws.observations
    gone = (obs["employee_id"] == who) & obs["period"].isin(MONDAYS[weeks])
    return replace(ws, observations=obs[~gone.to_numpy()].reset_index(drop=True))


def late_joiners() -> Workspace:
    """T1: E0 all year, E1..E4 join in 2026-Q3 (5 people in the period, 1 before).
    T2: F0..F4 all year, but F1 has no value in week 45 (in Q3). Rollup: mean."""
    series = {("E0", "k"): noise(30)}
    series |= {(f"E{i}", "k"): noise(30 + i, n=13) for i in range(1, 5)}
    series |= {(f"F{i}", "k"): noise(40 + i) for i in range(5)}
    teams = {e: ("T1" if e.startswith("E") else "T2") for e, _ in series}
    ws = workspace(series, {"k": spec("k", rollup="mean")}, teams)
    return drop_weeks(ws, "F1", [45])
