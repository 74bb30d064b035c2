"""From executed notebook to page: kpinb's nbconvert export, the JSON twin, the safety scan.

The page shows the notebook's outputs only, through kpinb's own nbconvert template
(no code, no prompts, no script, nothing from another host). The JSON twin is the
output the notebook displayed under :data:`REPORT_MIME`; the batch checks it is the
report it asked for before anything is published, and scans the page for anything a
browser would fetch.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.outputs import display_text

if TYPE_CHECKING:
    from kpinb.outputs import ReportFiles

TEMPLATE_DIR = Path(__file__).parent / "templates" / "nbconvert"
REPORT_MIME = "application/vnd.kpinb.report+json"
# what comes right before a "//" that a browser would fetch: an attribute or url(
_BEFORE_HOST = re.compile(
    r"(?:\b(src|srcset|poster|background|data|action|href)\s*=\s*[\"']?|url\(\s*[\"']?)"
    r"\s*(?:https?:)?$",
    re.IGNORECASE,
)
_TAG = re.compile(r"<\s*([a-zA-Z][a-zA-Z0-9:-]*)")


def make_exporter() -> Any:
    """nbconvert's HTML exporter with kpinb's template: outputs only, no code, no prompts.

    Two costs are cut, both spent on markup kpinb's template never emits: the
    default preprocessors (tags, attachments, LaTeX, magics) and HTMLExporter's
    final BeautifulSoup pass (alt text and tab stops for JupyterLab's cells), which
    costs more than rendering the page. The template gives every image its alt text.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter

    class KpinbExporter(HTMLExporter):  # type: ignore[misc]
        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

        def _preprocess(self, nb: Any, resources: Any) -> Any:
            return nb, resources  # no preprocessors: skip the defensive deep copy

    return KpinbExporter(
        template_name="kpinb",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        default_preprocessors=[],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=True,
        exclude_raw=True,
        exclude_unknown=True,
    )


def notebook_html(exporter: Any, nb: Any, *, title: str, footer: str) -> str:
    """The page of an executed report notebook (title and footer are escaped)."""
    body, _ = exporter.from_notebook_node(
        _without_twin(nb),
        resources={"kpinb_title": display_text(title), "kpinb_footer": footer},
    )
    return str(body)


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
    if REPORT_MIME not in output.get("data", {}):
        return output
    view = copy.copy(output)
    view.data = {k: v for k, v in output.data.items() if k != REPORT_MIME}
    return view


def twin_of(nb: Any) -> dict[str, Any] | None:
    """The JSON twin a report notebook displayed (the last output of the kpinb MIME type)."""
    twin = None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if REPORT_MIME in data:
                twin = data[REPORT_MIME]
    return dict(twin) if twin is not None else None


def twin_mismatch(twin: Mapping[str, Any] | None, files: ReportFiles, period: str) -> str | None:
    """Why the twin is not the report asked for, or ``None`` when scope, id, period and
    view all match (a reused kernel must never publish one person's report as another's)."""
    if twin is None:
        return f"the notebook displayed no report (no output of type {REPORT_MIME})"
    wanted = {"scope": files.scope, "id": files.scope_id, "period": period, "view": files.view}
    wrong = [
        f"{k}={twin.get(k)!r} (expected {v!r})" for k, v in wanted.items() if str(twin.get(k)) != v
    ]
    return f"the report built is not the one asked for: {', '.join(wrong)}" if wrong else None


def external_fetches(page: str) -> list[str]:
    """Snippets of ``page`` that would make a browser run a script or fetch from a host.

    Links (``<a href>``) are not fetched, so they are allowed; an ``href`` on any other
    tag (a stylesheet, an SVG image) is not. Only the places before each ``//`` are
    examined, which keeps the scan of a large page to a millisecond.
    """
    lower = page.lower()
    found = [at for word in ("<script", "@import") for at in _positions(lower, word)]
    for at in _positions(page, "//"):
        before = _BEFORE_HOST.search(page, max(0, at - 80), at)
        if before is None:
            continue
        if before.group(1) and before.group(1).lower() == "href":
            tag = _TAG.match(page, page.rfind("<", 0, at))
            if tag is not None and tag.group(1).lower() == "a":
                continue
        found.append(before.start())
    return [page[max(0, at - 20) : at + 60] for at in sorted(found)]


def _positions(text: str, word: str) -> list[int]:
    found, at = [], text.find(word)
    while at >= 0:
        found.append(at)
        at = text.find(word, at + 1)
    return found
