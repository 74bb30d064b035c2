"""kpinb's one page shell: every full page extends it and carries the base stylesheet plus
only its own rules, so a report reads the same whether ``page_html`` or the batch made
its page, and the index's rules stay on the index."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from kpinb.batch.formats.page import export_page, make_exporter
from kpinb.batch.publish.index import render_index
from kpinb.calibration import build_pack
from kpinb.report import Report, build_report, page_html
from kpinb.report.facade import bundle
from kpinb.templating import BASE_CSS, STYLESHEETS, TEMPLATES, css, stylesheet
from kpinb.workspace import Workspace, load_workspace

PERIOD = "2026-Q3"
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
_RULE = re.compile(r"([^{}]+)\{")  # the selector (or at-rule) before each "{"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, workspace_dir: Path) -> Workspace:
    """A copy of the test workspace (the calibration pack writes beside it)."""
    root = tmp_path_factory.mktemp("shell") / "ws"
    shutil.copytree(workspace_dir, root)
    return load_workspace(root)


@pytest.fixture(scope="module")
def reports(ws: Workspace) -> list[Report]:
    return [
        build_report(ws, "employee", "E002", PERIOD, "employee"),
        build_report(ws, "team", "T01", PERIOD, "manager"),
    ]


def _style(page: str) -> str:
    """Every style block of ``page``, in order."""
    return "\n".join(block.strip() for block in _STYLE.findall(page))


def _selectors(page: str) -> set[str]:
    return {s.strip() for s in _RULE.findall(_style(page))}


def _batch_page(report: Report) -> str:
    """The page the batch publishes for ``report``: its notebook output, through nbconvert."""
    cell = new_code_cell("show(report)", outputs=[new_output("display_data", data=bundle(report))])
    return export_page(make_exporter(), new_notebook(cells=[cell]), title=report.title, footer="f")


def test_page_html_and_the_batch_page_of_a_report_carry_the_same_css(
    reports: list[Report],
) -> None:
    for report in reports:
        standalone, published = page_html(report), _batch_page(report)
        assert _style(standalone) == _style(published), report.title
        assert standalone.count("<style") == published.count("<style") == 1


def test_no_index_rule_reaches_a_report_page(reports: list[Report]) -> None:
    for report in reports:
        for page in (page_html(report), _batch_page(report)):
            assert not [s for s in _selectors(page) if ".kpinb-index" in s or "legend" in s]
            assert "col.c-" not in _style(page)
    assert ".kpinb-index" in stylesheet("index")


def test_every_page_starts_with_the_base_stylesheet(ws: Workspace) -> None:
    base = css(BASE_CSS)
    for page in STYLESHEETS:
        assert stylesheet(page).startswith(base), page
        for other in set(STYLESHEETS) - {page}:
            for part in set(STYLESHEETS[other]) - set(STYLESHEETS[page]):
                assert css(part) not in stylesheet(page), (page, part)
    index = render_index(period=PERIOD, records=[], warnings=[])
    pack = build_pack(ws, PERIOD, journal_root=ws.root).pages()
    for page in (index, *pack.values()):
        assert _style(page).startswith(base.strip())
        assert "a{color:#0062a3}" in _style(page)  # the house's links, on screen
        assert "a{color:inherit;text-decoration:none}" in _style(page)  # and in print
    assert ".kpinb-calibration" not in _style(index)
    assert all(".kpinb-index" not in _style(page) for page in pack.values())


def test_every_page_template_extends_the_one_shell() -> None:
    for name in (
        "page.html.j2",
        "run_index.html.j2",
        "calibration.html.j2",
        "bundle_index.html.j2",
    ):
        text = (TEMPLATES / name).read_text("utf-8")
        assert '{% extends "shell.html.j2" %}' in text, name
        assert "<!DOCTYPE" not in text and "<head>" not in text, name
    nbconvert = (TEMPLATES / "nbconvert" / "kpinb" / "index.html.j2").read_text("utf-8")
    assert "import '_shell.html.j2' as shell" in nbconvert
    assert "<!DOCTYPE" not in nbconvert and "<head>" not in nbconvert
    used = {BASE_CSS, "report.css", *(part for parts in STYLESHEETS.values() for part in parts)}
    assert {p.name for p in TEMPLATES.rglob("*.css")} == used  # no stylesheet left behind
