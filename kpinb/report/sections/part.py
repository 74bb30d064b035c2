"""What every section builder returns, and the figure sources it reads KPI blocks through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kpinb.report import sentences as st
from kpinb.report.render import Section


@dataclass(frozen=True)
class Part:
    """One section of a report and the twin keys its sentences state (``data``, in the
    order the twin lists them)."""

    section: Section
    data: dict[str, Any] = field(default_factory=dict)


def refs_of(blocks: list[dict[str, Any]], base: str = "kpis") -> list[st.Ref]:
    """A figure source per KPI block at ``base[i]``."""
    return [block_ref(f"{base}[{i}]", b) for i, b in enumerate(blocks)]


def block_ref(path: str, block: dict[str, Any]) -> st.Ref:
    """A figure source for one KPI block: its unit, decimals and cadence."""
    return st.Ref(
        path,
        block,
        unit=block["unit"],
        decimals=block["decimals"],
        cadence=block["cadence"],
        value_decimals=block["value_decimals"],
    )
