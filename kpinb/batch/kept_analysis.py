"""The period's analysis kept between runs, so a rerun does not analyse again.

Analysing a big organisation takes minutes and most reruns read the same figures: a
rerun after new check-ins, after a failed report, or a few reports (``--only``) after a
whole run. A run keeps the whole analysis it computed in the period's private folder,
``<out>/.kpinb-private/<period>/analysis/<key>/``, under its key
(:func:`~kpinb.batch.planning.inputs_keys.analysis_key`: a hash of everything the
analysis is computed from); a later run whose key is the same reads it instead of
analysing, a run of a few reports only their rows of the points. Any other key, or a
store that cannot be read whole, is analysed again: the figures are never older than
the data.

The points (tens of millions of rows in a big organisation) are a Parquet file of
plain columns (a categorical as its codes, rebuilt with its categories), in row groups
of :data:`ROW_GROUP` rows, with the row range of each scope id, so a few ids read a few
row groups. The summary (one row per series, over a hundred columns of every kind) is
pickled in blocks of :data:`SUMMARY_BLOCK` rows with each id's row range, so a few ids
unpickle a few blocks, not everyone's figures. Everything else is one pickle (exact
dtypes). A pickle runs code when read,
so the store is read only from a folder its reader owns that nobody else can write to.
Figures of people at rest: the folder is the private one (0700, never published, never
uploaded), like failed reports' notebooks.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import filelock
import numpy as np
import pandas as pd

from kpinb import heap

if TYPE_CHECKING:
    import pyarrow as pa

    from kpinb.analytics import Analysis
    from kpinb.periods import Period
    from kpinb.workspace import Workspace

log = logging.getLogger(__name__)

STORE_DIR = "analysis"
ROW_GROUP = 65_536  # points per Parquet row group: a few people's rows read a few groups
_POINTS = "points.parquet"
_REST = "analysis.pickle"
_SUMMARY = "summary.pickle"
SUMMARY_BLOCK = 4096  # summary rows a pickled block: a few ids unpickle a few blocks
_STAGING = ".staging-"


@dataclass(frozen=True)
class _Rest:
    """The pickled part: the analysis without its points and summary, where each id's
    points and summary rows are, and where each block of the summary's file starts."""

    analysis: Analysis  # its points and summary tables empty, with their dtypes
    runs: pd.DataFrame  # scope, scope_id, start, stop: each id's rows of the points
    rows: int
    summary_runs: pd.DataFrame  # the same, of the summary
    block: int  # summary rows a block
    blocks: tuple[int, ...]  # each summary block's byte offset, then the file's end


