"""The composed analysis: one call for everyone, sliced per scope; demo archetypes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from kpinb.analytics import Analysis, analyse
from kpinb.kpis import KpiVersion
from kpinb.periods import period_of
from kpinb.workspace import Workspace
from tests.support.synthetic import MONDAYS, drop_weeks, late_joiners, noise, spec, workspace

VERDICTS = [
    "status",
    "signal_rules",
    "trend_direction",
    "streak_length",
    "best_period",
    "best_is_new",
    "recovered",
    "dip_period",
    "n_signals",
    "definition_version",
]


def row(result: Analysis, emp: str, kpi: str) -> pd.Series:
    s = result.summary
    return s[(s["scope"] == "employee") & (s["scope_id"] == emp) & (s["kpi_id"] == kpi)].iloc[0]


def mixed_series(sign: int = 1) -> dict[tuple[str, str], np.ndarray]:
    """Steady noise, a step up in the review period, a step down, a slow rise, a newcomer."""
    step = np.r_[np.zeros(39), np.full(13, 12.0)]
    return {
        ("E1", "k"): noise(1),
        ("E2", "k"): noise(2) + step,
        ("E3", "k"): noise(3) - step,
        ("E4", "k"): noise(4) + np.arange(52) * 0.6,
        ("E5", "k"): noise(5, n=4),
        ("E6", "k"): noise(6),
    }


def test_statuses_for_everyone_in_one_call() -> None:
    result = analyse(workspace(mixed_series(), {"k": spec("k")}), "2026-Q3")
    status = {e: row(result, e, "k")["status"] for e in ("E1", "E2", "E3", "E4", "E5")}
    assert status == {
        "E1": "routine",
        "E2": "improving_shift",
        "E3": "worsening_shift",
        "E4": "improving_shift",
        "E5": "not_enough_history",
    }
    assert row(result, "E4", "k")["trend_direction"] == "improving"
    # the baseline: the 39 weeks before the period (at most 40), locked
    assert row(result, "E2", "k")["baseline_n"] == 39
    assert row(result, "E2", "k")["baseline_end"] == MONDAYS[38]
    assert row(result, "E2", "k")["baseline_kind"] == "locked"
    # the step began in the period's first week, 12 above the usual level
    assert row(result, "E2", "k")["shift_onset"] == MONDAYS[39]
    assert row(result, "E2", "k")["shift_size"] == pytest.approx(
        (noise(2)[39:] + 12).mean() - noise(2)[:39].mean()
    )


def test_direction_symmetry_on_the_whole_pipeline() -> None:
    """Negating every value and flipping the KPI's direction gives the same verdicts."""
    series = mixed_series()
    up = analyse(workspace(series, {"k": spec("k", "up", unit="score")}), "2026-Q3")
    flipped = {key: -values for key, values in series.items()}
    down = analyse(workspace(flipped, {"k": spec("k", "down", unit="score")}), "2026-Q3")
    pd.testing.assert_frame_equal(up.summary[VERDICTS], down.summary[VERDICTS])
    assert up.summary["prev_change_oriented"].equals(down.summary["prev_change_oriented"])
    assert up.signals[["scope_id", "rule", "direction"]].equals(
        down.signals[["scope_id", "rule", "direction"]]
    )
    assert (up.summary["status"] != "routine").sum() >= 3  # the example has signals


def test_shift_and_scale_leave_verdicts_unchanged() -> None:
    series = mixed_series()
    base = analyse(workspace(series, {"k": spec("k", unit="score")}), "2026-Q3")
    moved = {key: 3.5 * v + 1000 for key, v in series.items()}
    other = analyse(workspace(moved, {"k": spec("k", unit="score")}), "2026-Q3")
    pd.testing.assert_frame_equal(base.summary[VERDICTS], other.summary[VERDICTS])


