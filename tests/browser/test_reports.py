"""Reports as people meet them: in a real browser with the network cut, printed to PDF,
opened from an email.

Slow: one small demo run (``kpinb run`` with ``--formats html,pdf`` and the calibration
pack, for one person, one team and one department) per session, then one headless
Chromium (Debian's ``chromium``, driven over the DevTools pipe by
:mod:`kpinb.batch.formats.pdf`) opens an employee, a team, a department and a calibration
page at 1200 and 390 CSS pixels. ``.ci/run`` installs ``chromium`` and ``poppler-utils``
when missing; elsewhere the tests are skipped without them. Screenshots are saved in the
test's folder; ``KPINB_SCREENSHOTS=DIR`` copies them there too (docs/img/ was made so).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from kpinb.batch import orchestrate as batch
from kpinb.batch.formats.pdf import Browser, find_chromium
from kpinb.batch.publish.packs import pack_folder

pytestmark = pytest.mark.slow

ONLY = ["E002", "T01", "Sales"]
PACK = pack_folder(ONLY)  # the pack narrowed to ONLY: written beside the whole one
PAGES = {
    "employee": "employees/E002.html",
    "team": "teams/T01.html",
    "department": "departments/Sales.html",
    "calibration": f"{PACK}/department-Sales.html",
}
WIDTHS = (1200, 390)


def _need(tool: str | None, what: str) -> None:
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is not installed (.ci/run installs it)")
        pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, workspace_dir: Path) -> tuple[Path, float]:
    """One run with PDFs: the period folder and the run's seconds."""
    _need(find_chromium(), "chromium")
    out = tmp_path_factory.mktemp("reports")
    started = time.perf_counter()
    result = batch.run_batch(
        workspace_dir,
        "2026-Q3",
        out=out,
        only=ONLY,
        views=["employee", "manager", "executive", "calibration"],
        formats=["html", "pdf"],
        workers=2,
        progress=False,
    )
    assert result.exit_code == 0, [o.error for o in result.failed]
    return out / "2026-Q3", time.perf_counter() - started


@pytest.fixture(scope="session")
def browser() -> Any:
    _need(find_chromium(), "chromium")
    with Browser() as chromium:
        yield chromium


# what each chart must be: drawn (marks inside), of a readable size, inside the viewport
CHART_CHECK = """
(() => {
  const shown = [...document.querySelectorAll('figure.chart svg')]
    .filter(svg => svg.getClientRects().length)  // the drawing shown (a chart has two)
    .map(svg => {
    const r = svg.getBoundingClientRect();
    // each text's font size as drawn: its size in the SVG times its scale on screen
    // (the length of the transform's x axis: a rotated axis title keeps its scale)
    const texts = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim());
    const px = texts.map(t => {
      const m = t.getScreenCTM();
      return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
    });
    return {
      width: r.width, height: r.height, left: r.left, right: r.right,
      marks: svg.querySelectorAll('path, line, rect, text, circle').length,
      drawn: [...svg.querySelectorAll('path')]
        .filter(p => (p.getAttribute('d') || '').length > 20).length,
      texts: texts.length,
      smallest: Math.min(...px),
      tick: Math.min(...texts.filter(t => t.closest('.role-axis-label'))
        .map(t => t.getBoundingClientRect().height)),
    };
  });
  return {
    charts: shown,
    figures: document.querySelectorAll('figure.chart').length,
    viewport: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    title: document.title,
    h1: (document.querySelector('h1') || {}).textContent || '',
  };
})()
"""
ERROR_EVENTS = ("Runtime.exceptionThrown", "Network.loadingFailed")


