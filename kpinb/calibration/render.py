"""The pack's HTML pages, through kpinb's one Jinja environment (autoescape on).

Every name, goal, note and reason reaches a page as data and is escaped by the
template; nothing here builds markup by hand. Pages are standalone documents (their
own CSS, nothing fetched) that print cleanly.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb.calibration.evidence import STATUS_LABELS
from kpinb.calibration.grid import POTENTIAL
from kpinb.kpis import difference_unit
from kpinb.report.sentences import decimals_for, format_number, rounded, with_unit
from kpinb.templating import environment, stylesheet

if TYPE_CHECKING:  # the pack is passed in (kpinb.calibration.pack imports this module)
    CalibrationPack = Any

DIRECTIONS = {
    "improving": "improving",
    "worsening": "moved the other way",
    "mixed": "mixed",
    "steady": "steady (routine)",
    "thin": "too new or no values",
}
PROMPT_TITLES = {
    "rating_and_evidence_differ": "Rating and evidence point different ways",
    "rests_on_one_kpi": "Rating rests on one KPI",
    "known_dependency": "A known dependency",
    "recency": "Recency: only the last month moved",
    "data_gaps": "Data under the rating is absent or old",
    "ratings_run_higher": "Ratings run higher than the evidence",
    "ratings_run_lower": "Ratings run lower than the evidence",
    "group_ratings_run_higher": "A group's ratings run higher than the evidence",
    "group_ratings_run_lower": "A group's ratings run lower than the evidence",
}


def render_page(pack: CalibrationPack, department: str | None, *, links: bool = True) -> str:
    """The index (``department`` None) or one department's page, as a full document."""
    template = environment().get_template("calibration.html.j2")
    people = (
        pack.people if department is None else pack.people[pack.people["department"] == department]
    )
    prompts = pack.prompts
    managers = pack.managers
    decisions = pack.decisions
    if department is not None:
        prompts = prompts[prompts["department"].str.split(", ").map(lambda d: department in d)]
        managers = managers[managers["department"].str.split(", ").map(lambda d: department in d)]
        decisions = decisions[decisions["employee_id"].isin(set(people["employee_id"]))]
    context = {
        "title": pack.title if department is None else f"{pack.title}: {department}",
        "only": ", ".join(pack.only),
        "scale": pack.rating_scale.describe(),
        "css": stylesheet("calibration"),
        "period": pack.period.label,
        "index": department is None,
        "links": links,
        "median": pack.rating_text(pack.median_rating),
        "min_group": pack.min_group_size,
        "success": f"{pack.success:g}",
        "totals": _totals(pack, people, prompts),
        "departments": [
            {
                "name": d,
                "page": pack.department_page(d),
                "people": int((pack.people["department"] == d).sum()),
                "prompts": int(
                    pack.prompts["department"].str.split(", ").map(lambda x, d=d: d in x).sum()
                ),
            }
            for d in pack.departments
        ]
        if department is None
        else [],
        "managers": [_manager(pack, m) for _, m in managers.iterrows()],
        "prompts": [_prompt(p) for _, p in prompts.iterrows()],
        "people": [] if department is None and len(pack.departments) > 1 else _people(pack, people),
        "decisions": _decision_groups(pack, decisions),
    }
    # fairness across groups and the grid: on the page of the pack's whole population
    context.update(fairness_context(pack, department in (None, pack.department or None)))
    return template.render(**context)


def fairness_context(pack: CalibrationPack, whole: bool) -> dict[str, Any]:
    """The fairness view (one table per slicing) and the grid, for the page that shows
    the pack's whole population (``whole``); empty elsewhere."""
    if not whole:
        return {"fairness": [], "grid": []}
    slicings = []
    for name, rows in pack.fairness.groupby("slicing", sort=False):
        shown = rows[rows["shown"]]
        slicings.append(
            {
                "name": name,
                "groups": [_group(pack, r) for _, r in shown.iterrows()],
                "total": int(shown["rated"].sum()),
                "withheld": int((~rows["shown"].astype(bool)).sum()),
            }
        )
    grid = []
    if pack.has_potential:
        cells = pack.grid()
        for potential, row in cells.groupby("potential", sort=False):
            grid.append(
                {
                    "potential": potential,
                    "cells": [
                        {"people": int(c["people"]), "names": c["names"]} for _, c in row.iterrows()
                    ],
                }
            )
    return {"fairness": slicings, "grid": grid}


