"""Checks across tables (errors) and data-quality findings (warnings).

Per-column checks live in :mod:`kpinb.workspace.schema`; these need more than one column
or table: manager loops, target scopes, conflicting duplicate observations,
periods that are not the first day of their week or month, and the warnings
that do not stop a run (missing weeks, stale KPIs, people with no data, more
than 7 core KPIs for one role).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from kpinb.errors import Problem
from kpinb.kpis import STALE_DAYS, KpiSpec
from kpinb.settings import SETTINGS_FILE, WEEKDAYS, RatingScale
from kpinb.workspace.readers import RawTable
from kpinb.workspace.schema import examples, isin, summarise

MAX_CORE_KPIS = 7


def _rows(raw: RawTable, index: pd.Index | np.ndarray) -> np.ndarray:
    return np.asarray(index, dtype=np.int64) + raw.first_row


def _on_cycles(manager: Mapping[str, str]) -> set[str]:
    """The people on a loop of ``manager`` links (each person has at most one manager).

    Linear: every person is walked once; a walk stops at a person an earlier walk
    reached, and a walk that meets itself has found a loop (from where it met itself).
    """
    done: set[str] = set()
    on_cycle: set[str] = set()
    for start in manager:
        path: dict[str, int] = {}  # the current walk, in order
        node = start
        while node and node in manager and node not in done and node not in path:
            path[node] = len(path)
            node = manager[node]
        if node in path:
            on_cycle.update(list(path)[path[node] :])
        done.update(path)
    return on_cycle


def manager_loops(people: pd.DataFrame, raw: RawTable) -> list[Problem]:
    """People whose chain of managers comes back to themselves."""
    manager = dict(
        zip(
            people["employee_id"].astype(str),
            people["manager_id"].astype("string").fillna(""),
            strict=False,
        )
    )
    in_loop = _on_cycles(manager)
    if not in_loop:
        return []
    mask = people["employee_id"].astype(str).isin(in_loop).to_numpy()
    return [
        summarise(
            raw.file,
            "manager_id",
            _rows(raw, people.index[mask]),
            f"the manager chain of {examples(sorted(in_loop), 5)} loops back on itself",
            "give the person at the top of the chain an empty manager_id",
        )
    ]


def valid_address(value: str) -> bool:
    """``name@example.com``: one address with a local part and a dotted domain, no display
    name, as :mod:`email.headerregistry` parses it."""
    from email.errors import HeaderParseError
    from email.headerregistry import Address

    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError, HeaderParseError):
        return False
    domain = address.domain
    return bool(address.username) and "." in domain.strip(".") and " " not in value


def email_addresses(people: pd.DataFrame, raw: RawTable) -> list[Problem]:
    """Warnings when ``people.csv`` has an ``email`` column: addresses that are not one
    valid address, and the people who have none (their reports cannot be delivered)."""
    if "email" not in raw.frame.columns:
        return []
    emails = people["email"].astype("string").str.strip()
    blank = emails.isna() | (emails == "")
    bad = ~blank & ~emails.fillna("").map(valid_address).astype(bool)
    ids = people["employee_id"].astype(str)
    out = []
    if bad.any():
        out.append(
            summarise(
                raw.file,
                "email",
                _rows(raw, people.index[bad.to_numpy()]),
                f"{examples(emails[bad])} is not an email address, so "
                f"{examples(ids[bad], 5)} cannot be reached by kpinb deliver",
                "write one address per cell, like name@example.com (no display name)",
                severity="warning",
            )
        )
    if blank.any():
        out.append(
            summarise(
                raw.file,
                "email",
                _rows(raw, people.index[blank.to_numpy()]),
                f"no email address for {examples(ids[blank], 5)}: their reports cannot be "
                "delivered by kpinb deliver",
                "fill in their address, or hand their reports over another way",
                severity="warning",
            )
        )
    return out


def scopes_exist(
    frame: pd.DataFrame, raw: RawTable, people: set[str], teams: set[str]
) -> list[Problem]:
    """Each target or flag points at an existing employee or team."""
    ids = frame["scope_id"].astype("string")
    scope = frame["scope"].astype("string")
    known = (scope.eq("employee") & ids.isin(list(people))) | (
        scope.eq("team") & ids.isin(list(teams))
    )
    bad = (ids.notna() & scope.isin(["employee", "team"]) & ~known).to_numpy(bool)
    if not bad.any():
        return []
    labels = (scope[bad] + " " + ids[bad]).tolist()
    return [
        summarise(
            raw.file,
            "scope_id",
            _rows(raw, frame.index[bad]),
            f"scope {examples(labels)} does not exist",
            "use an employee_id from people or a team_id from teams matching scope",
        )
    ]


def goal_kpis(goals: pd.DataFrame, raw: RawTable, kpis: Mapping[str, KpiSpec]) -> list[Problem]:
    """Every KPI id named in a goal's semicolon-separated list is in the dictionary."""
    lists = goals["kpi_ids"].astype("string").fillna("").str.split(";")
    unknown = lists.map(lambda ids: [i.strip() for i in ids if i.strip() and i.strip() not in kpis])
    bad = unknown.map(bool).to_numpy(bool)
    if not bad.any():
        return []
    values = [v for ids in unknown[bad] for v in ids]
    return [
        summarise(
            raw.file,
            "kpi_ids",
            _rows(raw, goals.index[bad]),
            f"unknown KPI id(s) {examples(values)}",
            "separate KPI ids with ';' and use ids from kpis.yaml",
        )
    ]


