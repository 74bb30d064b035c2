"""What a report holds at a glance, read from its JSON twin, for the period's index.

Worked out once, when the report is published (:func:`kpinb.batch.publish.reports.publish`
keeps the figures in the report's state record), so the index never rereads the twins:

* ``shifts_up`` / ``shifts_down``: KPIs whose story (docs/report-json.md) the story
  vocabulary (:mod:`kpinb.report.stories`, ``glance``) counts as a shift up (a real
  improvement) or down (a real change worth a conversation);
* ``goals`` / ``goals_met``: KPIs with a scored goal, and those at the success line or more
  (the goal's ``success``);
* ``notes``: the sentences of the report's "Data notes" section, the all-clear left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kpinb.report.stories import story_of

GLANCE_KEYS = ("shifts_up", "shifts_down", "goals", "goals_met", "notes")


def glance(twin: Mapping[str, Any]) -> dict[str, int]:
    """The at-a-glance counts of one report's twin (all 0 for a twin without KPIs)."""
    kpis = [k for k in twin.get("kpis") or () if isinstance(k, Mapping)]
    goals = [
        k["goal"]
        for k in kpis
        if isinstance(k.get("goal"), Mapping) and k["goal"].get("score") is not None
    ]
    notes = [
        s
        for sec in twin.get("sections") or ()
        if isinstance(sec, Mapping) and sec.get("id") == "notes"
        for s in sec.get("sentences") or ()
        if isinstance(s, Mapping) and s.get("id") != "note_clear"
    ]
    return {
        "shifts_up": sum(_glance(k) > 0 for k in kpis),
        "shifts_down": sum(_glance(k) < 0 for k in kpis),
        "goals": len(goals),
        "goals_met": sum(bool(g.get("success")) for g in goals),
        "notes": len(notes),
    }


def _glance(kpi: Mapping[str, Any]) -> int:
    """+1 or -1 for a KPI whose story the index counts as a shift up or down, else 0."""
    told = story_of(kpi.get("story"))
    return told.glance if told else 0
