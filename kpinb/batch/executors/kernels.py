"""Warm kernels: long-lived IPython kernels that run report notebooks one after another.

Starting a kernel and importing pandas and Altair costs far more than building one
report, so each batch worker keeps one kernel and feeds it notebook after notebook
(nbclient on a reused kernel manager and client). Reuse must not leak one report
into the next, so before every notebook the kernel's user namespace and output cache
are reset (``%reset -f``), its working folder restored and its execution counter set
back to 1, exactly as in a fresh kernel; every ``restart_every`` notebooks the kernel
is replaced so memory stays bounded. Kernels run concurrently on one asyncio loop
(:class:`KernelPool`); a kernel outlives nothing: jupyter_client tells it its parent's
pid and it exits when that process dies, even on SIGKILL. Kernels talk over IPC
sockets in a private runtime folder (0700, one per pool, under the temp folder), never
over TCP ports; a folder left by a killed run is removed by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nbformat

T = TypeVar("T")
R = TypeVar("R")

# Imported once per kernel so that no report pays for it (without the ~1 s that
# Altair's jsonschema spends on IRI grammars: kpinb.batch.executors.build.skip_slow_iri_checker),
# and one tiny chart drawn, so the chart engine's start (vl-convert's JavaScript runtime:
# about 0.4 s) happens while the run still reads and plans, not in the first report;
# then every object alive is frozen out of the garbage collector's view, which makes the
# per-report reset cheap (``%reset -f`` runs a full collection: about 0.2 s with pandas
# and Altair loaded).
WARMUP = """
import gc, importlib
importlib.import_module("kpinb.batch.executors.build").skip_slow_iri_checker()
for _name in ("pandas", "altair", "vl_convert", "kpinb.workspace", "kpinb.report",
              "kpinb.report.views", "kpinb.report.charts"):
    try:
        importlib.import_module(_name)
    except Exception:  # a broken module shows up in the report that needs it
        pass
try:
    import altair as _alt
    importlib.import_module("kpinb.report.charts").to_svg(
        _alt.Chart(_alt.Data(values=[{"x": 0}, {"x": 1}])).mark_line().encode(x="x:Q", y="x:Q")
    )
    del _alt
except Exception:  # the same: a report that draws a chart shows what is wrong
    pass