def ratings_on_scale(ratings: pd.DataFrame, raw: RawTable, scale: RatingScale) -> list[Problem]:
    """Every proposed rating is a value of the workspace's rating scale (``kpinb.toml``
    ``[ratings] scale``; 1 to 5 by default): one problem naming the rows and values."""
    values = pd.to_numeric(ratings["rating"], errors="coerce")
    bad = (values.notna() & ~values.map(lambda v: v in scale)).to_numpy(bool)
    if not bad.any():
        return []
    return [
        summarise(
            raw.file,
            "rating",
            _rows(raw, ratings.index[bad]),
            f"rating(s) {examples(f'{v:g}' for v in values[bad])} are not on the rating "
            f"scale ({scale.describe()})",
            f"give one of {scale.describe()}, or set the scale in {SETTINGS_FILE} "
            "([ratings] scale)",
        )
    ]


@dataclass(frozen=True)
class ObservationCodes:
    """Observations as integer codes, so 10 million rows sort and compare quickly.

    ``period`` codes are ranks of ``periods`` (sorted dates); -1 marks a missing cell.
    """

    employee: np.ndarray
    kpi: np.ndarray
    period: np.ndarray
    periods: pd.DatetimeIndex
    kpis: pd.Index

    @cached_property
    def key(self) -> np.ndarray:
        """One int64 per row that orders rows by employee, KPI and period."""
        n_kpi, n_period = len(self.kpis) + 1, len(self.periods) + 2
        key: np.ndarray = self.employee.astype(np.int64)  # one array, worked on in place
        key *= n_kpi
        key += self.kpi
        key *= n_period
        key += self.period
        key += 1
        return key

    def dates(self, order: Order) -> np.ndarray:
        """The period dates of the rows at ``order`` (NaT where missing)."""
        codes = self.period[order]
        values = np.append(self.periods.to_numpy(), np.datetime64("NaT", "ns"))
        if len(codes) and codes.min() >= 0:
            picked: np.ndarray = values[codes]
        else:
            picked = values[np.where(codes < 0, len(self.periods), codes)]
        return picked


def observation_codes(obs: pd.DataFrame) -> ObservationCodes:
    """Integer codes of the id and period columns (categoricals keep their codes)."""
    period = obs["period"]
    if isinstance(period.dtype, pd.CategoricalDtype):
        cats = pd.DatetimeIndex(period.cat.categories)
        rank = np.empty(len(cats) + 1, dtype=np.min_scalar_type(-len(cats) - 1))
        rank[np.argsort(cats.to_numpy(), kind="stable")] = np.arange(len(cats))
        rank[-1] = -1
        codes, periods = rank[period.cat.codes.to_numpy()], cats.sort_values()
    else:
        codes, uniques = pd.factorize(period, sort=True)
        periods = pd.DatetimeIndex(uniques)
    return ObservationCodes(
        obs["employee_id"].cat.codes.to_numpy(),
        obs["kpi_id"].cat.codes.to_numpy(),
        codes,
        periods,
        obs["kpi_id"].cat.categories.astype(str),
    )


