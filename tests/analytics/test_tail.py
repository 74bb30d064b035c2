"""The end of the data: partial weeks and incomplete tails (kpinb.analytics.tail)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.analytics import analyse, tail
from tests.support.synthetic import MONDAYS, spec, workspace


def _steady(i: int) -> np.ndarray:
    return np.round(np.random.default_rng(i).normal(50, 1, len(MONDAYS)), 2)


def test_inside_share_by_hand() -> None:
    points = pd.DataFrame(
        {
            "period": pd.to_datetime(["2026-09-21", "2026-09-28", "2026-09-28", "2026-06-29"]),
            "in_review": [True, True, True, False],
        }
    )
    cadence = np.array(["weekly", "weekly", "monthly", "weekly"])
    got = tail.inside_share(points, cadence, pd.Timestamp("2026-09-30"))
    # 21-27 Sep wholly inside; 28 Sep - 4 Oct has 28, 29, 30 inside: 3 of 7 days
    assert got.tolist() == [1.0, 3 / 7, 1.0, 1.0]


def test_a_move_resting_on_one_whole_week_and_a_partial_one_is_not_a_shift() -> None:
    # 49, 51, 49, ...: sigma = 2 / 1.128, and no CUSUM run starts on them (z 0.56 < k)
    zigzag = np.tile([49.0, 51.0], len(MONDAYS) // 2)
    late = zigzag.copy()
    late[-2:] += 12  # the weeks of 21 Sep (whole) and 28 Sep (3 of 7 days in Q3)
    early = zigzag.copy()
    early[-4:] += 12  # three whole weeks and the partial one
    result = analyse(
        workspace({("E1", "k"): late, ("E2", "k"): early}, {"k": spec("k")}), "2026-Q3"
    )
    s = result.summary.set_index("scope_id")
    assert MONDAYS[-1] == pd.Timestamp("2026-09-28")
    assert s.loc["E1", "partial_week"] and s.loc["E1", "status"] == "routine"
    assert s.loc["E2", "status"] == "improving_shift"
    assert s.loc["E2", "shift_onset"] == pd.Timestamp("2026-09-07")


def test_a_fall_at_the_end_of_everyones_data_is_an_incomplete_tail() -> None:
    """Six people steady at about 50 (sd 1); the export's last week reads 3 for all."""
    series = {(f"E{i}", "k"): _steady(i) for i in range(6)}
    for values in series.values():
        values[-1] = 3.0
    result = analyse(workspace(series, {"k": spec("k", rollup="mean")}), "2026-Q3")
    tails = result.tails.set_index("scope")
    for scope, gid in (("workspace", "organisation"), ("department", "D1"), ("team", "T1")):
        row = tails.loc[scope]
        assert row["scope_id"] == gid and row["since"] == pd.Timestamp("2026-09-28")
        assert (row["dates"], row["low"], row["of"]) == (1, 6, 6)
    people = result.summary[result.summary["scope"] == "employee"]
    assert (people["incomplete_tail"] == pd.Timestamp("2026-09-28")).all()
    assert (people["status"] == "routine").all()  # the tail is no shift's evidence
    assert result.for_scope("team", "T1").tails.shape[0] == 1


def test_a_fall_of_a_few_is_no_tail() -> None:
    series = {(f"E{i}", "k"): _steady(i) for i in range(6)}
    for i in range(3):
        series[f"E{i}", "k"][-1] = 3.0
    result = analyse(workspace(series, {"k": spec("k", rollup="mean")}), "2026-Q3")
    assert result.tails.empty
    assert result.summary["incomplete_tail"].isna().all()


def test_an_incomplete_tail_is_not_a_shared_move() -> None:
    series = {(f"E{i}", "k"): _steady(i) for i in range(6)}
    for values in series.values():
        values[-2:] = 3.0  # the export's last two weeks
    result = analyse(workspace(series, {"k": spec("k", rollup="mean")}), "2026-Q3")
    people = result.summary[result.summary["scope"] == "employee"]
    assert (people["incomplete_tail"] == pd.Timestamp("2026-09-21")).all()
    assert people["shared_own"].isna().all() and result.moves.empty
