"""The batch on a Dask distributed cluster: ``kpinb run ... --scheduler ADDRESS``.

When one machine is not enough, the reports of a run become tasks on a Dask cluster
(``dask scheduler`` and ``dask worker`` processes on as many machines as needed;
docs/scale-out.md). Each worker keeps its own warm kernels (:class:`WarmKernels`, a
worker plugin): the same :class:`~kpinb.batch.executors.kernels.WarmKernel` as a local run, with the
same guards (namespace reset before each notebook, a fresh kernel every
``restart_every`` notebooks, the twin checked to be the report asked for), running the
same per-report code (:class:`~kpinb.batch.executors.build.ReportBuilder`). A task returns the
finished page and twin (or why it failed) to this process, which publishes it exactly
as a local run does: one lock, atomic files, failures named, a rerun skips what is
current.

The workspace travels once per worker, not per task: a snapshot of the files the
reports read (kpis.yaml and the tables, the journal copied consistently; nothing else
of the folder) is scattered to every worker with the notebooks, and each worker writes
it to a private folder of its own the first time a task needs it. The workspace and
analysis the kernels take over travel as one pickle per part of the run
(:meth:`~kpinb.batch.executors.build.ReportBuilder.write_workspaces`: shards of a few
departments each), each scattered once and handed to the tasks of its part: a worker
writes a part's pickle beside the snapshot the first time a task of it comes, and the
client lets go of a part when its last report is back. The tasks are submitted part by
part, so a kernel takes each part over about once. A worker lost
mid-task (its process killed, its machine gone) makes Dask run the task again
elsewhere, up to ``distributed.scheduler.allowed-failures`` times; a report whose
workers keep dying fails alone, like any other report. When every worker is lost the
snapshot goes with them, and each report not yet built fails saying so.

The scheduler's address is checked before anything connects, and the connection with
its handshake is bounded by ``CONNECT_TIMEOUT_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import queue
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from distributed.diagnostics.plugin import WorkerPlugin

from kpinb.batch.executors.base import RESTART_EVERY
from kpinb.batch.executors.build import ReportBuilder, skip_slow_iri_checker
from kpinb.batch.records import CLUSTER_LOST, BuiltReport
from kpinb.errors import BatchError, UsageError
from kpinb.version import __version__

if TYPE_CHECKING:
    from distributed import Client, Future, Worker

    from kpinb.batch.executors.kernels import WarmKernel
    from kpinb.batch.records import ReportJob

PLUGIN = "kpinb-warm-kernels"
LOST_ERROR = (
    f"{CLUSTER_LOST} before this report was built (every worker stopped, and the workspace "
    "sent to them went with them): check that the `dask worker` processes are running and "
    "run again; the reports already written are kept"
)
CONNECT_TIMEOUT_S = 20


@dataclass(frozen=True)
class RunContext:
    """What every task of a run needs; sent to each worker once (scattered)."""

    builder: ReportBuilder
    files: dict[str, bytes]  # the workspace snapshot: file name -> content
    digest: str  # of the snapshot: a worker writes it out once
    version: str  # kpinb's version on the client
    restart_every: int
    plugin: str  # the name of this run's worker plugin (runs may share a cluster)


def workspace_snapshot(root: Path) -> dict[str, bytes]:
    """The workspace files the reports read, as bytes: ``kpis.yaml`` and the tables (what
    the loader reads, nothing else of the folder: a backup or an unrelated spreadsheet
    beside them stays here), and the journal as one consistent copy (its write-ahead log
    included, never its -wal or -shm files)."""
    from kpinb.journal import copy_journal, journal_path
    from kpinb.workspace import workspace_files

    files = {path.name: path.read_bytes() for path in workspace_files(root)}
    journal = journal_path(root).name
    with tempfile.TemporaryDirectory(prefix="kpinb-journal-") as tmp:
        if copy_journal(root, Path(tmp) / journal):
            files[journal] = (Path(tmp) / journal).read_bytes()
    return files


def snapshot_digest(files: dict[str, bytes]) -> str:
    """A hash of the snapshot's names and contents."""
    hasher = hashlib.sha256()
    for name in sorted(files):
        hasher.update(name.encode("utf-8") + b"\0")
        hasher.update(hashlib.sha256(files[name]).digest())
    return hasher.hexdigest()


