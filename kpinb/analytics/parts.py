"""A big workspace analysed a few KPIs at a time, and the parts put back together.

Every figure of an analysis but the pairs of KPIs is computed within one KPI: a
series, its group's series, the carry-over pooled per scope and KPI, what moved for
everyone in a KPI, an incomplete tail of a group's KPI. The KPIs can therefore be
analysed in parts of at most :data:`PART_ROWS` observation rows: the peak memory is one
part's working frames beside the tables already made, not the whole organisation's
working frames at once. Put together, the tables are the ones a single pass over every
KPI gives, row for row and bit for bit (``tests/analytics/test_parts.py``). The only
figure read across KPIs before the parts are made is the set of review dates an
incomplete tail is looked for in (:func:`kpinb.analytics.series.review_dates`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from kpinb import heap
from kpinb.analytics.series import KEY_COLS

# observation rows analysed at once (a KPI with more is a part alone): a part's working
# frames take about 250 B a row beside the tables already made
PART_ROWS = 2_000_000

Codes = np.ndarray[Any, np.dtype[np.integer[Any]]]  # a categorical's codes
Rank = Callable[[pd.DataFrame], np.ndarray]  # a table's rows' places in the whole's order
_SCOPES = {"employee": 0, "team": 1, "department": 2, "workspace": 3}


@dataclass
class Part:
    """The tables of one part's KPIs. ``summary`` is indexed by the part's own series
    keys (0, 1, ... as :func:`kpinb.analytics.series.long_frame` numbers them);
    ``row_key`` is that key for each row of ``points``."""

    summary: pd.DataFrame
    points: pd.DataFrame
    row_key: np.ndarray
    signals: pd.DataFrame
    moves: pd.DataFrame
    tails: pd.DataFrame
    sizes: pd.DataFrame
    excluded: pd.DataFrame


def kpi_parts(kpi_column: pd.Series, kpi_ids: list[str], limit: int) -> list[list[str]]:
    """The dictionary's KPIs (``kpi_ids``, in order) in parts of at most ``limit``
    observation rows of ``kpi_column`` each (a KPI with more rows is a part alone)."""
    counts = kpi_column.value_counts()
    parts: list[list[str]] = []
    current: list[str] = []
    size = 0
    for kpi_id in kpi_ids:
        rows = int(counts.get(kpi_id, 0))
        if current and rows and size + rows > limit:  # no rows: no part of its own
            parts.append(current)
            current, size = [], 0
        current.append(kpi_id)
        size += rows
    return [*parts, current] if current or not parts else parts


def combine(found: list[Part], observations: pd.DataFrame) -> Part:
    """The parts' tables as one pass over all their KPIs makes them: series in the
    order of their keys (scope, then scope id, then KPI, as
    :func:`kpinb.analytics.series.long_frame` numbers them), each table's rows in the
    order it gives them. Empties the parts' summaries and points tables as it goes
    (together they are the size of the whole ones)."""
    summary = _concat([p.summary for p in found])
    offsets = np.cumsum([0, *(len(p.summary) for p in found)])
    for part in found:  # the whole holds them now
        part.summary = part.summary.iloc[:0]
    order = _series_order(summary, observations)
    final_key = np.empty(len(summary), dtype=np.int64)
    final_key[order] = np.arange(len(summary))
    if not _identity(order):
        summary = summary.iloc[order]
    summary.index = pd.RangeIndex(len(summary), name="key")
    part_keys = [final_key[offset + p.row_key] for p, offset in zip(found, offsets, strict=False)]
    for part in found:
        part.row_key = part.row_key[:0]
    keys = pd.Series(np.arange(len(summary)), index=pd.MultiIndex.from_frame(summary[KEY_COLS]))
    # the label columns' categories, as one pass gives them: every series' values, sorted
    labels = {name: pd.Index(sorted(set(summary[name].astype(str)))) for name in KEY_COLS}
    return Part(
        summary=summary,
        points=_points(found, _destinations(part_keys, len(summary)), labels),
        row_key=np.empty(0, dtype=np.int64),
        signals=_signals([p.signals for p in found], keys, labels),
        moves=_stacked([p.moves for p in found], _group_rank(keys)),
        tails=_stacked([p.tails for p in found], _labels_rank),
        sizes=_stacked([p.sizes for p in found], _labels_rank),
        excluded=_stacked([p.excluded for p in found], None),
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts' summaries one under the other, each column of the type one frame of
    all the rows would have: text where some part's column is text and every other
    part's holds nothing (pandas reads a column of text and missing values as text, one
    of missing values alone as object)."""
    if len(frames) == 1:
        return frames[0]
    out = pd.concat(frames)
    for name in out.columns:
        text = [f[name].dtype for f in frames if isinstance(f[name].dtype, pd.StringDtype)]
        if text and all(
            isinstance(f[name].dtype, pd.StringDtype) or f[name].isna().all() for f in frames
        ):
            out[name] = out[name].astype(text[0])
    return out


def _series_order(summary: pd.DataFrame, observations: pd.DataFrame) -> np.ndarray:
    """Positions of ``summary``'s rows in key order: scope, then scope id (a person in
    the order of the observations' ``employee_id`` categories, a group by name), then
    KPI (the order of the observations' ``kpi_id`` categories)."""
    scope = summary["scope"].map(_SCOPES).to_numpy(dtype=np.int64)
    sid = summary["scope_id"].astype(str).to_numpy(dtype=object)
    sid_rank = np.unique(sid, return_inverse=True)[1]
    person = scope == 0
    sid_rank[person] = _rank(sid[person], observations["employee_id"])
    kpi = _rank(summary["kpi_id"].astype(str).to_numpy(dtype=object), observations["kpi_id"])
    order: np.ndarray = np.lexsort((kpi, sid_rank, scope))
    return order


