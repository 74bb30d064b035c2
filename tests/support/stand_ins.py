"""Stand-ins the batch tests share: small notebooks that display a twin, renamed ids, an
executor that starts no kernel."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_notebook, new_output

from kpinb.batch.executors.build import ReportBuilder
from kpinb.batch.executors.kernels import NotebookRun
from kpinb.batch.planning import plan
from kpinb.batch.records import BuiltReport, ReportJob
from kpinb.report import build_report
from kpinb.report.facade import bundle
from kpinb.workspace import Workspace, load_workspace


def write_stand_in_notebooks(folder: Path, *, body: str = "", twin_body: str = "") -> Path:
    """Notebooks with the real parameters that display a minimal report and twin.

    ``body`` is extra code run before the display (to fail or to be slow on purpose);
    ``twin_body`` runs after the twin ``twin`` is made, to change what it states.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for scope, name in plan.NOTEBOOKS.items():
        param = plan.ID_PARAMETER[scope]
        params = new_code_cell(
            f'workspace: str = "."\n{param}: str = "x"\n'
            'period: str = "2026-Q3"\nview: str = "employee"'
        )
        params.metadata["tags"] = ["parameters"]
        show = new_code_cell(
            f"import html\nfrom IPython.display import display\nsid = str({param})\n{body}\n"
            f'twin = {{"scope": "{scope}", "id": sid, "period": period, "view": view, '
            '"title": "Report " + sid}\n'
            + (f"{twin_body}\n" if twin_body else "")
            + 'display({"text/html": "<p>" + html.escape(sid) + "</p>", '
            '"application/vnd.kpinb.report+json": twin}, raw=True)'
        )
        nb = new_notebook(
            cells=[params, show],
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },
        )
        nbformat.write(nb, folder / name)
    return folder


def rename_ids(root: Path, new: dict[str, str]) -> None:
    """Rename employee ids in every table of the workspace at ``root``."""
    for path in root.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in ("employee_id", "manager_id", "scope_id"):
            if column in frame:
                frame[column] = frame[column].replace(new)
        frame.to_csv(path, index=False)


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
        with tempfile.TemporaryDirectory() as folder:
            pickled = builder.write_workspaces(Path(folder))
            held: dict[int, Workspace] = {}
            for count, job in enumerate(todo):
                if self.stop_after is not None and count == self.stop_after:
                    raise KeyboardInterrupt
                files = job.files
                self.given.append(files.scope_id)
                if files.scope_id in self.fail:
                    error = "cell 2 (In [2]): ValueError: planted"
                    yield job, BuiltReport(0.0, error=error, nb=None)
                    continue
                ws = _taken_over(builder, job, pickled, held)
                scope_id = self.wrong or files.scope_id
                report = build_report(ws, files.scope, scope_id, builder.period, files.view)
                output = new_output("display_data", bundle(report))
                cell = new_code_cell("show(report)", outputs=[output])
                yield job, builder.finish(job, NotebookRun(new_notebook(cells=[cell]), None, 0.0))

    def close(self) -> None:
        self.closed = True


def _taken_over(
    builder: ReportBuilder, job: ReportJob, pickled: list[Path | None], held: dict[int, Workspace]
) -> Workspace:
    """What a kernel builds ``job`` from: the workspace part the run pickled for it
    (unpickled once a part, without becoming this process's cached workspace: a kernel
    is a process of its own), or, where none could be written, the workspace read again."""
    part = builder.part_of(job)
    if part not in held:
        path = pickled[part]
        if path is None:
            held[part] = load_workspace(job.parameters["workspace"], cache=True)
        else:
            with path.open("rb") as handle:
                held[part] = pickle.load(handle)
    return held[part]


def without_index_filter(page: str) -> str:
    """``page`` less the index's own filter script (a static file of kpinb's templates,
    the only script a published page carries), so a check for scripts or fetches sees
    everything else: a name that smuggled in a script would still be found."""
    from importlib.resources import files

    script = files("kpinb").joinpath("templates", "index-filter.js").read_text("utf-8")
    return page.replace(f"<script>{script}</script>", "")
