"""The input contract: each workspace table's columns, types and checks.

Typing (text -> dates, numbers, period labels) is done here with a count of
every cell that would not convert, and the per-column checks (required cells,
allowed values, unique keys, known ids) are pandera schemas validated lazily,
so one pass reports every problem. Failures are summarised into
:class:`kpinb.errors.Problem` lines: one per distinct problem, with its count
and first rows.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow
import pyarrow.compute as pc
from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

from kpinb.errors import Problem, UsageError
from kpinb.periods import parse_period
from kpinb.text import display_text
from kpinb.workspace.readers import RawTable

# what may follow YYYY-MM-DD in a date cell: nothing, or a time of day (Excel, exports)
TIME_TAIL = r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"


@dataclass(frozen=True)
class TableSpec:
    """What one table must hold."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # review-period labels such as 2026-Q3
    categorical: tuple[str, ...] = ()
    required_file: bool = True

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


# the columns of Workspace.observations (numerator and denominator NaN except for ratio KPIs)
OBSERVATION_COLUMNS = ("employee_id", "kpi_id", "period", "value", "numerator", "denominator")

TABLES: dict[str, TableSpec] = {
    "people": TableSpec(
        "people",
        ("employee_id", "name", "team_id", "manager_id", "role", "start_date"),
        # where the person's reports are delivered (kpinb deliver); empty: not reachable
        optional=("email",),
        nullable=("manager_id",),
        dates=("start_date",),
    ),
    "teams": TableSpec("teams", ("team_id", "name", "department")),
    "observations": TableSpec(
        "observations",
        ("employee_id", "kpi_id", "period", "value"),
        # the counts of a ratio KPI; its value may be empty (computed from them), every
        # other KPI's value is checked in kpinb.workspace.checks.ratio_values
        optional=("numerator", "denominator"),
        nullable=("value",),
        dates=("period",),
        numbers=("value", "numerator", "denominator"),
        categorical=("employee_id", "kpi_id", "period"),
    ),
    "targets": TableSpec(
        "targets",
        ("scope", "scope_id", "kpi_id", "period", "target"),
        optional=("baseline",),
        nullable=("baseline",),
        numbers=("target", "baseline"),
        labels=("period",),
        required_file=False,
    ),
    "goals": TableSpec("goals", ("employee_id", "goal", "kpi_ids"), required_file=False),
    "ratings": TableSpec(
        "ratings",
        ("employee_id", "period", "rating"),
        # a potential rating beside the performance rating: 1 (low), 2 (medium), 3 (high)
        optional=("potential",),
        nullable=("potential",),
        numbers=("rating", "potential"),
        labels=("period",),
        required_file=False,
    ),
    "feasibility": TableSpec(
        "feasibility",
        ("scope", "scope_id", "kpi_id", "period", "flagged_by", "reason"),
        labels=("period",),
        required_file=False,
    ),
}


@dataclass
class Context:
    """Ids known from other tables, for the checks of referential integrity."""

    people: set[str] = field(default_factory=set)
    teams: set[str] = field(default_factory=set)
    kpis: set[str] = field(default_factory=set)
    people_file: str = "people.csv"
    teams_file: str = "teams.csv"
    # tables that could not be read: references to them are not checked (an unreadable
    # people.csv would otherwise make every employee id elsewhere "unknown")
    unread: set[str] = field(default_factory=set)


DISPLAY_TEXT = {
    "people": ("name",),
    "teams": ("name",),
    "goals": ("goal",),
    "feasibility": ("flagged_by", "reason"),
}


def display_column(col: pd.Series) -> pd.Series:
    """Text shown to people, made safe to show (:func:`kpinb.text.display_text`)."""
    return col.map(display_text, na_action="ignore")


def summarise(
    file: str, column: str | None, rows: np.ndarray, problem: str, fix: str, severity: str = "error"
) -> Problem:
    """One Problem for many rows: the count and the first five row numbers."""
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    return Problem(
        file,
        problem,
        fix,
        column=column,
        rows=tuple(int(r) for r in rows[:5]),
        count=max(len(rows), 1),
        severity=severity,
    )


def examples(values: Iterable[object], n: int = 3) -> str:
    """A short, quoted list of the first distinct values, for a problem's text."""
    seen = list(dict.fromkeys(str(v) for v in values))
    shown = ", ".join(repr(_cut(v)) for v in seen[:n])
    return shown + (f" and {len(seen) - n} more" if len(seen) > n else "")


