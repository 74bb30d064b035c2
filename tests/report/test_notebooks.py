"""The report notebooks: thin, stored clean, runnable by plain papermill on the test workspace."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from kpinb.batch.planning import plan
from kpinb.scopes import REPORT_MIME as MIME_TYPE
from tests.support.stand_ins import rename_ids

DEFAULT_ID = {"employee": "E001", "team": "T01", "department": "Sales"}


def _notebook(scope: str) -> nbformat.NotebookNode:
    return nbformat.read(plan.NOTEBOOKS_DIR / plan.NOTEBOOKS[scope], as_version=4)


@pytest.mark.parametrize("scope", sorted(plan.NOTEBOOKS))
def test_notebook_is_stored_thin_and_without_outputs(scope: str) -> None:
    nb = _notebook(scope)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert code[0].metadata.get("tags") == ["parameters"]
    assert len(code) <= 4 and all(len(c.source.splitlines()) <= 4 for c in code)
    assert "def " not in "".join(c.source for c in code)
    assert all(": str = " in line and "  # " in line for line in code[0].source.splitlines())
    guide = nb.cells[0].source
    param = plan.ID_PARAMETER[scope]
    assert f"-r {param}" in guide and "00123" in guide  # ids travel raw, not through -p


def _run(
    scope: str, tmp_path: Path, parameters: dict[str, object] | None = None
) -> dict[str, object]:
    import papermill

    nb = papermill.execute_notebook(
        str(plan.NOTEBOOKS_DIR / plan.NOTEBOOKS[scope]),
        str(tmp_path / f"{scope}.ipynb"),
        parameters=parameters or {},
        cwd=str(plan.NOTEBOOKS_DIR),
        progress_bar=False,
        kernel_name="python3",
    )
    twins = [
        o.data[MIME_TYPE]
        for c in nb.cells
        for o in c.get("outputs", [])
        if MIME_TYPE in o.get("data", {})
    ]
    assert len(twins) == 1
    return dict(twins[0])


@pytest.mark.slow
@pytest.mark.parametrize("scope", sorted(plan.NOTEBOOKS))
def test_notebook_runs_under_papermill_with_its_defaults(scope: str, tmp_path: Path) -> None:
    twin = _run(scope, tmp_path)
    assert (twin["scope"], twin["id"], twin["period"], twin["view"]) == (
        scope,
        DEFAULT_ID[scope],
        "2026-Q3",
        plan.PRIMARY_VIEW[scope],
    )


@pytest.mark.slow
def test_a_numeric_id_from_papermill_p_is_turned_back_into_text(
    tmp_path: Path, workspace_dir: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(workspace_dir, ws)
    rename_ids(ws, {"E004": "4"})
    # what `papermill ... -p employee_id 4` injects: the int 4
    twin = _run("employee", tmp_path, {"workspace": str(ws), "employee_id": 4})
    assert twin["id"] == "4"
