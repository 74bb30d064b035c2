"""Carry-over (lag-1 autocorrelation): measured against numpy, and the limits it widens."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.analytics import analyse, carryover
from tests.support.synthetic import MONDAYS, spec, workspace


def _frame(values: list[np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": np.repeat(np.arange(len(values)), [len(v) for v in values]),
            "value": np.concatenate(values),
        }
    )


def _by_numpy(x: np.ndarray) -> float:
    """r1 of the residuals from a least-squares line, the second way."""
    t = np.arange(len(x))
    resid = x - np.polyval(np.polyfit(t, x, 1), t)
    return float(np.corrcoef(resid[:-1], resid[1:])[0, 1])


def test_lag1_equals_numpy_corrcoef_of_the_detrended_baseline() -> None:
    rng = np.random.default_rng(3)
    series = [rng.normal(0, 1, 40).cumsum() * 0.3 + rng.normal(0, 1, 40) for _ in range(3)]
    series.append(np.arange(30.0) * 2 + rng.normal(0, 1, 30))  # a steady rise
    got = carryover.lag1(_frame(series), np.ones(sum(map(len, series)), bool))
    for k, x in enumerate(series):
        assert np.isclose(got.loc[k, "autocorrelation"], _by_numpy(x))
        t = np.arange(len(x))
        resid = x - np.polyval(np.polyfit(t, x, 1), t)
        assert np.isclose(got.loc[k, "sd"], np.sqrt((resid**2).sum() / (len(x) - 2)))
    # the rise itself is not carry-over: its residuals are independent noise
    assert abs(got.loc[3, "autocorrelation"]) < 0.4


def test_lag1_needs_ten_pairs() -> None:
    got = carryover.lag1(_frame([np.arange(10.0) % 3]), np.ones(10, bool))
    assert got.loc[0, "pairs"] == 9 and np.isnan(got.loc[0, "autocorrelation"])


def test_alternating_baseline_is_negative() -> None:
    x = np.tile([0.0, 2.0], 6)
    got = carryover.lag1(_frame([x]), np.ones(12, bool)).loc[0, "autocorrelation"]
    assert np.isclose(got, _by_numpy(x)) and got < -0.9


def _ar(seed: int, rho: float, n: int = 52) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = rho * x[t - 1] + rng.normal(0, 3)
    return 50 + x


def test_clear_carry_over_widens_the_limits_of_the_whole_kpi() -> None:
    people = {(f"E{i}", "k"): _ar(i, 0.8) for i in range(8)}
    result = analyse(workspace(people, {"k": spec("k")}), "2026-Q3")
    rows = result.summary[result.summary["scope"] == "employee"]
    assert rows["limits_widened"].all()
    assert (rows["autocorrelation"] > 0.3).all()
    # sigma is the larger of the moving-range sigma and the standard deviation
    assert (rows["sigma"] >= rows["mr_bar"] / 1.128 - 1e-12).all()
    assert np.allclose(rows["upper"] - rows["centre"], 3 * rows["sigma"] * 2.66 / (3 / 1.128))


def test_independent_weeks_keep_their_moving_range_limits() -> None:
    people = {(f"E{i}", "k"): np.random.default_rng(i).normal(50, 3, 52) for i in range(8)}
    result = analyse(workspace(people, {"k": spec("k")}), "2026-Q3")
    rows = result.summary[result.summary["scope"] == "employee"]
    assert not rows["limits_widened"].any()
    assert np.allclose(rows["sigma"], rows["mr_bar"] / 1.128)
    assert len(MONDAYS) == 52
