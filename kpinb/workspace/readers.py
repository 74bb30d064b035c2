"""Reading workspace table files (CSV, Excel, Parquet) into raw frames of text.

Everything is read as text first, so ids keep their leading zeros and a bad
value can be reported with its row instead of failing the whole read; typing
happens in :mod:`kpinb.workspace.schema`. Large id and date columns come back as
categoricals (each distinct text parsed once).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from kpinb.csvtext import delimiter_of
from kpinb.errors import Problem

EXTENSIONS = (".csv", ".xlsx", ".parquet")


@dataclass(frozen=True)
class RawTable:
    """A table as read: text columns, the file's name, and how its rows are numbered."""

    frame: pd.DataFrame
    file: str
    first_row: int  # the row number a person sees for frame row 0
    decimal_comma: bool = False


def find_table(root: Path, name: str) -> tuple[Path | None, list[Problem]]:
    """The one file holding table ``name`` (``people.csv``, ``people.xlsx``, ...)."""
    found = [root / f"{name}{ext}" for ext in EXTENSIONS if (root / f"{name}{ext}").is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        return None, [
            Problem(
                names, f"{len(found)} files hold the '{name}' table", f"keep exactly one of {names}"
            )
        ]
    return (found[0] if found else None), []


def read_table(
    path: Path, categorical: tuple[str, ...] = (), numbers: tuple[str, ...] = ()
) -> RawTable:
    """Read ``path`` as text columns; raises ``ValueError`` (with the reason) when unreadable."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, categorical, numbers)
    if suffix == ".xlsx":
        # only an empty cell is empty: "NA", "N/A", "null" are text (a department, a name)
        frame = pd.read_excel(
            path, dtype=object, engine="openpyxl", keep_default_na=False, na_values=[""]
        )
        return RawTable(_text_frame(frame), path.name, first_row=2)
    return RawTable(
        _text_frame(_read_parquet(path, categorical), categorical), path.name, first_row=1
    )


def _read_parquet(path: Path, categorical: tuple[str, ...]) -> pd.DataFrame:
    """Read a Parquet file; text id and date columns come back as categoricals directly."""
    schema = pq.read_schema(path)
    wanted = [
        f.name
        for f in schema
        if f.name.strip().lower() in categorical
        and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    frame: pd.DataFrame = pq.read_table(path, read_dictionary=wanted).to_pandas()
    return frame


def _read_csv(path: Path, categorical: tuple[str, ...], numbers: tuple[str, ...]) -> RawTable:
    """Read a CSV with pyarrow; number columns are parsed directly when every cell is one."""
    with path.open("rb") as fh:
        head = fh.readline().decode("utf-8-sig", errors="replace")
    delimiter = delimiter_of(head)
    names = [
        c.strip().lower() for c in next(csv.reader([head.rstrip("\r\n")], delimiter=delimiter))
    ]
    text = pa.dictionary(pa.int32(), pa.string())
    types = {n: (text if n in categorical else pa.string()) for n in names}
    # fast path: numbers as numbers ('.' then, in semicolon files, ',' as the decimal point);
    # slow path: everything as text, so each bad cell can be named
    decimals = (".", ",") if delimiter == ";" else (".",)
    # (parsing in parallel needs no line breaks inside quoted cells: retry with them)
    attempts = [
        (d, {**types, **{n: pa.float64() for n in numbers if n in names}}, nl)
        for nl in (False, True)
        for d in decimals
    ] + [(".", types, True)]
    for decimal, column_types, newlines in attempts:
        try:
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines),
                convert_options=pacsv.ConvertOptions(
                    column_types=column_types,
                    null_values=[""],  # only an empty cell is empty: "NA" is a name
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    decimal_point=decimal,
                ),
            )
            break
        except pa.ArrowInvalid:
            if column_types is types:
                raise
    frame = table.to_pandas()
    return RawTable(_strip(frame), path.name, first_row=2, decimal_comma=delimiter == ";")


def _text_frame(frame: pd.DataFrame, categorical: tuple[str, ...] = ()) -> pd.DataFrame:
    """Typed files (Excel, Parquet): numbers and dates stay typed, other cells become text.

    Columns of mixed cells (Excel) are turned cell by cell into the text a CSV
    would hold; :func:`kpinb.workspace.schema.type_table` turns numeric ids into text.
    """
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    out = {}
    for name, col in frame.items():
        if is_numeric_dtype(col) or is_datetime64_any_dtype(col):
            out[name] = col
        elif name in categorical and len(col) > 10_000:
            cat = col.astype("category")
            out[name] = cat.cat.rename_categories([_cell_text(v) for v in cat.cat.categories])
        else:
            out[name] = col.map(_cell_text, na_action="ignore").astype("string")
    return _strip(pd.DataFrame(out, index=frame.index, copy=False))


def _cell_text(value: object) -> str:
    if isinstance(value, pd.Timestamp) or hasattr(value, "isoformat"):
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]  # a date or time, tested above
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _strip(frame: pd.DataFrame) -> pd.DataFrame:
    """Trim stray spaces around every text cell; blank cells become missing."""
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = col.cat.categories.astype(str).str.strip()
            if cats.duplicated().any():  # " E1" and "E1" are one id: slow path, rare
                col = col.astype("string").str.strip().astype("category")
            else:
                # pandas-stubs: an Index is list-like here, as pandas documents
                col = col.cat.rename_categories(cats)  # type: ignore[arg-type]
            if "" in col.cat.categories:
                col = col.cat.remove_categories([""])
            frame[name] = col
        elif col.dtype == object or pd.api.types.is_string_dtype(col):
            stripped = col.astype("string").str.strip()
            frame[name] = stripped.mask(stripped == "")
    return frame
