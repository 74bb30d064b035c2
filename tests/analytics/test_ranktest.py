"""The vectorised Mann-Whitney U test gives the p-values and statuses of one scipy call
per series (the method it replaced, kept here as the reference)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from kpinb.analytics import analyse, signals
from kpinb.analytics.ranktest import one_sided_p
from kpinb.workspace import Workspace

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "analytics.py"
_SPEC = importlib.util.spec_from_file_location("kpinb_bench_analytics", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = bench
_SPEC.loader.exec_module(bench)


def _flat(samples: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    pair = np.concatenate([np.full(len(a) + len(b), i) for i, (a, b) in enumerate(samples)])
    value = np.concatenate([np.concatenate([a, b]) for a, b in samples])
    first = np.concatenate([np.r_[np.ones(len(a)), np.zeros(len(b))] for a, b in samples])
    return pair, value, first.astype(bool)


def test_worked_examples() -> None:
    # exact: U = 4 is the largest of C(4, 2) = 6 equally likely arrangements: p = 1/6
    # asymptotic with a tie: x [1, 2, 2], y [2, 3]; ranks 1, 3, 3 | 3, 5; U1 = 7 - 6 = 1,
    # mu 3, tie term 3^3 - 3 = 24, s = sqrt(6 / 12 * (6 - 24 / 20)) = sqrt(2.4);
    # P(U2 >= 5) ~ 1 - Phi((5 - 3 - 0.5) / sqrt(2.4))
    samples = [
        (np.array([3.0, 4.0]), np.array([1.0, 2.0])),
        (np.array([1.0, 2.0, 2.0]), np.array([2.0, 3.0])),
    ]
    p = one_sided_p(*_flat(samples), np.array([True, False]))
    assert p[0] == pytest.approx(1 / 6)
    from scipy.special import ndtr

    assert p[1] == pytest.approx(1 - ndtr(1.5 / np.sqrt(2.4)))


def test_same_p_values_as_scipy_per_pair() -> None:
    """Every method scipy picks (exact, asymptotic, ties, both sides), to the last bit."""
    rng = np.random.default_rng(7)
    samples, greater, expected = [], [], []
    for i in range(1500):
        a, b = int(rng.integers(1, 14)), int(rng.integers(1, 40))
        if i % 3 == 0:
            xs, ys = rng.normal(0.3, 1, a), rng.normal(0, 1, b)
        elif i % 3 == 1:
            xs, ys = rng.integers(0, 4, a).astype(float), rng.integers(0, 3, b).astype(float)
        else:
            xs, ys = np.round(rng.normal(0, 1, a), 1), np.round(rng.normal(0, 1, b), 1)
        side = bool(rng.integers(0, 2))
        samples.append((xs, ys))
        greater.append(side)
        expected.append(mannwhitneyu(xs, ys, alternative="greater" if side else "less").pvalue)
    got = one_sided_p(*_flat(samples), np.array(greater))
    np.testing.assert_array_equal(got, np.array(expected))


def _reference_unranked(calls: list[int]):  # type: ignore[no-untyped-def]
    """``signals._unranked`` as one scipy call per shifted series."""

    def unranked(
        points: pd.DataFrame,
        index: pd.Index,
        x: np.ndarray,
        onset: np.ndarray,
        direction: np.ndarray,
        shifted: np.ndarray,
    ) -> np.ndarray:
        out = np.zeros(len(index), dtype=bool)
        key = points["key"].to_numpy()
        values = points["value"].to_numpy(dtype=float)
        base = signals.baseline_mask(points)
        for r in np.flatnonzero(shifted):
            lo, hi = np.searchsorted(key, index[r], "left"), np.searchsorted(key, index[r], "right")
            baseline = values[lo:hi][base[lo:hi]]
            since = x[r, max(int(onset[r]), 0) :]
            since = since[~np.isnan(since)]
            if len(baseline) >= 2 and len(since) > 0:
                side = "greater" if direction[r] > 0 else "less"
                p = mannwhitneyu(since, baseline, alternative=side).pvalue
                out[r] = p >= signals.RANK_ALPHA
                calls[0] += int(out[r])
        return out

    return unranked


def _status_columns(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[c for c in frame.columns if "status" in c or "shift" in c]]


def _compare(ws: Workspace, period: str, monkeypatch: pytest.MonkeyPatch) -> None:
    got = _status_columns(analyse(ws, period).summary)
    vetoed = [0]
    with monkeypatch.context() as m:
        m.setattr(signals, "_unranked", _reference_unranked(vetoed))
        expected = _status_columns(analyse(ws, period).summary)
    assert vetoed[0] > 0  # the rank test decided some series here
    assert len(got.columns) >= 6
    pd.testing.assert_frame_equal(got, expected)


def test_demo_statuses_unchanged(demo_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _compare(demo_ws, "2026-Q3", monkeypatch)


def test_benchmark_statuses_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    _compare(bench.build(150, 104), "2026-Q3", monkeypatch)
