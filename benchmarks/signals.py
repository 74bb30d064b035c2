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
week of the mean 6 deals, sqrt(0.4 x 0.6 / 6), and the limits a p chart of the counts),
``zeroheavy`` (a zero-heavy percent: the share of 6 orders a week shipped late at
p = 0.03, so 0 % in about 83 % of weeks and 17-50 % in the others; a sparse series).
Cases, in sd of the model: ``noise``; ``shift+1.5`` (a sustained +1.5 sd from the first week of the
period); ``step+2@-40`` (+2 sd from 40 weeks before the period, flat since);
``drift+0.02`` (+0.02 sd a week over all 104 weeks; shown, no target).

A second table, "whose change is it", runs the cases of :func:`simulate_whose` (teams
of 10: a move the whole team shares, a personal move among steady teammates, a person
flat while their team moves, a quarterly ramp shared by everyone, lag-1
autocorrelation 0.5, a quarter of the weeks missing, Poisson counts with mean 0.5) and
prints per case the share found, named shared, named their own and with a trend told
as their own, with targets.

A third table, "over time", runs :func:`simulate_over_time` (a climb of +0.3 sd a quarter
over the last four quarters, and noise, lag-1 autocorrelation 0.5 and Poisson counts
over the same span) and prints the share told improving or worsening across quarters.

Run: ``.venv/bin/python benchmarks/signals.py [--n 2000] [--seed 7]
[--only status|whose|over-time]``
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


LATE_P0 = 0.03  # share of a week's 6 orders shipped late: 0 % in about 83 % of weeks
LATE_N = 6
LATE_SD = float(np.sqrt(LATE_P0 * (1 - LATE_P0) / LATE_N))


def _late_share(rng: np.random.Generator, shift: np.ndarray) -> np.ndarray:
    p = np.clip(LATE_P0 + shift * LATE_SD, 0.0, 1.0)
    return 100.0 * rng.binomial(LATE_N, p) / LATE_N


