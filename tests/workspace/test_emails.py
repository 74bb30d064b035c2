"""The optional ``email`` column of people.csv: checked, and who cannot be reached."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from kpinb.cli.main import main
from kpinb.workspace import load_workspace, validate_workspace
from kpinb.workspace.checks import valid_address


def _with_emails(src: Path, dest: Path, emails: dict[str, str]) -> Path:
    shutil.copytree(src, dest)
    people = pd.read_csv(dest / "people.csv", dtype=str, keep_default_na=False)
    people["email"] = people["employee_id"].map(lambda e: emails.get(e, f"{e.lower()}@ex.com"))
    people.to_csv(dest / "people.csv", index=False)
    return dest


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("ana@example.com", True),
        ("ana.b+kpi@mail.example.co.uk", True),
        ("ana", False),
        ("ana@localhost", False),
        ("Ana <ana@example.com>", False),
        ("ana@example.com, bo@example.com", False),
        ("ana @example.com", False),
    ],
)
def test_an_address_is_one_plain_address(value: str, ok: bool) -> None:
    assert valid_address(value) is ok


def test_validate_names_the_row_column_and_who_cannot_be_reached(
    tmp_path: Path, workspace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _with_emails(workspace_dir, tmp_path / "ws", {"E003": "amara at example", "E004": ""})
    assert main(["validate", str(root)]) == 0  # warnings: the reports can still be built
    out = capsys.readouterr().out
    # E003 is on row 4 (the header is row 1), E004 on row 5
    assert (
        "people.csv, row 4, column 'email': 'amara at example' is not an email address, "
        "so 'E003' cannot be reached" in out
    )
    assert "people.csv, row 5, column 'email': no email address for 'E004'" in out
    ws = load_workspace(root)
    assert ws.people.set_index("employee_id")["email"]["E002"] == "e002@ex.com"


def test_a_workspace_without_the_column_has_no_address_warning(workspace_dir: Path) -> None:
    result = validate_workspace(workspace_dir)
    assert not [w for w in result.warnings if w.column == "email"]
    assert result.workspace is not None and result.workspace.people["email"].isna().all()
