"""The package's shape: layered subpackages, imports only pointing down, no cycle, a light
analytics core and command line, and one curated public surface (docs/architecture.md)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import types
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import kpinb

PACKAGE = Path(kpinb.__file__).parent
ROOT = PACKAGE.parent
# docs/architecture.md: an import may only point to a lower rank (or inside its own subpackage)
RANKS = {
    "workspace": 1,
    "analytics": 2,
    "journal": 2,
    "report": 3,
    "demo": 3,
    "explorer": 4,
    "calibration": 4,
    "batch": 5,
    "cli": 6,
}
TOP = 7  # kpinb/__init__.py and __main__.py: the public surface over every layer


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> tuple[str, int]:
    """The room (subpackage, or 'base') and rank of a kpinb module."""
    parts = module.split(".")
    if module == "kpinb" or module == "kpinb.__main__":
        return "top", TOP
    if len(parts) > 1 and parts[1] in RANKS:
        return parts[1], RANKS[parts[1]]
    return "base", 0


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, kpinb module) of every import in the file: top level, lazy (inside functions)
    and under TYPE_CHECKING alike. ``from pkg import name`` points at ``pkg.name`` when
    that is a module, else at ``pkg``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("kpinb")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kpinb"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((node.lineno, sub if sub in modules else node.module))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {target for _, target in _imports(path, modules) if target != name}
        for name, path in modules.items()
    }


def test_every_import_points_down_the_ranks() -> None:
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        room, rank = _layer(name)
        for line, target in _imports(path, modules):
            other, other_rank = _layer(target)
            if other == room or other_rank < rank:
                continue
            wrong.append(
                f"{path.relative_to(ROOT)}:{line} ({room}, rank {rank}) imports "
                f"{target} ({other}, rank {other_rank})"
            )
    assert wrong == []


# inside batch/: its wings, each importing only a lower one (the same rank never the other
# wing): planning and execution never import publishing, the formats neither of them
BATCH_WINGS = {
    "records": 0,
    "planning": 1,
    "formats": 1,
    "executors": 2,
    "publish": 2,
}
BATCH_TOP = 3  # orchestrate, period_run and the package itself: over every wing


def _wing(module: str) -> tuple[str, int] | None:
    """The batch wing and its rank of a kpinb.batch module (None outside batch/)."""
    parts = module.split(".")
    if parts[:2] != ["kpinb", "batch"]:
        return None
    if len(parts) > 2 and parts[2] in BATCH_WINGS:
        return parts[2], BATCH_WINGS[parts[2]]
    return "top", BATCH_TOP


def _wing_violations(sources: dict[str, Path], modules: dict[str, Path]) -> list[str]:
    """Every import in ``sources`` that points up or across the batch wings (``modules``:
    every module name, to resolve ``from pkg import name``)."""
    wrong = []
    for name, path in sources.items():
        wing = _wing(name)
        if wing is None:
            continue
        for line, target in _imports(path, modules):
            other = _wing(target)
            if other is None or other[0] == wing[0] or other[1] < wing[1]:
                continue
            wrong.append(
                f"{name}:{line} ({wing[0]}, rank {wing[1]}) imports "
                f"{target} ({other[0]}, rank {other[1]})"
            )
    return wrong


def test_the_batch_wings_import_only_down() -> None:
    """Planning and execution never import publishing (nor each other, nor the top);
    the formats import only the records; every import inside batch/ points down."""
    modules = _modules()
    assert _wing_violations(modules, modules) == []


def test_the_wing_check_catches_execution_importing_publishing(tmp_path: Path) -> None:
    """A lazy import of the publisher inside an executor is caught (as one under
    TYPE_CHECKING would be)."""
    executor = tmp_path / "local.py"
    executor.write_text("def f():\n    from kpinb.batch.publish import reports\n")
    planner = tmp_path / "plan.py"
    planner.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from kpinb.batch.publish.index import render_index\n"
    )
    sources = {"kpinb.batch.executors.local": executor, "kpinb.batch.planning.plan": planner}
    assert _wing_violations(sources, _modules()) == [
        "kpinb.batch.executors.local:2 (executors, rank 2) imports "
        "kpinb.batch.publish.reports (publish, rank 2)",
        "kpinb.batch.planning.plan:3 (planning, rank 1) imports "
        "kpinb.batch.publish.index (publish, rank 2)",
    ]


def test_the_module_graph_has_no_cycle() -> None:
    graph = _graph()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the message names the cycle
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")
    assert set(graph) <= set(order)


def test_the_rank_check_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    """The walker finds imports inside functions and under TYPE_CHECKING (else a cycle
    could hide there)."""
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from kpinb.batch import BatchResult\n"
        "def f():\n    from kpinb.report import sentences\n    import kpinb.cli\n"
    )
    modules = {"kpinb.report.sentences": source}
    assert _imports(source, modules) == [
        (3, "kpinb.batch"),
        (5, "kpinb.report.sentences"),
        (6, "kpinb.cli"),
    ]


def _ruff_order(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: SCREAMING_CASE, then CamelCase, then the rest."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def _fresh(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter; it prints a JSON object as its last line."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# adapter libraries (pyarrow is not one: pandas 3 loads it itself for its string dtype)
HEAVY = ("jinja2", "altair", "pandera", "nbconvert", "papermill", "yaml")


def test_the_analytics_core_loads_no_adapter_library() -> None:
    found = _fresh(
        "import json, sys, kpinb.analytics\n"
        f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))"
    )
    assert found == {"heavy": []}


def test_the_command_line_help_loads_no_pandas() -> None:
    found = _fresh(
        "import contextlib, io, json, sys\nfrom kpinb.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n        main(['--help'])\n"
        "    except SystemExit as exc:\n        code = exc.code\n"
        "print(json.dumps({'code': code, 'usage': 'usage: kpinb' in out.getvalue(),\n"
        f"  'loaded': [m for m in ('pandas', 'numpy', *{HEAVY!r}) if m in sys.modules]}}))"
    )
    assert found == {"code": 0, "usage": True, "loaded": []}


def test_the_public_surface_is_exactly_all() -> None:
    """As httpx's test_exported_members: ``__all__`` is sorted and lists exactly the
    public names (those bound at import and those loaded on first use)."""
    found = _fresh(
        "import json, types, kpinb\n"
        "names = [n for n, v in vars(kpinb).items()\n"
        "         if not (n.startswith('_') and n != '__version__')\n"
        "         and not isinstance(v, types.ModuleType) and n not in ('annotations', 'importlib',"
        " 'TYPE_CHECKING')]\n"
        "print(json.dumps({'all': kpinb.__all__, 'names': sorted(names + list(kpinb._LAZY))}))"
    )
    assert found["all"] == sorted(found["all"], key=_ruff_order)
    assert found["all"] == sorted(found["names"], key=_ruff_order)
    for name in kpinb.__all__:
        assert getattr(kpinb, name) is not None


@pytest.mark.parametrize(
    "room", ["workspace", "analytics", "journal", "report", "demo", "batch", "cli"]
)
def test_each_subpackage_exports_a_sorted_resolvable_all(room: str) -> None:
    import importlib

    module = importlib.import_module(f"kpinb.{room}")
    assert module.__all__ == sorted(module.__all__, key=_ruff_order)
    for name in module.__all__:
        assert not isinstance(getattr(module, name), types.ModuleType)


def test_notebooks_use_only_the_public_surface() -> None:
    imports = []
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kpinb"):
                imports += [(notebook.name, node.module, a.name) for a in node.names]
    assert imports, "the notebooks call kpinb"
    assert [i for i in imports if i[1] != "kpinb" or i[2] not in kpinb.__all__] == []
