"""The explorer in a real JupyterLab, in a real browser (slow: one test, well under a minute).

``jupyter lab`` starts headless on 127.0.0.1 with a random port and a token, on a copy of
``notebooks/explore.ipynb`` parameterised (papermill ``--prepare-only``) with a copy of the
test workspace. Debian's Chromium (driven over the DevTools pipe by
:mod:`kpinb.batch.formats.pdf`; no browser is downloaded) opens it, runs all cells from the
Run menu, checks that the widgets render (tabs, the table, the pickers, the report, the
interactive chart) with no error output, changes the person picker and checks that the
narrative changes, and saves a screenshot (``KPINB_SCREENSHOTS=DIR`` copies it there;
docs/img/explorer.png was made so).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kpinb.batch.formats.pdf import Browser, Page, find_chromium

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path, workspace_dir: Path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on the prepared notebook: (its URL with the token, its folder)."""
    import papermill

    root = tmp_path / "lab"
    root.mkdir()
    shutil.copytree(workspace_dir, root / "ws")
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "explore.ipynb"),
        str(root / "explore.ipynb"),
        parameters={"workspace": str(root / "ws"), "period": "2026-Q3"},
        prepare_only=True,
        progress_bar=False,
    )
    with _serve(root, tmp_path) as (base, token):
        yield f"{base}/lab/tree/explore.ipynb?token={token}", root


@contextmanager
def _serve(root: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``jupyter lab`` on ``root`` (127.0.0.1, a random port and token): (base URL, token)."""
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp_path / "home"
    # no "official Jupyter news?" toast over the picture
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),  # its own trust database: nothing trusted
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("jupyter")),
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            "--allow-root",  # CI and containers run as root
            f"--ServerApp.root_dir={root}",
            "--ServerApp.port_retries=0",
            "--LabApp.news_url=",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "lab.log").open("wb"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _until(
            lambda: _status(base, token) or server.poll() is not None,
            60,
            "JupyterLab did not start",
            tmp_path / "lab.log",
        )
        assert server.poll() is None, (tmp_path / "lab.log").read_text(errors="replace")[-3000:]
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def _status(base: str, token: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def _until(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    log: Path | None = None,
    page: Page | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.25)
    detail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    if page is not None:  # what the notebook shows instead
        detail += _text(page, ".jp-OutputArea-output, .jp-Notebook-ExecutionIndicator")[-3000:]
        if os.environ.get("KPINB_SCREENSHOTS"):
            page.screenshot(Path(os.environ["KPINB_SCREENSHOTS"]) / "explorer-failed.png")
    raise AssertionError(f"{what} within {timeout:.0f} s\n{detail}")


def _soon(check: Callable[[], Any], timeout: float = 5) -> Any:
    """``check()`` once it is true, or False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    return False


def _click(page: Page, selector: str, text: str | None = None) -> None:
    """A real mouse click (lumino menus and tabs listen to mouse events) on the first
    element matching ``selector`` (and holding ``text``)."""
    box = page.evaluate(
        f"""(() => {{
        const all = [...document.querySelectorAll({json.dumps(selector)})];
        const el = all.find(e => {json.dumps(text)} === null
            || e.textContent.trim() === {json.dumps(text)});
        if (!el) return null;
        el.scrollIntoView({{block: 'center'}});
        const r = el.getBoundingClientRect();
        return [r.x + r.width / 2, r.y + r.height / 2];
    }})()"""
    )
    assert box, f"nothing to click: {selector} {text or ''}"
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        page.call(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
        )


def _text(page: Page, selector: str) -> str:
    return page.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})].map(e => e.innerText).join('\\n')"
    )


def _run_all(page: Page) -> None:
    """Run > Run All Cells, until every code cell runs (JupyterLab may first ask which
    kernel to start, and a run asked for while the kernel starts can be dropped: ask
    again)."""
    item = ".lm-Menu-item[data-command='runmenu:run-all']"
    for _ in range(6):
        _click(page, ".lm-MenuBar-item", "Run")
        if not _soon(lambda: page.evaluate(f"!!document.querySelector({json.dumps(item)})")):
            page.evaluate(
                "document.body.dispatchEvent("
                "new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))"
            )
            continue  # the menu did not open (or closed again): try again
        _click(page, item)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if page.evaluate("!!document.querySelector('.jp-Dialog .jp-mod-accept')"):
                _click(page, ".jp-Dialog .jp-mod-accept")  # the notebook's kernel: Python 3
                _until(
                    lambda: "Idle" in _text(page, ".jp-StatusBar-Widget"),
                    30,
                    "the kernel did not start",
                )
                time.sleep(1)
                break
            ran = page.evaluate(
                "[...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
                ".filter(p => /\\[(\\*|\\d+)\\]/.test(p.textContent)).length"
            )
            cells = page.evaluate("document.querySelectorAll('.jp-CodeCell').length")
            if ran == cells >= 3:  # the parameters, papermill's, the explorer's
                return
            time.sleep(0.25)
    raise AssertionError(f"the cells did not run: {_text(page, '.jp-InputPrompt')!r}")


ERRORS = (
    ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
    ".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr'],"
    ".jp-mod-error"
)


