"""KPIs computed from an event table (``from:`` in kpis.yaml), against aggregations
worked out by hand, and the filter grammar that never runs code."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml

from kpinb.filters import FilterError, parse_filter
from kpinb.workspace import load_workspace, validate_workspace
from tests.support.databases import write_tables

# weeks start on Monday: 2 Mar, 9 Mar, 16 Mar 2026. E1's first deal is in week 1, E2's in
# week 2; deal 7 is still open (no close date): every KPI's filter leaves it out
EVENTS = """\
opportunity_id,owner_id,closed_at,stage,amount,days_to_close
1,E1,2026-03-02,won,10,20
2,E1,2026-03-04,lost,5,30
3,E1,2026-03-08,won,7,10
4,E1,2026-03-16,lost,3,40
5,E2,2026-03-10,won,20,15
6,E2,2026-03-13,won,1,25
7,E2,,open,4,
8,E2,2026-03-20,lost,2,50
"""
CLOSED = "stage in ('won', 'lost')"
WON = "stage == 'won'"


def _kpi(kid: str, source: dict, *, unit: str = "deals", cadence: str = "weekly", **more) -> dict:
    return {
        "id": kid,
        "name": kid.replace("_", " "),
        "unit": unit,
        "direction": "up",
        "kind": "lagging",
        "type": "result",
        "cadence": cadence,
        "rollup": "sum",
        "owner": "Sales Ops",
        "source": "CRM",
        "formula": "from the CRM's opportunities",
        **more,
        "from": {"events": "opportunities", "date": "closed_at", "person": "owner_id", **source},
    }


KPIS = [
    _kpi("deals_engaged", {"aggregate": "count", "where": CLOSED}),
    _kpi("deals_won", {"aggregate": "count", "where": WON}),
    _kpi(
        "win_rate",
        {"aggregate": "ratio", "where": CLOSED, "numerator": WON},
        unit="%",
        measure="ratio",
    ),
    _kpi(
        "sales_cycle", {"aggregate": "mean", "column": "days_to_close", "where": WON}, unit="days"
    ),
    _kpi("revenue_won", {"aggregate": "sum", "column": "amount", "where": WON}, unit="kEUR"),
    _kpi("deals_won_monthly", {"aggregate": "count", "where": WON}, cadence="monthly"),
]


def _workspace(tmp_path: Path, kpis: list[dict] = KPIS, events: str | None = EVENTS) -> Path:
    root = tmp_path / "ws"
    (root / "events").mkdir(parents=True)
    (root / "people.csv").write_text(
        "employee_id,name,team_id,manager_id,role,start_date\n"
        "E1,Ann,T1,,ae,2020-01-06\nE2,Bo,T1,E1,ae,2021-02-01\nE3,Cy,T1,E1,ae,2021-02-01\n"
    )
    (root / "teams.csv").write_text("team_id,name,department\nT1,Sales,Sales\n")
    (root / "kpis.yaml").write_text(yaml.safe_dump({"kpis": kpis}, sort_keys=False))
    if events is not None:
        (root / "events" / "opportunities.csv").write_text(events)
    return root


def _rows(ws, kpi: str) -> list[tuple]:
    obs = ws.observations[ws.observations["kpi_id"] == kpi]
    out = []
    for row in obs.itertuples():
        value = None if math.isnan(row.value) else round(row.value, 6)
        parts = () if math.isnan(row.numerator) else (row.numerator, row.denominator)
        out.append((row.employee_id, row.period.date().isoformat(), value, *parts))
    return out


def test_counts_sums_means_and_ratios_per_person_and_week_as_worked_out_by_hand(tmp_path):
    ws = load_workspace(_workspace(tmp_path))
    # a count or a sum is 0 in a week without events, from the person's first event to
    # the table's last week; a mean, and a ratio of 0 of 0, have no row then
    assert _rows(ws, "deals_engaged") == [
        ("E1", "2026-03-02", 3.0),
        ("E1", "2026-03-09", 0.0),
        ("E1", "2026-03-16", 1.0),
        ("E2", "2026-03-09", 2.0),
        ("E2", "2026-03-16", 1.0),
    ]
    assert _rows(ws, "deals_won") == [
        ("E1", "2026-03-02", 2.0),
        ("E1", "2026-03-09", 0.0),
        ("E1", "2026-03-16", 0.0),
        ("E2", "2026-03-09", 2.0),
        ("E2", "2026-03-16", 0.0),
    ]
    assert _rows(ws, "win_rate") == [
        ("E1", "2026-03-02", round(100 * 2 / 3, 6), 2.0, 3.0),
        ("E1", "2026-03-16", 0.0, 0.0, 1.0),
        ("E2", "2026-03-09", 100.0, 2.0, 2.0),
        ("E2", "2026-03-16", 0.0, 0.0, 1.0),
    ]
    assert _rows(ws, "sales_cycle") == [("E1", "2026-03-02", 15.0), ("E2", "2026-03-09", 20.0)]
    assert _rows(ws, "revenue_won") == [
        ("E1", "2026-03-02", 17.0),
        ("E1", "2026-03-09", 0.0),
        ("E1", "2026-03-16", 0.0),
        ("E2", "2026-03-09", 21.0),
        ("E2", "2026-03-16", 0.0),
    ]
    assert _rows(ws, "deals_won_monthly") == [("E1", "2026-03-01", 2.0), ("E2", "2026-03-01", 2.0)]


@pytest.mark.sql
def test_the_event_table_may_come_from_a_database_with_the_same_result(tmp_path):
    files = load_workspace(_workspace(tmp_path / "files"))
    root = _workspace(tmp_path / "sql", events=None)
    frame = pd.read_csv(pd.io.common.StringIO(EVENTS), dtype={"owner_id": str})
    write_tables(f"sqlite:///{root / 'crm.sqlite'}", {"opportunities": frame})
    (root / "kpinb.toml").write_text(
        '[sources.opportunities]\nurl = "sqlite:///crm.sqlite"\n'
        'query = "select owner_id, closed_at, stage, amount, days_to_close from opportunities"\n'
    )
    sql = load_workspace(root)
    pd.testing.assert_frame_equal(sql.observations, files.observations, check_categorical=False)


def test_observations_from_a_file_and_from_events_stand_side_by_side(tmp_path):
    root = _workspace(tmp_path)
    (root / "kpis.yaml").write_text(
        yaml.safe_dump(
            {"kpis": [*KPIS[:2], {**KPIS[0], "id": "calls"} | {"from": None}]}, sort_keys=False
        )
    )
    (root / "observations.csv").write_text(
        "employee_id,kpi_id,period,value\nE3,calls,2026-03-02,4\nE3,calls,2026-03-09,5\n"
    )
    ws = load_workspace(root)
    assert _rows(ws, "calls") == [("E3", "2026-03-02", 4.0), ("E3", "2026-03-09", 5.0)]
    assert len(_rows(ws, "deals_won")) == 5


def test_a_kpi_both_in_observations_and_from_events_is_refused(tmp_path):
    root = _workspace(tmp_path)
    (root / "observations.csv").write_text(
        "employee_id,kpi_id,period,value\nE1,deals_won,2026-03-02,4\n"
    )
    problems = [str(p) for p in validate_workspace(root).problems]
    assert any(
        p.startswith("observations.csv") and "'deals_won', which kpis.yaml computes from" in p
        for p in problems
    ), problems


def test_the_rows_a_kpi_uses_are_checked_and_named_by_the_event_tables_row(tmp_path):
    bad = EVENTS.replace("3,E1,2026-03-08", "3,E9,2026-03-08")  # row 4: not a person
    bad = bad.replace("5,E2,2026-03-10,won,20", "5,E2,soon,won,many")  # row 6: date, amount
    bad = bad.replace("7,E2,,open", "7,E2,,won")  # row 8: won, but no close date
    problems = [str(p) for p in validate_workspace(_workspace(tmp_path, events=bad)).problems]
    text = "\n".join(problems)
    assert (
        "events/opportunities.csv, row 4, column 'owner_id': 'E9' is not an employee_id of people"
        in text
    )
    assert "events/opportunities.csv, row 6, column 'closed_at': 'soon' is not a date" in text
    assert "events/opportunities.csv, row 6, column 'amount': 'many' is not a number" in text
    assert "events/opportunities.csv, row 8, column 'closed_at': is empty" in text


def test_a_missing_event_table_or_column_is_named(tmp_path):
    problems = [str(p) for p in validate_workspace(_workspace(tmp_path, events=None)).problems]
    assert any(p.startswith("events/opportunities.csv: file is missing") for p in problems)
    no_amount = "\n".join(
        ",".join(c for i, c in enumerate(line.split(",")) if i != 4) for line in EVENTS.splitlines()
    )
    problems = [
        str(p) for p in validate_workspace(_workspace(tmp_path / "b", events=no_amount)).problems
    ]
    assert any(
        "column 'amount': is not a column of the table (kpis.yaml names it under from:) "
        "(read for the KPI(s) 'revenue_won')" in p
        for p in problems
    ), problems


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"aggregate": "median"}, "from.aggregate 'median' is not allowed"),
        ({"aggregate": "sum"}, "a sum needs from.column"),
        ({"aggregate": "count", "where": "__import__('os').system('rm -rf /')"}, "cannot be read"),
        ({"aggregate": "count", "where": "stage == 'won' or 1 == 1"}, "expected 'and'"),
        ({"aggregate": "ratio", "numerator": WON}, "does not fit measure 'value'"),
        ({"aggregate": "count", "colour": "x"}, "from.colour is not a key kpinb knows"),
    ],
)
def test_a_from_that_cannot_be_used_is_named_in_kpis_yaml(tmp_path, source, expected):
    root = _workspace(tmp_path, kpis=[_kpi("k", source)])
    problems = [str(p) for p in validate_workspace(root).problems]
    assert any(p.startswith("kpis.yaml") and expected in p for p in problems), problems


def test_the_filter_grammar_compares_and_never_evaluates():
    frame = pd.DataFrame(
        {"stage": ["won", "lost", " won", None], "amount": ["10", "20", "5.5", "x"]}
    )
    assert parse_filter("stage == 'won' and amount >= 10").mask(frame).tolist() == [
        True,
        False,
        False,
        False,
    ]
    assert parse_filter("stage in ('won', 'lost')").mask(frame).tolist() == [
        True,
        True,
        True,
        False,
    ]
    assert parse_filter("stage not in ['won']").mask(frame).tolist() == [False, True, False, False]
    assert parse_filter("stage is null").mask(frame).tolist() == [False, False, False, True]
    assert parse_filter("amount < 6").mask(frame).tolist() == [False, False, True, False]
    for text in ("__import__('os')", "stage = 'won'", "stage ==", "a == b", "", "stage in ()"):
        with pytest.raises(FilterError):
            parse_filter(textwrap.dedent(text))
