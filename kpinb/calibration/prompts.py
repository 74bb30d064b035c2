"""Discussion prompts for the calibration meeting: questions, never verdicts.

Each prompt is a question to ask in the meeting and the facts it rests on, so the
room can check them. A prompt fires on a pattern in the evidence:

* ``rating_and_evidence_differ``: the rating is above the period's median rating while
  the person's KPIs shifted only the other way, or below it while they improved only;
* ``rests_on_one_kpi``: the rating is off the median and one KPI alone moved its way,
  while two or more of the person's KPIs can be read this period;
* ``known_dependency``: a feasibility flag (the person's or their team's) or a journal
  check-in with the diagnosis "dependency" in the period, under a shift of the person's
  (on the flagged KPI for a flag) or under a rating below the median;
* ``recency``: the rating is off the median and every movement its way (a shift's
  onset, an unusual week or run) lies in the period's last month;
* ``data_gaps``: a rating over stale KPIs, KPIs with no value, a quarter or more of a
  KPI's expected points absent, or no KPI that can be read yet;
* ``ratings_run_higher`` / ``ratings_run_lower`` (a manager): the leniency or severity
  indication of :mod:`kpinb.calibration.managers` points one way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb.analytics import KPI_STATUSES, MOVE_STATUSES, READABLE_STATUSES
from kpinb.calibration.evidence import MISSING_SHARE
from kpinb.report.sentences import (
    data_decimals,
    decimals_for,
    format_number,
    rounded,
    with_unit,
)

if TYPE_CHECKING:
    from kpinb.periods import Period

PROMPT_COLUMNS = ("scope", "id", "name", "department", "prompt", "question", "rests_on")
# the status of a shift that holds, by its direction (+1 improving, -1 worsening)
SHIFTS = {s.polarity: s.name for s in KPI_STATUSES.values() if s.holds}


def _day(value: Any) -> str:
    """A date (a cell of a frame: a timestamp or date) as "3 Mar 2026"."""
    return pd.Timestamp(value).strftime("%d %b %Y").lstrip("0")


def _rating(row: pd.Series, median: float) -> str:
    where = {1: "above", -1: "below", 0: "at"}[int(row["standing"])]
    return f"rating {_shown(row)}, {where} the period's median of {median:g}"


def _shown(row: pd.Series) -> str:
    """The person's rating as the pack shows it (``rating_text``: with the scale's label)."""
    return str(row.get("rating_text") or f"{row['rating']:g}")


def person_prompts(
    people: pd.DataFrame,
    kpi_rows: pd.DataFrame,
    signals: pd.DataFrame,
    flags: pd.DataFrame,
    median: float,
    period: Period,
) -> pd.DataFrame:
    """Every prompt about a person.

    ``people``: employee_id, name, department, rating, standing, direction,
    dependency_note; ``kpi_rows``: :func:`kpinb.calibration.evidence.kpi_evidence`;
    ``signals``: the analysis' rule hits (scope, scope_id, kpi_id, period, rule,
    direction); ``flags``: :func:`kpinb.calibration.evidence.person_flags`.
    """
    by_person = {str(k): g for k, g in kpi_rows.groupby("employee_id")}
    hits = signals[signals["scope"] == "employee"]
    hits_by = {str(k): g for k, g in hits.groupby("scope_id", observed=True)}
    flags_by = {str(k): g for k, g in flags.groupby("employee_id")}
    out: list[dict[str, str]] = []
    empty_kpis = kpi_rows.iloc[0:0]
    for _, person in people.iterrows():
        eid = str(person["employee_id"])
        rows = by_person.get(eid, empty_kpis)
        found = [
            _differ(person, rows, median),
            _one_kpi(person, rows, median),
            _dependency(person, rows, flags_by.get(eid, flags.iloc[0:0])),
            _recency(person, rows, hits_by.get(eid, hits.iloc[0:0]), median, period),
            _gaps(person, rows),
        ]
        for kind, question, rests_on in filter(None, found):
            out.append(
                {
                    "scope": "person",
                    "id": eid,
                    "name": str(person["name"]),
                    "department": str(person["department"]),
                    "prompt": kind,
                    "question": question,
                    "rests_on": rests_on,
                }
            )
    return pd.DataFrame(out, columns=list(PROMPT_COLUMNS))


def _moved(rows: pd.DataFrame, way: int) -> pd.DataFrame:
    return rows[rows["status"] == SHIFTS[way]]


def _shift_text(rows: pd.DataFrame) -> str:
    parts = []
    for _, r in rows.iterrows():
        since = f" since {_day(r['shift_onset'])}" if pd.notna(r["shift_onset"]) else ""
        parts.append(f"{r['kpi']}: {r['status_label']}{since}")
    return "; ".join(parts)


def _differ(person: pd.Series, rows: pd.DataFrame, median: float) -> tuple[str, str, str] | None:
    if pd.isna(person["rating"]) or person["standing"] == 0:
        return None
    way = int(person["standing"])
    evidence = {1: "worsening", -1: "improving"}[way]
    if person["direction"] != evidence:
        return None
    moved = _moved(rows, -way)
    question = (
        f"The rating sits {'above' if way > 0 else 'below'} the middle while "
        f"{person['name']}'s own KPIs moved the other way this period. What does the "
        "rating rest on that the KPIs do not show, and is that written down?"
    )
    return (
        "rating_and_evidence_differ",
        question,
        f"{_rating(person, median)}; {_shift_text(moved)}",
    )


def _one_kpi(person: pd.Series, rows: pd.DataFrame, median: float) -> tuple[str, str, str] | None:
    if pd.isna(person["rating"]) or person["standing"] == 0:
        return None
    way = int(person["standing"])
    readable = rows[rows["status"].isin(READABLE_STATUSES)]
    moved = _moved(rows, way)
    if len(moved) != 1 or len(readable) < 2:
        return None
    others = len(readable) - 1
    other = f"The other {others} KPIs" if others > 1 else "The other KPI"
    question = (
        f"Does the rating rest on {moved.iloc[0]['kpi']} alone? {other} that can be read "
        "this period did not move that way."
    )
    rests = (
        f"{_rating(person, median)}; {_shift_text(moved)}; "
        f"{others} other readable KPI{'s' if others > 1 else ''} without a shift that way"
    )
    return "rests_on_one_kpi", question, rests


def _dependency(
    person: pd.Series, rows: pd.DataFrame, flags: pd.DataFrame
) -> tuple[str, str, str] | None:
    shifted = rows[rows["status"].isin(MOVE_STATUSES)]
    reasons = []
    names = dict(zip(rows["kpi_id"], rows["kpi"], strict=True))
    for _, flag in flags.iterrows():
        on = shifted[shifted["kpi_id"] == flag["kpi_id"]]
        kpi = names.get(str(flag["kpi_id"]), str(flag["kpi_id"]))
        under = f" ({kpi}: {on.iloc[0]['status_label']})" if len(on) else f" ({kpi})"
        if len(on) or person["standing"] == -1:
            who = "team" if flag["scope"] == "team" else "own"
            reasons.append(
                f"{who} feasibility flag by {flag['flagged_by']}{under}: {_clause(flag['reason'])}"
            )
    note = str(person.get("dependency_note") or "")
    if note and (len(shifted) or person["standing"] == -1):
        reasons.append(f"check-in this period diagnosed a dependency: {_clause(note)}")
    if not reasons:
        return None
    question = (
        f"A known dependency sits under {person['name']}'s period. How much of what moved "
        "was in their control, and does the rating allow for it?"
    )
    return "known_dependency", question, "; ".join(reasons)


def _recency(
    person: pd.Series, rows: pd.DataFrame, hits: pd.DataFrame, median: float, period: Period
) -> tuple[str, str, str] | None:
    if pd.isna(person["rating"]) or person["standing"] == 0:
        return None
    way = int(person["standing"])
    word = "improving" if way > 0 else "worsening"
    last_month = period.end.replace(day=1)
    moved = _moved(rows, way)
    dates = [(r["kpi"], pd.Timestamp(r["shift_onset"]), "shift from") for _, r in moved.iterrows()]
    names = dict(zip(rows["kpi_id"], rows["kpi"], strict=True))
    for _, hit in hits[hits["direction"] == word].iterrows():
        kpi = names.get(str(hit["kpi_id"]), str(hit["kpi_id"]))
        dates.append((kpi, pd.Timestamp(hit["period"]), "unusual value on"))
    dates = [d for d in dates if pd.notna(d[1])]
    if not dates or min(d[1] for d in dates) < last_month:
        return None
    seen = sorted({f"{k} ({how} {_day(d)})" for k, d, how in dates})
    year = _year_against(rows, way)
    question = (
        "Every movement in the rating's direction came in the period's last month"
        + (
            ", while across the last quarters " + ", ".join(k for k, _ in year) + " moved "
            "the other way"
            if year
            else ""
        )
        + ". Does the rating follow that month, or the whole period"
        + (" and the year?" if year else "?")
    )
    rests = f"{_rating(person, median)}; since {_day(last_month)} only: {'; '.join(seen)}"
    if year:
        rests += "; across the last quarters: " + "; ".join(text for _, text in year)
    return "recency", question, rests


def _year_against(rows: pd.DataFrame, way: int) -> list[tuple[str, str]]:
    """The person's own climbs or slides across quarters (not shared with their team)
    that point against the rating's way: (KPI, "KPI improved from A in Q to B")."""
    if "over_time" not in rows:
        return []
    shared = rows["over_time_shared"].fillna(False).astype(bool)
    against = rows[(rows["over_time"].fillna(0).astype(int) == -way) & ~shared]
    word = "improved" if way < 0 else "moved the less favourable way"
    out = []
    for _, r in against.iterrows():
        ends = (r["over_time_from_level"], r["over_time_to_level"])
        # both ends with one precision: the KPI's (by size), no more than the values hold
        places = min(decimals_for(ends), data_decimals(ends))
        start, end = (_level(v, r["unit"], places) for v in ends)
        out.append(
            (str(r["kpi"]), f"{r['kpi']} {word} from {start} in {r['over_time_from']} to {end}")
        )
    return out


