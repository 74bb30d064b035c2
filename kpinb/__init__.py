"""kpinb: coaching analytics workbook. KPIs start a conversation; they are not verdicts."""

from __future__ import annotations

from kpinb.errors import KpinbError, Problem, UsageError, WorkspaceError
from kpinb.kpis import KpiSpec, KpiVersion
from kpinb.periods import Period, parse_period
from kpinb.report import Report, build_report, page_html, show
from kpinb.workspace import Validation, Workspace, load_workspace, validate_workspace

__version__ = "0.1.0"

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
