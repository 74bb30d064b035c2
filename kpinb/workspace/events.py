"""Observations computed from event tables (a KPI's ``from:`` in ``kpis.yaml``).

An event table (a CRM's opportunities: one row per deal) is read like any table, from
``events/NAME.csv`` (``.xlsx``, ``.parquet``) or ``[sources.NAME]``. A KPI defined
``from`` it becomes one observation per person and period (the KPI's cadence: the week
the date falls in, or its month):

- ``count``: the rows passing ``where``; ``sum`` / ``mean``: of ``column`` over them;
- ``ratio``: the rows passing ``numerator`` and those passing ``denominator`` (all rows
  passing ``where`` by default), the two counts of a ratio KPI.

A count or a sum is 0 for a period without events, from the person's first event in
the table to the table's last period (every period the table covers is a period seen);
a mean, and a ratio with nothing below the line, have no value then (a missing period,
never a zero). The rows a KPI uses are checked here, named by the event table's row:
a missing column, an empty person, a date or a number that cannot be read, an
employee id that is not in people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kpinb.errors import Problem
from kpinb.kpis import EventSource, KpiSpec
from kpinb.settings import WEEKDAYS
from kpinb.workspace.readers import RawTable
from kpinb.workspace.schema import examples, summarise, to_dates, to_numbers

EVENTS_FOLDER = "events"
COLUMNS = ("employee_id", "kpi_id", "period", "value", "numerator", "denominator")


def event_tables(kpis: Mapping[str, KpiSpec]) -> list[str]:
    """The event tables the KPIs read, each once, in the dictionary's order."""
    return list(dict.fromkeys(k.events.events for k in kpis.values() if k.events))


def event_observations(
    tables: Mapping[str, RawTable],
    kpis: Mapping[str, KpiSpec],
    people: set[str] | None,
    week_start: str = "monday",
) -> tuple[pd.DataFrame, list[Problem]]:
    """The observations of every KPI defined ``from`` an event table in ``tables`` (one
    frame of :data:`COLUMNS`), and every problem found in the rows they use (a cell
    that several KPIs read is named once, with those KPIs).

    ``people``: the known employee ids (None when people could not be read: not checked).
    """
    frames: list[pd.DataFrame] = []
    found: dict[tuple[str, str, str], _Cells] = {}
    for kpi in kpis.values():
        source = kpi.events
        if source is None or source.events not in tables:
            continue
        raw = tables[source.events]
        frame, cells = _one_kpi(raw, kpi, source, people, week_start)
        for cell in cells:
            key = (raw.file, cell.column, cell.what)
            if key in found:
                found[key].mask |= cell.mask
                found[key].kpis.append(kpi.id)
            else:
                found[key] = cell
                cell.kpis.append(kpi.id)
        if frame is not None:
            frames.append(frame)
    problems = [cell.problem(tables_by_file(tables)[file]) for (file, _, _), cell in found.items()]
    if problems or not frames:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in COLUMNS}), problems
    return pd.concat(frames, ignore_index=True), problems


def tables_by_file(tables: Mapping[str, RawTable]) -> dict[str, RawTable]:
    """The event tables by the name their messages give them."""
    return {raw.file: raw for raw in tables.values()}


@dataclass
class _Cells:
    """Cells of one column of an event table found wrong in one way."""

    column: str
    what: str
    mask: np.ndarray
    values: pd.Series
    fix: str
    kpis: list[str] = field(default_factory=list)
    show_values: bool = True

    def problem(self, raw: RawTable) -> Problem:
        index = np.flatnonzero(self.mask)
        shown = f"{examples(self.values.iloc[index])} " if self.show_values else ""
        read = ", ".join(repr(k) for k in self.kpis)
        return summarise(
            raw.file,
            self.column,
            index + raw.first_row,
            f"{shown}{self.what} (read for the KPI(s) {read})",
            self.fix,
        )


def _dtype(column: str) -> str:
    if column == "period":
        return "datetime64[ns]"
    return "float64" if column in ("value", "numerator", "denominator") else "str"


FIX = "correct the cell in the event table, or leave the row out with the KPI's from.where"


