"""Loading a workspace: formats, typing, and every kind of problem reported in one pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpinb.cli.main import main
from kpinb.errors import WorkspaceError
from kpinb.workspace import load_workspace, validate_workspace
from tests.support import wsfactory


@pytest.mark.parametrize(
    ("fmt", "sep", "bom"),
    [
        ("csv", ",", False),
        ("csv", ";", False),
        ("csv", ",", True),
        ("csv", ";", True),
        ("xlsx", ",", False),
        ("parquet", ",", False),
    ],
)
def test_every_format_loads_the_same_tables(tmp_path, fmt, sep, bom):
    ws = load_workspace(wsfactory.write(tmp_path, fmt=fmt, sep=sep, bom=bom))
    assert list(ws.people["employee_id"]) == ["00123", "00124", "00125"]  # zeros kept
    assert ws.people["manager_id"].isna().tolist() == [True, False, False]
    assert ws.people["start_date"].iloc[0] == pd.Timestamp("2024-01-08")
    assert len(ws.observations) == 24
    first = ws.observations.iloc[0]
    assert (str(first.employee_id), str(first.kpi_id)) == ("00123", "calls")
    assert ws.observations["value"].dtype == np.float64
    assert ws.observations["value"].iloc[:6].tolist() == [10, 11.5, 12, 9, 13, 14]
    assert ws.targets["baseline"].isna().tolist() == [False, True]
    assert ws.goals["kpi_ids"].iloc[0] == ("calls", "deals")
    assert ws.kpis["response"].version_at(pd.Timestamp("2026-06-01")) == 2
    assert ws.kpis["calls"].pair == "deals"


def test_decimal_comma_in_semicolon_csv_and_stray_spaces(tmp_path):
    frames = wsfactory.tables()
    obs = frames["observations"].astype({"value": str})
    obs["value"] = obs["value"].str.replace(".", ",", regex=False)
    obs["employee_id"] = " " + obs["employee_id"] + "  "
    frames["observations"] = obs
    ws = load_workspace(wsfactory.write(tmp_path, frames, sep=";"))
    assert ws.observations["value"].iloc[1] == 11.5
    assert set(ws.observations["employee_id"].astype(str)) == {"00123", "00124", "00125"}


def test_optional_tables_may_be_absent(tmp_path):
    frames = {
        k: v for k, v in wsfactory.tables().items() if k in ("people", "teams", "observations")
    }
    ws = load_workspace(wsfactory.write(tmp_path, frames))
    assert ws.targets.empty and list(ws.targets.columns)[:2] == ["scope", "scope_id"]
    assert ws.goals.empty and ws.ratings.empty and ws.feasibility.empty


def _broken(tmp_path):
    """One of each problem the issue lists, in one workspace."""
    f = wsfactory.tables()
    f["people"].loc[3] = ["00126", "Loop A", "T9", "00127", "sales", "2024-13-01"]
    f["people"].loc[4] = ["00127", "Loop B", "T1", "00126", "sales", "2024-01-01"]
    obs = f["observations"] = f["observations"].astype({"value": object})  # room for "12%"
    obs.loc[len(obs)] = ["E404", "calls", "2026-06-01", 1]  # unknown employee
    obs.loc[len(obs)] = ["00123", "nps", "2026-06-01", 1]  # unknown KPI
    obs.loc[len(obs)] = ["00123", "calls", "2026-06-1x", 1]  # invalid date
    obs.loc[len(obs)] = ["00123", "calls", "2026-06-08", "12%"]  # not a number
    obs.loc[len(obs)] = ["00123", "deals", "2026-06-01", 99]  # conflicting duplicate
    obs.loc[len(obs)] = ["00124", "calls", "2026-06-03", 5]  # not a Monday
    f["targets"].loc[2] = ["team", "T7", "calls", "2026-Q5", 3, ""]  # no such scope, period
    f["feasibility"] = f["feasibility"].drop(columns=["reason"])  # missing column
    del f["teams"]  # missing file
    kpis = wsfactory.KPIS_YAML.replace("direction: down", "direction: sideways").replace(
        "effective_from: 2026-03-02",
        "effective_from: 2026-03-02\n        change: a\n      - effective_from: 2025-01-01",
    )
    root = wsfactory.write(tmp_path, f, kpis=kpis)
    return root


def test_every_problem_is_reported_in_one_pass(tmp_path):
    root = _broken(tmp_path)
    before = sorted(p.name for p in root.iterdir())
    result = validate_workspace(root)
    text = "\n".join(map(str, result.problems))
    expected = [
        "teams.csv: file is missing",
        "kpis.yaml, column 'direction': KPI #3 (response): direction 'sideways' is not allowed",
        "kpis.yaml, column 'versions': KPI #3 (response): version 2 (2025-01-01) is not after "
        "version 1",
        "people.csv, row 5, column 'start_date': '2024-13-01' is not a valid date",
        "people.csv, rows 2, 3, 4, 5, 6, column 'team_id': unknown team id(s) 'T1', 'T2', 'T9'",
        "people.csv, rows 5, 6, column 'manager_id': the manager chain of '00126', '00127' loops",
        "column 'employee_id': unknown employee id(s) 'E404'",
        "observations.csv, row 27, column 'kpi_id': unknown KPI id(s) 'nps'",
        "observations.csv, row 28, column 'period': '2026-06-1x' is not a valid date",
        "observations.csv, row 29, column 'value': '12%' is not a number",
        # 2026-06-03 counts for the week of 2026-06-01, where 00124 has a value already
        "observations.csv, rows 8, 14, 30, 31, column 'value': the same employee, KPI and "
        "period has different values",
        "targets.csv, row 4, column 'period': '2026-Q5' is not a review period",
        "targets.csv, rows 3, 4, column 'scope_id': scope 'team T1', 'team T7' does not exist",
        "feasibility.csv, column 'reason': missing column(s) reason",
    ]
    for piece in expected:
        assert piece in text, f"not reported: {piece}\n--- got:\n{text}"
    assert all(p.fix for p in result.problems)
    assert result.workspace is None
    assert sorted(p.name for p in root.iterdir()) == before  # nothing written
    with pytest.raises(WorkspaceError) as info:
        load_workspace(root)
    assert len(info.value.problems) == len(result.problems)


def test_validate_command_exit_codes(tmp_path, capsys):
    good = wsfactory.write(tmp_path / "good")
    assert main(["validate", str(good)]) == 0
    assert "valid: 3 people, 2 teams, 3 KPIs, 24 observations" in capsys.readouterr().out
    assert main(["validate", str(_broken(tmp_path / "bad"))]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "error: teams.csv: file is missing" in out
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2


def test_repeated_problems_are_summarised_with_count_and_first_rows(tmp_path):
    f = wsfactory.tables()
    bad = pd.DataFrame(
        {
            "employee_id": [f"X{i}" for i in range(1000)],
            "kpi_id": "calls",
            "period": "2026-06-01",
            "value": 1,
        }
    )
    f["observations"] = pd.concat([f["observations"], bad], ignore_index=True)
    result = validate_workspace(wsfactory.write(tmp_path, f))
    [problem] = result.problems
    assert problem.count == 1000
    assert problem.rows == (26, 27, 28, 29, 30)
    assert "'X0', 'X1', 'X2' and 997 more" in str(problem)
    assert "[1000 rows]" in str(problem)


def test_identical_duplicates_and_quality_findings_are_warnings(tmp_path):
    f = wsfactory.tables()
    obs = f["observations"]
    obs = pd.concat([obs, obs.iloc[[0]]], ignore_index=True)  # identical repeat
    obs = obs.drop(index=[2, 3]).reset_index(drop=True)  # 00123/calls gaps
    obs = obs[~((obs.employee_id == "00125") & (obs.period > "2026-06-15"))]  # stale
    f["observations"] = obs[obs.employee_id != "00124"]  # no data for 00124
    extra = pd.DataFrame(
        [("00123", f"k{i}", "2026-07-06", 1.0) for i in range(7)],
        columns=["employee_id", "kpi_id", "period", "value"],
    )
    f["observations"] = pd.concat([f["observations"], extra], ignore_index=True)
    kpis = wsfactory.KPIS_YAML + "".join(
        f"  - {{id: k{i}, name: K{i}, unit: n, direction: up, kind: leading, type: process, "
        f"cadence: weekly, rollup: sum, owner: o, source: s, formula: f}}\n"
        for i in range(7)
    )
    result = validate_workspace(wsfactory.write(tmp_path, f, kpis=kpis))
    assert result.ok, result.problems
    text = "\n".join(map(str, result.warnings))
    assert "identical duplicate rows (kept once)" in text
    assert "1 employee/KPI series have missing periods (2 missing periods" in text
    assert "series were not updated for over two cadences" in text and "00125/response" in text
    assert "1 people have no observations: '00124'" in text
    assert "1 people have more than 7 core KPIs (roles: 'sales'" in text
    ws = result.workspace
    assert ws is not None and len(ws.observations) == len(f["observations"]) - 1 + 1 - 1


def test_other_problem_kinds_by_their_messages(tmp_path):
    f = wsfactory.tables()
    f["people"].loc[3] = ["00124", "Twin", "T1", "E999", "sales", "2024-01-01"]  # dup id
    f["people"].loc[4] = ["00128", "", "T1", "00123", "sales", "2024-01-01"]  # empty name
    f["targets"]["target"] = ["fifteen", "40"]
    f["ratings"].loc[0, "period"] = "Q2 2026"
    f["goals"].loc[0, "kpi_ids"] = "calls;nps"
    f["feasibility"].loc[0, "kpi_id"] = "velocity"
    root = wsfactory.write(tmp_path, f)
    f["teams"].to_excel(root / "teams.xlsx", index=False)  # a second file for one table
    text = "\n".join(map(str, validate_workspace(root).problems))
    for piece in [
        "teams.csv, teams.xlsx: 2 files hold the 'teams' table. Fix: keep exactly one of",
        "people.csv, rows 3, 5, column 'employee_id': '00124' appear(s) on more than one row",
        "people.csv, row 5, column 'manager_id': unknown manager id(s) 'E999'",
        "people.csv, row 6, column 'name': is empty. Fix: fill in this required cell",
        "targets.csv, row 2, column 'target': 'fifteen' is not a number",
        "ratings.csv, row 2, column 'period': 'Q2 2026' is not a review period",
        "goals.csv, row 2, column 'kpi_ids': unknown KPI id(s) 'nps'",
        "feasibility.csv, row 2, column 'kpi_id': unknown KPI id(s) 'velocity'",
    ]:
        assert piece in text, f"not reported: {piece}\n--- got:\n{text}"


@pytest.mark.parametrize(
    ("kpis", "message"),
    [
        (None, "kpis.yaml: file is missing"),
        ("kpis: [\n  - id: x\n", "kpis.yaml: is not valid YAML"),
        ("kpis: []\n", "kpis.yaml: no KPI definitions found"),
        (
            wsfactory.KPIS_YAML.replace("    owner: Sales ops\n", "", 1),
            "kpis.yaml, column 'owner': KPI #1 (calls): field 'owner' is missing",
        ),
        (
            wsfactory.KPIS_YAML.replace("pair: deals", "pair: revenue"),
            "kpis.yaml, column 'pair': KPI 'calls': pair 'revenue' is not a KPI of the dictionary",
        ),
    ],
)
def test_kpi_dictionary_problems(tmp_path, kpis, message):
    root = wsfactory.write(tmp_path, kpis=kpis or "")
    if kpis is None:
        (root / "kpis.yaml").unlink()
    text = "\n".join(map(str, validate_workspace(root).problems))
    assert message in text, text


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path):
    root = wsfactory.write(tmp_path)
    (root / "people.csv").unlink()
    (root / "people.xlsx").write_bytes(b"this is not a zip file")
    result = validate_workspace(root)
    assert any(
        p.file == "people.xlsx" and "cannot be read" in p.problem for p in result.problems
    ), result.problems


def test_a_path_that_is_not_a_folder(tmp_path):
    result = validate_workspace(tmp_path / "nowhere")
    assert not result.ok and "is not a folder" in str(result.problems[0])


def test_a_date_with_trailing_characters_is_not_cut_to_its_first_ten(tmp_path):
    """'2024-01-0812' (a typo) is not 2024-01-08; a time of day after the date is allowed."""
    f = wsfactory.tables()
    f["people"].loc[0, "start_date"] = "2024-01-0812"
    f["people"].loc[1, "start_date"] = "2024-02-05 00:00:00"
    f["people"].loc[2, "start_date"] = "2024-03-04T09:30:00"
    result = validate_workspace(wsfactory.write(tmp_path, f))
    text = "\n".join(map(str, result.problems))
    assert "people.csv, row 2, column 'start_date': '2024-01-0812' is not a valid date" in text
    assert "row 3" not in text and "row 4" not in text, text
    f["people"].loc[0, "start_date"] = "2024-01-08"
    ws = load_workspace(wsfactory.write(tmp_path / "fixed", f))
    assert (
        ws.people["start_date"].tolist()
        == pd.to_datetime(["2024-01-08", "2024-02-05", "2024-03-04"]).tolist()
    )


def test_display_text_is_normalised_and_stripped_of_spoofing_characters(tmp_path):
    f = wsfactory.tables()
    f["people"].loc[0, "name"] = "Jose\u0301 \u202eevil\u202c Zero\u200bwidth"  # NFD e + accent
    f["goals"].loc[0, "goal"] = "Line one\nline two"
    ws = load_workspace(wsfactory.write(tmp_path, f))
    assert ws.people["name"].iloc[0] == "José evil Zerowidth"
    assert ws.people["name"].iloc[0].startswith("Jos\u00e9")  # one code point: NFC
    assert ws.goals["goal"].iloc[0] == "Line one line two"
    assert ws.people["employee_id"].iloc[0] == "00123"  # ids are left as they are


def test_a_workspace_from_frames_gets_empty_optional_tables_with_their_columns():
    from kpinb.workspace import Workspace

    frames = wsfactory.tables()
    ws = Workspace.from_tables(
        {}, frames["people"], frames["teams"], frames["observations"], targets=frames["targets"]
    )
    assert ws.targets is frames["targets"]
    assert ws.goals.empty and list(ws.goals.columns) == ["employee_id", "goal", "kpi_ids"]
    assert list(ws.feasibility.columns) == [
        "scope",
        "scope_id",
        "kpi_id",
        "period",
        "flagged_by",
        "reason",
    ]
    with pytest.raises(TypeError, match="not optional workspace tables: \\['journal'\\]"):
        Workspace.from_tables(
            {}, frames["people"], frames["teams"], frames["observations"], journal=frames["goals"]
        )


def test_values_dated_inside_their_week_count_for_that_week(tmp_path):
    """A Friday export: each value belongs to the week starting the Monday before; one
    warning says so; two values in one week are still refused."""
    frames = wsfactory.tables()
    obs = frames["observations"].copy()
    monday = pd.to_datetime(obs["period"])
    obs["period"] = (monday + pd.Timedelta(days=4)).dt.strftime("%Y-%m-%d")  # Fridays
    frames["observations"] = obs
    result = validate_workspace(wsfactory.write(tmp_path / "friday", frames))
    assert result.ok, result.problems
    assert (result.workspace.observations["period"].dt.day_of_week == 0).all()
    assert sorted(result.workspace.observations["period"]) == sorted(monday)
    notes = [w for w in result.warnings if "inside their week" in str(w)]
    assert len(notes) == 1 and notes[0].count == len(obs)
    twice = pd.concat([frames["observations"], obs.iloc[:1].assign(value="999")])
    frames["observations"] = twice
    again = validate_workspace(wsfactory.write(tmp_path / "twice", frames))
    assert any("has different values" in str(p) for p in again.problems)


@pytest.mark.parametrize("kpis", [None, "kpis: [\n  - id: x\n", "kpis: []\n"])
def test_without_a_kpi_dictionary_ids_are_not_checked_row_by_row(tmp_path, kpis):
    """Every KPI id would read as unknown: one sentence says they were not checked."""
    root = wsfactory.write(tmp_path, kpis=kpis or "")
    if kpis is None:
        (root / "kpis.yaml").unlink()
    result = validate_workspace(root)
    assert [p.file for p in result.problems] == ["kpis.yaml"]
    assert [str(w) for w in result.warnings] == [
        "kpis.yaml: KPI ids and the observations' values were not checked against the KPI "
        "dictionary, because it could not be read. Fix: fix kpis.yaml first; the next "
        "validation checks them"
    ]


@pytest.mark.parametrize(
    ("week_start", "moved_to", "named"),
    [
        ("sunday", 0, None),  # Sunday weeks in a Sunday workspace: nothing moves, no warning
        ("monday", -6, "Monday"),  # each Sunday belongs to the week from the Monday before
        ("tuesday", -5, "Tuesday"),
        ("saturday", -1, "Saturday"),
    ],
)
def test_weeks_start_on_the_configured_day(tmp_path, week_start, moved_to, named):
    frames = wsfactory.tables()
    obs = frames["observations"].copy()
    sunday = pd.to_datetime(obs["period"]) - pd.Timedelta(days=1)  # the Sundays before
    assert (sunday.dt.day_name() == "Sunday").all()
    obs["period"] = sunday.dt.strftime("%Y-%m-%d")
    frames["observations"] = obs
    root = wsfactory.write(tmp_path / "ws", frames)
    (root / "kpinb.toml").write_text(f'[calendar]\nweek_start = "{week_start}"\n')
    result = validate_workspace(root)
    assert result.ok, result.problems
    expected = sorted(sunday + pd.Timedelta(days=moved_to))
    assert sorted(result.workspace.observations["period"]) == expected
    notes = [w for w in result.warnings if "inside their week" in str(w)]
    if named is None:
        assert notes == []
    else:
        assert len(notes) == 1 and f"the week (from its {named})" in str(notes[0])
        assert "calendar.week_start" in str(notes[0])
