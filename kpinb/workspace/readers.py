"""Reading workspace table files (CSV, Excel, Parquet) into raw frames of text.

Everything is read as text first, so ids keep their leading zeros and a bad
value can be reported with its row instead of failing the whole read; typing
happens in :mod:`kpinb.workspace.schema`. Large id and date columns come back as
categoricals (each distinct text parsed once).

A file is refused, with every reason, when reading it would mean choosing for the
person: two columns with one name (``value`` and ``Value ``), or an Excel workbook
whose data goes on past its first sheet. Excel cells that hold an error value or a
formula without a saved value are named as such, never read as empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype
from python_calamine import CalamineWorkbook, SheetTypeEnum

from kpinb.csvtext import delimiter_of
from kpinb.errors import Problem

EXTENSIONS = (".csv", ".xlsx", ".parquet")

# Excel keeps 15 significant digits of a number: a longer id stored as a number has
# lost its last digits (two ids may even have become one)
EXACT_DIGITS = 15


@dataclass(frozen=True)
class RawTable:
    """A table as read: text columns, the file's name, and how its rows are numbered.

    ``problems`` are the cells found wrong while reading (an Excel error value, a
    formula without a saved value, an id too long for a number); ``reported`` marks
    them per column, so later checks do not call them empty as well.
    """

    frame: pd.DataFrame
    file: str
    first_row: int  # the row number a person sees for frame row 0
    decimal_comma: bool = False
    problems: tuple[Problem, ...] = ()
    reported: dict[str, np.ndarray] = field(default_factory=dict)

    def reported_at(self, column: str) -> np.ndarray:
        """Boolean mask of the cells of ``column`` reported while reading."""
        return self.reported.get(column, np.zeros(len(self.frame), dtype=bool))


class TableRefused(ValueError):
    """A table file that kpinb will not read as it stands; ``problems`` says why, all of it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


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
    """Read ``path`` as text columns.

    Raises :class:`TableRefused` (with every problem) for a file kpinb will not guess
    about, ``ValueError`` or ``OSError`` (with the reason) when it is unreadable.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, categorical, numbers)
    if suffix == ".xlsx":
        return _read_excel(path, numbers)
    return _read_parquet(path, categorical)


def normalised(header: object) -> str:
    """A column's name as kpinb matches it: trimmed, lower case."""
    return str(header).strip().lower()


def _refuse_duplicates(file: str, headers: list[str], positions: list[str]) -> None:
    """Refuse headers that name one column twice once trimmed and lower-cased."""
    seen: dict[str, list[int]] = {}
    for i, header in enumerate(headers):
        if normalised(header):
            seen.setdefault(normalised(header), []).append(i)
    problems = [
        Problem(
            file,
            f"{len(at)} columns are named '{name}' once spaces and capitals are set aside: "
            + " and ".join(f"column {positions[i]} ({headers[i]!r})" for i in at)
            + "; kpinb will not choose one",
            "keep one of these columns: delete the other, or rename it if it holds something else",
            column=name,
        )
        for name, at in seen.items()
        if len(at) > 1
    ]
    if problems:
        raise TableRefused(problems)


# ---------------------------------------------------------------- CSV


def _first_line(path: Path) -> str:
    """The header line, whichever line ending the file uses (CR-only included)."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
        while head and not re.search(rb"[\r\n]", head):
            more = fh.read(1 << 16)
            if not more:
                break
            head += more
    line = re.split(rb"\r\n|\r|\n", head, maxsplit=1)[0]
    return line.decode("utf-8-sig", errors="replace")


def _read_csv(path: Path, categorical: tuple[str, ...], numbers: tuple[str, ...]) -> RawTable:
    """Read a CSV with pyarrow; number columns are parsed directly when every cell is one."""
    head = _first_line(path)
    delimiter = delimiter_of(head)
    headers = next(csv.reader([head], delimiter=delimiter), [])
    _refuse_duplicates(path.name, headers, [str(i + 1) for i in range(len(headers))])
    # a column without a header (a trailing delimiter) is an extra column, like any other
    names = [normalised(c) or f"(column {i + 1}, no header)" for i, c in enumerate(headers)]
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
    # column by column, each Arrow column freed once converted: the file is never held twice
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    pa.default_memory_pool().release_unused()
    return RawTable(_strip(frame), path.name, first_row=2, decimal_comma=delimiter == ";")


# ---------------------------------------------------------------- Excel


def _read_excel(path: Path, numbers: tuple[str, ...]) -> RawTable:
    """The first sheet of a workbook, read with calamine (cached values of formulas).

    Refused when another sheet holds data too, or two columns share a name.
    """
    book = CalamineWorkbook.from_path(str(path))
    sheets = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    if not sheets:
        raise ValueError("the workbook has no worksheet")
    rows = book.get_sheet_by_name(sheets[0]).to_python(skip_empty_area=False)
    header = [("" if c is None else str(c)) for c in rows[0]] if rows else []
    problems = _extra_sheets(path.name, book, sheets, header)
    try:
        _refuse_duplicates(path.name, header, [_letters(i) for i in range(len(header))])
    except TableRefused as dup:
        problems = dup.problems + problems
    if problems:
        raise TableRefused(problems)
    names = [normalised(c) or f"(column {_letters(i)}, no header)" for i, c in enumerate(header)]
    body = rows[1:]
    while body and all(c in ("", None) for c in body[-1]):  # formatted but empty rows
        body.pop()
    columns = {
        name: pd.Series([r[i] if i < len(r) else "" for r in body], dtype=object)
        for i, name in enumerate(names)
    }
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(body)))
    frame = frame.replace("", np.nan) if len(frame) else frame
    long_numbers = {
        name: np.flatnonzero(frame[name].map(_long_number).to_numpy(bool))
        for name in names
        if name not in numbers
    }
    return _with_cell_problems(
        path, sheets[0], names, _text_frame(frame, numbers=numbers), long_numbers
    )


def _letters(i: int) -> str:
    """Excel's name of the column at position ``i`` (0 -> A, 26 -> AA)."""
    out = ""
    i += 1
    while i:
        i, rest = divmod(i - 1, 26)
        out = chr(65 + rest) + out
    return out


