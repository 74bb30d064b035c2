"""The one Jinja2 environment of kpinb (autoescape on), over the packaged ``templates/``.

Reports (``report.html.j2``, ``page.html.j2``, ``phrases.j2``) and the batch's index
(``nbconvert/kpinb/run_index.html.j2``) are rendered through it, and their CSS is read
through :func:`css`. Jinja2 is imported on first use, so importing kpinb stays light.
"""

from __future__ import annotations

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
