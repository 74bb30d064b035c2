"""What an output format is: a name, a file suffix and how to render a built report.

A format renders a :class:`~kpinb.batch.records.BuiltReport` (its page and twin) into
the bytes or text of one file next to the report's page. A format that needs something
for the whole run (a browser) opens it in :attr:`OutputFormat.session`, and says in
:attr:`OutputFormat.check` when it cannot run on this machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpinb.batch.records import BuiltReport, ReportFiles

Render = Callable[[Any, BuiltReport, ReportFiles], str | bytes]


def no_session(scratch: Path) -> AbstractContextManager[None]:
    """The session of a format that needs nothing for the run."""
    return contextlib.nullcontext()


def always_ready() -> None:
    """The check of a format that runs anywhere."""


@dataclass(frozen=True)
class OutputFormat:
    """One output format of a report.

    ``render(session, built, files)`` gives the file's content, with ``session`` what
    :attr:`session` opened for the run (``None`` for most formats). ``session(scratch)``
    is a context manager held for the whole run (``scratch``: a folder it may write to).
    ``check()`` raises :class:`~kpinb.errors.UsageError` saying what to install when
    the format cannot be made here. An ``always`` format is published with every report,
    whatever ``--formats`` says.
    """

    name: str
    suffix: str
    render: Render
    session: Callable[[Path], AbstractContextManager[Any]] = no_session
    check: Callable[[], None] = always_ready
    always: bool = False