def keep(
    store: Path,
    key: str,
    analysis: Analysis,
    *,
    row_group: int = ROW_GROUP,
    summary_block: int = SUMMARY_BLOCK,
) -> None:
    """Keep ``analysis`` (a whole period's) in ``store`` under ``key``, in place of any
    other key's. Written to a staging folder and renamed into place: a reader finds the
    whole analysis or none. A failure to write is logged and leaves no store."""
    points = analysis.points
    try:
        schema = _schema(points)
    except TypeError as exc:
        log.info("the period's analysis is not kept: %s", exc)
        return
    store.mkdir(mode=0o700, parents=True, exist_ok=True)
    with filelock.FileLock(store / ".lock"):
        for stale in store.glob(f"{_STAGING}*"):  # a killed run's (the lock holder only)
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=store))
        try:
            _write_points(staging / _POINTS, points, schema, row_group)
            summary = analysis.summary
            rest = _Rest(
                replace(analysis, points=points.iloc[:0], summary=summary.iloc[:0]),
                _runs(points),
                len(points),
                _runs(summary),
                summary_block,
                _write_summary(staging / _SUMMARY, summary, summary_block),
            )
            with (staging / _REST).open("wb") as handle:
                pickle.dump(rest, handle, protocol=pickle.HIGHEST_PROTOCOL)
                handle.flush()
                os.fsync(handle.fileno())
            target = store / key
            old = None
            if target.exists():  # the same key's, unreadable (a reader found it damaged)
                old = Path(tempfile.mkdtemp(prefix=_STAGING, dir=store))
                target.rename(old / key)
            staging.rename(target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            log.warning("could not keep the period's analysis in %s: %s", store, exc)
            return
        for other in store.iterdir():
            if other.is_dir() and other.name != key and not other.name.startswith(_STAGING):
                shutil.rmtree(other, ignore_errors=True)


def kept(
    store: Path, key: str, ids: tuple[set[str], set[str], set[str]] | None = None
) -> Analysis | None:
    """The analysis kept in ``store`` under ``key`` (None when there is none, or it cannot
    be read whole), narrowed to ``ids`` (people, teams, departments) when given: then
    only their points are read (:meth:`Analysis.narrowed`)."""
    folder = store / key
    if not (_private(store) and _private(folder)):
        return None
    try:
        with (folder / _REST).open("rb") as handle:
            rest = pickle.load(handle)
        if not isinstance(rest, _Rest):
            return None
        summary_runs = rest.summary_runs
        if ids is not None:
            summary_runs = summary_runs[_wanted(summary_runs, ids)]
        analysis = replace(
            rest.analysis, summary=_read_summary(folder / _SUMMARY, rest, summary_runs)
        )
        analysis = analysis if ids is None else analysis.narrowed(*ids)
        runs = rest.runs if ids is None else rest.runs[_wanted(rest.runs, ids)]
        points = _read_points(folder / _POINTS, rest, runs)
    except Exception as exc:  # a damaged or foreign store is analysed again, never trusted
        log.warning("the kept analysis in %s cannot be read (%s); analysing again", folder, exc)
        return None
    return replace(analysis, points=points)


def _private(path: Path) -> bool:
    """A folder of this user's that no one else may write to (always, where the system
    has no owners)."""
    try:
        info = path.lstat()
    except OSError:
        return False
    if not path.is_dir() or path.is_symlink():
        return False
    if not hasattr(os, "getuid"):
        return True
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def _plain(column: pd.Series) -> np.ndarray:
    """``column`` as a NumPy array Parquet stores exactly (a categorical's codes)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy()
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufM":
        return column.to_numpy()
    raise TypeError(f"column {column.name!r} is {column.dtype}, not a NumPy or categorical one")


def _schema(points: pd.DataFrame) -> pa.Schema:
    """The Parquet file's columns: the points' as :func:`_plain` stores them."""
    import pyarrow as pa

    empty = points.iloc[:0]
    return pa.schema([(n, pa.from_numpy_dtype(_plain(empty[n]).dtype)) for n in points.columns])


def _runs(points: pd.DataFrame) -> pd.DataFrame:
    """Each stretch of rows of one (scope, scope_id): its first row and the row after
    (compared by codes: no text object per point)."""
    if len(points) == 0:
        return pd.DataFrame({"scope": [], "scope_id": [], "start": [], "stop": []})
    scope, sid = (pd.factorize(points[name])[0] for name in ("scope", "scope_id"))
    change = np.flatnonzero((scope[1:] != scope[:-1]) | (sid[1:] != sid[:-1])) + 1
    start = np.concatenate([[0], change])
    stop = np.concatenate([change, [len(points)]])
    return pd.DataFrame(
        {
            "scope": pd.Categorical(points["scope"].iloc[start].astype(str)),
            "scope_id": pd.Categorical(points["scope_id"].iloc[start].astype(str)),
            "start": start,
            "stop": stop,
        }
    )


def _wanted(runs: pd.DataFrame, ids: tuple[set[str], set[str], set[str]]) -> np.ndarray:
    from kpinb.analytics.analysis import KEPT_SCOPES, rows_of

    return rows_of(runs, dict(zip(KEPT_SCOPES, ids, strict=True)))


def _write_points(path: Path, points: pd.DataFrame, schema: pa.Schema, row_group: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(points.columns)
    with path.open("wb") as handle:
        with pq.ParquetWriter(handle, schema, compression="zstd") as writer:
            for first in range(0, len(points), row_group):
                rows = points.iloc[first : first + row_group]
                writer.write_table(
                    pa.table({n: _plain(rows[n]) for n in names}, schema=schema),
                    row_group_size=row_group,
                )
        handle.flush()
        os.fsync(handle.fileno())


def _write_summary(path: Path, summary: pd.DataFrame, rows: int) -> tuple[int, ...]:
    """Pickle ``summary`` in blocks of ``rows`` rows, one after the other (at least one,
    which carries the columns' dtypes); each block's offset, then the file's end."""
    offsets = []
    with path.open("wb") as handle:
        for first in range(0, max(len(summary), 1), rows):
            offsets.append(handle.tell())
            block = summary.iloc[first : first + rows]
            pickle.dump(block, handle, protocol=pickle.HIGHEST_PROTOCOL)
        offsets.append(handle.tell())
        handle.flush()
        os.fsync(handle.fileno())
    return tuple(offsets)


def _read_summary(path: Path, rest: _Rest, runs: pd.DataFrame) -> pd.DataFrame:
    """The summary rows of ``runs``, in the summary's order: only the blocks holding
    them are unpickled (all of them when ``runs`` are every id's)."""
    count = len(rest.blocks) - 1
    whole = len(runs) == len(rest.summary_runs)
    rows = _ranges(runs["start"].to_numpy(np.int64), runs["stop"].to_numpy(np.int64))
    total = int(rest.summary_runs["stop"].max()) if len(rest.summary_runs) else 0
    firsts = np.minimum(np.arange(count + 1, dtype=np.int64) * rest.block, total)
    wanted, places = _places(rows, firsts)
    wanted = np.arange(count) if whole else wanted
    frames = []
    with path.open("rb") as handle:
        if handle.seek(0, os.SEEK_END) != rest.blocks[-1]:
            raise ValueError(
                f"the summary file holds {handle.tell()} bytes, {rest.blocks[-1]} expected"
            )
        for n in wanted.tolist() or [0]:  # no row wanted: the first block's empty columns
            handle.seek(rest.blocks[n])
            frames.append(pickle.load(handle))
    out = pd.concat(frames) if len(frames) > 1 else frames[0]
    if whole:
        return out
    return out.iloc[places] if len(wanted) else out.iloc[:0]


def _places(rows: np.ndarray, firsts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chunks (row groups, summary blocks: chunk ``i`` holds rows ``firsts[i]`` up to
    ``firsts[i + 1]``) that hold ``rows``, and each row's place among the rows of those
    chunks read one after the other."""
    chunk = np.searchsorted(firsts, rows, side="right") - 1
    read = np.unique(chunk)
    sizes = np.diff(firsts)
    at = np.zeros(len(sizes), dtype=np.int64)
    at[read] = np.cumsum(sizes[read]) - sizes[read]
    return read, rows - firsts[chunk] + at[chunk]


def _read_points(path: Path, rest: _Rest, runs: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``runs`` of the kept points, in the points' order, with their dtypes.

    Read a column at a time: only one column's row groups are held in Arrow beside the
    frame being filled (reading every column at once held them all, and their selected
    rows, on top of the frame: about 1 GB more at 50,000 people)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    empty = rest.analysis.points
    out: dict[str, object] = {}
    with pq.ParquetFile(path) as file:
        if file.metadata.num_rows != rest.rows:
            raise ValueError(f"{file.metadata.num_rows} points, {rest.rows} expected")
        sizes = np.array([file.metadata.row_group(i).num_rows for i in range(file.num_row_groups)])
        firsts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        groups: list[int] | None = None  # every id: the whole file
        taken = None
        if len(runs) != len(rest.runs):
            rows = _ranges(runs["start"].to_numpy(np.int64), runs["stop"].to_numpy(np.int64))
            read, places = _places(rows, firsts)
            groups, taken = read.tolist(), pa.array(places)
        for name in empty.columns:
            column = (
                file.read(columns=[name])
                if groups is None
                else file.read_row_groups(groups, columns=[name])
            ).column(0)
            values = (column if taken is None else column.take(taken)).to_numpy()
            del column
            dtype = empty[name].dtype
            if isinstance(dtype, pd.CategoricalDtype):
                out[name] = pd.Categorical.from_codes(values, dtype=dtype)
            else:
                out[name] = values if values.dtype == dtype else values.astype(dtype)
    return pd.DataFrame(out, copy=False)


def _ranges(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """The rows of the ranges ``start[i]:stop[i]``, ascending (the ranges do not overlap)."""
    order = np.argsort(start, kind="stable")
    start, stop = start[order], stop[order]
    lengths = stop - start
    offsets = np.repeat(start - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) + offsets


@dataclass(frozen=True)
class KeptAnalysis:
    """Where a run into ``period_dir`` finds the analysis an earlier run kept and keeps
    its own: ``analysis/`` in the period's private folder, under the analysis key of the
    run's workspace."""

    period_dir: Path
    key: str

    @classmethod
    def of(cls, ws: Workspace, per: Period, period_dir: Path) -> KeptAnalysis:
        from kpinb.batch.planning.inputs_keys import analysis_key

        return cls(period_dir, analysis_key(ws, per))

    @property
    def store(self) -> Path:
        from kpinb.batch.publish.folder import private_dir

        return private_dir(self.period_dir, create=False) / STORE_DIR

    def read(self, ids: tuple[set[str], set[str], set[str]] | None = None) -> Analysis | None:
        """The kept analysis when it is current (:func:`kept`), else None."""
        import pyarrow as pa

        found = kept(self.store, self.key, ids)
        # what reading it took and freed (the unpickled whole, the row groups read) goes
        # back to the system: Arrow's allocator and glibc's both keep it otherwise
        pa.default_memory_pool().release_unused()
        heap.give_back()
        if found is not None:
            log.info("the analysis an earlier run kept is current: not analysed again")
        return found

    def write(self, analysis: Analysis) -> None:
        """Keep ``analysis`` (everyone's) for the next run. A cache: a failure is logged
        and the run goes on."""
        from kpinb.batch.publish.folder import private_dir

        try:
            private_dir(self.period_dir)  # owner-only before anything is written in it
            keep(self.store, self.key, analysis)
        except OSError as exc:
            log.warning("could not keep the period's analysis: %s", exc)
