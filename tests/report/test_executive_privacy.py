"""Executive privacy against subtraction: no figure an executive view shows, less the
figures of its sibling teams, gives a withheld group's or a person's value.

Three hand-worked cases (a person's value, a mean, a suppressed team's sum), then a
property test over generated departments that tries every such difference, per date
and per period figure, in every executive view.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from kpinb.analytics import Analysis, analyse
from kpinb.periods import parse_period
from kpinb.report import build_report, chart_data, charts
from kpinb.report.facade import period_analysis
from kpinb.workspace import Workspace
from tests.support import synthetic as syn

PERIOD = "2026-Q3"
LAST = syn.MONDAYS[-1]  # the latest week


def _values(seed: int, n: int = 52) -> np.ndarray:
    """Weekly values between 100 and 120 (2 decimals): a sum of k people lies in
    [100 k, 120 k], so sums over 1-4 people and over 5 or more never meet."""
    return np.round(np.random.default_rng(seed).uniform(100, 120, n), 2)


def _workspace(
    members: dict[str, list[str]],
    kpis: dict[str, str],
    departments: dict[str, str] | None = None,
    seed: int = 0,
) -> Workspace:
    """Teams of people (``members``: team -> people), every person a value of every
    KPI (``kpis``: id -> rollup) on each of the 52 Mondays; teams in D1 unless
    ``departments`` says otherwise."""
    teams = {p: t for t, people in members.items() for p in people}
    series = {
        (p, k): _values(seed + 100 * i + j)
        for i, p in enumerate(sorted(teams))
        for j, k in enumerate(sorted(kpis))
    }
    ws = syn.workspace(series, {k: syn.spec(k, rollup=r) for k, r in kpis.items()}, teams)
    depts = departments or {}
    table = pd.DataFrame(
        {
            "team_id": list(members),
            "name": list(members),
            "department": [depts.get(t, "D1") for t in members],
        }
    )
    return Workspace.from_tables(ws.kpis, ws.people, table, ws.observations)


def _set_week(ws: Workspace, kpi: str, values: dict[str, float | None]) -> Workspace:
    """``ws`` with the latest week's values of ``kpi`` set (None: no value)."""
    obs = ws.observations.copy()
    for who, value in values.items():
        at = (
            (obs["employee_id"] == who) & (obs["kpi_id"] == kpi) & (obs["period"] == LAST)
        ).to_numpy()
        if value is None:
            obs = obs[~at]
        else:
            obs.loc[at, "value"] = value
    obs = obs.reset_index(drop=True)
    return Workspace.from_tables(ws.kpis, ws.people, ws.teams, obs)


def _latest(result: Analysis, scope: str, sid: str) -> pd.Series:
    rows = result.summary
    return rows[(rows["scope"] == scope) & (rows["scope_id"].astype(str) == sid)].iloc[0]


def _exec_twin(ws: Workspace, scope: str, sid: str) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(charts, "to_svg", lambda chart: "<svg></svg>")
        return build_report(ws, scope, sid, PERIOD, "executive").to_json()


def _exec_dates(result: Analysis, sid: str) -> set[pd.Timestamp]:
    pts = result.executive_analysis.points
    return set(pts.loc[pts["scope_id"].astype(str) == sid, "period"])


def test_a_department_less_its_shown_team_never_gives_one_persons_latest_value() -> None:
    """D1 = T1 (5 people) + T2 (6). In the latest week only E0 of T1 reported (123.45);
    T2's six sent 100 x 5 and 105 (605). Unmasked, D1's latest 728.45 less T2's 605 is
    E0's 123.45. The executive views hide T1's week (1 person) and so D1's week too:
    D1's latest is withheld, T2's (6 people) stays."""
    t1, t2 = [f"E{i}" for i in range(5)], [f"F{i}" for i in range(6)]
    ws = _workspace({"T1": t1, "T2": t2}, {"k": "sum"})
    week = (
        {"E0": 123.45} | dict.fromkeys(t1[1:]) | dict(zip(t2, [100.0] * 5 + [105.0], strict=True))
    )
    ws = _set_week(ws, "k", week)
    raw = analyse(ws, PERIOD)
    d1, team2 = _latest(raw, "department", "D1"), _latest(raw, "team", "T2")
    assert d1["latest_value"] == pytest.approx(728.45) and team2["latest_value"] == 605
    assert d1["latest_value"] - team2["latest_value"] == pytest.approx(123.45)  # the leak

    twin = _exec_twin(ws, "department", "D1")
    block = twin["kpis"][0]
    assert block["latest"] is None and "latest" in block["withheld"]
    teams = {t["team_id"]: t["kpis"][0] for t in twin["teams"]}
    assert teams["T1"]["latest"] is None
    assert teams["T2"]["latest"] == {"period": "2026-09-28", "value": 605.0, "in_period": True}
    result = period_analysis(ws, parse_period(PERIOD))
    assert LAST not in _exec_dates(result, "D1") | _exec_dates(result, "T1")
    assert LAST in _exec_dates(result, "T2") and syn.MONDAYS[-2] in _exec_dates(result, "D1")
    assert _exec_twin(ws, "team", "T2")["kpis"][0]["latest"]["value"] == 605.0


