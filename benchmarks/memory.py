"""Benchmark: memory of a few reports from a big workspace, and a sizing table.

For each size in ``--people`` (demo people, several demo workspaces renumbered into
one), prints:

- the workspace and period analysis as the kernels receive them: the whole pickle and
  the part a run of ``--only`` three people sends (narrowed to the rows their reports
  read), in MB, and their ratio;
- ``kpinb run --only`` three people with two kernels, in a fresh process: seconds and
  the peak memory of the whole process tree (the parent and its kernels, sampled every
  0.2 s with psutil), in MB; first with no analysis kept (it analyses everyone), then
  again once the period's analysis is kept as a whole run leaves it
  (:mod:`kpinb.batch.kept_analysis`: it reads the three people's rows of it);
- a full run's kernels (``--full N``, default 200; 0 leaves it out): in a fresh process,
  the whole period's reports are planned and handed to the builder as ``kpinb run``
  does (so its kernels take over what a full run's take over: the whole workspace, or
  one shard of it at a time), and ``N`` of them, spread evenly over the run's order,
  are built by two kernels: seconds, the peak RSS of the busiest kernel and of the
  parent, in MB, and how many pickles the kernels took over.

The sizing table in docs/scale-out.md comes from these figures.

Run: ``.venv/bin/python benchmarks/memory.py [--people 500,2000] [--full 200]``
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
    from kpinb.periods import parse_period
    from kpinb.report import narrowed_workspace, period_analysis
    from kpinb.workspace import load_workspace

    ws = load_workspace(workspace)
    per = parse_period(period)
    period_analysis(ws, per)
    files = [ReportFiles("employee", e, "employee", e) for e in ids]
    part = narrowed_workspace(ws, per, *related_rows(ws, files))
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


KEEP = """
import sys
from pathlib import Path
from kpinb.analytics import analyse
from kpinb.batch.kept_analysis import KeptAnalysis
from kpinb.periods import parse_period
from kpinb.workspace import load_workspace

ws = load_workspace(sys.argv[1])
per = parse_period(sys.argv[2])
KeptAnalysis.of(ws, per, Path(sys.argv[3]) / per.label).write(analyse(ws, per))
"""


def keep_analysis(workspace: Path, period: str, out: Path) -> None:
    """Keep the period's analysis in ``out`` as a whole run leaves it (a fresh process)."""
    subprocess.run([sys.executable, "-c", KEEP, str(workspace), period, str(out)], check=True)


FULL_RUN = """
import sys
from kpinb.batch.executors.build import ReportBuilder
from kpinb.batch.executors.local import LocalExecutor
from kpinb.batch.planning import plan
from kpinb.periods import parse_period
from kpinb.workspace import load_workspace

ws = load_workspace(sys.argv[1])
per = parse_period(sys.argv[2])
executor = LocalExecutor(2, cwd=plan.NOTEBOOKS_DIR)  # as kpinb run: started before planning
jobs = plan.make_jobs(ws, per, plan.plan_requests(ws, per), notebooks_dir=plan.NOTEBOOKS_DIR)
builder = ReportBuilder.for_jobs(ws, per, jobs)
ordered = builder.ordered(jobs) if hasattr(builder, "ordered") else jobs
wanted = int(sys.argv[3])
sample = ordered[:: max(1, len(ordered) // wanted)][:wanted]
errors = [built.error for _, built in executor.build(sample, builder) if built.error]
executor.close()
print(len(jobs), len(sample), len(getattr(builder, "parts", [None])), len(errors))
print("\\n".join(errors[:1]), file=sys.stderr)
"""


def full_run(workspace: Path, period: str, reports: int) -> tuple[float, float, float, str]:
    """Seconds, the busiest kernel's and the parent's peak MB, and what was built (planned
    reports, built, pickles, failed), of ``reports`` reports of a full run (FULL_RUN)."""
    argv = [sys.executable, "-c", FULL_RUN, str(workspace), period, str(reports)]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    parent, kernels = 0, {}
    while proc.poll() is None:
        try:
            parent = max(parent, root.memory_info().rss)
            for child in root.children(recursive=True):
                kernels[child.pid] = max(kernels.get(child.pid, 0), child.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"the full run exited {proc.returncode}: {err.decode()}")
    planned, built, pickles, failed = out.decode().split()
    what = f"{built} of {planned} reports, {pickles} pickle(s), {failed} failed"
    if failed != "0":
        what += f": {err.decode().strip()[-300:]}"
    return seconds, max(kernels.values(), default=0) / MB, parent / MB, what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", default="500,2000", help="comma-separated sizes")
    parser.add_argument("--full", type=int, default=200, help="reports of the full run (0: none)")
    parser.add_argument("--skip-only", action="store_true", help="leave out the --only figures")
    args = parser.parse_args()
    full_rows = []
    print(
        f"{'people':>7} {'whole pickle MB':>16} {'3-person part MB':>17} {'ratio':>6} "
        f"{'run --only 3: s':>16} {'peak tree MB':>13} {'kept: s':>8} {'peak tree MB':>13}"
    )
    for people in (int(n) for n in args.people.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            workspace, period, ids, load = prepare(Path(tmp), people)
            three = ids[:: max(1, len(ids) // 3)][:3]
            if not args.skip_only:
                whole, part = pickles(workspace, period, three)
                out = Path(tmp) / "out"
                seconds, peak = run_only(workspace, period, three, out)
                keep_analysis(workspace, period, out)
                kept_seconds, kept_peak = run_only(workspace, period, three, out)
                print(
                    f"{people:>7} {whole:>16.1f} {part:>17.1f} {whole / part:>5.0f}x "
                    f"{seconds:>16.1f} {peak:>13.0f} {kept_seconds:>8.1f} {kept_peak:>13.0f}"
                    f"   (load {load})"
                )
            if args.full:
                row = (people, *full_run(workspace, period, args.full), load)
                full_rows.append(row)
    if full_rows:
        print(f"\n{'people':>7} {'full run: s':>12} {'kernel peak MB':>15} {'parent peak MB':>15}")
        for people, seconds, kernel, parent, what, load in full_rows:
            print(
                f"{people:>7} {seconds:>12.1f} {kernel:>15.0f} {parent:>15.0f}"
                f"   ({what}; load {load})"
            )


if __name__ == "__main__":
    main()
