"""Wide exports (a column per week, or a column per KPI) melted to the long table, with
every problem naming the cell of the file as written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from kpinb.workspace import load_workspace, validate_workspace
from tests.support import wsfactory

WEEKS_TOML = """
[wide.observations]
columns = "weeks"
id_columns = ["employee_id", "kpi_id"]
"""
KPIS_TOML = """
[wide.observations]
columns = "kpis"
id_columns = ["employee_id", "period"]
"""
# the observations of wsfactory, one line per person and KPI, one column per week
BY_WEEK = """\
employee_id,kpi_id,2026-06-01,2026-06-08,2026-06-15,2026-06-22,2026-06-29,2026-07-06
00123,calls,10,11.5,12,9,13,14
00123,deals,10,11.5,12,9,13,14
00124,calls,10,11.5,12,9,13,14
00125,response,10,11.5,12,9,13,14
"""
# the same, one line per person and week, one column per KPI (blank: not their KPI)
BY_KPI = """\
employee_id,period,calls,deals,response
00123,2026-06-01,10,10,
00123,2026-06-08,11.5,11.5,
00123,2026-06-15,12,12,
00123,2026-06-22,9,9,
00123,2026-06-29,13,13,
00123,2026-07-06,14,14,
00124,2026-06-01,10,,
00124,2026-06-08,11.5,,
00124,2026-06-15,12,,
00124,2026-06-22,9,,
00124,2026-06-29,13,,
00124,2026-07-06,14,,
00125,2026-06-01,,,10
00125,2026-06-08,,,11.5
00125,2026-06-15,,,12
00125,2026-06-22,,,9
00125,2026-06-29,,,13
00125,2026-07-06,,,14
"""


def _wide(tmp_path: Path, toml: str, observations: str, name: str = "wide") -> Path:
    root = wsfactory.write(tmp_path / name)
    (root / "observations.csv").write_text(observations, encoding="utf-8")
    (root / "kpinb.toml").write_text(toml, encoding="utf-8")
    return root


@pytest.mark.parametrize(("toml", "table"), [(WEEKS_TOML, BY_WEEK), (KPIS_TOML, BY_KPI)])
def test_melted_equals_the_long_table(tmp_path: Path, toml: str, table: str) -> None:
    long = load_workspace(wsfactory.write(tmp_path / "long")).observations
    melted = load_workspace(_wide(tmp_path, toml, table)).observations
    assert len(melted) == 24
    pdt.assert_frame_equal(melted, long)


def test_a_bad_value_is_named_by_its_row_and_week_column(tmp_path: Path) -> None:
    # file row 4 (00124's calls), column 2026-06-15; file row 5, column 2026-07-06
    table = BY_WEEK.replace("00124,calls,10,11.5,12,", "00124,calls,10,11.5,twelve,").replace(
        "00125,response,10,11.5,12,9,13,14", "00125,response,10,11.5,12,9,13,-"
    )
    result = validate_workspace(_wide(tmp_path, WEEKS_TOML, table))
    texts = [str(p) for p in result.problems]
    assert any(
        t.startswith("observations.csv, rows 4, 5: ")
        and "'twelve', '-' is not a number" in t
        and "row 4 column '2026-06-15', row 5 column '2026-07-06'" in t
        for t in texts
    ), texts
    assert result.workspace is None


def test_one_bad_cell_is_named_as_row_and_column(tmp_path: Path) -> None:
    table = BY_WEEK.replace("00124,calls,10,11.5,12,", "00124,calls,10,11.5,twelve,")
    [problem] = validate_workspace(_wide(tmp_path, WEEKS_TOML, table)).problems
    assert str(problem).startswith("observations.csv, row 4, column '2026-06-15': 'twelve'")


def test_an_unknown_kpi_column_and_an_unknown_person_are_named_in_the_file(
    tmp_path: Path,
) -> None:
    table = BY_KPI.replace(
        "employee_id,period,calls,deals,response", "employee_id,period,calls,deals,respons"
    )
    table = table.replace("00124,2026-06-15,12,,", "00999,2026-06-15,12,,")
    problems = [str(p) for p in validate_workspace(_wide(tmp_path, KPIS_TOML, table)).problems]
    unknown_kpi = [p for p in problems if "'respons'" in p]
    assert unknown_kpi and unknown_kpi[0].startswith(
        "observations.csv, rows 14, 15, 16, 17, 18 (and 1 more), column 'respons'"
    ), problems
    person = [p for p in problems if "'00999'" in p]
    assert person and person[0].startswith("observations.csv, row 10, column 'employee_id'")


def test_a_week_header_that_is_no_date_is_named(tmp_path: Path) -> None:
    table = BY_WEEK.replace("2026-06-22", "week 4")
    [problem] = validate_workspace(_wide(tmp_path, WEEKS_TOML, table)).problems
    assert "column 'week 4'" in str(problem) and "is not a date" in str(problem)


def test_two_values_for_one_week_name_both_cells(tmp_path: Path) -> None:
    table = BY_WEEK + "00124,calls,,,,,,99\n"  # row 6 gives 00124's calls of 2026-07-06 again
    texts = [str(p) for p in validate_workspace(_wide(tmp_path, WEEKS_TOML, table)).problems]
    assert any("has different values" in t and "column '2026-07-06'" in t for t in texts), texts
    assert any("row 6" in t or "rows 4, 6" in t for t in texts), texts


@pytest.mark.parametrize(
    ("toml", "key", "said"),
    [
        (
            '[wide.observations]\ncolumns = "days"\nid_columns = ["employee_id"]\n',
            "wide.observations.columns",
            "'days'",
        ),
        (
            '[wide.observations]\ncolumns = "weeks"\nid_columns = ["employee_id"]\n',
            "wide.observations.id_columns",
            "kpi_id",
        ),
        (
            '[wide.observations]\ncolumns = "kpis"\nid_columns = "employee_id"\n',
            "wide.observations.id_columns",
            "not a list",
        ),
        (
            '[wide.people]\ncolumns = "kpis"\nid_columns = ["employee_id"]\n',
            "wide.people",
            "not a table kpinb reads wide",
        ),
        (
            '[wide.observations]\ncolumns = "kpis"\nid_columns = ["employee_id", "period"]'
            "\nsheet = 2\n",
            "wide.observations.sheet",
            "not a key",
        ),
    ],
)
def test_the_wide_settings_are_checked(tmp_path: Path, toml: str, key: str, said: str) -> None:
    root = wsfactory.write(tmp_path / "ws")
    (root / "kpinb.toml").write_text(toml, encoding="utf-8")
    problems = validate_workspace(root).problems
    found = [p for p in problems if p.file == "kpinb.toml" and p.column == key]
    assert found and said in found[0].problem, [str(p) for p in problems]


def test_an_excel_export_with_date_headers(tmp_path: Path) -> None:
    frame = pd.read_csv(pd.io.common.StringIO(BY_WEEK), dtype=str)
    frame.columns = [*frame.columns[:2], *pd.to_datetime(frame.columns[2:])]  # date cells
    root = _wide(tmp_path, WEEKS_TOML, BY_WEEK)
    (root / "observations.csv").unlink()
    frame.to_excel(root / "observations.xlsx", index=False)
    long = load_workspace(wsfactory.write(tmp_path / "long")).observations
    pdt.assert_frame_equal(load_workspace(root).observations, long)
