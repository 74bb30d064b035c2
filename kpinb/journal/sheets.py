"""Spreadsheet output that cannot run formulas: neutralised text, typed cells, atomic files.

A text cell that starts with ``= + - @``, tab, CR or LF is read as a formula by
spreadsheet programs (CSV injection, CWE-1236). Following OWASP, such text gets
a leading ``'`` and is stored as text; numbers and dates are never turned into
text, so ``-3`` stays the number -3. Files are written to a temporary file in
the target folder and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from kpinb.files import atomic_open

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
# characters an xlsx file cannot hold (XML 1.0); openpyxl refuses them
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
# values a cell keeps with their own type; anything else is written as text
_TYPED = (str, bool, int, float, decimal.Decimal, dt.date, dt.time, dt.timedelta)


def neutralise(value: Any) -> Any:
    """``value`` made safe for a spreadsheet: text starting with a trigger gets a ``'``,
    and so does text starting with ``'`` (so that :func:`unneutralise` gives it back
    exactly: ``'=Ann`` is written ``''=Ann``).

    Anything that is not text (numbers, dates, None) is returned unchanged.
    """
    if isinstance(value, str) and value.startswith((*TRIGGERS, "'")):
        return "'" + value
    return value


def unneutralise(value: Any) -> Any:
    """Undo :func:`neutralise`: ``'=x`` read back from an exported sheet becomes ``=x``,
    ``''x`` becomes ``'x``; a ``'`` before anything else is the text's own."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith((*TRIGGERS, "'")):
        return value[1:]
    return value


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as UTF-8 CSV (with BOM, for Excel): text neutralised and quoted.

    Every text cell is quoted (RFC 4180 quote doubling) and neutralised; numbers
    stay bare numbers. Dates are written as ``YYYY-MM-DD``.
    """
    out = frame.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for col in out.columns:
        out[col] = _csv_column(out[col])

    def write(handle: TextIO) -> None:
        out.to_csv(handle, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")

    return _atomic_write(Path(path), write, text=True)


def write_xlsx(
    frames: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    filters: bool = False,
    number_formats: Mapping[str, str] | None = None,
    widths: bool = False,
) -> Path:
    """Write one sheet per frame: text cells neutralised and typed ``s``, numbers and dates typed.

    Sheet names are made valid for Excel (31 characters, no ``[]:*?/\\``). The header
    row is frozen. ``filters``: an autofilter over each sheet's header and rows;
    ``number_formats``: an Excel number format per column name (``"0.00"``, ``"0.0%"``),
    applied to that column's numbers in every sheet; ``widths``: columns sized to their
    text (up to 60 characters).
    """
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.worksheets[0])  # the empty sheet a new workbook starts with
    used: set[str] = set()
    for name, frame in frames.items():
        sheet = book.create_sheet(_sheet_name(name, used))
        _fill_sheet(sheet, frame)
        _style_sheet(sheet, frame, filters, number_formats or {}, widths)
    return _atomic_write(Path(path), book.save, text=False)


def _style_sheet(
    sheet: Any, frame: pd.DataFrame, filters: bool, formats: Mapping[str, str], widths: bool
) -> None:
    """Autofilter, number formats and column widths, as asked."""
    from openpyxl.utils import get_column_letter

    if filters and len(frame.columns):
        sheet.auto_filter.ref = sheet.dimensions
    for col, name in enumerate(frame.columns, start=1):
        fmt = formats.get(str(name))
        cells = sheet.iter_rows(min_row=2, min_col=col, max_col=col, values_only=False)
        if fmt:
            for (cell,) in cells:
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    cell.number_format = fmt
        if widths:
            longest = max(
                [len(str(name))] + [len(str(v)) for v in frame[name].tolist() if not _missing(v)]
            )
            sheet.column_dimensions[get_column_letter(col)].width = min(60, longest + 2)


def _csv_column(series: pd.Series) -> pd.Series:
    """A column ready for CSV: dates as ISO text, text neutralised, missing as empty."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y-%m-%d").astype(object).where(series.notna(), None)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series
    return series.astype(object).map(_csv_value)


def _csv_value(value: Any) -> Any:
    """A CSV cell: numbers stay numbers, everything else is neutralised text."""
    value = _plain(value)
    if _missing(value):
        return None
    if isinstance(value, bool | int | float | decimal.Decimal):
        return value
    return neutralise(value.isoformat() if isinstance(value, dt.date) else str(value))


def _fill_sheet(sheet: Any, frame: pd.DataFrame) -> None:
    """Header row then one row per record, each cell typed by its value."""
    for col, name in enumerate(frame.columns, start=1):
        _set_cell(sheet.cell(row=1, column=col), str(name))
    for row, values in enumerate(frame.itertuples(index=False, name=None), start=2):
        for col, value in enumerate(values, start=1):
            _set_cell(sheet.cell(row=row, column=col), value)
    sheet.freeze_panes = "A2"


def _set_cell(cell: Any, value: Any) -> None:
    """Store ``value`` in ``cell`` with its real type; text is never a formula."""
    value = _plain(value)
    if _missing(value):
        return
    if not isinstance(value, _TYPED):  # tuples, Periods, ...: shown as their text
        value = str(value)
    if isinstance(value, str):
        cell.value = _ILLEGAL_XML.sub("\ufffd", neutralise(value))
        cell.data_type = "s"
    elif isinstance(value, dt.datetime | dt.date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd" if _is_midnight(value) else "yyyy-mm-dd hh:mm:ss"
    else:
        cell.value = value


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as plain Python values (Timestamp -> datetime)."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime() if not pd.isna(value) else None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _missing(value: Any) -> bool:
    """True for None, NaN and NaT (but not for text or containers)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _is_midnight(value: dt.date) -> bool:
    return not isinstance(value, dt.datetime) or value.time() == dt.time(0)


def _sheet_name(name: str, used: set[str]) -> str:
    """A unique, valid Excel sheet name derived from ``name``."""
    base = _SHEET_NAME_BAD.sub("_", str(name)).strip("'")[:31] or "sheet"
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def _atomic_write(path: Path, write: Callable[[Any], None], *, text: bool) -> Path:
    """Write through ``write`` into a temporary file, renamed into place when whole."""
    kwargs: dict[str, Any] = {"encoding": "utf-8-sig", "newline": ""} if text else {}
    with atomic_open(path, "w" if text else "wb", **kwargs) as handle:
        write(handle)
    return path
