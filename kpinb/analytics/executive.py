"""Executive masking: nothing shown rests on fewer than ``min_group_size`` people.

Executive views see teams and departments only. A suppressed group shows no figure;
for a shown group, each figure group (latest value, level, change, year change,
trend, limits, history) is withheld where its fewest contributors at one date are
below the threshold, and chart points, signals and goals follow what is shown
(docs/analytics.md, "Executive privacy"). Behind :attr:`Analysis.executive_analysis`.
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

# figures blanked for a suppressed group
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
    "sigma",
    "shift_size",
    "shift_sigmas",
    "best_value",
    "dip_value",
    "period_lower",
    "period_upper",
    "period_denominator",
    "over_time_z",
    "over_time_from_level",
    "over_time_to_level",
)


def masked(analysis: A) -> A:
    """The team and department part of ``analysis`` with the executive masking applied
    to every table: summary rows masked, points of dates with fewer than
    ``min_group_size`` contributors left out, signals and goals recomputed on what is
    shown, pairs and excluded empty."""
    a = analysis
    rows = a.summary[a.summary["scope"] != "employee"].reset_index(drop=True)
    rows = _mask_small(rows, a.min_group_size)
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
        points=_shown_points(a.points, rows, a.min_group_size),
        signals=_shown(a.signals, rows, "limits"),
        goals=goals.goal_progress(targets, rows, a.period),
        pairs=a.pairs[a.pairs["scope"] != "employee"].iloc[0:0],
        moves=_shown_moves(a.moves, rows),
        tails=_shown_moves(a.tails, rows),
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
            "period_lower",
            "period_upper",
            "period_denominator",
        ),
    ),
    "history": (
        "history_min_n",
        ("best_value", "dip_value", "over_time_z", "over_time_from_level", "over_time_to_level"),
    ),
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


def _shown_points(points: pd.DataFrame, rows: pd.DataFrame, size: int) -> pd.DataFrame:
    """Chart points executive views may show: shown series, dates with at least ``size``
    contributors; limits, signals and smoothed levels only where not withheld."""
    pts = _shown(points[(points["n"] >= size).to_numpy()], rows, "")
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


def _shown_moves(moves: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows (moves or tails) of shown groups (the whole workspace's always: it is never
    suppressed)."""
    hidden = rows.loc[rows["suppressed"].to_numpy(), KEY_COLS].astype(str)
    gone = pd.MultiIndex.from_frame(hidden)
    mine = pd.MultiIndex.from_frame(moves[KEY_COLS].astype(str))
    return moves[~mine.isin(gone)].reset_index(drop=True)
