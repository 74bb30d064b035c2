"""Running a planned batch over one period folder, safely and in parallel.

A run holds the period folder's lock, skips every report whose inputs key and
published files are unchanged (unless forced), has an executor
(:mod:`kpinb.batch.executors`: warm kernels here, or on a Dask cluster) build the rest
(:mod:`kpinb.batch.executors.build`: run, check that each finished notebook is the report
it was asked for, convert), renders each in every chosen output format
(:mod:`kpinb.batch.formats`) and publishes its files atomically as it comes
(:mod:`kpinb.batch.publish.reports`). A report that stops keeps its executed notebook
under ``failed/``, is never published and never stops the others. At the end the run
writes the indexes (HR operations' ``index.html``, each manager's
``managers/<id>.html``) and ``run.json`` (:mod:`kpinb.batch.publish.index`,
:mod:`kpinb.batch.publish.manifest`); pages of views the run did not build are listed
in both as from an earlier run.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.batch.formats import registry
from kpinb.batch.planning.plan import scope_members
from kpinb.batch.publish import folder, reports
from kpinb.batch.records import BatchResult, BuiltReport, ReportJob, ReportOutcome

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from kpinb.batch.executors.base import Executor
    from kpinb.batch.formats.base import OutputFormat
    from kpinb.batch.publish.uploads import Uploader
    from kpinb.periods import Period
    from kpinb.workspace import Workspace


class PeriodRun:
    """One run over a period folder: skip, execute, publish, index (holds the folder lock)."""

    def __init__(
        self,
        per: Period,
        period_dir: Path,
        jobs: list[ReportJob],
        *,
        executor: Executor,
        progress: bool | None,
        formats: tuple[OutputFormat, ...] | None = None,
        uploader: Uploader | None = None,
        views: Iterable[tuple[str, str]] | None = None,
    ) -> None:
        self.per = per
        self.period_dir = period_dir
        self.jobs = jobs
        self.executor = executor
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.outcomes: list[ReportOutcome] = []
        self.staging = period_dir
        self.started_at = ""
        self.bar = _Progress(0, False)
        # the files each report is published as (html and json, a PDF when asked for)
        self.formats = registry.select(()) if formats is None else formats
        self.uploader = uploader  # --out is a URL: each report also goes there
        self.sessions: dict[str, Any] = {}  # what each format holds for the run (a browser)
        # the (scope, view) pairs this run builds: other views' pages are from earlier runs
        self.views = None if views is None else frozenset(views)

    def run(self, ws: Workspace, *, force: bool) -> BatchResult:
        """Skip what is current, build the rest, then write index.html and run.json."""
        self.started_at = folder.now_iso()
        started = time.perf_counter()
        folder.check_writable(self.period_dir)
        reports.check_targets(self.period_dir, (job.files for job in self.jobs))
        with folder.hold_lock(self.period_dir):
            self.staging = folder.make_staging(self.period_dir)
            try:
                states = reports.read_states(self.period_dir)
                self._note_foreign(states)
                todo = []
                for job in self.jobs:
                    state = states.get(str(job.files.html))
                    if not force and self._is_current(state, job):
                        self.outcomes.append(ReportOutcome(job, "unchanged"))
                    else:
                        todo.append(job)
                log.info(
                    "%s: %d report(s) to build, %d unchanged",
                    self.per.label,
                    len(todo),
                    len(self.jobs) - len(todo),
                    extra={
                        "period": self.per.label,
                        "to_build": len(todo),
                        "unchanged": len(self.jobs) - len(todo),
                        "workers": getattr(self.executor, "workers", None),
                    },
                )
                if todo:
                    with self._sessions():
                        self._execute(ws, todo)
                return self._finish(ws, time.perf_counter() - started)
            finally:
                shutil.rmtree(self.staging, ignore_errors=True)

    def _is_current(self, state: Mapping[str, Any] | None, job: ReportJob) -> bool:
        """Built from the same inputs and intact in the mirror, and, with a URL as
        ``--out``, still at the destination as the mirror holds it (a page deleted there
        is built and uploaded again)."""
        if not reports.is_current(self.period_dir, state, job.key, formats=self.formats):
            return False
        if self.uploader is None:
            return True
        return self.uploader.holds(self.period_dir, self._relatives(job))

    def _relatives(self, job: ReportJob) -> list[Any]:
        """The report's files in this run's formats, the page last (the upload order)."""
        made = {f.suffix for f in self.formats}
        return [job.files.path(s) for s in registry.suffixes() if s in made]

    def _note_foreign(self, states: Mapping[str, Any]) -> None:
        """With a URL as ``--out``: say at once when the destination holds report pages
        that this machine's mirror does not know (another machine publishes there too)."""
        if self.uploader is None:
            return
        known = {*states, *(str(job.files.html) for job in self.jobs)}
        foreign = self.uploader.foreign(known)
        if foreign:
            more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
            shown = ", ".join(foreign[:5]) + more
            log.warning(
                "note: %s holds %d report page(s) that this machine did not publish (%s): "
                "another machine publishes to this URL too. They stay there, but the "
                "index.html this run uploads lists only the reports built on this machine; "
                "publish a period from one machine (or from one shared --out folder) to "
                "keep the index whole.",
                self.uploader.where,
                len(foreign),
                shown,
                extra={"period": self.per.label, "foreign": len(foreign)},
            )

    @contextlib.contextmanager
    def _sessions(self) -> Iterator[None]:
        """What each format needs for the whole run (with PDFs, one headless Chromium)."""
        with contextlib.ExitStack() as stack:
            for fmt in self.formats:
                self.sessions[fmt.name] = stack.enter_context(fmt.session(self.staging))
            yield

    def _execute(self, ws: Workspace, todo: list[ReportJob]) -> None:
        from kpinb.batch.executors.build import ReportBuilder

        builder = ReportBuilder.for_jobs(ws, self.per, todo)
        self.bar = _Progress(len(todo), self.progress, self.per.label)
        try:
            for job, built in self.executor.build(todo, builder):
                outcome = self._publish(job, built)
                self.outcomes.append(outcome)
                self.bar.update(outcome)
        finally:
            self.bar.close()

    def _publish(self, job: ReportJob, built: BuiltReport) -> ReportOutcome:
        """Publish a built report in every chosen format, or keep the failure's details; a
        disk error (full, read-only, no permission) fails this report only, with its
        reason, and so does a format that cannot render it (``PDF: ...``)."""
        error = built.error
        if error is None:
            try:
                rendered = reports.render(self.formats, self.sessions, built, job.files)
                reports.publish(
                    self.period_dir,
                    job.files,
                    built.twin or {},
                    rendered,
                    name=job.name,
                    key=job.key,
                    staging=self.staging,
                )
                error = self._upload(job, list(rendered))
                if error is None:
                    return ReportOutcome(job, "written", built.run_seconds)
            except OSError as exc:
                error = f"disk: {exc.strerror or exc} ({exc.filename or 'writing the report'})"
            except reports.RenderError as exc:
                error = str(exc)
        try:
            kept = reports.keep_failed(
                self.period_dir, job.files, built.nb, error, name=job.name, staging=self.staging
            )
        except OSError:  # the disk is full or read-only: the outcome still says why
            kept = None
        return ReportOutcome(job, "failed", built.run_seconds, error, kept)

    def _upload(self, job: ReportJob, formats: list[OutputFormat]) -> str | None:
        """With a URL as ``--out``: upload the report just published in ``formats`` (page
        last); on failure it leaves the mirror, so the next run builds it again. Why, or
        ``None``."""
        if self.uploader is None:
            return None
        files = job.files
        made = {f.suffix for f in formats}
        try:
            self.uploader.put(
                self.period_dir, [files.path(s) for s in registry.suffixes() if s in made]
            )
        except Exception as exc:  # fsspec back ends raise their own errors (network, auth)
            reports.remove_report(self.period_dir, str(files.html))
            return f"upload: {type(exc).__name__}: {exc}"
        return None

    def _finish(self, ws: Workspace, seconds: float) -> BatchResult:
        from kpinb.batch.formats.twin import dumps_json
        from kpinb.batch.publish.folder import PRIVATE_DIR
        from kpinb.batch.publish.index import (
            MANAGERS_DIR,
            older_rows,
            render_indexes,
            split_current,
        )
        from kpinb.batch.publish.manifest import failure_details, run_manifest

        # the index lists every report of the period (not only this run's) whose
        # subject is still in the workspace
        members = scope_members(ws, self.per)
        removed: list[str] = []
        unwritten: list[str] = []
        for html, state in reports.read_states(self.period_dir).items():
            if html and not _listed(state, members):
                reports.remove_report(self.period_dir, html)  # its subject left the workspace
                removed.append(f"{state.get('scope')} {state.get('scope_id')!r} ({html})")
                if self.uploader is not None:
                    gone = [Path(html).with_suffix(x).as_posix() for x in registry.suffixes()]
                    unwritten += _at_url(html, self.uploader.remove, gone)
        states = [s for s in reports.read_states(self.period_dir).values() if _listed(s, members)]
        index = self.period_dir / "index.html"
        pages = render_indexes(
            ws,
            period=self.per.label,
            records=states,
            views=self.views,
            warnings=[str(w) for w in ws.warnings],
            private=f"{PRIVATE_DIR}/{self.period_dir.name}",
            success=f"{ws.settings.success:g}",
        )
        order = {str(j.files.html): i for i, j in enumerate(self.jobs)}
        outcomes = tuple(sorted(self.outcomes, key=lambda o: order[str(o.job.files.html)]))
        if any(o.status == "failed" for o in outcomes):
            unwritten += self._write(
                folder.private_dir(self.period_dir) / "details.json",
                dumps_json(failure_details(outcomes, self.period_dir)),
                private=True,
            )
        for relative, page in pages.items():
            path = folder.resolve_under(self.period_dir, relative)
            path.parent.mkdir(exist_ok=True)
            unwritten += self._write(path, page, if_changed=True)
        for old in (self.period_dir / MANAGERS_DIR).glob("*.html"):
            if f"{MANAGERS_DIR}/{old.name}" not in pages:  # no longer a manager's
                old.unlink(missing_ok=True)
        manifest = self.period_dir / "run.json"
        content = run_manifest(
            ws,
            self.per.label,
            self.jobs,
            outcomes,
            period_dir=self.period_dir,
            workers=self.executor.workers,
            started=self.started_at,
            seconds=seconds,
        )
        content["indexes"] = sorted(pages)
        content["older"] = older_rows(split_current(states, self.views)[1])
        unwritten += self._write(manifest, dumps_json(content))
        if self.uploader is not None:
            # managers' indexes first: the HR index that links them goes after them
            for name in (*sorted(pages, key=lambda n: n == "index.html"), "run.json"):
                unwritten += _at_url(name, self.uploader.put, self.period_dir, [name])
        return BatchResult(
            self.per.label,
            self.period_dir,
            index,
            manifest,
            outcomes,
            tuple(unwritten),
            tuple(removed),
        )

    def _write(
        self, path: Path, text: str, *, if_changed: bool = False, private: bool = False
    ) -> list[str]:
        """Write one of the run's own files; a disk error is reported, not raised."""
        from kpinb.files import atomic_write

        try:
            if if_changed:
                folder.write_if_changed(path, text, tmp_dir=self.staging)
            else:
                atomic_write(path, text, tmp_dir=self.staging, private=private)
        except OSError as exc:
            return [f"{path.name} could not be written: {exc.strerror or exc}"]
        return []


