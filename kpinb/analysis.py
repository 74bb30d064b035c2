"""One call computes every figure for everyone for one review period.

``analyse(ws, "2026-Q3")`` returns an :class:`Analysis`: frames keyed by scope
(employee, team, department), scope id and KPI, described column by column in
docs/analytics.md. The work is grouped and vectorised over the whole workspace:
there is no Python loop over people; reports slice the result with
:meth:`Analysis.for_scope`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from kpinb import goals, quality, rollup, signals, trend
from kpinb.kpis import KpiSpec
from kpinb.periods import Period, parse_period
from kpinb.workspace import Workspace

_KEY_COLS = ["scope", "scope_id", "kpi_id"]
_GROUP_FIGURES = (
    "latest_value",
    "level",
    "prev_level",
    "prev_change",
    "prev_change_rel",
    "prev_change_oriented",
    "yoy_level",
    "yoy_change",
    "yoy_change_rel",
    "yoy_change_oriented",
    "trend_slope",
    "trend_level",
    "trend_z",
    "centre",
    "mr_bar",
    "lower",
    "upper",
    "url",
    "best_value",
    "dip_value",
)


@dataclass(frozen=True)
class Analysis:
    """Everything the reports state for one review period (docs/analytics.md)."""

    period: Period
    min_group_size: int
    summary: pd.DataFrame
    points: pd.DataFrame
    signals: pd.DataFrame
    goals: pd.DataFrame
    pairs: pd.DataFrame
    groups: pd.DataFrame
    excluded: pd.DataFrame

    def for_scope(self, scope: str, scope_id: str) -> Analysis:
        """The same analysis restricted to one employee, team or department."""

        def pick(frame: pd.DataFrame, column: str = "scope_id") -> pd.DataFrame:
            mask = (frame["scope"] == scope) & (frame[column].astype(str) == str(scope_id))
            return frame[mask.to_numpy()].reset_index(drop=True)

        excluded = self.excluded
        if scope == "employee":
            excluded = excluded[excluded["scope_id"] == str(scope_id)].reset_index(drop=True)
        else:
            excluded = excluded.iloc[:0]
        return replace(
            self,
            summary=pick(self.summary),
            points=pick(self.points),
            signals=pick(self.signals),
            goals=pick(self.goals),
            pairs=pick(self.pairs),
            groups=pick(self.groups),
            excluded=excluded,
        )

    def executive(self) -> pd.DataFrame:
        """Team and department summary rows as executive views may show them: every
        figure masked where the group is suppressed, and every figure resting on a date
        or reference period with fewer than ``min_group_size`` contributors withheld
        (column ``withheld`` names them)."""
        return self.executive_analysis.summary

    @cached_property
    def executive_analysis(self) -> Analysis:
        """The team and department part of the analysis with the executive masking
        applied to every table: summary as :meth:`executive`, points of dates with
        fewer than ``min_group_size`` contributors left out, signals and goals
        recomputed on what is shown. Computed once per analysis."""
        rows = self.summary[self.summary["scope"] != "employee"].reset_index(drop=True)
        rows = _mask_small(rows, self.min_group_size)
        hidden = rows["suppressed"].to_numpy()
        for column in _GROUP_FIGURES:
            rows[column] = rows[column].mask(hidden)
        for column in ("status", "trend_direction", "signal_rules"):
            rows[column] = rows[column].mask(hidden, "suppressed")
        rows["withheld"] = rows["withheld"].mask(hidden, "")
        targets = self.goals[self.goals["scope"] != "employee"]
        targets = targets.assign(
            baseline=targets["baseline"].where(targets["baseline_source"] == "given")
        )
        return replace(
            self,
            summary=rows,
            points=_shown_points(self.points, rows, self.min_group_size),
            signals=_shown(self.signals, rows, "limits"),
            goals=goals.goal_progress(targets, rows, self.period),
            pairs=self.pairs[self.pairs["scope"] != "employee"].iloc[0:0],
            excluded=self.excluded.iloc[0:0],
        )


# --- executive privacy: nothing resting on fewer than min_group_size people -------------

# figure group -> (count column, figures withheld when that count is below the threshold)
_WITHHOLD: dict[str, tuple[str, tuple[str, ...]]] = {
    "latest": ("latest_n", ("latest_value",)),
    "level": ("n_min", ("level",)),
    "change": (
        "prev_n_min",
        ("prev_level", "prev_change", "prev_change_rel", "prev_change_oriented"),
    ),
    "year_change": (
        "yoy_n_min",
        ("yoy_level", "yoy_change", "yoy_change_rel", "yoy_change_oriented"),
    ),
    "trend": ("trend_min_n", ("trend_slope", "trend_level", "trend_z")),
    "limits": ("baseline_min_n", ("centre", "mr_bar", "lower", "upper", "url")),
    "history": ("history_min_n", ("best_value", "dip_value")),
}


def _mask_small(rows: pd.DataFrame, size: int) -> pd.DataFrame:
    """Withhold each figure group whose fewest contributors at one date is below ``size``.

    A group without data for a figure (count NaN) has nothing to withhold.
    """
    names = []
    for name, (count, columns) in _WITHHOLD.items():
        small = (rows[count] < size).to_numpy()
        names.append(np.where(small, name, ""))
        for column in columns:
            rows[column] = rows[column].mask(small)
        if name == "latest":
            rows["latest_period"] = rows["latest_period"].mask(small)
        if name == "trend":
            rows["trend_direction"] = rows["trend_direction"].mask(small)
            rows["trend_n"] = np.where(small, 0, rows["trend_n"])
        if name == "limits":
            rows["status"] = rows["status"].mask(small & (rows["status"] != "no_data"), "withheld")
            rows["signal_rules"] = rows["signal_rules"].mask(small, "")
            rows["n_signals"] = np.where(small, 0, rows["n_signals"])
            rows["last_signal_period"] = rows["last_signal_period"].mask(small)
        if name in ("limits", "history"):  # a dip is a worsening signal: it needs limits
            for column in ("dip_period", "dip_value", "recovered_period"):
                rows[column] = rows[column].mask(small)
            rows["recovered"] = rows["recovered"] & ~small
        if name == "history":
            rows["best_period"] = rows["best_period"].mask(small)
            rows["best_is_new"] = rows["best_is_new"] & ~small
            rows["streak_length"] = np.where(small, 0, rows["streak_length"])
    rows["withheld"] = [",".join(n for n in group if n) for group in zip(*names, strict=True)]
    return rows


def _shown(frame: pd.DataFrame, rows: pd.DataFrame, group: str) -> pd.DataFrame:
    """Rows of ``frame`` whose series is shown and has figure ``group`` not withheld."""
    ok = ~rows["suppressed"].to_numpy()
    if group:
        ok &= ~rows["withheld"].str.contains(group).to_numpy()
    keep = rows.loc[ok, _KEY_COLS].astype(str)
    keys = pd.MultiIndex.from_frame(keep)
    mine = pd.MultiIndex.from_frame(frame[_KEY_COLS].astype(str))
    return frame[mine.isin(keys)].reset_index(drop=True)


def _shown_points(points: pd.DataFrame, rows: pd.DataFrame, size: int) -> pd.DataFrame:
    """Chart points executive views may show: shown series, dates with at least ``size``
    contributors; limits, signals and smoothed levels only where not withheld."""
    pts = _shown(points[(points["n"] >= size).to_numpy()], rows, "")
    info = rows.set_index(_KEY_COLS)["withheld"]
    withheld = info.reindex(pd.MultiIndex.from_frame(pts[_KEY_COLS].astype(str))).to_numpy()
    no_limits = pd.Series(withheld).str.contains("limits").to_numpy(dtype=bool)
    no_history = pd.Series(withheld).str.contains("history").to_numpy(dtype=bool)
    for column in ("centre", "lower", "upper"):
        pts[column] = pts[column].mask(no_limits)
    pts["baseline"] = pts["baseline"] & ~no_limits
    pts["signal"] = pts["signal"] & ~no_limits
    pts["rules"] = pts["rules"].mask(no_limits, "")
    pts["direction"] = pts["direction"].mask(no_limits | ~pts["signal"].to_numpy())
    for column in ("smoothed", "moving_range"):
        pts[column] = pts[column].mask(no_history)
    return pts


def analyse(
    ws: Workspace,
    period: Period | str,
    *,
    min_group_size: int = rollup.MIN_GROUP_SIZE,
    trend_points: int = trend.TREND_POINTS,
) -> Analysis:
    """Analyse every person, team and department of ``ws`` for ``period``.

    Only observations dated on or before the period's end are used.
    """
    period = period if isinstance(period, Period) else parse_period(period)
    obs = ws.observations[ws.observations["period"] <= period.end]
    obs = obs.assign(
        kpi_id=obs["kpi_id"].astype("category"), employee_id=obs["employee_id"].astype("category")
    )
    obs = obs[obs["kpi_id"].isin(list(ws.kpis)).to_numpy()]
    clean, excluded = quality.split_plausible(obs, ws.kpis)
    members = rollup.memberships(ws.people, ws.teams)
    groups = rollup.suppress(rollup.group_sizes(clean, members, period), min_group_size)
    points, keys = _series(clean, members, ws.kpis, period)
    summary, rows = _summarise(points, keys, period, trend_points)
    summary = _attach_groups(summary, groups, excluded, members)
    return Analysis(
        period=period,
        min_group_size=min_group_size,
        summary=summary,
        points=_points_table(points, rows, keys),
        signals=_signals_table(rows, keys),
        goals=goals.goal_progress(ws.targets, summary, period),
        pairs=_pairs(summary, ws.kpis),
        groups=groups,
        excluded=excluded,
    )


# --- building the long frame of every series -------------------------------------------


def _encode(frame: pd.DataFrame, scope: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points of one scope (key, period, value) sorted, and its keys table."""
    sid = frame["scope_id"].astype("category")
    kpi = frame["kpi_id"].astype("category")
    width = max(len(kpi.cat.categories), 1)
    raw = sid.cat.codes.to_numpy(np.int64) * width + kpi.cat.codes.to_numpy(np.int64)
    when = frame["period"].to_numpy("datetime64[ns]")
    value = frame["value"].to_numpy(dtype=float)
    n = frame["n"].to_numpy(dtype=np.int64) if "n" in frame else np.ones(len(raw), np.int64)
    if len(raw) > 1 and not _is_sorted(raw, when):
        order = np.lexsort((when, raw))
        raw, when, value, n = raw[order], when[order], value[order], n[order]
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
    return pd.DataFrame({"key": key, "period": when, "value": value, "n": n}), keys


