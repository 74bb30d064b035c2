"""Table files built to break the reader: extra sheets, twin columns, dates out of range,
Excel error cells, long numeric ids, odd line endings. Each is named, never guessed."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kpinb.cli.main import main
from kpinb.errors import UsageError
from kpinb.periods import parse_period
from kpinb.workspace import validate_workspace
from tests.support import wsfactory


def _workspace(tmp_path: Path, **replace: pd.DataFrame) -> Path:
    frames = wsfactory.tables()
    frames.update(replace)
    return wsfactory.write(tmp_path, frames)


def _errors(root: Path) -> list[str]:
    result = validate_workspace(root)
    assert not result.ok
    return [str(p) for p in result.problems]


def _book(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)


def _obs_rows() -> list[list[object]]:
    obs = wsfactory.tables()["observations"]
    return [list(obs.columns), *obs.to_numpy().tolist()]


# ---------------------------------------------------------------- extra sheets


def test_data_on_a_second_sheet_is_refused_naming_each_sheet_and_its_rows(tmp_path):
    root = _workspace(tmp_path)
    (root / "observations.csv").unlink()
    rows = _obs_rows()
    _book(
        root / "observations.xlsx",
        {
            "Q3": rows[:13],  # header and 12 rows
            "Q4": [rows[0], *rows[13:]],  # the other 12 rows under the same header
            "notes": [["exported by"], ["the CRM"]],
            "blank": [],
        },
    )
    (problem,) = _errors(root)
    assert "observations.xlsx" in problem
    assert "'Q4' (12 rows of data under the same columns)" in problem
    assert "'notes' (2 rows that are not empty)" in problem
    assert "blank" not in problem
    assert "one sheet per table" in problem


def test_a_workbook_with_one_sheet_of_data_and_empty_others_reads(tmp_path):
    root = _workspace(tmp_path)
    (root / "observations.csv").unlink()
    _book(root / "observations.xlsx", {"data": _obs_rows(), "Sheet2": []})
    book = openpyxl.load_workbook(root / "observations.xlsx")
    book["data"].cell(row=60, column=2).number_format = "0.00"  # formatted, never filled
    book.save(root / "observations.xlsx")
    result = validate_workspace(root)
    assert result.ok, result.problems
    assert result.workspace is not None and len(result.workspace.observations) == 24


# ---------------------------------------------------------------- twin columns


def test_value_and_value_space_in_excel_are_refused_with_both_columns(tmp_path):
    root = _workspace(tmp_path)
    (root / "observations.csv").unlink()
    rows = _obs_rows()
    rows = [[*rows[0], "Value "]] + [[*r, 1_440_875] for r in rows[1:]]
    _book(root / "observations.xlsx", {"data": rows})
    (problem,) = _errors(root)
    assert "column D ('value') and column E ('Value ')" in problem
    assert "delete the other" in problem


def test_value_and_value_in_parquet_are_refused(tmp_path):
    root = _workspace(tmp_path)
    (root / "observations.csv").unlink()
    obs = wsfactory.tables()["observations"]
    table = pa.Table.from_pandas(obs, preserve_index=False).append_column(
        "Value", pa.array([1_440_875.0] * len(obs))
    )
    pq.write_table(table, root / "observations.parquet")
    (problem,) = _errors(root)
    assert "column 4 ('value') and column 5 ('Value')" in problem


@pytest.mark.parametrize("second", ["value", "Value"])
def test_a_csv_with_a_twin_header_is_refused_not_a_crash(tmp_path, second):
    root = _workspace(tmp_path)
    text = (root / "observations.csv").read_text()
    lines = text.splitlines()
    lines = [lines[0] + f",{second}"] + [line + ",7" for line in lines[1:]]
    (root / "observations.csv").write_text("\n".join(lines) + "\n")
    (problem,) = _errors(root)
    assert f"column 4 ('value') and column 5 ('{second}')" in problem
    assert "AttributeError" not in problem


def test_trailing_delimiters_on_every_line_are_empty_extra_columns(tmp_path):
    root = _workspace(tmp_path)
    lines = (root / "observations.csv").read_text().splitlines()
    (root / "observations.csv").write_text("\n".join(line + ",," for line in lines) + "\n")
    result = validate_workspace(root)
    assert result.ok, result.problems
    assert result.workspace is not None
    assert result.workspace.observations["value"].iloc[:3].tolist() == [10, 11.5, 12]


def test_trailing_delimiters_on_data_rows_only_name_the_row(tmp_path):
    root = _workspace(tmp_path)
    lines = (root / "observations.csv").read_text().splitlines()
    lines[3] += ","  # file row 4
    (root / "observations.csv").write_text("\n".join(lines) + "\n")
    (problem,) = _errors(root)
    assert "observations.csv, row 4: row 4 has 5 cells but the header names 4 columns" in problem


def test_cr_only_line_endings_read_like_any_other(tmp_path):
    root = _workspace(tmp_path)
    for name in ("people", "observations"):
        path = root / f"{name}.csv"
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    result = validate_workspace(root)
    assert result.ok, result.problems
    assert result.workspace is not None
    assert list(result.workspace.people["employee_id"]) == ["00123", "00124", "00125"]
    assert len(result.workspace.observations) == 24


# ---------------------------------------------------------------- dates


def test_a_parquet_period_with_a_time_zone_counts_for_its_local_date(tmp_path):
    root = _workspace(tmp_path)
    (root / "observations.csv").unlink()
    obs = wsfactory.tables()["observations"]
    # midnight in Berlin is 22:00 the day before in UTC: the local date is the Monday
    obs["period"] = pd.to_datetime(obs["period"]).dt.tz_localize("Europe/Berlin")
    obs.to_parquet(root / "observations.parquet", index=False)
    result = validate_workspace(root)
    assert result.ok, result.problems
    assert result.workspace is not None
    periods = result.workspace.observations["period"]
    assert sorted(set(periods)) == list(wsfactory.WEEKS)


def test_excel_date_9999_12_31_is_named_out_of_range(tmp_path):
    root = _workspace(tmp_path)
    (root / "people.csv").unlink()
    people = wsfactory.tables()["people"]
    rows = [list(people.columns)] + [
        [*r[:5], dt.datetime(9999, 12, 31) if i == 1 else dt.datetime(2024, 1, 8)]
        for i, r in enumerate(people.to_numpy().tolist())
    ]
    _book(root / "people.xlsx", {"people": rows})
    (problem,) = _errors(root)
    assert problem.startswith("people.xlsx, row 3, column 'start_date': '9999-12-31' is outside")
    assert "1677-09-22 to 2262-04-11" in problem and "placeholder" in problem


def test_parquet_dates_in_1500_and_2500_are_named_with_their_rows(tmp_path):
    root = _workspace(tmp_path)
    (root / "observations.csv").unlink()
    obs = wsfactory.tables()["observations"]
    days = [dt.date.fromisoformat(p) for p in obs["period"]]
    days[0], days[5] = dt.date(1500, 1, 4), dt.date(2500, 1, 4)
    table = pa.Table.from_pandas(obs.drop(columns="period"), preserve_index=False)
    pq.write_table(table.append_column("period", pa.array(days, pa.date32())), root / "o.parquet")
    (root / "o.parquet").rename(root / "observations.parquet")
    (problem,) = _errors(root)
    assert "observations.parquet, rows 1, 6, column 'period'" in problem
    assert "'1500-01-04', '2500-01-04' is outside the dates kpinb can hold" in problem

    stamps = pa.array([dt.datetime(2500, 1, 4)] + [dt.datetime(2026, 6, 1)] * (len(obs) - 1))
    pq.write_table(
        table.append_column("period", stamps.cast(pa.timestamp("us"))),
        root / "observations.parquet",
    )
    assert any("row 1, column 'period'" in p and "outside" in p for p in _errors(root))


@pytest.mark.parametrize("period", ["9999-Q4", "0000-01", "1600-Q1"])
def test_a_period_outside_the_years_kpinb_handles_is_a_usage_error(tmp_path, period, capsys):
    with pytest.raises(UsageError, match="outside the years kpinb handles"):
        parse_period(period)
    root = _workspace(tmp_path)
    assert main(["run", str(root), "--period", period, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "outside the years" in err and "Traceback" not in err


def test_a_value_dated_in_2071_is_named_and_makes_nothing_stale(tmp_path):
    obs = wsfactory.tables()["observations"]
    obs.loc[len(obs)] = ["00124", "calls", "2071-06-01", 10]
    result = validate_workspace(_workspace(tmp_path, observations=obs))
    assert result.ok, result.problems
    warnings = [str(w) for w in result.warnings]
    (future,) = [w for w in warnings if "after today" in w]
    assert future.startswith("observations.csv, row 26, column 'period': '2071-06-01' is dated")
    assert not [w for w in warnings if "not updated" in w]
    assert not [w for w in warnings if "missing periods" in w]


# ---------------------------------------------------------------- Excel cells


def _formula_workspace(tmp_path: Path) -> Path:
    root = _workspace(tmp_path)
    (root / "observations.csv").unlink()
    (root / "people.csv").unlink()
    rows = _obs_rows()
    rows[2][3] = "=1/0"  # a formula openpyxl saves without a value: row 3
    rows[4][3] = "#DIV/0!"  # an error value: row 5
    _book(root / "observations.xlsx", {"data": rows})
    people = wsfactory.tables()["people"]
    prows = [list(people.columns), *people.to_numpy().tolist()]
    prows[2][1] = "#N/A"  # a name that is an error value: row 3
    _book(root / "people.xlsx", {"people": prows})
    return root


def test_excel_errors_and_formulas_without_values_are_named_not_empty(tmp_path):
    problems = _errors(_formula_workspace(tmp_path))
    assert not [p for p in problems if "is empty" in p]
    assert any(
        p.startswith("observations.xlsx, row 3, column 'value': is a formula without a saved")
        for p in problems
    )
    assert any(
        p.startswith(
            "observations.xlsx, row 5, column 'value': holds the Excel error value #DIV/0!"
        )
        for p in problems
    )
    assert any(
        p.startswith("people.xlsx, row 3, column 'name': holds the Excel error value #N/A")
        for p in problems
    )
    assert any("open the file in Excel and save it" in p for p in problems)
    assert len(problems) == 3


def test_a_formula_with_a_saved_value_reads_its_value(tmp_path):
    root = _workspace(tmp_path)
    (root / "observations.csv").unlink()
    rows = _obs_rows()
    rows[1][3] = "=5+5"
    _book(tmp_path / "f.xlsx", {"data": rows})
    # what Excel does on saving: the formula keeps its computed value beside it
    with (
        zipfile.ZipFile(tmp_path / "f.xlsx") as src,
        zipfile.ZipFile(root / "observations.xlsx", "w") as out,
    ):
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = data.replace(b"<f>5+5</f><v />", b"<f>5+5</f><v>10</v>")
                data = data.replace(b"<f>5+5</f><v/>", b"<f>5+5</f><v>10</v>")
            out.writestr(item, data)
    result = validate_workspace(root)
    assert result.ok, result.problems
    assert result.workspace is not None
    assert result.workspace.observations["value"].iloc[0] == 10


def test_excel_ids_longer_than_15_digits_are_named_not_called_duplicates(tmp_path):
    root = _workspace(tmp_path)
    (root / "people.csv").unlink()
    people = wsfactory.tables()["people"]
    rows = [list(people.columns), *people.to_numpy().tolist()]
    rows[1][0], rows[2][0] = 2**53, 2**53 + 1  # the same double in the file
    _book(root / "people.xlsx", {"people": rows})
    problems = _errors(root)
    assert not [p for p in problems if "more than one row" in p]
    (long_id,) = [
        p for p in problems if p.startswith("people.xlsx, rows 2, 3, column 'employee_id'")
    ]
    assert "more than 15 digits" in long_id and "format the column as Text" in long_id


def test_targets_with_full_width_digits_are_the_same_period(tmp_path):
    targets = wsfactory.tables()["targets"]
    targets["period"] = ["２０２６-Q3", "2026-Ｑ3"]
    result = validate_workspace(_workspace(tmp_path, targets=targets))
    assert result.ok, result.problems
    assert result.workspace is not None
    assert list(result.workspace.targets["period"]) == ["2026-Q3", "2026-Q3"]
    assert parse_period("２０２６-Q3").label == "2026-Q3"
