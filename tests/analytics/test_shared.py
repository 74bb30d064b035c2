"""Whose change is it: moves judged against the group (kpinb.analytics.shared).

Hand-built teams: every member follows one common weekly pattern (the market: noise of
sd 1) plus their own constant offset, so the verdicts follow from the construction: a
step of 8 is found in everyone's own series every time, and a member's series relative
to the rest of the team is exactly flat unless the member moves differently."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.analytics import analyse, shared
from tests.support.synthetic import spec, workspace

STEP = np.r_[np.zeros(39), np.full(13, 8.0)]  # +8 from the period's first week (2026-07-06)


COMMON = np.round(np.random.default_rng(1).normal(50.0, 1.0, 52), 2)


def _steady(i: int) -> np.ndarray:
    """Member ``i``: the common pattern plus an offset of ``i``."""
    return COMMON + i


def _people(result, kpi: str = "k") -> pd.DataFrame:  # type: ignore[no-untyped-def]
    s = result.summary
    return s[(s["scope"] == "employee") & (s["kpi_id"] == kpi)].set_index("scope_id")


def test_leave_one_out_median_and_total_by_hand() -> None:
    cell = np.array([0, 0, 0, 0, 1, 1, 1, 2])
    value = np.array([10.0, 1.0, 3.0, 2.0, 9.0, 1.0, 5.0, 4.0])
    med, total = shared.leave_one_out(cell, value)
    # cell 0: without 10 -> median(1, 2, 3) = 2; without 1 -> median(2, 3, 10) = 3; ...
    assert med[:4].tolist() == [2.0, 3.0, 2.0, 3.0]
    # cell 1: without 9 -> (1 + 5) / 2 = 3; without 1 -> 7; without 5 -> 5
    assert med[4:7].tolist() == [3.0, 7.0, 5.0]
    assert np.isnan(med[7])  # alone in its cell: no rest
    assert total.tolist() == [16.0] * 4 + [15.0] * 3 + [4.0]


def test_a_step_the_whole_team_takes_is_shared_for_every_member() -> None:
    series = {(f"E{i}", "k"): _steady(i) + STEP for i in range(6)}
    result = analyse(workspace(series, {"k": spec("k", rollup="mean")}), "2026-Q3")
    people = _people(result)
    assert (people["status"] == "improving_shift").all()
    assert people["shared_own"].tolist() == [False] * 6
    assert (people["shared_scope"] == "team").all() and (people["shared_group"] == "T1").all()
    assert people["shared_moved"].tolist() == [6] * 6 and people["shared_of"].tolist() == [6] * 6
    assert (people["shared_direction"] == "up").all()
    assert (people["shared_onset"] == pd.Timestamp("2026-07-06")).all()
    moves = result.moves
    team = moves[(moves["scope"] == "team") & (moves["scope_id"] == "T1")].iloc[0]
    assert (team["moved"], team["of"], team["direction"]) == (6, 6, "up")
    assert team["onset"] == pd.Timestamp("2026-07-06")
    assert abs(team["change"] - 8.0) < 1.0  # the team's mean rose by about the step
    assert result.for_scope("team", "T1").moves.shape[0] == 1
    assert result.for_scope("employee", "E0").moves.empty


def test_a_personal_move_among_steady_teammates_is_their_own() -> None:
    series = {
        (f"E{i}", "k"): np.round(np.random.default_rng(i).normal(50, 1, 52), 2) for i in range(6)
    }
    series["E0", "k"] = series["E0", "k"] + STEP
    result = analyse(workspace(series, {"k": spec("k", rollup="mean")}), "2026-Q3")
    people = _people(result)
    assert people.loc["E0", "status"] == "improving_shift"
    assert people["shared_own"].isna().all()  # the group did not move: nothing shared
    assert result.moves.empty


def test_a_person_flat_while_the_team_moves_has_moved_against_it() -> None:
    series = {(f"E{i}", "k"): _steady(i) + STEP for i in range(6)}
    series["E0", "k"] = _steady(0)
    result = analyse(workspace(series, {"k": spec("k", rollup="mean")}), "2026-Q3")
    people = _people(result)
    assert people.loc["E0", "status"] == "routine"
    assert people.loc["E0", "shared_own"] is True or people.loc["E0", "shared_own"] == True  # noqa: E712
    assert people.loc["E0", "shared_relative"] == -1
    assert people.loc["E0", "shared_moved"] == 5 and people.loc["E0", "shared_of"] == 6
    assert (people.drop(index="E0")["shared_own"] == False).all()  # noqa: E712


def test_a_sum_kpi_is_judged_by_the_share_of_the_team_total() -> None:
    """Counts: everyone doubles from the period's first week; each share holds."""
    base = np.random.default_rng(5).poisson(40, 52)
    double = np.r_[np.ones(39), np.full(13, 2.0)]
    series = {(f"E{i}", "k"): base * (i + 1) * double for i in range(6)}
    result = analyse(workspace(series, {"k": spec("k", rollup="sum")}), "2026-Q3")
    people = _people(result)
    assert (people["status"] == "improving_shift").all()
    assert (people["shared_own"] == False).all()  # noqa: E712


def test_a_small_team_is_judged_against_its_department() -> None:
    """T1 has 3 members (under the minimum group size of 5), its department D1 has 7."""
    teams = {f"E{i}": ("T1" if i < 3 else "T2") for i in range(7)}
    series = {(f"E{i}", "k"): _steady(i) + STEP for i in range(7)}
    result = analyse(workspace(series, {"k": spec("k", rollup="mean")}, teams=teams), "2026-Q3")
    people = _people(result)
    assert people.loc["E0", "shared_scope"] == "department"
    assert people.loc["E0", "shared_group"] == "D1" and people.loc["E0", "shared_of"] == 7
    assert people.loc["E3", "shared_scope"] == "department"  # T2 has 4: also too small
    assert (people["shared_own"] == False).all()  # noqa: E712


def test_too_few_people_anywhere_gives_no_group() -> None:
    series = {(f"E{i}", "k"): _steady(i) + STEP for i in range(4)}
    result = analyse(workspace(series, {"k": spec("k", rollup="mean")}), "2026-Q3")
    people = _people(result)
    assert people["shared_scope"].isna().all() and people["shared_own"].isna().all()


def test_the_record_of_a_summary_row() -> None:
    series = {(f"E{i}", "k"): _steady(i) + STEP for i in range(6)}
    series["E0", "k"] = _steady(0)
    result = analyse(workspace(series, {"k": spec("k", rollup="mean")}), "2026-Q3")
    people = _people(result)
    assert shared.record(people.loc["E0"]) == {
        "scope": "team",
        "group_id": "T1",
        "moved": 5,
        "of": 6,
        "direction": "up",
        "onset": pd.Timestamp("2026-07-06"),
        "own": True,
        "relative": "down",
    }
    assert shared.record(people.loc["E1"])["own"] is False  # type: ignore[index]
    quiet = analyse(workspace({("E0", "k"): _steady(0)}, {"k": spec("k")}), "2026-Q3")
    assert shared.record(_people(quiet).loc["E0"]) is None