def test_the_explorer_runs_in_jupyterlab_in_a_real_browser(lab, tmp_path: Path) -> None:
    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    url, _ = lab
    started = time.monotonic()
    # the network stays cut but for the local server
    local = (
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-bypass-list=127.0.0.1",
    )
    with Browser(extra=local) as browser:
        page = browser.new_page(1400, 1000)
        page.open(url)
        _until(lambda: page.evaluate("!!document.querySelector('.jp-Notebook .jp-Cell')"), 60,
               "the notebook did not open")  # fmt: skip
        _run_all(page)
        _until(
            lambda: page.evaluate("document.querySelectorAll('.kpinb-changes button').length > 20"),
            60,
            "the explorer's widgets did not render",
            page=page,
        )
        assert page.evaluate("document.querySelectorAll('.widget-tab, .jupyter-widget-tab').length")
        labels = _text(page, ".widget-dropdown label, .widget-label")
        for picker in ("Department", "Team", "Person", "KPI", "Period"):
            assert picker in labels
        assert "Shift" not in labels  # sanity: labels are the pickers', not the table's
        assert "What changed" in _text(page, ".lm-TabBar-tab")
        _click(page, ".lm-TabBar-tab", "Preview")  # the preview is drawn when first opened
        report = lambda: _text(page, ".kpinb-report h1")  # noqa: E731
        before = _until(report, 30, "the report did not render")
        assert _until(
            lambda: page.evaluate(
                "!!document.querySelector('.vega-embed canvas, .vega-embed svg')"
            ),
            30,
            "the interactive chart did not render",
        )
        # choose another person: the narrative changes in place
        options = page.evaluate(
            """(() => {
            const s = [...document.querySelectorAll('.widget-dropdown')]
                .find(d => d.innerText.startsWith('Person')).querySelector('select');
            return [...s.options].map(o => o.textContent);
        })()"""
        )
        other = next(o for o in options if "(E004)" in o)
        page.evaluate(
            f"""(() => {{
            const s = [...document.querySelectorAll('.widget-dropdown')]
                .find(d => d.innerText.startsWith('Person')).querySelector('select');
            s.selectedIndex = [...s.options].findIndex(o => o.textContent === {json.dumps(other)});
            s.dispatchEvent(new Event('change', {{bubbles: true}}));
        }})()"""
        )
        after = _until(
            lambda: (t := report()) != before and "Lukas Schmidt" in t and t, 30,
            "the narrative did not change with the person picker",
        )  # fmt: skip
        assert "Lukas Schmidt" in after
        _until(
            lambda: page.evaluate(
                "!!document.querySelector('.vega-embed canvas, .vega-embed svg')"
            ),
            30,
            "the chart did not come back",
        )
        # the picture: the file browser folded away, the explorer at the top
        page.evaluate(
            "document.querySelector('.jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current')"
            "?.dispatchEvent(new MouseEvent('mousedown', {bubbles: true, button: 0}))"
        )
        page.evaluate("document.querySelector('.kpinb-explorer').scrollIntoView()")
        time.sleep(1)  # let the chart finish drawing before the picture
        assert not page.evaluate(f"document.querySelectorAll({json.dumps(ERRORS)}).length"), _text(
            page, ERRORS
        )
        shot = page.screenshot(tmp_path / "explorer.png", full_page=False)
    assert shot.stat().st_size > 10_000
    if os.environ.get("KPINB_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["KPINB_SCREENSHOTS"]) / "explorer.png")
    assert time.monotonic() - started < 120


def test_an_executed_report_notebook_shows_its_charts_and_styles_without_trust(
    tmp_path: Path,
    workspace_dir: Path,
) -> None:
    """A report notebook run by papermill is not trusted by JupyterLab, which then drops
    <style> and inline <svg>: the report's notebook output keeps its charts as images and
    its styles inline, so it reads as the published page does (no loose chart text)."""
    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    import papermill

    root = tmp_path / "lab"
    root.mkdir()
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "employee_report.ipynb"),
        str(root / "report.ipynb"),
        parameters={"workspace": str(workspace_dir), "employee_id": "E002", "period": "2026-Q3"},
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )
    local = (
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-bypass-list=127.0.0.1",
    )
    with _serve(root, tmp_path) as (base, token), Browser(extra=local) as browser:
        page = browser.new_page(1400, 1000)
        page.open(f"{base}/lab/tree/report.ipynb?token={token}")
        _until(
            lambda: page.evaluate("!!document.querySelector('.jp-OutputArea-output h1')"),
            60,
            "the report output did not render",
            page=page,
        )
        # loaded as images: every chart, each decoded with a real size
        charts = page.evaluate(
            """[...document.querySelectorAll(
                ".jp-OutputArea-output img[src^='data:image/svg+xml']")]
              .map(i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width])"""
        )
        assert len(charts) >= 2, charts
        assert all(done and natural > 100 and shown > 100 for done, natural, shown in charts)
        # styles kept: the title is the report's size and the sections have their rule
        size = page.evaluate(
            "getComputedStyle(document.querySelector('.jp-OutputArea-output h1')).fontSize"
        )
        assert size == "25.6px", size  # 1.6rem, the report's own rule
        text = _text(page, ".jp-OutputArea-output")
        assert "Siobhán O'Brien: coaching report, 2026-Q3" in text
        assert "01 Jan 2026" not in text  # no chart axis labels as loose text
        page.screenshot(tmp_path / "report-in-jupyterlab.png", full_page=False)