gc.freeze()
"""


@dataclass(frozen=True)
class CellError:
    """Where and why a notebook stopped: the cell (index and prompt) and the exception."""

    cell_index: int | None
    execution_count: int | None
    ename: str
    evalue: str
    source: str = ""

    def __str__(self) -> str:
        where = "the kernel" if self.cell_index is None else f"cell {self.cell_index}"
        if self.execution_count is not None:
            where += f" (In [{self.execution_count}])"
        return f"{where}: {self.ename}: {self.evalue}"


@dataclass
class NotebookRun:
    """An executed notebook, the error that stopped it (``None`` when it ran through)."""

    nb: nbformat.NotebookNode
    error: CellError | None
    seconds: float


RESET_FAILED = 70  # the exit status of a kernel that could not reset itself


def _reset_code(cwd: Path) -> str:
    # Run silently (no history, no counter change): afterwards the user namespace is as a
    # fresh kernel's, the next cell is In [1], and cwd is restored. It is sent without
    # waiting for its reply, so a kernel that cannot reset itself exits instead: the
    # notebook sent after it then fails as a dead kernel's, and never runs on what the
    # previous one left.
    return (
        "try:\n"
        '    get_ipython().run_line_magic("reset", "-f")\n'
        "    __import__('gc').freeze()\n"
        f"    __import__('os').chdir({str(cwd)!r})\n"
        "    get_ipython().execution_count = 1\n"
        "except BaseException:\n"
        f"    __import__('os')._exit({RESET_FAILED})"
    )


class WarmKernel:
    """One IPython kernel that executes notebooks one after another.

    ``cwd`` is the kernel's working folder (the notebooks' folder, as in Jupyter);
    ``restart_every`` bounds how many notebooks one kernel process runs;
    ``timeout`` is the per-cell limit in seconds.
    """

    def __init__(
        self,
        *,
        cwd: Path,
        restart_every: int = 200,
        timeout: int = 600,
        kernel_name: str = "python3",
        warmup: str = WARMUP,
        runtime: Path | None = None,
    ) -> None:
        self.cwd = Path(cwd).resolve()
        self.runtime = runtime
        self.restart_every = max(1, restart_every)
        self.timeout = timeout
        self.kernel_name = kernel_name
        self.warmup = warmup
        self.km: Any = None
        self.kc: Any = None
        self.language_info: dict[str, Any] = {}
        self.runs = 0  # notebooks run by the current kernel process
        self.starts = 0  # kernel processes started so far
        # code run once per kernel process before its first notebook (taking over the
        # run's workspace, kpinb.batch.executors.build), and what the current process last ran
        self.prime = ""
        self.primed = ""

    async def start(self) -> None:
        """Start the kernel process and its client, then run the warm-up code."""
        from jupyter_client.manager import AsyncKernelManager

        if self.runtime is None:
            self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        else:  # IPC sockets and the connection file in the pool's private folder
            name = f"k{id(self):x}-{self.starts}"
            self.km = AsyncKernelManager(
                kernel_name=self.kernel_name,
                transport="ipc",
                ip=str(self.runtime / name),
                connection_file=str(self.runtime / f"{name}.json"),
            )
        await self.km.start_kernel(
            cwd=str(self.cwd),
            extra_arguments=["--HistoryManager.hist_file=:memory:"],
            stdout=subprocess.DEVNULL,  # cell output travels as messages; this is only noise
            stderr=subprocess.DEVNULL,
        )
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)
        self.kc.allow_stdin = False
        info = await self.kc.kernel_info(reply=True, timeout=60)
        self.language_info = info["content"]["language_info"]
        self.runs = 0
        self.starts += 1
        self.primed = ""
        if self.warmup:
            await self._silent(self.warmup)

    async def shutdown(self) -> None:
        """Stop the client and the kernel process (quietly if it is already gone)."""
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            with contextlib.suppress(Exception):
                await self.km.shutdown_kernel(now=True)
            with contextlib.suppress(Exception):
                await self.km.cleanup_resources()
        self.km = self.kc = None

    async def restart(self) -> None:
        """Replace the kernel process with a fresh one."""
        await self.shutdown()
        await self.start()

    @property
    def pid(self) -> int | None:
        """The kernel process id (for tests and diagnostics)."""
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    async def run(self, nb: nbformat.NotebookNode) -> NotebookRun:
        """Execute ``nb`` (in place) on this kernel, starting from a clean namespace.

        A cell error does not raise: the run comes back with the executed notebook
        (outputs up to the failing cell) and a :class:`CellError`. A dead or
        timed-out kernel is replaced before the next notebook.
        """
        if self.km is None:
            await self.start()
        elif self.runs >= self.restart_every:
            await self.restart()
        self.runs += 1
        started = time.perf_counter()
        if self.prime != self.primed:
            try:
                await self._silent(self.prime)
            except RuntimeError as exc:  # every report on this kernel says why
                failed = CellError(None, None, "RuntimeError", str(exc))
                return NotebookRun(nb, failed, time.perf_counter() - started)
            self.primed = self.prime
        error = await self._execute(nb)
        return NotebookRun(nb, error, time.perf_counter() - started)

    async def _execute(self, nb: nbformat.NotebookNode) -> CellError | None:
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        # The reset and the first cell go out together (one round trip less per report):
        # the kernel runs requests in order, and nbclient passes over the reset's reply
        # and messages (they answer another request).
        self.kc.execute(_reset_code(self.cwd), silent=True, store_history=False)
        client = NotebookClient(
            nb,
            km=self.km,
            timeout=self.timeout,
            kernel_name=self.kernel_name,
            resources={"metadata": {"path": str(self.cwd)}},
        )
        client.kc = self.kc
        # what nbclient's async_execute does, minus its per-notebook set-up (a kernel_info
        # round trip, signal handlers, atexit hooks): the kernel is already set up
        nb.metadata["language_info"] = self.language_info
        try:
            for index, cell in enumerate(nb.cells):
                await client.async_execute_cell(
                    cell, index, execution_count=client.code_cells_executed + 1
                )
            client.set_widgets_metadata()
        except CellExecutionError as exc:
            return _cell_error(nb, exc.ename, exc.evalue)
        except (CellTimeoutError, DeadKernelError) as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # Ctrl-C: nbclient calls it "Kernel died"
                raise asyncio.CancelledError from exc
            await self.restart()
            return _cell_error(nb, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return None

    async def _silent(self, code: str) -> None:
        """Run ``code`` without history or output; raise if it fails."""
        reply = await self.kc.execute_interactive(
            code,
            silent=True,
            store_history=False,
            timeout=self.timeout,
            output_hook=lambda msg: None,
        )
        content = reply["content"]
        if content.get("status") != "ok":
            msg = f"kernel set-up code failed: {content.get('ename')}: {content.get('evalue')}"
            raise RuntimeError(msg)


def _cell_error(nb: nbformat.NotebookNode, ename: str, evalue: str) -> CellError:
    """Locate the cell whose output holds the error (the last one with an error output)."""
    for index in range(len(nb.cells) - 1, -1, -1):
        cell = nb.cells[index]
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return CellError(
                    index,
                    cell.get("execution_count"),
                    output.get("ename", ename),
                    output.get("evalue", evalue),
                    cell.get("source", ""),
                )
    return CellError(None, None, ename, evalue)


class KernelPool:
    """``size`` warm kernels that work through a queue of jobs concurrently.

    Use as ``async with KernelPool(2, cwd=...) as pool: await pool.map(...)``.
    """

    def __init__(self, size: int, **kernel_options: Any) -> None:
        self.runtime = private_runtime()
        options = {"runtime": self.runtime, **kernel_options}
        self.kernels = [WarmKernel(**options) for _ in range(max(1, size))]

    async def __aenter__(self) -> KernelPool:
        await asyncio.gather(*(kernel.start() for kernel in self.kernels))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(kernel.shutdown() for kernel in self.kernels))
        shutil.rmtree(self.runtime, ignore_errors=True)

    async def map(
        self,
        jobs: Iterable[T],
        work: Callable[[WarmKernel, T], Awaitable[R]],
        done: Callable[[T, R], Awaitable[None]],
    ) -> None:
        """Run ``work(kernel, job)`` for every job; await ``done(job, result)`` as each ends.

        A kernel takes its next job only after ``done`` returns; the other kernels
        go on meanwhile. An exception from ``work`` or ``done`` stops the pool.
        """
        queue: asyncio.Queue[T] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def worker(kernel: WarmKernel) -> None:
            while not queue.empty():
                job = queue.get_nowait()
                await done(job, await work(kernel, job))

        await asyncio.gather(*(worker(kernel) for kernel in self.kernels))


def private_runtime() -> Path:
    """A new folder for kernel sockets and connection files, readable by this user only,
    after removing the folders of earlier runs whose process is gone (a killed run)."""
    base = Path(tempfile.gettempdir()) / f"kpinb-{os.getuid() if hasattr(os, 'getuid') else 0}"
    base.mkdir(mode=0o700, exist_ok=True)
    os.chmod(base, 0o700)
    for old in base.glob("run-*"):
        pid = old.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=base))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