def _extra_sheets(
    file: str, book: CalamineWorkbook, sheets: list[str], header: list[str]
) -> list[Problem]:
    """One problem naming every sheet after the first that holds data, with its rows."""
    described = []
    for name in sheets[1:]:
        rows = book.get_sheet_by_name(name).to_python()
        filled = [r for r in rows if any(c not in ("", None) for c in r)]
        if not filled:
            continue
        same = [normalised(c) for c in filled[0] if c not in ("", None)] == [
            normalised(c) for c in header if c
        ]
        if same:
            described.append(f"'{name}' ({len(filled) - 1:,} rows of data under the same columns)")
        else:
            described.append(f"'{name}' ({len(filled):,} rows that are not empty)")
    if not described:
        return []
    return [
        Problem(
            file,
            f"only the first sheet ('{sheets[0]}') holds a table, but {len(described)} more "
            f"sheet(s) hold data that would not be read: {', '.join(described)}",
            "keep one sheet per table: move those rows under the first sheet's rows "
            "(the same columns), delete sheets that are not data, or save a table too "
            "long for one sheet as .csv or .parquet",
        )
    ]


def _with_cell_problems(
    path: Path,
    sheet: str,
    names: list[str],
    frame: pd.DataFrame,
    long_numbers: dict[str, np.ndarray],
) -> RawTable:
    """The Excel table with its error cells, formulas without values and long ids named."""
    problems: list[Problem] = []
    reported: dict[str, np.ndarray] = {}

    def note(column: str, index: list[int], what: str, fix: str) -> None:
        if not index:
            return
        rows = sorted(i + 2 for i in index)
        mask = reported.setdefault(column, np.zeros(len(frame), dtype=bool))
        mask[np.asarray(index, dtype=np.int64)] = True
        problems.append(
            Problem(path.name, what, fix, column=column, rows=tuple(rows[:5]), count=len(rows))
        )

    errors: dict[str, dict[str, list[int]]] = {}
    formulas: dict[str, list[int]] = {}
    for row, col, kind, text in _cells_without_values(path, sheet):
        if row < 1 or col >= len(names) or row - 1 >= len(frame):
            continue
        if kind == "error":
            errors.setdefault(names[col], {}).setdefault(text, []).append(row - 1)
        else:
            formulas.setdefault(names[col], []).append(row - 1)
    for column, by_code in errors.items():
        for code, index in by_code.items():
            note(
                column,
                index,
                f"holds the Excel error value {code} (a formula that failed), not a value",
                "correct the formula or the cells it uses, or type the value",
            )
    for column, index in formulas.items():
        note(
            column,
            index,
            "is a formula without a saved value (the file was written by a program "
            "that does not compute formulas)",
            "open the file in Excel and save it, so each formula's value is stored",
        )
    for column, long_ids in long_numbers.items():
        if len(long_ids):
            shown = ", ".join(str(v) for v in frame[column].iloc[long_ids[:3]])
            note(
                column,
                [int(i) for i in long_ids],
                f"holds an id stored as a number of more than {EXACT_DIGITS} digits ({shown}); "
                f"Excel keeps only {EXACT_DIGITS} digits of a number, so its last digits "
                "may have changed",
                "format the column as Text in Excel and type these ids again, or export "
                "the table as .csv",
            )
    for column, mask in reported.items():
        frame[column] = frame[column].mask(pd.Series(mask, index=frame.index))
    return RawTable(frame, path.name, first_row=2, problems=tuple(problems), reported=reported)


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_part(book: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding ``sheet``'s cells (from the workbook's relationships)."""
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    rid = next((s.get(_REL) for s in workbook.iter(f"{_NS}sheet") if s.get("name") == sheet), None)
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rid:
            target = rel.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return str(PurePosixPath("xl") / target)
    return None


def _cells_without_values(path: Path, sheet: str) -> list[tuple[int, int, str, str]]:
    """(row from 0, column from 0, "error" or "formula", text) of each cell whose value is
    an Excel error or a formula that has no saved value.

    calamine reads both as empty cells, so the sheet's XML is looked at; only when it
    holds formulas or error values at all (an export holds neither).
    """
    with zipfile.ZipFile(path) as book:
        part = _sheet_part(book, sheet)
        if part is None or part not in book.namelist():
            return []
        with book.open(part) as fh:
            tail = b""
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                if b"<f" in tail + chunk or b't="e"' in tail + chunk:
                    break
                tail = chunk[-8:]
            else:
                return []
        found = []
        with book.open(part) as fh:
            for _, cell in ElementTree.iterparse(fh):
                if cell.tag != f"{_NS}c":
                    if cell.tag == f"{_NS}row":
                        cell.clear()
                    continue
                value = cell.find(f"{_NS}v")
                text = (value.text or "") if value is not None else ""
                if cell.get("t") == "e":
                    kind = "error"
                elif cell.find(f"{_NS}f") is not None and not text:
                    kind = "formula"
                else:
                    continue
                row, col = _cell_position(cell.get("r", ""))
                if row >= 0:
                    found.append((row, col, kind, text or "#N/A"))
        return found


def _cell_position(ref: str) -> tuple[int, int]:
    """``"C7"`` -> (6, 2); (-1, -1) when the reference is missing."""
    m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    if not m:
        return -1, -1
    col = 0
    for ch in m[1]:
        col = col * 26 + ord(ch) - 64
    return int(m[2]) - 1, col - 1


# ---------------------------------------------------------------- Parquet


def _read_parquet(path: Path, categorical: tuple[str, ...]) -> RawTable:
    """Read a Parquet file; text id and date columns come back as categoricals directly."""
    schema = pq.read_schema(path)
    _refuse_duplicates(path.name, schema.names, [str(i + 1) for i in range(len(schema.names))])
    wanted = [
        f.name
        for f in schema
        if normalised(f.name) in categorical
        and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    # dates as Python dates (any year); timestamps keep their unit, so 1500 or 2500 reads
    table = pq.read_table(path, read_dictionary=wanted)
    frame: pd.DataFrame = table.to_pandas(
        date_as_object=True,
        coerce_temporal_nanoseconds=False,
        split_blocks=True,  # each Arrow column freed once converted, as for a CSV
        self_destruct=True,
    )
    del table
    pa.default_memory_pool().release_unused()
    return RawTable(_text_frame(frame, categorical), path.name, first_row=1)


def raw_from_frame(
    frame: pd.DataFrame,
    label: str,
    categorical: tuple[str, ...] = (),
    numbers: tuple[str, ...] = (),
) -> RawTable:
    """Rows read elsewhere (a database query's result), typed as returned, as a table read
    from a file: numbers and dates stay typed, other cells become text, rows count from 1.

    Raises :class:`TableRefused` when two columns share a name once trimmed and lower-cased.
    """
    headers = [str(c) for c in frame.columns]
    _refuse_duplicates(label, headers, [str(i + 1) for i in range(len(headers))])
    frame = frame.set_axis(headers, axis=1)
    return RawTable(_text_frame(frame, categorical, numbers), label, first_row=1)


# ---------------------------------------------------------------- text


def _text_frame(
    frame: pd.DataFrame, categorical: tuple[str, ...] = (), numbers: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Typed files (Excel, Parquet): numbers and dates stay typed, other cells become text.

    Columns of mixed cells (Excel) are turned cell by cell into the text a CSV
    would hold; :func:`kpinb.workspace.schema.type_table` turns numeric ids into text.
    """
    frame = frame.rename(columns=normalised)
    out = {}
    for name, col in frame.items():
        if is_numeric_dtype(col) or is_datetime64_any_dtype(col):
            out[name] = col
        elif name in categorical and len(col) > 10_000:
            cat = col.astype("category")
            out[name] = cat.cat.rename_categories([_cell_text(v) for v in cat.cat.categories])
        else:
            if col.dtype == object and name in numbers and not col.map(_is_bool).any():
                typed = pd.to_numeric(col, errors="coerce")
                if (typed.notna() == col.notna()).all():
                    out[name] = typed.astype("float64")
                    continue
            out[name] = col.map(_cell_text, na_action="ignore").astype("string")
    return _strip(pd.DataFrame(out, index=frame.index, copy=False))


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _long_number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and abs(value) >= 10**EXACT_DIGITS
    )


def _cell_text(value: object) -> str:
    """A typed cell as a CSV would hold it (dates as YYYY-MM-DD, whole numbers bare).

    Dates are written from their own fields, so a year pandas cannot hold (9999, 1500)
    reaches the date check as text instead of failing here.
    """
    if isinstance(value, dt.datetime):
        day = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        if value.time() == dt.time(0) and value.tzinfo is None:
            return day
        return day + "T" + value.isoformat().split("T", 1)[1]
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
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