def _cut(text: str, most: int = 40) -> str:
    """A value as echoed in a message: a 1 MB cell is shown by its start and its size."""
    return text if len(text) <= most else f"{text[:most]}... ({len(text):,} characters)"


# ---------------------------------------------------------------- typing

# the largest value kpinb computes with: sums and means of millions of such values stay
# finite (a value near 1e308 overflows to infinity when two are added)
MAX_MAGNITUDE = 1e15


def type_table(
    raw: RawTable, spec: TableSpec, fiscal_start: int = 1
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Check the columns, then convert text to dates, numbers and labels, noting bad cells.

    Period labels are read with the workspace's fiscal year start (``fiscal_start``) and
    written as kpinb labels them (``FY2026-Q3`` becomes ``2026-Q3`` in a calendar year).
    """
    frame = raw.frame
    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        return None, [
            Problem(
                raw.file,
                f"missing column(s) {', '.join(missing)} (found: {found})",
                f"add a header cell named {', '.join(missing)}",
                column=", ".join(missing),
            )
        ]
    frame = frame.copy(deep=False)  # columns are replaced, never changed in place
    absent = [name for name in spec.optional if name not in frame.columns]
    for name in absent:  # an absent number column is empty numbers, not empty text
        frame[name] = (
            pd.Series(np.nan, index=frame.index, dtype="float64")
            if name in spec.numbers
            else pd.Series(pd.NA, index=frame.index, dtype="string")
        )
    problems: list[Problem] = []
    for name in spec.columns:  # numeric ids from Excel or Parquet become text: 123 -> "123"
        if name not in spec.numbers + spec.dates and is_numeric_dtype(frame[name]):
            frame[name] = _number_text(frame[name])
    for name in spec.dates:
        frame[name], bad = to_dates(frame[name])
        far = np.zeros(len(bad), dtype=bool)
        far[bad] = raw.frame[name][bad].map(_calendar_day).to_numpy(bool)
        for mask, what, fix in (
            (bad & ~far, "is not a valid date", "write dates as YYYY-MM-DD"),
            (
                far,
                f"is outside the dates kpinb can hold ({FIRST_DAY} to {LAST_DAY})",
                "write the real date as YYYY-MM-DD (a placeholder such as 9999-12-31 or a "
                "mistyped year is not a date kpinb can count with)",
            ),
        ):
            if mask.any():
                problems.append(
                    _bad_cells(raw, name, frame.index[mask], raw.frame[name][mask], what, fix)
                )
    for name in spec.numbers:
        if name in absent:  # empty: nothing to convert or check
            continue
        frame[name], bad = to_numbers(frame[name], raw.decimal_comma)
        if bad.any():
            problems.append(
                _bad_cells(
                    raw,
                    name,
                    frame.index[bad],
                    raw.frame[name][bad],
                    "is not a number",
                    "write a plain number such as 42 "
                    "or 0.85, without units or thousands separators",
                )
            )
        numbers = frame[name].to_numpy()  # compared as they are: no column of magnitudes
        huge = (numbers > MAX_MAGNITUDE) | (numbers < -MAX_MAGNITUDE)
        del numbers
        if huge.any():
            problems.append(
                _bad_cells(
                    raw,
                    name,
                    frame.index[huge],
                    raw.frame[name][huge],
                    f"is beyond {MAX_MAGNITUDE:.0e} in size, too large to add up or average",
                    "check the export (a unit or exponent error?) and write the value in "
                    "the KPI's unit",
                )
            )
            frame[name] = frame[name].mask(huge)
    for name in spec.labels:
        # full-width digits (２０２６-Q3) are the same label: compared as 2026-Q3 everywhere
        text = (
            frame[name]
            .astype("string")
            .map(lambda v: unicodedata.normalize("NFKC", v), na_action="ignore")
        )
        frame[name] = text
        labels = {v: _period_label(v, fiscal_start) for v in text.dropna().unique()}
        frame[name] = text.map(labels, na_action="ignore").astype("string")
        bad = (text.notna() & frame[name].isna()).to_numpy(bool)
        if bad.any():
            forms = (
                "a quarter such as 2026-Q3"
                if fiscal_start == 1
                else f"a fiscal quarter such as FY2027-Q1 (the fiscal year starts in month "
                f"{fiscal_start}; kpinb.toml)"
            )
            problems.append(
                _bad_cells(
                    raw,
                    name,
                    frame.index[bad],
                    text[bad],
                    "is not a review period",
                    f"write {forms} or a month such as 2026-09",
                )
            )
    return frame, problems


def _period_label(text: str, fiscal_start: int) -> str | None:
    """The label kpinb gives the period ``text`` (None when it is not one)."""
    try:
        return parse_period(text, fiscal_start).label
    except UsageError:
        return None


def _bad_cells(
    raw: RawTable, column: str, index: pd.Index, values: pd.Series, what: str, fix: str
) -> Problem:
    rows = index.to_numpy() + raw.first_row
    return summarise(raw.file, column, rows, f"{examples(values)} {what}", fix)


def _number_text(col: pd.Series) -> pd.Series:
    whole = col.dropna()
    if (whole == whole.round()).all():
        col = col.astype("Int64")
    return col.astype("string")


# the days pandas can hold (nanoseconds since 1970 in 64 bits)
FIRST_DAY = (pd.Timestamp.min + pd.Timedelta(days=1)).date().isoformat()
LAST_DAY = pd.Timestamp.max.date().isoformat()


def _calendar_day(value: object) -> bool:
    """A day of the calendar written as YYYY-MM-DD (any year): to tell a date out of
    range from text that is no date at all."""
    text = str(value)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}" + TIME_TAIL, text, re.ASCII):
        return False
    text = text[:10]
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def to_dates(col: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates at midnight, and the cells that are not dates (or out of range).

    A date with a time zone counts for the day it was where it was recorded (its local
    date): ``2026-06-01 00:30+02:00`` is 1 June, as in the file.
    """
    if is_datetime64_any_dtype(col):
        if getattr(col.dt, "tz", None) is not None:
            col = col.dt.tz_localize(None)
        held = _held(col)
        return held.dt.normalize(), (col.notna() & held.isna()).to_numpy(bool)
    if isinstance(col.dtype, pd.CategoricalDtype):  # parse each distinct text once
        cats = _held(
            pd.to_datetime(
                pd.Series(col.cat.categories.astype(str)), format="%Y-%m-%d", errors="coerce"
            )
        )
        good = cats.notna().to_numpy()
        codes = col.cat.codes.to_numpy()
        bad = np.append(~good, False)[codes]
        remap = np.full(len(cats) + 1, -1, dtype=np.int64)
        remap[np.flatnonzero(good)] = np.arange(good.sum())
        dates = pd.DatetimeIndex(cats[good]).astype("datetime64[ns]")
        if not dates.has_duplicates:  # a categorical of dates: expanded after validation
            return pd.Series(
                pd.Categorical.from_codes(remap[codes], categories=dates), index=col.index
            ), bad
        parsed = pd.Series(dates.to_numpy()[remap[codes]], index=col.index).where(remap[codes] >= 0)
    else:
        text = col.astype("string")
        parsed = _held(pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce"))
        timed = text.str.slice(10).str.fullmatch(TIME_TAIL).fillna(False).astype(bool)
        parsed = parsed.where(timed)
    bad = (col.notna() & parsed.isna()).to_numpy(bool)
    return parsed, bad


def _held(dates: pd.Series) -> pd.Series:
    """``dates`` in nanoseconds, a date pandas cannot hold so (9999-12-31) missing."""
    values = dates.to_numpy()
    out = ~np.isnat(values) & (
        (values < np.datetime64(FIRST_DAY)) | (values > np.datetime64(LAST_DAY))
    )
    if out.any():
        dates = dates.mask(pd.Series(out, index=dates.index))
    return dates.astype("datetime64[ns]")


def to_numbers(col: pd.Series, decimal_comma: bool) -> tuple[pd.Series, np.ndarray]:
    if is_numeric_dtype(col) and not is_bool_dtype(col):
        numbers = col.astype("float64")
        return numbers, (col.notna() & ~np.isfinite(numbers)).to_numpy(bool)
    arr = pyarrow.array(col.astype("string"), type=pyarrow.string(), from_pandas=True)
    if decimal_comma:
        arr = pc.replace_substring(arr, ",", ".")
    values: np.ndarray
    try:
        values = pc.cast(arr, pyarrow.float64()).to_numpy(zero_copy_only=False)
    except pyarrow.ArrowInvalid:  # some cell is not a number: find which, slowly
        values = pd.to_numeric(pd.Series(arr.to_pandas()), errors="coerce").to_numpy(float)
    parsed = pd.Series(values, index=col.index, dtype="float64")
    bad = col.notna().to_numpy(bool) & ~np.isfinite(values)
    return parsed.where(~pd.Series(bad, index=col.index)), bad


# ---------------------------------------------------------------- checks

# check key -> (problem, fix); {values} and {file} are filled in when reported
MESSAGES: dict[str, tuple[str, str]] = {
    "not_nullable": ("is empty", "fill in this required cell"),
    "field_uniqueness": (
        "{values} appear(s) on more than one row",
        "keep one row per id (merge or renumber the duplicates)",
    ),
    "known_person": ("unknown employee id(s) {values}", "add them to {people} or correct the id"),
    "known_manager": (
        "unknown manager id(s) {values}",
        "use an employee_id from {people}, or leave it empty for the top",
    ),
    "known_team": ("unknown team id(s) {values}", "add them to {teams} or correct the id"),
    "known_kpi": ("unknown KPI id(s) {values}", "add them to kpis.yaml or correct the id"),
    "scope": ("scope {values} is not allowed", "use employee or team"),
    "potential": (
        "potential {values} is not 1, 2 or 3",
        "rate potential 1 (low), 2 (medium) or 3 (high), or leave the cell empty",
    ),
}
POTENTIALS = (1.0, 2.0, 3.0)  # the potential scale: low, medium, high


def _isin(key: str, allowed: set[str]) -> pa.Check:
    return pa.Check(lambda s: s.isna() | isin(s, allowed), error=key)


def isin(col: pd.Series, allowed: set[str]) -> pd.Series:
    """``col.isin(allowed)`` that looks at each distinct value of a categorical once."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        ok = np.append(col.cat.categories.astype(str).isin(list(allowed)), False)
        return pd.Series(ok[col.cat.codes.to_numpy()], index=col.index)
    return col.astype("string").isin(list(allowed))


def table_schema(spec: TableSpec, ctx: Context) -> pa.DataFrameSchema:
    """The pandera schema of one typed table, with the ids known from the others."""
    people, teams = "people" not in ctx.unread, "teams" not in ctx.unread
    refs: dict[str, list[pa.Check]] = {
        "employee_id": [_isin("known_person", ctx.people)]
        if spec.name != "people" and people
        else [],
        "manager_id": [_isin("known_manager", ctx.people)] if people else [],
        "team_id": [_isin("known_team", ctx.teams)] if spec.name != "teams" and teams else [],
        "kpi_id": [_isin("known_kpi", ctx.kpis)] if "kpis" not in ctx.unread else [],
        "scope": [_isin("scope", {"employee", "team"})],
        "potential": [pa.Check(lambda s: s.isna() | s.isin(POTENTIALS), error="potential")],
    }
    unique = {"people": "employee_id", "teams": "team_id"}.get(spec.name)
    columns = {
        name: pa.Column(
            nullable=name in spec.nullable or name in spec.optional,
            unique=name == unique,
            checks=refs.get(name, []),
            required=True,
        )
        for name in spec.columns
    }
    return pa.DataFrameSchema(columns, strict=False)


def check_table(frame: pd.DataFrame, raw: RawTable, spec: TableSpec, ctx: Context) -> list[Problem]:
    """Run the table's checks lazily; one Problem per distinct (column, check)."""
    try:
        # in place: the checks only read, and a copy of ten million rows is not free
        table_schema(spec, ctx).validate(frame, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as exc:
        return _problems_from(exc.failure_cases, raw, ctx)
    return []


def _problems_from(cases: pd.DataFrame, raw: RawTable, ctx: Context) -> list[Problem]:
    problems = []
    cases = cases[cases["index"].notna()]
    cases = cases[~cases.apply(lambda c: _already_reported(c, raw), axis=1).astype(bool)]
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        text, fix = MESSAGES.get(str(check), (f"fails check {check}", "correct the value"))
        fill: dict[str, str] = {
            "values": examples(group["failure_case"]),
            "people": ctx.people_file,
            "teams": ctx.teams_file,
        }
        rows = group["index"].astype("int64").to_numpy() + raw.first_row
        problems.append(
            summarise(
                raw.file, str(column), np.unique(rows), text.format(**fill), fix.format(**fill)
            )
        )
    return problems


def _already_reported(case: pd.Series, raw: RawTable) -> bool:
    """An empty cell that was not empty in the file failed to convert: reported already."""
    column = str(case["column"])
    if case["check"] != "not_nullable" or column not in raw.frame:
        return False
    at = int(case["index"])
    return bool(pd.notna(raw.frame[column].iloc[at]) or raw.reported_at(column)[at])
