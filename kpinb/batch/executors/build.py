"""One report, from job to page: the per-report code every executor shares.

An executor (:mod:`kpinb.batch.executors.base`) decides *where* a report's notebook runs (a
local warm kernel, a kernel on a Dask worker); this module says *what* running it means:
parameterise the notebook, execute it on a warm kernel, check that the twin is the report
asked for (a reused kernel must never publish one person's report as another's), export
the page through kpinb's nbconvert template and scan it for anything a browser would
fetch. The result, a :class:`~kpinb.batch.records.BuiltReport`, is small and picklable:
a Dask worker sends it back to the client, which publishes it exactly as a local run does.
"""

from __future__ import annotations

import copy
import functools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.batch.records import BuiltReport

if TYPE_CHECKING:
    from kpinb.batch.executors.kernels import NotebookRun, WarmKernel
    from kpinb.batch.records import ReportFiles, ReportJob
    from kpinb.periods import Period
    from kpinb.workspace import Workspace


def skip_slow_iri_checker() -> None:
    """Spare this process the 1-2 s that ``import nbformat`` spends compiling IRI grammars.

    nbformat (under papermill and nbconvert) imports jsonschema, whose format checkers
    import ``rfc3987_syntax`` when it is installed (JupyterLab brings it), and that
    module builds ~35 Lark parsers at import (python-jsonschema/jsonschema#1428). No
    notebook schema checks the ``iri`` format, so the batch marks the module missing
    before nbformat is first imported: jsonschema then leaves the ``iri`` check out.
    Nothing changes in a process that imported jsonschema already.
    """
    if "jsonschema" not in sys.modules:
        # None in sys.modules is how the import system spells "no such module"
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


@functools.cache
def skip_missing_black() -> None:
    """Spare every report papermill's failed ``import black`` when black is not installed.

    papermill formats the injected parameters cell with black when it can import it, and
    tries that import for each notebook it parameterises: without black, a search of
    every folder on ``sys.path`` per report, on the kernels' loop thread. Marking the
    module missing once (only when it is) makes that import fail at once; the injected
    cell is the same, unformatted, either way.
    """
    import importlib.util

    if "black" not in sys.modules and importlib.util.find_spec("black") is None:
        # None in sys.modules is how the import system spells "no such module"
        sys.modules["black"] = None  # type: ignore[assignment]


def _only_rebinds(source: str, injected: set[str]) -> bool:
    """True when ``source`` only binds names of ``injected`` to literals (``x: str = "a"``)."""
    import ast

    try:
        statements = ast.parse(source).body
    except SyntaxError:
        return False
    targets: list[ast.expr]
    for statement in statements:
        if isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        else:
            return False
        if not all(isinstance(t, ast.Name) and t.id in injected for t in targets):
            return False
        try:
            ast.literal_eval(value)
        except ValueError:
            return False
    return True


@dataclass(frozen=True)
class WorkspacePart:
    """The rows a group of a run's reports read (``None``: the whole workspace), and
    those reports' files: what one pickle the kernels take over holds."""

    files: frozenset[ReportFiles]
    rows: tuple[set[str], set[str], set[str]] | None