def _group(pack: CalibrationPack, r: pd.Series) -> dict[str, Any]:
    shown = pd.notna(r["gap"])
    dist, text = rating_bars(pack, r["ratings"])
    return {
        "name": r["group"],
        "rated": int(r["rated"]),
        "ratings": dist,
        "ratings_text": text,
        "mean": fmt_number(r["mean_rating"], "{:.2f}"),
        "improving": _share(r, "improving"),
        "goals": _share(r, "goal_success"),
        "gap": f"{r['gap']:+.2f} ({r['gap_low']:+.2f} to {r['gap_high']:+.2f}), "
        f"n = {int(r['gaps'])}"
        if shown and pd.notna(r["gap_low"])
        else "",
        "indication": r["indication"],
        "basis": r["basis"],
        "points": "higher"
        if "higher" in str(r["indication"])
        else ("lower" if "lower" in str(r["indication"]) else ""),
    }


def _totals(pack: CalibrationPack, people: pd.DataFrame, prompts: pd.DataFrame) -> dict[str, Any]:
    rated = people["rating"].dropna()
    return {
        "people": len(people),
        "rated": len(rated),
        "distribution": distribution(pack, rated),
        "prompts": len(prompts),
    }


def distribution(pack: CalibrationPack, ratings: pd.Series) -> list[dict[str, Any]]:
    """Every value of the rating scale with its label, count and bar length (a share of
    the largest count, in percent): a distribution that reads without a legend."""
    values = list(pack.rating_scale.values)
    counts = [int(ratings.map(lambda r, v=v: abs(float(r) - v) < 1e-9).sum()) for v in values]
    most = max(counts, default=0) or 1
    return [
        {
            "value": f"{v:g}",
            "rating": pack.rating_text(v),
            "count": n,
            "bar": round(100 * n / most),
        }
        for v, n in zip(values, counts, strict=True)
    ]


def rating_bars(pack: CalibrationPack, counts: object) -> tuple[list[dict[str, Any]], str]:
    """A group's ratings as the tables hold them (``"3: 2, 4: 1"``, rating: people) drawn
    as :func:`distribution` bars, with the same counts in words for screen readers."""
    pairs = [part.split(": ") for part in str(counts).split(", ") if ": " in part]
    ratings = pd.Series([float(v) for v, n in pairs for _ in range(int(n))], dtype="float64")
    dist = distribution(pack, ratings)
    return dist, "; ".join(f"{d['count']} rated {d['rating']}" for d in dist if d["count"])


def _manager(pack: CalibrationPack, m: pd.Series) -> dict[str, Any]:
    shown = pd.notna(m["gap"])
    # the manager's whole group (the pack's page may hold part of it)
    dist, text = rating_bars(pack, m["ratings"])
    return {
        "name": m["manager"],
        "department": m["department"],
        "people": int(m["people"]),
        "rated": int(m["rated"]),
        "ratings": dist,
        "ratings_text": text,
        "mean": fmt_number(m["mean_rating"], "{:.2f}") if shown else "",
        "improving": _share(m, "improving") if shown else "",
        "goals": _share(m, "goal_success") if shown else "",
        "gap": (f"{m['gap']:+.2f} ({m['gap_low']:+.2f} to {m['gap_high']:+.2f})" if shown else ""),
        "indication": m["indication"],
        "basis": m["basis"],
        "points": "higher"
        if "higher" in str(m["indication"])
        else ("lower" if "lower" in str(m["indication"]) else ""),
    }


def _share(m: pd.Series, stem: str) -> str:
    share = m[f"{stem}_share"]
    if pd.isna(share):
        return "no goals"
    return f"{share:.0%} ({m[f'{stem}_low']:.0%} to {m[f'{stem}_high']:.0%})"


def _prompt(p: pd.Series) -> dict[str, Any]:
    return {
        "scope": p["scope"],
        "name": p["name"],
        "department": p["department"],
        "title": PROMPT_TITLES.get(str(p["prompt"]), str(p["prompt"])),
        "kind": p["prompt"],
        "question": p["question"],
        "rests_on": p["rests_on"],
    }


