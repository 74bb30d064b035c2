"""A report opened from an email keeps its layout: one <style> block, in <head>, no
stylesheet link and no web font (clients drop styles in the body and fetch nothing)."""

from __future__ import annotations

import re

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from kpinb.batch.formats.page import export_page, make_exporter
from kpinb.templating import css, one_style_block


def _check(page: str) -> None:
    head, _, body = page.partition("</head>")
    assert len(re.findall(r"<style\b", page, re.I)) == 1
    assert "<style" in head and "<style" not in body
    assert not re.search(r"<link\b|@font-face|@import|url\((?!\s*['\"]?data:)", page, re.I)


def test_one_style_block_merges_in_order_into_the_head() -> None:
    page = (
        "<html><head><title>t</title><style>a{color:red}</style></head><body>"
        "<article><style>b{color:blue}</style><p>x</p></article>"
        "<div><style>b{color:blue}</style></div></body></html>"
    )
    merged = one_style_block(page)
    assert merged == (
        "<html><head><title>t</title><style>\na{color:red}\nb{color:blue}\n</style>\n"
        "</head><body><article><p>x</p></article><div></div></body></html>"
    )
    _check(merged)
    assert one_style_block("<p>no head</p><style>a{}</style>") == "<p>no head</p><style>a{}</style>"


def test_the_published_page_of_a_report_fragment_has_one_style_block() -> None:
    fragment = (
        f'<article class="kpinb-report"><style>{css("report.css")}</style><h1>R</h1></article>'
    )
    cell = new_code_cell(
        "show()", outputs=[new_output("display_data", data={"text/html": fragment})]
    )
    nb = new_notebook(cells=[cell])
    nbformat.validate(nb)
    page = export_page(make_exporter(), nb, title="R", footer="f")
    _check(page)
    head = page.partition("</head>")[0]
    assert ".kpinb-report .card{" in head  # the report's own rules survive, in the head
    assert "system-ui" in head  # the system's fonts, nothing fetched


def test_a_warning_a_kernel_printed_leaves_no_trace_on_the_page() -> None:
    """A library warning (stderr) or an error in a cell shows nothing, not even an empty
    frame: two kernels, one of which printed a warning first, publish the same page."""
    fragment = '<article class="kpinb-report"><h1>R</h1></article>'
    shown = new_output("display_data", data={"text/html": fragment})
    warned = new_output("stream", name="stderr", text="PerformanceWarning: fragmented\n")
    failed = new_output("error", ename="E", evalue="x", traceback=[])
    pages = [
        export_page(
            make_exporter(),
            new_notebook(cells=[new_code_cell("show()", outputs=outputs)]),
            title="R",
            footer="f",
        )
        for outputs in ([shown], [warned, shown], [shown, failed])
    ]
    assert pages[0] == pages[1] == pages[2]
    assert pages[0].count('<div class="kpinb-output">') == 1
    assert "PerformanceWarning" not in pages[1]