def test_a_mean_times_its_count_less_the_shown_teams_gives_nothing_either() -> None:
    """A mean KPI: in the latest week E0 (T1's only one that week) sent 9.87 and T2's six
    6.12 each. D1's mean (9.87 + 6 x 6.12) / 7 = 6.6557 times 7 less 6.12 x 6 is 9.87.
    D1's latest is withheld in the executive views."""
    t1, t2 = [f"E{i}" for i in range(5)], [f"F{i}" for i in range(6)]
    ws = _workspace({"T1": t1, "T2": t2}, {"m": "mean"})
    ws = _set_week(ws, "m", {"E0": 9.87} | dict.fromkeys(t1[1:]) | dict.fromkeys(t2, 6.12))
    raw = analyse(ws, PERIOD)
    d1, team2 = _latest(raw, "department", "D1"), _latest(raw, "team", "T2")
    assert d1["latest_value"] == pytest.approx((9.87 + 6 * 6.12) / 7)
    assert d1["latest_value"] * 7 - team2["latest_value"] * 6 == pytest.approx(9.87)

    block = _exec_twin(ws, "department", "D1")["kpis"][0]
    assert block["latest"] is None and "latest" in block["withheld"]
    result = period_analysis(ws, parse_period(PERIOD))
    assert LAST not in _exec_dates(result, "D1") and LAST in _exec_dates(result, "T2")


def test_a_suppressed_teams_sum_is_not_the_department_less_a_sibling() -> None:
    """T1 (3 people) is suppressed and T2 (4) with it, so that D1 less T3 (6) gives only
    their sum over 7 people. In the latest week T2 sent nothing: D1 (306.5 + 600) less
    T3 (600) would be T1's exact sum 306.5 (101 + 102 + 103.5). That week of D1 is
    hidden (its latest withheld); the weeks both hidden teams reported stay shown."""
    t1, t2, t3 = ["A0", "A1", "A2"], ["B0", "B1", "B2", "B3"], [f"C{i}" for i in range(6)]
    ws = _workspace({"T1": t1, "T2": t2, "T3": t3}, {"k": "sum"})
    week = (
        dict(zip(t1, [101.0, 102.0, 103.5], strict=True))
        | dict.fromkeys(t2)
        | dict.fromkeys(t3, 100.0)
    )
    ws = _set_week(ws, "k", week)
    raw = analyse(ws, PERIOD)
    d1, team3 = _latest(raw, "department", "D1"), _latest(raw, "team", "T3")
    assert d1["latest_value"] - team3["latest_value"] == pytest.approx(306.5)  # the leak

    twin = _exec_twin(ws, "department", "D1")
    assert twin["teams_not_shown"] == 2 and [t["team_id"] for t in twin["teams"]] == ["T3"]
    block = twin["kpis"][0]
    assert block["latest"] is None and "latest" in block["withheld"]
    assert block["level"] is not None  # the latest week lacks T2: incomplete, not in the level
    result = period_analysis(ws, parse_period(PERIOD))
    shown = _exec_dates(result, "D1")
    assert LAST not in shown and set(syn.MONDAYS[:-1]) <= shown


# --- every difference, over generated departments ----------------------------------------

SIZE = 5
KPIS = {"s": "sum", "m": "mean"}


@hs.composite
def departments(draw: hs.DrawFn) -> Workspace:
    """One or two departments of 2-4 teams of 1-8 people; every person has values of a
    sum and a mean KPI each week, with gaps: random ones, and a few thin weeks per team
    (most of its members silent, sometimes all) late in the data."""
    members: dict[str, list[str]] = {}
    depts: dict[str, str] = {}
    for d in range(draw(hs.integers(1, 2))):
        for _ in range(draw(hs.integers(2, 4))):
            team = f"T{len(members)}"
            depts[team] = f"D{d + 1}"
            size = draw(hs.integers(1, 8))
            members[team] = [f"{team}P{i}" for i in range(size)]
    seed = draw(hs.integers(0, 2**31))
    ws = _workspace(members, KPIS, depts, seed)
    rng = np.random.default_rng(seed)
    obs = ws.observations
    who, when = obs["employee_id"].astype(str).to_numpy(), obs["period"].to_numpy()
    drop = rng.random(len(obs)) < rng.uniform(0, 0.12)
    for people in members.values():
        for week in rng.choice(np.arange(30, 52), size=3, replace=False):
            keep = rng.uniform(0, 0.6)
            drop |= (
                np.isin(who, people) & (when == syn.MONDAYS[week]) & (rng.random(len(obs)) > keep)
            )
    obs = obs[~drop].reset_index(drop=True)
    return Workspace.from_tables(ws.kpis, ws.people, ws.teams, obs)