def _clause(text: object) -> str:
    """Free text as one clause of a ``; ``-joined list: its closing stop dropped, so the
    list never reads "old tooling.; check-in"."""
    return str(text).strip().rstrip(".;,:").rstrip()


def _level(value: float, unit: str, decimals: int | None = None) -> str:
    """A level as the reports show it: the KPI's decimals (from its size) and its unit."""
    places = decimals_for([value]) if decimals is None else decimals
    return with_unit(format_number(rounded(float(value), places) or 0.0, places), unit)


def _gaps(person: pd.Series, rows: pd.DataFrame) -> tuple[str, str, str] | None:
    if pd.isna(person["rating"]):
        return None
    notes = []
    for _, r in rows.iterrows():
        if r["status"] == "no_data":
            notes.append(f"{r['kpi']}: no value this period")
            continue
        if bool(r["stale"]):
            notes.append(f"{r['kpi']}: last value {_day(r['last_observed'])} (stale)")
        expected = int(r["expected_in_period"])
        if expected and int(r["missing_in_period"]) / expected >= MISSING_SHARE:
            notes.append(f"{r['kpi']}: {int(r['missing_in_period'])} of {expected} values absent")
    if len(rows) and not rows["status"].isin(READABLE_STATUSES).any() and not notes:
        notes.append("no KPI has enough history to read this period")
    if not notes:
        return None
    question = (
        f"Part of the data under {person['name']}'s rating is absent or old. What else "
        "does the rating rest on, and should the data be fixed first?"
    )
    return "data_gaps", question, f"rating {_shown(person)}; " + "; ".join(notes)


def manager_prompts(managers: pd.DataFrame) -> pd.DataFrame:
    """A prompt for each manager whose indication points one way (never under the group
    minimum: those have no indication)."""
    out = []
    for _, m in managers.iterrows():
        text = str(m["indication"])
        if "higher" in text:
            kind, way = "ratings_run_higher", "higher"
        elif "lower" in text:
            kind, way = "ratings_run_lower", "lower"
        else:
            continue
        question = (
            f"{m['manager']}'s proposed ratings run {way} than people elsewhere with the "
            "same evidence received. What do they see that the evidence does not show, or "
            "should some ratings move?"
        )
        out.append(
            {
                "scope": "manager",
                "id": str(m["manager_id"]),
                "name": str(m["manager"]),
                "department": str(m["department"]),
                "prompt": kind,
                "question": question,
                "rests_on": f"{m['rated']} rated people; {m['basis']}",
            }
        )
    return pd.DataFrame(out, columns=list(PROMPT_COLUMNS))
