"""Warm kernels: a reused kernel must behave like a fresh one for every notebook."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from kpinb.batch.executors.kernels import KernelPool, WarmKernel

pytestmark = pytest.mark.slow


def notebook(*sources: str):  # type: ignore[no-untyped-def]
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


LEAKY = notebook(
    "seen = globals().get('left_behind', 'clean')\nleft_behind = 'dirty'\nprint(seen)",
    "import os\nprint(os.getcwd())\nos.chdir('/')",
    "Out.get(1, 'no output cache')",
)


def _text(run, cell: int) -> str:  # type: ignore[no-untyped-def]
    output = run.nb.cells[cell].outputs[0]
    return output.get("text") or output["data"]["text/plain"]


def test_each_notebook_starts_from_a_clean_namespace(tmp_path: Path) -> None:
    async def scenario() -> list:  # type: ignore[type-arg]
        kernel = WarmKernel(cwd=tmp_path, warmup="", restart_every=100)
        await kernel.start()
        try:
            return [await kernel.run(notebook_copy()) for _ in range(3)]
        finally:
            await kernel.shutdown()

    def notebook_copy():  # type: ignore[no-untyped-def]
        import copy

        return copy.deepcopy(LEAKY)

    runs = asyncio.run(scenario())
    for run in runs:
        assert run.error is None
        assert _text(run, 0).strip() == "clean"  # nothing left by the previous notebook
        assert _text(run, 1).strip() == str(tmp_path.resolve())  # cwd restored after chdir('/')
        assert _text(run, 2) == "'no output cache'"
        assert [c.execution_count for c in run.nb.cells] == [1, 2, 3]  # as in a fresh kernel


def test_kernel_is_replaced_every_n_notebooks_and_when_it_dies(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[int | None], list]:  # type: ignore[type-arg]
        kernel = WarmKernel(cwd=tmp_path, warmup="", restart_every=2)
        pids, runs = [], []
        await kernel.start()
        try:
            for source in ("1", "2", "raise KeyError('k')", "import os; os._exit(1)", "3"):
                runs.append(await kernel.run(notebook("x = 1", source)))
                pids.append(kernel.pid)
        finally:
            await kernel.shutdown()
        return pids, runs

    pids, runs = asyncio.run(scenario())
    # two notebooks per kernel process; the fourth kills its kernel, which is replaced
    assert pids[0] == pids[1] != pids[2]
    assert pids[2] != pids[3] == pids[4]
    error = runs[2].error
    assert error is not None and (error.cell_index, error.execution_count) == (1, 2)
    assert (error.ename, error.evalue) == ("KeyError", "'k'")
    assert str(error) == "cell 1 (In [2]): KeyError: 'k'"
    assert runs[3].error is not None and runs[3].error.ename == "DeadKernelError"
    assert runs[4].error is None


def test_a_kernel_that_cannot_reset_fails_the_next_notebook_alone_and_is_replaced(
    tmp_path: Path,
) -> None:
    """The reset goes out with the first cell without waiting for its reply: a kernel
    whose reset fails must exit, so the notebook after never runs on the last one's
    names, and the one after that gets a fresh kernel."""

    async def scenario() -> tuple[list[int | None], list]:  # type: ignore[type-arg]
        kernel = WarmKernel(cwd=tmp_path, warmup="", restart_every=100)
        pids, runs = [], []
        await kernel.start()
        try:
            # the first notebook breaks what the reset calls (gc.freeze)
            for source in ("import gc; gc.freeze = None", "print(left)", "print(left)"):
                runs.append(await kernel.run(notebook("left = 'dirty'", source)))
                pids.append(kernel.pid)
        finally:
            await kernel.shutdown()
        return pids, runs

    pids, runs = asyncio.run(scenario())
    assert runs[0].error is None
    assert runs[1].error is not None and runs[1].error.ename == "DeadKernelError"
    assert runs[1].nb.cells[1].outputs == []  # it never ran on the first one's names
    assert runs[2].error is None and _text(runs[2], 1).strip() == "dirty"  # its own cell 0
    assert pids[0] != pids[2]


def test_pool_runs_every_job_once_across_kernels(tmp_path: Path) -> None:
    seen: dict[int, str] = {}

    async def work(kernel: WarmKernel, job: int):  # type: ignore[no-untyped-def]
        run = await kernel.run(notebook(f"print({job} * {job})"))
        return _text(run, 0).strip()

    async def done(job: int, text: str) -> None:
        seen[job] = text

    async def scenario() -> None:
        async with KernelPool(2, cwd=tmp_path, warmup="") as pool:
            await pool.map(range(6), work, done)

    asyncio.run(scenario())
    assert seen == {j: str(j * j) for j in range(6)}


def test_pool_kernels_talk_over_ipc_in_a_private_folder_removed_after(tmp_path: Path) -> None:
    """No TCP port is opened; the sockets and connection files sit in a 0700 folder that
    goes with the pool, and a folder left by a killed run (dead pid) is cleaned."""
    import json
    import os
    import stat

    from kpinb.batch.executors.kernels import private_runtime

    stale = private_runtime().parent / "run-999999999-x"
    stale.mkdir()

    async def scenario() -> tuple[dict, Path, int]:
        async with KernelPool(1, cwd=tmp_path, warmup="") as pool:
            kernel = pool.kernels[0]
            info = json.loads(Path(kernel.km.connection_file).read_text())
            mode = stat.S_IMODE(os.stat(pool.runtime.parent).st_mode)
            run = await kernel.run(notebook("print(6 * 7)"))
            assert _text(run, 0).strip() == "42"
            return info, pool.runtime, mode

    info, runtime, mode = asyncio.run(scenario())
    assert info["transport"] == "ipc" and str(runtime) in info["ip"]
    assert mode == 0o700
    assert not runtime.exists()
    assert not stale.exists()
