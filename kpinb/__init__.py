"""kpinb: coaching analytics workbook. KPIs start a conversation; they are not verdicts."""

from __future__ import annotations

from kpinb.errors import KpinbError, Problem, UsageError, WorkspaceError
from kpinb.kpis import KpiSpec, KpiVersion
from kpinb.periods import Period, parse_period
from kpinb.workspace import Validation, Workspace, load_workspace, validate_workspace

__version__ = "0.1.0"

# the report facade pulls in Altair and Jinja2: import it only when first used,
# so the command line and the loader start fast
_LAZY = {"Report": "kpinb.report", "build_report": "kpinb.report", "page_html": "kpinb.report",
         "show": "kpinb.report"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kpinb' has no attribute {name!r}")

__all__ = [
    "KpiSpec",
    "KpiVersion",
    "KpinbError",
    "Period",
    "Problem",
    "Report",
    "UsageError",
    "Validation",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "build_report",
    "load_workspace",
    "page_html",
    "parse_period",
    "show",
    "validate_workspace",
]
