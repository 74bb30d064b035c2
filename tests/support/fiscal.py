"""A copy of a workspace whose fiscal year starts in another month: its settings file
written and the review-period labels of its tables renamed to fiscal quarters."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from kpinb.periods import parse_period, period_of

LABELLED = ("targets.csv", "ratings.csv", "feasibility.csv")


def fiscal_label(label: str, fiscal_start: int) -> str:
    """The fiscal label of the calendar period ``label`` (quarters must line up)."""
    cal = parse_period(label)
    fiscal = period_of(cal.start, cal.months, fiscal_start)
    assert (fiscal.start, fiscal.end) == (cal.start, cal.end), f"{label} is no fiscal quarter"
    return fiscal.label


def relabel(root: Path, fiscal_start: int) -> None:
    """Rename the review periods of the workspace at ``root`` to fiscal quarters."""
    for name in LABELLED:
        path = root / name
        if path.is_file():
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame["period"] = [fiscal_label(v, fiscal_start) for v in frame["period"]]
            frame.to_csv(path, index=False)


def fiscal_copy(src: Path, dst: Path, fiscal_start: int, toml: str = "") -> Path:
    """``src`` copied to ``dst`` with ``fiscal_year_start = fiscal_start`` and its
    targets, ratings and feasibility flags labelled by fiscal quarter."""
    shutil.copytree(src, dst)
    relabel(dst, fiscal_start)
    text = f"[calendar]\nfiscal_year_start = {fiscal_start}\n" + toml
    (dst / "kpinb.toml").write_text(text, encoding="utf-8")
    return dst
