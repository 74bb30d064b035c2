"""The batch: every coaching report of a review period, in parallel and safely (``kpinb run``).

One run:

1. checks the period, views and ids, validates the workspace (invalid: nothing written);
2. plans every report and its file names, stopping when two ids would share a file,
   and checks that each notebook declares exactly the parameters the batch sends;
3. reads the period's analysis an earlier run kept when it is current, else analyses
   (:mod:`kpinb.batch.kept_analysis`; a whole analysis is kept once the run is done),
   gives each report an inputs key (its workspace slice, the analysis rows it shows,
   notebook, kpinb code) and skips reports whose key and published files are
   unchanged, unless ``force``;
4. runs the rest on warm kernels (:mod:`kpinb.batch.executors.kernels`), one per worker, checks that
   each finished notebook is about the id it was asked for, converts it to HTML with
   kpinb's nbconvert template and publishes the page and its JSON twin atomically;
   a report that stops keeps its executed notebook under ``failed/`` and is never
   published, and never stops the others;
5. writes ``index.html`` and ``run.json``.

This module checks the arguments (1), picks the executor and the output formats, and
hands the rest on: planning and inputs keys (2, 3) are :mod:`kpinb.batch.planning`,
running and publishing (4, 5) :mod:`kpinb.batch.period_run`, with the executors
(:mod:`kpinb.batch.executors`), the output formats (:mod:`kpinb.batch.formats`) and the
publisher (:mod:`kpinb.batch.publish`: the folder, each report's files and state, the
index, ``run.json``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kpinb import heap
from kpinb.batch.executors.base import RESTART_EVERY
from kpinb.batch.executors.build import skip_slow_iri_checker
from kpinb.batch.executors.local import LocalExecutor
from kpinb.batch.formats import registry
from kpinb.batch.kept_analysis import KeptAnalysis
from kpinb.batch.period_run import PeriodRun
from kpinb.batch.planning.inputs_keys import related_rows
from kpinb.batch.planning.plan import NOTEBOOKS_DIR, make_jobs, plan_requests, view_pairs
from kpinb.batch.publish.folder import resolve_under
from kpinb.batch.publish.manifest import check_owner
from kpinb.batch.publish.uploads import is_url
from kpinb.batch.records import BatchResult
from kpinb.errors import BatchError, UsageError
from kpinb.extras import require
from kpinb.periods import Period, as_period
from kpinb.report import narrowed_workspace, period_analysis
from kpinb.scopes import ALL_VIEWS, PACK_VIEWS
from kpinb.settings import read_settings

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
    from kpinb.batch.executors.base import Executor
    from kpinb.batch.publish.uploads import Uploader
    from kpinb.workspace import Workspace


def run_batch(
    workspace_path: str | os.PathLike[str],
    period: str | Period,
    *,
    out: str | os.PathLike[str] = Path("reports"),
    only: Iterable[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    views: Iterable[str] | None = None,
    force: bool = False,
    notebooks_dir: str | os.PathLike[str] | None = None,
    restart_every: int = RESTART_EVERY,
    progress: bool | None = None,
    formats: Iterable[str] = ("html",),
) -> BatchResult:
    """Generate every report of ``period`` for the workspace at ``workspace_path``.

    Parameters
    ----------
    workspace_path
        The workspace folder (docs/workspace.md).
    period
        ``2026-Q3`` or ``2026-09`` (or a :class:`Period`).
    out
        The reports folder; this run writes only inside ``out/<period>/``. Or a URL
        (``s3://bucket/reports``, any fsspec file system): the run builds into a mirror
        folder on this machine and uploads each report as it is published
        (:mod:`kpinb.batch.publish.uploads`).
    only
        Ids to limit the run to: employee ids, team ids or department names.
    workers
        Kernels running in parallel (default: the machine's cores).
    scheduler
        The address of a Dask scheduler (``tcp://host:8786``): the reports are built on
        its workers (:mod:`kpinb.batch.executors.dask`) and published here. Default: on this
        machine.
    executor
        Where the notebooks run, when neither of those: any
        :class:`~kpinb.batch.executors.base.Executor` (tests run the batch on one that starts
        no kernel).
    views
        Views to produce (employee, manager, executive, calibration). Default: each scope
        in its primary view (employees: employee, teams: manager, departments:
        executive). ``calibration`` publishes the period's calibration pack in
        ``out/<period>/calibration/`` (:mod:`kpinb.batch.publish.packs`).
    force
        Regenerate reports whose inputs have not changed.
    notebooks_dir
        Folder holding the three report notebooks (default: the repository's).
    restart_every
        Notebooks one kernel runs before it is replaced by a fresh one.
    progress
        Progress bar (True), plain log lines (False), or decide by the terminal (None).
    formats
        Output formats from the table of :mod:`kpinb.batch.formats.registry`: ``html``
        and ``json`` (always) and optionally ``pdf``: each report printed to PDF by
        headless Chromium (:mod:`kpinb.batch.formats.pdf`), published with its page.

    Raises
    ------
    UsageError
        Bad period, view, worker count, format or unknown ids, ``pdf`` asked for
        without Chromium, ``workers`` with ``scheduler``, or a ``scheduler`` that is no
        Dask address (empty, ``http://``, an unknown scheme; nothing written).
    WorkspaceError
        The workspace is invalid; every problem is listed (nothing written).
    BatchError
        Two reports would share a file, a notebook's parameters differ from what the
        batch sends, the workspace's journal is damaged, the Dask scheduler cannot be
        reached or has no workers, or ``out`` is a URL that cannot be written (nothing
        written).
    """
    from kpinb.analytics import analyse
    from kpinb.workspace import forget_workspace

    skip_slow_iri_checker()
    only = None if only is None else list(only)  # read twice: the reports and the pack
    root = Path(workspace_path)
    per = as_period(period, read_settings(root)[0].fiscal_year_start)
    chosen = _check_views(views)
    count = _check_workers(workers, scheduler)
    scheduler = _check_scheduler(scheduler)
    chosen_formats = registry.select(formats)
    folder = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    uploader, period_dir = _destination(out, per)
    # a run of packs only (--views calibration) over reports already built leaves them,
    # their indexes and run.json as the last report run left them (run.json gains the pack)
    packs_only = chosen is not None and not set(chosen) & set(ALL_VIEWS)
    keep_reports = packs_only and (period_dir / "run.json").is_file()
    if executor is None and scheduler is None and only is None and not keep_reports:
        # a whole period: its kernels start while this process reads, checks and plans
        executor = _executor(None, root, count, folder, restart_every)
    whole: Analysis | None = None  # everyone's analysis, once this run holds it
    unkept: Analysis | None = None  # everyone's analysis, when this run computed it
    store: KeptAnalysis | None = None  # where the period's analysis is kept between runs
    try:
        ws = whole_ws = _load(root)
        _check_journal(root)
        check_owner(period_dir, ws)  # another workspace's reports: refuse, remove nothing
        if keep_reports:
            index, manifest = period_dir / "index.html", period_dir / "run.json"
            result = BatchResult(per.label, period_dir, index, manifest)
        else:
            requests = plan_requests(ws, per, views=chosen, only=only)
            ids = None
            if only is not None:  # a few reports: the analysis keeps only the rows they read
                # held apart from what the process keeps of the workspace (the loader's
                # cache): a later run in this process analyses everyone's rows again
                ws = replace(ws)
                ids = related_rows(ws, requests)
            store = KeptAnalysis.of(ws, per, period_dir)
            analysis = store.read(ids)
            if analysis is None:
                analysis = analyse(ws, per, keep=ids)
                if ids is None:  # everyone's: kept for the next run once this one is done
                    unkept = analysis
            period_analysis(ws, per, given=analysis)
            whole = analysis if ids is None else None
            if executor is None:  # a few reports (--only), or a cluster: made once known
                kernels = max(1, min(count, len(requests)))
                executor = _executor(scheduler, root, kernels, folder, restart_every)
            jobs = make_jobs(ws, per, requests, notebooks_dir=folder)
            if ids is not None and not (chosen and "calibration" in chosen):
                # keyed: from here on a few reports read their own rows alone, so this
                # process lets go of everyone's observations (its copy and the loader's:
                # 1.8 GB at 50,000 people) before its kernels take their rows over; the
                # calibration pack would need them
                ws = whole_ws = narrowed_workspace(ws, per, *ids)
                forget_workspace()
            heap.give_back()  # what analysing or reading and keying freed, before the kernels grow
            run = PeriodRun(
                per,
                period_dir,
                jobs,
                executor=executor,
                progress=progress,
                formats=chosen_formats,
                uploader=uploader,
                views=view_pairs(chosen),
            )
            result = run.run(ws, force=force)
    finally:
        if executor is not None:
            executor.close()
    if chosen and "calibration" in chosen:  # the pack: everyone's figures, narrowed to only
        from kpinb.batch.publish.packs import publish_calibration

        if whole is None:
            store = store or KeptAnalysis.of(whole_ws, per, period_dir)
            whole = store.read()
            if whole is None:
                whole = unkept = analyse(whole_ws, per)
        result = publish_calibration(
            whole_ws, per, period_dir, result, whole, only=only, formats=chosen_formats
        )
    if store is not None and unkept is not None:  # nothing is written by a run that stopped
        store.write(unkept)
    if uploader is not None:
        from kpinb.batch.publish.uploads import make_private

        make_private(period_dir.parent)  # what this run wrote there: owner only too
        result = replace(result, published_to=uploader.where)
    return result


def _destination(out: str | os.PathLike[str], per: Period) -> tuple[Uploader | None, Path]:
    """The period folder the run builds into, and the uploader when ``out`` is a URL
    (``s3://bucket/reports``: the run builds into a mirror on this machine and uploads
    each report, :mod:`kpinb.batch.publish.uploads`). A URL that cannot be written stops the run."""
    from kpinb.batch.publish.uploads import check_out

    check_out(out)
    if not is_url(out):
        return None, resolve_under(Path(out), per.label)
    from kpinb.batch.publish.uploads import Uploader, make_private, mirror_for

    uploader = Uploader(str(out), per.label)
    mirror = mirror_for(str(out))
    make_private(mirror)  # before anything is written into it
    return uploader, resolve_under(mirror, per.label)


def _check_views(views: Iterable[str] | None) -> tuple[str, ...] | None:
    if views is None:
        return None
    chosen = tuple(dict.fromkeys(v.strip() for v in views if v.strip()))
    known = ALL_VIEWS + PACK_VIEWS
    unknown = [v for v in chosen if v not in known]
    if unknown or not chosen:
        msg = f"unknown view(s) {', '.join(unknown) or '(none given)'}; use {', '.join(known)}"
        raise UsageError(msg)
    return chosen


def _executor(
    scheduler: str | None, workspace: Path, workers: int, notebooks: Path, restart_every: int
) -> Executor:
    """Warm kernels here, or on the workers of a Dask cluster."""
    if scheduler is None:
        return LocalExecutor(workers, cwd=notebooks, restart_every=restart_every)
    require("distributed", "dask")  # the dask extra, named when missing
    from kpinb.batch.executors.dask import DaskExecutor

    return DaskExecutor(scheduler, workspace, restart_every=restart_every)


def _check_workers(workers: int | None, scheduler: str | None) -> int:
    if scheduler is not None and workers is not None:
        msg = "--workers is for a run on this machine; with --scheduler the cluster decides"
        raise UsageError(msg)
    if workers is None:
        return os.cpu_count() or 1
    if workers < 1:
        msg = f"--workers must be 1 or more (got {workers})"
        raise UsageError(msg)
    return workers


def _check_scheduler(scheduler: str | None) -> str | None:
    """A scheduler address checked before anything is read or connected."""
    if scheduler is None:
        return None
    require("distributed", "dask")  # the dask extra, named when missing
    from kpinb.batch.executors.dask import check_scheduler_address

    return check_scheduler_address(scheduler)


def _check_journal(root: Path) -> None:
    """A damaged journal stops the run before anything is written (reports would show
    check-ins read wrong, or fail one by one)."""
    from kpinb.errors import JournalError
    from kpinb.journal import check_journal

    try:
        check_journal(root)
    except JournalError as exc:
        raise BatchError(str(exc)) from None


def _load(path: Path) -> Workspace:
    """The workspace, validated; the one this process loaded already while its files are
    unchanged (``kpinb run`` reads it first to choose and check the period): a big
    workspace is read and held once, not twice."""
    from kpinb.workspace import load_workspace

    return load_workspace(path, cache=True)
