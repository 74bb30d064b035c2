"""Any person or team as each audience sees it: which report a choice of pickers means,
the report itself (``build_report``: the same sentences as the published pages), and
an interactive chart of one KPI built with the reports' own chart builder plus
tooltips (value, usual range, rule hits) for JupyterLab."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from kpinb.analytics import MOVE_STATUSES
from kpinb.report import build_report
from kpinb.scopes import SCOPE_VIEWS

if TYPE_CHECKING:
    import altair as alt

    from kpinb.analytics import Analysis
    from kpinb.report import Report
    from kpinb.workspace import Workspace

VIEWS = ("employee", "manager", "executive")
VEGA_MIME = "application/vnd.vega.v5+json"  # what JupyterLab renders (with tooltips) built in


@dataclass(frozen=True)
class Subject:
    """The report a choice of pickers asks for, or why there is none (``note``)."""

    scope: str = ""
    scope_id: str = ""
    view: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.note


def subject(
    *,
    view: str,
    person: str | None = None,
    team: str | None = None,
    department: str | None = None,
    teams_of: dict[str, str] | None = None,
) -> Subject:
    """Which report the pickers mean.

    * employee view: the chosen person's own report (what they would read);
    * manager view: the chosen person's report as their manager reads it, or, with no
      person, the chosen team's manager report;
    * executive view: team or department aggregates only (groups under the minimum size
      are merged or withheld by the report itself): the chosen team, else the chosen
      person's team (``teams_of`` maps employee_id to team_id), else the department.
    """
    if view not in VIEWS:
        return Subject(note=f"view {view!r} is not one of {', '.join(VIEWS)}")
    if view == "employee":
        if person:
            return Subject("employee", person, "employee")
        return Subject(note="choose a person: the employee view is one person's own report")
    if view == "manager":
        if person:
            return Subject("employee", person, "manager")
        if team:
            return Subject("team", team, "manager")
        return Subject(note="choose a team or a person for the manager view")
    team = team or (teams_of or {}).get(person or "")
    if team:
        return Subject("team", team, "executive")
    if department:
        return Subject("department", department, "executive")
    return Subject(note="choose a department or a team for the executive view")


def preview(ws: Workspace, chosen: Subject, period: str, analysis: Analysis) -> Report:
    """The report of ``chosen``: exactly what ``kpinb run`` publishes for it."""
    if chosen.view not in SCOPE_VIEWS.get(chosen.scope, ()):
        raise ValueError(f"no {chosen.view} view of a {chosen.scope}")
    return build_report(ws, chosen.scope, chosen.scope_id, period, chosen.view, analysis=analysis)


def chart_data(analysis: Analysis, chosen: Subject, kpi_id: str) -> tuple[pd.DataFrame, dict]:
    """The points of one KPI as the chosen view may show them (executive views: the
    masked team and department tables) and its summary row (empty dict: none)."""
    source = analysis.executive_analysis if chosen.view == "executive" else analysis
    part = source.for_scope(chosen.scope, chosen.scope_id)
    points = part.points[part.points["kpi_id"].astype(str) == str(kpi_id)]
    rows = part.summary[part.summary["kpi_id"].astype(str) == str(kpi_id)]
    return points, (rows.iloc[0].to_dict() if len(rows) else {})


def kpi_chart(ws: Workspace, analysis: Analysis, chosen: Subject, kpi_id: str) -> alt.LayerChart:
    """The KPI's trend chart as the report draws it (``kpinb.report.charts.trend_chart``:
    values, smoothed level, usual range, target, definition changes, unusual weeks,
    shift onset; the window and markers from :mod:`kpinb.report.chart_data`), with a
    tooltip on each point: the week, its value, the usual range and any rule hit."""
    import altair as alt

    from kpinb.report import charts, twin
    from kpinb.report.chart_data import definition_markers, window_start

    per = analysis.period
    points, row = chart_data(analysis, chosen, kpi_id)
    spec = ws.kpis[kpi_id]
    first = window_start(per, row.get("baseline_start"))
    pts = points[(points["period"] >= first) & ~points["incomplete"].astype(bool)]
    frame = charts.fill_gaps(
        pts.rename(columns={"smoothed": "level"})[["period", "value", "level"]], spec.cadence
    )
    changes = twin.definition_changes(spec, points["period"].min() if len(points) else None)
    markers = definition_markers(changes, frame["period"].min())
    limits = _limits(row, pts)
    target = _target(analysis, chosen, kpi_id)
    unusual = [
        (pd.Timestamp(p), float(v))
        for p, v, r in zip(pts["period"], pts["value"], pts["rules"].astype(str), strict=True)
        if "beyond_limit" in r
    ]
    onset = row.get("shift_onset") if row.get("status") in MOVE_STATUSES else None
    end = frame["period"].max() if len(frame) else per.end
    chart = charts.trend_chart(
        frame,
        title=spec.name,
        unit=spec.unit,
        description=f"{spec.name} ({spec.unit}) over time, with its usual range",
        limits=limits,
        target=target,
        markers=markers,
        review=charts.Span(per.start, min(per.end, end), per.label),
        unusual=unusual,
        shift=pd.Timestamp(onset) if onset is not None and pd.notna(onset) else None,
    )
    tips = pts.assign(
        week=pts["period"].dt.strftime("%d %b %Y"),
        rule_hits=pts["rules"].astype(str).str.replace("_", " ").replace("", "none"),
    )[["period", "week", "value", "lower", "upper", "rule_hits"]]
    tip_layer = (
        alt.Chart(alt.InlineData(values=_records(tips)))
        .mark_circle(size=90, opacity=0.01)
        .encode(
            x=alt.X("period", type="temporal"),
            y=alt.Y("value", type="quantitative"),
            tooltip=[
                alt.Tooltip("week", type="nominal", title=spec.cadence.replace("ly", "")),
                alt.Tooltip("value", type="quantitative", title=f"value ({spec.unit})"),
                alt.Tooltip("lower", type="quantitative", title="lower limit", format=".4~g"),
                alt.Tooltip("upper", type="quantitative", title="upper limit", format=".4~g"),
                alt.Tooltip("rule_hits", type="nominal", title="rule hits"),
            ],
        )
    )
    return charts.layered(chart, tip_layer)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for inline chart data: dates as ISO days, missing values as null."""
    out = frame.assign(period=frame["period"].dt.strftime("%Y-%m-%d"))
    rows = out.astype(object).where(out.notna(), None).to_dict("records")
    return cast(list[dict[str, Any]], rows)  # columns are named by text


