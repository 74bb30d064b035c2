"""An executor that starts no kernel: it builds each report in this process with
kpinb.report and hands the run a notebook holding the report's display output, as a
kernel would have; everything after that is the batch's own code."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from nbformat.v4 import new_code_cell, new_notebook, new_output

from kpinb.batch.executors.build import ReportBuilder
from kpinb.batch.executors.kernels import NotebookRun
from kpinb.batch.records import BuiltReport, ReportJob
from kpinb.report import build_report
from kpinb.report.facade import bundle
from kpinb.workspace import load_workspace


class FakeExecutor:
    """Builds reports here; ``fail`` ids come back as failures, ``stop_after`` reports
    in, it raises as a Ctrl-C would; ``wrong`` ids get another person's report."""

    workers = 1

    def __init__(
        self, *, fail: Sequence[str] = (), stop_after: int | None = None, wrong: str = ""
    ) -> None:
        self.fail = set(fail)
        self.stop_after = stop_after
        self.wrong = wrong
        self.given: list[str] = []
        self.closed = False

    def build(
        self, todo: Sequence[ReportJob], builder: ReportBuilder
    ) -> Iterator[tuple[ReportJob, BuiltReport]]:
        ws = load_workspace(todo[0].parameters["workspace"], cache=True)
        for count, job in enumerate(todo):
            if self.stop_after is not None and count == self.stop_after:
                raise KeyboardInterrupt
            files = job.files
            self.given.append(files.scope_id)
            if files.scope_id in self.fail:
                yield job, BuiltReport(0.0, error="cell 2 (In [2]): ValueError: planted", nb=None)
                continue
            scope_id = self.wrong or files.scope_id
            report = build_report(ws, files.scope, scope_id, builder.period, files.view)
            output = new_output("display_data", bundle(report))
            cell = new_code_cell("show(report)", outputs=[output])
            yield job, builder.finish(job, NotebookRun(new_notebook(cells=[cell]), None, 0.0))

    def close(self) -> None:
        self.closed = True
