"""Ratio KPIs: group rates are sum / sum, limits are a p (or Laney p') chart of the counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.analytics import analyse, rollup
from kpinb.kpis import KpiSpec
from kpinb.workspace import Workspace

RATE = KpiSpec(
    "win",
    "Win rate",
    "%",
    "up",
    "lagging",
    "result",
    "weekly",
    "mean",
    "o",
    "s",
    "won / engaged",
    measure="ratio",
    numerator="deals won",
    denominator="deals engaged",
)


def _members(rows: dict[str, tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"team_id": [t for t, _ in rows.values()], "department": [d for _, d in rows.values()]},
        index=pd.Index(list(rows), name="employee_id"),
    )


def test_team_and_department_rates_are_sum_over_sum() -> None:
    """6 Jul: E1 won 3 of 4 (75 %), E2 1 of 10 (10 %), E3 (team T2) 2 of 2 (100 %).
    Team T1 = (3 + 1) / (4 + 10) = 4 / 14 = 28.57 %, not the mean of 75 and 10 (42.5);
    department = (3 + 1 + 2) / (4 + 10 + 2) = 6 / 16 = 37.5 %."""
    members = _members({"E1": ("T1", "D"), "E2": ("T1", "D"), "E3": ("T2", "D")})
    num, den = [3.0, 1.0, 2.0], [4.0, 10.0, 2.0]
    obs = pd.DataFrame(
        {
            "employee_id": pd.Categorical(["E1", "E2", "E3"]),
            "kpi_id": pd.Categorical(["win"] * 3),
            "period": pd.to_datetime(["2026-07-06"] * 3),
            "value": [100 * a / b for a, b in zip(num, den, strict=True)],
            "numerator": num,
            "denominator": den,
        }
    )
    out = rollup.rollup_series(obs, members, {"win": RATE}).set_index(["scope", "scope_id"])
    assert np.isclose(out.loc[("team", "T1"), "value"], 100 * 4 / 14)
    assert out.loc[("team", "T1"), "denominator"] == 14
    assert np.isclose(out.loc[("team", "T2"), "value"], 100.0)
    assert np.isclose(out.loc[("department", "D"), "value"], 37.5)
    assert out.loc[("department", "D"), "denominator"] == 16


WEEKS = pd.date_range(end="2026-09-28", periods=80, freq="7D")  # Mondays; Q3 = last 13


def _workspace(seed: int = 3, people: int = 5, spread: float = 0.0) -> Workspace:
    """``people`` people of team T1 with a weekly win rate of 2-10 deals engaged."""
    rng = np.random.default_rng(seed)
    ids = [f"E{i}" for i in range(people)]
    rows = []
    for e in ids:
        for week in WEEKS:
            n = int(rng.integers(2, 11))
            p = float(np.clip(0.4 + rng.normal(0, spread), 0, 1))
            x = int(rng.binomial(n, p))
            rows.append((e, "win", week, 100 * x / n, float(x), float(n)))
    obs = pd.DataFrame(
        rows, columns=["employee_id", "kpi_id", "period", "value", "numerator", "denominator"]
    )
    obs["employee_id"] = obs["employee_id"].astype("category")
    obs["kpi_id"] = obs["kpi_id"].astype("category")
    people_frame = pd.DataFrame(
        {
            "employee_id": ids,
            "name": ids,
            "team_id": "T1",
            "manager_id": pd.NA,
            "role": "sales",
            "start_date": pd.Timestamp("2024-01-01"),
        }
    )
    teams = pd.DataFrame({"team_id": ["T1"], "name": ["North"], "department": ["Sales"]})
    return Workspace.from_tables({"win": RATE}, people_frame, teams, obs)


def _p_chart(x: np.ndarray, n: np.ndarray, review: int = 13) -> tuple[float, float, np.ndarray]:
    """p-bar, sigma_Z (at least 1) and the limits of every point, worked out directly:
    baseline = the 40 points before the last ``review``; z_i = (p_i - p-bar) /
    sqrt(p-bar (1 - p-bar) / n_i); sigma_Z = mean |z_i - z_i-1| / 1.128 (moving ranges
    above 3.267 x their mean left out once); limits p-bar -/+ 3 sigma_Z sqrt(p-bar
    (1 - p-bar) / n_i), within 0..1."""
    base = slice(len(x) - review - 40, len(x) - review)
    p_bar = x[base].sum() / n[base].sum()
    z = (x[base] / n[base] - p_bar) / np.sqrt(p_bar * (1 - p_bar) / n[base])
    mr = np.abs(np.diff(z))
    mr = mr[mr <= 3.267 * mr.mean() * (1 + 1e-9)]
    sigma_z = max(mr.mean() / 1.128, 1.0)
    width = 3 * sigma_z * np.sqrt(p_bar * (1 - p_bar) / n)
    return p_bar, sigma_z, np.stack([np.clip(p_bar - width, 0, 1), np.clip(p_bar + width, 0, 1)])


def _check(a, scope: str, sid: str, x: np.ndarray, n: np.ndarray) -> None:
    p_bar, sigma_z, limits = _p_chart(x, n)
    row = a.summary.set_index(["scope", "scope_id"]).loc[(scope, sid)]
    assert np.isclose(row["centre"], 100 * p_bar)
    assert np.isclose(row["sigma_z"], sigma_z)
    assert row["chart"] == ("p'" if sigma_z > 1 else "p")
    pts = a.points[(a.points["scope"] == scope) & (a.points["scope_id"] == sid)]
    assert np.allclose(pts["denominator"].to_numpy(), n)
    assert np.allclose(pts["lower"].to_numpy()[-53:], 100 * limits[0][-53:])
    assert np.allclose(pts["upper"].to_numpy()[-53:], 100 * limits[1][-53:])


def test_limits_of_a_rate_are_a_p_chart_of_its_counts() -> None:
    ws = _workspace()
    a = analyse(ws, "2026-Q3")
    obs = ws.observations
    team = obs.groupby("period")[["numerator", "denominator"]].sum()
    _check(a, "team", "T1", team["numerator"].to_numpy(), team["denominator"].to_numpy())
    team_pts = a.points[a.points["scope"] == "team"]
    assert np.allclose(team_pts["value"].to_numpy(), 100 * team["numerator"] / team["denominator"])
    one = obs[obs["employee_id"] == "E2"]
    _check(a, "employee", "E2", one["numerator"].to_numpy(), one["denominator"].to_numpy())


def test_overdispersed_rates_widen_to_laney_p_prime() -> None:
    """Weekly win chances that wander (sd 0.2 around 0.4) make z vary more than the
    counts explain: sigma_Z > 1 and the chart is p'."""
    ws = _workspace(seed=5, people=1, spread=0.25)
    a = analyse(ws, "2026-Q3")
    one = ws.observations
    _check(a, "employee", "E0", one["numerator"].to_numpy(), one["denominator"].to_numpy())
    assert a.summary.iloc[0]["chart"] == "p'"


