"""Benchmark: the whole analytics core on a large synthetic workspace.

10,000 people x 10 KPIs x 104 weeks (10.4 million observations), 200 departments of
5 teams. Prints the seconds ``analyse`` takes for one review period and the ratio to
a plain ``groupby(["employee_id", "kpi_id"]).value.mean()`` over the same frame, in
wall-clock and in CPU seconds (the figure to compare on a shared machine), and the
process's peak resident memory. The import of
``scipy.stats`` is timed apart: a process pays it once, not per analysis.

Run: ``.venv/bin/python benchmarks/analytics.py [--people N] [--weeks W]``
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from kpinb.analytics import analyse
from kpinb.kpis import KpiSpec, KpiVersion
from kpinb.workspace import Workspace

KPIS = 10
TEAM_SIZE = 10
TEAMS_PER_DEPARTMENT = 5


def _kpis() -> dict[str, KpiSpec]:
    specs = {}
    for i in range(KPIS):
        kid = f"k{i:02d}"
        versions = (KpiVersion(pd.Timestamp("2026-01-05"), "redefined"),) if i == 3 else ()
        specs[kid] = KpiSpec(
            id=kid,
            name=f"KPI {i}",
            unit="%" if i % 3 == 0 else "count",
            direction="up" if i % 2 == 0 else "down",
            kind="leading" if i < 5 else "lagging",
            type="result",
            cadence="weekly",
            rollup=("sum", "mean", "median")[i % 3],
            owner="o",
            source="s",
            formula="f",
            pair=f"k{i + 5:02d}" if i < 5 else None,
            versions=versions,
        )
    return specs


def build(people: int, weeks: int, seed: int = 1) -> Workspace:
    """A synthetic workspace: noise, some trends and shifts, a few gaps."""
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"E{i:05d}" for i in range(people)])
    dates = pd.date_range("2026-09-28", periods=weeks, freq="-7D")[::-1]
    n = people * KPIS * weeks
    emp = np.repeat(np.arange(people), KPIS * weeks)
    kpi = np.tile(np.repeat(np.arange(KPIS), weeks), people)
    week = np.tile(np.arange(weeks), people * KPIS)
    slope = rng.normal(0, 0.05, people * KPIS)[emp * KPIS + kpi]
    value = 50 + slope * week + rng.normal(0, 5, n)
    keep = rng.random(n) > 0.03  # missing weeks are skipped, not zero-filled
    obs = pd.DataFrame(
        {
            "employee_id": pd.Categorical.from_codes(emp[keep], categories=ids),
            "kpi_id": pd.Categorical.from_codes(kpi[keep], categories=list(_kpis())),
            "period": dates.to_numpy()[week[keep]],
            "value": value[keep],
        }
    )
    team = [f"T{i // TEAM_SIZE:04d}" for i in range(people)]
    people_df = pd.DataFrame(
        {
            "employee_id": ids,
            "name": ids,
            "team_id": team,
            "manager_id": pd.NA,
            "role": "r",
            "start_date": pd.Timestamp("2020-01-01"),
        }
    )
    team_ids = sorted(set(team))
    teams = pd.DataFrame(
        {
            "team_id": team_ids,
            "name": team_ids,
            "department": [f"D{i // TEAMS_PER_DEPARTMENT:03d}" for i in range(len(team_ids))],
        }
    )
    targets = pd.DataFrame(
        {
            "scope": "employee",
            "scope_id": ids,
            "kpi_id": "k00",
            "period": "2026-Q3",
            "target": 60.0,
            "baseline": np.nan,
        }
    )
    return Workspace.from_tables(_kpis(), people_df, teams, obs, targets=targets)


def _best_of(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The best wall-clock and the best CPU seconds of ``repeat`` calls of ``fn``."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    start = time.process_time()
    import scipy.stats  # noqa: F401  # once per process, not per analysis: outside the timing

    imported = time.process_time() - start
    ws = build(args.people, args.weeks)
    obs = ws.observations
    print(f"observations: {len(obs):,} ({args.people:,} people x {KPIS} KPIs x {args.weeks} weeks)")
    plain = _best_of(
        lambda: obs.groupby(["employee_id", "kpi_id"], observed=True).value.mean(),
        max(3, args.repeat),
    )
    full = _best_of(lambda: analyse(ws, "2026-Q3"), args.repeat)
    result = analyse(ws, "2026-Q3")
    print(f"import scipy.stats  : {imported:8.3f} s CPU (once per process, not timed below)")
    print(f"plain groupby mean  : {plain[0]:8.3f} s wall {plain[1]:8.3f} s CPU")
    print(f"analyse(ws, 2026-Q3): {full[0]:8.3f} s wall {full[1]:8.3f} s CPU")
    print(
        f"ratio               : {full[0] / plain[0]:8.1f}x wall "
        f"{full[1] / plain[1]:8.1f}x CPU (aim < 20x)"
    )
    print(
        f"summary rows {len(result.summary):,}, signals {len(result.signals):,}, "
        f"points {len(result.points):,}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"peak RSS            : {peak:8.2f} GiB (the process: workspace, two analyses)")


if __name__ == "__main__":
    main()