Order = np.ndarray | slice  # row positions, or slice(None) for "as they are"


def sort_order(codes: ObservationCodes) -> Order:
    """Positions that sort observations by employee, KPI and period.

    ``slice(None)`` when they are sorted already (the usual export), so no copy is made.
    """
    key = codes.key
    if len(key) < 2 or bool((key[1:] >= key[:-1]).all()):
        return slice(None)
    return np.argsort(key, kind="stable")


def positions(order: Order, n: int) -> np.ndarray:
    """``order`` as an array of row positions."""
    return np.arange(n) if isinstance(order, slice) else order


def duplicate_observations(
    obs: pd.DataFrame, raw: RawTable, codes: ObservationCodes, order: Order
) -> tuple[list[Problem], np.ndarray]:
    """Conflicting duplicates (an error) and identical repeats (dropped, with a warning).

    Returns the problems and a boolean mask (in ``order``) of rows to keep.
    """
    key = codes.key[order]
    v = obs["value"].to_numpy()[order]
    same_key = np.zeros(len(key), bool)
    same_key[1:] = key[1:] == key[:-1]
    same_key &= codes.period[order] >= 0  # a date that is not one is reported on its own
    if not same_key.any():
        return [], np.ones(len(key), bool)
    order = positions(order, len(key))
    same_value = np.zeros(len(order), bool)
    same_value[1:] = (v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1]))
    known = ~np.isnan(v)
    known_pair = np.zeros(len(order), bool)
    known_pair[1:] = known[1:] & known[:-1]
    conflict = same_key & ~same_value & known_pair  # a bad number is reported on its own
    problems = []
    if conflict.any():
        starts = np.flatnonzero(conflict)
        rows = np.union1d(order[starts], order[starts - 1])
        problems.append(
            summarise(
                raw.file,
                "value",
                _rows(raw, rows),
                "the same employee, KPI and period has different values",
                "keep one row per employee_id, kpi_id and period (correct or remove the other)",
            )
        )
    repeat = same_key & same_value
    if repeat.any():
        problems.append(
            summarise(
                raw.file,
                None,
                _rows(raw, order[repeat]),
                "identical duplicate rows (kept once)",
                "remove the repeated rows",
                severity="warning",
            )
        )
    return problems, ~repeat


def align_periods(
    obs: pd.DataFrame, kpis: Mapping[str, KpiSpec], file: str, week_start: str = "monday"
) -> tuple[pd.DataFrame, list[Problem]]:
    """Each value counted for the week (or month) holding its date.

    A weekly value belongs to the week that starts on the ``week_start`` day (the
    workspace's setting, Monday by default) on or before its date (exports dated on a
    Friday or a Sunday are common); a monthly one to its month. The
    dates are moved to the period's first day and a warning says how many moved, once.
    Two values of one person and KPI in the same week are then duplicates.
    """
    if obs.empty:
        return obs, []
    # worked out once per KPI and distinct date, then looked up per row: no column of
    # ten million dates is built (a week's codes fit in a byte)
    kpi = _categorical(obs["kpi_id"])
    kinds = {"weekly": 1, "monthly": 2}  # 0: the date as it is
    kind = np.array(
        [kinds.get(kpis[k].cadence, 0) if k in kpis else 0 for k in kpi.cat.categories.astype(str)]
        + [0],
        dtype=np.int8,
    )[kpi.cat.codes.to_numpy()]
    period = _categorical(obs["period"])
    days = pd.DatetimeIndex(period.cat.categories).to_numpy("datetime64[D]")
    # 1970-01-01 was a Thursday (3 days after a Monday): days since the week's first day
    into_week = (days.astype(np.int64) + 3 - WEEKDAYS.index(week_start)) % 7
    week = days - into_week.astype("timedelta64[D]")
    first = days.astype("datetime64[M]").astype("datetime64[D]")
    aligned = np.stack([days, week, first])  # [kind, date]
    shifts = aligned != days
    codes = period.cat.codes.to_numpy()
    dated = codes >= 0
    moved = np.zeros(len(codes), dtype=bool)
    moved[dated] = shifts[kind[dated], codes[dated]]
    if not moved.any():
        return obs, []
    dates, index = np.unique(aligned, return_inverse=True)
    new = np.full(len(codes), -1, dtype=np.min_scalar_type(-len(dates) - 1))
    new[dated] = index.reshape(aligned.shape)[kind[dated], codes[dated]]
    kept = pd.CategoricalDtype(pd.DatetimeIndex(dates.astype("datetime64[ns]")))
    out = obs.assign(period=pd.Categorical.from_codes(new, dtype=kept))
    shown = pd.DatetimeIndex(np.sort(days[np.unique(codes[moved])])).strftime("%Y-%m-%d")
    note = Problem(
        file,
        f"{int(moved.sum())} value(s) are dated inside their week or month, not on its first "
        f"day ({examples(shown)}); each is counted for the week (from its "
        f"{week_start.capitalize()}) or the month that holds it",
        "nothing to do; date values on the first day of the week or month to silence this "
        "(weeks start on the day calendar.week_start of kpinb.toml names)",
        column="period",
        count=int(moved.sum()),
        severity="warning",
    )
    return out, [note]


