"""The long frame of every series, and the chart-data tables built from it.

Every person's, team's and department's KPI series sits in one frame of points
(``key`` = an int series id, ``period``, ``value``, ``n`` contributors, a ratio KPI's
``denominator`` (NaN for other KPIs), sorted by key then period) beside a keys table
(scope, scope_id, kpi_id, direction, sign, cadence, current definition version). Each
point carries its definition version, whether it lies in the review period and whether
a team date is incomplete (members missing).
:func:`points_table` and :func:`signals_table` turn it into the ``points`` and
``signals`` tables of :class:`kpinb.analytics.analysis.Analysis`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kpinb.analytics import rollup, signals
from kpinb.kpis import KpiSpec
from kpinb.periods import Period

KEY_COLS = ["scope", "scope_id", "kpi_id"]  # what names one series in every table


def _encode(frame: pd.DataFrame, scope: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points of one scope (key, period, value) sorted, and its keys table."""
    sid = frame["scope_id"].astype("category")
    kpi = frame["kpi_id"].astype("category")
    width = max(len(kpi.cat.categories), 1)
    raw = sid.cat.codes.to_numpy(np.int64) * width + kpi.cat.codes.to_numpy(np.int64)
    when = frame["period"].to_numpy("datetime64[ns]")
    value = frame["value"].to_numpy(dtype=float)
    n = frame["n"].to_numpy(dtype=np.int64) if "n" in frame else np.ones(len(raw), np.int64)
    den = (
        frame["denominator"].to_numpy(dtype=float)
        if "denominator" in frame
        else np.full(len(raw), np.nan)
    )
    if len(raw) > 1 and not _is_sorted(raw, when):
        order = np.lexsort((when, raw))
        raw, when, value, n, den = raw[order], when[order], value[order], n[order], den[order]
    starts = np.r_[True, raw[1:] != raw[:-1]] if len(raw) else np.array([], bool)
    key = np.cumsum(starts) - 1
    first = raw[starts]
    keys = pd.DataFrame(
        {
            "scope": scope,
            "scope_id": np.asarray(sid.cat.categories.astype(str))[first // width],
            "kpi_id": np.asarray(kpi.cat.categories.astype(str))[first % width],
        }
    )
    points = pd.DataFrame({"key": key, "period": when, "value": value, "n": n, "denominator": den})
    return points, keys


def _is_sorted(raw: np.ndarray, when: np.ndarray) -> bool:
    step = np.diff(raw)
    return bool(np.all(step >= 0) and np.all((step > 0) | (np.diff(when) > np.timedelta64(0))))


def long_frame(
    clean: pd.DataFrame, members: pd.DataFrame, kpis: Mapping[str, KpiSpec], period: Period
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All series (people, teams, departments) as one long frame plus a keys table."""
    columns = ["employee_id", "kpi_id", "period", "value"]
    people = clean[columns + (["denominator"] if "denominator" in clean else [])].rename(
        columns={"employee_id": "scope_id"}
    )
    groups = rollup.rollup_series(clean, members, kpis)
    parts = [_encode(people, "employee")]
    parts += [_encode(groups[groups["scope"] == s], s) for s in ("team", "department")]
    offset, frames = 0, []
    for pts, _ in parts:
        frames.append(pts.assign(key=pts["key"] + offset))
        offset += int(pts["key"].max()) + 1 if len(pts) else 0
    points = pd.concat(frames, ignore_index=True)
    keys = pd.concat([k for _, k in parts], ignore_index=True)
    keys = _describe_keys(keys, kpis, period)
    points["version"] = _versions(points, keys, kpis)
    points["in_review"] = period.contains(points["period"]).to_numpy()
    points["incomplete"], points["usual_n"] = _incomplete(points, keys)
    return points, keys


USUAL_WINDOW = 4  # points either side of a date whose median count is the "usual" one


def _incomplete(points: pd.DataFrame, keys: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Team and department dates with fewer contributors than usual: some members have
    no value that date, so the rolled-up value is not comparable (a sum would fall as
    if they had contributed zero).

    A ratio KPI's date is never incomplete: its rate is the members' summed numerators
    over their summed denominators, whoever reported.

    Usual = the median count over the 9 points centred on the date (fewer at the ends
    of the series), so a team that grows or shrinks is only unsure for a few points
    around the change, while a member missing a week (or the latest week) shows.
    Returns the flags and the usual count of each group date (NaN for a person's).
    """
    group = keys["scope"].to_numpy()[points["key"].to_numpy()] != "employee"
    key = points["key"].to_numpy()[group]
    n = points["n"].to_numpy(dtype=float)[group]
    pos = signals.positions(key)
    size = signals.sizes(key)
    around = np.full((len(n), 2 * USUAL_WINDOW + 1), np.nan)
    for col, step in enumerate(range(-USUAL_WINDOW, USUAL_WINDOW + 1)):
        ok = (pos + step >= 0) & (pos + step < size)
        around[ok, col] = n[np.flatnonzero(ok) + step]
    around.sort(axis=1)  # NaN last; the median of each row's k values (np.nanmedian is slow)
    k = np.sum(~np.isnan(around), axis=1)
    rows = np.arange(len(n))
    usual = (around[rows, (k - 1) // 2] + around[rows, k // 2]) / 2
    out = np.zeros(len(points), dtype=bool)
    out[group] = n < usual
    # a rate is sum / sum over the members who reported: one without a case that week
    # (no row) weighs nothing either way, so the date stays comparable
    out &= ~np.isfinite(points["denominator"].to_numpy(dtype=float))
    usual_n = np.full(len(points), np.nan)
    usual_n[group] = np.ceil(usual)
    return out, usual_n


def _describe_keys(keys: pd.DataFrame, kpis: Mapping[str, KpiSpec], period: Period) -> pd.DataFrame:
    """Add each KPI's direction, sign, cadence and current definition version."""
    kpi = keys["kpi_id"]
    keys["definition_version"] = kpi.map({k: s.version_at(period.end) for k, s in kpis.items()})
    keys["direction"] = kpi.map({k: s.direction for k, s in kpis.items()}).astype(object)
    keys["sign"] = kpi.map({k: s.sign for k, s in kpis.items()}).astype(int)
    keys["cadence"] = kpi.map({k: s.cadence for k, s in kpis.items()}).astype(object)
    keys.index.name = "key"
    return keys


def _versions(points: pd.DataFrame, keys: pd.DataFrame, kpis: Mapping[str, KpiSpec]) -> np.ndarray:
    """Definition version of each point (1 + changes in force on its date), one KPI at a time."""
    version = np.ones(len(points), dtype=np.int64)
    kpi_of_row = keys["kpi_id"].to_numpy()[points["key"].to_numpy()]
    when = points["period"].to_numpy("datetime64[ns]")
    for kpi_id, spec in kpis.items():
        if not spec.versions:
            continue
        mask = kpi_of_row == kpi_id
        version[mask] = _version_on(spec, when[mask])
    return version


def _version_on(spec: KpiSpec, when: np.ndarray) -> np.ndarray:
    """The version of ``spec`` in force on each date of ``when``."""
    changes = np.array([v.effective_from for v in spec.versions], dtype="datetime64[ns]")
    found: np.ndarray = 1 + np.searchsorted(changes, when, side="right")
    return found


def review_dates(clean: pd.DataFrame, kpis: Mapping[str, KpiSpec], period: Period) -> np.ndarray:
    """The dates of people's points (``clean`` observations) in the review period under
    their KPI's current definition: the review dates of the points :func:`used` keeps
    of people's series, unique and sorted."""
    inside = clean[period.contains(clean["period"]).to_numpy()]
    when = inside["period"].to_numpy("datetime64[ns]")
    kpi = inside["kpi_id"].astype(str).to_numpy()
    current = np.ones(len(inside), dtype=bool)
    for kpi_id in np.unique(kpi):
        spec = kpis[kpi_id]
        if spec.versions:
            mask = kpi == kpi_id
            current[mask] = _version_on(spec, when[mask]) == spec.version_at(period.end)
    dates: np.ndarray = np.unique(when[current])
    return dates


def used(points: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """Points the XmR, trend and history figures use: current version, not incomplete."""
    version = keys["definition_version"].to_numpy()[points["key"].to_numpy()]
    current = points["version"].to_numpy() == version
    rows: np.ndarray = current & ~points["incomplete"].to_numpy()
    return rows


# --- output tables ----------------------------------------------------------------------


def _label(keys: pd.DataFrame, key: np.ndarray) -> dict[str, pd.Categorical]:
    """Categorical scope, scope_id, kpi_id columns for rows given by ``key``."""
    out = {}
    for column in KEY_COLS:
        cat = keys[column].astype("category")
        out[column] = pd.Categorical.from_codes(
            cat.cat.codes.to_numpy()[key], categories=cat.cat.categories
        )
    return out


def points_table(points: pd.DataFrame, rows: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """Every point with its version, limits and rule hits (chart data).

    Empties ``points`` and ``rows`` column by column as it goes: they are the
    analysis' scratch frames, together twice the table's size, and holding them
    until the table is whole set the peak memory of a big organisation's analysis.
    """
    key = points["key"].to_numpy()
    current = points["version"].to_numpy() == keys["definition_version"].to_numpy()[key]
    idx = np.flatnonzero(used(points, keys))
    out: dict[str, object] = dict(_label(keys, key))
    del key, points["key"]
    live = (rows["in_review"] & (rows["direction"] != 0)).to_numpy()
    rules = np.zeros(len(points), dtype=np.int8)
    rules[idx] = np.where(rows["in_review"].to_numpy(), signals.rule_codes(rows), 0)
    direction = np.full(len(points), -1, dtype=np.int8)
    direction[idx[live]] = rows["direction"].to_numpy()[live] > 0
    # copies of the points' own columns: the table is built with copy=False below and
    # must own writable arrays (a view of the points would be read-only); the rows
    # may share a column with the points (when every point is used), so both let go
    for column in ("period", "value", "n", "denominator", "incomplete", "usual_n"):
        out[column] = _taken(column, points, rows)
    out["definition_version"] = _taken("version", points, rows)
    out["current_version"] = current
    out["in_review"] = _taken("in_review", points, rows)
    for column in ("baseline", "centre", "lower", "upper", "moving_range", "smoothed"):
        empty = False if column == "baseline" else np.nan
        values = rows.pop(column).to_numpy()
        full = np.full(len(current), empty, dtype=values.dtype)
        full[idx] = values
        out[column] = full
    for column in list(rows.columns):
        del rows[column]
    signal = np.zeros(len(current), dtype=bool)
    signal[idx] = live
    out["signal"] = signal
    out["rules"] = pd.Categorical.from_codes(rules, categories=pd.Index(signals.RULE_NAMES))
    out["direction"] = pd.Categorical.from_codes(
        direction, categories=pd.Index(["worsening", "improving"])
    )
    # copy=False: every column is a fresh array of its own, kept as it is rather than
    # stacked into blocks (a second copy of the whole table)
    return pd.DataFrame(out, copy=False)


def _taken(column: str, points: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """A copy of the points' ``column``, taken out of ``points`` and ``rows``."""
    rows.pop(column) if column in rows else None
    values: np.ndarray = points.pop(column).to_numpy(copy=True)
    return values


def signals_table(rows: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """One row per review-period point and rule hit."""
    hit = rows[rows["in_review"].to_numpy() & (rows["direction"].to_numpy() != 0)]
    long = hit.melt(
        id_vars=["key", "period", "value", "direction"],
        value_vars=list(signals.RULES),
        var_name="rule",
        value_name="hit",
    )
    long = long[long["hit"] != 0].sort_values(["key", "period", "rule"])
    out = pd.DataFrame(_label(keys, long["key"].to_numpy()))
    out["period"] = long["period"].to_numpy()
    out["value"] = long["value"].to_numpy()
    out["rule"] = long["rule"].to_numpy().astype(object)
    out["direction"] = np.where(long["direction"].to_numpy() > 0, "improving", "worsening").astype(
        object
    )
    return out