def test_missing_weeks_are_skipped_not_zero_filled() -> None:
    values = noise(7)
    ws = workspace({("E1", "k"): values, ("E2", "k"): noise(8)}, {"k": spec("k")})
    obs = ws.observations
    dropped = obs[~((obs["employee_id"] == "E1") & obs["period"].isin(MONDAYS[[45, 47]]))]
    ws = replace(ws, observations=dropped.reset_index(drop=True))
    r = row(analyse(ws, "2026-Q3"), "E1", "k")
    kept = np.delete(values[39:], [45 - 39, 47 - 39])
    assert r["level"] == pytest.approx(kept.mean())
    assert (r["n_in_period"], r["expected_in_period"], r["missing_in_period"]) == (11, 13, 2)
    assert not r["stale"]


def test_later_data_is_ignored() -> None:
    later = pd.date_range("2025-10-06", periods=60, freq="7D")  # runs into Q4 2026
    extended = {("E1", "k"): np.r_[noise(1), np.full(8, 500.0)]}
    a = analyse(workspace(extended, {"k": spec("k")}, dates=later), "2026-Q3")
    b = analyse(workspace({("E1", "k"): noise(1)}, {"k": spec("k")}), "2026-Q3")
    pd.testing.assert_frame_equal(a.summary, b.summary)


def test_definition_change_splits_the_series() -> None:
    """The definition changes on 2026-05-04: only the 22 later points count. 9 of them
    (May and June) lie before the review period, fewer than 20: trial limits from those
    9, and no shift verdict."""
    change = (KpiVersion(pd.Timestamp("2026-05-04"), "new formula"),)
    values = np.r_[noise(9, n=30, level=100), noise(10, n=22, level=50)]
    result = analyse(workspace({("E1", "k"): values}, {"k": spec("k", versions=change)}), "2026-Q3")
    r = row(result, "E1", "k")
    assert r["definition_version"] == 2
    assert r["n_points"] == 22 and r["baseline_start"] == pd.Timestamp("2026-05-04")
    assert r["baseline_kind"] == "trial" and r["baseline_n"] == 9
    assert r["centre"] == pytest.approx(values[30:39].mean())
    assert r["status"] == "not_enough_history"
    assert bool(r["prev_crosses_definition"]) and bool(r["yoy_crosses_definition"]) is False
    points = result.for_scope("employee", "E1").points
    assert points["current_version"].sum() == 22 and points["centre"].isna().sum() == 30


def test_implausible_values_are_excluded_and_counted() -> None:
    values = np.r_[noise(11, n=51, level=60), 140.0]
    result = analyse(workspace({("E1", "k"): values}, {"k": spec("k", unit="%")}), "2026-Q3")
    r = row(result, "E1", "k")
    assert r["out_of_range"] == 1 and r["latest_value"] == values[50]
    assert result.excluded["reason"].tolist() == ["above the plausible range"]


def test_team_rollups_and_suppression_with_executive_masking() -> None:
    """T1 has 6 people, T2 has 3 (both in D1): T2 is too small, and T1 is suppressed
    too so T2 cannot be worked out as D1 minus T1. The department (9) is shown."""
    series = {(f"E{i}", "k"): noise(i) for i in range(9)}
    teams = {f"E{i}": ("T1" if i < 6 else "T2") for i in range(9)}
    result = analyse(workspace(series, {"k": spec("k", rollup="sum")}, teams), "2026-Q3")
    groups = result.groups.set_index(["scope", "scope_id"])
    assert groups.loc[("team", "T2"), "reason"] == "fewer than 5 people"
    assert groups.loc[("team", "T1"), "reason"].startswith("complementary")
    assert not groups.loc[("department", "D1"), "suppressed"]
    team = result.for_scope("team", "T1")
    expected = sum(noise(i)[39:] for i in range(6)).mean()
    assert team.summary.loc[0, "level"] == pytest.approx(expected)  # own team view: shown
    assert team.summary.loc[0, "n_people"] == 6
    execv = result.executive().set_index("scope_id")
    assert np.isnan(execv.loc["T1", "level"]) and execv.loc["T1", "status"] == "suppressed"
    assert execv.loc["D1", "level"] == pytest.approx(sum(noise(i)[39:] for i in range(9)).mean())


