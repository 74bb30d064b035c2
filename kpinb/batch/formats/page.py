"""The page (the ``html`` format): kpinb's nbconvert export of an executed notebook and
the safety scan.

The page shows the notebook's outputs only, through kpinb's own nbconvert template
(no code, no prompts, no script, nothing from another host); the batch scans it for
anything a browser would fetch before it is published. The twin is :mod:`.twin`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from kpinb.batch.formats.base import OutputFormat
from kpinb.batch.formats.twin import twin_of
from kpinb.batch.records import BuiltReport, ReportFiles
from kpinb.scopes import PAGE_MIME, REPORT_MIME
from kpinb.templating import TEMPLATES, one_style_block, stylesheet
from kpinb.text import display_text

# what comes right before a "//" that a browser would fetch: an attribute or url(
_BEFORE_HOST = re.compile(
    r"(?:\b(src|srcset|poster|background|data|action|href)\s*=\s*[\"']?|url\(\s*[\"']?)"
    r"\s*(?:https?:)?$",
    re.IGNORECASE,
)
_TAG = re.compile(r"<\s*([a-zA-Z][a-zA-Z0-9:-]*)")
# attributes a browser reads as a URL (or CSS, for style); values are entity-decoded first
_URL_ATTR = re.compile(
    r"""(src|srcset|href|xlink:href|data|poster|background|action|formaction|style)"""
    r"""\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""",
    re.IGNORECASE,
)
_URL_WORDS = ("src", "href", "data", "poster", "background", "action", "style")
_HANDLER = re.compile(r"on[a-z]+\s*=", re.IGNORECASE)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_QUOTED = re.compile(r""""[^"]*"|'[^']*'""")
_BEFORE_ATTR = frozenset(" \t\n\r\f\"'/")  # what separates an attribute from the one before
_ACTIVE_TAG = re.compile(
    r"<\s*(?:script|iframe|frame|object|embed|base|meta[^>]*http-equiv)\b", re.IGNORECASE
)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_CSS_FETCH = re.compile(r"url\((?!\s*[\"']?\s*(?:data:|#))|@import|expression\(", re.I)
_URL_NOISE = re.compile(r"[\x00-\x20]")  # browsers drop tabs and newlines inside URLs


def make_exporter() -> Any:
    """nbconvert's HTML exporter with kpinb's template: outputs only, no code, no prompts.

    Two costs are cut, both spent on markup kpinb's template never emits: the
    default preprocessors (tags, attachments, LaTeX, magics) and HTMLExporter's
    final BeautifulSoup pass (alt text and tab stops for JupyterLab's cells), which
    costs more than rendering the page. The template gives every image its alt text.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter

    class KpinbExporter(HTMLExporter):
        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

        def _preprocess(self, nb: Any, resources: Any) -> Any:
            return nb, resources  # no preprocessors: skip the defensive deep copy

    return KpinbExporter(
        template_name="kpinb",
        extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
        extra_template_paths=[str(TEMPLATES)],  # the page shell, _shell.html.j2
        default_preprocessors=[],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=True,
        exclude_raw=True,
        exclude_unknown=True,
    )


def export_page(
    exporter: Any, nb: Any, *, title: str, footer: str, index: str = "../index.html"
) -> str:
    """The page of an executed report notebook (title and footer are escaped); ``index``
    is the link back to the period's index ("" for a page that stands alone)."""
    body, _ = exporter.from_notebook_node(
        _without_twin(nb),
        resources={
            "kpinb_title": display_text(title),
            "kpinb_footer": footer,
            "kpinb_index": index,
            "kpinb_css": stylesheet("report"),
        },
    )
    return one_style_block(str(body))  # the report's own CSS joins the page's, in <head>


def page_footer(period: str, view: str) -> str:
    """The line at the foot of every published page: kpinb's version, period and view."""
    from kpinb.version import __version__

    return f"kpinb {__version__} · {period} · {view} view"


def render_report(nb: Any, exporter: Any = None) -> tuple[str, dict[str, Any]]:
    """The page and JSON twin of one executed report notebook, as the batch publishes them.

    For a notebook run by hand (``kpinb render``). Raises :class:`ValueError` saying
    why when the notebook displayed no report or the page would fetch from another host.
    """
    twin = twin_of(nb)
    if twin is None:
        msg = (
            f"the notebook displayed no report (no output of type {REPORT_MIME}); "
            "run a report notebook with papermill first, then render its output"
        )
        raise ValueError(msg)
    footer = page_footer(str(twin.get("period", "")), str(twin.get("view", "")))
    title = str(twin.get("title", ""))
    # a page rendered by hand stands alone: no link to an index that is not there
    html = export_page(exporter or make_exporter(), nb, title=title, footer=footer, index="")
    fetched = external_fetches(html)
    if fetched:
        msg = f"the page would fetch from another host: {', '.join(fetched[:3])}"
        raise ValueError(msg)
    return html, twin


def _without_twin(nb: Any) -> Any:
    """A shallow view of ``nb`` without the JSON twin outputs, which the page never shows.

    nbconvert deep-copies the notebook it converts; the twin is most of its nodes.
    """
    view = copy.copy(nb)
    view.cells = []
    for cell in nb.cells:
        cell_view = copy.copy(cell)
        if "outputs" in cell:
            cell_view.outputs = [_output_view(o) for o in cell.outputs]
        view.cells.append(cell_view)
    return view