def _problems(events: list[dict[str, Any]], session: str) -> list[str]:
    """Console errors, uncaught exceptions, failed or off-page requests of one tab."""
    found = []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event["method"], event.get("params", {})
        if method in ERROR_EVENTS:
            found.append(f"{method}: {params}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("file:", "data:", "about:")):
                found.append(f"request to {url}")
    return found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", list(PAGES))
def test_reports_load_offline_and_every_chart_is_visible(
    demo_run: tuple[Path, float], browser: Browser, tmp_path: Path, kind: str, width: int
) -> None:
    period_dir, _ = demo_run
    page_file = period_dir / PAGES[kind]
    assert page_file.is_file(), f"the demo run made no {PAGES[kind]}"
    mark = len(browser.events)
    page = browser.new_page(width, 900)
    try:
        for domain in ("Network", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.open(page_file.resolve().as_uri())
        seen = page.evaluate(CHART_CHECK)
        shot = page.screenshot(tmp_path / f"{kind}-{width}.png")
    finally:
        page.close()
    time.sleep(0.2)  # events sent while the tab closed
    assert _problems(browser.events[mark:], page.session) == []
    assert seen["h1"].strip()
    assert seen["scrollWidth"] <= seen["viewport"]  # nothing wider than the screen
    charts = seen["charts"]
    if kind != "calibration":  # the calibration pages are tables and prompts
        assert charts, f"no chart on the {kind} page"
    assert len(charts) == seen["figures"]  # one drawing shown per chart
    least = 200  # a one-panel small multiple is the narrowest chart
    for chart in charts:
        assert chart["drawn"] >= 1 and chart["marks"] >= 10, chart  # not an empty SVG
        assert least <= chart["width"] <= width, chart
        assert 60 <= chart["height"] <= 1500, chart
        assert chart["left"] >= 0 and chart["right"] <= seen["viewport"], chart
        # no text on a chart below 10 px as shown; the axis labels' boxes as tall
        assert chart["texts"] >= 5 and chart["smallest"] >= 10, chart
        assert chart["tick"] >= 10, chart
    if charts:
        sizes = sorted(round(c["smallest"], 1) for c in charts)
        print(f"{kind} at {width} px: smallest chart text {sizes[0]} px (per chart: {sizes})")
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("KPINB_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


# every element's box against the viewport, the page's height, and how tables are laid out
FITS = """
(() => {
  const vw = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > vw + 0.5)
    .map(e => e.tagName + '.' + e.className);
  const cells = [...document.querySelectorAll('table.stack td')];
  return {
    wide: wide.slice(0, 5),
    height: document.documentElement.scrollHeight,
    stacked: cells.filter(td => getComputedStyle(td).display === 'block').length,
    cells: cells.length,
    labelled: cells.filter(td => td.dataset.label).length,
  };
})()
"""


@pytest.mark.parametrize("name", ["index.html", "department-Sales.html"])
def test_the_calibration_pack_reads_on_a_phone(
    demo_run: tuple[Path, float], browser: Browser, name: str
) -> None:
    """At 390 px no element of the pack is wider than the screen, its tables are stacked
    rows (each row a card of label: value), and the page is at most three times as tall
    as at 1200 px (rows that wrapped one word per line made it eight times as tall)."""
    period_dir, _ = demo_run
    seen = {}
    for width in WIDTHS:
        page = browser.new_page(width, 900)
        try:
            page.open((period_dir / PACK / name).resolve().as_uri())
            seen[width] = page.evaluate(FITS)
        finally:
            page.close()
    phone, laptop = seen[390], seen[1200]
    assert phone["wide"] == [] and laptop["wide"] == []
    assert phone["cells"] > 0 and phone["stacked"] == phone["cells"] == phone["labelled"]
    assert laptop["stacked"] == 0  # a table on a laptop
    assert phone["height"] <= 3 * laptop["height"], (phone["height"], laptop["height"])


@pytest.mark.parametrize("paper_px", [698, 720])  # A4 and Letter less 0.5 in margins, at 96/in
def test_printed_layout_fits_a4_and_letter(
    demo_run: tuple[Path, float], browser: Browser, paper_px: int
) -> None:
    """In print media at the printable width of A4 and of Letter, every chart fits."""
    period_dir, _ = demo_run
    page = browser.new_page(paper_px, 1000)
    try:
        page.call("Emulation.setEmulatedMedia", {"media": "print"})
        page.open((period_dir / PAGES["employee"]).resolve().as_uri())
        seen = page.evaluate(CHART_CHECK)
    finally:
        page.close()
    assert seen["charts"]
    for chart in seen["charts"]:
        assert chart["right"] <= paper_px and chart["width"] >= 300, chart
    assert seen["scrollWidth"] <= paper_px


def _gray(pdf: Path, page: int, folder: Path) -> tuple[int, int, bytes]:
    """Page ``page`` of ``pdf`` as 8-bit grey pixels (pdftoppm's PGM): width, height, data."""
    stem = folder / f"{pdf.stem}-p{page}"
    paths = (str(pdf), str(stem))
    subprocess.run(
        ["pdftoppm", "-gray", "-r", "50", "-f", str(page), "-l", str(page), "-singlefile", *paths],
        check=True,
    )
    raw = stem.with_suffix(".pgm").read_bytes()
    magic, width, height, top, data = re.match(
        rb"(P5)\s+(\d+)\s+(\d+)\s+(\d+)\s(.*)", raw, re.S
    ).groups()
    assert magic == b"P5" and top == b"255"
    return int(width), int(height), data


def test_the_pdf_of_a_report_opens_and_shows_its_title_and_a_chart(
    demo_run: tuple[Path, float], tmp_path: Path
) -> None:
    _need(shutil.which("pdftoppm"), "pdftoppm (poppler-utils)")
    period_dir, _ = demo_run
    pdf = period_dir / "employees" / "E002.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    title = (period_dir / "employees" / "E002.json").read_text(encoding="utf-8")
    import json

    assert json.loads(title)["title"] in " ".join(text.split())
    assert "usual range" in text  # the first chart's side label: a chart is on page 1
    width, height, data = _gray(pdf, 1, tmp_path)
    assert len(data) == width * height
    ink = sum(1 for b in data if b < 200) / len(data)
    assert 0.01 < ink < 0.6  # not blank, not a black page
    # the chart's band: a run of light-blue grey (not white, not text-dark) rows
    tinted = sum(1 for b in data if 200 <= b < 245) / len(data)
    assert tinted > 0.005
    # a Letter copy of the same page prints on Letter paper
    shutil.copy(pdf, tmp_path / "E002-a4.pdf")
    keep = os.environ.get("KPINB_SCREENSHOTS")
    if keep:
        target = (str(pdf), str(Path(keep) / "employee-report-pdf-page1"))
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", *target],
            check=True,
        )


def test_every_printed_page_names_its_report_and_its_place_and_is_marked_confidential(
    demo_run: tuple[Path, float],
) -> None:
    """A page that strays from its pile can be put back: each page of a person's and a
    team's PDF is headed by the report's title (subject and period) and "Confidential"
    and footed by "Page n of N"; the PDF's Title is the report's and names nobody else."""
    import json

    _need(shutil.which("pdftotext"), "pdftotext (poppler-utils)")
    period_dir, _ = demo_run
    for stem in ("employees/E002", "teams/T01"):
        pdf = period_dir / f"{stem}.pdf"
        title = json.loads((period_dir / f"{stem}.json").read_text(encoding="utf-8"))["title"]
        info = subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
        ).stdout
        assert re.search(r"^Title:\s+(.*)$", info, re.M).group(1) == title
        pages = int(re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1))
        assert pages >= 2
        for n in range(1, pages + 1):
            text = subprocess.run(
                ["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(pdf), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
            assert lines[0] == f"{title} Confidential", (stem, n, lines[0])
            assert lines[-1] == f"kpinb Page {n} of {pages}", (stem, n, lines[-1])


def test_pdfs_are_published_with_their_pages_and_printing_is_measured(
    demo_run: tuple[Path, float],
) -> None:
    period_dir, seconds = demo_run
    state = period_dir / ".kpinb" / "state"
    for html in period_dir.glob("*/*.html"):
        if html.parent.name in (PACK, "managers"):  # the pack, managers' indexes
            continue
        pdf = html.with_suffix(".pdf")
        assert pdf.is_file(), f"no PDF beside {html.name}"
        record = (state / html.relative_to(period_dir)).with_name(html.name + ".json")
        import hashlib
        import json

        saved = json.loads(record.read_text(encoding="utf-8"))
        assert saved["pdf"] == str(pdf.relative_to(period_dir))
        assert saved["pdf_sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    print(f"demo run with PDFs: {seconds:.1f} s")


def test_a_published_page_keeps_its_layout_in_an_email(demo_run: tuple[Path, float]) -> None:
    """One <style> block, in <head>; no stylesheet link, no web font, nothing fetched."""
    period_dir, _ = demo_run
    for relative in PAGES.values():
        page = (period_dir / relative).read_text(encoding="utf-8")
        head, _, body = page.partition("</head>")
        assert len(re.findall(r"<style\b", page, re.I)) == 1, relative
        assert "<style" in head and "<style" not in body, relative
        assert not re.search(r"<link\b|@font-face|@import|url\((?!\s*['\"]?data:)", page, re.I)
        assert "font-family:system-ui" in head.replace(" ", "")


def test_printed_pages_link_nowhere_on_this_machine(
    browser: Any, tmp_path: Path, demo_run: tuple[Path, float]
) -> None:
    """A PDF holds links as absolute URLs: a page's relative links (a team page's links to
    its members) must not become file:///<this machine's folders>/... in its PDF."""
    from kpinb.batch.formats.pdf import PdfPrinter

    page = (
        '<html><body><a href="../employees/E1.html">member</a> <a href="#later">jump</a> '
        '<a href="https://example.com/guide">guide</a><div style="height:2000px"></div>'
        '<h2 id="later">Later</h2></body></html>'
    )
    data = PdfPrinter(browser, tmp_path).print_html(page)
    assert re.findall(rb"/URI\s*\(([^)]*)\)", data) == [b"https://example.com/guide"]
    assert b"/Dest" in data  # the link within the page still jumps
    period_dir, _ = demo_run
    team = (period_dir / "teams" / "T01.html").read_text(encoding="utf-8")
    assert 'href="../employees/' in team  # the page links its members
    pdf = (period_dir / "teams" / "T01.pdf").read_bytes()
    assert b"file:" not in pdf and str(period_dir.parent).encode() not in pdf


def test_the_pdf_prints_what_the_screen_folds_away(demo_run: tuple[Path, float]) -> None:
    """A card's further sentences, its quarter strip and its "About this KPI" line sit in
    a details element closed on screen; the PDF prints them open."""
    _need(shutil.which("pdftotext"), "pdftotext (poppler-utils)")
    period_dir, _ = demo_run
    page = (period_dir / "employees" / "E002.html").read_text(encoding="utf-8")
    assert '<details class="more">' in page and "<details open" not in page
    text = subprocess.run(
        ["pdftotext", str(period_dir / "employees" / "E002.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = " ".join(text.split())
    assert "About this KPI:" in flat
    assert "Quarter by quarter" in flat
    assert "Every KPI is compared with the person's own recent past" in flat


@pytest.fixture(scope="session")
def people_pages(tmp_path_factory: pytest.TempPathFactory, workspace_dir: Path) -> list[Path]:
    """Every person's page of the test workspace, in the employee and the manager view."""
    from kpinb.report import build_report, page_html
    from kpinb.workspace import load_workspace

    ws = load_workspace(workspace_dir)
    out = tmp_path_factory.mktemp("people")
    pages = []
    for view in ("employee", "manager"):
        for eid in ws.people["employee_id"]:
            page = out / f"{eid}-{view}.html"
            page.write_text(page_html(build_report(ws, "employee", eid, "2026-Q3", view)))
            pages.append(page)
    return pages


FIRST_SCREEN = """
(() => {
  const talk = document.querySelector('.sec-talk');
  const box = talk ? talk.getBoundingClientRect() : null;
  return {
    talk: box ? box.bottom + window.scrollY : null,
    points: talk ? talk.querySelectorAll('ol.talk > li > a[href^="#"]').length : 0,
    targets: talk ? [...talk.querySelectorAll('a')].every(
      a => document.getElementById(a.getAttribute('href').slice(1))) : true,
    viewport: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    words: document.body.innerText.split(/\\s+/).filter(w => /\\w/.test(w)).length,
  };
})()
"""


@pytest.mark.parametrize(("width", "fold"), [(1200, 800), (390, 900)])
def test_the_talking_points_are_on_the_first_screen(
    people_pages: list[Path], browser: Browser, width: int, fold: int
) -> None:
    """Every person's talking points end within the first screen (800 px at 1200 px wide,
    900 px at 390 px), their links land on the page, and no page is wider than the
    screen."""
    page = browser.new_page(width, fold)
    seen = {}
    try:
        for path in people_pages:
            page.open(path.resolve().as_uri())
            seen[path.name] = page.evaluate(FIRST_SCREEN)
    finally:
        page.close()
    with_points = {k: v for k, v in seen.items() if v["points"]}
    assert len(with_points) >= len(seen) // 2  # most people have something to talk about
    for name, found in seen.items():
        assert found["points"] <= 3, name
        assert found["targets"], name
        if found["points"]:
            assert found["talk"] <= fold, (name, found)
        assert found["scrollWidth"] <= found["viewport"], (name, found)
    words = sorted(v["words"] for v in seen.values())
    print(f"words shown at {width} px, details closed: median {words[len(words) // 2]}")


INDEX_CHECK = """
(() => {
  const shown = (e) => e.getClientRects().length > 0;
  // a word broken across lines has more than one box: every word of the tables' text
  const broken = [];
  const walk = document.createTreeWalker(document.getElementById('kpinb-reports'),
                                         NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    for (const m of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const boxes = [...range.getClientRects()].filter(r => r.width > 0);
      const lines = new Set(boxes.map(r => Math.round(r.top)));
      if (lines.size > 1) broken.push(m[0]);
    }
  }
  const rows = () => [...document.querySelectorAll('tr[data-id]')].filter(shown)
    .map(r => r.dataset.id);
  const input = document.getElementById('kpinb-filter-text');
  const type = (text) => {
    input.value = text;
    input.dispatchEvent(new Event('input'));
    return {rows: rows(), said: document.querySelector('#kpinb-filter output').textContent,
            none: shown(document.getElementById('kpinb-filter-none'))};
  };
  const all = rows();
  const team = document.querySelector('[data-team]').textContent;
  const result = {
    filter: shown(document.getElementById('kpinb-filter')),
    broken, all,
    viewport: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    person: type('siobhan'),  // accents and case aside
    team: type(team.split(' manager:')[0]),
    nobody: type('no such name'),
  };
  result.cleared = type('');
  return result;
})()
"""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_index_filters_its_rows_and_fits_a_phone(
    demo_run: tuple[Path, float], browser: Browser, tmp_path: Path, width: int
) -> None:
    """The index's filter box (an inline script, nothing fetched) keeps the rows whose
    name, team or department matches; at 390 and 1200 px no word of its tables breaks
    across lines and nothing runs past the screen."""
    period_dir, _ = demo_run
    mark = len(browser.events)
    page = browser.new_page(width, 900)
    try:
        for domain in ("Network", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.open((period_dir / "index.html").resolve().as_uri())
        shot = page.screenshot(tmp_path / f"index-{width}.png")
        seen = page.evaluate(INDEX_CHECK)
    finally:
        page.close()
    time.sleep(0.2)
    assert _problems(browser.events[mark:], page.session) == []
    assert seen["filter"]  # shown once the script runs
    assert seen["broken"] == [], seen["broken"]
    assert seen["scrollWidth"] <= seen["viewport"]
    assert set(seen["all"]) == {"E002", "T01", "Sales"}
    assert seen["person"] == {"rows": ["E002"], "said": "1 shown", "none": False}
    assert seen["team"]["rows"] == ["T01", "E002"]  # the team's report and its member
    assert seen["nobody"] == {"rows": [], "said": "0 shown", "none": True}
    assert seen["cleared"] == {"rows": seen["all"], "said": "", "none": False}
    keep = os.environ.get("KPINB_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
