"""A report job, what became of it, and the outcome of a run: the records every part of
the batch (planning, inputs keys, running, the manifest) passes around."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kpinb.batch.outputs import ReportFiles, error_kind


@dataclass(frozen=True)
class ReportJob:
    """One report to produce: where it goes, who it is about, how to run its notebook."""

    files: ReportFiles
    name: str
    notebook: Path
    parameters: dict[str, str]
    key: str = ""


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
