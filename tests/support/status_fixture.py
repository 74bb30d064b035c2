"""Writes ``tests/data/analytics/statuses.csv``: the status of every series of the demo
workspace and of a 300-person workspace of ``benchmarks/analytics.py`` for 2026-Q3.

The file pins the statuses a speed change must leave alone
(``tests/analytics/test_statuses_pinned.py``). It was written by the analytics core as
it stood before the speed work that added it; regenerate it only for a change meant to
move statuses, and say so in the commit.

Run: ``python -m tests.support.status_fixture``
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pandas as pd

from kpinb.analytics import analyse
from kpinb.demo import write_demo
from kpinb.workspace import Workspace, load_workspace

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "analytics" / "statuses.csv"
PERIOD = "2026-Q3"
BENCH_PEOPLE = 300
COLUMNS = ["workspace", "scope", "scope_id", "kpi_id", "status", "shift_direction"]


def benchmark_module() -> ModuleType:
    """``benchmarks/analytics.py`` (not a package) loaded as a module."""
    path = ROOT / "benchmarks" / "analytics.py"
    spec = importlib.util.spec_from_file_location("kpinb_bench_analytics", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def statuses(ws: Workspace, name: str) -> pd.DataFrame:
    """One row per series: its keys, status and shift direction."""
    summary = analyse(ws, PERIOD).summary
    out = summary[["scope", "scope_id", "kpi_id", "status", "shift_direction"]].astype(
        {"scope": str, "scope_id": str, "kpi_id": str, "status": str, "shift_direction": int}
    )
    return out.assign(workspace=name)[COLUMNS].reset_index(drop=True)


def generated() -> pd.DataFrame:
    """The statuses of both workspaces as the code stands now."""
    demo = load_workspace(write_demo(Path(tempfile.mkdtemp(prefix="kpinb-fixture-")) / "demo"))
    bench = benchmark_module().build(BENCH_PEOPLE, 104)
    return pd.concat([statuses(demo, "demo"), statuses(bench, "bench")], ignore_index=True)


if __name__ == "__main__":
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    tmp = FIXTURE.with_suffix(".tmp")
    generated().to_csv(tmp, index=False)
    tmp.replace(FIXTURE)
    print(f"wrote {FIXTURE}")
