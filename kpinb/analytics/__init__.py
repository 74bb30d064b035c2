"""The pure analytics core (rank 2): plain functions over pandas objects, no file access.

:func:`analyse` computes everything a period's reports state for every person, team
and department, a few KPIs at a time: XmR limits and rule hits, trends, streaks and
bests, goal scores, data quality, and the executive masking (docs/analytics.md).
"""

from kpinb.analytics.analysis import Analysis, analyse, split_by
from kpinb.analytics.goals import SUCCESS
from kpinb.analytics.goals import score as goal_score
from kpinb.analytics.signals import BASELINE_LOCKED
from kpinb.analytics.statuses import (
    HELD_STATUSES,
    KPI_STATUSES,
    MOVE_STATUSES,
    READABLE_STATUSES,
    Status,
)

__all__ = [
    "BASELINE_LOCKED",
    "HELD_STATUSES",
    "KPI_STATUSES",
    "MOVE_STATUSES",
    "READABLE_STATUSES",
    "SUCCESS",
    "Analysis",
    "Status",
    "analyse",
    "goal_score",
    "split_by",
]
