"""Measured rates of the review-period status, through the public API (fixed seeds).

A small version of ``benchmarks/signals.py`` (the same simulation, imported from it):
300 series per case, margins wide enough for that sample size.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "signals.py"
_SPEC = importlib.util.spec_from_file_location("kpinb_bench_signals", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = bench  # dataclasses look the module up while the class is made
_SPEC.loader.exec_module(bench)

N = 300
SEED = 11
MODELS = ("normal", "poisson")
_CACHE: dict[tuple[str, str], dict[str, float]] = {}


def rates(model: str, case: str) -> dict[str, float]:
    if (model, case) not in _CACHE:
        _CACHE[model, case] = bench.run_case(model, case, N, SEED)[0]
    return _CACHE[model, case]


@pytest.mark.parametrize("model", MODELS)
def test_noise_is_rarely_called_shifted(model: str) -> None:
    r = rates(model, "noise")
    assert r["n"] == N
    assert r["shifted"] <= 0.08, r


@pytest.mark.parametrize("model", MODELS)
def test_noise_usual_range_stays_within_natural_boundaries(model: str) -> None:
    assert rates(model, "noise")["beyond_boundary"] == 0.0


def test_poisson_lower_limit_is_replaced_by_zero() -> None:
    # mean 3, sd 1.7: the raw lower limit is below 0 almost always
    assert rates("poisson", "noise")["bounded"] >= 0.9


@pytest.mark.parametrize(("model", "found"), [("normal", 0.80), ("poisson", 0.70)])
def test_sustained_shift_from_week_one_is_found(model: str, found: float) -> None:
    r = rates(model, "shift+1.5")
    assert r["improving_shift"] >= found, r
    assert r["worsening_shift"] <= 0.02, r


@pytest.mark.parametrize("model", MODELS)
def test_step_long_before_the_period_is_routine(model: str) -> None:
    assert rates(model, "step+2@-40")["routine"] >= 0.85


def test_win_rate_range_stays_within_0_and_100() -> None:
    values = bench.simulate("winrate", "noise", 100, SEED)
    summary = bench.analyse(bench.build_workspace("winrate", values), bench.PERIOD).summary
    people = summary[summary["scope"] == "employee"]
    assert len(people) == 100
    assert (people["lower"] >= 0).all() and (people["upper"] <= 100).all()


_WHOSE: dict[str, dict[str, float]] = {}


def whose(case: str) -> dict[str, float]:
    if case not in _WHOSE:
        _WHOSE[case] = bench.run_whose(case, N, SEED)[0]
    return _WHOSE[case]


def test_a_move_the_whole_team_shares_is_named_shared() -> None:
    assert whose("team+1.5")["found_shared"] >= 0.75


def test_a_person_flat_while_the_team_moves_is_named_their_own() -> None:
    r = whose("flat-vs-team")
    assert r["n"] == N // bench.TEAM_SIZE and r["own"] >= 0.6, r


def test_a_quarterly_ramp_shared_by_everyone_is_its_usual_shape() -> None:
    r = whose("ramp")
    assert r["pattern"] >= 0.9 and r["shifted"] <= 0.05 and r["trend_own"] <= 0.15, r


def test_carry_over_does_not_read_as_shifts() -> None:
    r = whose("ar0.5")
    assert r["widened"] >= 0.9 and r["shifted"] <= 0.05, r
