"""Ratio KPIs in a workspace: values from the counts, every bad count named."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpinb.workspace import load_workspace, validate_workspace
from tests.support import wsfactory

RATIO_YAML = (
    wsfactory.KPIS_YAML
    + """\
  - id: win_rate
    name: Win rate
    unit: "%"
    measure: ratio
    numerator: deals won
    denominator: deals engaged
    direction: up
    kind: lagging
    type: result
    cadence: weekly
    rollup: mean
    owner: Sales ops
    source: CRM
    formula: deals won / deals engaged
"""
)


def _frames(counts: list[tuple[object, object, object]]) -> dict[str, pd.DataFrame]:
    """The factory's tables plus one win-rate row per week of 00124: (value, won, engaged)."""
    frames = wsfactory.tables()
    rows = pd.DataFrame(
        {
            "employee_id": "00124",
            "kpi_id": "win_rate",
            "period": [d.strftime("%Y-%m-%d") for d in wsfactory.WEEKS[: len(counts)]],
            "value": [c[0] for c in counts],
            "numerator": [c[1] for c in counts],
            "denominator": [c[2] for c in counts],
        }
    )
    frames["observations"] = pd.concat([frames["observations"], rows], ignore_index=True)
    return frames


def test_a_ratio_value_comes_from_its_counts_and_a_zero_denominator_is_a_gap(tmp_path):
    frames = _frames([("", 3, 4), ("", 0, 5), (50, 1, 2), ("", 0, 0)])
    ws = load_workspace(wsfactory.write(tmp_path, frames, kpis=RATIO_YAML))
    assert ws.kpis["win_rate"].is_ratio
    win = ws.observations[ws.observations["kpi_id"] == "win_rate"]
    assert win["value"].tolist() == [75.0, 0.0, 50.0]  # 0 of 0: no row, not 0 %
    assert win["denominator"].tolist() == [4.0, 5.0, 2.0]
    calls = ws.observations[ws.observations["kpi_id"] == "calls"]
    assert calls["numerator"].isna().all() and calls["value"].notna().all()


def test_a_value_rounded_half_up_to_one_decimal_agrees_with_its_counts(tmp_path):
    """3 of 16 is 18.75 %: an export showing 18.8 (or 18.7) is off by 0.05, exactly the
    tolerance on paper (0.0500000000000007 in floating point); 18.9 is off by 0.15."""
    frames = _frames([(18.8, 3, 16), (18.7, 3, 16), (31.3, 5, 16), ("", 1, 2)])
    ws = load_workspace(wsfactory.write(tmp_path, frames, kpis=RATIO_YAML))
    win = ws.observations[ws.observations["kpi_id"] == "win_rate"]
    assert win["value"].tolist() == [18.75, 18.75, 31.25, 50.0]  # from the counts
    frames = _frames([(18.9, 3, 16), (31.3, 5, 16)])
    result = validate_workspace(wsfactory.write(tmp_path / "off", frames, kpis=RATIO_YAML))
    text = [str(p) for p in result.problems]
    assert len(text) == 1 and "row 26, column 'value': does not equal" in text[0], text
    assert "18.9 vs 18.75" in text[0]


def test_every_bad_count_is_named_with_row_column_and_fix(tmp_path):
    """Rows 26..30 of observations.csv (the factory writes 24 rows first, header row 1):
    row 27 numerator 5 > denominator 4, row 28 a negative numerator, row 29 no
    denominator, row 30 a value that disagrees with 1 of 2; row 2 a plain KPI with no
    value."""
    frames = _frames([("", 3, 4), ("", 5, 4), ("", -1, 3), ("", 2, ""), (40, 1, 2)])
    frames["observations"].loc[0, "value"] = ""  # a plain KPI without its value
    result = validate_workspace(wsfactory.write(tmp_path, frames, kpis=RATIO_YAML))
    text = [str(p) for p in result.problems]
    assert result.workspace is None
    expected = {
        ("numerator", 27, "is larger than the denominator"),
        ("numerator", 28, "is negative"),
        ("denominator", 29, "is empty on a row of a ratio KPI"),
        ("value", 30, "does not equal 100 x numerator / denominator"),
        ("value", 2, "is empty"),
    }
    for column, row, what in expected:
        assert any(
            f"observations.csv, row {row}, column '{column}': {what}" in t and "Fix: " in t
            for t in text
        ), (column, row, what, text)
    assert len(result.problems) == len(expected)


def test_a_ratio_kpi_must_be_a_percentage(tmp_path):
    yaml = RATIO_YAML.replace('unit: "%"\n    measure', "unit: deals\n    measure")
    result = validate_workspace(wsfactory.write(tmp_path, kpis=yaml))
    assert any("a ratio KPI is a percentage" in str(p) for p in result.problems)
    assert np.all([p.file == "kpis.yaml" for p in result.problems])
