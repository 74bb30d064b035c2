"""Benchmark: the cross-table checks that once grew faster than the data.

Times the reporting-line check (``manager_loops``) on one chain of ``--chain`` managers
(each person managed by the next, the top three in a loop), which must stay linear:
a chain of 4,000 once took 116 s. Then validates a workspace of ``--people`` people
(benchmarks/load.py's, CSV) whose ``kpis.yaml`` does not parse, in a fresh process: the
KPI-dependent checks stop with one sentence instead of naming every observation's KPI
(20,000 people once took 152 s and 8.1 GB; the valid workspace 8.5 s and 2.7 GB).

Run: ``.venv/bin/python benchmarks/checks.py [--chain 4000] [--people 20000]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from kpinb.workspace.checks import manager_loops
from kpinb.workspace.readers import RawTable


def chain(n: int) -> tuple[pd.DataFrame, RawTable]:
    """People P0000 .. managed each by the next; the last three form a loop."""
    ids = [f"P{i:06d}" for i in range(n)]
    managers = [*ids[1:], ids[n - 3]]
    people = pd.DataFrame({"employee_id": ids, "manager_id": pd.array(managers, "string")})
    return people, RawTable(people.astype(object), "people.csv", 2)


_VALIDATE = """
import json, sys, time
from kpinb.workspace import validate_workspace
t, c = time.perf_counter(), time.process_time()
result = validate_workspace(sys.argv[1])
secs, cpu = time.perf_counter() - t, time.process_time() - c
peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({"seconds": secs, "cpu": cpu, "rss_mb": int(peak) / 1024,
                  "problems": [str(p) for p in result.problems]}))
"""


def validate_in_a_fresh_process(root: Path) -> dict[str, object]:
    """Seconds, peak RSS (MB) and problems of ``validate_workspace(root)``."""
    done = subprocess.run(
        [sys.executable, "-c", _VALIDATE, str(root)], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def broken_kpis(people: int) -> None:
    """A workspace of ``people`` validated with a valid, then a broken ``kpis.yaml``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from load import write_workspace

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_workspace(root, people, "csv")
        for case in ("valid", "broken"):
            if case == "broken":
                (root / "kpis.yaml").write_text("kpis: [unclosed\n  - id: K00\n")
            r = validate_in_a_fresh_process(root)
            problems = r["problems"]
            assert isinstance(problems, list)
            print(
                f"validate, {people:,} people, {case} kpis.yaml: {r['seconds']:6.1f} s "
                f"({r['cpu']:.1f} s CPU), "
                f"peak {r['rss_mb']:,.0f} MB, {len(problems)} problem(s)"
                + (" (aim < 15 s)" if case == "broken" else "")
            )
            if case == "broken":
                print(f"  {problems[0][:160]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=4000)
    parser.add_argument("--people", type=int, default=20_000, help="0: skip the kpis.yaml case")
    args = parser.parse_args()
    for n in (args.chain, 10 * args.chain):
        people, raw = chain(n)
        start, start_cpu = time.perf_counter(), time.process_time()
        problems = manager_loops(people, raw)
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        assert len(problems) == 1
        print(f"manager chain of {n:>7,}: {wall:7.3f} s wall {cpu:7.3f} s CPU (aim < 2 s)")
    if args.people:
        broken_kpis(args.people)


if __name__ == "__main__":
    main()
