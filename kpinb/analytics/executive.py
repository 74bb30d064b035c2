"""Executive masking: nothing shown rests on fewer than ``min_group_size`` people,
alone or by subtraction.

Executive views see teams and departments only. A suppressed group shows no figure;
a team or department date is hidden where fewer than the threshold contributed, and a
department's where its value less its shown teams' would give hidden teams' resting
on fewer than the threshold or on one team (complementary per date); each figure
group (latest value, level, change, year change, trend, limits, history) is withheld
where it rests on a hidden date, and chart points, signals and goals follow what is
shown (docs/analytics.md, "Executive privacy"). Behind
:attr:`Analysis.executive_analysis`.
"""

from __future__ import annotations

from dataclasses import Field, replace
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np
import pandas as pd

from kpinb.analytics import goals
from kpinb.analytics.series import KEY_COLS
from kpinb.periods import Period


class _Tables(Protocol):
    """What masking reads of an analysis (a frozen dataclass; ``replace`` makes the copy)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def period(self) -> Period: ...
    @property
    def min_group_size(self) -> int: ...
    @property
    def success(self) -> float: ...
    @property
    def summary(self) -> pd.DataFrame: ...
    @property
    def points(self) -> pd.DataFrame: ...
    @property
    def signals(self) -> pd.DataFrame: ...
    @property
    def goals(self) -> pd.DataFrame: ...
    @property
    def pairs(self) -> pd.DataFrame: ...
    @property
    def excluded(self) -> pd.DataFrame: ...
    @property
    def moves(self) -> pd.DataFrame: ...
    @property
    def tails(self) -> pd.DataFrame: ...


A = TypeVar("A", bound=_Tables)


def masked(analysis: A) -> A:
    """The team and department part of ``analysis`` with the executive masking applied
    to every table: summary rows masked (figures resting on a hidden date withheld),
    points of hidden dates (:func:`hidden_dates`) left out, signals and goals recomputed
    on what is shown, moves only of groups whose limits are shown, pairs and excluded
    empty."""
    a = analysis
    rows = a.summary[a.summary["scope"] != "employee"].reset_index(drop=True)
    group_points = a.points[(a.points["scope"] != "employee").to_numpy()].reset_index(drop=True)
    at = _row_of(group_points, rows)
    off = hidden_dates(group_points, rows, a.min_group_size)
    rows = _mask_small(rows, a.min_group_size, _resting(group_points, at, off, rows, a.period))
    hidden = rows["suppressed"].to_numpy()
    for column in _GROUP_FIGURES:
        rows[column] = rows[column].mask(hidden)
    for column in ("shift_onset", "shift_detected"):
        rows[column] = rows[column].mask(hidden)
    rows["shift_direction"] = np.where(hidden, 0, rows["shift_direction"])
    rows["shift_holds"] = rows["shift_holds"] & ~hidden
    for column in ("status", "trend_direction", "signal_rules"):
        rows[column] = rows[column].mask(hidden, "suppressed")
    rows["withheld"] = rows["withheld"].mask(hidden, "")
    targets = a.goals[a.goals["scope"] != "employee"]
    targets = targets.assign(
        baseline=targets["baseline"].where(targets["baseline_source"] == "given")
    )
    return replace(
        a,
        summary=rows,
        points=_shown_points(group_points[~off], rows),
        signals=_at_shown_dates(_shown(a.signals, rows, "limits"), group_points[off]),
        goals=goals.goal_progress(targets, rows, a.period, a.success),
        pairs=a.pairs[a.pairs["scope"] != "employee"].iloc[0:0],
        moves=_shown_moves(a.moves, rows, "limits"),
        tails=_shown_moves(a.tails, rows, ""),
        excluded=a.excluded.iloc[0:0],
    )


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
    "limits": (
        "baseline_min_n",
        (
            "centre",
            "mr_bar",
            "lower",
            "upper",
            "url",
            "sigma",
            "shift_size",
            "shift_sigmas",
            "sparse_value",
            "period_lower",
            "period_upper",
            "period_denominator",
        ),
    ),
    "history": (
        "history_min_n",
        (
            "best_value",
            "dip_value",
            "normal_lower",
            "normal_upper",
            "over_time_z",
            "over_time_from_level",
            "over_time_to_level",
        ),
    ),
}


# figures blanked for a suppressed group: every figure of every group above
_GROUP_FIGURES = tuple(c for _, columns in _WITHHOLD.values() for c in columns)


def _mask_small(rows: pd.DataFrame, size: int, resting: pd.DataFrame) -> pd.DataFrame:
    """Withhold each figure group whose fewest contributors at one date is below ``size``
    or that rests on a hidden date (``resting``: per row and figure group).

    A group without data for a figure (count NaN) has nothing to withhold.
    """
    names = []
    for name, (count, columns) in _WITHHOLD.items():
        small = (rows[count] < size).to_numpy() | resting[name].to_numpy(dtype=bool)
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
            for column in ("shift_onset", "shift_detected"):
                rows[column] = rows[column].mask(small)
            rows["shift_direction"] = np.where(small, 0, rows["shift_direction"])
            rows["shift_holds"] = rows["shift_holds"] & ~small
        if name in ("limits", "history"):  # a dip is a worsening signal: it needs limits
            for column in ("dip_period", "dip_value", "recovered_period"):
                rows[column] = rows[column].mask(small)
            rows["recovered"] = rows["recovered"] & ~small
        if name == "history":
            rows["best_period"] = rows["best_period"].mask(small)
            rows["best_is_new"] = rows["best_is_new"] & ~small
            rows["streak_length"] = np.where(small, 0, rows["streak_length"])
    withheld = [",".join(n for n in group if n) for group in zip(*names, strict=True)]
    rows = rows.copy()  # one block again after the column edits above
    rows["withheld"] = pd.Series(withheld, index=rows.index, dtype=str)  # str when empty too
    return rows


def _shown(frame: pd.DataFrame, rows: pd.DataFrame, group: str) -> pd.DataFrame:
    """Rows of ``frame`` whose series is shown and has figure ``group`` not withheld."""
    ok = ~rows["suppressed"].to_numpy()
    if group:
        ok &= ~rows["withheld"].str.contains(group).to_numpy()
    keep = rows.loc[ok, KEY_COLS].astype(str)
    keys = pd.MultiIndex.from_frame(keep)
    mine = pd.MultiIndex.from_frame(frame[KEY_COLS].astype(str))
    return frame[mine.isin(keys)].reset_index(drop=True)


def _shown_points(pts: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Chart points executive views may show (``pts``: the group points of shown dates):
    those of shown series; limits, signals and smoothed levels only where not withheld."""
    pts = _shown(pts, rows, "")
    info = rows.set_index(KEY_COLS)["withheld"]
    withheld = info.reindex(pd.MultiIndex.from_frame(pts[KEY_COLS].astype(str))).to_numpy()
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


