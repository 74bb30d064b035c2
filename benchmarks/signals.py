"""Benchmark: how often the review-period status calls a shift, through the public API.

Monte Carlo with fixed seeds. Each case is a workspace of ``--n`` people with one KPI
each (direction "up"), 104 weekly Monday points ending 2026-09-28, so the review
period 2026-Q3 holds exactly the last 13 points. ``analyse(ws, "2026-Q3")`` decides a
status per person; the table gives the share of people per status, the share called
shifted (improving + worsening) and called any change (+ returned), and for the noise
cases the share whose usual range states a limit beyond a natural boundary (must be
0) and the share whose limit was replaced by a boundary. Targets are printed next to
the figures with PASS/FAIL; the exit code is 0 either way (it is a measurement).

Models: ``normal`` (mean 50, sd 5, unit "points"), ``poisson`` (weekly counts, mean 3,
unit "deals"), ``winrate`` (% of 10 games won at p = 0.6, unit "%"), ``ratio`` (a ratio
KPI: deals won of 2 to 10 engaged a week, uniformly, at p = 0.4; its sd is that of a
week of the mean 6 deals, sqrt(0.4 x 0.6 / 6), and the limits a p chart of the counts).
Cases, in sd of the model: ``noise``; ``shift+1.5`` (a sustained +1.5 sd from the first week of the
period); ``step+2@-40`` (+2 sd from 40 weeks before the period, flat since);
``drift+0.02`` (+0.02 sd a week over all 104 weeks; shown, no target).

Run: ``.venv/bin/python benchmarks/signals.py [--n 2000] [--seed 7]``
"""

from __future__ import annotations

import argparse
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpinb.analytics import READABLE_STATUSES, analyse
from kpinb.kpis import KpiSpec
from kpinb.workspace import Workspace

WEEKS = 104
REVIEW = 13  # points in the review period: the last 13 Mondays
PERIOD = "2026-Q3"
MONDAYS = pd.date_range(end="2026-09-28", periods=WEEKS, freq="7D")
FIRST_REVIEW = WEEKS - REVIEW  # week index of 2026-07-06
STEP_WEEKS_BEFORE = 40
TEAM_SIZE = 10
TRIALS = 10  # win rate: games per week
P0 = 0.6
KPI_ID = "k"

STATUSES = READABLE_STATUSES  # the statuses that say something about the period


@dataclass(frozen=True)
class Model:
    """A noise model: ``draw(rng, mean shift in sd, shape (n, WEEKS))`` -> values (a
    ratio model: numerator and denominator stacked, shape (2, n, WEEKS))."""

    name: str
    unit: str
    sd: float
    draw: Callable[[np.random.Generator, np.ndarray], np.ndarray]
    ceiling: float = np.inf  # natural ceiling the analytics should apply (100 for %)
    ratio: bool = False  # a ratio KPI: draw gives the counts


def _normal(rng: np.random.Generator, shift: np.ndarray) -> np.ndarray:
    return rng.normal(50.0 + 5.0 * shift, 5.0)


def _poisson(rng: np.random.Generator, shift: np.ndarray) -> np.ndarray:
    return rng.poisson(np.maximum(3.0 + shift * np.sqrt(3.0), 0.0)).astype(float)


def _win_rate(rng: np.random.Generator, shift: np.ndarray) -> np.ndarray:
    p = P0 + shift * np.sqrt(TRIALS * P0 * (1 - P0)) / TRIALS
    return 100.0 * rng.binomial(TRIALS, np.clip(p, 0.0, 1.0)) / TRIALS


RATIO_P0 = 0.4
RATIO_N = (2, 10)  # weekly denominators, uniform
RATIO_SD = float(np.sqrt(RATIO_P0 * (1 - RATIO_P0) / np.mean(RATIO_N)))


def _ratio(rng: np.random.Generator, shift: np.ndarray) -> np.ndarray:
    engaged = rng.integers(RATIO_N[0], RATIO_N[1] + 1, size=shift.shape)
    won = rng.binomial(engaged, np.clip(RATIO_P0 + shift * RATIO_SD, 0.0, 1.0))
    return np.stack([won, engaged]).astype(float)