def _is_sorted(raw: np.ndarray, when: np.ndarray) -> bool:
    step = np.diff(raw)
    return bool(np.all(step >= 0) and np.all((step > 0) | (np.diff(when) > np.timedelta64(0))))


def _series(
    clean: pd.DataFrame, members: pd.DataFrame, kpis: Mapping[str, KpiSpec], period: Period
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All series (people, teams, departments) as one long frame plus a keys table."""
    people = clean[["employee_id", "kpi_id", "period", "value"]].rename(
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
    points["incomplete"] = _incomplete(points, keys)
    return points, keys


USUAL_WINDOW = 4  # points either side of a date whose median count is the "usual" one


def _incomplete(points: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """Team and department dates with fewer contributors than usual: some members have
    no value that date, so the rolled-up value is not comparable (a sum would fall as
    if they had contributed zero).

    Usual = the median count over the 9 points centred on the date (fewer at the ends
    of the series), so a team that grows or shrinks is only unsure for a few points
    around the change, while a member missing a week (or the latest week) shows.
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
    return out


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
        changes = np.array([v.effective_from for v in spec.versions], dtype="datetime64[ns]")
        version[mask] = 1 + np.searchsorted(changes, when[mask], side="right")
    return version


# --- per-series figures -----------------------------------------------------------------


def _summarise(
    points: pd.DataFrame, keys: pd.DataFrame, period: Period, trend_points: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary table (one row per key) and the per-point rule hits of current versions."""
    sign = keys["sign"]
    cur = points[_used(points, keys)].reset_index(drop=True)
    cur["pos"] = signals.positions(cur["key"].to_numpy())
    cur["baseline"] = signals.baseline_mask(cur)
    limits = signals.xmr_limits(cur)
    rows = _rule_rows(cur, limits, sign.to_numpy()[cur["key"].to_numpy()])
    summary = keys.join(limits, how="left")
    summary["n_points"] = summary["n_points"].fillna(0).astype(int)
    summary = summary.join(_latest(points, period))
    complete = points[~points["incomplete"].to_numpy()]
    summary = summary.join(trend.period_changes(complete, keys["definition_version"], sign, period))
    summary = summary.join(trend.theil_sen(cur, sign, trend_points))
    summary = summary.join(_min_counts(cur, trend_points))
    summary = summary.join(_signal_summary(rows))
    summary["status"] = signals.statuses(summary["n_points"], summary["last_signal_direction"])
    summary["status"] = summary["status"].mask(summary["n_in_period"] == 0, "no_data")
    summary = summary.join(_history(rows))
    summary = summary.join(_quality(points, summary, period))
    return _tidy(summary), rows


def _used(points: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """Points the XmR, trend and history figures use: current version, not incomplete."""
    version = keys["definition_version"].to_numpy()[points["key"].to_numpy()]
    return (points["version"].to_numpy() == version) & ~points["incomplete"].to_numpy()


def _min_counts(cur: pd.DataFrame, trend_points: int) -> pd.DataFrame:
    """Fewest contributors at any date behind the limits (baseline points), the trend
    (the last ``trend_points`` points) and the history figures (every point used)."""
    key = cur["key"].to_numpy()
    n = cur["n"].to_numpy(dtype=float)
    from_end = signals.sizes(key) - 1 - cur["pos"].to_numpy()
    columns = {
        "baseline_min_n": np.where(cur["baseline"].to_numpy(), n, np.inf),
        "trend_min_n": np.where(from_end < trend_points, n, np.inf),
        "history_min_n": n,
    }
    starts = signals.starts_of(key)
    out = pd.DataFrame(
        {c: np.minimum.reduceat(v, starts) if len(starts) else v for c, v in columns.items()},
        index=pd.Index(key[starts], name="key"),
    )
    return out.replace(np.inf, np.nan)


def _rule_rows(cur: pd.DataFrame, limits: pd.DataFrame, sign: np.ndarray) -> pd.DataFrame:
    """Current-version points with limits, rule hits and oriented signal direction."""
    hits = signals.run_rules(cur, limits)
    rows = pd.concat([cur, hits], axis=1)
    for column in ("centre", "lower", "upper"):
        rows[column] = signals.take(limits[column], cur["key"].to_numpy())
    rows["sign"] = sign
    rows["direction"] = signals.signal_direction(hits) * sign
    rows["smoothed"] = trend.smoothed(cur)
    pos = cur["pos"].to_numpy()
    rows["moving_range"] = np.abs(
        cur["value"].to_numpy() - signals.lag(cur["value"].to_numpy(dtype=float), pos, 1)
    )
    return rows


def _latest(points: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Last point on or before the period end, any version."""
    key = points["key"].to_numpy()
    last = np.flatnonzero(np.r_[key[1:] != key[:-1], True]) if len(key) else np.array([], int)
    return pd.DataFrame(
        {
            "latest_period": points["period"].to_numpy()[last],
            "latest_value": points["value"].to_numpy()[last],
            "latest_in_period": points["in_review"].to_numpy()[last],
            "latest_n": points["n"].to_numpy()[last],
        },
        index=pd.Index(key[last], name="key"),
    )


def _signal_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per key: signals in the review period, rules hit, latest signal and its direction."""
    live = rows["in_review"].to_numpy() & (rows["direction"].to_numpy() != 0)
    hit = rows[live]
    g = hit.groupby("key", sort=True)
    any_hit = (hit[list(signals.RULES)] != 0).groupby(hit["key"]).any().to_numpy()
    code = (any_hit * (1 << np.arange(len(signals.RULES)))).sum(axis=1)
    last = g.tail(1).set_index("key")
    return pd.DataFrame(
        {
            "n_signals": (hit[list(signals.RULES)] != 0).sum(axis=1).groupby(hit["key"]).sum(),
            "signal_rules": np.asarray(_RULE_NAMES, dtype=object)[code],
            "last_signal_period": last["period"],
            "last_signal_direction": last["direction"],
        },
        index=last.index,
    )


def _history(rows: pd.DataFrame) -> pd.DataFrame:
    """Streaks, personal bests and recoveries per key (current version)."""
    sign = rows["sign"].to_numpy()
    smooth = rows["smoothed"].to_numpy()
    gain = sign * (smooth - rows["centre"].to_numpy())
    # a dip is a worsening hit on a point that is itself on the unfavourable side (the
    # last point of a 3-of-4 window can lie on the other side of the centre)
    below = sign * (rows["value"].to_numpy() - rows["centre"].to_numpy()) < 0
    worsening = (rows["direction"].to_numpy() < 0) & below
    return pd.concat(
        [
            trend.streaks(rows, sign, smooth),
            trend.personal_bests(rows, sign),
            trend.recoveries(rows, worsening, gain),
        ],
        axis=1,
    )


def _quality(points: pd.DataFrame, summary: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Expected and missing points in the review period, staleness."""
    g = points.groupby("key", sort=True)
    first = g["period"].first().reindex(summary.index)
    seen = g["in_review"].sum().reindex(summary.index).fillna(0).astype(int)
    expected = quality.expected_points(first, summary["cadence"], period.start, period.end)
    out = pd.DataFrame({"expected_in_period": expected}, index=summary.index)
    out["missing_in_period"] = np.clip(expected - seen.to_numpy(), 0, None)
    out["last_observed"] = summary["latest_period"]
    stale = quality.staleness(summary["latest_period"], summary["cadence"], period.end)
    return out.join(stale)


def _tidy(summary: pd.DataFrame) -> pd.DataFrame:
    """Fill the counts and flags of series with no signal, no trend, no dip."""
    summary["n_signals"] = summary["n_signals"].fillna(0).astype(int)
    summary["signal_rules"] = summary["signal_rules"].fillna("").astype(object)
    summary["streak_length"] = summary["streak_length"].fillna(0).astype(int)
    summary["trend_n"] = summary["trend_n"].fillna(0).astype(int)
    summary["recovered"] = summary["recovered"].fillna(False).astype(bool)
    summary["best_is_new"] = summary["best_is_new"].fillna(False).astype(bool)
    summary["baseline_provisional"] = summary["baseline_provisional"].fillna(True).astype(bool)
    summary["baseline_n"] = summary["baseline_n"].fillna(0).astype(int)
    return summary.drop(columns=["last_signal_direction"])


def _attach_groups(
    summary: pd.DataFrame, groups: pd.DataFrame, excluded: pd.DataFrame, members: pd.DataFrame
) -> pd.DataFrame:
    """Add n_people, suppression and out-of-range counts; reset to a plain index."""
    summary = summary.reset_index(drop=True)
    sizes = groups.set_index(_KEY_COLS)[["n_people", "suppressed", "reason"]]
    summary = summary.join(sizes, on=_KEY_COLS)
    is_person = (summary["scope"] == "employee").to_numpy()
    summary["n_people"] = np.where(is_person, 1, summary["n_people"].fillna(0)).astype(int)
    summary["suppressed"] = summary["suppressed"].fillna(False).astype(bool)
    summary["suppressed_reason"] = summary.pop("reason").fillna("").astype(object)
    summary["out_of_range"] = _out_of_range(summary, excluded, members)
    return summary


def _out_of_range(
    summary: pd.DataFrame, excluded: pd.DataFrame, members: pd.DataFrame
) -> np.ndarray:
    """Excluded observations per series (a group counts its people's)."""
    if excluded.empty:
        return np.zeros(len(summary), dtype=int)
    ex = excluded[["scope_id", "kpi_id"]].join(members, on="scope_id")
    counts = [
        ex.groupby(["scope_id", "kpi_id"]).size().rename("n").reset_index().assign(scope="employee")
    ]
    for scope, column in (("team", "team_id"), ("department", "department")):
        c = ex.groupby([column, "kpi_id"]).size().rename("n").reset_index()
        counts.append(c.rename(columns={column: "scope_id"}).assign(scope=scope))
    table = pd.concat(counts).set_index(_KEY_COLS)["n"]
    found = summary.join(table, on=_KEY_COLS)["n"]
    return found.fillna(0).astype(int).to_numpy()


# --- output tables ----------------------------------------------------------------------


def _label(keys: pd.DataFrame, key: np.ndarray) -> dict[str, pd.Categorical]:
    """Categorical scope, scope_id, kpi_id columns for rows given by ``key``."""
    out = {}
    for column in _KEY_COLS:
        cat = keys[column].astype("category")
        out[column] = pd.Categorical.from_codes(
            cat.cat.codes.to_numpy()[key], categories=cat.cat.categories
        )
    return out


def _points_table(points: pd.DataFrame, rows: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """Every point with its version, limits and rule hits (chart data)."""
    key = points["key"].to_numpy()
    current = points["version"].to_numpy() == keys["definition_version"].to_numpy()[key]
    idx = np.flatnonzero(_used(points, keys))
    out: dict[str, object] = dict(_label(keys, key))
    out["period"] = points["period"].to_numpy()
    out["value"] = points["value"].to_numpy()
    out["n"] = points["n"].to_numpy()
    out["incomplete"] = points["incomplete"].to_numpy()
    out["definition_version"] = points["version"].to_numpy()
    out["current_version"] = current
    out["in_review"] = points["in_review"].to_numpy()
    for column in ("baseline", "centre", "lower", "upper", "moving_range", "smoothed"):
        empty = False if column == "baseline" else np.nan
        full = np.full(len(points), empty, dtype=rows[column].dtype)
        full[idx] = rows[column].to_numpy()
        out[column] = full
    live = (rows["in_review"] & (rows["direction"] != 0)).to_numpy()
    signal = np.zeros(len(points), dtype=bool)
    signal[idx] = live
    out["signal"] = signal
    rules = np.zeros(len(points), dtype=np.int64)
    rules[idx] = np.where(rows["in_review"].to_numpy(), _rule_codes(rows), 0)
    out["rules"] = pd.Categorical.from_codes(rules, categories=_RULE_NAMES)
    direction = np.full(len(points), -1, dtype=np.int64)
    direction[idx[live]] = (rows["direction"].to_numpy()[live] > 0).astype(np.int64)
    out["direction"] = pd.Categorical.from_codes(direction, categories=["worsening", "improving"])
    return pd.DataFrame(out)


def _rule_codes(rows: pd.DataFrame) -> np.ndarray:
    """Bit code of the rules hit at each point (bit i = signals.RULES[i])."""
    code = np.zeros(len(rows), dtype=np.int64)
    for bit, rule in enumerate(signals.RULES):
        code |= (rows[rule].to_numpy() != 0).astype(np.int64) << bit
    return code


_RULE_NAMES = [
    ",".join(r for b, r in enumerate(signals.RULES) if c >> b & 1)
    for c in range(2 ** len(signals.RULES))
]


def _signals_table(rows: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
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


_PAIR_COLS = (
    "status",
    "trend_direction",
    "prev_change",
    "prev_change_oriented",
    "prev_change_rel",
    "level",
)


def _pairs(summary: pd.DataFrame, kpis: Mapping[str, KpiSpec]) -> pd.DataFrame:
    """Leading KPIs beside their lagging partners, per scope."""
    links = {
        (s.id, s.pair) if s.kind == "leading" else (s.pair, s.id) for s in kpis.values() if s.pair
    }
    cols = ["scope", "scope_id", "leading_kpi", "lagging_kpi"]
    cols += [f"{side}_{c}" for side in ("leading", "lagging") for c in _PAIR_COLS]
    if not links:
        return pd.DataFrame(columns=cols)
    pairs = pd.DataFrame(sorted(links), columns=["leading_kpi", "lagging_kpi"])
    base = summary[["scope", "scope_id", "kpi_id", *_PAIR_COLS]]
    lead = base.rename(columns={"kpi_id": "leading_kpi"} | {c: f"leading_{c}" for c in _PAIR_COLS})
    lag = base.rename(columns={"kpi_id": "lagging_kpi"} | {c: f"lagging_{c}" for c in _PAIR_COLS})
    out = lead.merge(pairs, on="leading_kpi").merge(
        lag, on=["scope", "scope_id", "lagging_kpi"], how="inner"
    )
    return out[cols].reset_index(drop=True)
