"""Team and department series and minimum-group-size suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpinb.analytics import rollup
from kpinb.errors import UsageError
from kpinb.kpis import KpiSpec
from kpinb.periods import parse_period


def sizes(*groups: tuple[str, str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scope": "team",
            "scope_id": [g[0] for g in groups],
            "kpi_id": "k",
            "parent": [g[1] for g in groups],
            "n_people": [g[2] for g in groups],
        }
    )


def decided(frame: pd.DataFrame) -> dict[str, tuple[bool, str]]:
    out = rollup.suppress(frame)
    return {r.scope_id: (bool(r.suppressed), r.reason.split(":")[0]) for r in out.itertuples()}


def test_no_small_group_nothing_suppressed() -> None:
    assert decided(sizes(("A", "D", 5), ("B", "D", 6))) == {"A": (False, ""), "B": (False, "")}


def test_one_small_group_takes_the_next_smallest_with_it() -> None:
    """D = A (7) + B (6) + C (3). C alone would be D minus A minus B: B (the next
    smallest) is suppressed too; together 9 >= 5 people. A stays."""
    got = decided(sizes(("A", "D", 7), ("B", "D", 6), ("C", "D", 3)))
    assert got == {
        "A": (False, ""),
        "B": (True, "complementary"),
        "C": (True, "fewer than 5 people"),
    }


def test_small_groups_together_must_reach_the_threshold() -> None:
    """Two groups of 2: together 4 < 5, so the next smallest (8) is suppressed too."""
    got = decided(sizes(("A", "D", 2), ("B", "D", 2), ("C", "D", 8), ("E", "D", 9)))
    assert [got[k][0] for k in "ABCE"] == [True, True, True, False]
    assert got["C"][1] == "complementary"


def test_parents_are_independent_and_a_lone_small_group_is_suppressed() -> None:
    got = decided(sizes(("A", "D1", 3), ("B", "D2", 6), ("C", "D2", 7)))
    assert got == {"A": (True, "fewer than 5 people"), "B": (False, ""), "C": (False, "")}


def test_threshold_cannot_go_below_three() -> None:
    with pytest.raises(UsageError, match="below 3"):
        rollup.suppress(sizes(("A", "D", 5)), min_group_size=2)
    got = rollup.suppress(sizes(("A", "D", 3), ("B", "D", 3)), min_group_size=3)
    assert not got["suppressed"].any()


def _spec(kid: str, rule: str) -> KpiSpec:
    return KpiSpec(kid, kid, "count", "up", "lagging", "result", "weekly", rule, "o", "s", "f")


def test_rollup_series_by_rule_and_group_sizes() -> None:
    """T1 = E1 + E2 + E3, in department D. On 6 Jul: values 1, 2, 6 -> sum 9,
    mean 3, median 2. On 13 Jul only E1 (4)."""
    members = pd.DataFrame(
        {"team_id": ["T1"] * 3, "department": ["D"] * 3},
        index=pd.Index(["E1", "E2", "E3"], name="employee_id"),
    )
    obs = pd.DataFrame(
        {
            "employee_id": pd.Categorical(["E1", "E2", "E3", "E1"] * 3),
            "kpi_id": pd.Categorical(["s"] * 4 + ["m"] * 4 + ["d"] * 4),
            "period": pd.to_datetime(["2026-07-06"] * 3 + ["2026-07-13"]).tolist() * 3,
            "value": [1.0, 2.0, 6.0, 4.0] * 3,
        }
    )
    kpis = {"s": _spec("s", "sum"), "m": _spec("m", "mean"), "d": _spec("d", "median")}
    out = rollup.rollup_series(obs, members, kpis)
    team = out[out["scope"] == "team"].set_index(["kpi_id", "period"])
    first, second = pd.Timestamp("2026-07-06"), pd.Timestamp("2026-07-13")
    assert team.loc[("s", first), "value"] == 9
    assert team.loc[("m", first), "value"] == 3
    assert team.loc[("d", first), "value"] == 2
    assert team.loc[("s", second), "value"] == 4 and team.loc[("s", second), "n"] == 1
    assert set(out["scope"]) == {"team", "department"}
    assert np.allclose(
        out[out["scope"] == "department"]["value"].to_numpy(),
        out[out["scope"] == "team"]["value"].to_numpy(),
    )
    got = rollup.group_sizes(obs, members, parse_period("2026-Q3"))
    assert got.set_index(["scope", "kpi_id"])["n_people"].to_dict() == {
        ("team", "d"): 3,
        ("team", "m"): 3,
        ("team", "s"): 3,
        ("department", "d"): 3,
        ("department", "m"): 3,
        ("department", "s"): 3,
    }
    assert got.set_index("scope")["parent"].to_dict() == {"team": "D", "department": "organisation"}