def _recorded(ws: Workspace) -> tuple[list[dict[str, Any]], list[tuple[str, str, pd.DataFrame]]]:
    """Every executive view's twin, and every chart's points: (scope id, KPI, frame with
    period and value; a small multiple's panels carry ``member``)."""
    frames: list[tuple[str, str, pd.DataFrame]] = []
    trend, multiples = chart_data.trend_data, chart_data.multiples_data

    def on_trend(part: Analysis, block: dict[str, Any], per: Any) -> Any:
        out = trend(part, block, per)
        if out is not None:
            sid = str(part.summary["scope_id"].iloc[0])
            frames.append((sid, block["kpi_id"], out.frame.assign(member=sid)))
        return out

    def on_multiples(part: Analysis, kpi: str, *args: Any, **kwargs: Any) -> Any:
        out = multiples(part, kpi, *args, **kwargs)
        if out is not None:
            frames.append(("", kpi, out.frame))
        return out

    twins = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(charts, "to_svg", lambda chart: "<svg></svg>")
        patch.setattr(chart_data, "trend_data", on_trend)
        patch.setattr(chart_data, "multiples_data", on_multiples)
        for team in ws.teams["team_id"].astype(str):
            twins.append(build_report(ws, "team", team, PERIOD, "executive").to_json())
        for dept in sorted(set(ws.teams["department"].astype(str))):
            twins.append(build_report(ws, "department", dept, PERIOD, "executive").to_json())
    return twins, frames


# a period figure of a KPI block: (name, how to read it from the block, raw column, the
# raw column of the fewest contributors at one date behind it)
_PERIOD_FIGURES: tuple[tuple[str, Callable[[dict[str, Any]], Any], str, str], ...] = (
    ("level", lambda b: (b["level"] or {}).get("value"), "level", "n_min"),
    ("prev", lambda b: (b["change"] or {}).get("previous"), "prev_level", "prev_n_min"),
    ("yoy", lambda b: (b["year_change"] or {}).get("previous"), "yoy_level", "yoy_n_min"),
    ("centre", lambda b: (b["limits"] or {}).get("centre"), "centre", "baseline_min_n"),
)
Shown = dict[tuple[str, str, Any], float]


def _shown(ws: Workspace) -> tuple[Shown, Shown]:
    """What the executive views show, as the twins and charts give it (rounded): per
    (group, KPI, date) a point's value (latest, signals, best, dip, chart points), per
    (group, KPI, period figure) its value."""
    twins, frames = _recorded(ws)
    dated: Shown = {}
    figures: Shown = {}
    for twin in twins:
        groups = [(twin["id"], twin["kpis"])]
        groups += [(t["team_id"], t["kpis"]) for t in twin.get("teams", [])]
        for sid, blocks in groups:
            for b in blocks:
                kpi, rec = b["kpi_id"], b["recovery"] or {}
                pairs = [((b["latest"] or {}).get("period"), (b["latest"] or {}).get("value"))]
                pairs += [(s["period"], s["value"]) for s in b["signals"]]
                pairs.append(((b["best"] or {}).get("period"), (b["best"] or {}).get("value")))
                pairs.append((rec.get("dip_period"), rec.get("dip_value")))
                for when, value in pairs:
                    if when is not None and value is not None:
                        dated[(sid, kpi, pd.Timestamp(when))] = value
                for name, read, _, _ in _PERIOD_FIGURES:
                    if (value := read(b)) is not None:
                        figures[(sid, kpi, name)] = value
    for _, kpi, frame in frames:
        for member, when, value in frame[["member", "period", "value"]].itertuples(index=False):
            if pd.notna(value):
                dated[(str(member), kpi, pd.Timestamp(when))] = float(value)
    return dated, figures


def _same(a: float, b: float) -> bool:
    """Equal but for floating-point error (the differences use exact figures)."""
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _differences(
    top: str, shown: list[str], exact: dict[str, float]
) -> list[tuple[tuple[str, ...], float]]:
    """``top`` less every subset of ``shown``, each figure's exact value in ``exact``."""
    out = []
    for k in range(len(shown) + 1):
        for subset in combinations(shown, k):
            out.append((subset, exact[top] - sum(exact[t] for t in subset)))
    return out


