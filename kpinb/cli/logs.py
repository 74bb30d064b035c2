"""The command's diagnostics: every kpinb module logs to its ``logging.getLogger(__name__)``,
and the command sets up, once, how the ``kpinb`` logger's records reach stderr.

``--quiet`` shows warnings and errors only, ``--verbose`` adds debug records, and
``--log-format json`` writes one JSON object per line (``time``, ``level``, ``logger``,
``message`` and the record's structured extras, such as ``period``, ``report`` and
counts) for a scheduler or a log collector. Results (tables, summaries) stay on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

LOG_FORMATS = ("text", "json")
# what every LogRecord holds: the rest of its attributes are the caller's extras
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--quiet``, ``--verbose`` and ``--log-format`` to the top-level parser."""
    level = parser.add_mutually_exclusive_group()
    level.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="diagnostics on stderr: warnings and errors only (results still on stdout)",
    )
    level.add_argument(
        "-v", "--verbose", action="store_true", help="diagnostics on stderr: add debug detail"
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="diagnostics as text (default) or json: one JSON object per line (time, "
        "level, logger, message and fields such as period and report) for scheduled runs",
    )


def level_of(args: argparse.Namespace) -> int:
    """The logging level the flags ask for (INFO by default)."""
    if getattr(args, "quiet", False):
        return logging.WARNING
    if getattr(args, "verbose", False):
        return logging.DEBUG
    return logging.INFO


class _Stderr(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr`` is at the time of the record (a test's
    capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class TextFormatter(logging.Formatter):
    """``kpinb: message``, as the command always wrote its diagnostics."""

    def format(self, record: logging.LogRecord) -> str:
        out = f"kpinb: {record.getMessage()}"
        if record.exc_info:
            out += "\n" + self.formatException(record.exc_info)
        return out


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in data:
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


@contextlib.contextmanager
def configured(level: int = logging.INFO, log_format: str = "text") -> Iterator[None]:
    """While the command runs, send the ``kpinb`` logger's records at ``level`` and
    above to stderr in ``log_format``; afterwards the logger is as it was (a program
    or a test that calls :func:`kpinb.cli.main.main` keeps its own logging)."""
    logger = logging.getLogger("kpinb")
    before = (logger.level, logger.propagate)
    handler = _Stderr()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # the command owns its stderr: no second copy through root
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before[0])
        logger.propagate = before[1]
