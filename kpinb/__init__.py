"""kpinb: coaching analytics workbook. KPIs start a conversation; they are not verdicts.

The errors load at once; the rest of the public surface loads on first use, so
``import kpinb`` and ``kpinb --help`` stay light (no pandas, pandera, Jinja2 or Altair
until a name that needs them is used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from kpinb.errors import KpinbError, Problem, UsageError, WorkspaceError
from kpinb.version import __version__

if TYPE_CHECKING:
    from kpinb.calibration import CalibrationPack, build_pack
    from kpinb.explorer import explore
    from kpinb.kpis import KpiSpec, KpiVersion
    from kpinb.periods import Period, parse_period
    from kpinb.report import Report, build_report, findings, page_html, show
    from kpinb.workspace import Validation, Workspace, load_workspace, validate_workspace


_LAZY = {
    "CalibrationPack": "kpinb.calibration",
    "KpiSpec": "kpinb.kpis",
    "KpiVersion": "kpinb.kpis",
    "Period": "kpinb.periods",
    "Report": "kpinb.report",
    "Validation": "kpinb.workspace",
    "Workspace": "kpinb.workspace",
    "build_pack": "kpinb.calibration",
    "build_report": "kpinb.report",
    "explore": "kpinb.explorer",
    "findings": "kpinb.report",
    "load_workspace": "kpinb.workspace",
    "page_html": "kpinb.report",
    "parse_period": "kpinb.periods",
    "show": "kpinb.report",
    "validate_workspace": "kpinb.workspace",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kpinb' has no attribute {name!r}")


__all__ = [
    "CalibrationPack",
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
    "build_pack",
    "build_report",
    "explore",
    "findings",
    "load_workspace",
    "page_html",
    "parse_period",
    "show",
    "validate_workspace",
]
