"""The findings table: one row per person (or group) and KPI with what the reports say of
it, for BI tools (Power BI, Tableau) and analysts' own pandas.

Each row holds the KPI's status, the story its report tells (the same story: taken from
the report's own KPI block, :func:`kpinb.report.twin.blocks_of`), the level and the
change against the previous period, the usual range, the move the person's group made
(shared, or their own against it) and a repeating pattern, the goal's score, and the
data notes. Figures are the analysis's own, unrounded (:func:`kpinb.analytics.analyse`).

Rows follow the reports' audiences (:data:`FINDINGS_VIEWS`): ``executive`` (the
default) holds teams and departments only, with the executive masking (a group under
the minimum group size is left out, a figure resting on a hidden date is blank and named
in ``withheld``); ``manager`` holds every person's rows and their teams', as their
managers' reports show them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from kpinb.analytics import Analysis
    from kpinb.periods import Period
    from kpinb.workspace import Workspace

log = logging.getLogger(__name__)

# view -> the scopes whose rows it holds (the reports' audiences: kpinb.scopes.SCOPE_VIEWS)
FINDINGS_VIEWS: dict[str, tuple[str, ...]] = {
    "executive": ("team", "department"),
    "manager": ("employee", "team"),
}
FORMATS = (".parquet", ".csv", ".xlsx")
COLUMNS = (
    "period",
    "view",
    "scope",
    "scope_id",
    "name",
    "team_id",
    "department",
    "kpi_id",
    "kpi",
    "unit",
    "direction",
    "status",
    "story",
    "badge",
    "level",
    "previous_period",
    "previous_level",
    "change",
    "change_relative",
    "change_better",
    "change_routine",
    "usual_low",
    "usual_centre",
    "usual_high",
    "usual_kind",
    "shared_scope",
    "shared_direction",
    "shared_moved",
    "shared_of",
    "shared_own",
    "pattern",
    "goal_target",
    "goal_score",
    "goal_success",
    "missing_values",
    "stale",
    "data_notes",
    "withheld",
)


def findings(
    workspace: Workspace | str | os.PathLike[str],
    period: str | Period | None = None,
    *,
    view: str = "executive",
    analysis: Analysis | None = None,
) -> pd.DataFrame:
    """The findings of ``period`` as one DataFrame (:data:`COLUMNS`), one row per scope
    and KPI, ordered by scope, id and the KPI dictionary.

    Parameters
    ----------
    workspace
        A loaded workspace or its folder.
    period
        ``2026-Q3``, ``2026-09`` or a :class:`~kpinb.periods.Period`; default: the
        latest quarter that the data covers to its end
        (:func:`kpinb.workspace.coverage.choose_period`).
    view
        ``executive`` (default: teams and departments, small groups withheld) or
        ``manager`` (every person and team).
    analysis
        The period's analysis when the caller holds it.

    Raises
    ------
    UsageError
        An unknown view or a bad period.
    """
    import pandas as pd

    from kpinb.report.facade import period_analysis
    from kpinb.workspace import Workspace, load_workspace
    from kpinb.workspace.coverage import choose_period

    if view not in FINDINGS_VIEWS:
        msg = f"view {view!r} is not one of {', '.join(FINDINGS_VIEWS)}"
        raise UsageError(msg)
    if isinstance(workspace, Workspace):
        ws = workspace
    else:
        ws = load_workspace(Path(workspace), cache=True)
    per = choose_period(ws, period).period
    result = analysis if analysis is not None else period_analysis(ws, per)
    if view == "executive":
        result = result.executive_analysis
    rows: list[dict[str, Any]] = []
    withheld_groups = 0
    for scope in FINDINGS_VIEWS[view]:
        summary = result.summary[result.summary["scope"] == scope]
        shown = ~summary["suppressed"].astype(bool) if view == "executive" else None
        if shown is not None:
            withheld_groups += int((~shown).sum())
            summary = summary[shown.to_numpy()]
        for sid in sorted(set(summary["scope_id"].astype(str))):
            rows += _rows(ws, result, scope, sid, summary, view)
    if withheld_groups:
        log.info(
            "%d group KPI row(s) withheld: fewer than %d people",
            withheld_groups,
            result.min_group_size,
            extra={"period": per.label, "withheld": withheld_groups},
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return _typed(frame)


def _rows(
    ws: Workspace, result: Analysis, scope: str, sid: str, summary: pd.DataFrame, view: str
) -> list[dict[str, Any]]:
    """One scope's rows: the summary's figures beside its report's KPI blocks."""
    from dataclasses import replace

    from kpinb.report.sections.kpis import badge
    from kpinb.report.twin import blocks_of

    part = result.part(scope, sid)
    mine = summary[summary["scope_id"].astype(str) == sid]
    part = replace(part, summary=part.summary[part.summary["kpi_id"].isin(mine["kpi_id"])])
    figures = {str(r["kpi_id"]): r for r in mine.to_dict("records")}
    goals = {str(g["kpi_id"]): g for g in part.goals.to_dict("records")}
    name, team_id, department = _who(ws, scope, sid)
    out = []
    for block in blocks_of(ws, part):
        kpi = str(block["kpi_id"])
        row, goal = figures[kpi], goals.get(kpi, {})
        shared = block.get("shared") or {}
        change = block.get("change") or {}
        pattern = block.get("pattern") or {}
        quality = block["quality"]
        out.append(
            {
                "period": result.period.label,
                "view": view,
                "scope": scope,
                "scope_id": sid,
                "name": name,
                "team_id": team_id,
                "department": department,
                "kpi_id": kpi,
                "kpi": ws.kpis[kpi].name,
                "unit": ws.kpis[kpi].unit,
                "direction": ws.kpis[kpi].direction,
                "status": row["status"],
                "story": block["story"],
                "badge": badge(block),
                "level": row["level"],
                "previous_period": row["prev_label"],
                "previous_level": row["prev_level"],
                "change": row["prev_change"],
                "change_relative": row["prev_change_rel"],
                "change_better": change.get("better"),
                "change_routine": change.get("held"),
                "usual_low": row["lower"],
                "usual_centre": row["centre"],
                "usual_high": row["upper"],
                "usual_kind": row["baseline_kind"] if block.get("limits") else None,
                "shared_scope": shared.get("scope"),
                "shared_direction": shared.get("direction"),
                "shared_moved": shared.get("moved"),
                "shared_of": shared.get("of"),
                "shared_own": shared.get("own"),
                "pattern": pattern.get("cycle"),
                "goal_target": goal.get("target"),
                "goal_score": goal.get("score"),
                "goal_success": goal.get("success"),
                "missing_values": int(quality["missing"]),
                "stale": bool(quality["stale"]),
                "data_notes": "; ".join(_notes(block)),
                "withheld": str(row.get("withheld") or ""),
            }
        )
    return out


