"""A big workspace is analysed a few KPIs at a time (kpinb.analytics.parts): the tables
put back together are the ones one pass over every KPI gives, row for row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpinb.analytics import Analysis, analyse, parts
from kpinb.kpis import KpiVersion
from tests.support.synthetic import MONDAYS, spec, workspace

STEP = np.r_[np.zeros(39), np.full(13, 8.0)]  # +8 from the review period's first week


def _steady(seed: int, level: float = 50.0) -> np.ndarray:
    return np.round(np.random.default_rng(seed).normal(level, 1.0, len(MONDAYS)), 2)


def _mixed():  # type: ignore[no-untyped-def]
    """Three teams (T1 and T2 of six in D1, T9 of three in D2) and four KPIs, each giving
    kinds of cross-series figures in more than one part: ``a`` a step all of T1 takes (a
    team's move), ``b`` a fall of everyone's last week (incomplete tails) under a
    changed definition, ``c`` a percentage with implausible values (excluded rows) and a
    step all of T2 takes, ``d`` paired with ``a``, everyone's last week fallen, one
    person without it and one who joined late."""
    team = {f"E{i}": "T1" for i in range(6)} | {f"F{i}": "T2" for i in range(6)}
    team |= {f"G{i}": "T9" for i in range(3)}
    series: dict[tuple[str, str], np.ndarray] = {}
    for n, emp in enumerate(team):
        a = _steady(n) + (STEP if team[emp] == "T1" else 0)
        b = _steady(100 + n, 30.0)
        b[-1] = 2.0
        c = np.clip(_steady(200 + n, 60.0), 0, 100) + (STEP if team[emp] == "T2" else 0)
        series[emp, "a"], series[emp, "b"], series[emp, "c"] = a, b, c
        if emp != "F5":
            d = _steady(300 + n, 20.0)
            d[-1] = 1.0
            series[emp, "d"] = d[(10 if emp == "G2" else 0) :]
    series["E1", "c"][5] = 150.0  # outside a percentage's range
    series["F2", "c"][40] = -3.0
    change = (KpiVersion(pd.Timestamp("2026-05-04"), "new formula"),)
    kpis = {
        "a": spec("a", rollup="mean"),
        "b": spec("b", rollup="mean", direction="down", versions=change),
        "c": spec("c", unit="%", rollup="mean"),
        "d": spec("d", kind="leading", pair="a"),
    }
    return workspace(series, kpis, teams=team)


def _tables(result: Analysis) -> dict[str, pd.DataFrame]:
    names = ("summary", "points", "signals", "goals", "pairs", "groups", "excluded")
    out = {name: getattr(result, name) for name in (*names, "moves", "tails")}
    out["executive"] = result.executive()
    for name in ("points", "signals", "goals"):
        out[f"executive_{name}"] = getattr(result.executive_analysis, name)
    return out


def test_kpis_go_into_parts_of_a_bounded_number_of_rows() -> None:
    column = pd.Series(["a"] * 5 + ["b"] * 3 + ["c"] * 4 + ["d"] * 9, dtype="category")
    assert parts.kpi_parts(column, ["a", "b", "c", "d", "e"], 8) == [
        ["a", "b"],
        ["c"],
        ["d", "e"],  # a KPI over the bound is a part alone, with what has no rows after it
    ]
    assert parts.kpi_parts(column, ["a", "b", "c", "d"], 100) == [["a", "b", "c", "d"]]
    assert parts.kpi_parts(column, [], 100) == [[]]


def test_kpi_by_kpi_gives_the_tables_of_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _mixed()
    whole = _tables(analyse(ws, "2026-Q3"))
    monkeypatch.setattr(parts, "PART_ROWS", 1)  # every KPI a part of its own
    made = []
    real = parts.kpi_parts
    monkeypatch.setattr(parts, "kpi_parts", lambda *a: made.append(real(*a)) or made[-1])
    apart = _tables(analyse(ws, "2026-Q3"))
    assert made == [[["a"], ["b"], ["c"], ["d"]]]
    # every kind of row the parts put back is there to be put back
    moves, tails = whole["moves"], whole["tails"]
    moved = set(zip(moves["scope"], moves["scope_id"], moves["kpi_id"], strict=True))
    assert {("team", "T1", "a"), ("team", "T2", "c")} <= moved
    assert {"team", "department", "workspace"} <= set(tails["scope"])
    assert set(tails["kpi_id"]) == {"b", "d"} and len(whole["excluded"]) == 2
    assert len(whole["signals"]) > 0 and len(whole["pairs"]) > 0
    assert set(whole["summary"]["scope"]) == {"employee", "team", "department"}
    for name, frame in whole.items():
        pd.testing.assert_frame_equal(apart[name], frame, check_exact=True, obj=name)
    # the points table still owns its columns (a report may change it in place)
    points = analyse(ws, "2026-Q3").points
    points.loc[0, "value"] = -1.0
    assert points.loc[0, "value"] == -1.0


@pytest.mark.parametrize("part_rows", [parts.PART_ROWS, 1])
def test_an_analysis_kept_to_a_few_rows_is_the_whole_narrowed(
    monkeypatch: pytest.MonkeyPatch, part_rows: int
) -> None:
    """``keep`` lets go of everyone else's points and rule hits part by part: the result
    is the whole analysis narrowed to the rows kept, table for table (executive views
    included), in one part and in a part per KPI; the pooled figures (team moves,
    carry-over, tails) are the ones everyone gives."""
    ws = _mixed()
    monkeypatch.setattr(parts, "PART_ROWS", part_rows)
    full = analyse(ws, "2026-Q3")
    for keep in (({"E1", "F2"}, {"T1", "T2"}, {"D1"}), (set(), {"T9"}, {"D2"})):
        whole = _tables(full.narrowed(*keep))
        kept = analyse(ws, "2026-Q3", keep=keep)
        assert len(kept.points) < len(full.points) / 2  # the others' points are gone
        for name, frame in _tables(kept).items():
            pd.testing.assert_frame_equal(frame, whole[name], check_exact=True, obj=name)