class WarmKernels(WorkerPlugin):
    """A Dask worker's warm kernels: one per task running at once on the worker, started
    on first use, driven by an asyncio loop in a thread of their own, shut down with the
    worker (and ended by the operating system with it: a kernel exits when its parent
    process dies)."""

    # registered under a name of its own per run (PLUGIN-<run id>); it travels pickled,
    # so its state is made in setup, on the worker

    def setup(self, worker: Worker) -> None:
        """Start the kernels' loop and make the worker's private folders."""
        from kpinb.batch.executors.kernels import private_runtime

        skip_slow_iri_checker()
        self.idle: queue.SimpleQueue[WarmKernel] = queue.SimpleQueue()
        self.kernels: list[WarmKernel] = []
        self.lock = threading.Lock()
        self.pickled: dict[tuple[str, int], Path | None] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="kpinb-kernels", daemon=True
        )
        self.thread.start()
        self.base = Path(tempfile.mkdtemp(prefix="kpinb-worker-"))  # 0700
        self.runtime = private_runtime()

    def teardown(self, worker: Worker) -> None:
        """Shut the kernels down and remove the worker's private folders."""
        if getattr(self, "loop", None) is not None:

            async def stop() -> None:
                await asyncio.gather(*(k.shutdown() for k in self.kernels))

            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=30)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            for folder in (self.base, self.runtime):
                shutil.rmtree(folder, ignore_errors=True)

    def build(
        self, job: ReportJob, context: RunContext, part: int, data: bytes | None
    ) -> BuiltReport:
        """Build one report on one of this worker's warm kernels, which takes over
        ``data`` (the pickle of the report's part of the workspace) first."""
        if context.version != __version__:
            return BuiltReport(
                0.0,
                error=(
                    f"this Dask worker has kpinb {__version__}, the run needs "
                    f"{context.version}: install the same kpinb on every worker"
                ),
            )
        folder = self._workspace(context)
        job = replace(job, parameters={**job.parameters, "workspace": str(folder)})
        kernel = self._kernel(folder, context.restart_every)
        pickled = self._part(context, part, data)
        try:
            built = context.builder.build(kernel, job, pickled)
            return asyncio.run_coroutine_threadsafe(built, self.loop).result()
        finally:
            self.idle.put(kernel)

    def _workspace(self, context: RunContext) -> Path:
        """The run's workspace on this worker, written out the first time a task needs it
        (the plugin lives for one run, so there is one)."""
        folder = self.base / context.digest[:16]
        with self.lock:
            if not folder.exists():
                staging = self.base / f".{folder.name}"
                shutil.rmtree(staging, ignore_errors=True)  # left by a task that failed
                staging.mkdir(mode=0o700)
                for name, data in context.files.items():
                    (staging / Path(name).name).write_bytes(data)
                staging.rename(folder)
        return folder

    def _part(self, context: RunContext, part: int, data: bytes | None) -> Path | None:
        """The pickle of the run's part ``part`` on this worker (private), written the
        first time a task of it comes; ``None`` when there is none or it cannot be
        written (a full disk): the kernels then read the workspace themselves."""
        from kpinb.files import atomic_write

        key = (context.digest, part)
        with self.lock:
            if key not in self.pickled:
                path: Path | None = self.base / f"{context.digest[:16]}-{part}.pickle"
                assert path is not None
                try:
                    if data is None:
                        raise OSError("no pickle")
                    atomic_write(path, data, tmp_dir=self.base, private=True)
                except OSError:
                    path = None
                self.pickled[key] = path
            return self.pickled[key]

    def _kernel(self, cwd: Path, restart_every: int) -> WarmKernel:
        from kpinb.batch.executors.kernels import WarmKernel

        try:
            kernel = self.idle.get_nowait()
        except queue.Empty:
            kernel = WarmKernel(cwd=cwd, restart_every=restart_every, runtime=self.runtime)
            with self.lock:
                self.kernels.append(kernel)
        kernel.cwd = cwd.resolve()
        return kernel


