"""Wide exports: a table with one column per week or one column per KPI, melted to the
long table the loader checks.

A spreadsheet export often holds a person's KPI on one line with a column per week
(``employee_id, kpi_id, 2026-07-06, 2026-07-13, ...``), or a person's week on one line
with a column per KPI (``employee_id, period, revenue_closed, calls, ...``). The
settings file says which (``[wide.observations]`` in ``kpinb.toml``, docs/workspace.md);
:func:`melt` turns the table long with pandas (``DataFrame.melt``), one row per filled
cell, and keeps where each row came from (:class:`Cells`), so that every problem found
later names the cell of the file a person would fix (:func:`in_cells`): row 5, column
'2026-07-13', not a row of a table they never saw.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from kpinb.errors import Problem
from kpinb.settings import SETTINGS_FILE
from kpinb.workspace.readers import RawTable, normalised

# what a wide table's columns may be, and the long column their headers become
LAYOUTS = {"weeks": "period", "kpis": "kpi_id"}
# the tables a wide export may hold, and the id columns each layout needs
WIDE_TABLES = {
    "observations": {
        "weeks": ("employee_id", "kpi_id"),
        "kpis": ("employee_id", "period"),
    }
}
KEYS = ("columns", "id_columns")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ]00:00(?::00)?)?$", re.ASCII)


@dataclass(frozen=True)
class WideLayout:
    """How one table is laid out wide: ``columns`` is ``weeks`` (a column per week or
    month, headed by its first day) or ``kpis`` (a column per KPI, headed by its id);
    ``id_columns`` are kept as they are on every melted row."""

    table: str
    columns: str
    id_columns: tuple[str, ...]

    @property
    def header_column(self) -> str:
        """The long column the melted headers become (``period`` or ``kpi_id``)."""
        return LAYOUTS[self.columns]


@dataclass(frozen=True)
class Cells:
    """Where each row of a melted table came from: the file's row number and the
    header of the column its value was in."""

    file: str
    rows: np.ndarray  # the row number a person sees in the file, per melted row
    columns: np.ndarray  # the original column's header, per melted row
    id_columns: tuple[str, ...]


def wide_layouts(
    sections: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, WideLayout], list[Problem]]:
    """The wide layouts of the settings' ``[wide]`` section, with every problem in it."""
    wide = sections.get("wide") or {}
    layouts: dict[str, WideLayout] = {}
    problems: list[Problem] = []

    def bad(key: str, problem: str, fix: str) -> None:
        problems.append(Problem(SETTINGS_FILE, problem, fix, column=f"wide.{key}"))

    for table, value in wide.items():
        if table not in WIDE_TABLES:
            bad(
                table,
                "is not a table kpinb reads wide",
                f"use [wide.{' / '.join(WIDE_TABLES)}] (docs/workspace.md, 'Wide exports')",
            )
            continue
        if not isinstance(value, Mapping):
            bad(table, "is a value, not a section", f"write it as a table: [wide.{table}]")
            continue
        for key in value:
            if key not in KEYS:
                bad(f"{table}.{key}", "is not a key kpinb knows", f"use one of: {', '.join(KEYS)}")
        columns = value.get("columns")
        if columns not in LAYOUTS:
            bad(
                f"{table}.columns",
                f"is {columns!r}, not one of {', '.join(map(repr, LAYOUTS))}",
                'say what the columns are: "weeks" (one column per week or month, headed '
                'by its first day) or "kpis" (one column per KPI, headed by its id)',
            )
            continue
        ids = value.get("id_columns")
        needed = WIDE_TABLES[table][columns]
        if (
            not isinstance(ids, list)
            or not ids
            or not all(isinstance(c, str) and c.strip() for c in ids)
        ):
            bad(
                f"{table}.id_columns",
                f"is {ids!r}, not a list of column names",
                f"list the columns kept on every row, such as id_columns = {list(needed)}",
            )
            continue
        names = tuple(normalised(c) for c in ids)
        missing = [c for c in needed if c not in names]
        if missing:
            bad(
                f"{table}.id_columns",
                f"does not name {', '.join(missing)}, which a table with a column per "
                f"{'week' if columns == 'weeks' else 'KPI'} needs",
                f"add {', '.join(missing)} to id_columns",
            )
            continue
        if LAYOUTS[columns] in names or "value" in names:
            bad(
                f"{table}.id_columns",
                f"names {LAYOUTS[columns]!r} or 'value', which the melted columns become",
                "list only the columns that stay as they are",
            )
            continue
        layouts[table] = WideLayout(table, columns, names)
    return layouts, problems