def _one_kpi(
    raw: RawTable, kpi: KpiSpec, source: EventSource, people: set[str] | None, week_start: str
) -> tuple[pd.DataFrame | None, list[_Cells]]:
    table = raw.frame
    missing = [c for c in source.columns if c not in table.columns]
    if missing:
        return None, [
            _Cells(
                c,
                "is not a column of the table (kpis.yaml names it under from:)",
                np.zeros(max(len(table), 1), dtype=bool),
                pd.Series(dtype=object),
                f"add the column, or name one of: {', '.join(map(str, table.columns))}",
                show_values=False,
            )
            for c in missing
        ]
    cells: list[_Cells] = []

    def note(column: str, mask: np.ndarray, what: str, fix: str = FIX, show: bool = True) -> None:
        if mask.any():
            cells.append(_Cells(column, what, mask, table[column], fix, show_values=show))

    filters = [f for f in (source.where, source.numerator, source.denominator) if f]
    numeric = {c for f in filters for c in f.numeric_columns()}
    numeric |= {source.column} if source.column else set()
    numbers: dict[str, pd.Series] = {}
    bad_numbers: dict[str, np.ndarray] = {}
    for column in sorted(numeric):
        numbers[column], bad_numbers[column] = to_numbers(table[column], raw.decimal_comma)
    typed = table.assign(**numbers)
    keep = source.where.mask(typed) if source.where else np.ones(len(table), dtype=bool)
    for column, bad in bad_numbers.items():
        note(column, bad & keep, "is not a number")
    dates, bad_dates = to_dates(table[source.date])
    dates = pd.Series(np.asarray(dates, dtype="datetime64[ns]"), index=table.index)
    note(source.date, bad_dates & keep, "is not a date")
    note(source.date, keep & table[source.date].isna().to_numpy(bool), "is empty", show=False)
    person = _id_text(table[source.person])
    note(source.person, keep & person.isna().to_numpy(bool), "is empty", show=False)
    if people is not None:
        unknown = keep & person.notna().to_numpy(bool) & ~person.isin(people).to_numpy(bool)
        note(
            source.person,
            unknown,
            "is not an employee_id of people",
            "add the person to people, or correct the id",
        )
    if source.column:
        blank = keep & typed[source.column].isna().to_numpy(bool) & ~bad_numbers[source.column]
        note(source.column, blank, "is empty", show=False)
    if cells:
        return None, cells
    period = _periods(dates, kpi.cadence, week_start)
    return _aggregate(kpi, source, typed, keep, person, period), []


def _id_text(col: pd.Series) -> pd.Series:
    """Ids as text (a database's integer ids as written, without a trailing .0)."""
    if pd.api.types.is_numeric_dtype(col):
        whole = col.dropna()
        if (whole == whole.round()).all():
            col = col.astype("Int64")
    text: pd.Series = col.astype("string").str.strip()
    return text.mask(text == "")


def _periods(dates: pd.Series, cadence: str, week_start: str) -> pd.Series:
    """The first day of each date's period: its week (starting on ``week_start``) or month."""
    day: pd.Series = dates.dt.normalize()
    if cadence == "monthly":
        back = day.dt.day - 1
    else:
        back = (day.dt.day_of_week - WEEKDAYS.index(week_start)) % 7
    out: pd.Series = day - pd.to_timedelta(back, unit="D")
    return out


def _aggregate(
    kpi: KpiSpec,
    source: EventSource,
    typed: pd.DataFrame,
    keep: np.ndarray,
    person: pd.Series,
    period: pd.Series,
) -> pd.DataFrame:
    step = pd.DateOffset(months=1) if kpi.cadence == "monthly" else pd.Timedelta(days=7)
    frame = pd.DataFrame({"employee_id": person, "period": period})
    seen = frame.dropna()
    if seen.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in COLUMNS})
    last = seen["period"].max()
    grid = _grid(seen.groupby("employee_id")["period"].min(), last, step)
    used = frame[keep]
    groups = [used["employee_id"], used["period"]]
    if source.aggregate == "ratio":
        assert source.numerator is not None
        above = pd.Series(source.numerator.mask(typed), index=typed.index)[keep]
        below = (
            pd.Series(source.denominator.mask(typed), index=typed.index)[keep]
            if source.denominator
            else pd.Series(True, index=used.index)
        )
        counts = (
            pd.DataFrame({"numerator": above.astype(float), "denominator": below.astype(float)})
            .groupby(groups)
            .sum()
        )
        out = counts.reindex(grid, fill_value=0.0)
        out = out[out["denominator"] > 0].assign(value=np.nan)
    else:
        if source.aggregate == "count":
            values = pd.Series(1.0, index=used.index).groupby(groups).sum()
        else:
            values = typed.loc[keep, source.column].astype(float).groupby(groups)
            values = values.sum() if source.aggregate == "sum" else values.mean()
        filled = source.aggregate in ("count", "sum")
        values = values.reindex(grid, fill_value=0.0) if filled else values
        out = pd.DataFrame({"value": values, "numerator": np.nan, "denominator": np.nan})
    out = out.reset_index()
    out.columns = ["employee_id", "period", *out.columns[2:]]
    out["kpi_id"] = kpi.id
    return out[list(COLUMNS)].sort_values(["employee_id", "period"], ignore_index=True)


def _grid(
    first: pd.Series, last: pd.Timestamp, step: pd.DateOffset | pd.Timedelta
) -> pd.MultiIndex:
    """(person, period) for every period from each person's first to ``last``."""
    pairs: list[tuple[str, pd.Timestamp]] = []
    for employee, start in first.items():
        pairs += [(str(employee), p) for p in _range(start, last, step)]
    return pd.MultiIndex.from_tuples(pairs, names=["employee_id", "period"])


def _range(
    start: pd.Timestamp, last: pd.Timestamp, step: pd.DateOffset | pd.Timedelta
) -> Iterable[pd.Timestamp]:
    at = start
    while at <= last:
        yield at
        at = at + step