def build_on_worker(
    job: ReportJob, context: RunContext, part: int, data: bytes | None
) -> BuiltReport:
    """The task: build ``job`` on this worker's warm kernels from ``data``, the pickle
    of its part ``part`` of the workspace."""
    from distributed import get_worker

    plugin = cast(WarmKernels, get_worker().plugins[context.plugin])  # registered as ours
    return plugin.build(job, context, part, data)


SCHEDULER_FIX = (
    "give the address `dask scheduler` prints, such as tcp://host:8786 (docs/scale-out.md), "
    "or leave out --scheduler to run on this machine"
)


def check_scheduler_address(address: str) -> str:
    """``address`` as a Dask scheduler address (``tcp://host:8786``, ``tls://...``, any
    scheme distributed has a backend for; ``host:port`` means tcp), checked before anything
    connects: an empty one, a web address or an unknown scheme is a usage error that names
    the value and the fix, not a wait and a traceback."""
    from distributed.comm import parse_address, registry

    text = address.strip()
    if not text:
        msg = f"--scheduler is empty; {SCHEDULER_FIX}"
        raise UsageError(msg)
    scheme, location = parse_address(text, strict=False)
    try:
        backend = registry.get_backend(scheme)
    except ValueError:
        known = ", ".join(f"{name}://" for name in sorted(registry.backends))
        web = (
            " (a web address is the dashboard's; the scheduler itself listens on tcp://, port 8786)"
            if scheme in ("http", "https")
            else ""
        )
        msg = (
            f"--scheduler {address!r}: Dask does not connect over {scheme}://{web}; "
            f"it knows {known}; {SCHEDULER_FIX}"
        )
        raise UsageError(msg) from None
    try:
        if not location:
            raise ValueError("no host")
        backend.get_address_host_port(location)
    except NotImplementedError:  # a backend without host and port (inproc://)
        pass
    except ValueError as exc:
        msg = f"--scheduler {address!r} is not a scheduler address ({exc}); {SCHEDULER_FIX}"
        raise UsageError(msg) from None
    return text


async def _handshake(address: str, timeout: float) -> None:
    """Open a connection to ``address`` and exchange Dask's handshake, all within
    ``timeout`` seconds: distributed bounds the connection but waits for the handshake's
    answer without a limit, so a peer that accepts and never answers would hold a run
    until it hangs up."""
    from distributed.comm import connect
    from distributed.security import Security

    arguments = Security().get_connection_args("client")
    comm = await asyncio.wait_for(connect(address, timeout=timeout, **arguments), timeout)
    await comm.close()


def connect_client(address: str, timeout: float) -> Client:
    """A client of the scheduler at ``address``, connected within ``timeout`` seconds, or
    :class:`BatchError` saying why not."""
    from concurrent.futures import ThreadPoolExecutor

    from distributed import Client

    start = time.monotonic()
    try:
        # in a thread of its own: the caller may be running an event loop (a notebook)
        with ThreadPoolExecutor(1, thread_name_prefix="kpinb-dask-connect") as pool:
            pool.submit(asyncio.run, _handshake(address, timeout)).result()
        left = max(1.0, timeout - (time.monotonic() - start))
        return Client(address, timeout=f"{left}s", set_as_default=False)
    except TimeoutError:
        why = (
            f"no Dask answer within {timeout:g} s: something there accepts connections "
            "but does not speak Dask"
        )
    except Exception as exc:  # refused, unknown host, TLS not set up: said as it is
        why = str(exc) or type(exc).__name__
    msg = (
        f"cannot reach the Dask scheduler at {address} ({why}); start one with "
        "`dask scheduler` and workers with `dask worker ADDRESS` (docs/scale-out.md), "
        "or leave out --scheduler to run on this machine"
    )
    raise BatchError(msg)


