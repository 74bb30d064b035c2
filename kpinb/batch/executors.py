"""Where report notebooks run: the one seam between a batch run and its kernels.

A run (:class:`kpinb.batch.runner.PeriodRun`) hands an executor the reports to build and
a :class:`~kpinb.batch.build.ReportBuilder`; the executor yields each ``(job, built)`` as
it finishes, in any order, and the run publishes it (progress, failures, index and
manifest are the run's, the same for every executor). Two executors:

- :class:`LocalExecutor` (the default): warm kernels on this machine, one per worker
  (:class:`~kpinb.batch.kernels.KernelPool`), driven by an asyncio loop in a thread of its
  own, so that the kernels' messages keep flowing while this thread converts and writes;
- :class:`kpinb.batch.cluster.DaskExecutor` (``kpinb run --scheduler ADDRESS``): warm
  kernels on the workers of a Dask distributed cluster.

Tests drive a run with an executor of their own that spawns no kernel.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kpinb.batch.build import Built, ReportBuilder
    from kpinb.batch.jobs import ReportJob

RESTART_EVERY = 200  # a kernel grows ~50 MB over its first 200 reports, then levels off


class Executor(Protocol):
    """Builds reports somewhere and hands each back as it finishes."""

    @property
    def workers(self) -> int:
        """How many reports it builds at once (recorded in run.json)."""
        ...

    def build(
        self, todo: Sequence[ReportJob], builder: ReportBuilder
    ) -> Iterator[tuple[ReportJob, Built]]:
        """Build every job of ``todo`` once; yield ``(job, built)`` as each ends. Whatever
        the executor holds (kernels, a connection) is released when the iterator ends or
        is closed (an error or Ctrl-C in the consumer)."""
        ...

    def close(self) -> None:
        """Let go of what the executor holds between runs (a cluster connection)."""
        ...


class LocalExecutor:
    """Warm kernels on this machine: ``workers`` kernels, each running report after report."""

    def __init__(self, workers: int, *, cwd: Path, restart_every: int = RESTART_EVERY) -> None:
        self._workers = workers
        self.cwd = cwd
        self.restart_every = restart_every

    @property
    def workers(self) -> int:
        """Kernels running at once."""
        return self._workers

    def close(self) -> None:
        """Nothing to let go: the kernels live as long as one :meth:`build`."""

    def build(
        self, todo: Sequence[ReportJob], builder: ReportBuilder
    ) -> Iterator[tuple[ReportJob, Built]]:
        """Run the notebooks on the kernels (in the loop thread); convert each executed
        notebook here, while the kernels go on with the next ones."""
        from kpinb.batch.kernels import KernelPool

        ended = object()
        results: queue.Queue[Any] = queue.Queue()
        loop = asyncio.new_event_loop()

        async def run_all() -> None:
            async with KernelPool(
                min(self._workers, len(todo)), cwd=self.cwd, restart_every=self.restart_every
            ) as pool:

                async def work(kernel: Any, job: ReportJob) -> Any:
                    return await kernel.run(builder.notebook(job))

                async def done(job: ReportJob, run: Any) -> None:
                    results.put((job, run))

                await pool.map(todo, work, done)

        task = loop.create_task(run_all())

        def drive() -> None:
            try:
                loop.run_until_complete(task)
            except BaseException as exc:  # handed to the consumer, raised there
                results.put(exc)
            finally:
                results.put(ended)
                loop.close()

        thread = threading.Thread(target=drive, name="kpinb-kernels", daemon=True)
        thread.start()
        try:
            while (item := results.get()) is not ended:
                if isinstance(item, BaseException):
                    if isinstance(item, asyncio.CancelledError):
                        continue
                    raise item
                job, run = item
                yield job, builder.finish(job, run)
        finally:
            if thread.is_alive():  # stopped early: cancel the kernels' work, shut them down
                loop.call_soon_threadsafe(task.cancel)
            thread.join()
