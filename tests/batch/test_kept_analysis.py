"""The period's analysis a run keeps for the next: read back exactly, a few ids' rows
alone, never when anything it is computed from changed, never from a damaged or
foreign folder."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from kpinb.analytics import Analysis, analyse
from kpinb.analytics.analysis import ALL_SCOPED_TABLES
from kpinb.batch import kept_analysis
from kpinb.batch.kept_analysis import KeptAnalysis, keep, kept
from kpinb.batch.planning.inputs_keys import analysis_key
from kpinb.periods import Period, parse_period
from kpinb.workspace import Workspace, load_workspace

PERIOD = "2026-Q3"


@pytest.fixture(scope="module")
def per() -> Period:
    return parse_period(PERIOD)


@pytest.fixture(scope="module")
def whole(ws: Workspace, per: Period) -> Analysis:
    return analyse(ws, per)


def _same(got: Analysis, expected: Analysis) -> None:
    for name in (*ALL_SCOPED_TABLES, "excluded"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), check_exact=True)
    assert (got.period, got.min_group_size, got.success) == (
        expected.period,
        expected.min_group_size,
        expected.success,
    )


def test_a_kept_analysis_reads_back_as_it_was(tmp_path: Path, whole: Analysis) -> None:
    store = tmp_path / "analysis"
    # many row groups and summary blocks, ids across their edges
    keep(store, "k1", whole, row_group=7, summary_block=9)
    _same(kept(store, "k1"), whole)  # type: ignore[arg-type]  # None fails the test
    assert kept(store, "another key") is None


@pytest.mark.parametrize(
    "ids",
    [
        ({"E002"}, set(), set()),
        ({"E001", "E009"}, {"T01"}, set()),
        (set(), {"T02"}, {"Sales"}),
        ({"nobody"}, set(), set()),
    ],
)
def test_a_few_ids_read_their_rows_alone(
    tmp_path: Path,
    whole: Analysis,
    ids: tuple[set[str], set[str], set[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyarrow.parquet as pq

    store = tmp_path / "analysis"
    keep(store, "k1", whole, row_group=50, summary_block=3)
    read: list[list[int]] = []  # the row groups of each read (a column at a time)
    seeks: list[int] = []  # where the summary's blocks are unpickled from
    loaded = kept_analysis.pickle.load

    def counting_load(handle: object) -> object:
        seeks.append(handle.tell())  # type: ignore[attr-defined]
        return loaded(handle)  # type: ignore[arg-type]

    original = pq.ParquetFile.read_row_groups

    def counting(self: pq.ParquetFile, groups: list[int], **kwargs: object) -> object:
        read.append(list(groups))
        return original(self, groups, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", counting)
    monkeypatch.setattr(kept_analysis.pickle, "load", counting_load)
    got = kept(store, "k1", ids)
    monkeypatch.undo()
    assert got is not None
    _same(got, whole.narrowed(*ids))
    expected_groups = {
        row // 50
        for row in whole.points.index[whole.points["scope_id"].astype(str).isin(set().union(*ids))]
    }
    assert len(read) == len(whole.points.columns)  # each column read once
    assert all(set(groups) == expected_groups for groups in read)  # only their rows' groups
    assert len(read[0]) < len(whole.points) / 50
    # the summary: the rest, then only the blocks of 3 rows holding their rows (or, for
    # no row, the first block, for its columns)
    summary = whole.summary.reset_index(drop=True)
    theirs = summary.index[summary["scope_id"].astype(str).isin(set().union(*ids))]
    blocks = sorted({row // 3 for row in theirs}) or [0]
    offsets = kept_analysis.pickle.load((store / "k1" / "analysis.pickle").open("rb")).blocks
    assert seeks == [0, *(offsets[b] for b in blocks)]
    assert len(blocks) < len(offsets) - 1  # not every block


def test_the_key_follows_what_the_analysis_is_computed_from(
    ws: Workspace, per: Period, workspace_dir: Path
) -> None:
    key = analysis_key(ws, per)
    assert analysis_key(load_workspace(workspace_dir), per) == key  # a fresh load
    obs = ws.observations.copy()
    obs.loc[obs.index[5], "value"] += 1
    targets = ws.targets.copy()
    targets.loc[targets.index[0], "target"] = targets["target"].iloc[0] + 1
    people = ws.people.copy()
    other = sorted(set(people["team_id"]) - {people["team_id"].iloc[3]})[0]
    people.loc[people.index[3], "team_id"] = other
    changed = [
        replace(ws, observations=obs),
        replace(ws, targets=targets),
        replace(ws, people=people),
        replace(ws, settings=replace(ws.settings, min_group_size=ws.settings.min_group_size + 1)),
    ]
    keys = {analysis_key(w, per) for w in changed}
    assert len(keys) == len(changed) and key not in keys
    assert analysis_key(ws, parse_period("2026-Q2")) != key


def test_a_damaged_or_open_store_is_analysed_again(
    tmp_path: Path, whole: Analysis, caplog: pytest.LogCaptureFixture
) -> None:
    store = tmp_path / "analysis"
    keep(store, "k1", whole)
    points = store / "k1" / "points.parquet"
    data = points.read_bytes()
    points.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger=kept_analysis.__name__):
        assert kept(store, "k1") is None
    assert "cannot be read" in caplog.text
    points.write_bytes(data)
    assert kept(store, "k1") is not None
    summary = store / "k1" / "summary.pickle"
    blocks = summary.read_bytes()
    summary.write_bytes(blocks[:-1])  # cut short: its blocks no longer end where they did
    assert kept(store, "k1") is None
    summary.write_bytes(blocks)
    assert kept(store, "k1") is not None
    (store / "k1" / "analysis.pickle").write_bytes(b"not a pickle")
    assert kept(store, "k1") is None
    if hasattr(os, "getuid"):  # a folder others may write to: its pickle is never loaded
        keep(store, "k2", whole)
        assert kept(store, "k2") is not None
        (store / "k2").chmod(0o777)
        assert kept(store, "k2") is None


def test_keeping_replaces_the_older_analysis(tmp_path: Path, whole: Analysis) -> None:
    store = tmp_path / "analysis"
    keep(store, "k1", whole)
    (store / ".staging-killed").mkdir()  # a killed run's
    keep(store, "k2", whole)
    assert sorted(p.name for p in store.iterdir() if p.is_dir()) == ["k2"]


def test_a_run_keeps_its_analysis_for_the_next(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kpinb import batch
    from tests.support.stand_ins import FakeExecutor

    root = shutil.copytree(workspace_dir, tmp_path / "ws")
    out = tmp_path / "reports"

    def run(only: list[str] | None = None, views: list[str] | None = None) -> None:
        result = batch.run_batch(
            root,
            PERIOD,
            out=out,
            only=only,
            views=views,
            executor=FakeExecutor(),
            progress=False,
            force=only is not None,
        )
        assert result.exit_code == 0

    run()
    per = parse_period(PERIOD)
    first = load_workspace(root)
    store = KeptAnalysis.of(first, per, out / PERIOD)
    assert [p.name for p in store.store.iterdir() if p.is_dir()] == [store.key]
    assert oct(store.store.parent.stat().st_mode & 0o777) == oct(0o700)
    computed = analyse(first, per)
    _same(store.read(), computed)  # type: ignore[arg-type]  # None fails the test

    def no_analysis(*args: object, **kwargs: object) -> Analysis:
        raise AssertionError("analysed again")

    twin = (out / PERIOD / "employees" / "E002.json").read_bytes()
    monkeypatch.setattr("kpinb.analytics.analyse", no_analysis)
    run(views=["calibration"])  # the pack of a finished period: from the kept analysis
    assert (out / PERIOD / "calibration" / "index.html").is_file()
    run(only=["E002"])  # rebuilt from the kept analysis's rows of E002's report
    assert (out / PERIOD / "employees" / "E002.json").read_bytes() == twin
    monkeypatch.undo()

    # one value changed: analysed again (the change is in the figures), and kept
    obs_file = root / "observations.csv"
    lines = obs_file.read_text().splitlines()
    head, row = lines[0].split(","), lines[1].split(",")
    at = head.index("value")
    row[at] = str(float(row[at]) + 5)
    obs_file.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    changed = load_workspace(root)
    now = KeptAnalysis.of(changed, per, out / PERIOD)
    assert now.key != store.key
    run(only=[row[head.index("employee_id")]])  # a few reports: analysed, nothing kept
    assert now.read() is None
    run()
    assert [p.name for p in now.store.iterdir() if p.is_dir()] == [now.key]
    _same(now.read(), analyse(changed, per))  # type: ignore[arg-type]  # None fails the test


def test_a_run_that_stops_keeps_no_analysis(workspace_dir: Path, tmp_path: Path) -> None:
    from kpinb import batch
    from tests.support.stand_ins import FakeExecutor

    out = tmp_path / "reports"
    with pytest.raises(KeyboardInterrupt):
        batch.run_batch(
            workspace_dir, PERIOD, out=out, executor=FakeExecutor(stop_after=2), progress=False
        )
    assert not (out / ".kpinb-private" / PERIOD / "analysis").exists()
