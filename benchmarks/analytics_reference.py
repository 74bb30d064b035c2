"""Reference for speed work on the analytics core: every table of an analysis, saved and
compared.

``save DIR`` runs ``analyse`` on the demo workspace (its default seed) and on the
workspace of ``benchmarks/analytics.py`` (its fixed seed, 2,000 people by default) and
pickles every table of each :class:`~kpinb.analytics.Analysis` (the executive view
included) under ``DIR``. ``compare DIR`` runs the same analyses with the code as it is
now and compares every column with the saved one: same columns, dtypes and index, floats
equal or both NaN, everything else equal. Run ``save`` before a change and ``compare``
after it; an optimisation that moves a figure shows here column by column.

Run: ``.venv/bin/python benchmarks/analytics_reference.py save|compare DIR [--people N]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from analytics import build

from kpinb.analytics import Analysis, analyse
from kpinb.demo import write_demo
from kpinb.workspace import Workspace, load_workspace

TABLES = ("summary", "points", "signals", "goals", "pairs", "groups", "excluded", "moves")
TABLES += ("tails",)
PERIOD = "2026-Q3"


def _tables(result: Analysis) -> dict[str, pd.DataFrame]:
    out = {name: getattr(result, name) for name in TABLES}
    out["executive"] = result.executive()
    out["executive_points"] = result.executive_analysis.points
    out["executive_signals"] = result.executive_analysis.signals
    out["executive_goals"] = result.executive_analysis.goals
    return out


def _workspaces(people: int) -> dict[str, Workspace]:
    demo = write_demo(Path(tempfile.mkdtemp(prefix="kpinb-ref-")) / "demo")
    return {"demo": load_workspace(demo), f"bench{people}": build(people, 104)}


def save(folder: Path, people: int) -> None:
    for name, ws in _workspaces(people).items():
        for table, frame in _tables(analyse(ws, PERIOD)).items():
            (folder / name).mkdir(parents=True, exist_ok=True)
            frame.to_pickle(folder / name / f"{table}.pkl")
            print(f"{name}/{table}: {frame.shape}")


def compare(folder: Path, people: int) -> int:
    problems = 0
    for name, ws in _workspaces(people).items():
        for table, frame in _tables(analyse(ws, PERIOD)).items():
            ref = pd.read_pickle(folder / name / f"{table}.pkl")
            try:
                pd.testing.assert_frame_equal(frame, ref, check_exact=True)
            except AssertionError as err:
                problems += 1
                print(f"DIFFERS {name}/{table}: {err}")
                continue
            print(f"same    {name}/{table}: {frame.shape}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["save", "compare"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--people", type=int, default=2_000)
    args = parser.parse_args()
    if args.action == "save":
        save(args.folder, args.people)
    else:
        sys.exit(1 if compare(args.folder, args.people) else 0)


if __name__ == "__main__":
    main()
