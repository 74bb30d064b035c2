"""Benchmark: loading and validating a large workspace against a plain pandas read.

Writes a synthetic workspace of 10,000 people x 10 KPIs x 104 weeks (about 10
million observations) once as CSV and once as Parquet, then times, each in a
fresh process (fastest of ``--repeat`` runs, alternating): a plain
``pandas.read_csv`` / ``pandas.read_parquet`` of the
observations file, and ``kpinb.load_workspace`` (read + type + validate) of the
whole workspace. Prints seconds, peak memory (max RSS), the ratios, and the peak per
observation row: the whole process's (imports included) and above the process's memory
once its imports are done (what grows with the workspace, for sizing a bigger one).

    .venv/bin/python benchmarks/load.py [--people 10000] [--dir /tmp/kpinb-bench]
        [--formats csv,parquet] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

KPIS = 10
WEEKS = 104


def write_workspace(root: Path, people: int, fmt: str) -> None:
    """A valid synthetic workspace in ``fmt`` (csv or parquet)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ["kpis:"]
    for k in range(KPIS):
        lines.append(
            f"  - {{id: K{k:02d}, name: KPI {k}, unit: n, direction: "
            f"{'up' if k % 3 else 'down'}, kind: leading, type: process, cadence: "
            "weekly, rollup: mean, owner: o, source: s, formula: f}"
        )
    (root / "kpis.yaml").write_text("\n".join(lines) + "\n")
    ids = np.array([f"E{i:05d}" for i in range(people)])
    tables = people_tables(people)
    weeks = pd.date_range("2024-10-07", periods=WEEKS, freq="7D").strftime("%Y-%m-%d")
    rng = np.random.default_rng(1)
    n = people * KPIS * WEEKS
    tables["observations"] = pd.DataFrame(
        {
            "employee_id": np.repeat(ids, KPIS * WEEKS),
            "kpi_id": np.tile(np.repeat([f"K{k:02d}" for k in range(KPIS)], WEEKS), people),
            "period": np.tile(weeks, people * KPIS),
            "value": np.round(rng.normal(50, 10, n), 2),
        }
    )
    for name, frame in tables.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if fmt == "csv":
            pacsv.write_csv(table, root / f"{name}.csv")
        else:
            pq.write_table(table, root / f"{name}.parquet")


def people_tables(people: int) -> dict[str, pd.DataFrame]:
    """The teams (of 8, in 12 departments) and people tables of ``people`` people."""
    ids = np.array([f"E{i:05d}" for i in range(people)])
    teams = people // 8
    return {
        "teams": pd.DataFrame(
            {
                "team_id": [f"T{t:04d}" for t in range(teams)],
                "name": [f"Team {t}" for t in range(teams)],
                "department": [f"D{t % 12}" for t in range(teams)],
            }
        ),
        "people": pd.DataFrame(
            {
                "employee_id": ids,
                "name": [f"Person {i}" for i in ids],
                "team_id": [f"T{(i // 8) % teams:04d}" for i in range(people)],
                "manager_id": [""] + ["E00000"] * (people - 1),
                "role": "analyst",
                "start_date": "2023-01-02",
            }
        ),
    }


def measure(kind: str, root: Path, fmt: str) -> dict[str, float]:
    """Time one load in a fresh Python process; returns seconds and max RSS in MB."""
    code = f"""
import time, json, sys
import pandas as pd
from kpinb.workspace import load_workspace

def status(field):
    line = [l for l in open("/proc/self/status") if l.startswith(field)][0]
    return int(line.split()[1]) / 1024

base = status("VmRSS")
t = time.perf_counter()
if {kind!r} == "plain":
    path = {str(root)!r} + "/observations.{fmt}"
    frame = pd.read_csv(path) if {fmt!r} == "csv" else pd.read_parquet(path)
    rows = len(frame)
else:
    rows = len(load_workspace({str(root)!r}).observations)
secs = time.perf_counter() - t
print(json.dumps({{"seconds": secs, "rows": rows, "rss_mb": status("VmHWM"), "base_mb": base}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{kind} load of {root} failed:\n{done.stderr}")
    out = done.stdout
    found: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    found["growth_mb"] = found["rss_mb"] - found["base_mb"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/kpinb-bench-load"))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest counts")
    parser.add_argument("--formats", default="csv,parquet", help="csv, parquet or both")
    args = parser.parse_args()
    print(
        f"workspace: {args.people} people x {KPIS} KPIs x {WEEKS} weeks "
        f"= {args.people * KPIS * WEEKS:,} observations; fastest of {args.repeat} runs each"
    )
    for fmt in args.formats.split(","):
        root = args.dir / f"{fmt}-{args.people}"
        if not (root / f"observations.{fmt}").exists():
            t = time.perf_counter()
            write_workspace(root, args.people, fmt)
            print(f"  wrote {fmt} workspace in {time.perf_counter() - t:.1f} s")
        runs = [
            (measure("plain", root, fmt), measure("kpinb", root, fmt)) for _ in range(args.repeat)
        ]  # alternate, then keep each one's fastest run
        plain = min((p for p, _ in runs), key=lambda m: m["seconds"])
        kpinb = min((k for _, k in runs), key=lambda m: m["seconds"])
        reader = "pandas.read_csv" if fmt == "csv" else "pandas.read_parquet"
        print(f"{fmt:8s} plain {reader}: {plain['seconds']:6.2f} s, peak {plain['rss_mb']:6.0f} MB")
        print(
            f"{fmt:8s} kpinb load+validate: {kpinb['seconds']:6.2f} s, "
            f"peak {kpinb['rss_mb']:6.0f} MB  "
            f"ratio {kpinb['seconds'] / plain['seconds']:.2f}x time, "
            f"{kpinb['rss_mb'] / plain['rss_mb']:.2f}x memory"
        )
        per_row, above = (kpinb[key] * 2**20 / kpinb["rows"] for key in ("rss_mb", "growth_mb"))
        print(
            f"{fmt:8s} kpinb peak per observation row: {per_row:5.0f} bytes "
            f"({above:.0f} above the {kpinb['base_mb']:.0f} MB of the imports)"
        )


if __name__ == "__main__":
    main()