def _who(ws: Workspace, scope: str, sid: str) -> tuple[str, str | None, str]:
    """The name, team id and department of a person, team or department."""
    teams = ws.teams.set_index(ws.teams["team_id"].astype(str))
    if scope == "employee":
        person = ws.people.loc[ws.people["employee_id"].astype(str) == sid].iloc[0]
        tid = str(person["team_id"])
        return str(person["name"]), tid, str(teams.loc[tid, "department"])
    if scope == "team":
        return str(teams.loc[sid, "name"]), sid, str(teams.loc[sid, "department"])
    return sid, None, sid


def _notes(block: dict[str, Any]) -> list[str]:
    """The data notes of a KPI block, in words a filter can match."""
    q = block["quality"]
    notes = []
    if q["missing"]:
        notes.append(f"{q['missing']} of {q['expected']} values missing")
    if q["incomplete"]:
        notes.append(f"{q['incomplete']} incomplete")
    if q["stale"]:
        notes.append(f"stale (last value {q['last_observed']})")
    if q["out_of_range"]:
        notes.append(f"{q['out_of_range']} out of range")
    if q["partial_week"]:
        notes.append("last week partly after the period")
    if q["incomplete_tail"]:
        notes.append(f"incomplete data since {q['incomplete_tail']}")
    if q["limits_widened"]:
        notes.append("usual range widened (values follow each other)")
    if block.get("sparse"):
        notes.append("too few values for a usual range")
    limits = block.get("limits") or {}
    if limits.get("kind") == "trial":
        notes.append(f"trial usual range ({limits['baseline_points']} values before the period)")
    if block.get("definition_changes"):
        notes.append("definition changed")
    return notes


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns with one dtype each (text as str, counts as Int64, flags as boolean)."""
    texts = [
        "period", "view", "scope", "scope_id", "name", "team_id", "department", "kpi_id",
        "kpi", "unit", "direction", "status", "story", "badge", "previous_period",
        "usual_kind", "shared_scope", "shared_direction", "pattern", "data_notes", "withheld",
    ]  # fmt: skip
    floats = [
        "level", "previous_level", "change", "change_relative", "usual_low", "usual_centre",
        "usual_high", "goal_target", "goal_score",
    ]  # fmt: skip
    flags = ["change_better", "change_routine", "shared_own", "goal_success", "stale"]
    counts = ["shared_moved", "shared_of", "missing_values"]
    types: dict[str, Any] = {
        **dict.fromkeys(texts, "string"),
        **dict.fromkeys(floats, "float64"),
        **dict.fromkeys(flags, "boolean"),
        **dict.fromkeys(counts, "Int64"),
    }
    return frame.astype(types).reset_index(drop=True)


def write_findings(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the findings to ``path`` by its suffix (:data:`FORMATS`), atomically: Parquet
    as typed columns, CSV and xlsx through the formula-safe writers."""
    from kpinb.files import atomic_open
    from kpinb.journal.sheets import write_csv, write_xlsx

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".parquet":
        with atomic_open(target, "wb") as handle:
            frame.to_parquet(handle, index=False)
        return target
    if suffix == ".csv":
        return write_csv(frame, target)
    if suffix == ".xlsx":
        return write_xlsx({"findings": frame}, target, filters=True, widths=True)
    msg = f"{target}: findings are written as {', '.join(FORMATS)}; name the file with one"
    raise UsageError(msg)
