"""The one Jinja2 environment of kpinb (autoescape on), over the packaged ``templates/``.

Reports (``report.html.j2``, ``page.html.j2``, ``phrases.j2``) and the batch's index
(``nbconvert/kpinb/run_index.html.j2``) are rendered through it, and their CSS is read
through :func:`css`. Jinja2 is imported on first use, so importing kpinb stays light.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup


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