def _rank(values: np.ndarray, column: pd.Series) -> np.ndarray:
    """Each value's place in ``column``'s categories (a categorical's own order), or
    among the sorted values (what ``astype("category")`` gives any other column)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = np.asarray(column.cat.categories.astype(str), dtype=object)
        codes: np.ndarray = pd.Categorical(values, categories=names).codes.astype(np.int64)
        return codes
    return np.unique(values, return_inverse=True)[1]


def _identity(order: np.ndarray) -> bool:
    return bool(np.array_equal(order, np.arange(len(order))))


def _destinations(part_keys: list[np.ndarray], n_keys: int) -> list[np.ndarray] | None:
    """Where each part's points go in the whole table: its rows carry their series' final
    keys (each series' rows together, in date order); the whole holds the series in key
    order. Empties ``part_keys``. None when the parts' rows are in that order already."""
    stacked = np.concatenate(part_keys) if part_keys else np.empty(0, dtype=np.int64)
    if bool(np.all(stacked[1:] >= stacked[:-1])):
        return None
    sizes = np.bincount(stacked, minlength=n_keys)
    del stacked
    start = np.cumsum(sizes) - sizes
    index = np.int32 if sizes.sum() < 2**31 else np.int64
    found = []
    while part_keys:
        keys = part_keys.pop(0)
        first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else keys
        within = np.arange(len(keys)) - np.repeat(first, np.diff(np.r_[first, len(keys)]))
        found.append((start[keys] + within).astype(index))
    return found


def _points(
    found: list[Part], destinations: list[np.ndarray] | None, labels: dict[str, pd.Index]
) -> pd.DataFrame:
    """The points tables of the parts as one, each part's rows put at its
    ``destinations``, moved column by column: a column of the whole is made as the parts'
    copies of it are let go."""
    if len(found) == 1:  # the whole already, its columns its own
        return found[0].points
    n_rows = sum(len(p.points) for p in found)
    columns = list(found[0].points.columns)
    out: dict[str, object] = {}
    for name in columns:
        pieces = [p.points.pop(name) for p in found]
        categorical = isinstance(pieces[0].dtype, pd.CategoricalDtype)
        if categorical:
            names = labels.get(name, pieces[0].cat.categories)
            pieces = [p.cat.set_categories(names).cat.codes for p in pieces]
        arrays = [p.to_numpy() for p in pieces]
        whole = np.empty(n_rows, dtype=arrays[0].dtype)
        at = 0
        for n, values in enumerate(arrays):
            where = destinations[n] if destinations is not None else slice(at, at + len(values))
            whole[where] = values
            at += len(values)
        out[name] = pd.Categorical.from_codes(cast(Codes, whole), names) if categorical else whole
        del pieces, arrays
        heap.give_back()  # the parts' copies, freed: the whole's column takes their place
    return pd.DataFrame(out, copy=False)


def _signals(
    frames: list[pd.DataFrame], keys: pd.Series, labels: dict[str, pd.Index]
) -> pd.DataFrame:
    """The parts' signals tables as one: every series' rule hits by key, date, rule."""
    relabelled = [
        frame.assign(**{name: frame[name].cat.set_categories(labels[name]) for name in KEY_COLS})
        for frame in frames
    ]
    out = pd.concat(relabelled, ignore_index=True) if len(frames) > 1 else relabelled[0]
    if len(frames) == 1 or out.empty:
        return out
    at = pd.MultiIndex.from_arrays([out[c].astype(str) for c in KEY_COLS])
    out["_key"] = keys.reindex(at).to_numpy()
    out = out.sort_values(["_key", "period", "rule"])
    return out.drop(columns="_key").reset_index(drop=True)


def _group_rank(keys: pd.Series) -> Rank:
    """A moves table's order: a team's or department's row at its series' key, the
    workspace's rows after all of them by KPI."""

    def rank(frame: pd.DataFrame) -> np.ndarray:
        at = pd.MultiIndex.from_arrays([frame[c].astype(str) for c in KEY_COLS])
        found = keys.reindex(at).to_numpy(dtype=float)
        kpi = np.unique(frame["kpi_id"].astype(str).to_numpy(dtype=object), return_inverse=True)
        out: np.ndarray = np.where(np.isnan(found), len(keys) + kpi[1], found)
        return out

    return rank


def _labels_rank(frame: pd.DataFrame) -> np.ndarray:
    """A per-group table's order: scope (team, department, workspace), scope id, KPI."""
    scope = frame["scope"].map(_SCOPES).to_numpy(dtype=np.int64)
    sid = np.unique(frame["scope_id"].astype(str).to_numpy(dtype=object), return_inverse=True)[1]
    kpi = np.unique(frame["kpi_id"].astype(str).to_numpy(dtype=object), return_inverse=True)[1]
    order: np.ndarray = np.lexsort((kpi, sid, scope))
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(len(frame))
    return rank


def _stacked(frames: list[pd.DataFrame], rank: Rank | None) -> pd.DataFrame:
    """The parts' rows of a table, in the order ``rank`` gives (the original index's
    order without one), as a fresh plain index. A table no part has rows in is the
    first part's empty one whose columns carry their types (a part found no rows but
    typed them), else the first part's."""
    full = [f for f in frames if len(f)]
    if not full:
        typed = [f for f in frames if any(dtype != np.dtype(object) for dtype in f.dtypes)]
        return (typed or frames)[0].reset_index(drop=True)
    out = pd.concat(full) if len(full) > 1 else full[0]
    if rank is None:
        return out.sort_index(kind="stable").reset_index(drop=True)
    if len(full) == 1:
        return out.reset_index(drop=True)
    order = np.argsort(rank(out), kind="stable")
    return out.iloc[order].reset_index(drop=True)
