"""kpinb's exceptions.

The tree::

    KpinbError                  every error kpinb raises on purpose
    ├── UsageError              a bad command-line argument or parameter (exit 2)
    ├── WorkspaceError          a workspace that cannot be loaded (exit 1 from validate)
    │   └── (carries .problems: every Problem found, not only the first)
    ├── JournalError            the check-in journal refused an operation
    └── BatchError              a batch run that cannot start (collisions, parameter drift)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in the input, said so a person can fix it.

    ``row`` counts as a person would in the file: the header is line 1, so the
    first data row of a CSV is row 2. ``count`` and ``rows`` summarise repeats.
    """

    file: str
    problem: str
    fix: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    count: int = 1
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" (and {self.count - len(self.rows[:5])} more)" if self.count > 5 else ""
            where += f", row{'s' if self.count > 1 else ''} {shown}{more}"
        if self.column:
            where += f", column '{self.column}'"
        times = f" [{self.count} rows]" if self.rows and self.count > 1 else ""
        return f"{where}: {self.problem}{times}. Fix: {self.fix}"


class KpinbError(Exception):
    """Base of every error kpinb raises on purpose."""


class UsageError(KpinbError):
    """A bad command-line argument or notebook parameter."""


class WorkspaceError(KpinbError):
    """A workspace with problems; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None) -> None:
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        lines = [f"{len(self.problems)} problem(s) in the workspace:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class JournalError(KpinbError):
    """The check-in journal refused an operation (bad entry, bad import file)."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = list(problems or [])
        text = message
        if self.problems:
            text += "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)


class BatchError(KpinbError):
    """A batch run that cannot start: nothing has been written."""