def _at_shown_dates(frame: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``frame`` (signals) not at a hidden date of their series (``hidden``:
    points)."""
    cols = [*KEY_COLS, "period"]
    gone = pd.MultiIndex.from_frame(hidden[cols].astype({c: str for c in KEY_COLS}))
    mine = pd.MultiIndex.from_frame(frame[cols].astype({c: str for c in KEY_COLS}))
    return frame[~mine.isin(gone)].reset_index(drop=True)


def _shown_moves(moves: pd.DataFrame, rows: pd.DataFrame, group: str) -> pd.DataFrame:
    """Rows (moves or tails) of shown groups whose figure ``group`` is not withheld (a
    move's change is the shift's size, a limits figure); the whole workspace's always
    (it is never suppressed, and no executive view shows it)."""
    held = rows["suppressed"].to_numpy(dtype=bool).copy()
    if group:
        held |= rows["withheld"].str.contains(group).to_numpy(dtype=bool)
    gone = pd.MultiIndex.from_frame(rows.loc[held, KEY_COLS].astype(str))
    mine = pd.MultiIndex.from_frame(moves[KEY_COLS].astype(str))
    return moves[~mine.isin(gone)].reset_index(drop=True)


# --- hidden dates -----------------------------------------------------------------------


def _row_of(points: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Per point, the position of its series in ``rows`` (-1: none)."""
    index = pd.MultiIndex.from_frame(rows[KEY_COLS].astype(str))
    mine = pd.MultiIndex.from_frame(points[KEY_COLS].astype(str))
    return np.asarray(index.get_indexer(mine))


def hidden_dates(points: pd.DataFrame, rows: pd.DataFrame, size: int) -> np.ndarray:
    """Per point of a team or department series: hidden from executive views.

    A point is hidden when its series is suppressed or fewer than ``size`` people
    contributed that date. A department's point is hidden too where its value, less its
    shown teams' that date, would give the hidden teams' together on fewer than ``size``
    people or on one team alone: per (department, KPI, date), the hidden teams'
    contributors that date must be none, or at least ``size`` in at least 2 teams (the
    complementary rule of suppression, per date). That holds for every rollup: a sum
    less sums, a mean times its count less means times theirs, a rate's numerators and
    denominators; a median is hidden alike. The organisation is shown in no executive
    view, so departments need no such rule against it. ``points`` and ``rows``: the
    group part of the analysis (points, and summary with ``parent``: a team's
    department).
    """
    at = _row_of(points, rows)
    known = at >= 0
    row = np.where(known, at, 0)
    n = points["n"].to_numpy(dtype=float)
    hidden: np.ndarray = ~known | rows["suppressed"].to_numpy(dtype=bool)[row] | (n < size)
    scope = points["scope"].astype(str).to_numpy()
    kpi = points["kpi_id"].astype(str).to_numpy()
    when = points["period"].to_numpy()
    parent = rows["parent"].astype(object).to_numpy()[row]
    team = (scope == "team") & known & pd.notna(parent) & hidden
    if not team.any():
        return hidden
    cells = pd.DataFrame(
        {"parent": parent[team].astype(str), "kpi": kpi[team], "when": when[team], "n": n[team]}
    )
    per = cells.groupby(["parent", "kpi", "when"], sort=False)["n"].agg(["sum", "size"])
    exposed = per[(per["sum"] < size) | (per["size"] < 2)].index
    dept = (scope == "department") & known
    mine = pd.MultiIndex.from_arrays(
        [points["scope_id"].astype(str).to_numpy()[dept], kpi[dept], when[dept]]
    )
    hidden[np.flatnonzero(dept)[mine.isin(exposed)]] = True
    return hidden


def _resting(
    points: pd.DataFrame, at: np.ndarray, hidden: np.ndarray, rows: pd.DataFrame, period: Period
) -> pd.DataFrame:
    """Per row and figure group of :data:`_WITHHOLD`: whether the figure rests on a
    hidden date. ``points``: the group points, ``at`` each one's row, ``hidden`` its flag.

    The dates each figure rests on, as the analysis computes it: the latest point; the
    review period's, previous period's and year-earlier period's complete points (the
    level of the review period of the current definition only); the baseline and, for a
    shift, its points from the onset on (limits); the last ``trend_n`` points used
    (trend); every point used (history: current definition, complete).
    """
    known = at >= 0
    row = np.where(known, at, 0)
    when = points["period"]
    complete = ~points["incomplete"].to_numpy(dtype=bool)
    used = complete & points["current_version"].to_numpy(dtype=bool)
    last = when.to_numpy() == when.groupby(at).transform("max").to_numpy()
    onset = pd.to_datetime(rows["shift_onset"]).to_numpy()[row]
    since_onset = used & (when.to_numpy() >= onset)  # NaT: False
    # position from the end among the points used (a point not used: never in the trend)
    from_end = pd.Series(used[::-1].astype(int)).groupby(at[::-1]).cumsum().to_numpy()[::-1]
    trend_n = rows["trend_n"].to_numpy(dtype=float)[row]
    sets = {
        "latest": last,
        "level": used & period.contains(when).to_numpy(),
        "change": complete & period.previous().contains(when).to_numpy(),
        "year_change": complete & period.year_earlier().contains(when).to_numpy(),
        "trend": used & (from_end <= trend_n),
        "limits": points["baseline"].to_numpy(dtype=bool) | since_onset,
        "history": used,
    }
    out = {}
    for name, mask in sets.items():
        hit = known & hidden & mask
        out[name] = np.bincount(at[hit], minlength=len(rows)) > 0
    return pd.DataFrame(out, index=rows.index)
