"""Benchmark: the cross-table checks that once grew faster than the data.

Times the reporting-line check (``manager_loops``) on one chain of ``--chain`` managers
(each person managed by the next, the top three in a loop), which must stay linear:
a chain of 4,000 once took 116 s.

Run: ``.venv/bin/python benchmarks/checks.py [--chain 4000]``
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from kpinb.workspace.checks import manager_loops
from kpinb.workspace.readers import RawTable


def chain(n: int) -> tuple[pd.DataFrame, RawTable]:
    """People P0000 .. managed each by the next; the last three form a loop."""
    ids = [f"P{i:06d}" for i in range(n)]
    managers = [*ids[1:], ids[n - 3]]
    people = pd.DataFrame({"employee_id": ids, "manager_id": pd.array(managers, "string")})
    return people, RawTable(people.astype(object), "people.csv", 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=4000)
    args = parser.parse_args()
    for n in (args.chain, 10 * args.chain):
        people, raw = chain(n)
        start, start_cpu = time.perf_counter(), time.process_time()
        problems = manager_loops(people, raw)
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        assert len(problems) == 1
        print(f"manager chain of {n:>7,}: {wall:7.3f} s wall {cpu:7.3f} s CPU (aim < 2 s)")


if __name__ == "__main__":
    main()
