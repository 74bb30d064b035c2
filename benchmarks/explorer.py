"""Benchmark: the explorer on the demo workspace, through its callbacks.

In a fresh process (as a kernel that has just become ready): the seconds from
``from kpinb import explore`` to the explorer built with its first table drawn
(imports, loading and validating the workspace, the period's analysis included); the
seconds the preview tab then takes when first opened (its report and chart are built,
with Altair loaded in the background meanwhile: measured once the background loading
has finished, as when the analyst first reads the table, and its own seconds); then
the median and the slowest of 20 selection changes of each kind, each a different
choice (nothing served from the explorer's report cache): the person picker (a new
report and chart), the KPI picker (a new chart), the view (a new report), a filter of
the what-changed table, and a sort of it.

    .venv/bin/python benchmarks/explorer.py [--dir /tmp/kpinb-bench-explorer]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHANGES = 20


def measure(workspace: str, period: str) -> dict[str, object]:
    """Run in the fresh process: the first display, then the selection changes."""
    started = time.perf_counter()
    from kpinb import explore

    x = explore(workspace, period)
    first = time.perf_counter() - started
    x.warming.join()
    warm_up = time.perf_counter() - started - first
    t = time.perf_counter()
    x.tabs.selected_index = 1  # the preview is drawn when its tab is first opened
    first_preview = time.perf_counter() - t
    people = [e for _, e in x.p_person.options if e][: CHANGES + 1]
    departments = [d for _, d in x.f_department.options if d]
    columns = ["date", "name", "kpi", "status", "what"]

    def timed(change) -> list[float]:  # type: ignore[no-untyped-def]
        times = []
        for i in range(CHANGES):
            t = time.perf_counter()
            change(i)
            times.append(time.perf_counter() - t)
        return times

    def views() -> list[float]:  # each person's other view (the person chosen untimed)
        times = []
        for i in range(CHANGES):
            x.p_view.value = "manager"
            x.p_person.value = people[i % len(people)]
            t = time.perf_counter()
            x.p_view.value = "employee"
            times.append(time.perf_counter() - t)
        return times

    x.p_view.value = "manager"
    person = timed(lambda i: setattr(x.p_person, "value", people[(i + 1) % len(people)]))
    kpis = [k for _, k in x.p_kpi.options]  # the last person's own KPIs
    results = {
        "person": person,
        "kpi": timed(lambda i: setattr(x.p_kpi, "value", kpis[(i + 1) % len(kpis)])),
        "view": views(),
        "filter": timed(
            lambda i: setattr(x.f_department, "value", departments[i % len(departments)])
        ),
        "sort": timed(lambda i: x.on_sort(columns[i % len(columns)])),
    }
    return {
        "first_display_s": round(first, 2),
        "first_preview_s": round(first_preview, 2),
        "warm_up_s": round(warm_up, 2),
        "people": len(x.people),
        "rows": len(x.table),
        **{
            k: {"median_s": round(statistics.median(v), 3), "max_s": round(max(v), 3)}
            for k, v in results.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/kpinb-bench-explorer"))
    parser.add_argument("--period", default="2026-Q3")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.period)))
        return
    from kpinb.demo import write_demo

    ws = args.dir / "demo-workspace"
    if not (ws / "kpis.yaml").exists():
        write_demo(ws)
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(ws), "--period", args.period],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"demo workspace: {result['people']} people, {result['rows']} rows of what changed")
    print(f"first display: {result['first_display_s']:.2f} s (fresh process, imports included)")
    print(
        f"first opening of the preview tab: {result['first_preview_s']:.2f} s, after "
        f"{result['warm_up_s']:.2f} s of loading Altair in the background"
    )
    for kind in ("person", "kpi", "view", "filter", "sort"):
        r = result[kind]
        print(
            f"{kind:>7} change: median {r['median_s']:.3f} s, slowest {r['max_s']:.3f} s "
            f"({CHANGES} changes)"
        )


if __name__ == "__main__":
    main()