MODELS = {
    "normal": Model("normal", "points", 5.0, _normal),
    "poisson": Model("poisson", "deals", float(np.sqrt(3.0)), _poisson),
    "winrate": Model(
        "winrate", "%", 100 * float(np.sqrt(TRIALS * P0 * (1 - P0))) / TRIALS, _win_rate, 100.0
    ),
    "ratio": Model("ratio", "%", 100 * RATIO_SD, _ratio, 100.0, ratio=True),
    "zeroheavy": Model("zeroheavy", "%", 100 * LATE_SD, _late_share, 100.0),
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
    obs = obs[obs["value"].notna().to_numpy()].reset_index(drop=True)  # NaN: a missing week
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
    ("shift+1.5", "zeroheavy", "improving_shift", ">=", 0.80),
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


# --- whose change is it: shared moves, repeating patterns, carry-over, gaps -------------

WHOSE = (
    "team+1.5",
    "own+1.5",
    "flat-vs-team",
    "ramp",
    "ar0.5",
    "missing25",
    "poisson0.5",
)


def _quarter_week() -> np.ndarray:
    """Week of the quarter (0 = the quarter's first Monday) of every benchmark Monday."""
    start = MONDAYS.to_period("Q").start_time
    return np.asarray((MONDAYS - start).days // 7)


def ar_half(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` series of WEEKS points with lag-1 autocorrelation 0.5 and sd 5, mean 0."""
    e = rng.normal(0.0, 5.0 * np.sqrt(1 - 0.25), (n, WEEKS))
    x = np.empty((n, WEEKS))
    x[:, 0] = rng.normal(0.0, 5.0, n)
    for t in range(1, WEEKS):
        x[:, t] = 0.5 * x[:, t - 1] + e[:, t]
    return x


def simulate_whose(case: str, n: int, seed: int) -> tuple[str, np.ndarray, np.ndarray]:
    """(model, values (n, WEEKS), subjects: the rows the case's shares are taken over).

    Teams of :data:`TEAM_SIZE`; member 0 of each team is the subject of the personal
    cases. ``team+1.5``: every member +1.5 sd from the period's first week;
    ``own+1.5``: member 0 alone +1.5 sd; ``flat-vs-team``: every member but 0 +1.5 sd;
    ``ramp``: everyone -1.5 sd in a quarter's first week rising evenly to +1.5 sd in
    its 13th, every quarter; ``ar0.5``: each week carries half of the last (lag-1
    autocorrelation 0.5, sd 5); ``missing25``: a quarter of the weeks missing at random;
    ``poisson0.5``: weekly counts with mean 0.5.
    """
    rng = np.random.default_rng(seed + 1000 + 100 * WHOSE.index(case))
    week = np.arange(WEEKS)
    member = np.arange(n) % TEAM_SIZE
    everyone = np.ones(n, dtype=bool)
    if case == "poisson0.5":
        return "poisson", rng.poisson(0.5, (n, WEEKS)).astype(float), everyone
    if case == "ar0.5":
        return "normal", 50.0 + ar_half(rng, n), everyone
    step = np.where(week >= FIRST_REVIEW, 1.5, 0.0)
    shift = np.zeros((n, WEEKS))
    subjects = everyone
    if case == "team+1.5":
        shift[:] = step
    elif case == "own+1.5":
        shift[member == 0] = step
        subjects = member == 0
    elif case == "flat-vs-team":
        shift[member != 0] = step
        subjects = member == 0
    elif case == "ramp":
        shift[:] = -1.5 + 3.0 * np.minimum(_quarter_week(), 12) / 12
    values = _normal(rng, shift)
    if case == "missing25":
        values[rng.random((n, WEEKS)) < 0.25] = np.nan
    return "normal", values, subjects


def whose_rates(summary: pd.DataFrame, subjects: np.ndarray) -> dict[str, float]:
    """Shares over the subjects: found (a holding shift up), shifted (either way),
    named shared (a shared move that is not their own), found and named shared, named
    their own against a group move, and a trend told as their own (improving or
    worsening, judged against any repeating pattern, not named shared)."""
    people = summary[summary["scope"] == "employee"].sort_values("scope_id")
    people = people[subjects[: len(people)]]
    status = people["status"]
    none = pd.Series(None, index=people.index, dtype=object)  # columns an older kpinb lacks
    own = people.get("shared_own", none)
    shared = own.eq(False).to_numpy(dtype=bool)
    told = people["trend_direction"].isin(["improving", "worsening"]).to_numpy() & ~shared
    found = (status == "improving_shift").to_numpy()
    return {
        "found": float(found.mean()),
        "shifted": float(status.isin(["improving_shift", "worsening_shift"]).mean()),
        "shared": float(shared.mean()),
        "found_shared": float((found & shared).mean()),
        "own": float(own.eq(True).to_numpy(dtype=bool).mean()),
        "trend_own": float(told.mean()),
        "pattern": float(people.get("pattern_cycle", none).notna().mean()),
        "widened": float(people.get("limits_widened", none).eq(True).mean()),
        "n": float(len(people)),
    }


WHOSE_TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("team+1.5", "found_shared", ">=", 0.80),
    ("own+1.5", "found", ">=", 0.80),
    ("own+1.5", "shared", "<=", 0.10),
    ("flat-vs-team", "own", ">=", 0.70),
    ("ramp", "shifted", "<=", 0.05),
    ("ramp", "trend_own", "<=", 0.10),
    ("ar0.5", "shifted", "<=", 0.05),
    ("missing25", "shifted", "<=", 0.05),
    ("poisson0.5", "shifted", "<=", 0.05),
)
WHOSE_COLUMNS = (
    ("found", "found"),
    ("shifted", "shifted"),
    ("shared", "shared"),
    ("found_shared", "fnd+shr"),
    ("own", "own"),
    ("trend_own", "trend"),
    ("pattern", "pattern"),
    ("widened", "widened"),
)


def run_whose(case: str, n: int, seed: int) -> tuple[dict[str, float], float]:
    """Rates for one "whose change" case and the seconds ``analyse`` took."""
    model, values, subjects = simulate_whose(case, n, seed)
    ws = build_workspace(model, values)
    start = time.perf_counter()
    result = analyse(ws, PERIOD)
    seconds = time.perf_counter() - start
    return whose_rates(result.summary, subjects), seconds


def whose_table(n: int, seed: int) -> list[str]:
    """Print the "whose change" table; return its PASS/FAIL lines."""
    print("\nwhose change is it (normal sd 5 unless Poisson; teams of 10; shares in %):")
    print("found = holding shift up; shared = named a shared move, not their own;")
    print("fnd+shr = both; own = named their own against a group move; trend = a trend")
    print("told as their own; pattern = a repeating pattern found; widened = carry-over")
    header = f"{'case':<14}{'subjects':>9}" + "".join(f"{lb:>9}" for _, lb in WHOSE_COLUMNS)
    print(header + f"{'analyse s':>11}")
    checks = []
    for case in WHOSE:
        r, seconds = run_whose(case, n, seed)
        cells = "".join(f"{100 * r[m]:>9.1f}" for m, _ in WHOSE_COLUMNS)
        print(f"{case:<14}{int(r['n']):>9}" + cells + f"{seconds:>11.2f}")
        checks += target_lines(case, r, WHOSE_TARGETS)
    return checks


def target_lines(
    case: str, r: dict[str, float], targets: tuple[tuple[str, str, str, float], ...]
) -> list[str]:
    """The PASS/FAIL line of each (case, metric, comparison, threshold) target of ``case``."""
    lines = []
    for c, metric, op, threshold in targets:
        if c == case:
            ok = meets(r[metric], op, threshold)
            lines.append(
                f"  {'PASS' if ok else 'FAIL'}  {case:<14}{metric:<16}"
                f"{100 * r[metric]:6.1f} %  target {op} {100 * threshold:g} %"
            )
    return lines


# "over time": a slow climb no single quarter shows, against noise over the same span
OVER_TIME = ("noise", "climb+0.3/q", "ar0.5", "poisson")
OVER_TIME_TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("noise", "improving", "<=", 0.05),
    ("climb+0.3/q", "improving", ">=", 0.80),
    ("ar0.5", "improving", "<=", 0.05),
    ("poisson", "improving", "<=", 0.05),
)


def simulate_over_time(case: str, n: int, seed: int) -> tuple[str, np.ndarray]:
    """(model, values (n, WEEKS)). ``climb+0.3/q``: flat, then +0.3 sd in each of the
    last four quarters (+0.3, +0.6, +0.9, +1.2 sd in the review quarter), so no single
    quarter moves more than 0.3 sd from the one before; ``noise`` (normal sd 5),
    ``ar0.5`` (lag-1 autocorrelation 0.5) and ``poisson`` (mean 3) are flat."""
    rng = np.random.default_rng(seed + 5000 + 100 * OVER_TIME.index(case))
    if case == "poisson":
        return "poisson", rng.poisson(3.0, (n, WEEKS)).astype(float)
    if case == "ar0.5":
        return "normal", 50.0 + ar_half(rng, n)
    steps = np.zeros(WEEKS)
    if case == "climb+0.3/q":
        quarter_from_end = (WEEKS - 1 - np.arange(WEEKS)) // REVIEW  # 0: the review quarter
        steps = np.where(quarter_from_end < 4, 0.3 * (4 - quarter_from_end), 0.0)
    return "normal", 50.0 + 5.0 * steps + rng.normal(0.0, 5.0, (n, WEEKS))


def over_time_table(n: int, seed: int) -> list[str]:
    """Print the "over time" table (share told improving / worsening over time, and any
    holding shift); return its PASS/FAIL lines."""
    print("\nover time (normal sd 5 unless Poisson; shares in %):")
    print("improving / worsening = told so across quarters; shifted = a holding shift")
    print(f"{'case':<14}{'improving':>10}{'worsening':>10}{'shifted':>9}{'analyse s':>11}")
    checks = []
    for case in OVER_TIME:
        model, values = simulate_over_time(case, n, seed)
        ws = build_workspace(model, values)
        start = time.perf_counter()
        people = analyse(ws, PERIOD).summary
        seconds = time.perf_counter() - start
        people = people[people["scope"] == "employee"]
        r = {
            "improving": float((people["over_time"] > 0).mean()),
            "worsening": float((people["over_time"] < 0).mean()),
            "shifted": float(people["status"].isin(["improving_shift", "worsening_shift"]).mean()),
        }
        print(
            f"{case:<14}{100 * r['improving']:>10.1f}{100 * r['worsening']:>10.1f}"
            f"{100 * r['shifted']:>9.1f}{seconds:>11.2f}"
        )
        checks += target_lines(case, r, OVER_TIME_TARGETS)
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="series (people) per case")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--only",
        choices=("all", "status", "whose", "over-time"),
        default="all",
        help="which tables",
    )
    args = parser.parse_args()
    print(f"n={args.n} series per case, seed={args.seed}, {WEEKS} weekly points, period {PERIOD}")
    print("shares in %; shifted = improving + worsening; any_chg = shifted + returned;")
    print("beyond = usual range states a limit beyond a natural boundary (noise cases);")
    print("bounded = a limit was replaced by a natural boundary")
    header = f"{'case':<12}{'model':<9}" + "".join(f"{label:>9}" for _, label in COLUMNS)
    print(header + f"{'analyse s':>11}")
    checks: list[str] = []
    failed = 0
    for case in CASES if args.only in ("all", "status") else ():
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
    if args.only in ("all", "whose"):
        checks += whose_table(args.n, args.seed)
    if args.only in ("all", "over-time"):
        checks += over_time_table(args.n, args.seed)
    failed = sum(line.startswith("  FAIL") for line in checks)
    print("\ntargets:")
    print("\n".join(checks))
    print(f"\nsummary: {len(checks) - failed}/{len(checks)} targets met ({failed} missed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
