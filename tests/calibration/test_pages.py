"""How the pack reads: ratings with the scale's labels, rating distributions as labelled
bars, figures at the KPI's precision with their unit, names rather than ids, no stray
punctuation."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kpinb.calibration import build_pack
from kpinb.calibration.render import signed

LABELS = '[ratings]\nscale = [1, 2, 3, 4, 5]\nlabels = ["Low", "Solid", "Good", "Strong", "Top"]\n'


@pytest.fixture(scope="module")
def sales(tmp_path_factory: pytest.TempPathFactory, workspace_dir: Path) -> str:
    """The Sales page of a workspace whose scale has labels and whose flag names its
    raiser by employee id."""
    root = tmp_path_factory.mktemp("pages") / "ws"
    shutil.copytree(workspace_dir, root)
    (root / "kpinb.toml").write_text(LABELS, encoding="utf-8")
    flags = pd.read_csv(root / "feasibility.csv", dtype=str)
    flags.loc[flags["scope_id"] == "E004", "flagged_by"] = "E001"
    flags.to_csv(root / "feasibility.csv", index=False)
    return build_pack(root, "2026-Q3", department="Sales").to_html()


@pytest.mark.parametrize(
    ("value", "decimals", "unit", "text"),
    [
        (-0.3077, 1, "meetings", "-0.3 meetings"),
        (-0.006154, 1, "kEUR", "level"),  # rounds to 0 at the KPI's precision
        (8.318462, 1, "kEUR", "+8.3 kEUR"),
        (1.0, 0, "deals", "+1 deal"),
        (-5.328526, 1, "percentage points", "-5.3 percentage points"),
        (1234.5, 0, "count", "+1,234"),
    ],
)
def test_a_change_is_written_as_the_reports_write_it(
    value: float, decimals: int, unit: str, text: str
) -> None:
    assert signed(value, decimals, unit) == text


def test_kpi_changes_carry_the_kpis_precision_and_unit(sales: str) -> None:
    people = sales[sales.index('<section class="people">') :]
    # E003's revenue rose 8.318462 kEUR; E002's meetings fell 0.923077 (levels of 10 to 45:
    # one decimal, as a report shows them); win rate in percentage points
    assert (
        "<strong>New revenue closed</strong>: back at the usual level; "
        "+8.3 kEUR vs 2026-Q2 (better)" in people
    )
    assert "-0.9 meetings vs 2026-Q2 (the other way)" in people
    assert "-5.3 percentage points vs 2026-Q2" in people
    assert not re.search(r"\d\.\d{3,}", people)  # no raw figures like -0.3077


def test_ratings_carry_the_scales_labels_and_read_as_a_distribution(sales: str) -> None:
    assert "Ratings are on the scale 1 (Low), 2 (Solid), 3 (Good), 4 (Strong), 5 (Top)" in sales
    start = sales.index('<ul class="dist">')
    glance = sales[start : sales.index("</ul>", start)]
    rows = re.findall(r'dist-rating">([^<]+)</span>.*?width:(\d+)%.*?dist-count">([^<]+)<', glance)
    # Sales' six proposed ratings in 2026-Q3: 4, 2, 3, 3, 4, 2 (ratings.csv) -> every value
    # of the scale, with its label, its count and a bar scaled to the largest count
    assert rows == [
        ("1 (Low)", "0", "0 people"),
        ("2 (Solid)", "100", "2 people"),
        ("3 (Good)", "100", "2 people"),
        ("4 (Strong)", "100", "2 people"),
        ("5 (Top)", "0", "0 people"),
    ]
    assert ": 1, " not in sales  # not "2: 1, 3: 2"
    managers = sales[sales.index('<section class="managers">') :]
    # José Núñez's five reports, E002-E006: 2, 3, 3, 4, 2
    assert 'aria-label="2 rated 2 (Solid); 2 rated 3 (Good); 1 rated 4 (Strong)"' in managers


def test_names_not_ids_and_no_stray_punctuation(sales: str) -> None:
    assert "flag by José Núñez" in sales and "flag by E001" not in sales
    assert ".;" not in sales and ".)" not in sales
    assert "The target assumed the old tooling</p>" in sales
