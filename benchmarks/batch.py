"""How fast is ``kpinb run``? Employee reports for the demo people, made three ways.

(a) ``kpinb run`` (warm kernels, one per worker), as a user runs it, end to end;
(b) a plain loop of ``papermill.execute_notebook`` plus nbconvert per report (a fresh
    kernel per report), measured on a sample because it is slow;
(c) the floor: ``build_report`` + ``page_html`` in one warm process without any kernel,
    times the number of workers (perfect scaling, no notebook, no nbconvert).

Also (c') the floor measured with ``workers`` warm processes running at once, which
is what the batch can really reach on a machine that other work shares. Prints
reports per minute and the ratios a/b (aim: at least 10) and a/c (aim: at least 0.6).

Usage: ``python benchmarks/batch.py [--people 200] [--sample-b 20] [--workers N]``.
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
    """The demo workspace with ``people`` people, and its review period.

    The demo generator makes at most 64 people (one per name it knows); a larger
    workspace is made of several demo workspaces (different seeds) with their ids
    renumbered, so the reports are the same kind of report.
    """
    from kpinb.demo import NAMES, write_demo
    from kpinb.periods import period_of

    period = period_of("2026-09-30").label
    if people <= len(NAMES):
        return write_demo(folder, people=people), period
    copies = -(-people // 50)
    sizes = [people // copies + (k < people % copies) for k in range(copies)]
    parts = [
        write_demo(folder.parent / f"part{k}", seed=7 + k, people=n) for k, n in enumerate(sizes)
    ]
    merge_workspaces(parts, folder)
    return folder, period


def merge_workspaces(parts: list[Path], out: Path) -> None:
    """One workspace from several demo workspaces, employee and team ids renumbered."""
    import shutil

    import pandas as pd

    out.mkdir(parents=True)
    shutil.copy(parts[0] / "kpis.yaml", out / "kpis.yaml")
    tables: dict[str, list[pd.DataFrame]] = {}
    offset = 0
    for k, part in enumerate(parts):
        people = pd.read_csv(part / "people.csv", dtype=str, keep_default_na=False)
        emp = {e: f"E{offset + i + 1:03d}" for i, e in enumerate(people["employee_id"])}
        teams = pd.read_csv(part / "teams.csv", dtype=str, keep_default_na=False)
        team = {t: f"T{k + 1}{t[1:]}" for t in teams["team_id"]}
        offset += len(emp)
        for path in sorted(part.glob("*.csv")):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            tables.setdefault(path.name, []).append(renumber(frame, emp, team, k))
    for name, frames in tables.items():
        pd.concat(frames, ignore_index=True).to_csv(out / name, index=False)


def prepare(root: Path, people: int) -> tuple[Path, str, list[str], str]:
    """A workspace of ``people`` demo people under ``root``, its period, its employee ids
    and the load average now (printed beside every benchmark's figures)."""
    from kpinb.workspace import load_workspace

    workspace, period = make_workspace(root / "ws", people)
    ids = load_workspace(workspace).people["employee_id"].astype(str).tolist()
    return workspace, period, ids, ", ".join(f"{x:.1f}" for x in os.getloadavg())


def renumber(frame, emp: dict[str, str], team: dict[str, str], k: int):  # type: ignore[no-untyped-def]
    """``frame`` with employee and team ids mapped; names marked with the copy number."""
    for column in ("employee_id", "manager_id"):
        if column in frame:
            frame[column] = frame[column].replace(emp)
    if "team_id" in frame:
        frame["team_id"] = frame["team_id"].replace(team)
    if "scope_id" in frame:
        is_team = frame["scope"] == "team"
        frame.loc[is_team, "scope_id"] = frame.loc[is_team, "scope_id"].replace(team)
        frame.loc[~is_team, "scope_id"] = frame.loc[~is_team, "scope_id"].replace(emp)
    if "name" in frame and k:
        frame["name"] = frame["name"] + f" {k + 1}"
    return frame


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
        command, cwd=REPO, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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


def way_c_parallel(
    workspace: Path, period: str, out: Path, ids: list[str], workers: int
) -> tuple[int, float]:
    """The floor measured, not multiplied: ``workers`` warm processes share the reports.

    On a machine other work also uses, this is the floor the batch can really reach.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier, spans = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(
            target=_floor_worker, args=(workspace, period, out, ids[k::workers], barrier, spans)
        )
        for k in range(workers)
    ]
    for process in processes:
        process.start()
    measured = [spans.get() for _ in processes]
    for process in processes:
        process.join()
    return len(ids), max(end for _, end in measured) - min(start for start, _ in measured)


def _floor_worker(
    workspace: Path, period: str, out: Path, ids: list[str], barrier: object, spans: object
) -> None:
    from kpinb.report import build_report, page_html
    from kpinb.workspace import load_workspace

    out.mkdir(parents=True, exist_ok=True)
    ws = load_workspace(workspace)
    page_html(build_report(ws, "employee", ids[0], period))  # warm
    barrier.wait()  # type: ignore[attr-defined]
    started = time.time()
    for employee_id in ids:
        page = page_html(build_report(ws, "employee", employee_id, period))
        (out / f"{employee_id}.html").write_text(page, encoding="utf-8")
    spans.put((started, time.time()))  # type: ignore[attr-defined]


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
        workspace, period, ids, load = prepare(root, args.people)
        print(
            f"{len(ids)} demo people, period {period}, {args.workers} worker(s), "
            f"{os.cpu_count()} core(s), load average before: {load}",
            flush=True,
        )
        a = way_a(workspace, period, root / "a", args.workers)
        rate_a = show("(a) kpinb run", a, 1)
        c = way_c(workspace, period, root / "c", ids[: args.sample_c or len(ids)])
        rate_c = show(f"(c) warm-process floor x {args.workers}", c, args.workers)
        c2 = way_c_parallel(
            workspace, period, root / "c2", ids[: args.sample_c or len(ids)], args.workers
        )
        rate_c2 = show(f"(c') floor, {args.workers} processes measured", c2, 1)
        b = way_b(workspace, period, root / "b", ids[: args.sample_b or len(ids)])
        rate_b = show("(b) papermill + nbconvert loop", b, 1)
    print(
        f"a/b = {rate_a / rate_b:.1f}x (aim >= 10)   a/c = {rate_a / rate_c:.0%} (aim >= 60%)"
        f"   a/c' = {rate_a / rate_c2:.0%}"
    )


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