def test_team_limits_come_from_the_rolled_up_series() -> None:
    """The team's centre is the mean of its weekly sums over its own baseline (the 39
    weeks before the period), and its moving ranges are those of the sums, the ones
    above 3.267 times their mean left out (second method by hand)."""
    series = {(f"E{i}", "k"): noise(i) for i in range(5)}
    result = analyse(workspace(series, {"k": spec("k", rollup="sum")}), "2026-Q3")
    sums = sum(noise(i) for i in range(5))[:39]
    team = result.for_scope("team", "T1").summary.iloc[0]
    ranges = np.abs(np.diff(sums))
    assert team["centre"] == pytest.approx(sums.mean())
    assert team["mr_bar"] == pytest.approx(ranges[ranges <= 3.267 * ranges.mean()].mean())
    assert team["n_people"] == 5 and not team["suppressed"]


def test_pairs_goals_and_slicing() -> None:
    kpis = {"lead": spec("lead", kind="leading", pair="lag"), "lag": spec("lag")}
    targets = pd.DataFrame(
        {
            "scope": ["employee"],
            "scope_id": ["E1"],
            "kpi_id": ["lag"],
            "period": ["2026-Q3"],
            "target": [60.0],
            "baseline": [np.nan],
        }
    )
    series = {("E1", "lead"): noise(1), ("E1", "lag"): noise(2), ("E2", "lag"): noise(3)}
    result = analyse(workspace(series, kpis, targets=targets), "2026-Q3")
    mine = result.for_scope("employee", "E1")
    assert set(mine.summary["kpi_id"]) == {"lead", "lag"}
    assert mine.pairs[["leading_kpi", "lagging_kpi"]].values.tolist() == [["lead", "lag"]]
    assert mine.pairs.loc[0, "lagging_level"] == pytest.approx(noise(2)[39:].mean())
    goal = mine.goals.iloc[0]
    prev = noise(2)[26:39].mean()
    assert goal["baseline"] == pytest.approx(prev)
    assert goal["score"] == pytest.approx(
        np.clip((noise(2)[39:].mean() - prev) / (60 - prev), 0, 1)
    )
    assert result.for_scope("employee", "E2").pairs.empty  # E2 has no leading KPI


# --- the demo workspace: each archetype is found -----------------------------------------


@pytest.fixture(scope="module")
def demo(demo_ws: Workspace) -> tuple[Workspace, pd.DataFrame, Analysis]:
    """The demo workspace (seed 7), its archetypes.csv, and its analysis for 2026-Q3."""
    archetypes = pd.read_csv(demo_ws.root / "archetypes.csv", dtype=str)
    return demo_ws, archetypes, analyse(demo_ws, "2026-Q3")


Demo = tuple[Workspace, pd.DataFrame, Analysis]


def _demo_rows(demo: Demo, archetype: str) -> list[pd.Series]:
    _, archetypes, result = demo
    who = archetypes[archetypes["archetype"] == archetype]
    assert not who.empty, f"the demo has no {archetype}"
    return [row(result, e, k) for e, k in zip(who["employee_id"], who["kpi_id"], strict=True)]


def test_demo_steady_improver_improves(demo: Demo) -> None:
    for r in _demo_rows(demo, "steady_improver"):
        assert r["status"] == "improving_shift" and r["trend_direction"] == "improving", r.to_dict()


def test_demo_noisy_but_stable_is_routine(demo: Demo) -> None:
    for r in _demo_rows(demo, "noisy_stable"):
        assert r["status"] == "routine", r.to_dict()


