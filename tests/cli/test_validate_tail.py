"""``kpinb validate``'s light end-of-data check: an export cut short is named."""

from __future__ import annotations

import dataclasses

import pandas as pd

from kpinb.cli.validate import tail_notes
from kpinb.workspace import Workspace


def test_a_fall_shared_by_everyone_in_the_last_weeks_is_named(demo_ws: Workspace) -> None:
    assert tail_notes(demo_ws) == []
    obs = demo_ws.observations.copy()
    cut = (obs["period"] >= obs["period"].max() - pd.Timedelta(days=7)) & (
        obs["kpi_id"] == "tickets_resolved"
    )
    obs.loc[cut, "value"] *= 0.3  # the last two weeks at 30 %: an export not complete yet
    notes = tail_notes(dataclasses.replace(demo_ws, observations=obs))
    assert (
        "the last weeks of the data look incomplete: 14 of 14 people (everyone) fell below "
        "their usual range at once in Tickets resolved from 2026-09-21; the export may not "
        "be complete yet"
    ) in notes
    assert len(notes) == 4  # both teams, the department, everyone
