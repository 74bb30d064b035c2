"""Project-level guards: dependencies in step, public API, layering of the pure core."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import yaml

import kpinb

ROOT = Path(__file__).resolve().parents[2]
PURE_CORE = (
    "errors",
    "periods",
    "kpis",
    "trend",
    "signals",
    "goals",
    "rollup",
    "quality",
    "series",
    "executive",
    "analysis",
)
ADAPTER_LIBS = {
    "altair",
    "jinja2",
    "papermill",
    "nbclient",
    "nbconvert",
    "IPython",
    "vl_convert",
    "sqlite3",
    "yaml",
    "openpyxl",
    "tqdm",
}


def _name(requirement: str) -> tuple[str, str]:
    """(name, bound) of a requirement; a pip extra in brackets is not part of the name
    (``psycopg[binary]`` is conda-forge's ``psycopg``)."""
    m = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(.*)$", requirement)
    assert m, requirement
    return m[1].lower().replace("_", "-"), m[2].replace(" ", "")


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    """The conda environment is the whole one: the core, every extra and the dev tools."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert {"lab", "dask", "s3", "gcs", "sql", "docs", "all", "dev"} <= set(extras)
    requirements = list(project["dependencies"])
    for extra, listed in extras.items():
        own = [r for r in listed if not r.startswith("kpinb[")]  # all: the others by name
        assert own or extra == "all", extra
        requirements += own
    pip = dict(_name(r) for r in requirements)
    assert len(pip) == len(requirements), "a package is listed twice"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(
        _name(d)
        for d in env["dependencies"]
        if isinstance(d, str) and _name(d)[0] not in ("python", "pip")  # python-calamine stays
    )
    assert conda == pip
    # the SQL extra is in the test install too (tests/workspace/test_sources.py): make test
    # installs every extra through `all`
    assert "sql" in extras["all"][0]
    assert "EXTRAS_all := [all,docs,dev]" in (ROOT / "Makefile").read_text()


def test_nbconvert_is_pinned_past_its_path_traversal_fixes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "nbconvert>=7.17.1" in project["dependencies"]


def test_public_api_is_sorted_and_complete():
    assert kpinb.__all__ == sorted(kpinb.__all__)
    for name in kpinb.__all__:
        assert hasattr(kpinb, name), name


def test_pure_core_imports_no_adapter_library():
    for module in PURE_CORE:
        path = ROOT / "kpinb" / f"{module}.py"
        if not path.exists():
            continue
        tree = ast.parse(path.read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & ADAPTER_LIBS, f"{module} imports {imported & ADAPTER_LIBS}"
        source = path.read_text()
        assert "today(" not in source and "datetime.now(" not in source, module
        assert "open(" not in source and "read_csv" not in source, module


def test_lint_runs_ruff_then_mypy_strict_where_the_code_is_pure():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe is not None
    steps = [line.strip() for line in recipe[1].splitlines()]
    assert steps == ["$(BIN)/ruff check .", "$(BIN)/ruff format --check .", "$(BIN)/mypy"]
    assert re.search(r"^test: lint$", makefile, re.M)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test   # set up .venv, lint (ruff check, ruff format --check, mypy)" in readme
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["files"] == ["kpinb"] and mypy["warn_unused_ignores"]
    strict = [o for o in mypy["overrides"] if o.get("disallow_untyped_defs")]
    assert len(strict) == 1
    for module in ("kpinb.analytics.*", "kpinb.workspace.*", "kpinb.report.stories"):
        assert module in strict[0]["module"], module


def test_every_type_ignore_names_its_code_and_says_why():
    for path in sorted((ROOT / "kpinb").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if "# type: ignore" not in line:
                continue
            where = f"{path.relative_to(ROOT)}:{number}"
            after = re.search(r"# type: ignore\[[a-z-]+(?:, *[a-z-]+)*\](.*)$", line)
            assert after is not None, f"{where}: name the error code"
            above = lines[number - 2].strip() if number > 1 else ""
            assert after[1].strip().startswith("#") or above.startswith("#"), (
                f"{where}: say why, after the ignore or on the line above"
            )