def _output_view(output: Any) -> Any:
    """An output as the page shows it: the report's own page fragment (not the
    notebook-safe HTML JupyterLab gets), without the twin."""
    data = output.get("data", {})
    if REPORT_MIME not in data and PAGE_MIME not in data:
        return output
    view = copy.copy(output)
    view.data = {k: v for k, v in data.items() if k not in (REPORT_MIME, PAGE_MIME)}
    if PAGE_MIME in data:
        view.data["text/html"] = data[PAGE_MIME]
    return view


def external_fetches(page: str) -> list[str]:
    """Snippets of ``page`` that would make a browser run a script or fetch from a host.

    Flags script-running or fetching tags (script, iframe, object, embed, base, meta
    refresh), event-handler attributes, ``@import`` and ``url(...)`` in CSS (``<style>``
    blocks), and URL attributes (entity-decoded, as a browser reads them; every
    ``srcset`` candidate; ``style`` CSS) that name a scheme other than ``data:`` or start
    with ``//``. Links (``<a href>``) are not fetched, so http(s) links are allowed, but
    not ``javascript:`` ones. Text is never flagged: a goal that reads "@import" or
    "url(//x)" is escaped text, which a browser shows and does not fetch. Only the
    places found by ``str.find`` are examined: a few milliseconds for a large page.
    """
    lower = page.lower()
    if len(lower) != len(page):  # "İ".lower() is two characters: keep positions aligned
        lower = page.translate(_ASCII_LOWER)
    styles = _style_blocks(lower)
    found = [at for at in _positions(lower, "@import") if _inside(styles, at)]
    found += [m.start() for m in _ACTIVE_TAG.finditer(page)]
    found += [at for at in _attributes(lower, ("on",)) if _HANDLER.match(page, at)]
    for at in _attributes(lower, _URL_WORDS):
        match = _URL_ATTR.match(page, at)
        if match is not None and _fetches(page, at, match.group(1), match.group(2)):
            found.append(at)
    for at in _positions(page, "//"):
        before = _BEFORE_HOST.search(page, max(0, at - 80), at)
        if before is None:
            continue
        if before.group(1) and not _in_tag(page, before.start()):
            continue  # an attribute-like word in text
        if not before.group(1) and not _inside(styles, before.start()):
            continue  # "url(" in text: only CSS fetches
        if before.group(1) and before.group(1).lower() == "href":
            tag = _TAG.match(page, page.rfind("<", 0, at))
            if tag is not None and tag.group(1).lower() == "a":
                continue
        found.append(before.start())
    return [page[max(0, at - 20) : at + 60] for at in sorted(set(found))]


def _style_blocks(lower: str) -> list[tuple[int, int]]:
    """The (start, end) of the CSS inside each ``<style>`` element."""
    spans = []
    for match in re.finditer(r"<\s*style\b[^>]*>", lower):
        end = lower.find("</style", match.end())
        spans.append((match.end(), len(lower) if end < 0 else end))
    return spans


def _inside(spans: list[tuple[int, int]], at: int) -> bool:
    return any(start <= at < end for start, end in spans)


def _attributes(lower: str, words: tuple[str, ...]) -> list[int]:
    """Where an attribute starting with one of ``words`` may begin inside a tag.

    ``str.find`` and a look around each hit: five times faster than a regex scan.
    """
    found = []
    for word in words:
        for at in _positions(lower, word):
            start = at - 6 if lower.startswith("xlink:", at - 6) else at
            start = start - 4 if word == "action" and lower.startswith("form", at - 4) else start
            if start > 0 and lower[start - 1] in _BEFORE_ATTR and _in_tag(lower, start):
                found.append(start)
    return found


def _in_tag(page: str, at: int) -> bool:
    """True when ``at`` is inside a tag but not inside a quoted attribute value.

    Escaped text holds no ``<``, so it is never in a tag; an ``aria-label`` that
    reads ``&lt;img onerror=...&gt;`` is a value, not an attribute.
    """
    start = page.rfind("<", 0, at)
    if start <= page.rfind(">", 0, at):
        return False
    unquoted = _QUOTED.sub("", page[start:at])
    return '"' not in unquoted and "'" not in unquoted


def _fetches(page: str, at: int, name: str, raw: str) -> bool:
    """Whether attribute ``name`` with value ``raw`` (at ``at``) fetches or runs anything."""
    import html

    value = _URL_NOISE.sub("", html.unescape(raw.strip("\"'")))
    name = name.lower()
    if name == "style":
        return bool(_CSS_FETCH.search(value))
    tag = _TAG.match(page, page.rfind("<", 0, at))
    if name == "href" and tag is not None and tag.group(1).lower() == "a":
        return bool(_SCHEME.match(value)) and not value.lower().startswith(("http:", "https:"))
    urls = [c.split()[0] for c in value.split(",") if c.split()] if name == "srcset" else [value]
    return any(_remote(url) for url in urls)


def _remote(url: str) -> bool:
    """A URL that leaves the page: any scheme but ``data:``, or ``//host`` (``\\`` too)."""
    if url.lower().startswith("data:"):
        return False
    return bool(_SCHEME.match(url)) or url[:2].replace("\\", "/") == "//"


def _positions(text: str, word: str) -> list[int]:
    found, at = [], text.find(word)
    while at >= 0:
        found.append(at)
        at = text.find(word, at + 1)
    return found


def _render(session: Any, built: BuiltReport, files: ReportFiles) -> str:
    return built.html  # exported where the notebook ran (:func:`export_page`)


HTML = OutputFormat("html", ".html", _render, always=True)
