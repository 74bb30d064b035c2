"""Report content (rank 3): sentences and the JSON twin, charts, sections and views,
rendering and the tone rules. :func:`build_report` is the facade notebooks call."""

from kpinb.report.facade import (
    Report,
    build_report,
    narrowed_workspace,
    page_html,
    period_analysis,
    show,
    told,
)
from kpinb.report.findings_table import findings

__all__ = [
    "Report",
    "build_report",
    "findings",
    "narrowed_workspace",
    "page_html",
    "period_analysis",
    "show",
    "told",
]