class ReportBuilder:
    """Turns report jobs of one period into built reports
    (:class:`~kpinb.batch.records.BuiltReport`) on a warm kernel.

    ``templates`` maps each notebook path a job names to its notebook node (read once).
    ``parts`` split the run's reports by the rows they read (shards,
    :mod:`kpinb.batch.planning.shards`): the executor writes the workspace ``ws`` with
    the period's analysis, narrowed to each part, to a pickle of its own
    (:meth:`write_workspaces`), and a kernel takes over the part of its next report
    before building it (:meth:`prime_code`) instead of loading and analysing the
    workspace again. The nbconvert exporter is made on first use, in the process that
    converts.
    """

    def __init__(
        self,
        period: str,
        templates: dict[Path, Any],
        ws: Workspace | None = None,
        parts: Sequence[WorkspacePart] = (),
        analysed: Period | None = None,
    ) -> None:
        self.period = period
        self.templates = templates
        self.parts = tuple(parts) or (WorkspacePart(frozenset(), None),)
        self._ws = ws  # the parent's, never sent anywhere (see __getstate__)
        self._analysed = analysed
        self._part_of = {f: n for n, part in enumerate(self.parts) for f in part.files}
        self._exporter: Any = None

    @classmethod
    def for_jobs(
        cls, ws: Workspace, period: Period, jobs: list[ReportJob], *, bound: int | None = None
    ) -> ReportBuilder:
        """A builder for ``jobs``: their notebooks read from disk, ``ws`` analysed for
        ``period``, and the jobs split into shards of at most about ``bound`` people
        (:data:`~kpinb.batch.planning.shards.SHARD_PEOPLE` unless given;
        :func:`~kpinb.batch.planning.shards.shard_jobs`), each pickled for the kernels
        narrowed to the rows its reports read: a kernel holds one part of a big
        organisation at a time, never all of it. One part when the jobs make one shard:
        narrowed when they cover part of the organisation (``--only``, a rerun of a
        few), the whole workspace otherwise."""
        from papermill.iorw import load_notebook_node

        from kpinb.batch.planning import shards
        from kpinb.report import period_analysis

        period_analysis(ws, period)  # kept in ws.derived, pickled with it
        whole = len(ws.people)
        parts = []
        for shard in shards.shard_jobs(ws, jobs, bound or shards.SHARD_PEOPLE):
            rows = (set(shard.people), set(shard.teams), set(shard.departments))
            files = frozenset(j.files for j in shard.jobs)
            parts.append(WorkspacePart(files, rows if len(shard.people) < whole else None))
        templates = {nb: load_notebook_node(str(nb)) for nb in {j.notebook for j in jobs}}
        return cls(period.label, templates, ws, parts, period)

    def part_of(self, job: ReportJob) -> int:
        """The index of the part (:attr:`parts`) whose pickle ``job``'s kernel takes over."""
        return self._part_of.get(job.files, 0)

    def ordered(self, jobs: Sequence[ReportJob]) -> list[ReportJob]:
        """``jobs`` part by part (in order within each): a kernel working down the list
        takes each part over at most once."""
        return sorted(jobs, key=self.part_of)

    def write_workspaces(self, folder: Path) -> list[Path | None]:
        """Write each part's pickle (private, atomically) into ``folder``, one after the
        other, each made just before it is written and let go right after: the parent
        never holds more than one. ``None`` for a part that could not be written (a full
        disk): the kernels then read the workspace themselves."""
        if self._ws is None:
            return [None] * len(self.parts)
        return [
            self._write_part(part, folder / f"workspace-{n}.pickle")
            for n, part in enumerate(self.parts)
        ]

    def _write_part(self, part: WorkspacePart, path: Path) -> Path | None:
        import pickle

        from kpinb.files import atomic_open
        from kpinb.report import narrowed_workspace

        ws = self._ws
        assert ws is not None
        if part.rows is not None and self._analysed is not None:
            ws = narrowed_workspace(ws, self._analysed, *part.rows)
        try:
            with atomic_open(path, "wb", tmp_dir=path.parent, private=True) as handle:
                pickle.dump(ws, handle, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError:
            return None
        return path

    def prime_code(self, folder: Path, pickled: Path | None) -> str:
        """The code a kernel runs before a report of another part than its last one:
        let go of the workspace it holds (its namespace reset, the loader's cache
        emptied, the garbage collector's frozen objects unfrozen and collected, so the
        old part's memory is really freed), then take over the part pickled at
        ``pickled`` as the workspace at ``folder`` (the notebooks' ``workspace``
        parameter) and freeze it out of the collector's view. With no pickle (it could
        not be written) only the letting go: the kernel then reads and analyses the
        workspace itself."""
        release = (
            "get_ipython().run_line_magic('reset', '-f'); "
            "__import__('kpinb.workspace').workspace.forget_workspace(); "
            "__import__('gc').unfreeze(); __import__('gc').collect(); "
        )
        if pickled is None:
            return release + "__import__('gc').freeze()"
        return release + (
            f"__import__('kpinb.workspace').workspace.adopt_workspace({str(folder)!r}, "
            f"__import__('pathlib').Path({str(pickled)!r})); "
            "__import__('gc').freeze()"
        )

    def notebook(self, job: ReportJob) -> Any:
        """A fresh copy of the job's notebook with its parameters injected (papermill).

        The notebook's own parameters cell is marked ``skip-execution`` (nbclient leaves
        it out) when running it could change nothing: it only binds names to literals,
        and the injected cell right after binds every one of them again. One kernel
        round trip less per report.
        """
        from papermill.parameterize import parameterize_notebook

        skip_missing_black()
        nb = parameterize_notebook(copy.deepcopy(self.templates[job.notebook]), job.parameters)
        nb.metadata.papermill["input_path"] = str(job.notebook)
        for cell in nb.cells:
            tags = cell.get("metadata", {}).get("tags", [])
            if "parameters" in tags and _only_rebinds(cell.source, set(job.parameters)):
                cell.metadata["tags"] = [*tags, "skip-execution"]
        return nb

    async def run(self, kernel: WarmKernel, job: ReportJob, pickled: Path | None) -> NotebookRun:
        """Run the job's notebook on ``kernel``, which first takes over the job's part of
        the workspace (written by the executor to ``pickled``) when it holds another."""
        kernel.prime = self.prime_code(Path(job.parameters["workspace"]), pickled)
        return await kernel.run(self.notebook(job))

    async def build(self, kernel: WarmKernel, job: ReportJob, pickled: Path | None) -> BuiltReport:
        """Run the job's notebook on ``kernel`` and turn it into a page (or a failure)."""
        return self.finish(job, await self.run(kernel, job, pickled))

    def finish(self, job: ReportJob, run: NotebookRun) -> BuiltReport:
        """The page and twin of an executed notebook, or why it cannot be published."""
        from kpinb.batch.formats import page, twin

        if run.error is not None:
            return BuiltReport(run.seconds, error=str(run.error), nb=run.nb)
        twin_data = twin.twin_of(run.nb)
        problem = twin.twin_mismatch(twin_data, job.files, self.period)
        if problem is None and twin_data is not None:
            problem = _false_claims(twin_data)
        if problem is None:
            footer = page.page_footer(self.period, job.files.view)
            title = str(twin_data.get("title", job.name)) if twin_data else job.name
            html = page.export_page(self.exporter, run.nb, title=title, footer=footer)
            fetched = page.external_fetches(html)
            if not fetched:
                return BuiltReport(run.seconds, html=html, twin=twin_data)
            problem = f"the page would fetch from another host: {', '.join(fetched[:3])}"
        return BuiltReport(run.seconds, error=problem, nb=run.nb)

    @property
    def exporter(self) -> Any:
        """kpinb's nbconvert exporter (:func:`kpinb.batch.formats.page.make_exporter`), made
        once."""
        if self._exporter is None:
            from kpinb.batch.formats.page import make_exporter

            self._exporter = make_exporter()
        return self._exporter

    def __getstate__(self) -> dict[str, Any]:
        # exporters do not pickle (remade there); the workspace travels as its parts' pickles
        return {**self.__dict__, "_exporter": None, "_ws": None}


def _false_claims(twin_data: Any) -> str | None:
    """Why the report must not be published: claims its own numbers contradict
    (:mod:`kpinb.report.claims`), or None."""
    from kpinb.report import claims

    failures = claims.check(dict(twin_data))
    return claims.summary(failures) if failures else None