class DaskExecutor:
    """Builds reports on the workers of the Dask scheduler at ``address``."""

    def __init__(
        self, address: str, workspace: Path, *, restart_every: int = RESTART_EVERY
    ) -> None:
        self.address = address = check_scheduler_address(address)
        self.workspace = workspace
        self.restart_every = restart_every
        self.client = connect_client(address, CONNECT_TIMEOUT_S)
        self._workers = self._threads()
        if not self._workers:
            self.close()
            msg = (
                f"the Dask scheduler at {address} has no workers; start some with "
                f"`dask worker {address}` (docs/scale-out.md)"
            )
            raise BatchError(msg)

    @property
    def workers(self) -> int:
        """Tasks the cluster runs at once (its workers' threads), as last seen."""
        return self._workers

    def _threads(self) -> int:
        info = self.client.scheduler_info(n_workers=-1)
        return sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())

    def build(
        self, todo: Sequence[ReportJob], builder: ReportBuilder
    ) -> Iterator[tuple[ReportJob, BuiltReport]]:
        """Submit every report as a task; yield each as it finishes, in any order."""
        from concurrent.futures import CancelledError

        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        files = workspace_snapshot(self.workspace)
        digest = snapshot_digest(files)
        run = uuid.uuid4().hex[:12]  # this run's tasks and kernels, apart from another run's
        plugin = f"{PLUGIN}-{run}"
        context = RunContext(builder, files, digest, __version__, self.restart_every, plugin)
        self.client.register_plugin(WarmKernels(), name=plugin)
        [shared] = self.client.scatter([context], broadcast=True, hash=False)
        parts = self._scatter_parts(builder)
        ordered = builder.ordered(todo)
        left = Counter(builder.part_of(job) for job in ordered)
        futures = {}
        for n, job in enumerate(ordered):  # part by part: the earlier first
            part = builder.part_of(job)
            futures[
                self.client.submit(
                    build_on_worker,
                    job,
                    shared,
                    part,
                    parts[part],
                    key=f"kpinb-{run}-{n}",
                    retries=1,
                    priority=len(ordered) - n,
                )
            ] = job
        try:
            for future in as_completed(futures, loop=self.client.loop):
                job = futures.pop(future)
                part = builder.part_of(job)
                left[part] -= 1
                done = parts[part]
                if left[part] == 0 and done is not None:  # its last report is back
                    done.release()
                    parts[part] = None
                try:
                    built = future.result()
                except CancelledError:  # what it needed (the scattered run) left with them
                    built = BuiltReport(0.0, error=LOST_ERROR)
                except KilledWorker as exc:
                    built = BuiltReport(0.0, error=f"the Dask workers running it were lost ({exc})")
                except Exception as exc:  # a task that raised twice (retries=1)
                    built = BuiltReport(0.0, error=f"on a Dask worker: {type(exc).__name__}: {exc}")
                future.release()
                yield job, built
        finally:
            self.client.cancel(list(futures))
            self._workers = self._threads() or self._workers
            with contextlib.suppress(Exception):  # the kernels go, and the snapshot's folders
                self.client.unregister_worker_plugin(plugin)

    def _scatter_parts(self, builder: ReportBuilder) -> list[Future | None]:
        """Each part's pickle scattered to the cluster (``None`` where none could be
        written), read from a private folder here one at a time: this process never
        holds two parts' bytes at once."""
        with tempfile.TemporaryDirectory(prefix="kpinb-parts-") as tmp:
            parts: list[Future | None] = []
            for path in builder.write_workspaces(Path(tmp)):
                if path is None:
                    parts.append(None)
                    continue
                [future] = self.client.scatter([path.read_bytes()], hash=False)
                path.unlink()
                parts.append(future)
        return parts

    def close(self) -> None:
        """Disconnect from the scheduler (its workers stay up for the next run)."""
        with contextlib.suppress(Exception):
            self.client.close()
