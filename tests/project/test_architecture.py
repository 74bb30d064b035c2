"""docs/architecture.md against the package: every module and sub-folder is named in its
layer's row, every path the docs and docstrings name exists, and nothing points at a
document outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kpinb"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
_ROW = re.compile(r"^\| \d \| (?P<rooms>.*?) \| (?P<holds>.*) \|$")


def layer_rows(text: str) -> dict[str, str]:
    """The layer table: subpackage ("" for the base modules) -> what its row says it holds."""
    rows: dict[str, str] = {}
    for line in text.splitlines():
        found = _ROW.match(line)
        if not found:
            continue
        rooms = found["rooms"]
        names = re.findall(r"`([a-z_]+)/`", rooms)
        if "base modules" in rooms:
            names = [""]
        for name in names:
            rows[name] = found["holds"]
    return rows


def unnamed_modules(text: str, package: Path) -> list[str]:
    """Modules (and folders inside a subpackage) that their layer's row does not name."""
    rows = layer_rows(text)
    missing = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if path.stem in ("__init__", "__main__"):
            continue
        room = rel.parts[0] if len(rel.parts) > 1 else ""
        row = rows.get(room)
        if row is None:
            missing.append(f"{room}/ has no row")
            continue
        named = set(re.findall(r"`([A-Za-z_]+)`", row))
        if path.stem not in named:
            missing.append(str(rel))
        missing += [f"{rel} (folder {f}/)" for f in rel.parts[1:-1] if f"`{f}/`" not in row]
    return missing


def test_every_module_is_named_in_its_layer_row() -> None:
    assert unnamed_modules(ARCHITECTURE.read_text("utf-8"), PACKAGE) == []


def test_the_check_finds_a_module_the_table_leaves_out(tmp_path: Path) -> None:
    (tmp_path / "analytics").mkdir()
    for name in ("analytics/__init__.py", "analytics/signals.py", "analytics/newthing.py"):
        (tmp_path / name).write_text("")
    (tmp_path / "periods.py").write_text("")
    doc = "| 0 | `kpinb/` base modules | `periods` | x |\n| 2 | `analytics/` | `signals` | y |\n"
    assert unnamed_modules(doc, tmp_path) == ["analytics/newthing.py"]


def test_every_command_is_named() -> None:
    text = ARCHITECTURE.read_text("utf-8")
    commands = [
        p.stem for p in (PACKAGE / "cli").glob("*.py") if p.stem not in ("__init__", "main")
    ]
    assert [c for c in commands if f"`{c}`" not in text] == []


def _tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [ROOT / line for line in out.splitlines()]


@pytest.mark.parametrize("where", ["docs", "kpinb", "README.md"])
def test_named_paths_exist(where: str) -> None:
    """A path like ``kpinb/report/stories.py`` or ``tests/report/test_stories.py`` that the
    docs or a docstring name is a file of the repository."""
    named = re.compile(
        r"(?<![\w/.-])((?:kpinb|tests|docs|notebooks|benchmarks)/[\w./-]+\.(?:py|md|j2|css))"
    )
    gone = []
    for path in _tracked(where):
        if path.suffix not in (".py", ".md", ".j2", ".css") or not path.exists():
            continue
        for ref in named.findall(path.read_text("utf-8")):
            if not (ROOT / ref).exists():
                gone.append(f"{path.relative_to(ROOT)}: {ref}")
    assert gone == []


def test_nothing_points_outside_the_repository() -> None:
    outside = re.compile(r"SPEC\.md|STYLE\.md|\.\./shared/|\bissue #?\d+", re.IGNORECASE)
    hits = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for path in _tracked("kpinb", "docs", "tests", "README.md", "benchmarks", "notebooks")
        if path.exists()
        and path.suffix in (".py", ".md", ".j2", ".css", ".ipynb")
        and path.name != "test_architecture.py"
        for m in outside.finditer(path.read_text("utf-8"))
    ]
    assert hits == []
