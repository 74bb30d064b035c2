"""A tiny, hand-written workspace for loader tests: every value is visible here."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

KPIS_YAML = """\
kpis:
  - id: calls
    name: Calls booked
    unit: calls/week
    direction: up
    kind: leading
    type: process
    cadence: weekly
    rollup: sum
    owner: Sales ops
    source: CRM
    formula: count of booked calls
    pair: deals
  - id: deals
    name: Deals closed
    unit: deals/week
    direction: up
    kind: lagging
    type: result
    cadence: weekly
    rollup: sum
    owner: Sales ops
    source: CRM
    formula: count of closed-won deals
  - id: response
    name: First response time
    unit: hours
    direction: down
    kind: lagging
    type: result
    cadence: weekly
    rollup: median
    owner: Support ops
    source: Helpdesk
    formula: median hours to first reply
    versions:
      - effective_from: 2026-03-02
        change: business hours only
"""

WEEKS = pd.date_range("2026-06-01", periods=6, freq="7D")  # Mondays


def tables() -> dict[str, pd.DataFrame]:
    """The tables of a valid workspace (ids with leading zeros on purpose)."""
    people = pd.DataFrame(
        {
            "employee_id": ["00123", "00124", "00125"],
            "name": ["Ada Lovelace", "José Núñez", "Siobhán O'Brien"],
            "team_id": ["T1", "T1", "T2"],
            "manager_id": ["", "00123", "00123"],
            "role": ["sales", "sales", "support"],
            "start_date": ["2024-01-08", "2024-02-05", "2025-03-03"],
        }
    )
    teams = pd.DataFrame(
        {"team_id": ["T1", "T2"], "name": ["North", "Help"], "department": ["Sales", "Support"]}
    )
    rows = [
        (e, k, d.strftime("%Y-%m-%d"), v)
        for e, k in (
            ("00123", "calls"),
            ("00123", "deals"),
            ("00124", "calls"),
            ("00125", "response"),
        )
        for d, v in zip(WEEKS, (10, 11.5, 12, 9, 13, 14), strict=True)
    ]
    obs = pd.DataFrame(rows, columns=["employee_id", "kpi_id", "period", "value"])
    targets = pd.DataFrame(
        {
            "scope": ["employee", "team"],
            "scope_id": ["00123", "T1"],
            "kpi_id": ["calls", "calls"],
            "period": ["2026-Q3", "2026-Q3"],
            "target": [15, 40],
            "baseline": ["10", ""],
        }
    )
    goals = pd.DataFrame(
        {"employee_id": ["00123"], "goal": ["Grow into a team lead"], "kpi_ids": ["calls; deals"]}
    )
    ratings = pd.DataFrame({"employee_id": ["00123"], "period": ["2026-Q2"], "rating": [3]})
    feas = pd.DataFrame(
        {
            "scope": ["employee"],
            "scope_id": ["00124"],
            "kpi_id": ["calls"],
            "period": ["2026-Q3"],
            "flagged_by": ["00124"],
            "reason": ["territory halved"],
        }
    )
    return {
        "people": people,
        "teams": teams,
        "observations": obs,
        "targets": targets,
        "goals": goals,
        "ratings": ratings,
        "feasibility": feas,
    }


def write(
    root: Path,
    frames: dict[str, pd.DataFrame] | None = None,
    *,
    fmt: str = "csv",
    sep: str = ",",
    kpis: str = KPIS_YAML,
    bom: bool = False,
) -> Path:
    """Write the workspace to ``root`` in one format; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "kpis.yaml").write_text(kpis, encoding="utf-8")
    for name, frame in (frames or tables()).items():
        if fmt == "csv":
            text = frame.to_csv(index=False, sep=sep)
            (root / f"{name}.csv").write_bytes(("\ufeff" if bom else "").encode() + text.encode())
        elif fmt == "xlsx":
            frame.to_excel(root / f"{name}.xlsx", index=False)
        else:
            frame.to_parquet(root / f"{name}.parquet", index=False)
    return root
