"""The observation checks together on one hand-written file: periods moved to their
week or month, then duplicates, bad numbers, unknown KPIs and future dates, every
message and row exactly as worked out by hand (CSV rows count from 2 under the header,
Parquet rows from 1)."""

from __future__ import annotations

import pandas as pd
import pytest

from kpinb.workspace import validate_workspace
from tests.support import wsfactory

# response is counted by the month here, calls and deals by the week (from Monday)
KPIS = wsfactory.KPIS_YAML.replace(
    "cadence: weekly\n    rollup: median", "cadence: monthly\n    rollup: median"
)

ROWS = [
    ("00123", "calls", "2026-06-03", "10"),  # a Wednesday: counted for Monday 1 June
    ("00123", "calls", "2026-06-01", "10"),  # the same value that week: a repeat, kept once
    ("00124", "calls", "2026-06-08", "5"),
    ("00124", "calls", "2026-06-12", "6"),  # a Friday: the week of 8 June, another value
    ("00125", "response", "2026-06-15", "7"),  # monthly: counted for 1 June
    ("00123", "deals", "2026-06-01", "twelve"),
    ("00123", "deals", "2026-06-08", "1e20"),
    ("00123", "bogus", "2026-06-10", "3"),  # unknown KPI: its date is left as it is
    ("00124", "calls", "2071-06-01", "4"),  # a Monday, 45 years ahead
    ("00123", "deals", "2026-06-15", ""),
]


def _workspace(root, fmt):
    frames = wsfactory.tables()
    frames["observations"] = pd.DataFrame(
        ROWS, columns=["employee_id", "kpi_id", "period", "value"]
    )
    return wsfactory.write(root, frames, fmt=fmt, kpis=KPIS)


@pytest.mark.parametrize(("fmt", "first"), [("csv", 2), ("parquet", 1)])
def test_every_observation_problem_named_once_with_its_rows(tmp_path, fmt, first):
    result = validate_workspace(_workspace(tmp_path, fmt))

    def row(i: int) -> int:  # the row a person sees for ROWS[i]
        return i + first

    file = f"observations.{fmt}"
    assert [str(p) for p in result.problems] == [
        f"{file}, row {row(5)}, column 'value': 'twelve' is not a number. Fix: write a plain "
        "number such as 42 or 0.85, without units or thousands separators",
        f"{file}, row {row(6)}, column 'value': '1e20' is beyond 1e+15 in size, too large to "
        "add up or average. Fix: check the export (a unit or exponent error?) and write the "
        "value in the KPI's unit",
        f"{file}, row {row(7)}, column 'kpi_id': unknown KPI id(s) 'bogus'. Fix: add them to "
        "kpis.yaml or correct the id",
        f"{file}, row {row(9)}, column 'value': is empty. Fix: fill in this required cell",
        f"{file}, rows {row(2)}, {row(3)}, column 'value': the same employee, KPI and period "
        "has different values [2 rows]. Fix: keep one row per employee_id, kpi_id and period "
        "(correct or remove the other)",
    ]
    assert [str(w) for w in result.warnings] == [
        f"{file}, column 'period': 3 value(s) are dated inside their week or month, not on its "
        "first day ('2026-06-03', '2026-06-12', '2026-06-15'); each is counted for the week "
        "(from its Monday) or the month that holds it. Fix: nothing to do; date values on the "
        "first day of the week or month to silence this (weeks start on the day "
        "calendar.week_start of kpinb.toml names)",
        f"{file}, row {row(8)}, column 'period': '2071-06-01' is dated after today "
        f"({pd.Timestamp.today().date()}): a value cannot have been recorded yet; it is left "
        "out of the check for stale series. Fix: correct the date (a mistyped year?), or "
        "remove the row until its period has begun",
        f"{file}, row {row(1)}: identical duplicate rows (kept once). Fix: remove the "
        "repeated rows",
    ]
    assert [w.count for w in result.warnings] == [3, 1, 1]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_checked_observations_are_sorted_aligned_and_kept_once(tmp_path, fmt):
    """Without the bad rows: each value on its period's first day, the repeat dropped,
    each series' rows together in period order, the count columns empty (no ratio KPI)."""
    frames = wsfactory.tables()
    rows = [ROWS[i] for i in (4, 3, 1, 0)] + [("00124", "calls", "2026-06-01", "2.5")]
    frames["observations"] = pd.DataFrame(
        rows, columns=["employee_id", "kpi_id", "period", "value"]
    )
    ws = validate_workspace(wsfactory.write(tmp_path, frames, fmt=fmt, kpis=KPIS)).workspace
    assert ws is not None
    obs = ws.observations
    assert list(obs.columns) == [
        "employee_id",
        "kpi_id",
        "period",
        "value",
        "numerator",
        "denominator",
    ]
    found = [
        (str(e), str(k), p.strftime("%Y-%m-%d"), v)
        for e, k, p, v in zip(
            obs["employee_id"], obs["kpi_id"], obs["period"], obs["value"], strict=True
        )
    ]
    assert sorted(found) == [
        ("00123", "calls", "2026-06-01", 10.0),
        ("00124", "calls", "2026-06-01", 2.5),
        ("00124", "calls", "2026-06-08", 6.0),
        ("00125", "response", "2026-06-01", 7.0),
    ]
    first = found.index(("00124", "calls", "2026-06-01", 2.5))
    assert found[first + 1] == ("00124", "calls", "2026-06-08", 6.0)  # together, in order
    assert str(obs["period"].dtype) == "datetime64[ns]"
    assert obs["numerator"].isna().all() and obs["denominator"].isna().all()
    assert obs[["numerator", "denominator"]].dtypes.tolist() == ["float64", "float64"]
