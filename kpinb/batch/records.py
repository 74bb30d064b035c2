"""The records every wing of the batch passes around (planning, execution, publishing):
where a report goes, a report job, what its notebook built, what became of it, the
outcome of a run, and the kind of a report's error. They sit at the bottom of the batch
and import nothing from it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from kpinb.scopes import SCOPE_DIRS
from kpinb.text import display_text

PAGE_SUFFIX = ".html"  # a report's page names the report: its other files sit beside it


@dataclass(frozen=True)
class ReportFiles:
    """Where one report goes, relative to the period folder: its page and, beside it, a
    file per output format (:meth:`path`)."""

    scope: str
    scope_id: str
    view: str
    stem: str

    @property
    def html(self) -> PurePosixPath:
        """``employees/E001.html`` (or ``employees/E001.manager.html`` for a second view)."""
        return PurePosixPath(SCOPE_DIRS[self.scope], f"{self.stem}{PAGE_SUFFIX}")

    def path(self, suffix: str) -> PurePosixPath:
        """The report's file with ``suffix`` (an output format's), next to its page."""
        return self.html.with_suffix(suffix)

    @property
    def json(self) -> PurePosixPath:
        """The JSON twin next to the HTML page."""
        return self.path(".json")

    @property
    def notebook(self) -> PurePosixPath:
        """Where the executed notebook of a report that could not be built is kept,
        relative to the period's private folder."""
        return PurePosixPath("failed") / self.path(".ipynb")

    @property
    def label(self) -> str:
        """``employee E001 (manager view)``: how messages name the report."""
        return f"{self.scope} {display_text(self.scope_id)!r} ({self.view} view)"


_CELL = re.compile(r"^(?:cell (\d+)|the kernel)(?: \(In \[\d*\]\))?: ([A-Za-z_][\w.]*)")
# a report whose cluster lost every worker, and with them the workspace the run sent
CLUSTER_LOST = "the Dask cluster lost its workers"
_KNOWN = (
    CLUSTER_LOST,
    "the page would fetch from another host",
    "the report built is not the one asked for",
    "the notebook displayed no report",
)


def error_kind(error: str) -> str:
    """The kind of a report's error message, with nothing from the data in it."""
    match = _CELL.match(error)
    if match:
        where = f"cell {match.group(1)}" if match.group(1) else "the kernel"
        return f"{match.group(2)} in {where}"
    if error.startswith("disk: "):
        return error.split(" (", 1)[0]
    return next((known for known in _KNOWN if error.startswith(known)), "other error")


@dataclass(frozen=True)
class ReportJob:
    """One report to produce: where it goes, who it is about, how to run its notebook."""

    files: ReportFiles
    name: str
    notebook: Path
    parameters: dict[str, str]
    key: str = ""


@dataclass
class BuiltReport:
    """A report whose notebook ran: its page and twin when publishable, else the reason
    why not and the executed notebook (kept in the private folder for whoever fixes it).
    Small and picklable: a Dask worker sends it back to the client that publishes it."""

    run_seconds: float
    html: str = ""
    twin: dict[str, Any] | None = None
    error: str | None = None
    nb: Any = None


@dataclass(frozen=True)
class ReportOutcome:
    """What happened to one report: ``written``, ``unchanged`` or ``failed`` (and why)."""

    job: ReportJob
    status: str
    seconds: float = 0.0
    error: str | None = None
    failed_notebook: Path | None = None

    @property
    def error_kind(self) -> str | None:
        """What kind of failure, without its details (which may quote goals, notes or
        values): ``ValueError in cell 2``, ``disk: No space left on device``. This is what
        the index and run.json show; the details stay in the private folder."""
        return error_kind(self.error) if self.error is not None else None


@dataclass(frozen=True)
class BatchResult:
    """The outcome of a run: every report's outcome and where the index and manifest are."""

    period: str
    out_dir: Path
    index: Path
    manifest: Path
    outcomes: tuple[ReportOutcome, ...] = field(default=())
    # files of the run itself that could not be written (index.html, run.json), and why
    unwritten: tuple[str, ...] = field(default=())
    # published reports removed because their subject left the workspace
    removed: tuple[str, ...] = field(default=())
    # the calibration pack's index, when the run published one (--views calibration)
    calibration: Path | None = None
    # where the reports were uploaded to, when --out is a URL (out_dir is then the mirror)
    published_to: str | None = None

    def by_status(self, status: str) -> list[ReportOutcome]:
        """The outcomes with ``status`` (written, unchanged, failed)."""
        return [o for o in self.outcomes if o.status == status]

    @property
    def failed(self) -> list[ReportOutcome]:
        """Reports that could not be generated this run."""
        return self.by_status("failed")

    @property
    def exit_code(self) -> int:
        """0 when every report is written or unchanged, 1 when any could not be generated."""
        return 1 if self.failed or self.unwritten else 0
