"""What a KPI's charts draw, prepared once for the report and the explorer: the points
of the window shown, the usual range and its baseline, the target, the review period,
definition-change markers, unusual weeks and the shift's onset (a trend chart), and
each member's or team's panel with its own range and target (small multiples).

Only data here: :mod:`kpinb.report.charts` draws it (Altair is imported lazily).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
    from kpinb.periods import Period
    from kpinb.report.charts import Limits, Marker, Span

# how far back a chart reaches before the review period's start (4 quarters in all)
WINDOW_MONTHS = 9


@dataclass(frozen=True)
class TrendData:
    """The inputs of :func:`kpinb.report.charts.trend_chart` for one KPI; ``gaps``: the
    missing values drawn as gaps."""

    frame: pd.DataFrame
    limits: Limits | None
    target: float | None
    review: Span
    markers: list[Marker]
    unusual: list[tuple[pd.Timestamp, float]]
    shift: pd.Timestamp | None
    gaps: int


@dataclass(frozen=True)
class MultiplesData:
    """The inputs of :func:`kpinb.report.charts.small_multiples` for one KPI: the panels'
    points (``member`` names the panel), each panel's range and target (``bands``,
    None: none), the review period and the missing values drawn as gaps."""

    frame: pd.DataFrame
    bands: pd.DataFrame | None
    review: Span
    gaps: int


def window_start(per: Period, baseline_start: Any = None) -> pd.Timestamp:
    """The first day a KPI's trend chart shows: 4 quarters back, or the start of the
    baseline window when it lies earlier."""
    first = per.start - pd.DateOffset(months=WINDOW_MONTHS)
    if baseline_start is not None and pd.notna(baseline_start):
        first = min(first, pd.Timestamp(baseline_start))
    return first


def definition_markers(changes: list[dict[str, Any]], since: Any) -> list[Marker]:
    """A marker per definition change (the twin's ``definition_changes``) on or after
    ``since``, the first day drawn."""
    from kpinb.report import charts

    return [
        charts.Marker(pd.Timestamp(c["effective_from"]), f"definition v{c['version']}")
        for c in changes
        if pd.Timestamp(c["effective_from"]) >= since
    ]


def limits_of(lim: dict[str, Any] | None, pts: pd.DataFrame, end: Any) -> Limits | None:
    """The usual range (the twin's ``limits``) from the first point of the current
    definition (or the baseline's start, if later) to ``end``."""
    from kpinb.report import charts

    if not lim:
        return None
    baseline = None
    start = pts.loc[pts["current_version"], "period"].min()  # limits hold for this version
    if lim.get("baseline_start") and lim.get("baseline_end"):
        baseline = charts.Span(
            pd.Timestamp(lim["baseline_start"]), pd.Timestamp(lim["baseline_end"])
        )
        start = max(start, baseline.start)
    return charts.Limits(
        lim["centre"],
        lim["lower"],
        lim["upper"],
        start,
        end,
        lower_bounded=bool(lim.get("lower_bounded")),
        upper_bounded=bool(lim.get("upper_bounded")),
        baseline=baseline,
    )


def trend_data(part: Analysis, block: dict[str, Any], per: Period) -> TrendData | None:
    """A KPI's trend chart from its twin block and its scope's points (None: no point)."""
    from kpinb.report import charts

    lim = block["limits"]
    first = window_start(per, lim.get("baseline_start") if lim else None)
    pts = part.points[
        (part.points["kpi_id"] == block["kpi_id"])
        & (part.points["period"] >= first)
        & (part.points["period"] <= per.end)
        & ~part.points["incomplete"]  # a team week with members missing is not a real dip
    ]
    if pts.empty:
        return None
    frame = pts.rename(columns={"smoothed": "level"})[["period", "value", "level"]]
    frame = charts.fill_gaps(frame, block["cadence"])
    last = frame["period"].max()
    goal = block["goal"]
    values = frame.set_index("period")["value"]
    shift = block.get("shift") or {}
    return TrendData(
        frame=frame,
        limits=limits_of(lim, pts, last),
        target=goal["target"] if goal and goal.get("target") is not None else None,
        review=charts.Span(per.start, min(per.end, last), per.label),
        markers=definition_markers(block["definition_changes"], frame["period"].min()),
        unusual=[
            (when, float(values.get(when, s["value"])))
            for s in block.get("signals", [])
            if s["rule"] == "beyond_limit" and (when := pd.Timestamp(s["period"])) in values.index
        ],
        shift=pd.Timestamp(shift["onset"]) if shift.get("onset") else None,
        gaps=int(frame["value"].isna().sum()),
    )


def multiples_data(
    part: Analysis,
    kpi: str,
    ids: list[str],
    names: dict[str, str],
    block: dict[str, Any],
    own: dict[str, dict[str, Any]] | None = None,
) -> MultiplesData | None:
    """One KPI's small multiples, one panel per member or team (last 4 quarters), each
    with its own usual range (``own``: each one's KPI block, as in the twin: an
    executive block whose limits are withheld has none) and target."""
    from kpinb.report import charts

    per = part.period
    pts = part.points[
        (part.points["kpi_id"] == kpi)
        & part.points["scope_id"].astype(str).isin(ids)
        & part.points["current_version"]
        & ~part.points["incomplete"]  # a team week with members missing is not a real dip
        & (part.points["period"] >= window_start(per))
        & (part.points["period"] <= per.end)
    ]
    if pts.empty:
        return None
    frame = pts.assign(member=pts["scope_id"].astype(str).map(names)).rename(
        columns={"smoothed": "level"}
    )[["member", "period", "value", "level"]]
    frame = charts.fill_gaps(frame, block["cadence"], by="member")
    first, last = frame["period"].min(), frame["period"].max()
    rows = []
    for sid, b in (own or {}).items():
        if sid not in ids or names.get(sid) not in set(frame["member"]):
            continue
        lim, goal = b.get("limits"), b.get("goal")
        target = goal.get("target") if goal else None
        if not lim and target is None:
            continue
        start = max(first, pd.Timestamp(lim["baseline_start"])) if lim else first
        rows.append(
            {
                "member": names[sid],
                "lower": lim["lower"] if lim else None,
                "upper": lim["upper"] if lim else None,
                "centre": lim["centre"] if lim else None,
                "start": start,
                "end": last,
                "target": target,
            }
        )
    return MultiplesData(
        frame=frame,
        bands=pd.DataFrame(rows) if rows else None,
        review=charts.Span(per.start, min(per.end, last), per.label),
        gaps=int(frame["value"].isna().sum()),
    )
