"""The ``pdf`` format: each page printed by headless Chromium (DevTools protocol, network cut).

No browser is downloaded: kpinb uses the Chromium installed on the machine (Debian's
``chromium``; ``KPINB_CHROMIUM`` names another executable). The protocol runs over
a pair of pipes (``--remote-debugging-pipe``: commands in on fd 3, replies out on fd 4,
each message JSON ended by a NUL byte), so no port is opened and no websocket library
is needed. Every host name resolves to nothing and every request goes to a proxy that
refuses, so a page can fetch nothing from anywhere; reports are self-contained anyway.

One :class:`Browser` serves a whole batch run: starting Chromium costs about a second,
printing one report a fraction of that (docs/batch.md "PDF").
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpinb.batch.formats.base import OutputFormat
from kpinb.batch.records import BuiltReport, ReportFiles

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
# the network cut: no name resolves, and a proxy that refuses takes every request
NETWORK_CUT = ("--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9")
FLAGS = (
    "--headless",
    "--no-sandbox",  # root in containers and CI; pages are kpinb's own, self-contained
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--mute-audio",
    "--force-device-scale-factor=1",
    "--remote-debugging-pipe",
)
# paper sizes in inches (DevTools' Page.printToPDF unit)
PAPER = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}
MARGIN_IN = 0.5
BAND_IN = 0.2  # the running header and footer's band, inside the margin
# Chromium fills the spans of class "title", "pageNumber" and "totalPages" itself (the
# title is the page's <title>: the subject and the period, escaped by the browser); a
# printed page that strays from its pile can be put back and is marked confidential
_BAND = (
    "font-size:8px;color:#555;width:100%;margin:0 12mm;display:flex;justify-content:space-between"
)
PRINT_HEADER = f'<div style="{_BAND}"><span class="title"></span><span>Confidential</span></div>'
PRINT_FOOTER = (
    f'<div style="{_BAND}"><span>kpinb</span>'
    '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span>'
    "</div>"
)


class BrowserError(RuntimeError):
    """Chromium is missing, did not start, or a DevTools command failed."""


def find_chromium() -> str | None:
    """The Chromium executable to use: ``KPINB_CHROMIUM``, else the first one on PATH."""
    named = os.environ.get("KPINB_CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


def missing_message() -> str:
    return (
        "PDF output needs Chromium, which is not installed: install Debian's package "
        "(apt-get install -y chromium) or set KPINB_CHROMIUM to a Chromium executable"
    )


def _high(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more (``fd`` stays open); ``os.dup`` alone, so no
    POSIX-only module is needed."""
    held = []
    moved = os.dup(fd)
    while moved < 10:  # each dup takes the lowest free number: hold them until past 9
        held.append(moved)
        moved = os.dup(fd)
    for low in held:
        os.close(low)
    return moved


# a small Python puts the two pipe ends on fds 3 and 4, then becomes Chromium (a shell's
# redirections cannot name fds above 9); POSIX only: Windows passes handles instead
_TRAMPOLINE = (
    "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


def _spawn(argv: list[str], reads: int, writes: int, stderr: Any) -> subprocess.Popen[bytes]:
    """Start Chromium (``argv``) with the DevTools pipe: it reads commands from ``reads``
    and writes replies to ``writes`` (file descriptors of this process, which the caller
    closes once Chromium has started).

    On POSIX the two ends become Chromium's fds 3 and 4 (``--remote-debugging-pipe``); on
    Windows their handles are inherited and named by ``--remote-debugging-io-pipes``."""
    common: dict[str, Any] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": stderr,
    }
    if sys.platform == "win32":
        import msvcrt

        handles = [msvcrt.get_osfhandle(reads), msvcrt.get_osfhandle(writes)]
        for handle in handles:
            os.set_handle_inheritable(handle, True)
        info = subprocess.STARTUPINFO()
        info.lpAttributeList = {"handle_list": handles}
        pipes = f"--remote-debugging-io-pipes={handles[0]},{handles[1]}"
        return subprocess.Popen(
            [*argv, pipes],
            startupinfo=info,
            creationflags=subprocess.CREATE_NEW_PROCESS_GROUP,
            **common,
        )
    # Chromium's ends above 9, so that moving them to 3 and 4 cannot clobber either
    reads, writes = _high(reads), _high(writes)
    try:
        return subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(reads), str(writes), *argv],
            pass_fds=(reads, writes),
            start_new_session=True,
            **common,
        )
    finally:
        os.close(reads)
        os.close(writes)


