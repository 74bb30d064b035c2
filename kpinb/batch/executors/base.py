"""Where report notebooks run: the one seam between a batch run and its kernels.

A run (:class:`kpinb.batch.period_run.PeriodRun`) hands an executor the reports to build
and a :class:`~kpinb.batch.executors.build.ReportBuilder`; the executor yields each
``(job, built)`` as it finishes, in any order, and the run publishes it (progress,
failures, index and manifest are the run's, the same for every executor). Two executors:

- :class:`~kpinb.batch.executors.local.LocalExecutor` (the default): warm kernels on
  this machine, one per worker (:mod:`kpinb.batch.executors.kernels`);
- :class:`~kpinb.batch.executors.dask.DaskExecutor` (``kpinb run --scheduler ADDRESS``):
  warm kernels on the workers of a Dask distributed cluster.

Tests drive a run with an executor of their own that spawns no kernel.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kpinb.batch.executors.build import ReportBuilder
    from kpinb.batch.records import BuiltReport, ReportJob

RESTART_EVERY = 200  # a kernel grows ~50 MB over its first 200 reports, then levels off


class Executor(Protocol):
    """Builds reports somewhere and hands each back as it finishes."""

    @property
    def workers(self) -> int:
        """How many reports it builds at once (recorded in run.json)."""
        ...

    def build(
        self, todo: Sequence[ReportJob], builder: ReportBuilder
    ) -> Iterator[tuple[ReportJob, BuiltReport]]:
        """Build every job of ``todo`` once; yield ``(job, built)`` as each ends. Whatever
        the executor holds (kernels, a connection) is released when the iterator ends or
        is closed (an error or Ctrl-C in the consumer)."""
        ...

    def close(self) -> None:
        """Let go of what the executor holds (kernels, a cluster connection); a run
        always closes its executor, also after an error."""
        ...
