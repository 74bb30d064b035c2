"""Safe file names, atomic writes, the index page and the notebook-to-page step."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from kpinb.batch.formats import page as export
from kpinb.batch.formats import twin as twins
from kpinb.batch.formats.page import HTML
from kpinb.batch.formats.pdf import PDF
from kpinb.batch.formats.twin import JSON
from kpinb.batch.planning.plan import plan_files
from kpinb.batch.publish import folder, reports
from kpinb.batch.publish.index import render_index
from kpinb.batch.records import ReportFiles
from kpinb.errors import BatchError
from kpinb.filenames import safe_name
from kpinb.files import atomic_write
from tests.support.stand_ins import without_index_filter

SAFE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def suffix(raw: str) -> str:
    """The hash suffix worked out independently: first 8 hex of sha256 of the NFC id."""
    return hashlib.sha256(unicodedata.normalize("NFC", raw).encode()).hexdigest()[:8]


@pytest.mark.parametrize(
    ("raw", "stem"),
    [
        ("E001", "E001"),  # already safe: kept as it is
        ("00123", "00123"),
        ("team.a_b-c", "team.a_b-c"),
        ("../x", "x"),  # traversal: dots and slash dropped
        ("/etc/passwd", "etc_passwd"),
        ("<script>alert(1)</script>", "script_alert_1_script"),
        ('q"uote', "q_uote"),
        ("E\u202e001", "E001"),  # right-to-left override removed, hash keeps it apart
        ("Customer Success", "Customer_Success"),
        ("José Núñez", "Jos_N_ez"),
        ("CON", "_CON"),  # Windows reserved names
        ("nul.txt", "_nul.txt"),
        ("..", "id"),
        ("", "id"),
        ("name. ", "name"),  # trailing dot and space are invalid on Windows
    ],
)
def test_safe_name_cleans_and_marks_changed_ids(raw: str, stem: str) -> None:
    expected = stem if stem == raw else f"{stem}-{suffix(raw)}"
    assert safe_name(raw) == expected
    assert SAFE.match(safe_name(raw))


def test_safe_name_limits_length_and_keeps_long_ids_apart() -> None:
    a, b = "a" * 300, "a" * 299 + "b"
    assert len(safe_name(a)) == 64 + 9
    assert safe_name(a) != safe_name(b)


def test_safe_name_accepts_numbers_like_papermill_gives_them() -> None:
    assert safe_name(123) == "123"


def test_nfc_and_nfd_spellings_share_a_name_so_they_collide() -> None:
    nfc, nfd = "Jos\u00e9", "Jose\u0301"
    assert nfc != nfd
    assert safe_name(nfc) == safe_name(nfd)
    with pytest.raises(BatchError, match="1 file name"):
        plan_files([("employee", nfc, "employee", True), ("employee", nfd, "employee", True)])


def test_ids_differing_only_by_case_stop_the_plan_naming_both() -> None:
    with pytest.raises(BatchError) as caught:
        plan_files(
            [
                ("employee", "E001", "employee", True),
                ("employee", "e001", "employee", True),
                ("employee", "E002", "employee", True),
            ]
        )
    message = str(caught.value)
    assert "'E001'" in message and "'e001'" in message and "employees/E001.html" in message
    assert "E002" not in message


def test_second_view_file_collides_with_an_id_that_spells_it() -> None:
    with pytest.raises(BatchError):
        plan_files(
            [("employee", "E001", "manager", False), ("employee", "E001.manager", "employee", True)]
        )


def test_plan_files_places_views_and_scopes() -> None:
    planned = plan_files(
        [
            ("employee", "E001", "employee", True),
            ("employee", "E001", "manager", False),
            ("team", "T01", "manager", True),
            ("department", "Sales & Ops", "executive", True),
        ]
    )
    assert [str(p.html) for p in planned] == [
        "employees/E001.html",
        "employees/E001.manager.html",
        "teams/T01.html",
        f"departments/Sales_Ops-{suffix('Sales & Ops')}.html",
    ]
    assert str(planned[0].json) == "employees/E001.json"
    assert str(planned[0].notebook) == "failed/employees/E001.ipynb"


def test_resolve_under_refuses_paths_outside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    assert folder.resolve_under(root, "employees/E001.html") == root / "employees/E001.html"
    with pytest.raises(BatchError, match="outside"):
        folder.resolve_under(root, PurePosixPath("../x.html"))
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(BatchError, match="outside"):
        folder.resolve_under(root, "link/x.html")


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a" / "report.html"
    atomic_write(target, "first")
    atomic_write(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, unlike mkstemp's 0600


def test_atomic_write_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    atomic_write(target, "old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_write_if_changed_leaves_identical_files_alone(tmp_path: Path) -> None:
    target = tmp_path / "index.html"
    assert folder.write_if_changed(target, "page")
    before = target.stat().st_mtime_ns, target.stat().st_ino
    assert not folder.write_if_changed(target, "page")
    assert (target.stat().st_mtime_ns, target.stat().st_ino) == before
    assert folder.write_if_changed(target, "page 2")


def test_make_staging_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    stale = tmp_path / ".staging-old"
    stale.mkdir()
    (stale / "half.html").write_text("<html")
    (tmp_path / "employees").mkdir()
    (tmp_path / "employees" / ".E001.html.abc.tmp").write_text("<ht")
    fresh = folder.make_staging(tmp_path)
    assert fresh.is_dir() and fresh.name.startswith(".staging-")
    assert not stale.exists()
    assert list((tmp_path / "employees").iterdir()) == []


def test_index_escapes_names_and_strips_direction_overrides() -> None:
    record = {
        "scope": "employee",
        "scope_id": "<b>E1</b>",
        "view": "employee",
        "status": "ok",
        "html": "employees/b_E1_b-1.html",
        "json": "employees/b_E1_b-1.json",
        "html_sha256": "x",
        "name": "<script>alert(1)</script> \u202eevil",
    }
    page = render_index(
        period="2026-Q3",
        records=[record],
        warnings=["people.csv, row 3: <img src=x onerror=alert(1)>"],
    )
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>E1" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; evil" in page
    assert "\u202e" not in page
    assert 'href="employees/b_E1_b-1.html"' in page
    assert export.external_fetches(without_index_filter(page)) == []


def test_index_keeps_the_previous_version_of_a_report_that_could_not_be_rebuilt() -> None:
    failed = {
        "scope": "team",
        "scope_id": "T01",
        "view": "manager",
        "status": "failed",
        "html": "teams/T01.html",
        "json": "teams/T01.json",
        "html_sha256": "x",
        "name": "Sales North",
    }
    never = {**failed, "scope_id": "T02", "html": "teams/T02.html", "html_sha256": None}
    page = render_index(period="2026-Q3", records=[failed, never], warnings=[])
    assert page.count("could not be generated") == 2
    assert page.count("the previous version is kept") == 1
    assert 'href="teams/T02.html"' not in page


@pytest.mark.parametrize(
    ("snippet", "fetches"),
    [
        ("<script>alert(1)</script>", True),
        ('<img src="https://cdn.example.com/x.png">', True),
        ("<img src=//cdn.example.com/x.png>", True),
        ('<link rel="stylesheet" href="https://cdn.example.com/a.css">', True),
        ("<style>body{background:url( 'http://x.example/a.png')}</style>", True),
        ("<style>@import 'a.css';</style>", True),
        ('<svg xmlns="http://www.w3.org/2000/svg"><image href="https://x/y.png"/></svg>', True),
        ('<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>', False),
        ('<a href="https://example.com/help">help</a>', False),  # a link is not fetched
        ('<img alt="chart" src="data:image/png;base64,AAAA">', False),
        # a browser decodes entities in attributes and reads every srcset candidate
        ('<img src="&#47;&#47;x.example/a.png">', True),
        ('<img src="ht&#x74;ps://x.example/a.png">', True),
        ('<img srcset="a.png 1x, //x.example/b.png 2x">', True),
        ('<img src="https:x.example/a.png">', True),  # no slashes: still another host
        ('<img src="\\\\x.example/a.png">', True),  # backslashes count as slashes
        ('<div style="background:url(&#47;&#47;x.example/a)">', True),
        ('<meta http-equiv="refresh" content="0;url=//x.example">', True),
        ('<iframe srcdoc="&lt;p&gt;"></iframe>', True),
        # script without <script>: event handlers and javascript: links
        ("<img src=x onerror=alert(1)>", True),
        ('<svg><rect onmouseover="alert(1)"/></svg>', True),
        ('<a href="jav&#x61;script:alert(1)">x</a>', True),
        # the same words in escaped text are only text
        ("<p>&lt;img src=x onerror=alert(1)&gt; on=Monday, javascript: basics</p>", False),
        ('<p aria-label="O&#x27;Brien">E&#x27;s url(notes)</p>', False),
        ('<text aria-label="Name: &lt;img src=x onerror=alert(1)&gt; href=//x">', False),
        # "İ".lower() is two characters: positions found in the lowered page must still fit
        ("<p>" + "İ" * 40 + "</p><img src=x onerror=alert(1)>", True),
    ],
)
def test_external_fetches(snippet: str, fetches: bool) -> None:
    assert bool(export.external_fetches(snippet)) is fetches


def test_twin_mismatch_names_what_differs() -> None:
    files = ReportFiles("employee", "E001", "employee", "E001")
    twin = {"scope": "employee", "id": "E001", "period": "2026-Q3", "view": "employee"}
    assert twins.twin_mismatch(twin, files, "2026-Q3") is None
    wrong = twins.twin_mismatch({**twin, "id": "E002"}, files, "2026-Q3")
    assert wrong is not None and "id='E002' (expected 'E001')" in wrong
    assert "no report" in (twins.twin_mismatch(None, files, "2026-Q3") or "")


def _executed_notebook() -> nbformat.NotebookNode:
    code = new_code_cell("secret_source_code()", execution_count=1)
    code.outputs = [
        new_output("stream", name="stderr", text="FutureWarning: noise\n"),
        new_output("stream", name="stdout", text="a <b> line\n"),
        new_output(
            "display_data",
            data={
                "text/html": "<p class='r'>Report body</p>",
                export.REPORT_MIME: {"id": "E001", "secret": 1},
            },
        ),
        new_output("execute_result", data={"text/plain": "1 < 2"}, execution_count=1),
    ]
    nb = new_notebook(cells=[new_markdown_cell("# How to run this notebook"), code])
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def test_notebook_page_shows_outputs_only() -> None:
    page = export.export_page(
        export.make_exporter(),
        _executed_notebook(),
        title="<i>Ana</i> \u202e",
        footer="kpinb & co",
    )
    assert "<p class='r'>Report body</p>" in page
    assert "a &lt;b&gt; line" in page and "1 &lt; 2" in page
    for hidden in (
        "secret_source_code",
        "FutureWarning",
        "How to run",
        "In&nbsp;[",
        "In [",
        '"secret"',
        "<script",
    ):
        assert hidden not in page
    assert "<title>&lt;i&gt;Ana&lt;/i&gt; </title>" in page
    assert "kpinb &amp; co" in page
    assert export.external_fetches(page) == []
    assert page.rstrip().endswith("</html>")


WITH_PDF = (HTML, JSON, PDF)


def _publish(
    root: Path, files: ReportFiles, html: str, twin: dict, *, pdf: bytes | None = None, **kw: Any
) -> None:
    """Publish ``html`` and ``twin`` (and a PDF when given) as a run would."""
    rendered: dict[Any, str | bytes] = {HTML: html, JSON: twins.dumps_json(twin)}
    if pdf is not None:
        rendered[PDF] = pdf
    reports.publish(root, files, twin, rendered, **kw)


def test_twin_of_reads_the_report_output() -> None:
    assert twins.twin_of(_executed_notebook()) == {"id": "E001", "secret": 1}
    assert twins.twin_of(new_notebook()) is None


def test_a_report_failing_twice_still_shows_its_kept_previous_version(tmp_path: Path) -> None:
    # published once, then two runs that could not rebuild it: the good page stays on
    # disk both times, so the index must keep linking it as "the previous version"
    files = ReportFiles("employee", "E001", "employee", "E001")
    staging = folder.make_staging(tmp_path)
    twin = {"id": "E001", "data_quality": []}
    _publish(tmp_path, files, "<p>ok</p>", twin, name="Ana", key="k1", staging=staging)
    for _ in range(2):
        reports.keep_failed(tmp_path, files, None, "boom", name="Ana", staging=staging)
        record = reports.read_states(tmp_path)["employees/E001.html"]
        assert record["status"] == "failed"
        assert record["html_sha256"] == hashlib.sha256(b"<p>ok</p>").hexdigest()
    page = render_index(period="2026-Q3", records=[record], warnings=[])
    assert 'href="employees/E001.html"' in page and "the previous version is kept" in page


def test_a_failed_report_whose_page_is_kept_keeps_its_at_a_glance_counts(tmp_path: Path) -> None:
    files = ReportFiles("employee", "E001", "employee", "E001")
    staging = folder.make_staging(tmp_path)
    twin = {
        "id": "E001",
        "kpis": [
            {"story": "improving_shift", "goal": {"score": 0.8, "success": True}},
            {"story": "worsening_shift", "goal": None},
        ],
    }
    _publish(tmp_path, files, "<p>ok</p>", twin, name="Ana", key="k1", staging=staging)
    before = reports.read_states(tmp_path)["employees/E001.html"]
    assert (before["shifts_up"], before["shifts_down"], before["goals_met"]) == (1, 1, 1)
    reports.keep_failed(tmp_path, files, None, "cell 2 (In [3]): ValueError: x", name="Ana",
                        staging=staging)  # fmt: skip
    after = reports.read_states(tmp_path)["employees/E001.html"]
    assert after["status"] == "failed" and after["error"] == "ValueError in cell 2"
    for key in ("shifts_up", "shifts_down", "goals", "goals_met", "notes", "html_sha256"):
        assert after[key] == before[key], key


def test_a_pdf_is_published_with_its_page_and_twin_and_a_page_without_one_drops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = ReportFiles("employee", "E1", "employee", "E1")
    staging = folder.make_staging(tmp_path)
    twin = {"scope": "employee", "id": "E1"}

    def publish(html: str, pdf: bytes | None) -> None:
        _publish(tmp_path, files, html, twin, name="E1", key="k", staging=staging, pdf=pdf)

    publish("<p>1</p>", b"%PDF-1 one")
    pdf = tmp_path / "employees" / "E1.pdf"
    assert pdf.read_bytes() == b"%PDF-1 one"
    state = reports.read_states(tmp_path)["employees/E1.html"]
    assert state["pdf"] == "employees/E1.pdf"
    assert state["pdf_sha256"] == hashlib.sha256(b"%PDF-1 one").hexdigest()
    assert reports.is_current(tmp_path, state, "k", formats=WITH_PDF)
    pdf.write_bytes(b"%PDF-1 changed by hand")
    assert not reports.is_current(tmp_path, state, "k", formats=WITH_PDF)  # rebuilt next run
    assert reports.is_current(tmp_path, state, "k")  # html only: the PDF does not count

    # the third file cannot be renamed into place: page, twin and PDF all stay as they were
    real_replace = os.replace
    failed: list[object] = []

    def failing(src: object, dst: object) -> None:
        if str(dst).endswith(".pdf") and not failed:  # once: the earlier files go back
            failed.append(dst)
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError):
        publish("<p>2</p>", b"%PDF-1 two")
    monkeypatch.undo()
    assert (tmp_path / "employees" / "E1.html").read_text() == "<p>1</p>"
    assert pdf.read_bytes() == b"%PDF-1 changed by hand"

    publish("<p>3</p>", None)  # a run without PDFs: the old PDF would not match the page
    assert not pdf.exists()
    state = reports.read_states(tmp_path)["employees/E1.html"]
    assert "pdf" not in state
    assert not reports.is_current(tmp_path, state, "k", formats=WITH_PDF)
    reports.remove_report(tmp_path, "employees/E1.html")
    assert not (tmp_path / "employees" / "E1.html").exists()


def test_an_unknown_format_or_a_missing_browser_is_bad_usage(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workspace_dir: Path,
) -> None:
    from kpinb.cli.main import main

    out = tmp_path / "out"
    args = ["run", str(workspace_dir), "--period", "2026-Q3", "--out", str(out)]
    assert main([*args, "--formats", "html,docx"]) == 2
    assert "unknown format(s) docx; use html, json, pdf" in capsys.readouterr().err
    monkeypatch.setenv("KPINB_CHROMIUM", str(tmp_path / "no-such-browser"))
    assert main([*args, "--formats", "html,pdf"]) == 2
    assert "apt-get install -y chromium" in capsys.readouterr().err
    assert not out.exists() or not any(out.rglob("*.html"))
