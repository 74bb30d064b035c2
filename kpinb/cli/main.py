"""The ``kpinb`` command: parses arguments, calls the feature modules, sets the exit code.

Each feature module owns its sub-command through ``register(subparsers)``,
which adds a parser whose ``func`` takes the parsed arguments and returns the
exit code (0 ok, 1 invalid or failed, 2 bad usage). Output cut short by its reader
(``kpinb checkin list | head``) ends quietly with 141, as a shell reports SIGPIPE.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from kpinb.cli import logs
from kpinb.errors import KpinbError, UsageError
from kpinb.version import __version__

log = logging.getLogger(__name__)

# modules that own a sub-command, in the order --help lists them
COMMAND_MODULES = (
    "kpinb.cli.demo",
    "kpinb.cli.validate",
    "kpinb.cli.run",
    "kpinb.cli.findings",
    "kpinb.cli.render",
    "kpinb.cli.checkin",
    "kpinb.cli.calibration",
    "kpinb.cli.deliver",
    "kpinb.cli.bundle",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 on bad usage: keep that
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every feature module's sub-command."""
    parser = _Parser(
        prog="kpinb",
        description="Coaching analytics workbook: KPI reports that start a conversation.",
    )
    parser.add_argument("--version", action="version", version=f"kpinb {__version__}")
    logs.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a feature not built yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    with logs.configured(logs.level_of(args), args.log_format):
        try:
            code = int(args.func(args))
            sys.stdout.flush()  # a reader that went away is found here, not at exit
            return code
        except BrokenPipeError:
            return _reader_gone()
        except UsageError as exc:
            log.error("error: %s", exc, extra={"exit_code": 2})
            return 2
        except KpinbError as exc:
            log.error("%s", exc, extra={"exit_code": 1})
            return 1
        except KeyboardInterrupt:
            log.error("interrupted", extra={"exit_code": 130})
            return 130


def _reader_gone() -> int:
    """The reader of stdout closed it (``| head``): stop without a traceback, and point
    stdout at nothing so that Python's own flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no real file (a test's capture): nothing to do
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


if __name__ == "__main__":
    sys.exit(main())
