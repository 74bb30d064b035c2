"""The one table of output formats, and the look-ups ``kpinb run --formats`` makes in it.

A new format is one module defining its :class:`~kpinb.batch.formats.base.OutputFormat`
and one line in :data:`FORMATS` (or a call to :func:`register`). Its suffix then counts
everywhere the batch writes, checks, uploads or removes a report's files.
"""

from __future__ import annotations

from collections.abc import Iterable

from kpinb.batch.formats.base import OutputFormat
from kpinb.batch.formats.page import HTML
from kpinb.batch.formats.pdf import PDF
from kpinb.batch.formats.twin import JSON
from kpinb.errors import UsageError

FORMATS: dict[str, OutputFormat] = {}


def register(fmt: OutputFormat) -> OutputFormat:
    """Add ``fmt`` to the table; its name and suffix must be new."""
    taken = [f.name for f in FORMATS.values() if fmt.suffix == f.suffix or fmt.name == f.name]
    if taken:
        msg = f"output format {fmt.name!r} ({fmt.suffix}) clashes with {taken[0]!r}"
        raise ValueError(msg)
    FORMATS[fmt.name] = fmt
    return fmt


register(HTML)
register(JSON)
register(PDF)


def names() -> list[str]:
    """The registered format names, in table order."""
    return list(FORMATS)


def get(name: str) -> OutputFormat:
    """The format called ``name``; an unknown name is bad usage that lists the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        msg = f"unknown format {name!r}; use {', '.join(FORMATS)}"
        raise UsageError(msg) from None


def select(asked: Iterable[str]) -> tuple[OutputFormat, ...]:
    """The formats a run publishes: the ``always`` ones and those ``asked`` for, in table
    order, each checked to run here. Every unknown name is named at once."""
    chosen = {a.strip().lower() for a in asked if a.strip()}
    unknown = sorted(chosen - FORMATS.keys())
    if unknown:
        msg = f"unknown format(s) {', '.join(unknown)}; use {', '.join(FORMATS)}"
        raise UsageError(msg)
    formats = tuple(f for f in FORMATS.values() if f.always or f.name in chosen)
    for fmt in formats:
        fmt.check()
    return formats


def suffixes() -> list[str]:
    """Every registered suffix, the page's last (it is what the index links to)."""
    page = HTML.suffix
    return [*(f.suffix for f in FORMATS.values() if f.suffix != page), page]
