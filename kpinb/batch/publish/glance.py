"""What a report holds at a glance, read from its JSON twin, for the period's index.

Worked out once, when the report is published (:func:`kpinb.batch.publish.reports.publish`
keeps the figures in the report's state record), so the index never rereads the twins:

* ``shifts_up`` / ``shifts_down``: KPIs whose story (docs/report-json.md) is a real
  improvement (``improving_shift``) or a real change worth a conversation
  (``worsening_shift``);
* ``goals`` / ``goals_met``: KPIs with a scored goal, and those scoring 0.7 or more
  (the goal's ``success``);
* ``notes``: the sentences of the report's "Data notes" section, the all-clear left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
        "shifts_up": sum(k.get("story") == "improving_shift" for k in kpis),
        "shifts_down": sum(k.get("story") == "worsening_shift" for k in kpis),
        "goals": len(goals),
        "goals_met": sum(bool(g.get("success")) for g in goals),
        "notes": len(notes),
    }
