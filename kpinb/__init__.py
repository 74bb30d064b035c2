"""kpinb: coaching analytics workbook. KPIs start a conversation; they are not verdicts."""

from __future__ import annotations

__version__ = "0.1.0"