def _categorical(col: pd.Series) -> pd.Series:
    """``col`` as a categorical (each distinct value once, rows as codes)."""
    return col if isinstance(col.dtype, pd.CategoricalDtype) else col.astype("category")


def future_dates(obs: pd.DataFrame, raw: RawTable, today: pd.Timestamp) -> list[Problem]:
    """Values dated after ``today``: a mistyped year (2071 for 2017) or a wrong clock.

    Named on their own rows; they do not count as the latest data, so the series
    before them are not called stale.
    """
    dates = obs["period"]
    if isinstance(dates.dtype, pd.CategoricalDtype):  # each distinct date compared once
        after = np.append(np.asarray(dates.cat.categories > today, dtype=bool), False)
        later = after[dates.cat.codes.to_numpy()]
    else:
        later = (dates > today).to_numpy(bool)
    if not later.any():
        return []
    shown = pd.DatetimeIndex(np.asarray(dates[later], dtype="datetime64[ns]")).strftime("%Y-%m-%d")
    return [
        summarise(
            raw.file,
            "period",
            _rows(raw, obs.index[later]),
            f"{examples(shown)} is dated after today ({today.date()}): a value cannot have "
            "been recorded yet; it is left out of the check for stale series",
            "correct the date (a mistyped year?), or remove the row until its period has begun",
            severity="warning",
        )
    ]


def quality_warnings(
    obs: pd.DataFrame,
    people: pd.DataFrame,
    kpis: Mapping[str, KpiSpec],
    file: str,
    today: pd.Timestamp | None = None,
) -> list[Problem]:
    """Findings that do not stop a run: missing weeks, stale KPIs, no data, KPI overload.

    A series is stale against the latest date up to ``today`` (default: today): a value
    dated in the future is reported by :func:`future_dates`, not made the yardstick.
    """
    today = pd.Timestamp.today().normalize() if today is None else today
    warnings = []
    if obs.empty:
        return [
            Problem(
                file,
                "there are no values yet (the file has its header only)",
                "add observations when they arrive; until then every report says it has no "
                "values for its period",
                severity="warning",
            )
        ]
    current = (obs["period"] <= today).to_numpy(bool)
    series = _series_spans(obs if current.all() or not current.any() else obs[current])
    kpi_level = series.index.get_level_values("kpi_id").astype(str)
    monthly = {k for k, spec in kpis.items() if spec.cadence == "monthly"}
    weekly = ~np.asarray(kpi_level.isin(list(monthly)))
    expected = np.where(
        weekly,
        (series["max"] - series["min"]).dt.days // 7 + 1,
        _months_between(series["min"], series["max"]) + 1,
    )
    gaps = expected - series["count"].to_numpy()
    if (gaps > 0).any():
        warnings.append(
            _warn(
                file,
                int((gaps > 0).sum()),
                int(gaps[gaps > 0].sum()),
                series.index[gaps > 0],
                "series have missing periods",
                "missing periods in all; they are skipped, not counted as zero",
            )
        )
    latest = series["max"].max()
    limit = np.where(weekly, STALE_DAYS["weekly"], STALE_DAYS["monthly"])
    stale = (latest - series["max"]).dt.days.to_numpy() >= limit
    if stale.any():
        warnings.append(
            _warn(
                file,
                int(stale.sum()),
                None,
                series.index[stale],
                "series were not updated for over two cadences",
                f"before the latest data ({latest.date()})",
            )
        )
    warnings += _people_without_data(obs, people) + _kpi_overload(series, people)
    return warnings


