"""The explorer's tables: plain functions over the workspace and the period's analysis.

No widgets here: the explorer (:mod:`kpinb.explorer.app`) only shows what these
functions return, so each table is tested on its own. Words keep the analytics'
names (docs/analytics.md): statuses, ``improving``/``worsening``, the success line (0.7 by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kpinb.analytics import MOVE_STATUSES, SUCCESS
from kpinb.kpis import difference_unit

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
    from kpinb.errors import Problem
    from kpinb.workspace import Validation, Workspace

# what changed this period, one row per finding
CHANGE_COLUMNS = (
    "department",
    "team",
    "scope",
    "scope_id",
    "name",
    "kpi_id",
    "kpi",
    "what",
    "direction",
    "status",
    "date",
    "detail",
    "told",
)
# the kinds of finding, in the order the table lists them
WHAT = ("shift", "unusual week", "goal", "data quality")
SCOPES = ("employee", "team")
QUALITY_COLUMNS = (
    "severity",
    "file",
    "column",
    "rows",
    "count",
    "problem",
    "fix",
)
PERSON_QUALITY_COLUMNS = (
    "department",
    "team",
    "employee_id",
    "name",
    "kpi_id",
    "kpi",
    "expected",
    "missing",
    "stale",
    "last_observed",
    "out_of_range",
)


def directory(ws: Workspace) -> pd.DataFrame:
    """Every person with their team and department: employee_id, name, team_id, team,
    department (the pickers' and the tables' names)."""
    teams = ws.teams.rename(columns={"name": "team"})[["team_id", "team", "department"]]
    people = ws.people[["employee_id", "name", "team_id"]].merge(teams, on="team_id", how="left")
    return people.astype({"employee_id": str, "team_id": str}).reset_index(drop=True)


def _subjects(ws: Workspace) -> pd.DataFrame:
    """scope, scope_id -> name, team, department, for people and teams."""
    people = directory(ws)
    rows = pd.DataFrame(
        {
            "scope": "employee",
            "scope_id": people["employee_id"],
            "name": people["name"],
            "team": people["team"],
            "department": people["department"],
        }
    )
    teams = pd.DataFrame(
        {
            "scope": "team",
            "scope_id": ws.teams["team_id"].astype(str),
            "name": ws.teams["name"],
            "team": ws.teams["name"],
            "department": ws.teams["department"],
        }
    )
    return pd.concat([rows, teams], ignore_index=True)


def changes(ws: Workspace, analysis: Analysis) -> pd.DataFrame:
    """What changed in the review period across everyone (people and teams).

    One row per finding, columns :data:`CHANGE_COLUMNS`:

    * ``shift``: a KPI whose status is a shift (``improving_shift``,
      ``worsening_shift``) or a move that came and went (``returned``); ``date`` is
      the onset (the week the shift began), ``direction`` the move's.
    * ``unusual week``: a point beyond a limit (rule ``beyond_limit``) in the period.
    * ``goal``: every target of the period, with its OKR score and projected landing;
      ``status`` is ``success`` (the success line, 0.7 by default, or more),
      ``projected success`` or ``below 0.7`` (the line as set).
    * ``data quality``: missing points, a stale KPI, values left out as out of range.

    ``told``: for a person's shift, the badge their own report shows on that KPI's card
    (:func:`kpinb.report.told`), so the table never tells a KPI another way than the
    report does (a shift the report tells as easing back, or as a change shared with
    the group); empty for other rows.

    Sorted by department, team, scope (people first), name, KPI, then :data:`WHAT`.
    """
    summary = analysis.summary[analysis.summary["scope"].isin(SCOPES)]
    parts = [
        _shifts(summary, {k: spec.unit for k, spec in ws.kpis.items()}),
        _unusual(analysis.signals[analysis.signals["scope"].isin(SCOPES)]),
        _goals(analysis.goals[analysis.goals["scope"].isin(SCOPES)], analysis.success),
        _quality(summary),
    ]
    table = pd.concat([p for p in parts if not p.empty] or [_empty_changes()], ignore_index=True)
    table["told"] = _told(ws, analysis, table)
    table = table.merge(_subjects(ws), on=["scope", "scope_id"], how="left")
    table["kpi"] = table["kpi_id"].map({k: spec.name for k, spec in ws.kpis.items()})
    table["kpi"] = table["kpi"].fillna(table["kpi_id"])
    table["name"] = table["name"].fillna(table["scope_id"])
    table["order"] = table["what"].map({w: i for i, w in enumerate(WHAT)})
    table["scope_order"] = table["scope"].map({s: i for i, s in enumerate(SCOPES)})
    table = table.sort_values(
        ["department", "team", "scope_order", "name", "kpi_id", "order", "date"],
        kind="stable",
        na_position="last",
    )
    return table[list(CHANGE_COLUMNS)].reset_index(drop=True)


def _told(ws: Workspace, analysis: Analysis, table: pd.DataFrame) -> np.ndarray:
    """Per row: the badge a person's report gives the KPI of a shift row ("" otherwise);
    only the people with shift rows have their stories told (few, however many there
    are)."""
    from kpinb.report import told

    shifts = (table["what"] == "shift") & (table["scope"] == "employee")
    out = np.full(len(table), "", dtype=object)
    if not shifts.any():
        return out
    ids = sorted(set(table.loc[shifts, "scope_id"].astype(str)))
    badges = told(ws, analysis, ids).set_index(["employee_id", "kpi_id"])["badge"]
    at = pd.MultiIndex.from_frame(table.loc[shifts, ["scope_id", "kpi_id"]].astype(str))
    out[shifts.to_numpy()] = badges.reindex(at).fillna("").to_numpy()
    return out


def _empty_changes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scope": pd.Series(dtype=str),
            "scope_id": pd.Series(dtype=str),
            "kpi_id": pd.Series(dtype=str),
            "what": pd.Series(dtype=str),
            "direction": pd.Series(dtype=str),
            "status": pd.Series(dtype=str),
            "date": pd.Series(dtype="datetime64[ns]"),
            "detail": pd.Series(dtype=str),
        }
    )


def _keys(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "scope": frame["scope"].astype(str).to_numpy(),
        "scope_id": frame["scope_id"].astype(str).to_numpy(),
        "kpi_id": frame["kpi_id"].astype(str).to_numpy(),
    }


def _shifts(summary: pd.DataFrame, units: dict[str, str]) -> pd.DataFrame:
    rows = summary[summary["status"].isin(MOVE_STATUSES)]
    unit = rows["kpi_id"].astype(str).map(units).fillna("").map(difference_unit)
    direction = np.where(rows["shift_direction"].to_numpy() > 0, "improving", "worsening")
    size = rows["shift_size"].to_numpy(dtype=float)
    detail = [
        _shift_detail(status, float(s), bool(after), u)
        for status, s, after, u in zip(
            rows["status"], size, rows["returned_after_previous"].fillna(False), unit, strict=True
        )
    ]
    return pd.DataFrame(
        {
            **_keys(rows),
            "what": "shift",
            "direction": direction,
            "status": rows["status"].astype(str).to_numpy(),
            "date": pd.to_datetime(rows["shift_onset"]).to_numpy(),
            "detail": detail,
        }
    )


def _shift_detail(status: str, size: float, after_previous: bool, unit: str = "") -> str:
    if status == "returned":
        if after_previous:
            return "back at the usual level after last period's move"
        return "a move that came and went"
    if np.isnan(size):
        return "a shift that holds"
    return f"a shift that holds, {f'{size:+.4g} {unit}'.strip()} against the usual level"


def _unusual(signals: pd.DataFrame) -> pd.DataFrame:
    rows = signals[signals["rule"].astype(str) == "beyond_limit"]
    return pd.DataFrame(
        {
            **_keys(rows),
            "what": "unusual week",
            "direction": rows["direction"].astype(str).to_numpy(),
            "status": "beyond a limit",
            "date": pd.to_datetime(rows["period"]).to_numpy(),
            "detail": [f"value {v:.4g}" for v in rows["value"].to_numpy(dtype=float)],
        }
    )


def _goals(goals: pd.DataFrame, success: float = SUCCESS) -> pd.DataFrame:
    score = goals["score"].to_numpy(dtype=float)
    projected = goals["projected_score"].to_numpy(dtype=float)
    status = np.where(
        score >= success,
        "success",
        np.where(projected >= success, "projected success", f"below {success:g}"),
    )
    status = np.where(np.isnan(score), "no score", status)
    detail = [
        "no score this period"
        if np.isnan(s)
        else f"score {s:.2f}, projected {p:.2f} (target {t:.4g})"
        for s, p, t in zip(score, projected, goals["target"].to_numpy(dtype=float), strict=True)
    ]
    return pd.DataFrame(
        {
            **_keys(goals),
            "what": "goal",
            "direction": "",
            "status": status,
            "date": pd.NaT,
            "detail": detail,
        }
    )


def _quality(summary: pd.DataFrame) -> pd.DataFrame:
    frames = []
    missing = summary[summary["missing_in_period"] > 0]
    frames.append(
        _quality_rows(
            missing,
            "missing points",
            [
                f"{m} of {e} points missing in the period"
                for m, e in zip(
                    missing["missing_in_period"], missing["expected_in_period"], strict=True
                )
            ],
        )
    )
    stale = summary[summary["stale"].fillna(False).astype(bool)]
    frames.append(
        _quality_rows(
            stale,
            "stale",
            [f"last value {_day(d)}" for d in stale["last_observed"]],
        )
    )
    out = summary[summary["out_of_range"] > 0]
    frames.append(
        _quality_rows(
            out,
            "out of range",
            [f"{n} value(s) left out as out of range" for n in out["out_of_range"]],
        )
    )
    return pd.concat(frames, ignore_index=True)


def _quality_rows(rows: pd.DataFrame, status: str, detail: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            **_keys(rows),
            "what": "data quality",
            "direction": "",
            "status": status,
            "date": pd.to_datetime(rows["last_observed"]).to_numpy(),
            "detail": detail,
        }
    )


def _day(value: Any) -> str:
    """A cell's day as ISO text, or "none" when it is missing."""
    return "none" if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def filter_changes(
    table: pd.DataFrame,
    *,
    department: str | None = None,
    team: str | None = None,
    kpi: str | None = None,
    direction: str | None = None,
    what: str | None = None,
) -> pd.DataFrame:
    """The rows of :func:`changes` matching every filter given (``None``: any).

    ``team`` is a team's name, ``kpi`` a KPI id, ``direction`` ``improving`` or
    ``worsening``, ``what`` one of :data:`WHAT`.
    """
    keep = pd.Series(True, index=table.index)
    for column, wanted in (
        ("department", department),
        ("team", team),
        ("kpi_id", kpi),
        ("direction", direction),
        ("what", what),
    ):
        if wanted:
            keep &= table[column].astype(str) == str(wanted)
    return table[keep].reset_index(drop=True)