@dataclass
class _Waiter:
    event: threading.Event = field(default_factory=threading.Event)
    reply: dict[str, Any] | None = None


class Browser:
    """One headless Chromium, driven over the DevTools pipe; thread-safe calls.

    Use as a context manager, or call :meth:`close`. ``events`` holds every protocol
    event received (method, params, sessionId), for tests that watch the console and
    the network.
    """

    def __init__(self, executable: str | None = None, *, extra: tuple[str, ...] = ()) -> None:
        exe = executable or find_chromium()
        if exe is None:
            raise BrowserError(missing_message())
        self.profile = tempfile.mkdtemp(prefix="kpinb-chromium-")
        to_browser_r, self._out = os.pipe()  # we write commands, Chromium reads them
        self._in, from_browser_w = os.pipe()  # Chromium writes replies, we read them
        argv = [exe, *FLAGS, *NETWORK_CUT, f"--user-data-dir={self.profile}", *extra]
        log = os.environ.get("KPINB_CHROMIUM_LOG")  # Chromium's own messages, when debugging
        try:
            self.process = _spawn(
                argv,
                to_browser_r,
                from_browser_w,
                open(log, "ab") if log else subprocess.DEVNULL,  # noqa: SIM115
            )
        finally:
            os.close(to_browser_r)  # Chromium holds its own copies now
            os.close(from_browser_w)
        self._ids = itertools.count(1)
        self._waiters: dict[int, _Waiter] = {}
        self._lock = threading.Lock()
        self._event_seen = threading.Condition()
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True, name="kpinb-devtools")
        self._reader.start()
        try:
            self.version = self.call("Browser.getVersion", timeout=30)["product"]
        except BaseException:
            self.close()
            raise

    # --- the protocol --------------------------------------------------------------

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._in, "rb", buffering=0) as stream:
            while chunk := stream.read(1 << 16):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    self._dispatch(json.loads(raw))
        with self._lock:  # Chromium is gone: wake every caller
            for waiter in self._waiters.values():
                waiter.event.set()
        with self._event_seen:
            self._event_seen.notify_all()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            with self._lock:
                waiter = self._waiters.get(message["id"])
            if waiter is not None:
                waiter.reply = message
                waiter.event.set()
            return
        with self._event_seen:
            self.events.append(message)
            self._event_seen.notify_all()

    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 60,
    ) -> dict[str, Any]:
        """Send one DevTools command and return its result (raises on an error reply)."""
        message: dict[str, Any] = {"id": next(self._ids), "method": method}
        message["params"] = dict(params or {})
        if session:
            message["sessionId"] = session
        waiter = _Waiter()
        with self._lock:
            self._waiters[message["id"]] = waiter
            try:
                os.write(self._out, json.dumps(message).encode() + b"\0")
            except OSError as exc:
                del self._waiters[message["id"]]
                raise BrowserError(f"Chromium is not running ({exc})") from None
        try:
            if not waiter.event.wait(timeout):
                raise BrowserError(f"Chromium did not answer {method} within {timeout:.0f} s")
        finally:
            with self._lock:
                self._waiters.pop(message["id"], None)
        reply = waiter.reply
        if reply is None:
            raise BrowserError(f"Chromium stopped during {method}")
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result", {})

    def wait_event(
        self, method: str, *, session: str | None = None, after: int = 0, timeout: float = 60
    ) -> dict[str, Any]:
        """The first event ``method`` (of ``session``) among ``events[after:]``, waiting."""
        deadline = time.monotonic() + timeout
        with self._event_seen:
            while True:
                for event in self.events[after:]:
                    if event.get("method") == method and (
                        session is None or event.get("sessionId") == session
                    ):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise BrowserError(f"no {method} from Chromium within {timeout:.0f} s")
                self._event_seen.wait(min(left, 1.0))

    # --- pages ---------------------------------------------------------------------

    def new_page(self, width: int = 1200, height: int = 900) -> Page:
        """A new tab of ``width`` x ``height`` CSS pixels, attached (its own session)."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, target, session)
        page.call("Page.enable")
        page.resize(width, height)
        return page

    def close(self) -> None:
        """Close Chromium and remove its profile folder."""
        if self.process.poll() is None:
            with suppress(BrowserError):
                self.call("Browser.close", timeout=5)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with suppress(OSError):
            os.close(self._out)
        self._reader.join(timeout=5)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Page:
    """One tab of a :class:`Browser`."""

    browser: Browser
    target: str
    session: str

    def call(self, method: str, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        return self.browser.call(method, params, session=self.session, **kw)

    def resize(self, width: int, height: int) -> None:
        """Lay the page out at ``width`` CSS pixels, as a window of that size would."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def open(self, url: str, *, timeout: float = 60) -> None:
        """Load ``url`` and wait for its load event."""
        mark = len(self.browser.events)
        reply = self.call("Page.navigate", {"url": url})
        if reply.get("errorText"):
            raise BrowserError(f"could not open {url}: {reply['errorText']}")
        self.browser.wait_event(
            "Page.loadEventFired", session=self.session, after=mark, timeout=timeout
        )

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (returned by value)."""
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise BrowserError(f"script failed: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """A PNG of the page (the whole page by default)."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            width, height = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        data = self.call("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def pdf(self, paper: str = "a4") -> bytes:
        """The page printed to PDF on ``paper`` (``a4`` or ``letter``), backgrounds on,
        every page headed by the page's title (its subject and period) and
        "Confidential" and footed by "Page n of N" (:data:`PRINT_HEADER`,
        :data:`PRINT_FOOTER`); the PDF's Title is the page's title."""
        width, height = PAPER[paper]
        reply = self.call(
            "Page.printToPDF",
            {
                "paperWidth": width,
                "paperHeight": height,
                "marginTop": MARGIN_IN + BAND_IN,
                "marginBottom": MARGIN_IN + BAND_IN,
                "marginLeft": MARGIN_IN,
                "marginRight": MARGIN_IN,
                "printBackground": True,
                "preferCSSPageSize": False,
                "displayHeaderFooter": True,
                "headerTemplate": PRINT_HEADER,
                "footerTemplate": PRINT_FOOTER,
            },
            timeout=120,
        )
        return base64.b64decode(reply["data"])

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target})


