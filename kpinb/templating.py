"""The one Jinja2 environment of kpinb (autoescape on), over the packaged ``templates/``,
and the one place each page's stylesheet is composed.

Every full page extends one shell (``shell.html.j2``, built from ``_shell.html.j2``): the
standalone report page (``page.html.j2``), the period's index (``run_index.html.j2``) and
the calibration pages (``calibration.html.j2``) through this environment, the batch's
report page (``nbconvert/kpinb/index.html.j2``) through nbconvert's, which finds the
shell in :data:`TEMPLATES`. A page's CSS is :func:`stylesheet`; the report fragment
(``report.html.j2``) carries its own ``report.css``. Jinja2 is imported on first use, so
importing kpinb stays light.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
BASE_CSS = "base.css"  # the house style every page shares
# each page's own stylesheets after the base, in cascade order; a report page's fragment
# brings report.css itself, so page_html and the batch's page carry the same CSS
STYLESHEETS: dict[str, tuple[str, ...]] = {
    "report": ("report-page.css",),
    "index": ("index.css", "index-audience.css"),
    "calibration": ("calibration.css",),
}


@cache
def environment() -> jinja2.Environment:
    """The templates' environment: autoescape on, undefined names are errors."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("kpinb", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def css(name: str) -> Markup:
    """A packaged stylesheet (``templates/<name>``), marked safe: our own file, not data."""
    from markupsafe import Markup

    return Markup(resources.files("kpinb").joinpath("templates", name).read_text("utf-8"))


def stylesheet(page: str) -> Markup:
    """The CSS of one kind of page (a key of :data:`STYLESHEETS`) for the shell's style
    block: the base stylesheet, then the page's own rules only. Marked safe: our own
    files, not data."""
    from markupsafe import Markup

    return Markup("").join(css(name) for name in (BASE_CSS, *STYLESHEETS[page]))


_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)


def one_style_block(page: str) -> str:
    """``page`` with all its ``<style>`` blocks merged into one, in ``<head>``.

    Email clients keep one style block in the head and drop (or ignore) any in the
    body, where a report fragment brings its own; a page sent as an attachment or
    pasted into a message then keeps its layout. Order is kept, so the cascade is the
    same; a page without a head is returned as it is.
    """
    head_end = page.lower().find("</head>")
    if head_end < 0:
        return page
    blocks: list[str] = []
    for found in _STYLE.finditer(page):
        body = found.group(1).strip()
        if body and body not in blocks:
            blocks.append(body)
    without = _STYLE.sub("", page)
    head_end = without.lower().find("</head>")
    style = "<style>\n" + "\n".join(blocks) + "\n</style>\n"
    return without[:head_end] + style + without[head_end:]