def sort_table(table: pd.DataFrame, column: str, *, ascending: bool = True) -> pd.DataFrame:
    """``table`` sorted by ``column`` (stable; empty values last, whichever the order)."""
    if column not in table.columns:
        raise KeyError(f"no column {column!r}: use one of {', '.join(table.columns)}")
    return table.sort_values(
        column, ascending=ascending, kind="stable", na_position="last"
    ).reset_index(drop=True)


# --- data quality -----------------------------------------------------------------------


def quality_by_table(validation: Validation) -> pd.DataFrame:
    """Every problem and warning of ``kpinb validate``, one row each, errors first."""
    return problems_frame([*validation.problems, *validation.warnings])


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    rows = [
        {
            "severity": p.severity,
            "file": p.file,
            "column": p.column or "",
            "rows": ", ".join(str(r) for r in p.rows),
            "count": p.count,
            "problem": p.problem,
            "fix": p.fix,
        }
        for p in problems
    ]
    return pd.DataFrame(rows, columns=list(QUALITY_COLUMNS))


def quality_by_person(ws: Workspace, analysis: Analysis) -> pd.DataFrame:
    """Per person and KPI with a data-quality note in the period: points expected and
    missing, stale (no value in the last two cadence steps), the last value's date, and
    values left out as out of range (the same figures as the reports' data notes)."""
    s = analysis.summary[analysis.summary["scope"] == "employee"]
    noted = (
        (s["missing_in_period"] > 0)
        | s["stale"].fillna(False).astype(bool)
        | (s["out_of_range"] > 0)
    )
    s = s[noted]
    people = directory(ws).rename(columns={"employee_id": "scope_id"})
    table = pd.DataFrame(
        {
            "scope_id": s["scope_id"].astype(str).to_numpy(),
            "kpi_id": s["kpi_id"].astype(str).to_numpy(),
            "expected": s["expected_in_period"].to_numpy(),
            "missing": s["missing_in_period"].to_numpy(),
            "stale": s["stale"].fillna(False).astype(bool).to_numpy(),
            "last_observed": pd.to_datetime(s["last_observed"]).to_numpy(),
            "out_of_range": s["out_of_range"].to_numpy(),
        }
    ).merge(people, on="scope_id", how="left")
    table = table.rename(columns={"scope_id": "employee_id"})
    table["kpi"] = table["kpi_id"].map({k: spec.name for k, spec in ws.kpis.items()})
    table = table.sort_values(["department", "team", "name", "kpi_id"], kind="stable")
    return table[list(PERSON_QUALITY_COLUMNS)].reset_index(drop=True)


