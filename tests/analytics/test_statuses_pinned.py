"""Every series' status and shift direction on two generated workspaces stay what they
were before the analytics core's speed work.

The reference, ``tests/data/analytics/statuses.csv``, was written by
``python -m tests.support.status_fixture`` with the code before that work (the demo
workspace and a 300-person workspace of ``benchmarks/analytics.py``, 2026-Q3); a change
that only makes the core faster or leaner must leave every row of it alone.
"""

from __future__ import annotations

import pandas as pd

from kpinb.workspace import Workspace
from tests.support.status_fixture import BENCH_PEOPLE, FIXTURE, benchmark_module, statuses


def _expected(name: str) -> pd.DataFrame:
    ref = pd.read_csv(FIXTURE, dtype={"scope_id": str, "shift_direction": int})
    return ref[ref["workspace"] == name].reset_index(drop=True)


def _check(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert len(expected) > 100
    assert set(expected["status"]) >= {"routine", "improving_shift", "worsening_shift"}
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_demo_statuses_pinned(demo_ws: Workspace) -> None:
    _check(statuses(demo_ws, "demo"), _expected("demo"))


def test_benchmark_statuses_pinned() -> None:
    ws = benchmark_module().build(BENCH_PEOPLE, 104)
    _check(statuses(ws, "bench"), _expected("bench"))