def _listed(state: Mapping[str, Any], members: Mapping[str, Mapping[str, str]]) -> bool:
    """True when the report's subject (its state's scope and id) is still in the workspace."""
    scope = state.get("scope")
    return isinstance(scope, str) and state.get("scope_id") in members.get(scope, {})


def _at_url(name: str, action: Any, *args: Any) -> list[str]:
    """Upload (or remove) one of the run's own files at the URL; a failure is reported,
    not raised (like a file of the run that cannot be written)."""
    try:
        action(*args)
    except Exception as exc:  # fsspec back ends raise their own errors (network, auth)
        return [f"{name} could not be uploaded: {type(exc).__name__}: {exc}"]
    return []


class _Progress:
    """A tqdm bar on a terminal; otherwise a plain line about every tenth report."""

    def __init__(self, total: int, bar: bool, period: str = "") -> None:
        self.total = total
        self.period = period
        self.count = 0
        self.step = max(1, total // 10)
        self.bar = None
        if bar:
            from tqdm import tqdm

            size = shutil.get_terminal_size()  # 80x24 where a terminal reports no size
            self.bar = tqdm(
                total=total,
                unit="report",
                desc="kpinb run",
                file=sys.stderr,
                ncols=size.columns,
                nrows=size.lines,
            )

    def update(self, outcome: ReportOutcome) -> None:
        """Count one finished report; always mention one that could not be generated."""
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
            if outcome.status == "failed":
                self.bar.write(
                    f"kpinb: {outcome.job.files.label}: {outcome.error}", file=sys.stderr
                )
            return
        if outcome.status == "failed":
            log.error(
                "%s: %s",
                outcome.job.files.label,
                outcome.error,
                extra={**self._fields(outcome), "error_kind": outcome.error_kind},
            )
        else:
            log.debug(
                "%s: %s",
                outcome.job.files.label,
                outcome.status,
                extra={**self._fields(outcome), "status": outcome.status},
            )
        if self.count % self.step == 0 or self.count == self.total:
            log.info(
                "%d/%d reports done",
                self.count,
                self.total,
                extra={"period": self.period, "done": self.count, "total": self.total},
            )

    def _fields(self, outcome: ReportOutcome) -> dict[str, str]:
        """A report's structured fields in a log record (``--log-format json``)."""
        files = outcome.job.files
        return {
            "period": self.period,
            "report": files.label,
            "scope": files.scope,
            "scope_id": files.scope_id,
            "view": files.view,
        }

    def close(self) -> None:
        """Close the bar (if any)."""
        if self.bar is not None:
            self.bar.close()