def _leaks(ws: Workspace) -> list[str]:
    """Every difference department - sum of some shown teams (a mean times its count),
    per date and per period figure, that gives a withheld value resting on fewer than
    SIZE people: a person's, a team's or a union of teams'.

    Which figures are shown comes from the views (twins and charts), each checked
    against the analysis' exact figure; the differences use the exact figures (an
    attacker with unrounded figures, so a match is an identity, not a coincidence)."""
    dated, figures = _shown(ws)
    raw = period_analysis(ws, parse_period(PERIOD))  # the one the views were built from
    assert raw.min_group_size == SIZE
    pts = raw.points[raw.points["scope"] != "employee"]
    point = {
        (str(s), str(k), pd.Timestamp(p)): (float(v), int(n))
        for s, k, p, v, n in pts[["scope_id", "kpi_id", "period", "value", "n"]].itertuples(
            index=False
        )
    }
    rows = raw.summary.assign(scope_id=raw.summary["scope_id"].astype(str))
    rows = rows.set_index(["scope_id", "kpi_id"])
    out = [
        f"{key}: shown {value}, the analysis has {point[key][0]}"
        for key, value in dated.items()
        if abs(value - point[key][0]) > 0.5 * abs(value) * 1e-2 + 0.5
    ]
    obs = ws.observations.assign(employee_id=ws.observations["employee_id"].astype(str))
    team_of = ws.people.set_index("employee_id")["team_id"].astype(str)
    obs = obs.assign(team=obs["employee_id"].map(team_of), kpi_id=obs["kpi_id"].astype(str))
    # per (KPI, date, team): the members' values
    values: dict[tuple[str, pd.Timestamp, str], list[float]] = {}
    for kpi, when, team, value in obs[["kpi_id", "period", "team", "value"]].itertuples(
        index=False
    ):
        values.setdefault((kpi, pd.Timestamp(when), team), []).append(float(value))
    for dept, teams in ws.teams.groupby("department"):
        team_ids = teams["team_id"].astype(str).tolist()
        for kpi, rule in KPIS.items():
            for when in syn.MONDAYS:
                if (str(dept), kpi, when) not in dated:
                    continue
                week = {t: values.get((kpi, when, t), []) for t in team_ids}
                secrets = [v for vs in week.values() for v in vs]  # each person's value
                for k in range(1, len(team_ids) + 1):
                    for union in combinations(team_ids, k):
                        if 0 < sum(len(week[t]) for t in union) < SIZE:
                            secrets.append(sum(v for t in union for v in week[t]))
                shown = [t for t in team_ids if (t, kpi, when) in dated]
                total = {}  # a mean times its count: the sum it stands for
                for sid in [str(dept), *shown]:
                    value, n = point[(sid, kpi, when)]
                    total[sid] = value * n if rule == "mean" else value
                for subset, left in _differences(str(dept), shown, total):
                    if hits := [s for s in secrets if _same(left, s)]:
                        out.append(f"{dept} {kpi} {when.date()} less {subset}: {left} = {hits}")
            for name, _, column, rests_on in _PERIOD_FIGURES:
                if (str(dept), kpi, name) not in figures:
                    continue
                people = rows[
                    (rows["scope"] == "employee")
                    & rows.index.get_level_values(0).map(team_of).isin(team_ids)
                    & (rows.index.get_level_values(1) == kpi)
                ]
                secrets = [float(v) for v in people[column].dropna()]
                groups = rows[
                    (rows["scope"] == "team") & rows.index.isin([(t, kpi) for t in team_ids])
                ].dropna(subset=[column])
                scale = groups["n_people"] if rule == "mean" else 1
                one = groups[column] * scale
                secrets += one[(groups[rests_on] < SIZE) | (groups["n_people"] < SIZE)].tolist()
                for k in range(2, len(groups) + 1):
                    for union in combinations(groups.index, k):
                        if groups.loc[list(union), "n_people"].sum() < SIZE:
                            secrets.append(float(one[list(union)].sum()))
                shown = [t for t in team_ids if (t, kpi, name) in figures]
                figure = {}
                for sid in [str(dept), *shown]:
                    row = rows.loc[(sid, kpi)]
                    figure[sid] = float(row[column] * (row["n_people"] if rule == "mean" else 1))
                for subset, left in _differences(str(dept), shown, figure):
                    if hits := [s for s in secrets if _same(left, s)]:
                        out.append(f"{dept} {kpi} {name} less {subset}: {left} = {hits}")
    return out


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ws=departments())
def test_no_difference_of_shown_figures_gives_a_withheld_value(ws: Workspace) -> None:
    assert _leaks(ws) == []
