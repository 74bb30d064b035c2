"""Loading a workspace folder into validated, typed tables (the only reader of its files)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kpinb.errors import Problem
from kpinb.kpis import KpiSpec


@dataclass(frozen=True)
class Workspace:
    """A validated workspace: the KPI dictionary and typed tables (see docs/architecture.md).

    Tables that are optional in the folder are present here as empty frames with
    their columns, so callers never test for ``None``.
    """

    kpis: Mapping[str, KpiSpec]
    people: pd.DataFrame
    teams: pd.DataFrame
    observations: pd.DataFrame
    targets: pd.DataFrame
    goals: pd.DataFrame
    ratings: pd.DataFrame
    feasibility: pd.DataFrame
    root: Path | None = None
    warnings: tuple[Problem, ...] = field(default=())
