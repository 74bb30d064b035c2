"""The pack narrowed by ``--only`` (departments, teams, people) and printed to PDF."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kpinb.calibration import build_pack
from kpinb.errors import UsageError
from kpinb.workspace import Workspace


def test_only_people_keeps_them_their_prompts_and_their_managers_figures(ws: Workspace) -> None:
    whole = build_pack(ws, "2026-Q3")
    narrow = build_pack(ws, "2026-Q3", only=["E006", "E010"])
    assert sorted(narrow.people["employee_id"]) == ["E006", "E010"]
    assert set(narrow.kpis["employee_id"]) <= {"E006", "E010"}
    person = narrow.prompts["scope"] == "person"
    assert set(narrow.prompts.loc[person, "id"]) <= {"E006", "E010"}
    managers = set(whole.people.set_index("employee_id").loc[["E006", "E010"], "manager_id"])
    assert set(narrow.managers["manager_id"]) == managers
    # figures are the whole pack's: computed over everyone, then kept
    assert narrow.median_rating == whole.median_rating
    mine = whole.people.set_index("employee_id").loc[["E006", "E010"]]
    assert (
        narrow.people.set_index("employee_id")["standing"].to_dict() == mine["standing"].to_dict()
    )
    kept = whole.managers.set_index("manager_id").loc[sorted(managers)]
    assert narrow.managers.set_index("manager_id")["gap"].equals(kept["gap"])
    assert narrow.departments == tuple(sorted(set(mine["department"])))
    assert "Narrowed to E006, E010" in narrow.to_html()


def test_only_a_department_or_a_team_by_name(ws: Workspace) -> None:
    support = build_pack(ws, "2026-Q3", only=["Support"])
    assert set(support.people["department"]) == {"Support"}
    assert support.departments == ("Support",)
    team = build_pack(ws, "2026-Q3", only=["Sales North"])
    assert set(team.people["team"]) == {"Sales North"}
    assert len(team.people) == (ws.people["team_id"] == "T01").sum()


def test_only_a_name_that_covers_nobody_is_bad_usage(ws: Workspace) -> None:
    with pytest.raises(UsageError, match=r"'Marketing'.*department names \(Sales, Support\)"):
        build_pack(ws, "2026-Q3", only=["Marketing"])


@pytest.mark.slow
def test_kpinb_run_only_and_pdf_narrow_and_print_the_pack(
    tmp_path: Path, workspace_dir: Path
) -> None:
    from kpinb.batch import run_batch
    from kpinb.batch.formats.pdf import find_chromium

    if find_chromium() is None or shutil.which("pdftotext") is None:
        pytest.skip("chromium and poppler-utils are needed")
    result = run_batch(
        workspace_dir,
        "2026-Q3",
        out=tmp_path,
        only=["Support"],
        views=["calibration"],
        formats=["html", "pdf"],
        workers=1,
        progress=False,
    )
    folder = tmp_path / "2026-Q3" / "calibration-only-Support"
    assert result.exit_code == 0, result.unwritten
    assert result.calibration == folder / "index.html"
    assert {p.name for p in folder.iterdir()} == {
        "index.html", "index.pdf", "department-Support.html", "department-Support.pdf",
        "calibration-2026-Q3.xlsx",
    }  # fmt: skip
    page = (folder / "department-Support.html").read_text(encoding="utf-8")
    assert "Narrowed to Support" in page and "Sales" not in page.split("<h1>")[1]
    pdf = folder / "department-Support.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    found = re.search(r"^Pages:\s+(\d+)$", info.stdout, re.M)
    assert found is not None
    pages = int(found.group(1))
    for n in (1, pages):
        text = subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
        assert lines[0] == "Calibration pack 2026-Q3: Support Confidential"
        assert lines[-1] == f"kpinb Page {n} of {pages}"


def test_a_narrowed_pack_is_written_beside_the_whole_one_which_stays(
    tmp_path: Path, workspace_dir: Path
) -> None:
    """``--only`` after a whole pack: the organisation's pack keeps every file and byte,
    the narrowed one has its own folder, and run.json records the one this run built."""
    import json

    from kpinb.batch import run_batch
    from kpinb.batch.publish.packs import pack_folder

    def run(only: list[str] | None) -> None:
        kw = {"out": tmp_path, "views": ["calibration"], "workers": 1, "progress": False}
        assert run_batch(workspace_dir, "2026-Q3", only=only, **kw).exit_code == 0

    period = tmp_path / "2026-Q3"
    run(None)
    whole = {p.name: p.read_bytes() for p in (period / "calibration").iterdir()}
    assert "department-Sales.html" in whole and "department-Support.html" in whole
    run(["Support", "E002"])
    assert {p.name: p.read_bytes() for p in (period / "calibration").iterdir()} == whole
    narrowed = period / "calibration-only-E002_Support"
    assert (narrowed / "index.html").is_file()
    record = json.loads((period / "run.json").read_text(encoding="utf-8"))["calibration"]
    assert record["index"] == "calibration-only-E002_Support/index.html"
    assert all(
        v.startswith("calibration-only-E002_Support/") for v in record["departments"].values()
    )
    # names made safe; a long list is cut and told apart by a hash of the whole
    assert pack_folder(None) == "calibration"
    assert pack_folder(["../x"]).startswith("calibration-only-x-")
    many = [f"Department number {i}" for i in range(12)]
    assert len(pack_folder(many)) < 100 and pack_folder(many) != pack_folder(many[:-1])