MODELS = {
    "normal": Model("normal", "points", 5.0, _normal),
    "poisson": Model("poisson", "deals", float(np.sqrt(3.0)), _poisson),
    "winrate": Model(
        "winrate", "%", 100 * float(np.sqrt(TRIALS * P0 * (1 - P0))) / TRIALS, _win_rate, 100.0
    ),
    "ratio": Model("ratio", "%", 100 * RATIO_SD, _ratio, 100.0, ratio=True),
}
CASES = ("noise", "shift+1.5", "step+2@-40", "drift+0.02")


def shift_pattern(case: str, n: int) -> np.ndarray:
    """Mean shift in sd of the model per week, shape (n, WEEKS)."""
    week = np.arange(WEEKS)
    if case == "noise":
        row = np.zeros(WEEKS)
    elif case == "shift+1.5":
        row = np.where(week >= FIRST_REVIEW, 1.5, 0.0)
    elif case == "step+2@-40":
        row = np.where(week >= FIRST_REVIEW - STEP_WEEKS_BEFORE, 2.0, 0.0)
    elif case == "drift+0.02":
        row = 0.02 * week
    else:
        raise ValueError(f"unknown case {case!r}")
    return np.broadcast_to(row, (n, WEEKS))


def case_seed(seed: int, model: str, case: str) -> int:
    """A fixed seed per (model, case), derived from the run's seed."""
    return seed + 100 * CASES.index(case) + list(MODELS).index(model)


def simulate(model: str, case: str, n: int, seed: int) -> np.ndarray:
    """Values of ``n`` series, shape (n, WEEKS), for one model and case."""
    rng = np.random.default_rng(case_seed(seed, model, case))
    return MODELS[model].draw(rng, shift_pattern(case, n))


def build_workspace(model: str, values: np.ndarray) -> Workspace:
    """A workspace of one KPI (direction "up") with one person per row of ``values``."""
    m = MODELS[model]
    counts = {}
    if m.ratio:  # values = (numerator, denominator)
        counts = {"numerator": values[0].ravel(), "denominator": values[1].ravel()}
        values = 100.0 * values[0] / values[1]
    n = values.shape[0]
    ids = pd.Index([f"E{i:05d}" for i in range(n)])
    spec = KpiSpec(
        KPI_ID,
        f"{m.name} KPI",
        m.unit,
        "up",
        "lagging",
        "result",
        "weekly",
        "sum" if m.unit == "deals" else "mean",
        "o",
        "s",
        "f",
        measure="ratio" if m.ratio else "value",
    )
    obs = pd.DataFrame(
        {
            "employee_id": pd.Categorical.from_codes(np.repeat(np.arange(n), WEEKS), ids),
            "kpi_id": pd.Categorical.from_codes(np.zeros(n * WEEKS, dtype=int), [KPI_ID]),
            "period": np.tile(MONDAYS.to_numpy(), n),
            "value": values.astype(float).ravel(),
            **counts,
        }
    )
    team = [f"T{i // TEAM_SIZE:04d}" for i in range(n)]
    people = pd.DataFrame(
        {
            "employee_id": ids,
            "name": ids,
            "team_id": team,
            "manager_id": pd.NA,
            "role": "r",
            "start_date": pd.Timestamp("2020-01-06"),
        }
    )
    team_ids = sorted(set(team))
    teams = pd.DataFrame({"team_id": team_ids, "name": team_ids, "department": "D1"})
    return Workspace.from_tables({KPI_ID: spec}, people, teams, obs)


