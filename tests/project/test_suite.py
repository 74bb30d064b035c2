"""The test suite's own shape: folders named after the package's layers, and no test
module importing another (shared code lives in tests/support/, fixtures in conftest.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import kpinb

TESTS = Path(__file__).resolve().parents[1]
PACKAGE = Path(kpinb.__file__).parent
BESIDE_THE_LAYERS = {"project", "browser", "support", "data"}


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "data" not in p.relative_to(TESTS).parts)


def _imported(tree: ast.Module) -> list[tuple[int, str]]:
    """Every module an import statement names (``from a import b`` names ``a`` and ``a.b``)."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{alias.name}".lstrip(".")) for alias in node.names]
    return out


def test_no_test_module_imports_another() -> None:
    wrong = []
    for path in _modules():
        for line, name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            parts = name.split(".")
            relative = name.startswith(".")
            test_module = parts[0] == "tests" and len(parts) > 1 and parts[1] != "support"
            if relative or test_module or "conftest" in parts:
                wrong.append(f"{path.relative_to(TESTS)}:{line} imports {name}")
    assert not wrong, "test modules import other test modules:\n" + "\n".join(wrong)


def test_support_modules_hold_no_tests() -> None:
    for path in (TESTS / "support").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert not [n for n in names if n.startswith(("test", "Test"))], path.name


def test_every_test_folder_is_a_layer_of_the_package_or_a_named_exception() -> None:
    layers = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders - layers <= BESIDE_THE_LAYERS, folders - layers - BESIDE_THE_LAYERS
    assert not list(TESTS.glob("test_*.py")), "test files belong in the folder of their layer"
    for folder in folders - {"data"}:
        assert (TESTS / folder / "__init__.py").is_file(), f"tests/{folder} is not a package"