def problem_rows(root: Path, problem: Problem) -> pd.DataFrame:
    """The rows of the file a problem names, as read (text), with a ``row`` column
    counted as the problem counts them (the header is row 1). Empty when the problem
    names no rows or the file cannot be read."""
    from kpinb.workspace.readers import read_table

    path = Path(root) / problem.file
    if not problem.rows or not path.is_file():
        return pd.DataFrame()
    try:
        raw = read_table(path)
    except Exception:  # the file's own problem is already in the list
        return pd.DataFrame()
    positions = [r - raw.first_row for r in problem.rows if 0 <= r - raw.first_row < len(raw.frame)]
    rows = raw.frame.iloc[positions].reset_index(drop=True)
    rows.insert(0, "row", [p + raw.first_row for p in positions])
    return rows


def series_rows(ws: Workspace, analysis: Analysis, employee_id: str, kpi_id: str) -> pd.DataFrame:
    """A person's KPI in the review period, point by point: period, value, the usual range
    and rule hits; weeks (or months) without a value appear with an empty value and
    ``missing`` True, so a data-quality note can be checked against the data."""
    points = analysis.points
    mine = points[
        (points["scope"] == "employee")
        & (points["scope_id"].astype(str) == str(employee_id))
        & (points["kpi_id"].astype(str) == str(kpi_id))
        & points["in_review"]
    ]
    frame = pd.DataFrame(
        {
            "period": pd.to_datetime(mine["period"]).to_numpy(),
            "value": mine["value"].to_numpy(dtype=float),
            "lower": mine["lower"].to_numpy(dtype=float),
            "upper": mine["upper"].to_numpy(dtype=float),
            "rules": mine["rules"].astype(str).to_numpy(),
        }
    )
    spec = ws.kpis.get(str(kpi_id))
    if spec is not None and not frame.empty:
        per = analysis.period
        step = "7D" if spec.cadence == "weekly" else "MS"
        first = frame["period"].min()
        while first - pd.Timedelta(days=7 if step == "7D" else 28) >= per.start:
            first -= pd.Timedelta(days=7) if step == "7D" else pd.DateOffset(months=1)
        expected = pd.date_range(first, per.end, freq=step)
        frame = frame.set_index("period").reindex(expected.union(pd.DatetimeIndex(frame["period"])))
        frame.index.name = "period"
        frame = frame.reset_index()
    frame["missing"] = frame["value"].isna()
    frame["rules"] = frame["rules"].fillna("")
    return frame
