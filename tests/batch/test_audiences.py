"""Indexes that respect their audience, on the real batch (reports built in this process
by the fake executor): HR operations' full index, each manager's own, and pages of views
a run did not build listed apart, never as current.

In the test workspace E001 manages E002..E006 (team T01), E007 manages E008..E012 (T04).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from kpinb.batch import run_batch
from kpinb.batch.publish.index import HR_BANNER
from tests.support.stand_ins import FakeExecutor

PERIOD = "2026-Q3"
PEOPLE_OF = {
    "E001": [f"E{i:03d}" for i in range(2, 7)],
    "E007": [f"E{i:03d}" for i in range(8, 13)],
}
TEAM_OF = {"E001": "T01", "E007": "T04"}


def hrefs(page: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', page))


def current_part(page: str) -> str:
    """The index without its section of pages from earlier runs."""
    return page.split('<section class="older"', 1)[0]


@pytest.fixture(scope="module")
def two_runs(
    workspace_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """A run with the manager views, then one without; the first run's indexes."""
    out = tmp_path_factory.mktemp("audiences")
    kw = {"out": out, "progress": False}
    first = run_batch(
        workspace_dir, PERIOD, views=["employee", "manager"], executor=FakeExecutor(), **kw
    )
    assert first.exit_code == 0
    period = out / PERIOD
    before = {p.relative_to(period).as_posix(): p.read_text("utf-8") for p in
              [period / "index.html", *(period / "managers").glob("*.html")]}  # fmt: skip
    second = run_batch(workspace_dir, PERIOD, executor=FakeExecutor(), **kw)
    assert second.exit_code == 0
    return period, before


def test_each_manager_index_lists_only_their_people(
    two_runs: tuple[Path, dict[str, str]], workspace_dir: Path
) -> None:
    _, before = two_runs
    people = pd.read_csv(workspace_dir / "people.csv", dtype=str)
    names = dict(zip(people["employee_id"], people["name"], strict=True))
    assert sorted(k for k in before if k.startswith("managers/")) == [
        "managers/E001.html", "managers/E007.html"
    ]  # fmt: skip
    for manager, theirs in PEOPLE_OF.items():
        page = before[f"managers/{manager}.html"]
        pages = {h for h in hrefs(page) if h.endswith(".html")}
        assert pages == {
            f"../employees/{manager}.html",  # their own report
            *(f"../employees/{p}.manager.html" for p in theirs),
            f"../teams/{TEAM_OF[manager]}.html",
        }
        assert "run.json" not in hrefs(page) and HR_BANNER not in page
        assert f"For <strong>{html.escape(names[manager])}</strong>" in page
        assert (
            f"<strong>{html.escape(names[manager])}</strong>: your own report, "
            f"{len(theirs)} of your people&#39;s and your team&#39;s. Confidential" in page
        )
        text = html.unescape(page)
        for other, name in names.items():
            if other not in {manager, *theirs}:
                assert other not in text and name not in text, (manager, other)


def test_the_full_index_is_marked_for_hr_operations_and_links_every_manager_index(
    two_runs: tuple[Path, dict[str, str]],
) -> None:
    _, before = two_runs
    page = before["index.html"]
    assert f"<strong>{HR_BANNER}</strong>" in page
    assert re.search(r"<title>[^<]*HR operations: every report</title>", page)
    assert {"managers/E001.html", "managers/E007.html", "run.json"} <= hrefs(page)
    assert "employees/E003.manager.html" in hrefs(page)  # built by this run: current
    assert 'class="older"' not in page


def test_a_run_without_the_manager_view_links_the_old_manager_page_only_as_older(
    two_runs: tuple[Path, dict[str, str]],
) -> None:
    period, _ = two_runs
    assert (period / "employees" / "E003.manager.html").is_file()  # kept, not lost
    state = json.loads(
        (period / ".kpinb" / "state" / "employees" / "E003.manager.html.json").read_text("utf-8")
    )
    built = state["updated"][:16].replace("T", " ")
    manifest = json.loads((period / "run.json").read_text("utf-8"))
    assert "employees/E003.manager.html" not in {r["html"] for r in manifest["reports"]}
    older = {r["html"]: r for r in manifest["older"]}
    assert sorted(older) == [f"employees/E{i:03d}.manager.html" for i in range(1, 13)]
    assert older["employees/E003.manager.html"]["built"] == state["updated"]
    for name in ("index.html", "managers/E001.html"):
        page = (period / name).read_text("utf-8")
        assert "E003.manager.html" not in current_part(page), name
        link = (
            "../employees/E003.manager.html"
            if name.startswith("managers")
            else ("employees/E003.manager.html")
        )
        item = re.search(rf'<li data-older-page="{re.escape(link)}">(.*?)</li>', page, re.S)
        assert item is not None, name
        assert f"built {built}, not current" in item.group(1)
        assert "From earlier runs" in page and "miss any data or check-in added since" in page
    assert sorted(manifest["indexes"]) == ["index.html", "managers/E001.html", "managers/E007.html"]
    e007 = (period / "managers" / "E007.html").read_text("utf-8")
    # this run built no manager views: the banner promises no people's reports
    assert (
        "your own report and your team&#39;s; no report on your people was made in this "
        "run. Confidential" in e007
    )
    assert "E003" not in e007  # older pages too go to their reader's index only


def test_a_run_of_the_calibration_pack_only_leaves_the_reports_current_and_records_the_pack(
    workspace_dir: Path, tmp_path: Path
) -> None:
    first = run_batch(workspace_dir, PERIOD, out=tmp_path, executor=FakeExecutor(), progress=False)
    assert first.exit_code == 0
    period = tmp_path / PERIOD
    index = (period / "index.html").read_bytes()
    reports = json.loads((period / "run.json").read_text("utf-8"))["reports"]
    fake = FakeExecutor()
    pack = run_batch(
        workspace_dir, PERIOD, out=tmp_path, views=["calibration"], executor=fake, progress=False
    )
    assert pack.exit_code == 0 and fake.given == []  # no report built
    assert (period / "index.html").read_bytes() == index  # nothing became "older"
    manifest = json.loads((period / "run.json").read_text("utf-8"))
    assert manifest["reports"] == reports and manifest["older"] == []
    assert manifest["calibration"] == {
        "index": "calibration/index.html",
        "workbook": "calibration/calibration-2026-Q3.xlsx",
        "departments": {
            "Sales": "calibration/department-Sales.html",
            "Support": "calibration/department-Support.html",
        },
    }
    assert all((period / f).is_file() for f in manifest["calibration"]["departments"].values())
    run_batch(workspace_dir, PERIOD, out=tmp_path, executor=FakeExecutor(), progress=False)
    again = json.loads((period / "run.json").read_text("utf-8"))
    assert "calibration" not in again  # a later run without the pack does not name it