def _series_spans(obs: pd.DataFrame) -> pd.DataFrame:
    """First and last period and count of each employee/KPI series (``obs`` is sorted)."""
    e = obs["employee_id"].cat.codes.to_numpy()
    k = obs["kpi_id"].cat.codes.to_numpy()
    p = obs["period"].to_numpy()
    starts = np.flatnonzero(np.r_[True, (e[1:] != e[:-1]) | (k[1:] != k[:-1])])
    ends = np.r_[starts[1:], len(p)]
    index = pd.MultiIndex.from_arrays(
        [obs["employee_id"].cat.categories[e[starts]], obs["kpi_id"].cat.categories[k[starts]]],
        names=["employee_id", "kpi_id"],
    )
    return pd.DataFrame({"min": p[starts], "max": p[ends - 1], "count": ends - starts}, index=index)


def _months_between(a: pd.Series, b: pd.Series) -> np.ndarray:
    months: np.ndarray = ((b.dt.year - a.dt.year) * 12 + (b.dt.month - a.dt.month)).to_numpy()
    return months


def _warn(
    file: str, n: int, total: int | None, index: pd.MultiIndex, what: str, detail: str
) -> Problem:
    pairs = [f"{e}/{k}" for e, k in index[:3]]
    extra = f" ({total} {detail})" if total is not None else f" ({detail})"
    return Problem(
        file,
        f"{n} employee/KPI {what}{extra}, e.g. {', '.join(pairs)}",
        "check the source system's export for these people",
        count=n,
        severity="warning",
    )


def _people_without_data(obs: pd.DataFrame, people: pd.DataFrame) -> list[Problem]:
    col = obs["employee_id"].cat
    found = np.unique(col.codes.to_numpy())  # in the codes' own small dtype, not as int64
    has = set(col.categories[found[found >= 0]].astype(str))
    none = sorted(set(people["employee_id"].astype(str)) - has)
    if not none:
        return []
    return [
        Problem(
            "observations",
            f"{len(none)} people have no observations: {examples(none, 5)}",
            "add their KPI values, or expect reports that say there is no data yet",
            count=len(none),
            severity="warning",
        )
    ]


def _kpi_overload(series: pd.DataFrame, people: pd.DataFrame) -> list[Problem]:
    per_person = pd.Series(series.index.get_level_values("employee_id")).value_counts()
    over = per_person[per_person > MAX_CORE_KPIS]
    if over.empty:
        return []
    roles = people.set_index(people["employee_id"].astype(str))["role"]
    role_names = sorted({str(roles.get(str(e), "?")) for e in over.index})
    return [
        Problem(
            "observations",
            f"{len(over)} people have more than {MAX_CORE_KPIS} core "
            f"KPIs (roles: {examples(role_names, 5)}; e.g. {examples(over.index, 3)})",
            "keep a small core set of KPIs per role (docs/workspace.md, 'more than 7 core KPIs')",
            count=len(over),
            severity="warning",
        )
    ]


# a given value of a ratio KPI may differ from 100 x numerator / denominator by rounding
RATIO_VALUE_TOLERANCE = 0.05


