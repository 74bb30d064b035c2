"""``kpinb run`` reads and validates the workspace once: the command reads it to choose
and check the period, and the batch takes that same workspace over (a big workspace
read twice took twice the time and, held twice, twice the memory)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kpinb import workspace
from kpinb.batch import orchestrate
from kpinb.cli.main import main
from kpinb.workspace import loader
from tests.support.stand_ins import FakeExecutor


@pytest.mark.parametrize("period", [[], ["--period", "2026-Q3"]], ids=["chosen", "given"])
def test_the_workspace_is_validated_once_per_run(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, period: list[str]
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(workspace_dir, root)
    monkeypatch.setattr(orchestrate, "_executor", lambda *a, **kw: FakeExecutor())
    read: list[Path] = []
    validate = loader.validate_workspace

    def counted(path: str | Path) -> loader.Validation:
        read.append(Path(path))
        return validate(path)

    monkeypatch.setattr(loader, "validate_workspace", counted)
    monkeypatch.setattr(workspace, "validate_workspace", counted)  # as the package exports it
    args = ["run", str(root), *period, "--only", "E002", "--out", str(tmp_path / "out")]
    assert main(args) == 0
    assert read == [root]
    # changed files are read again: the cache never hides an edit
    people = root / "people.csv"
    people.write_text(people.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert main([*args, "--force"]) == 0
    assert read == [root, root]