# a PDF holds every link as an absolute URL: a relative link of the page (a team page's
# link to a member's page) would become file:///<this machine's folders>/..., which names
# the machine's folders and opens nothing elsewhere. Such links lose their target (the
# text stays); links within the page (#...) and to the web stay links.
# a page's details (a card's further sentences, a chart's key) are closed on screen and
# printed open: nothing on the page is left out of its PDF
OPEN_DETAILS = "document.querySelectorAll('details').forEach(d => { d.open = true; }); true"
UNLINK_LOCAL = """
for (const a of document.querySelectorAll('a[href]')) {
  const here = a.protocol === location.protocol && a.pathname === location.pathname;
  if (!here && !['http:', 'https:', 'mailto:'].includes(a.protocol)) {
    a.removeAttribute('href');
  }
}
"""


class PdfPrinter:
    """Prints report pages to PDF on one shared browser tab (one print at a time)."""

    def __init__(self, browser: Browser, scratch: Path, paper: str = "a4") -> None:
        self.browser = browser
        self.scratch = scratch
        self.paper = paper
        self._page: Page | None = None
        self._lock = threading.Lock()
        self.seconds = 0.0
        self.count = 0

    def print_html(self, html: str, name: str = "page") -> bytes:
        """The PDF of one page's HTML (written to the scratch folder, opened, printed)."""
        with self._lock:
            started = time.perf_counter()
            if self._page is None:
                self._page = self.browser.new_page()
            fd, tmp = tempfile.mkstemp(dir=self.scratch, prefix=f".{name}.", suffix=".html")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(html)
                self._page.open(Path(tmp).resolve().as_uri())
                self._page.evaluate(UNLINK_LOCAL)
                self._page.evaluate(OPEN_DETAILS)
                data = self._page.pdf(self.paper)
            finally:
                Path(tmp).unlink(missing_ok=True)
            self.seconds += time.perf_counter() - started
            self.count += 1
            return data


@contextmanager
def pdf_printer(scratch: Path, paper: str = "a4") -> Iterator[PdfPrinter]:
    """One browser for a whole run, closed at the end."""
    with Browser() as browser:
        yield PdfPrinter(browser, scratch, paper)


def _check() -> None:
    """Stop a run that asks for PDFs before anything is written when Chromium is missing."""
    from kpinb.errors import UsageError

    if find_chromium() is None:
        raise UsageError(missing_message())


def _render(printer: PdfPrinter, built: BuiltReport, files: ReportFiles) -> bytes:
    return printer.print_html(built.html, files.stem)


PDF = OutputFormat("pdf", ".pdf", _render, session=pdf_printer, check=_check)