def test_a_team_rate_with_a_member_without_cases_is_not_a_gap() -> None:
    """E2 has no deal on 13 Jul (no row): the team's rate that week is the others' sum /
    sum, a complete date, not left out as if members were missing."""
    ws = _workspace()
    obs = ws.observations
    away = (obs["employee_id"] == "E2") & (obs["period"] == pd.Timestamp("2026-07-13"))
    ws = Workspace.from_tables(ws.kpis, ws.people, ws.teams, obs[~away.to_numpy()])
    a = analyse(ws, "2026-Q3")
    week = a.points[(a.points["scope"] == "team") & (a.points["period"] == "2026-07-13")]
    others = obs[(obs["period"] == pd.Timestamp("2026-07-13")) & ~away]
    assert not week["incomplete"].iloc[0] and week["n"].iloc[0] == 4
    expected = 100 * others["numerator"].sum() / others["denominator"].sum()
    assert np.isclose(week["value"].iloc[0], expected)
    team = a.summary[a.summary["scope"] == "team"].iloc[0]
    assert team["missing_in_period"] == 0


def test_a_rates_level_is_its_cases_and_its_period_range_is_a_p_chart_of_them() -> None:
    """The quarter's level is sum won / sum engaged (not the mean of weekly rates), and
    the usual range a card states for the quarter is p-bar -/+ 3 sigma_Z sqrt(p-bar
    (1 - p-bar) / N), N the quarter's deals engaged: worked out here from the counts."""
    ws = _workspace(seed=5, people=1, spread=0.25)
    a = analyse(ws, "2026-Q3")
    one = ws.observations
    x, n = one["numerator"].to_numpy(), one["denominator"].to_numpy()
    p_bar, sigma_z, _ = _p_chart(x, n)
    row = a.summary.iloc[0]
    big_n = n[-13:].sum()
    assert np.isclose(row["level"], 100 * x[-13:].sum() / big_n)
    assert not np.isclose(row["level"], (100 * x[-13:] / n[-13:]).mean())
    width = 3 * sigma_z * np.sqrt(p_bar * (1 - p_bar) / big_n)
    assert row["period_denominator"] == big_n
    assert np.isclose(row["period_lower"], 100 * max(p_bar - width, 0))
    assert np.isclose(row["period_upper"], 100 * min(p_bar + width, 1))
    prev_x, prev_n = x[-26:-13], n[-26:-13]
    assert np.isclose(row["prev_level"], 100 * prev_x.sum() / prev_n.sum())


def _quarter_at(ws: Workspace, p: float, seed: int = 11) -> Workspace:
    """The last 13 weeks of E0 redrawn with win chance ``p``: the same 2-10 deals a
    week, each week a binomial draw."""
    rng = np.random.default_rng(seed)
    obs = ws.observations.copy()
    last = obs["period"] >= WEEKS[-13]
    n = obs.loc[last, "denominator"].to_numpy()
    x = rng.binomial(n.astype(int), p).astype(float)
    obs.loc[last, "numerator"] = x
    obs.loc[last, "value"] = 100 * x / n
    return Workspace.from_tables(ws.kpis, ws.people, ws.teams, obs)


def test_a_rate_beyond_the_range_for_its_cases_is_a_shift_of_the_period() -> None:
    """A win chance of 0.4 falling to 0.15 for the whole quarter (about 80 deals): the
    quarter's rate is far below the range its 0.4 gives for that many deals, so the
    status is a shift down, its size the quarter's rate minus the usual level, whether
    or not the weekly CUSUM alone would have called it. A quarter at the usual chance
    stays routine and within the range."""
    base = _workspace(seed=3, people=1)
    down = analyse(_quarter_at(base, 0.15), "2026-Q3").summary.iloc[0]
    assert down["level"] < down["period_lower"]
    assert down["status"] == "worsening_shift"
    assert down["shift_size"] < 0
    same = analyse(_quarter_at(base, 0.4), "2026-Q3").summary.iloc[0]
    assert same["period_lower"] <= same["level"] <= same["period_upper"]
    assert same["status"] == "routine"