def ratio_values(
    obs: pd.DataFrame, raw: RawTable, kpis: Mapping[str, KpiSpec]
) -> tuple[pd.DataFrame, list[Problem], np.ndarray]:
    """Values of ratio KPIs from their counts, every problem with the counts, and the
    empty values of other KPIs.

    A ratio KPI's row needs a ``numerator`` and a ``denominator`` (whole counts, not
    negative, numerator at most the denominator); its value is 100 x numerator /
    denominator (a ``value`` given beside them must agree). A row whose denominator is
    0 has no rate: the returned mask (rows to keep) drops it, so that week is a gap,
    never 0 %. Other KPIs need a value; their counts, when given, are ignored.
    """
    ratio_ids = {k for k, s in kpis.items() if s.is_ratio}
    is_ratio = isin(obs["kpi_id"], ratio_ids).to_numpy(bool)
    value = obs["value"].to_numpy(dtype=float)
    problems: list[Problem] = []
    empty = ~is_ratio & np.isnan(value) & _blank(raw, "value", len(obs))
    if empty.any():
        problems.append(
            summarise(
                raw.file,
                "value",
                _rows(raw, obs.index[empty]),
                "is empty",
                "fill in this required cell",
            )
        )
    if not is_ratio.any():
        return obs, problems, np.ones(len(obs), dtype=bool)
    num = (
        obs["numerator"].to_numpy(dtype=float) if "numerator" in obs else np.full(len(obs), np.nan)
    )
    den = (
        obs["denominator"].to_numpy(dtype=float)
        if "denominator" in obs
        else np.full(len(obs), np.nan)
    )
    names = ", ".join(sorted(ratio_ids))

    def report(mask: np.ndarray, column: str, what: str, fix: str) -> None:
        if mask.any():
            problems.append(summarise(raw.file, column, _rows(raw, obs.index[mask]), what, fix))

    for column, counts in (("numerator", num), ("denominator", den)):
        report(
            is_ratio & np.isnan(counts) & _blank(raw, column, len(obs)),
            column,
            f"is empty on a row of a ratio KPI ({names})",
            f"write the {column} count of the rate (a whole number such as 3); a ratio "
            "KPI's value is 100 x numerator / denominator",
        )
        report(
            is_ratio & (counts < 0),
            column,
            f"is negative ({examples(counts[is_ratio & (counts < 0)])})",
            f"write the {column} as a count of 0 or more",
        )
        fraction = np.abs(counts - np.round(counts)) > 1e-9
        report(
            is_ratio & fraction,
            column,
            f"is not a whole count ({examples(counts[is_ratio & fraction])})",
            f"write the {column} as a whole number of cases, not a share",
        )
    over = is_ratio & (num > den)
    report(
        over,
        "numerator",
        "is larger than the denominator "
        f"({examples(f'{a:g} of {b:g}' for a, b in zip(num[over], den[over], strict=True))})",
        "a rate counts part of its denominator: check that the two columns are not "
        "swapped, or that the denominator counts every case",
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 100.0 * num / den
    given = is_ratio & ~np.isnan(value) & ~np.isnan(rate)
    # the slack keeps a value rounded half up to one decimal (18.8 for 18.75, off by
    # 0.0500000000000007 in floating point) within the tolerance it meets on paper
    slack = RATIO_VALUE_TOLERANCE + 1e-9 * np.maximum(np.abs(rate), 1.0)
    differs = given & (np.abs(value - rate) > slack)
    pairs = zip(value[differs], rate[differs], strict=True)
    report(
        differs,
        "value",
        "does not equal 100 x numerator / denominator "
        f"({examples(f'{v:g} vs {r:.2f}' for v, r in pairs)})",
        "leave value empty on rows of a ratio KPI (it is computed from the counts), or correct it",
    )
    value = np.where(is_ratio, rate, value)
    keep = ~(is_ratio & (den == 0))
    out = obs.assign(value=value)
    out = out.assign(
        numerator=np.where(is_ratio, num, np.nan), denominator=np.where(is_ratio, den, np.nan)
    )
    return out, problems, keep


def _blank(raw: RawTable, column: str, n: int) -> np.ndarray:
    """Cells left empty in the file (a cell that failed to convert is reported already)."""
    if column not in raw.frame:
        return np.ones(n, dtype=bool)
    blank: np.ndarray = raw.frame[column].isna().to_numpy(bool) & ~raw.reported_at(column)
    return blank
