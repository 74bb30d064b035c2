"""How fast is ``kpinb run``? Employee reports for the demo people, made three ways.

(a) ``kpinb run`` (warm kernels, one per worker), as a user runs it, end to end;
(b) a plain loop of ``papermill.execute_notebook`` plus nbconvert per report (a fresh
    kernel per report), measured on a sample because it is slow;
(c) the floor: ``build_report`` + ``page_html`` in one warm process without any kernel,
    times the number of workers (perfect scaling, no notebook, no nbconvert).

Prints reports per minute and the ratios a/b (aim: at least 10) and a/c (aim: at
least 0.6). Usage: ``python benchmarks/batch.py [--people 200] [--sample-b 20]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "employee_report.ipynb"


def make_workspace(folder: Path, people: int) -> tuple[Path, str]:
    """The demo workspace with ``people`` people, and its review period."""
    from kpinb.demo import write_demo
    from kpinb.periods import period_of

    return write_demo(folder, people=people), period_of("2026-09-30").label


def way_a(workspace: Path, period: str, out: Path, workers: int) -> tuple[int, float]:
    """``kpinb run`` in a subprocess, employee reports only, every report rebuilt."""
    command = [
        sys.executable,
        "-m",
        "kpinb",
        "run",
        str(workspace),
        "--period",
        period,
        "--out",
        str(out),
        "--views",
        "employee",
        "--workers",
        str(workers),
        "--force",
    ]
    started = time.perf_counter()
    subprocess.run(
        command, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seconds = time.perf_counter() - started
    return len(list((out / period / "employees").glob("*.html"))), seconds


def way_b(workspace: Path, period: str, out: Path, ids: list[str]) -> tuple[int, float]:
    """A plain loop: papermill (fresh kernel) then nbconvert, one report after another."""
    import logging

    import papermill
    from nbconvert import HTMLExporter

    logging.getLogger("papermill").setLevel(logging.WARNING)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for employee_id in ids:
        nb = papermill.execute_notebook(
            str(NOTEBOOK),
            str(out / f"{employee_id}.ipynb"),
            progress_bar=False,
            parameters={
                "workspace": str(workspace),
                "employee_id": employee_id,
                "period": period,
                "view": "employee",
            },
            cwd=str(NOTEBOOK.parent),
        )
        html, _ = HTMLExporter(exclude_input=True).from_notebook_node(nb)
        (out / f"{employee_id}.html").write_text(html, encoding="utf-8")
    return len(ids), time.perf_counter() - started


def way_c(workspace: Path, period: str, out: Path, ids: list[str]) -> tuple[int, float]:
    """The floor: the same content built in one warm process (imports done beforehand)."""
    from kpinb.report import build_report, page_html
    from kpinb.workspace import load_workspace

    out.mkdir(parents=True, exist_ok=True)
    ws = load_workspace(workspace)
    page_html(build_report(ws, "employee", ids[0], period))  # warm: imports, chart engine
    started = time.perf_counter()
    for employee_id in ids:
        page = page_html(build_report(ws, "employee", employee_id, period))
        (out / f"{employee_id}.html").write_text(page, encoding="utf-8")
    return len(ids), time.perf_counter() - started


def per_minute(count: int, seconds: float) -> float:
    """Reports per minute."""
    return 60.0 * count / seconds


def main() -> None:
    """Run the three ways and print the table (each line as soon as it is measured)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--sample-b", type=int, default=20, help="reports for way (b), the slow plain loop (0: all)"
    )
    parser.add_argument("--sample-c", type=int, default=0, help="reports for way (c) (0: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kpinb-bench-") as tmp:
        root = Path(tmp)
        workspace, period = make_workspace(root / "ws", args.people)
        from kpinb.workspace import load_workspace

        ids = load_workspace(workspace).people["employee_id"].astype(str).tolist()
        print(
            f"{len(ids)} demo people, period {period}, {args.workers} worker(s), "
            f"{os.cpu_count()} core(s)",
            flush=True,
        )
        a = way_a(workspace, period, root / "a", args.workers)
        rate_a = show("(a) kpinb run", a, 1)
        c = way_c(workspace, period, root / "c", ids[: args.sample_c or len(ids)])
        rate_c = show(f"(c) warm-process floor x {args.workers}", c, args.workers)
        b = way_b(workspace, period, root / "b", ids[: args.sample_b or len(ids)])
        rate_b = show("(b) papermill + nbconvert loop", b, 1)
    print(f"a/b = {rate_a / rate_b:.1f}x (aim >= 10)   a/c = {rate_a / rate_c:.0%} (aim >= 60%)")


def show(label: str, measured: tuple[int, float], workers: int) -> float:
    """Print one way's line and return its reports per minute (times ``workers``)."""
    count, seconds = measured
    rate = per_minute(count, seconds) * workers
    print(
        f"{label:34s} {count:4d} reports in {seconds:7.1f} s  {rate:7.1f} reports/min", flush=True
    )
    return rate


if __name__ == "__main__":
    main()
