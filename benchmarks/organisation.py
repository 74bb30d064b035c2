"""Benchmark: a whole organisation validated and analysed in one process.

For each size in ``--people`` writes ``benchmarks/load.py``'s synthetic workspace (10
KPIs x 104 weekly points a person, teams of 8 in 12 departments; observations written
2,000 people at a time, so 50,000 people's 52 M rows never sit in memory at once; kept
in ``--dir`` for the next run), then in a fresh process loads it (read, type, validate)
and analyses 2026-Q3 as ``kpinb run`` does before its first report. Prints wall and CPU
seconds of each step, the process's peak resident memory (VmHWM, imports included), the
peak per 1,000 people, and at 50,000 people the share of the budget the scale work aims
at (12 GB and 4 minutes on a 2-core machine).

    .venv/bin/python benchmarks/organisation.py [--people 20000,50000] [--dir /tmp/kpinb-org]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import KPIS, WEEKS, people_tables, write_workspace

BUDGET_GB, BUDGET_S = 12.0, 240.0
CHUNK = 2000


def write(root: Path, people: int) -> None:
    """load.py's workspace of ``people``, its observations written a chunk at a time."""
    write_workspace(root, 8, "csv")  # kpis.yaml; people, teams and observations replaced
    for name, frame in people_tables(people).items():
        frame.to_csv(root / f"{name}.csv", index=False)
    ids = np.array([f"E{i:05d}" for i in range(people)])
    weeks = pd.date_range("2024-10-07", periods=WEEKS, freq="7D").strftime("%Y-%m-%d")
    kpis = [f"K{k:02d}" for k in range(KPIS)]
    writer = None
    for start in range(0, people, CHUNK):
        part = ids[start : start + CHUNK]
        rng = np.random.default_rng(start)
        frame = pd.DataFrame(
            {
                "employee_id": np.repeat(part, KPIS * WEEKS),
                "kpi_id": np.tile(np.repeat(kpis, WEEKS), len(part)),
                "period": np.tile(weeks, len(part) * KPIS),
                "value": np.round(rng.normal(50, 10, len(part) * KPIS * WEEKS), 2),
            }
        )
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pacsv.CSVWriter(root / "observations.csv", table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


MEASURE = """
import json, os, resource, sys, time
from kpinb.analytics import analyse
from kpinb.workspace import load_workspace

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

t0, c0 = time.perf_counter(), cpu()
ws = load_workspace(sys.argv[1])
t1, c1 = time.perf_counter(), cpu()
result = analyse(ws, "2026-Q3")
t2, c2 = time.perf_counter(), cpu()
peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({"rows": len(ws.observations), "series": len(result.summary),
    "load_s": t1 - t0, "load_cpu": c1 - c0, "analyse_s": t2 - t1, "analyse_cpu": c2 - c1,
    "peak_mb": int(peak) / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", default="20000,50000", help="comma-separated sizes")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/kpinb-org"))
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{KPIS} KPIs x {WEEKS} weeks a person; machine load {load}")
    print("  people        rows   load s (cpu)  analyse s (cpu)  total s  peak MB  MB/1k  budget")
    for people in (int(p) for p in args.people.split(",")):
        root = args.dir / f"org-{people}"
        if not (root / "observations.csv").exists():
            started = time.perf_counter()
            write(root, people)
            print(f"  (wrote {people:,} people in {time.perf_counter() - started:.0f} s)")
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(root)], capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"the analysis of {root} failed:\n{done.stderr}")
        m = json.loads(done.stdout.strip().splitlines()[-1])
        total = m["load_s"] + m["analyse_s"]
        budget = (
            f"{m['peak_mb'] / 1024 / BUDGET_GB:.0%} of 12 GB, {total / BUDGET_S:.0%} of 4 min"
            if people == 50_000
            else ""
        )
        print(
            f"  {people:6,d}  {m['rows']:>10,d}  {m['load_s']:6.1f} ({m['load_cpu']:5.1f})"
            f"  {m['analyse_s']:7.1f} ({m['analyse_cpu']:6.1f})  {total:7.1f}"
            f"  {m['peak_mb']:7.0f}  {m['peak_mb'] / people * 1000:5.0f}  {budget}"
        )


if __name__ == "__main__":
    main()
