"""Spreadsheet output: no formula injection, typed cells, atomic files."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kpinb.journal.sheets import neutralise, unneutralise, write_csv, write_xlsx

HOSTILE = ["=1+2", "+1+2", "-3 calls", "@SUM(1)", "\tx", "\rx", "\nx", '=1+2";=1+2']
HARMLESS = ["plain", "a=b", "", "3-2", " =1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_neutralise_prefixes_every_formula_trigger(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", [*HARMLESS, -3, 2.5, None, dt.date(2026, 1, 1)])
def test_neutralise_leaves_other_values_alone(value: object) -> None:
    assert neutralise(value) == value


@pytest.mark.parametrize("text", HOSTILE + HARMLESS + ["'plain", "'"])
def test_unneutralise_undoes_neutralise(text: str) -> None:
    assert unneutralise(neutralise(text)) == text


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": [*HOSTILE, "ok", None],
            "number": [-3, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            "ratio": [0.5, -1.25, np.nan, 1, 1, 1, 1, 1, 1, 1],
            "when": pd.to_datetime(["2026-07-01"] * 9 + [None]),
        }
    )


def test_xlsx_text_is_neutralised_and_numbers_and_dates_stay_typed(tmp_path) -> None:
    path = write_xlsx({"data": _frame()}, tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(path)["data"]
    rows = list(sheet.iter_rows(min_row=2))
    for row, text in zip(rows, HOSTILE, strict=False):
        cell = row[0]  # XML reading turns a bare CR into LF; the cell is text either way
        assert (cell.value, cell.data_type) == ("'" + text.replace("\r", "\n"), "s")
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    assert (rows[0][1].value, rows[0][1].data_type) == (-3, "n")
    assert (rows[1][2].value, rows[1][2].data_type) == (-1.25, "n")
    assert rows[2][2].value is None  # NaN is an empty cell, not the text "nan"
    assert rows[0][3].value == dt.datetime(2026, 7, 1)
    assert rows[0][3].is_date and rows[0][3].number_format == "yyyy-mm-dd"
    assert rows[8][0].value == "ok" and rows[9][0].value is None and rows[9][3].value is None


def test_xlsx_sheet_names_are_made_valid_and_unique(tmp_path) -> None:
    frames = {"a/b:c": _frame().head(1), "a?b*c": _frame().head(1), "x" * 40: _frame().head(1)}
    book = openpyxl.load_workbook(write_xlsx(frames, tmp_path / "out.xlsx"))
    assert book.sheetnames == ["a_b_c", "a_b_c (2)", "x" * 31]


def test_csv_quotes_and_neutralises_text_and_keeps_numbers_bare(tmp_path) -> None:
    frame = pd.DataFrame({"=head": ['=1+2";=1+2', "fine"], "n": [-3, 4]})
    raw = write_csv(frame, tmp_path / "out.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 correctly
    lines = raw.decode("utf-8-sig").split("\r\n")
    # OWASP's own example: =1+2";=1+2 becomes "'=1+2"";=1+2"
    assert lines[:3] == ['"\'=head","n"', '"\'=1+2"";=1+2",-3', '"fine",4']
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert parsed[1] == ["'=1+2\";=1+2", "-3"]


def test_csv_writes_dates_as_iso_text(tmp_path) -> None:
    frame = pd.DataFrame({"d": pd.to_datetime(["2026-07-01", None])})
    text = write_csv(frame, tmp_path / "out.csv").read_bytes().decode("utf-8-sig")
    assert text.split("\r\n")[:3] == ['"d"', '"2026-07-01"', '""']


def test_other_objects_are_written_as_neutralised_text(tmp_path) -> None:
    frame = pd.DataFrame({"x": [("a", "b"), pd.Period("2026Q3")], "y": [dt.time(9), "-x"]})
    sheet = openpyxl.load_workbook(write_xlsx({"s": frame}, tmp_path / "o.xlsx"))["s"]
    assert [c.value for c in sheet["A"]][1:] == ["('a', 'b')", "2026Q3"]
    assert [c.value for c in sheet["B"]][1:] == [dt.time(9), "'-x"]


def test_csv_neutralises_text_made_from_other_objects(tmp_path) -> None:
    frame = pd.DataFrame({"x": [pd.Timedelta(days=-1), 5, dt.date(2026, 7, 1)]})
    text = write_csv(frame, tmp_path / "o.csv").read_bytes().decode("utf-8-sig")
    assert text.split("\r\n")[1:4] == ['"\'-1 days +00:00:00"', "5", '"2026-07-01"']


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch) -> None:
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"old")

    def half_then_fail(self: object, handle) -> None:  # the disk fills up mid-file
        handle.write(b"PK half a zip")
        raise OSError("No space left on device")

    monkeypatch.setattr(openpyxl.Workbook, "save", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        write_xlsx({"data": _frame()}, target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]
