"""How does the batch scale out? ``kpinb run`` on a Dask cluster beside the local runner.

For each worker count K (default 1, 2, 4) a LocalCluster of K single-threaded worker
processes builds ``--per-worker`` employee reports per worker (``run_batch(...,
scheduler=...)``, every report rebuilt, kernels started by the run as in real use); the
local runner builds the same reports with the same number of kernels. Prints reports
per minute, reports per minute per worker (and as a share of one worker's rate), then
the projected time for ``--people`` people on N machines of ``--cores`` workers each,
from the per-worker rate measured with the most workers that do not share a core (the
least flattering rate that is not an artefact of oversubscription).

Usage: ``python benchmarks/scale.py [--workers 1,2,4] [--per-worker 90] [--cores 16]``.
On a machine with more cores: ``--workers 1,2,4,8,14``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import per_minute, prepare


def run_local(workspace: Path, period: str, out: Path, ids: list[str], workers: int) -> float:
    """Seconds for the local runner to build ``ids``' employee reports."""
    from kpinb.batch import run_batch

    started = time.perf_counter()
    result = run_batch(
        workspace, period, out=out, only=ids, views=["employee"], workers=workers,
        force=True, progress=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    _check(result, len(ids))
    return seconds


def run_dask(workspace: Path, period: str, out: Path, ids: list[str], workers: int) -> float:
    """Seconds for a LocalCluster of ``workers`` processes to build ``ids``' reports
    (the cluster is started before the clock starts, as a standing cluster would be)."""
    from distributed import LocalCluster

    from kpinb.batch import run_batch

    with LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        started = time.perf_counter()
        result = run_batch(
            workspace, period, out=out, only=ids, views=["employee"],
            scheduler=cluster.scheduler_address, force=True, progress=False,
        )  # fmt: skip
        seconds = time.perf_counter() - started
    _check(result, len(ids))
    return seconds


def _check(result: object, expected: int) -> None:
    written = len(result.by_status("written"))  # type: ignore[attr-defined]
    if written != expected:
        msg = f"only {written} of {expected} reports were written"
        raise SystemExit(msg)


def main() -> None:
    """Measure each worker count, then print the projection."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--per-worker", type=int, default=90, help="reports per worker")
    parser.add_argument("--people", type=int, default=50_000, help="people to project for")
    parser.add_argument("--cores", type=int, default=16, help="workers per machine, projected")
    args = parser.parse_args()
    counts = [int(k) for k in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="kpinb-scale-") as tmp:
        root = Path(tmp)
        workspace, period, everyone, load = prepare(root, args.per_worker * max(counts))
        print(
            f"{os.cpu_count()} core(s), load average before: {load}; {args.per_worker} "
            f"employee reports per worker, period {period}",
            flush=True,
        )
        print(f"{'workers':>7}  {'runner':6}  {'reports':>7}  {'seconds':>7}  "
              f"{'per min':>7}  {'per worker':>10}  {'share':>5}")  # fmt: skip
        one = {}
        basis = max([k for k in counts if k <= (os.cpu_count() or 1)] or counts[:1])
        rate_at_basis = 0.0
        for k in counts:
            ids = everyone[: args.per_worker * k]
            for runner, measure in (("local", run_local), ("dask", run_dask)):
                with contextlib.redirect_stderr(io.StringIO()):  # the runs' progress lines
                    seconds = measure(workspace, period, root / f"{runner}{k}", ids, k)
                rate = per_minute(len(ids), seconds)
                one.setdefault(runner, rate / k)
                share = rate / k / one[runner]
                print(
                    f"{k:7d}  {runner:6}  {len(ids):7d}  {seconds:7.1f}  {rate:7.1f}  "
                    f"{rate / k:10.1f}  {share:5.0%}",
                    flush=True,
                )
                if runner == "dask" and k == basis:
                    rate_at_basis = rate / k
    print(
        f"\nprojected for {args.people:,} employee reports at {rate_at_basis:.1f} reports/min "
        f"per Dask worker (the rate with {basis} workers, the most this machine runs without "
        f"sharing a core), {args.cores} workers a machine:"
    )
    for machines in (1, 2, 4, 8, 16):
        minutes = args.people / (rate_at_basis * args.cores * machines)
        print(f"  {machines:2d} machine(s): {minutes:6.0f} min")
    print(
        "(per-worker rates fall as more workers share one machine: on a machine with "
        f"{args.cores} cores, measure with --workers up to {args.cores} and size from that rate)"
    )


if __name__ == "__main__":
    main()
