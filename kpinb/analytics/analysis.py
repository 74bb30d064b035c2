"""One call computes every figure for everyone for one review period.

``analyse(ws, "2026-Q3")`` returns an :class:`Analysis`: frames keyed by scope
(employee, team, department), scope id and KPI, described column by column in
docs/analytics.md. The work is grouped and vectorised over the whole workspace:
there is no Python loop over people; reports slice the result with
:meth:`Analysis.for_scope`. The long frame of series and the chart-data tables are
built in :mod:`kpinb.analytics.series`; the executive masking lives in
:mod:`kpinb.analytics.executive`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kpinb import heap
from kpinb.analytics import (
    carryover,
    goals,
    parts,
    pattern,
    quality,
    quarters,
    rollup,
    series,
    shared,
    signals,
    tail,
    trend,
)
from kpinb.analytics.executive import masked
from kpinb.analytics.goals import SUCCESS
from kpinb.analytics.series import KEY_COLS
from kpinb.analytics.shared import MOVES_COLUMNS
from kpinb.analytics.signals import D2
from kpinb.analytics.statuses import HELD_STATUSES
from kpinb.analytics.tail import TAILS_COLUMNS
from kpinb.columns import among
from kpinb.kpis import KpiSpec
from kpinb.periods import Period, as_period

if TYPE_CHECKING:
    from kpinb.workspace import Workspace


# the tables with scope and scope_id columns: those split per id, then every one
SCOPED_TABLES = ("summary", "points", "signals", "goals", "moves", "tails")
ALL_SCOPED_TABLES = (*SCOPED_TABLES, "pairs", "groups")


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
    # the OKR score that counts as a goal's success (the workspace's goals.success)
    success: float = SUCCESS
    # what moved for everyone: one row per group and KPI (kpinb.analytics.shared)
    moves: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MOVES_COLUMNS))
    # incomplete tails of the data: one row per group and KPI (kpinb.analytics.tail)
    tails: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TAILS_COLUMNS))
    # per-scope splits, made on first use by :meth:`part`; a copy made by ``replace``
    # starts empty, so a split never outlives the tables it was made from
    _splits: dict[str, dict[str, Analysis]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def subset(self, scope: str, ids: list[str]) -> Analysis:
        """The analysis restricted to several ids of one scope (one pass, not one per id)."""

        def pick(frame: pd.DataFrame) -> pd.DataFrame:
            picked: pd.DataFrame = frame[
                among(frame["scope"], [scope]) & among(frame["scope_id"], ids)
            ]
            return picked

        return self._picked(pick, SCOPED_TABLES)

    def _picked(
        self,
        pick: Callable[[pd.DataFrame], pd.DataFrame],
        names: tuple[str, ...],
        **others: pd.DataFrame,
    ) -> Analysis:
        """This analysis with ``pick`` applied to each table in ``names`` (``others``
        replace tables as given)."""
        tables: dict[str, Any] = {n: pick(getattr(self, n)) for n in names} | others
        return replace(self, **tables)

    def narrowed(self, people: set[str], teams: set[str], departments: set[str]) -> Analysis:
        """The analysis holding only the rows of ``people``, ``teams`` and ``departments``:
        what a process building only their reports needs (a small part of a big
        organisation's analysis). Every kept row is the whole analysis's row; for the
        executive masking to come out the same, ``teams`` should hold every team of each
        department kept (a small team is masked against its department's others)."""
        ids = dict(zip(KEPT_SCOPES, (people, teams, departments), strict=True))

        def pick(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[rows_of(frame, ids)].reset_index(drop=True)

        excluded = self.excluded[among(self.excluded["scope_id"], people)]
        return self._picked(pick, ALL_SCOPED_TABLES, excluded=excluded.reset_index(drop=True))

    def split_ids(self) -> dict[str, Analysis]:
        """One analysis per scope_id of this one (each table grouped once)."""
        tables = {name: split_by(getattr(self, name), "scope_id") for name in SCOPED_TABLES}
        return {
            sid: replace(
                self,
                **{name: t.get(sid, getattr(self, name).iloc[0:0]) for name, t in tables.items()},
            )
            for sid in tables["summary"]
        }

    def part(self, scope: str, scope_id: str) -> Analysis:
        """:meth:`for_scope`, from one split of the whole scope made on first use.

        A batch builds many reports from one analysis; splitting each table once per
        scope instead of filtering it once per report saves most of that cost.
        """
        if scope not in self._splits:
            ids = self.summary.loc[self.summary["scope"] == scope, "scope_id"].astype(str)
            self._splits[scope] = self.subset(scope, sorted(set(ids))).split_ids()
        found = self._splits[scope].get(str(scope_id))
        return found if found is not None else self.for_scope(scope, scope_id)

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
        return self._picked(pick, ALL_SCOPED_TABLES, excluded=excluded)

    def executive(self) -> pd.DataFrame:
        """Team and department summary rows as executive views may show them: every
        figure masked where the group is suppressed, and every figure resting on a
        hidden date (fewer than ``min_group_size`` contributors, or one a subtraction
        would reveal a smaller group from) withheld (column ``withheld`` names them)."""
        return self.executive_analysis.summary

    @cached_property
    def executive_analysis(self) -> Analysis:
        """The team and department part of the analysis with the executive masking
        applied to every table: summary as :meth:`executive`, points of hidden dates
        (fewer than ``min_group_size`` contributors, or a department's date that less
        its shown teams' would give a smaller group's) left out, signals and goals
        recomputed on what is shown (:mod:`kpinb.analytics.executive`). Computed once
        per analysis."""
        return masked(self)


KEPT_SCOPES = ("employee", "team", "department")  # the order of ``keep``'s sets


def rows_of(frame: pd.DataFrame, ids: Mapping[str, Collection[str]]) -> np.ndarray:
    """Which rows of ``frame`` (a table with ``scope`` and ``scope_id``) belong to the
    ids of ``ids`` (scope -> ids)."""
    keep = np.zeros(len(frame), dtype=bool)
    for name, wanted in ids.items():
        keep |= among(frame["scope"], [name]) & among(frame["scope_id"], wanted)
    return keep


def analyse(
    ws: Workspace,
    period: Period | str,
    *,
    min_group_size: int | None = None,
    trend_points: int = trend.TREND_POINTS,
    keep: tuple[set[str], set[str], set[str]] | None = None,
) -> Analysis:
    """Analyse every person, team and department of ``ws`` for ``period``.

    Only observations dated on or before the period's end are used. ``min_group_size``
    defaults to the workspace's setting (5 without ``kpinb.toml``). With ``keep`` (people,
    teams, departments) the result is :meth:`Analysis.narrowed` to them, and the points
    and rule hits of everyone else are let go part by part instead of being put together
    first (a few reports of a big organisation: their figures still pool everyone's).
    """
    if min_group_size is None:
        min_group_size = ws.settings.min_group_size
    period = as_period(period, ws.settings.fiscal_year_start)
    members = rollup.memberships(ws.people, ws.teams)
    bounds = quality.natural_bounds(ws.kpis, ws.observations)
    chunks = parts.kpi_parts(ws.observations["kpi_id"], list(ws.kpis), parts.PART_ROWS)
    # the one figure read across KPIs: the review dates an incomplete tail is looked for in
    review = _usable(ws, period, list(ws.kpis), since=period.start)[0]
    dates = series.review_dates(review, ws.kpis, period)
    del review
    held = None if keep is None else dict(zip(KEPT_SCOPES, keep, strict=True))
    settings = _Settings(period, members, bounds, dates, trend_points, held)
    found = []
    with heap.reusing():  # each pass' big arrays reuse the last pass' memory
        for chunk in chunks:
            found.append(_part(ws, chunk, settings, min_group_size))
            heap.give_back()  # this part's working frames, freed before the next one's
        whole = parts.combine(found, ws.observations)
        del found
    groups = rollup.suppress(whole.sizes, min_group_size)
    summary = _attach_groups(whole.summary, groups, whole.excluded, members)
    summary = summary.join(quarters.shared_over_time(summary, members))
    analysis = Analysis(
        period=period,
        min_group_size=min_group_size,
        summary=summary,
        points=whole.points,
        signals=whole.signals,
        goals=goals.goal_progress(ws.targets, summary, period, ws.settings.success),
        success=ws.settings.success,
        pairs=_pairs(summary, ws.kpis),
        groups=groups,
        excluded=whole.excluded,
        moves=whole.moves,
        tails=whole.tails,
    )
    return analysis if keep is None else analysis.narrowed(*keep)


@dataclass(frozen=True)
class _Settings:
    """What every part of one analysis shares."""

    period: Period
    members: pd.DataFrame
    bounds: pd.DataFrame
    dates: np.ndarray  # the review dates of every KPI (series.review_dates)
    trend_points: int
    held: dict[str, set[str]] | None  # the only rows whose points and signals are kept


def _part(ws: Workspace, kpi_ids: list[str], at: _Settings, min_group_size: int) -> parts.Part:
    """The tables of the KPIs ``kpi_ids`` (:mod:`kpinb.analytics.parts`)."""
    clean, excluded = _usable(ws, at.period, kpi_ids)
    sizes = rollup.group_sizes(clean, at.members, at.period)
    points, keys = series.long_frame(clean, at.members, ws.kpis, at.period)
    del clean  # a copy of the observations: the points hold what is read from here on
    summary, rows, tails = _summarise(points, keys, at, min_group_size)
    records, moves = shared.attribute(
        rows, summary, at.members, sizes, ws.kpis, min_group_size, summary["incomplete_tail"]
    )
    summary = summary.join(records)
    summary["shared_relative"] = summary["shared_relative"].fillna(0).astype(int)
    found = series.signals_table(rows, keys)
    # a copy: a view would keep the points' whole block of integer columns
    row_key = points["key"].to_numpy(dtype=np.int32 if len(keys) < 2**31 else np.int64, copy=True)
    table = series.points_table(points, rows, keys)  # empties points and rows
    if at.held is not None:  # the others' points and rule hits go before the parts meet
        kept = rows_of(keys, at.held)[row_key]
        table, row_key = table[kept], row_key[kept]
        found = found[rows_of(found, at.held)]
    return parts.Part(summary, table, row_key, found, moves, tails, sizes, excluded)


def _usable(
    ws: Workspace, period: Period, kpi_ids: list[str], since: pd.Timestamp | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The observations of ``kpi_ids`` up to the period's end (from ``since`` on, when
    given), split into the plausible and the excluded (only the two parts outlive this
    call)."""
    obs = ws.observations
    keep = (obs["period"] <= period.end).to_numpy() & obs["kpi_id"].isin(kpi_ids).to_numpy()
    if since is not None:
        keep &= (obs["period"] >= since).to_numpy()
    obs = obs[keep]
    obs = obs.assign(
        kpi_id=obs["kpi_id"].astype("category"), employee_id=obs["employee_id"].astype("category")
    )
    return quality.split_plausible(obs, ws.kpis)


def split_by(frame: pd.DataFrame, column: str) -> dict[str, pd.DataFrame]:
    """``frame`` split by the values of ``column`` (one pass instead of one mask per key)."""
    return {str(k): g for k, g in frame.groupby(column, observed=True, sort=False)}


# --- per-series figures -----------------------------------------------------------------


def _summarise(
    points: pd.DataFrame, keys: pd.DataFrame, at: _Settings, min_group_size: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The summary table (one row per key) and the per-point rule hits of current versions."""
    period, trend_points, bounds, members = at.period, at.trend_points, at.bounds, at.members
    sign = keys["sign"]
    used = series.used(points, keys)
    # what the later steps read of the used points (all current, none incomplete)
    cur = points.drop(columns=["version", "incomplete", "usual_n"])[used].reset_index(drop=True)
    cur["pos"] = signals.positions(cur["key"].to_numpy())
    cur["baseline"] = signals.baseline_mask(cur)
    limits = signals.xmr_limits(cur)
    kpi = keys["kpi_id"].reindex(limits.index).astype(str)
    lags = carryover.lag1(cur, cur["baseline"].to_numpy())
    pool = keys["scope"].reindex(lags.index) + "\x1f" + keys["kpi_id"].reindex(lags.index)
    carry = carryover.carry_over(lags, pool)
    previous = np.asarray(period.previous().contains(cur["period"]), dtype=bool)
    # a series' start-up: its first points under any definition
    startup = signals.positions(points["key"].to_numpy()) < signals.STARTUP_POINTS
    startup = startup[used]
    cycle = _patterns(cur, keys, members)
    inside = tail.inside_share(cur, keys["cadence"].to_numpy()[cur["key"].to_numpy()], period.end)
    shaped = _against_pattern(
        cur.assign(inside=inside, startup=startup), cycle, keys, previous, trend_points
    )
    if shaped is not None:  # carry-over is judged on the series against its usual shape
        lags = _override(lags, shaped["lags"])
        carry = _override(carry, shaped["carry"])
    limits = carryover.widen(limits, lags, carry)
    limits["count_like"] &= ~kpi.map(bounds["percent"]).fillna(False).to_numpy(bool)
    limits = signals.apply_boundaries(
        limits,
        kpi.map(bounds["floor"]).to_numpy(dtype=float),
        kpi.map(bounds["ceiling"]).to_numpy(dtype=float),
    )
    rows = _rule_rows(cur.assign(inside=inside), limits, sign.to_numpy()[cur["key"].to_numpy()])
    shift = signals.shift_status(cur, limits)
    earlier = signals.earlier_move(cur, previous, startup, _crossed(shift))
    if shaped is not None:
        shift = _override(shift, shaped["shift"])
        earlier = _override(earlier, shaped["earlier"])
    # the end of the data: a week partly outside the period cannot carry a shift alone,
    # and an incomplete tail is no shift's evidence
    partial = cur.loc[inside < 1, "key"].unique()
    gids = _group_ids(keys, members)
    review = _review_people(cur, keys, limits, gids, at.dates)
    tails = tail.incomplete_tails(review, min_group_size)
    tail_from = tail.tail_start(keys, gids, tails)
    thin = tail.thin_evidence(cur, inside, shift)
    shift = tail.without_evidence(shift, tail_from, thin)
    summary = keys.join(limits.drop(columns=["mr_eff", "cusum_scale"]), how="left")
    summary = summary.join(shift.drop(columns=["n_review", "cusum_shift", "ends_inside"]))
    summary = summary.join(cycle[["pattern_cycle", "pattern_seen"]])
    summary["partial_week"] = summary.index.isin(partial)
    summary["incomplete_tail"] = tail_from
    summary["n_points"] = summary["n_points"].fillna(0).astype(int)
    summary = summary.join(_latest(points, period))
    complete = ~points["incomplete"].to_numpy()  # masks, not filtered copies of the points
    summary = summary.join(
        trend.period_changes(points, keys["definition_version"], sign, period, complete)
    )
    # the current definition's complete points, the ones ``used`` marks
    levels = quarters.quarter_levels(points, period, quarters.OVER_TIME_QUARTERS, used)
    summary = summary.join(
        quarters.over_time(levels, limits["sigma"], limits["cusum_scale"], sign, keys["cadence"])
    )
    for prefix in ("prev", "yoy"):
        summary[f"{prefix}_routine_limit"] = trend.routine_change(
            summary["sigma"], summary["n_in_period"], summary[f"{prefix}_n"]
        )
    summary = summary.join(signals.sparse_counts(cur))
    summary = summary.join(trend.theil_sen(cur, sign, trend_points))
    _temper_trend(summary, limits)
    if shaped is not None:
        columns = ["trend_slope", "trend_z", "trend_direction"]
        summary[columns] = _override(summary[columns], shaped["trend"][columns])
    summary = summary.join(_min_counts(cur, trend_points))
    summary = summary.join(_signal_summary(rows))
    status = signals.statuses(limits, shift, earlier, sign).reindex(summary.index)
    summary["status"] = status["status"].fillna("not_enough_history")
    summary["status"] = summary["status"].mask(summary["n_in_period"] == 0, "no_data")
    summary["shift_direction"] = status["shift_direction"].fillna(0).astype(int)
    summary["returned_after_previous"] = status["returned_after_previous"].fillna(False)
    summary = summary.join(earlier[["normal_lower", "normal_upper"]])
    summary["shift_holds"] = summary["status"].isin(HELD_STATUSES)
    summary = summary.join(_history(rows))
    if shaped is not None:
        summary["streak_length"] = _override(summary["streak_length"], shaped["streak"])
    summary = summary.join(_quality(points, summary, period))
    return _tidy(summary), rows, tails


def _group_ids(keys: pd.DataFrame, members: pd.DataFrame) -> dict[str, pd.Series]:
    """Per key and group level (team, department, workspace): the group the series
    belongs to (a person's team and department, a team itself and its department, a
    department itself; NaN where none)."""
    scope = keys["scope"].to_numpy()
    sid = keys["scope_id"].astype(str)
    dept_of_team = members.drop_duplicates("team_id").set_index("team_id")["department"]
    team = sid.map(members["team_id"]).where(scope == "employee", sid.where(scope == "team"))
    dept = sid.map(members["department"]).where(scope == "employee")
    dept = dept.fillna(sid.map(dept_of_team).where(scope == "team"))
    dept = dept.fillna(sid.where(scope == "department"))
    return {
        "team": team,
        "department": dept,
        "workspace": pd.Series(shared.WORKSPACE, index=keys.index, dtype=object),
    }


def _review_people(
    cur: pd.DataFrame,
    keys: pd.DataFrame,
    limits: pd.DataFrame,
    gids: dict[str, pd.Series],
    dates: np.ndarray,
) -> pd.DataFrame:
    """The review points of every person at the last of the review ``dates`` of the
    data (every KPI's), with their usual range and groups (the input of
    :func:`tail.incomplete_tails`)."""
    scope = keys["scope"].to_numpy()[cur["key"].to_numpy()]
    review = cur[["key", "period", "value"]][cur["in_review"].to_numpy() & (scope == "employee")]
    review = review[review["period"].isin(dates[-tail.TAIL_MAX :]).to_numpy()]
    key = review["key"].to_numpy()
    out = pd.DataFrame(
        {
            "kpi_id": keys["kpi_id"].to_numpy()[key],
            "period": review["period"].to_numpy(),
            "value": review["value"].to_numpy(),
            "centre": limits["centre"].reindex(key).to_numpy(),
            "sigma": limits["sigma"].reindex(key).to_numpy(),
        }
    )
    for level, gid in gids.items():
        out[level] = gid.to_numpy()[key]
    return out


# frame in, the same kind out: a DataFrame or a Series, which one annotation cannot say
def _override(frame: pd.DataFrame | pd.Series, other: pd.DataFrame | pd.Series):  # type: ignore[no-untyped-def]
    """``frame`` with the rows of ``other`` (same index name, columns) put in."""
    out = frame.copy()
    at = other.index.intersection(out.index)
    if isinstance(out, pd.DataFrame):
        for column in other.columns:
            if column in out:
                out.loc[at, column] = other.loc[at, column].to_numpy()
    else:
        out.loc[at] = other.loc[at].to_numpy()
    return out


def _patterns(cur: pd.DataFrame, keys: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Per key: ``pattern_cycle`` ("quarter" or None) and ``pattern_seen`` (earlier
    quarters), from the series' own test or its group's: a person's team, else
    department; a team's department (:mod:`kpinb.analytics.pattern`)."""
    found = pattern.detect(cur).reindex(keys.index)
    own = found["pattern_found"].fillna(False).to_numpy(dtype=bool)
    seen = found["pattern_seen"].fillna(0).to_numpy(dtype=int)
    scope = keys["scope"].to_numpy()
    emp = keys["scope_id"].astype(str)
    by_group = pd.Series(np.arange(len(keys)), index=pd.MultiIndex.from_frame(keys[KEY_COLS]))
    use, group_seen = own.copy(), seen.copy()
    team = emp.map(members["team_id"]).where(scope == "employee")
    dept = emp.map(members["department"]).where(scope == "employee")
    dept = dept.fillna(
        emp.map(members.drop_duplicates("team_id").set_index("team_id")["department"]).where(
            scope == "team"
        )
    )
    for level, gid in (("team", team), ("department", dept)):
        at = pd.MultiIndex.from_arrays([np.full(len(keys), level), gid.to_numpy(), keys["kpi_id"]])
        pos = by_group.reindex(at).to_numpy()
        ok = ~np.isnan(pos)
        idx = np.where(ok, pos, 0).astype(int)
        theirs = ok & own[idx]
        group_seen = np.where(theirs & ~use, seen[idx], group_seen)
        use |= theirs
    return pd.DataFrame(
        {
            "pattern_cycle": np.where(use, "quarter", np.array(None, dtype=object)),
            "pattern_seen": np.where(use, group_seen, 0),
            "pattern_use": use,
        },
        index=keys.index,
    )


def _against_pattern(
    cur: pd.DataFrame,
    cycle: pd.DataFrame,
    keys: pd.DataFrame,
    previous: np.ndarray,
    trend_points: int,
) -> dict[str, pd.DataFrame | pd.Series] | None:
    """Shift, earlier move, trend and streak of the series with a repeating pattern,
    judged against their usual shape (None when no series has one)."""
    use = cycle["pattern_use"].to_numpy(dtype=bool)
    if not use.any():
        return None
    key = cur["key"].to_numpy()
    wanted = use[key]
    adj = pattern.adjusted(cur.assign(previous=previous), wanted)
    before = adj.pop("previous").to_numpy(dtype=bool)
    adj.pop("inside")
    startup = adj.pop("startup").to_numpy(dtype=bool)
    limits = signals.xmr_limits(adj)
    lags = carryover.lag1(adj, signals.baseline_mask(adj))
    pool = keys["scope"].reindex(lags.index) + "\x1f" + keys["kpi_id"].reindex(lags.index)
    carry = carryover.carry_over(lags, pool)
    limits = carryover.widen(limits, lags, carry)
    sign = keys["sign"]
    # against the usual shape, the trend's noise is at least the baseline's (40 points
    # of it, against the 12 moving ranges of the trend's own window)
    trend_p = trend.theil_sen(adj, sign, trend_points, floor=limits["mr_bar"] / D2)
    _temper_trend(trend_p, limits)
    adj_sign = sign.to_numpy()[adj["key"].to_numpy()]
    shift = signals.shift_status(adj, limits)
    return {
        "shift": shift,
        "earlier": signals.earlier_move(adj, before, startup, _crossed(shift)),
        "trend": trend_p,
        "streak": trend.streaks(adj, adj_sign, trend.smoothed(adj)),
        "lags": lags,
        "carry": carry,
    }


def _crossed(shift: pd.DataFrame) -> pd.Index:
    """The keys whose review-period CUSUM crossed: the only ones whose status reads the
    previous period's move (:func:`kpinb.analytics.signals.statuses`); a later step
    only ever clears a crossing (:func:`kpinb.analytics.tail.without_evidence`)."""
    crossed: pd.Index = shift.index[shift["cusum_shift"].to_numpy() != 0]
    return crossed


def _temper_trend(summary: pd.DataFrame, limits: pd.DataFrame) -> None:
    """Judge the trend of series whose limits were widened for carry-over on the same
    footing: its z (from the moving-range sigma) scaled by that sigma over the widened
    one and by the effective sample size factor of the CUSUM."""
    widened = limits["limits_widened"].reindex(summary.index).fillna(False).to_numpy(bool)
    if not widened.any():
        return
    ratio = (limits["mr_bar"] / D2 / limits["sigma"]) * limits["cusum_scale"]
    factor = np.where(widened, ratio.reindex(summary.index).to_numpy(dtype=float), 1.0)
    summary["trend_z"] = summary["trend_z"] * factor
    summary["trend_direction"] = trend.judge(summary["trend_z"]).where(
        summary["trend_z"].notna(), summary["trend_direction"]
    )


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
    rate = np.isfinite(signals.take(limits["p_bar"], cur["key"].to_numpy()))
    if rate.any():  # a rate's limits: 3 sigma_i of each point's own denominator
        width = 3 * signals.point_sigma(cur, limits)
        floor, ceiling = (
            signals.take(limits[c], cur["key"].to_numpy()) for c in ("floor", "ceiling")
        )
        lower = np.fmax(rows["centre"].to_numpy() - width, floor)
        upper = np.fmin(rows["centre"].to_numpy() + width, ceiling)
        rows["lower"] = np.where(rate, lower, rows["lower"])
        rows["upper"] = np.where(rate, upper, rows["upper"])
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
    code = signals.rule_codes((hit[list(signals.RULES)] != 0).groupby(hit["key"]).any())
    last = g.tail(1).set_index("key")
    return pd.DataFrame(
        {
            "n_signals": (hit[list(signals.RULES)] != 0).sum(axis=1).groupby(hit["key"]).sum(),
            "signal_rules": np.asarray(signals.RULE_NAMES, dtype=object)[code],
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
    """Expected and missing points in the review period, staleness.

    A group's date with members missing (``incomplete``) is left out of its figures, so
    it counts as missing too; ``incomplete_in_period`` says how many of the missing are
    such dates (the data note names them apart)."""
    g = points.groupby("key", sort=True)
    first = g["period"].first().reindex(summary.index)
    seen = g["in_review"].sum().reindex(summary.index).fillna(0).astype(int)
    partial = points["in_review"].to_numpy() & points["incomplete"].to_numpy()
    by_key = pd.Series(partial).groupby(points["key"].to_numpy()).sum()
    incomplete = by_key.reindex(summary.index).fillna(0).astype(int).to_numpy()
    expected = quality.expected_points(first, summary["cadence"], period.start, period.end)
    out = pd.DataFrame({"expected_in_period": expected}, index=summary.index)
    out["missing_in_period"] = np.clip(expected - seen.to_numpy() + incomplete, 0, None)
    out["incomplete_in_period"] = incomplete
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
    summary["baseline_kind"] = summary["baseline_kind"].fillna("none").astype(object)
    for flag in ("lower_bounded", "upper_bounded", "shift_holds", "limits_widened"):
        summary[flag] = summary[flag].fillna(False).astype(bool)
    summary["baseline_n"] = summary["baseline_n"].fillna(0).astype(int)
    summary["sparse"] = summary["sparse"].fillna(False).astype(bool)
    return summary.drop(columns=["last_signal_direction"])


def _attach_groups(
    summary: pd.DataFrame, groups: pd.DataFrame, excluded: pd.DataFrame, members: pd.DataFrame
) -> pd.DataFrame:
    """Add n_people, suppression, parent and out-of-range counts; reset to a plain index."""
    summary = summary.reset_index(drop=True)
    summary["parent"] = _parents(summary, members)
    sizes = groups.set_index(KEY_COLS)[["n_people", "suppressed", "reason"]]
    summary = summary.join(sizes, on=KEY_COLS)
    is_person = (summary["scope"] == "employee").to_numpy()
    summary["n_people"] = np.where(is_person, 1, summary["n_people"].fillna(0)).astype(int)
    summary["suppressed"] = summary["suppressed"].fillna(False).astype(bool)
    summary["suppressed_reason"] = summary.pop("reason").fillna("").astype(object)
    summary["out_of_range"] = _out_of_range(summary, excluded, members)
    return summary


def _parents(summary: pd.DataFrame, members: pd.DataFrame) -> np.ndarray:
    """Each series' parent group: a person's team, a team's department (NA when the team
    has none), a department's the organisation."""
    scope = summary["scope"].to_numpy()
    sid = summary["scope_id"].astype(str)
    dept_of_team = members.drop_duplicates("team_id").set_index("team_id")["department"]
    out = np.where(
        scope == "employee",
        sid.map(members["team_id"]).to_numpy(dtype=object),
        sid.map(dept_of_team).to_numpy(dtype=object),
    )
    out = np.where(scope == "department", rollup.ORGANISATION, out)
    return pd.Series(out).where(pd.notna(out), None).to_numpy(dtype=object)


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
    table = pd.concat(counts).set_index(KEY_COLS)["n"]
    found = summary.join(table, on=KEY_COLS)["n"]
    return found.fillna(0).astype(int).to_numpy()


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