def rates(summary: pd.DataFrame, model: str) -> dict[str, float]:
    """Shares of the people rows of ``summary``: per status, called shifted / any
    change, limits beyond a natural boundary, limits replaced by a boundary."""
    people = summary[summary["scope"] == "employee"]
    status = people["status"]
    out = {s: float((status == s).mean()) for s in STATUSES}
    out["other"] = float((~status.isin(STATUSES)).mean())
    out["shifted"] = out["improving_shift"] + out["worsening_shift"]
    out["any_change"] = out["shifted"] + out["returned"]
    beyond = (people["lower"] < 0) | (people["upper"] > MODELS[model].ceiling)
    out["beyond_boundary"] = float(beyond.mean())
    out["bounded"] = float((people["lower_bounded"] | people["upper_bounded"]).mean())
    out["n"] = float(len(people))
    return out


def run_case(model: str, case: str, n: int, seed: int) -> tuple[dict[str, float], float]:
    """Rates for one (model, case) and the seconds ``analyse`` took."""
    ws = build_workspace(model, simulate(model, case, n, seed))
    start = time.perf_counter()
    result = analyse(ws, PERIOD)
    seconds = time.perf_counter() - start
    return rates(result.summary, model), seconds


# (case, model or None for every model, metric, comparison, threshold)
Target = tuple[str, str | None, str, str, float]
TARGETS: tuple[Target, ...] = (
    ("noise", None, "shifted", "<=", 0.05),
    ("noise", None, "beyond_boundary", "<=", 0.0),
    ("shift+1.5", "normal", "improving_shift", ">=", 0.90),
    ("shift+1.5", "poisson", "improving_shift", ">=", 0.80),
    ("shift+1.5", "winrate", "improving_shift", ">=", 0.80),
    ("shift+1.5", None, "worsening_shift", "<=", 0.01),
    ("step+2@-40", None, "routine", ">=", 0.90),
    ("shift+1.5", "ratio", "improving_shift", ">=", 0.80),
)
_OPS = {"<=": operator.le, ">=": operator.ge}


def targets_for(model: str, case: str) -> list[tuple[str, str, float]]:
    """The (metric, comparison, threshold) targets of one (model, case)."""
    return [(m, op, t) for c, mod, m, op, t in TARGETS if c == case and mod in (None, model)]


def meets(value: float, op: str, threshold: float) -> bool:
    """True when ``value`` meets ``op threshold`` (with a hair of float tolerance)."""
    return _OPS[op](round(value, 12), threshold)


COLUMNS = (
    ("improving_shift", "improv"),
    ("worsening_shift", "worsen"),
    ("returned", "return"),
    ("routine", "routine"),
    ("other", "other"),
    ("shifted", "shifted"),
    ("any_change", "any_chg"),
    ("beyond_boundary", "beyond"),
    ("bounded", "bounded"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="series (people) per case")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"n={args.n} series per case, seed={args.seed}, {WEEKS} weekly points, period {PERIOD}")
    print("shares in %; shifted = improving + worsening; any_chg = shifted + returned;")
    print("beyond = usual range states a limit beyond a natural boundary (noise cases);")
    print("bounded = a limit was replaced by a natural boundary")
    header = f"{'case':<12}{'model':<9}" + "".join(f"{label:>9}" for _, label in COLUMNS)
    print(header + f"{'analyse s':>11}")
    checks: list[str] = []
    failed = 0
    for case in CASES:
        for model in MODELS:
            r, seconds = run_case(model, case, args.n, args.seed)
            cells = []
            for metric, _ in COLUMNS:
                shown = metric not in ("beyond_boundary", "bounded") or case == "noise"
                cells.append(f"{100 * r[metric]:>9.1f}" if shown else f"{'':>9}")
            print(f"{case:<12}{model:<9}" + "".join(cells) + f"{seconds:>11.2f}")
            for metric, op, threshold in targets_for(model, case):
                ok = meets(r[metric], op, threshold)
                failed += not ok
                checks.append(
                    f"  {'PASS' if ok else 'FAIL'}  {case:<12}{model:<9}{metric:<16}"
                    f"{100 * r[metric]:6.1f} %  target {op} {100 * threshold:g} %"
                )
    print("\ntargets:")
    print("\n".join(checks))
    print(f"\nsummary: {len(checks) - failed}/{len(checks)} targets met ({failed} missed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