def test_demo_dependency_shift_is_a_worsening_shift_from_the_period_start(demo: Demo) -> None:
    """The demo steps these the wrong way at the start of the review quarter (its first
    Monday is 2026-06-29, in the week holding 1 July)."""
    for r in _demo_rows(demo, "dependency_shift"):
        assert r["status"] == "worsening_shift", r.to_dict()
        assert r["shift_direction"] == -1
        assert pd.Timestamp("2026-06-29") <= r["shift_onset"] <= pd.Timestamp("2026-07-13")


def test_demo_dip_and_recovery_recovers(demo: Demo) -> None:
    for r in _demo_rows(demo, "dip_and_recovery"):
        assert r["recovered"] and r["dip_period"] < r["recovered_period"], r.to_dict()
        # back at the usual level after a dip, not a rise against a baseline holding it
        assert r["status"] == "returned" and r["shift_direction"] == -1, r.to_dict()


def test_demo_new_hire_has_not_enough_history_at_first(demo: Demo) -> None:
    ws, archetypes, _ = demo
    hires = archetypes[archetypes["archetype"] == "new_hire"]
    assert not hires.empty
    for emp in sorted(set(hires["employee_id"])):
        obs = ws.observations[ws.observations["employee_id"] == emp]
        first = period_of(obs["period"].min())
        result = analyse(ws, first).for_scope("employee", emp)
        assert (result.summary["status"] == "not_enough_history").all(), first.label


# --- incomplete group dates and executive privacy ----------------------------------------


def test_a_team_week_with_members_missing_is_incomplete_not_a_fall() -> None:
    """Six steady people (about 50 a week each, sd 1); E0 has no value in weeks 44 and 47,
    E1 none in weeks 49 and 50 (all in 2026-Q3). Summed as they are, those weeks fall by
    about 50 against a usual sum near 300 with limits about +/- 7 wide: a "worsening
    signal, beyond the limit" that is only missing data. The team's usual count is 6
    (the median of its per-week counts), so those 4 weeks (5 contributors) are
    incomplete: marked, and left out of limits, signals and the period's level."""
    series = {(f"E{i}", "k"): noise(20 + i, sd=1) for i in range(6)}
    ws = workspace(series, {"k": spec("k", rollup="sum")})
    ws = drop_weeks(drop_weeks(ws, "E0", [44, 47]), "E1", [49, 50])
    result = analyse(ws, "2026-Q3")
    team = result.for_scope("team", "T1")
    pts = team.points.set_index("period")
    holes = MONDAYS[[44, 47, 49, 50]]
    assert list(pts.index[pts["incomplete"]]) == list(holes)
    assert (pts.loc[holes, "n"] == 5).all() and (pts.drop(holes)["n"] == 6).all()
    assert not pts.loc[holes, "signal"].any() and pts.loc[holes, "centre"].isna().all()
    summary = team.summary.iloc[0]
    assert team.signals.empty and summary["status"] == "routine"
    full = sum(noise(20 + i, sd=1) for i in range(6))  # weekly sums with everyone present
    complete = np.delete(np.arange(39, 52), [44 - 39, 47 - 39, 49 - 39, 50 - 39])
    assert summary["level"] == pytest.approx(full[complete].mean())
    assert summary["centre"] == pytest.approx(full[:39].mean())