def melt(
    raw: RawTable, layout: WideLayout, categorical: tuple[str, ...] = ()
) -> tuple[RawTable | None, Cells | None, list[Problem]]:
    """``raw`` melted long: one row per filled cell of its week or KPI columns (the
    ``categorical`` columns as categories, as the long table's reader makes them).

    Returns the long table (its row numbers are positions; :func:`in_cells` names the
    file's cells), where each row came from, and the problems of the layout itself (a
    missing id column, no column to melt, a week header that is no date). Empty cells
    are weeks or KPIs without a value: they make no row.
    """
    frame = raw.frame
    ids = list(layout.id_columns)
    missing = [c for c in ids if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        return (
            None,
            None,
            [
                Problem(
                    raw.file,
                    f"missing id column(s) {', '.join(missing)} named by [wide.{layout.table}] "
                    f"of {SETTINGS_FILE} (found: {found})",
                    f"add the column(s), or correct id_columns in {SETTINGS_FILE}",
                    column=", ".join(missing),
                )
            ],
        )
    melted = [c for c in frame.columns if c not in ids]
    what = "week" if layout.columns == "weeks" else "KPI"
    if not melted:
        return (
            None,
            None,
            [
                Problem(
                    raw.file,
                    f"has no {what} columns to read: every column is an id column",
                    f"add one column per {what}, or read the table long (remove "
                    f"[wide.{layout.table}] from {SETTINGS_FILE})",
                )
            ],
        )
    headers = {c: str(c) for c in melted}
    if layout.columns == "weeks":
        dates = {c: _date(c) for c in melted}
        wrong = [c for c, d in dates.items() if d is None]
        if wrong:
            return (
                None,
                None,
                [
                    Problem(
                        raw.file,
                        f"the header of column(s) {', '.join(map(repr, wrong))} is not a date "
                        f'(row 1): with columns = "weeks" every column other than '
                        f"{', '.join(ids)} is a week or month, headed by its first day",
                        "write each such header as YYYY-MM-DD, or list the column in id_columns",
                        column=", ".join(wrong),
                    )
                ],
            )
        headers = {c: str(d) for c, d in dates.items()}
    rows = np.arange(len(frame), dtype=np.int64) + raw.first_row
    # the melted names cannot be a header: headers are trimmed, lower-case text
    cells = frame.assign(**{" row": rows}).melt(
        id_vars=[*ids, " row"],
        value_vars=melted,
        var_name=" column",
        value_name=" value",
    )
    value = cells[" value"]
    filled = (value.notna() & (value.astype("string").str.strip() != "")).to_numpy(bool)
    position = np.arange(len(cells))
    # cells melt column by column; a person reads the file row by row
    order = np.lexsort((position, cells[" row"].to_numpy()))
    order = order[filled[order]]
    cells = cells.iloc[order].reset_index(drop=True)
    original = cells[" column"].to_numpy(dtype=object)
    long = cells[ids].assign(
        **{layout.header_column: pd.Series(original, dtype=object).map(headers)},
        value=cells[" value"],
    )
    for column in long.columns.intersection(list(categorical)):
        long[column] = long[column].astype(object).astype("category")
    reported = {}
    source_row = (cells[" row"].to_numpy() - raw.first_row).astype(np.int64)
    for column in ids:
        if column in raw.reported:
            reported[column] = raw.reported[column][source_row]
    marks = [raw.reported_at(c) for c in melted]
    if any(m.any() for m in marks):
        grid = np.stack(marks, axis=1)
        which = np.array([melted.index(c) for c in original], dtype=np.int64)
        reported["value"] = grid[source_row, which]
    out = RawTable(
        long,
        raw.file,
        first_row=0,
        decimal_comma=raw.decimal_comma,
        reported=reported,
    )
    where = Cells(raw.file, cells[" row"].to_numpy(dtype=np.int64), original, tuple(ids))
    return out, where, []


def in_cells(problem: Problem, cells: Cells) -> Problem:
    """``problem`` (found on the melted table) said of the file's cells: rows as the file
    numbers them and the original column, for a value or a melted header its own
    column's header ('2026-07-13', 'revenue_closed')."""
    if problem.file != cells.file or not problem.rows:
        return problem
    at = np.asarray(problem.rows, dtype=np.int64)
    at = at[(at >= 0) & (at < len(cells.rows))]
    rows = tuple(int(r) for r in cells.rows[at])
    if problem.column in cells.id_columns:
        return replace(problem, rows=rows)
    columns = list(dict.fromkeys(str(c) for c in cells.columns[at]))
    if len(columns) == 1:
        return replace(problem, rows=rows, column=columns[0])
    shown = ", ".join(f"row {r} column '{c}'" for r, c in zip(rows, cells.columns[at], strict=True))
    return replace(problem, rows=rows, column=None, problem=f"{problem.problem} (cells: {shown})")


def _date(header: object) -> str | None:
    """``2026-07-13`` for a date header (Excel's ``2026-07-13 00:00:00`` too), or None."""
    m = _DATE.match(str(header).strip())
    if m is None:
        return None
    try:
        return pd.Timestamp(m[1]).date().isoformat()
    except ValueError:
        return None
