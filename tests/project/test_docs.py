"""Docs for people: the README's opening, picture and tour, the worked example workspace,
the guide to reading a report, and the note at the end of every report."""

from __future__ import annotations

import re
import shutil
import struct
from pathlib import Path

import pytest

from kpinb.cli.main import main
from kpinb.report import build_report, page_html
from kpinb.report.tone import find_forbidden, find_forbidden_html
from kpinb.workspace import load_workspace, validate_workspace

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "example-workspace"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_what_kpinb_is_a_picture_then_the_two_commands() -> None:
    intro, _, rest = README.partition("```sh")
    assert "coaching report" in intro and "own past" in intro
    picture = re.search(r"!\[[^\]]+\]\((docs/img/employee-report\.png)\)", intro)
    assert picture is not None, "the picture comes before the commands"
    first_block = rest.split("```")[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in first_block] == ["make demo", "make test"]
    tour = README.index("## A 5-minute tour")
    assert README.index("make test") < tour < README.index("## Everyday commands")


def test_the_picture_is_a_png_of_a_report() -> None:
    data = (ROOT / "docs" / "img" / "employee-report.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1200, 2400)


def test_the_picture_has_one_documented_command() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^screenshot:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert target is not None
    assert "docs/screenshot.py" in target[1] and "apt-get install -y chromium" in target[1]
    assert "make screenshot" in README
    script = (ROOT / "docs" / "screenshot.py").read_text(encoding="utf-8")
    assert "--headless" in script and "--screenshot=" in script and "employee-report.png" in script


def test_the_tour_covers_demo_validate_run_by_hand_and_what_is_coming() -> None:
    tour = README[README.index("## A 5-minute tour") : README.index("## Everyday commands")]
    for step in ("make demo", "kpinb validate", "kpinb run", "kpinb render out.ipynb"):
        assert step in tour, step
    assert "docs/example-workspace" in tour and "docs/reading-a-report.md" in tour
    assert "make lab" in tour and "docs/explorer.md" in tour and "docs/img/explorer.png" in tour
    assert "--views calibration" in tour and "docs/calibration.md" in tour


def test_the_example_workspace_is_valid_and_small() -> None:
    result = validate_workspace(EXAMPLE)
    assert result.problems == () or list(result.problems) == [], result.problems
    ws = result.workspace
    assert ws is not None
    assert len(ws.people) >= 5  # one team of at least the minimum group size
    assert set(ws.people["team_id"]) == set(ws.teams["team_id"]) == {"T01"}
    assert {"targets", "goals"} <= {p.stem for p in EXAMPLE.iterdir()}
    assert sum(p.stat().st_size for p in EXAMPLE.iterdir()) < 100_000


def test_workspace_docs_explain_the_fields_history_targets_and_group_size() -> None:
    text = (ROOT / "docs" / "workspace.md").read_text(encoding="utf-8")
    assert "docs/example-workspace/" in text
    for word in ("`kind`", "`type`", "`rollup`", "`role`"):
        assert word in text, word
    for heading in (
        "## How much history the limits need",
        "## Targets across periods",
        "## The minimum group size",
    ):
        assert heading in text, heading


def test_reading_a_report_explains_the_words_in_a_growth_tone() -> None:
    text = (ROOT / "docs" / "reading-a-report.md").read_text(encoding="utf-8")
    for term in (
        "Routine variation",
        "Shifted",
        "Usual range",
        "Trial limits",
        "Goal scores",
        "0.7",
        "5-person minimum",
        "20 or more",
    ):
        assert term in text, term
    assert find_forbidden(text) == []


@pytest.mark.parametrize(
    ("scope", "scope_id", "view"),
    [
        ("employee", "E002", "employee"),
        ("team", "T01", "manager"),
        ("department", "Sales", "executive"),
    ],
)
def test_every_report_ends_with_how_to_read_it_and_about_each_kpi(
    scope: str, scope_id: str, view: str, workspace_dir: Path
) -> None:
    ws = load_workspace(workspace_dir)
    report = build_report(ws, scope, scope_id, "2026-Q3", view)
    html = report.to_html()
    how = html[html.index('<section class="sec-how"') :]
    assert "How to read this report" in how and how.rstrip().endswith("</article>")
    assert "href" not in how and "http" not in how  # links nowhere
    assert ("minimum group size" in how) == (view == "executive")
    assert find_forbidden_html(page_html(report)) == []
    twin = report.to_json()
    about = [s for sec in twin["sections"] for s in sec["sentences"] if s["id"] == "kpi_about"]
    assert len(about) == len(twin["kpis"]) > 0
    for sentence, block in zip(about, twin["kpis"], strict=True):
        spec = ws.kpis[block["kpi_id"]]
        assert block["about"] == {
            "formula": spec.formula,
            "source": spec.source,
            "owner": spec.owner,
        }
        assert sentence["text"] == (
            f"About this KPI: {spec.formula}. Source: {spec.source}. Owner: {spec.owner}."
        )
    assert html.count('<p class="about">') == len(about)


def test_the_about_line_escapes_the_dictionary(workspace_dir: Path) -> None:
    import dataclasses

    ws = load_workspace(workspace_dir)
    spec = ws.kpis["revenue_closed"]
    hostile = dataclasses.replace(spec, owner='<img src=x onerror="alert(1)">', formula="a < b")
    ws = dataclasses.replace(ws, kpis={**ws.kpis, "revenue_closed": hostile})
    html = build_report(ws, "employee", "E002", "2026-Q3").to_html()
    assert "<img src=x" not in html
    assert "Owner: &lt;img src=x onerror=&#34;alert(1)&#34;&gt;." in html
    assert "About this KPI: a &lt; b." in html


@pytest.mark.slow
def test_the_tour_validates_and_runs_a_copy_of_the_example(tmp_path: Path, capsys) -> None:
    mine = tmp_path / "my-workspace"
    shutil.copytree(EXAMPLE, mine)  # step 2: cp -r docs/example-workspace my-workspace
    assert main(["validate", str(mine)]) == 0
    out = tmp_path / "reports"
    assert main(["run", str(mine), "--period", "2026-Q3", "--out", str(out)]) == 0  # step 3
    index = (out / "2026-Q3" / "index.html").read_text(encoding="utf-8")
    assert "Sales North" in index and index.count('href="employees/') == 2 * 6
