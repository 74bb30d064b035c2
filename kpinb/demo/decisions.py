"""The demo's calibration decision log: one decision recorded wrongly and corrected.

The person the demo rates low on an improving KPI (archetype ``rated_low_improving``)
is agreed a 4 in the log by mistake, then corrected to the 3 the meeting agreed by a
decision that names the first (``supersedes``), so the demo's pack shows a corrected
decision with its history. Pure data: ``kpinb demo`` records it in the journal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

DECIDED_BY = "Ana Costa (HR business partner)"


def planted_decisions(archetypes: pd.DataFrame, end: dt.date) -> list[dict[str, Any]]:
    """The demo's decisions, in the order written, as keyword arguments of
    :func:`kpinb.journal.record_decision` (``supersedes``: True names the one before);
    ``end`` is the review period's last day (the meeting is the Monday after it)."""
    low = archetypes.loc[archetypes["archetype"] == "rated_low_improving", "employee_id"]
    if low.empty:
        return []
    meeting = end + dt.timedelta(days=1 + (7 - (end + dt.timedelta(days=1)).weekday()) % 7)
    common = {"employee_id": str(low.iloc[0]), "proposed": 2.0, "decided_by": DECIDED_BY}
    return [
        {
            **common,
            "agreed": 4.0,
            "reason": "Cycle time improved while half the work waited on another team's "
            "review queue",
            "decided_on": meeting,
        },
        {
            **common,
            "agreed": 3.0,
            "reason": "Recorded as 4 by mistake: the meeting agreed 3, the improvement "
            "being clear but still short of the goal",
            "decided_on": meeting,
            "supersedes": True,
        },
    ]