def test_executive_withholds_figures_resting_on_fewer_than_five_people() -> None:
    """T1 counts 5 people in Q3, so it is shown, but before Q3 only E0 had values: its
    previous-quarter level would be E0's own Q2 average, noise(30)[26:39].mean(). Every
    figure resting on dates before Q3 (comparisons, limits from the first 20 weeks,
    bests) is withheld; its Q3 level and the trend over the last 13 weeks (all with 5
    people) stay. T2's week 45 has 4 contributors: never a chart point. D1 before Q3 is
    E0 and T2: D1 less T2 would give E0's own values, so D1's dates before Q3 are hidden
    and its figures resting on them withheld (its trend too: D1's week 45 is incomplete,
    so its last 13 complete weeks reach back into Q2)."""
    result = analyse(late_joiners(), "2026-Q3")
    manager = result.for_scope("team", "T1").summary.iloc[0]
    assert manager["prev_level"] == pytest.approx(noise(30)[26:39].mean())  # own team: shown
    ex = result.executive().set_index("scope_id")
    t1 = ex.loc["T1"]
    assert not t1["suppressed"] and t1["n_people"] == 5
    assert t1["withheld"] == "change,limits,history"  # no data a year earlier: nothing to hide
    for column in ("prev_level", "prev_change", "yoy_level", "centre", "upper", "best_value"):
        assert np.isnan(t1[column]), column
    assert t1["status"] == "withheld" and t1["streak_length"] == 0
    q3 = np.mean([noise(30)[39:], *(noise(30 + i, n=13) for i in range(1, 5))], axis=0)
    assert t1["level"] == pytest.approx(q3.mean())
    assert not np.isnan(t1["trend_slope"]) and t1["trend_n"] == 13
    assert ex.loc["T2", "withheld"] == ""
    assert ex.loc["D1", "withheld"] == "change,trend,limits,history"
    points = result.executive_analysis.points
    assert (points["n"] >= 5).all()
    t1_points = points[points["scope_id"] == "T1"]
    assert len(t1_points) == 13 and t1_points["centre"].isna().all()
    t2_dates = points.loc[points["scope_id"] == "T2", "period"]
    assert MONDAYS[45] not in set(t2_dates) and len(t2_dates) == 51
    assert result.executive_analysis.signals["scope_id"].isin(["T2", "D1"]).all()


def test_goal_baseline_is_not_taken_across_a_definition_change() -> None:
    """The definition changes on 2026-05-04, so 2026-Q2 mixes old points (April, level
    about 100) and new ones: its level is no starting point for a Q3 target."""
    change = (KpiVersion(pd.Timestamp("2026-05-04"), "new formula"),)
    values = np.r_[noise(9, n=30, level=100), noise(10, n=22, level=50)]
    targets = pd.DataFrame(
        {
            "scope": ["employee"],
            "scope_id": ["E1"],
            "kpi_id": ["k"],
            "period": ["2026-Q3"],
            "target": [55.0],
            "baseline": [np.nan],
        }
    )
    ws = workspace({("E1", "k"): values}, {"k": spec("k", versions=change)}, targets=targets)
    goal = analyse(ws, "2026-Q3").goals.iloc[0]
    assert goal["baseline_source"] == "crosses_definition_change"
    assert np.isnan(goal["baseline"]) and np.isnan(goal["score"])
    assert goal["current"] == pytest.approx(values[39:].mean())


def test_a_series_without_values_in_the_period_has_status_no_data() -> None:
    """E1 rose steadily (0.6 a week) until week 38 and then sent nothing in 2026-Q3:
    its status is no_data, not routine or a signal; E2, with values, is routine."""
    series = {("E1", "k"): noise(1) + np.arange(52) * 0.6, ("E2", "k"): noise(2)}
    ws = drop_weeks(workspace(series, {"k": spec("k")}), "E1", list(range(39, 52)))
    result = analyse(ws, "2026-Q3")
    e1 = row(result, "E1", "k")
    assert e1["status"] == "no_data" and e1["n_in_period"] == 0 and np.isnan(e1["level"])
    assert e1["missing_in_period"] == 13
    assert row(result, "E2", "k")["status"] == "routine"


