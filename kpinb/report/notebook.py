"""A report as JupyterLab shows an executed notebook that nobody trusted.

JupyterLab sanitises the HTML output of an untrusted notebook: it drops ``<style>``
elements and inline ``<svg>``, so a report's charts turn into loose strings and its
layout goes. :func:`notebook_html` gives the same fragment in the form the sanitiser
keeps: every CSS rule moved into ``style`` attributes (css-inline) and every chart an
``<img>`` holding its SVG as a ``data:`` URI (with the chart's description as alt text).
A chart drawn twice (wide and narrow, shown by the column's width) keeps its wide
drawing only: a notebook's cell is a laptop's column, and style attributes cannot ask
how wide it is. The batch publishes the original fragment
(:data:`kpinb.scopes.PAGE_MIME`), unchanged.
"""

from __future__ import annotations

import base64
import html
import re

_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL | re.IGNORECASE)
_LABEL = re.compile(r'aria-label="([^"]*)"')
_NARROW = re.compile(r'\bclass="narrow\b')


def notebook_html(fragment: str) -> str:
    """``fragment`` with its styles inline and its SVG charts as ``data:`` images."""
    import css_inline

    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    # charts become images first, so each keeps its SVG byte for byte
    return inliner.inline_fragment(_SVG.sub(_as_image, fragment), "")


def _as_image(match: re.Match[str]) -> str:
    svg = match.group(0)
    if _NARROW.search(svg[: svg.find(">") + 1]):
        return ""
    label = _LABEL.search(svg[: svg.find(">") + 1])
    alt = html.unescape(label.group(1)) if label else "chart"
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<img alt="{html.escape(alt, quote=True)}" style="max-width:100%;height:auto" '
        f'src="data:image/svg+xml;base64,{data}">'
    )
