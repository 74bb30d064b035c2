"""The default executor: warm kernels on this machine, one per worker.

:class:`LocalExecutor` drives a :class:`~kpinb.batch.executors.kernels.KernelPool` from
an asyncio loop in a thread of its own, so that the kernels' messages keep flowing
while this thread converts and writes (the seam it implements:
:mod:`kpinb.batch.executors.base`).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.batch.executors.base import RESTART_EVERY

if TYPE_CHECKING:
    from kpinb.batch.executors.build import ReportBuilder
    from kpinb.batch.records import BuiltReport, ReportJob


class LocalExecutor:
    """Warm kernels on this machine: ``workers`` kernels, each running report after report.

    The kernels start as soon as the executor is made (a run makes it before planning,
    so that starting them overlaps the planning) and stop on :meth:`close`.
    """

    def __init__(self, workers: int, *, cwd: Path, restart_every: int = RESTART_EVERY) -> None:
        from kpinb.batch.executors.kernels import KernelPool

        self._workers = workers
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="kpinb-kernels", daemon=True
        )
        self.thread.start()
        self.pool = KernelPool(workers, cwd=cwd, restart_every=restart_every)
        self.started = asyncio.run_coroutine_threadsafe(self.pool.__aenter__(), self.loop)

    @property
    def workers(self) -> int:
        """Kernels running at once."""
        return self._workers

    def build(
        self, todo: Sequence[ReportJob], builder: ReportBuilder
    ) -> Iterator[tuple[ReportJob, BuiltReport]]:
        """Run the notebooks on the kernels (in the loop thread), part by part of the
        workspace (a kernel takes each part over once, in turn); convert each executed
        notebook here, while the kernels go on with the next ones."""
        self.started.result()  # the kernels are up (or the error that stopped them)
        pickled = builder.write_workspaces(self.pool.runtime)
        ended = object()
        results: queue.Queue[Any] = queue.Queue()

        async def work(kernel: Any, job: ReportJob) -> Any:
            return await builder.run(kernel, job, pickled[builder.part_of(job)])

        async def done(job: ReportJob, run: Any) -> None:
            results.put((job, run))

        ordered = builder.ordered(todo)
        running = asyncio.run_coroutine_threadsafe(self.pool.map(ordered, work, done), self.loop)
        running.add_done_callback(lambda _: results.put(ended))
        try:
            while (item := results.get()) is not ended:
                job, run = item
                yield job, builder.finish(job, run)
            running.result()  # an error that stopped the kernels' work
        finally:
            if not running.done():  # stopped early: cancel the kernels' work
                running.cancel()
                with contextlib.suppress(BaseException):
                    running.result(timeout=60)

    def close(self) -> None:
        """Shut the kernels down, end what is left on their loop (nbclient's pollers of a
        run stopped midway) and stop it."""

        async def stop() -> None:
            await self.pool.__aexit__(None, None, None)
            left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=60)
        if not self.thread.is_alive():
            self.loop.close()