def _people(pack: CalibrationPack, people: pd.DataFrame) -> list[dict[str, Any]]:
    by_person = {str(k): g for k, g in pack.kpis.groupby("employee_id")}
    # one precision per KPI, from the size of its levels (as a report picks it)
    places = {str(k): decimals_for(g["level"]) for k, g in pack.kpis.groupby("kpi_id")}
    out = []
    for _, p in people.iterrows():
        rows = by_person.get(str(p["employee_id"]), pack.kpis.iloc[0:0])
        out.append(
            {
                "id": p["employee_id"],
                "name": p["name"],
                "report": p["report"],
                "role": p["role"],
                "team": p["team"],
                "manager": p["manager"],
                "tenure": fmt_number(p["tenure_years"], "{:.1f}"),
                "rating": pack.rating_text(p["rating"]),
                "agreed": pack.rating_text(p["agreed_rating"]),
                "potential": POTENTIAL.get(p["potential"], ""),
                "performance": p["performance"] if pd.notna(p["performance"]) else "",
                "direction": DIRECTIONS.get(str(p["direction"]), str(p["direction"])),
                "goals": f"{p['goals_at_success']} of {p['goals']}" if p["goals"] else "",
                "projected": f"{p['goals_projected_success']} of {p['goals']}"
                if p["goals"]
                else "",
                "bests": int(p["new_bests"]),
                "streak": int(p["longest_streak"]),
                "checkins": int(p["checkins"]),
                "actions": int(p["open_actions"]),
                "flags": int(p["flags"]),
                "gaps": _gaps(p),
                "prompts": int(p["prompts"]),
                "kpis": [_kpi(r, places.get(str(r["kpi_id"]), 2)) for _, r in rows.iterrows()],
            }
        )
    return out


def _gaps(p: pd.Series) -> str:
    notes = []
    if p["stale_kpis"]:
        notes.append(f"{p['stale_kpis']} stale")
    if p["missing_points"]:
        notes.append(f"{p['missing_points']} of {p['expected_points']} values absent")
    if p["out_of_range"]:
        notes.append(f"{p['out_of_range']} out of range")
    return ", ".join(notes)


def signed(value: float, decimals: int, unit: str) -> str:
    """A change as the reports write it: its sign, the KPI's decimals, its unit
    (``+8.3 kEUR``, ``-0.3 meetings``, ``+1 deal``); ``level`` when it rounds to 0."""
    shown = rounded(value, decimals) or 0.0
    if shown == 0:
        return "level"
    text = with_unit(format_number(abs(shown), decimals), unit)
    return ("+" if shown > 0 else "-") + text


def _kpi(r: pd.Series, decimals: int = 2) -> dict[str, Any]:
    change = ""
    if pd.notna(r["prev_change"]):
        word = {1: "better", -1: "the other way", 0: ""}.get(int(r["better_than_previous"]), "")
        moved = signed(float(r["prev_change"]), decimals, difference_unit(r["unit"]))
        change = f"{moved} vs {r['prev_label']}" + (
            f" ({word})" if word and moved != "level" else ""
        )
    goal = ""
    if pd.notna(r["goal_score"]):
        goal = f"goal score {r['goal_score']:.2f}"
        # the projection only where it says something the score does not
        if pd.notna(r["projected_score"]) and round(r["projected_score"], 2) != round(
            r["goal_score"], 2
        ):
            goal += f", projected {r['projected_score']:.2f}"
    return {
        "name": r["kpi"],
        "status": STATUS_LABELS.get(str(r["status"]), str(r["status"])),
        "kind": str(r["status"]),
        "change": change,
        "goal": goal,
    }


def _decision_groups(pack: CalibrationPack, decisions: pd.DataFrame) -> list[dict[str, Any]]:
    """Per person (in the order their first decision was recorded): the decision in
    force (the latest) and, newest first, the earlier ones it replaced, each saying
    which decision superseded it (named by a correction) or replaced it (a later one)."""
    out = []
    for _, rows in decisions.sort_values("decision_id").groupby("employee_id", sort=False):
        shown = [_decision(pack, d) for _, d in rows.iterrows()]
        named = {d["supersedes"]: d["id"] for d in shown if d["supersedes"]}
        history = []
        for before, after in itertools.pairwise(shown):
            by = named.get(before["id"])
            before["ended"] = (
                f"superseded by #{by}" if by is not None else f"replaced by #{after['id']}"
            )
            history.append(before)
        out.append({"current": shown[-1], "history": history[::-1]})
    return out


def _decision(pack: CalibrationPack, d: pd.Series) -> dict[str, Any]:
    corrects = d.get("supersedes")
    return {
        "id": int(d["decision_id"]),
        "supersedes": None if corrects is None or pd.isna(corrects) else int(corrects),
        "ended": "",
        "name": d["name"],
        "employee_id": d["employee_id"],
        "proposed": pack.rating_text(d["proposed_rating"]),
        "agreed": pack.rating_text(d["agreed_rating"]),
        "reason": d["reason"],
        "by": d["decided_by"],
        "on": pd.Timestamp(d["decided_on"]).strftime("%Y-%m-%d")
        if pd.notna(d["decided_on"])
        else "",
    }


def fmt_number(value: Any, pattern: str = "{:g}") -> str:
    """A figure for the pages ("" when missing)."""
    if value is None or pd.isna(value):
        return ""
    return pattern.format(value)
