"""A group's week with members missing is a gap the page admits: the note counts it and
the twin's ``missing`` agrees."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.kpis import KpiSpec
from kpinb.report import build_report
from kpinb.workspace import Workspace

SPEC = KpiSpec(
    "calls", "Calls", "calls", "up", "leading", "process", "weekly", "sum", "o", "s", "f"
)
WEEKS = pd.date_range(end="2026-09-28", periods=60, freq="7D")  # 2026-Q3: the last 13
AWAY = (pd.Timestamp("2026-07-13"), pd.Timestamp("2026-07-20"))  # E3 sent nothing


def _workspace() -> Workspace:
    ids = [f"E{i}" for i in range(6)]
    rng = np.random.default_rng(1)
    rows = [
        (e, "calls", w, float(rng.poisson(20)))
        for e in ids
        for w in WEEKS
        if not (e == "E3" and w in AWAY)
    ]
    obs = pd.DataFrame(rows, columns=["employee_id", "kpi_id", "period", "value"])
    obs = obs.astype({"employee_id": "category", "kpi_id": "category"})
    people = pd.DataFrame(
        {
            "employee_id": ids,
            "name": ids,
            "team_id": "T1",
            "manager_id": [pd.NA] + ["E0"] * 5,
            "role": "r",
            "start_date": pd.Timestamp("2020-01-06"),
        }
    )
    teams = pd.DataFrame({"team_id": ["T1"], "name": ["North"], "department": ["Sales"]})
    return Workspace.from_tables({"calls": SPEC}, people, teams, obs)


def test_a_department_week_with_a_member_missing_is_counted_as_a_gap() -> None:
    """6 people, E3 missing on 13 and 20 Jul: the department has 13 weekly totals, 2 of
    them from 5 of its 6 people; both are left out and said so, never "no gaps"."""
    twin = build_report(_workspace(), "department", "Sales", "2026-Q3", view="executive")
    data = twin.to_json()
    quality = data["kpis"][0]["quality"]
    assert quality["expected"] == 13
    assert quality["missing"] == 2 and quality["incomplete"] == 2
    notes = next(s for s in data["sections"] if s["id"] == "notes")
    said = [s["text"] for s in notes["sentences"]]
    assert "Calls: 2 of 13 expected values are missing in 2026-Q3" in said[0]
    assert said[1].startswith(
        "Calls: of those, 2 weeks had values from only some members (the week of 13 Jul"
        " 2026: 5 of 6 reported; the week of 20 Jul 2026: 5 of 6 reported); such a week"
    )
    assert quality["incomplete_weeks"] == [
        {"period": "2026-07-13", "reported": 5, "usual": 6},
        {"period": "2026-07-20", "reported": 5, "usual": 6},
    ]
    assert not any(s["id"] == "note_clear" for s in notes["sentences"])