def test_a_team_that_shrinks_is_not_incomplete_after_the_change() -> None:
    """E5 leaves after week 30: from week 31 on the team has 5 contributors, its new
    usual count (the median over 9 points around each date), so no date is incomplete
    and the Q3 level is the mean of the 5 remaining people's weekly sums."""
    series = {(f"E{i}", "k"): noise(20 + i, sd=1) for i in range(6)}
    ws = drop_weeks(workspace(series, {"k": spec("k", rollup="sum")}), "E5", list(range(31, 52)))
    team = analyse(ws, "2026-Q3").for_scope("team", "T1")
    assert not team.points["incomplete"].any()
    five = sum(noise(20 + i, sd=1) for i in range(5))
    assert team.summary.loc[0, "level"] == pytest.approx(five[39:].mean())


def test_a_dip_is_a_point_on_the_unfavourable_side() -> None:
    """Baseline alternates 10, 12: centre 11, mean moving range 2, limits 11 +- 5.32, so a
    point is "closer to the lower limit" below 11 - 2.66 = 8.34. Three 8s then a 12 in the
    review period: the 3-of-4 windows ending on the third 8 and on the 12 both hit, but
    the 12 lies above the centre, so the dip is the third 8 (value 8), not the 12."""
    values = [10.0, 12.0] * 22 + [8.0, 8.0, 8.0, 12.0, 10.0, 12.0, 10.0, 12.0]
    ws = workspace({("E1", "k"): values}, {"k": spec("k")})
    row = analyse(ws, "2026-Q3").summary.query("scope == 'employee' and kpi_id == 'k'").iloc[0]
    assert row["dip_value"] == 8.0
    assert row["dip_period"] == MONDAYS[46]  # the third 8
    assert row["recovered"]


def test_team_charts_leave_out_incomplete_weeks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same six people as above: the team's trend chart and its members' small
    multiples carry no value for the 4 weeks where a member sent none, so a sum that
    falls only because data is missing is never drawn as a dip."""
    from kpinb.report import facade as report
    from kpinb.report.render import ChartBlock
    from kpinb.report.sections import kpis, team

    drawn: list[dict] = []

    def capture(chart, description, caption="", narrow=None):  # the spec, not its SVG
        drawn.append(chart.to_dict())
        return ChartBlock("", description, caption)

    monkeypatch.setattr(kpis, "chart_block", capture)
    monkeypatch.setattr(team, "chart_block", capture)
    series = {(f"E{i}", "k"): noise(20 + i, sd=1) for i in range(6)}
    ws = workspace(series, {"k": spec("k", rollup="sum")})
    ws = drop_weeks(drop_weeks(ws, "E0", [44, 47]), "E1", [49, 50])
    report.build_report(ws, "team", "T1", "2026-Q3", "manager")
    holes = {d.strftime("%Y-%m-%d") for d in MONDAYS[[44, 47, 49, 50]]}
    trend = next(spec for spec in drawn if "layer" in spec)
    dates = {
        str(r["period"])[:10]
        for data in trend["datasets"].values()
        for r in data
        if "period" in r and r.get("value") is not None
    }
    assert dates and not dates & holes
    assert str(MONDAYS[45].date()) in dates


def test_the_points_table_is_the_callers_to_change() -> None:
    """The points table owns its columns: a report may change it in place (the table
    keeps its columns unstacked, so none may be a read-only view of the analysis' own
    frames), and doing so leaves another analysis alone."""
    ws = workspace(mixed_series(), {"k": spec("k")})
    points = analyse(ws, "2026-Q3").points
    before = analyse(ws, "2026-Q3").points
    points.loc[0, "value"] = -1.0
    points.loc[1, "n"] = 99
    points.loc[2, "centre"] = -2.0
    points.loc[3, "in_review"] = not bool(points.loc[3, "in_review"])
    points.iloc[4, points.columns.get_loc("usual_n")] = 7.0
    assert points.loc[0, "value"] == -1.0 and points.loc[1, "n"] == 99
    assert points.loc[2, "centre"] == -2.0 and points.loc[4, "usual_n"] == 7.0
    again = analyse(ws, "2026-Q3").points
    pd.testing.assert_frame_equal(again, before)