def _limits(row: dict[str, Any], pts: pd.DataFrame) -> Any:
    from kpinb.report import charts

    if not row or row.get("baseline_kind") in (None, "none") or pd.isna(row.get("centre")):
        return None
    baseline = None
    start = pts.loc[pts["current_version"].astype(bool), "period"].min()
    if pd.notna(row.get("baseline_start")) and pd.notna(row.get("baseline_end")):
        baseline = charts.Span(
            pd.Timestamp(row["baseline_start"]), pd.Timestamp(row["baseline_end"])
        )
        start = max(start, baseline.start) if pd.notna(start) else baseline.start
    return charts.Limits(
        float(row["centre"]),
        float(row["lower"]),
        float(row["upper"]),
        start if pd.notna(start) else None,
        pts["period"].max() if len(pts) else None,
        lower_bounded=bool(row.get("lower_bounded")),
        upper_bounded=bool(row.get("upper_bounded")),
        baseline=baseline,
    )


def _target(analysis: Analysis, chosen: Subject, kpi_id: str) -> float | None:
    source = analysis.executive_analysis if chosen.view == "executive" else analysis
    goals = source.goals
    found = goals[
        (goals["scope"] == chosen.scope)
        & (goals["scope_id"].astype(str) == chosen.scope_id)
        & (goals["kpi_id"].astype(str) == str(kpi_id))
    ]
    return (
        float(found["target"].iloc[0]) if len(found) and pd.notna(found["target"].iloc[0]) else None
    )


def vega_bundle(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart as a Vega MIME bundle that JupyterLab renders interactively, offline
    (compiled here by vl-convert: no CDN, no trust needed), with a text fallback."""
    import vl_convert as vlc

    spec = vlc.vegalite_to_vega(chart.to_dict(validate=False), vl_version="6.4")
    spec["$schema"] = "https://vega.github.io/schema/vega/v5.json"
    return {VEGA_MIME: spec, "text/plain": "<chart: run the notebook in JupyterLab to see it>"}
