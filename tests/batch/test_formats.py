"""The table of output formats: one entry per format, unique names and suffixes, and a
look-up that names an unknown format and lists the known ones."""

from __future__ import annotations

import pytest

from kpinb.batch.formats import registry
from kpinb.batch.formats.base import OutputFormat
from kpinb.batch.records import BuiltReport, ReportFiles
from kpinb.errors import UsageError


def test_html_json_and_pdf_are_registered_with_unique_names_and_suffixes() -> None:
    formats = list(registry.FORMATS.values())
    assert {"html", "json", "pdf"} <= set(registry.names())
    assert len({f.name for f in formats}) == len(formats)
    assert len({f.suffix for f in formats}) == len(formats)
    assert all(f.suffix.startswith(".") for f in formats)
    assert [registry.FORMATS[name].name for name in registry.FORMATS] == registry.names()


def test_get_names_the_unknown_format_and_lists_the_known_ones() -> None:
    assert registry.get("pdf").suffix == ".pdf"
    with pytest.raises(UsageError, match=r"unknown format 'docx'; use html, json, pdf"):
        registry.get("docx")


def test_select_always_publishes_the_page_and_twin_and_names_every_unknown_format() -> None:
    assert [f.name for f in registry.select(())] == ["html", "json"]
    assert [f.name for f in registry.select([" HTML ", "json"])] == ["html", "json"]
    with pytest.raises(UsageError, match=r"unknown format\(s\) a, docx; use html, json, pdf"):
        registry.select(["html", "docx", "a"])


def test_a_format_clashing_with_a_registered_one_is_refused() -> None:
    clash = OutputFormat("page", ".html", lambda session, built, files: "")
    with pytest.raises(ValueError, match="clashes with 'html'"):
        registry.register(clash)
    assert registry.FORMATS["html"] is not clash


def test_the_page_and_twin_render_a_built_report() -> None:
    built = BuiltReport(0.0, html="<p>ok</p>", twin={"id": "E1"})
    files = ReportFiles("employee", "E1", "employee", "E1")
    assert registry.get("html").render(None, built, files) == "<p>ok</p>"
    assert registry.get("json").render(None, built, files) == '{\n  "id": "E1"\n}\n'
    assert str(files.path(registry.get("pdf").suffix)) == "employees/E1.pdf"
