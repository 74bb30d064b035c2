"""Benchmark: memory of a few reports from a big workspace, and a sizing table.

For each size in ``--people`` (demo people, several demo workspaces renumbered into
one), prints:

- the workspace and period analysis as the kernels receive them: the whole pickle and
  the part a run of ``--only`` three people sends (narrowed to the rows their reports
  read), in MB, and their ratio;
- ``kpinb run --only`` three people with two kernels, in a fresh process: seconds and
  the peak memory of the whole process tree (the parent and its kernels, sampled every
  0.2 s with psutil), in MB.

The sizing table in docs/scale-out.md comes from these figures.

Run: ``.venv/bin/python benchmarks/memory.py [--people 500,2000]``
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import prepare

MB = 1024 * 1024


def pickles(workspace: Path, period: str, ids: list[str]) -> tuple[float, float]:
    """MB of the whole workspace-and-analysis pickle, and of the part for ``ids``."""
    from kpinb.batch.planning.inputs_keys import related_rows
    from kpinb.batch.planning.plan import ReportFiles
    from kpinb.batch.records import ReportJob
    from kpinb.periods import parse_period
    from kpinb.report import narrowed_workspace, period_analysis
    from kpinb.workspace import load_workspace

    ws = load_workspace(workspace)
    per = parse_period(period)
    period_analysis(ws, per)
    jobs = [ReportJob(ReportFiles("employee", e, "employee", e), e, Path(), {}) for e in ids]
    part = narrowed_workspace(ws, per, *related_rows(ws, jobs))
    return len(pickle.dumps(ws)) / MB, len(pickle.dumps(part)) / MB


def run_only(workspace: Path, period: str, ids: list[str], out: Path) -> tuple[float, float]:
    """Seconds and peak MB of the process tree of ``kpinb run --only ids``."""
    argv = [sys.executable, "-m", "kpinb", "run", str(workspace), "--period", period]
    argv += ["--only", ",".join(ids), "--workers", "2", "--force", "--out", str(out)]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"kpinb run exited {proc.returncode}: {proc.stderr.read().decode()}")
    return seconds, peak / MB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", default="500,2000", help="comma-separated sizes")
    args = parser.parse_args()
    print(
        f"{'people':>7} {'whole pickle MB':>16} {'3-person part MB':>17} {'ratio':>6} "
        f"{'run --only 3: s':>16} {'peak tree MB':>13}"
    )
    for people in (int(n) for n in args.people.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            workspace, period, ids, load = prepare(Path(tmp), people)
            three = ids[:: max(1, len(ids) // 3)][:3]
            whole, part = pickles(workspace, period, three)
            seconds, peak = run_only(workspace, period, three, Path(tmp) / "out")
        print(
            f"{people:>7} {whole:>16.1f} {part:>17.1f} {whole / part:>5.0f}x "
            f"{seconds:>16.1f} {peak:>13.0f}   (load {load})"
        )


if __name__ == "__main__":
    main()
