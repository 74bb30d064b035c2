"""The report facade: the one thing notebooks and the batch call.

``build_report(ws, scope, scope_id, period, view)`` turns a workspace into a
:class:`Report`: its HTML fragment (escaped text, inline SVG charts, nothing
fetched) and its JSON twin (docs/report-json.md), in which every figure that a
sentence states can be found at the path the sentence gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb import narrative as nv
from kpinb.errors import UsageError
from kpinb.periods import Period, parse_period
from kpinb.render import Card, ChartBlock, ItemList, Section, chart_block, render_fragment

if TYPE_CHECKING:
    from kpinb.analysis import Analysis
    from kpinb.kpis import KpiSpec
    from kpinb.workspace import Workspace

MIME_TYPE = "application/vnd.kpinb.report+json"
SCHEMA = "kpinb.report/1"
VIEWS: dict[str, tuple[str, ...]] = {
    "employee": ("employee", "manager"),
    "team": ("manager", "executive"),
    "department": ("executive",),
}


@dataclass(frozen=True)
class Report:
    """One built report: identity, its HTML fragment and its JSON twin."""

    scope: str
    scope_id: str
    period: str
    view: str
    title: str
    html: str = field(repr=False)
    twin: dict[str, Any] = field(repr=False)

    def to_html(self) -> str:
        """The self-contained HTML fragment (escaped text, inline SVG, no external URL)."""
        return self.html

    def to_json(self) -> dict[str, Any]:
        """The JSON twin (a fresh copy): every figure the narrative states."""
        import copy

        return copy.deepcopy(self.twin)

    def _repr_html_(self) -> str:
        return self.html

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/html": self.html, MIME_TYPE: self.to_json()}


def build_report(
    ws: Workspace,
    scope: str,
    scope_id: str,
    period: str | Period,
    view: str = "employee",
    *,
    journal_root: str | Path | None = None,
) -> Report:
    """Build the report of one scope (employee, team, department) in one view.

    Parameters
    ----------
    ws
        The loaded workspace.
    scope, scope_id
        ``employee`` and an employee_id, ``team`` and a team_id, or ``department``
        and a department name.
    period
        The review period, a label like ``2026-Q3`` or a :class:`Period`.
    view
        ``employee`` (the person's own report), ``manager`` or ``executive``.
    journal_root
        Folder holding ``journal.sqlite``; defaults to ``ws.root``.

    Raises
    ------
    UsageError
        For an unknown scope, view, combination or id (the message lists the valid ones).
    """
    per = period if isinstance(period, Period) else parse_period(period)
    _check_request(ws, scope, str(scope_id), view)
    root = Path(journal_root) if journal_root is not None else ws.root
    built = _build(ws, scope, str(scope_id), per, view, root)
    twin = {"schema": SCHEMA, "scope": scope, "id": str(scope_id), "period": per.label,
            "period_start": per.start.date().isoformat(),
            "period_end": per.end.date().isoformat(), "view": view, "title": built.title,
            **built.data}
    html = render_fragment(title=built.title, subtitle=built.subtitle, scope=scope,
                           scope_id=str(scope_id), view=view, sections=built.sections)
    return Report(scope, str(scope_id), per.label, view, built.title, html, twin)


@dataclass(frozen=True)
class _Built:
    title: str
    subtitle: str
    sections: tuple[Section, ...]
    data: dict[str, Any]


_CACHE: dict[tuple[int, str], tuple[Any, Analysis]] = {}


def _analysis(ws: Workspace, per: Period) -> Analysis:
    """The period's analysis, computed once per workspace object and period."""
    from kpinb.analysis import analyse

    key = (id(ws), per.label)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is ws:
        return hit[1]
    result = analyse(ws, per)
    if len(_CACHE) >= 4:
        _CACHE.clear()
    _CACHE[key] = (ws, result)
    return result


def _build(ws: Workspace, scope: str, scope_id: str, per: Period, view: str,
           root: Path | None) -> _Built:
    result = _analysis(ws, per)
    if scope == "employee":
        return _employee(ws, result, scope_id, per, view, root)
    if view == "manager":
        return _team(ws, result, scope_id, per, root)
    return _executive(ws, result, scope, scope_id, per)


def _subtitle(per: Period, view: str) -> str:
    start, end = nv.format_date(per.start.date().isoformat()), nv.format_date(
        per.end.date().isoformat())
    return f"{view.title()} view. Review period {per.label}: {start} to {end}."


# --- the employee view ---------------------------------------------------------------


def _employee(ws: Workspace, result: Analysis, eid: str, per: Period, view: str,
              root: Path | None) -> _Built:
    person = ws.people.loc[ws.people["employee_id"] == eid].iloc[0]
    part = result.for_scope("employee", eid)
    mask = _privacy(ws, eid) if view == "employee" else _identity
    blocks = blocks_of(ws, part)
    refs = _refs(blocks)
    period = nv.text("period", per.label)
    team = ws.teams.loc[ws.teams["team_id"] == person["team_id"], "name"]
    data: dict[str, Any] = {
        "subject": {"employee_id": eid, "name": str(person["name"]),
                    "team_id": str(person["team_id"]),
                    "team": str(team.iloc[0]) if len(team) else None,
                    "role": str(person["role"])},
        "scoring": dict(SCORING), "kpis": blocks}
    sections = [
        Section("progress", "Progress", tuple(nv.headline(refs, period))),
        Section("kpis", "KPIs", cards=_cards(part, refs, period, per, ws)),
        _goals_section(refs, part, period),
        _own_goals_section(ws, eid, refs, data),
        _routine_section(ws, eid, refs, per, root, mask, data),
        _questions_section(refs, data),
        _notes_section(refs, period, per),
    ]
    if view == "manager":
        sections.insert(-1, _flags_section(ws, [eid], None, per, data))
    title = f"{person['name']}: coaching report, {per.label}"
    return _Built(title, _subtitle(per, view), tuple(sections), _with_sentences(data, sections))


SCORING = {"low": 0.0, "high": 1.0, "success": 0.7}
BADGES = {
    "improving_signal": "real improvement",
    "worsening_signal": "worth a conversation",
    "routine": "routine variation, no action needed",
    "not_enough_history": "building history",
}


def _refs(blocks: list[dict[str, Any]], base: str = "kpis") -> list[nv.Ref]:
    return [nv.Ref(f"{base}[{i}]", b, unit=b["unit"], decimals=b["decimals"],
                   cadence=b["cadence"]) for i, b in enumerate(blocks)]


def _card_status(block: dict[str, Any]) -> str:
    if block["status"] == "improving_signal" or block["trend"]["direction"] == "improving":
        return "improving"
    return "conversation" if block["status"] == "worsening_signal" else "routine"


def _cards(part: Analysis, refs: list[nv.Ref], period: nv.Figure, per: Period,
           ws: Workspace, *, scope: str | None = None) -> tuple[Card, ...]:
    cards = []
    for ref in refs:
        block = ref.data
        sentences = tuple(nv.kpi_card(ref, period)) + tuple(_pair_sentence(ref, refs))
        chart = _trend_block(part, block, per, ws, sentences)
        cards.append(Card(block["name"], sentences, _card_status(block),
                          BADGES.get(block["status"], ""), chart))
    return tuple(cards)


def _pair_sentence(ref: nv.Ref, refs: list[nv.Ref]) -> list[nv.Sentence]:
    block = ref.data
    partner = next((r for r in refs if r.data["kpi_id"] == block.get("pair")), None)
    if block["kind"] != "leading" or partner is None:
        return []
    improving = _card_status(block) == "improving"
    return [nv.say("kpi_pair", kpi=ref.txt("name"), partner=partner.txt("name"),
                   improving=improving)]


def _trend_block(part: Analysis, block: dict[str, Any], per: Period, ws: Workspace,
                 sentences: tuple[nv.Sentence, ...]) -> ChartBlock | None:
    from kpinb import charts

    pts = part.points[(part.points["kpi_id"] == block["kpi_id"])
                      & (part.points["period"] >= per.start - pd.DateOffset(months=9))]
    if pts.empty:
        return None
    frame = pts.rename(columns={"smoothed": "level"})[["period", "value", "level"]]
    lim = block["limits"]
    limits = charts.Limits(lim["centre"], lim["lower"], lim["upper"]) if lim else None
    goal = block["goal"]
    markers = [charts.Marker(pd.Timestamp(c["effective_from"]), f"definition v{c['version']}")
               for c in block["definition_changes"]
               if pd.Timestamp(c["effective_from"]) >= frame["period"].min()]
    description = (f"{block['name']} ({block['unit']}) per {_unit(block['cadence'])} with the "
                   "smoothed level (dashed)" + (", the usual range as a band" if limits else "")
                   + (", the target as a green line" if goal else "")
                   + (", definition changes marked" if markers else "") + ". "
                   + " ".join(s.text for s in sentences[:2]))
    chart = charts.trend_chart(frame, title=block["name"], unit=block["unit"],
                               description=description, limits=limits,
                               target=goal["target"] if goal else None, markers=markers)
    return chart_block(chart, description)


def _unit(cadence: str) -> str:
    return "month" if cadence == "monthly" else "week"


def _goals_section(refs: list[nv.Ref], part: Analysis, period: nv.Figure) -> Section:
    with_goal = [r for r in refs if r.data["goal"] is not None]
    if not with_goal:
        return Section("goals", "Goals", lists=(ItemList("", (), "No targets are set for this "
                                                         "period."),))
    root = nv.Ref("scoring", dict(SCORING))
    sentences = [nv.say("goals_intro", low=root.num("low", decimals=1),
                        high=root.num("high", decimals=1), success=root.num("success"))]
    for ref in with_goal:
        sentences += nv.goal_sentences(ref)
    frame = pd.DataFrame({"label": [r.data["name"] for r in with_goal],
                          "score": [r.data["goal"]["score"] for r in with_goal],
                          "projected": [r.data["goal"]["projected_score"] for r in with_goal]})
    from kpinb import charts

    description = ("Goal scores from 0 to 1 (bars), the projected landing (ticks) and the "
                   "0.7 success line. " + " ".join(s.text for s in sentences[1:]))
    chart = charts.goal_chart(frame.astype({"score": float, "projected": float}),
                              title="Goal scores", description=description)
    return Section("goals", "Goals", tuple(sentences), charts=(chart_block(chart, description),))


def _own_goals_section(ws: Workspace, eid: str, refs: list[nv.Ref],
                       data: dict[str, Any]) -> Section:
    rows = ws.goals[ws.goals["employee_id"] == eid]
    by_id = {r.data["kpi_id"]: r for r in refs}
    data["own_goals"] = []
    lists = []
    for i, (_, row) in enumerate(rows.iterrows()):
        links = [{"kpi_id": k, "name": ws.kpis[k].name if k in ws.kpis else k,
                  "state": _state(by_id[k].data) if k in by_id else "none"}
                 for k in row["kpi_ids"]]
        data["own_goals"].append({"goal": str(row["goal"]), "kpis": links})
        ref = nv.Ref(f"own_goals[{i}]", data["own_goals"][-1])
        items = [nv.say("own_goal", goal=ref.txt("goal"))]
        items += [nv.say("own_goal_kpi", kpi=ref.txt(f"kpis.{j}.name"), state=link["state"])
                  for j, link in enumerate(links)]
        lists.append(ItemList("", tuple(items)))
    if not lists:
        lists.append(ItemList("", (), "No personal goals recorded yet: a good topic for the "
                                      "next check-in."))
    return Section("own_goals", "Personal goals", lists=tuple(lists))


def _state(block: dict[str, Any]) -> str:
    """How a KPI serves a personal goal: improving, steady, worth a talk, or no values."""
    if block["level"] is None:
        return "none"
    if _stall(block) in ("shift", "lean"):
        return "conversation"
    return "improving" if _card_status(block) == "improving" else "steady"


def _moved_state(block: dict[str, Any]) -> str:
    """What moved: a real change either way, a steady trend either way, or routine."""
    if block["status"] == "improving_signal":
        return "improving"
    if block["status"] == "worsening_signal":
        return "conversation"
    return {"improving": "trend", "worsening": "lean"}.get(block["trend"]["direction"],
                                                            "routine")


def _routine_section(ws: Workspace, eid: str, refs: list[nv.Ref], per: Period,
                     root: Path | None, mask: Callable[[str], str],
                     data: dict[str, Any]) -> Section:
    entries, actions = _journal(root, [eid], per)
    checkin = None
    if len(entries):
        row = entries.iloc[0]
        checkin = {"date": _iso(row["date"]), "author": mask(str(row["author"])),
                   "diagnosis": str(row["diagnosis"] or "none"),
                   **{k: mask(str(row[k] or "")) for k in NOTE_FIELDS}}
    moved = [{"kpi_id": r.data["kpi_id"], "name": r.data["name"], "state": _moved_state(r.data)}
             for r in refs if r.data["level"] is not None]
    data["routine"] = {"checkin": checkin, "moved": moved,
                       "open_actions": [_action(a, mask) for _, a in actions.iterrows()]}
    ref = nv.Ref("routine", data["routine"])
    items = [nv.say("routine_moved", kpi=ref.txt(f"moved.{i}.name"), state=m["state"])
             for i, m in enumerate(moved)]
    lists = [ItemList("What moved?", tuple(items + _note(ref, checkin, "what_moved")))]
    for field_name, question in (("why_moved", "Why did it move?"),
                                 ("expected_impact", "Expected impact next period?"),
                                 ("support_needed", "Support needed?")):
        lists.append(ItemList(question, tuple(_note(ref, checkin, field_name)
                                              or [nv.say("routine_no_note")])))
    acts = tuple(nv.say("action_open", action=ref.txt(f"open_actions.{i}.text"),
                        owner=ref.txt(f"open_actions.{i}.owner"),
                        due=ref.day(f"open_actions.{i}.due"))
                 for i, a in enumerate(data["routine"]["open_actions"]) if a["due"])
    lists.append(ItemList("Open actions", acts, "No open actions."))
    return Section("routine", "Review routine", lists=tuple(lists))


NOTE_FIELDS = ("what_moved", "why_moved", "expected_impact", "support_needed")


def _note(ref: nv.Ref, checkin: dict[str, Any] | None, field_name: str) -> list[nv.Sentence]:
    if not checkin or not checkin[field_name]:
        return []
    return [nv.say("routine_note", when=ref.day("checkin.date"),
                   note=ref.txt(f"checkin.{field_name}"))]


def _action(row: pd.Series, mask: Callable[[str], str]) -> dict[str, Any]:
    return {"employee_id": str(row["employee_id"]), "text": mask(str(row["text"])),
            "owner": mask(str(row["owner"] or "")) or "not set", "due": _iso(row["due"]),
            "status": str(row["status"])}


def _journal(root: Path | None, ids: list[str], per: Period) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Latest check-ins and open actions; empty when there is no journal (or no module yet)."""
    empty = pd.DataFrame(columns=["employee_id", "date", "author", "diagnosis", *NOTE_FIELDS])
    no_actions = pd.DataFrame(columns=["employee_id", "text", "owner", "due", "status"])
    if root is None:
        return empty, no_actions
    try:
        from kpinb import journal
    except ImportError:
        return empty, no_actions
    if not journal.journal_path(root).exists():
        return empty, no_actions
    return (journal.latest_entries(root, ids, as_of=per.end),
            journal.open_actions(root, ids, as_of=per.end))


def _questions_section(refs: list[nv.Ref], data: dict[str, Any]) -> Section:
    checkin = data["routine"]["checkin"]
    diagnosis = checkin["diagnosis"] if checkin else "none"
    focus = [(r, why) for r in refs if (why := _stall(r.data)) is not None][:2]
    data["questions"] = [{"kpi_id": r.data["kpi_id"], "reason": why,
                          "kinds": list(_kinds(why, diagnosis))} for r, why in focus]
    sentences: list[nv.Sentence] = []
    for r, why in focus:
        kpi = r.txt("name")
        sentences.append(nv.say("questions_intro", kpi=kpi, why=why))
        sentences += [nv.say(f"question_{kind}", kpi=kpi) for kind in _kinds(why, diagnosis)]
    if not focus:
        sentences = [nv.say("question_growth", n=n) for n in (1, 2, 3)]
    return Section("questions", "Coaching questions", tuple(sentences))


def _stall(block: dict[str, Any]) -> str | None:
    """Why a KPI deserves coaching questions: a shift, a plateau against its goal, a lean."""
    if block["status"] == "worsening_signal":
        return "shift"
    if block["trend"]["direction"] == "worsening":
        return "lean"
    goal = block["goal"]
    if (goal and block["status"] == "routine" and block["trend"]["direction"] == "steady"
            and not goal["success"] and not goal["projected_success"]):
        return "plateau"
    return None


def _kinds(why: str, diagnosis: str) -> tuple[str, ...]:
    order = {"shift": ("dependency", "execution", "capability"),
             "plateau": ("capability", "execution", "dependency"),
             "lean": ("execution", "capability", "dependency")}[why]
    if diagnosis in order:
        order = (diagnosis, *[k for k in order if k != diagnosis])
    return order


def _notes_section(refs: list[nv.Ref], period: nv.Figure, per: Period) -> Section:
    sentences = [s for ref in refs for s in nv.data_notes(ref, period, per.start)]
    return Section("notes", "Data notes", tuple(sentences or [nv.say("note_clear",
                                                                     period=period)]))


def _flags_section(ws: Workspace, ids: list[str], team_id: str | None, per: Period,
                   data: dict[str, Any]) -> Section:
    f = ws.feasibility
    mine = ((f["scope"] == "employee") & f["scope_id"].isin(ids)) | (
        (f["scope"] == "team") & (f["scope_id"] == team_id))
    rows = f[mine & (f["period"] == per.label)]
    data["flags"] = [{"scope": str(r["scope"]), "scope_id": str(r["scope_id"]),
                      "kpi_id": str(r["kpi_id"]), "kpi": _kpi_name(ws, r["kpi_id"]),
                      "flagged_by": str(r["flagged_by"]), "reason": str(r["reason"])}
                     for _, r in rows.iterrows()]
    ref = nv.Ref("flags", data["flags"])
    items = tuple(nv.say("flag", who=ref.txt(f"{i}.flagged_by"),
                         kpi=ref.txt(f"{i}.kpi"), period=nv.text("period", per.label),
                         reason=ref.txt(f"{i}.reason"))
                  for i in range(len(data["flags"])))
    return Section("flags", "Feasibility flags",
                   lists=(ItemList("", items, "No target has been flagged as hard to reach."),))


def _kpi_name(ws: Workspace, kpi_id: str) -> str:
    spec = ws.kpis.get(str(kpi_id))
    return spec.name if spec else str(kpi_id)


# --- privacy: the employee view names nobody else ------------------------------------


def _identity(value: str) -> str:
    return value


def _privacy(ws: Workspace, eid: str) -> Callable[[str], str]:
    """Replace other people's names and ids in journal text by their role to this person."""
    people = ws.people
    me = people.loc[people["employee_id"] == eid].iloc[0]
    manager = str(me["manager_id"]) if pd.notna(me["manager_id"]) else ""
    swaps: list[tuple[str, str]] = []
    for _, p in people.iterrows():
        pid = str(p["employee_id"])
        if pid == eid:
            continue
        role = "your manager" if pid == manager else "a colleague"
        swaps += [(str(p["name"]), role), (pid, role)]
    swaps.sort(key=lambda s: len(s[0]), reverse=True)
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(a)}(?!\w)" for a, _ in swaps if a))
    lookup = dict(swaps)
    if not swaps:
        return _identity
    return lambda text: pattern.sub(lambda m: lookup[m.group(0)], text)


# --- twin blocks -------------------------------------------------------------------------


def blocks_of(ws: Workspace, part: Analysis) -> list[dict[str, Any]]:
    """The twin's KPI blocks of one scope's analysis, in the KPI dictionary's order."""
    order = {k: i for i, k in enumerate(ws.kpis)}
    rows = part.summary.sort_values("kpi_id", key=lambda s: s.map(order))
    points = _by(part.points[part.points["current_version"]], "kpi_id")
    goals, signals = _by(part.goals, "kpi_id"), _by(part.signals, "kpi_id")
    out = []
    for row in rows.to_dict("records"):
        kpi = str(row["kpi_id"])
        pts = points.get(kpi)
        dec = nv.decimals_for([row["level"]] if pts is None else pts["value"].tolist())
        goal = goals.get(kpi)
        out.append(_block(ws.kpis[kpi], row, None if goal is None else goal.iloc[0],
                          signals.get(kpi, part.signals.iloc[0:0]), dec, part.period))
    return out


def _by(frame: pd.DataFrame, column: str) -> dict[str, pd.DataFrame]:
    """``frame`` split by the values of ``column`` (one pass instead of one mask per key)."""
    return {str(k): g for k, g in frame.groupby(column, observed=True, sort=False)}


def _block(spec: KpiSpec, row: dict[str, Any], goal: pd.Series | None, signals: pd.DataFrame,
           dec: int, per: Period) -> dict[str, Any]:
    level = _num(row["level"], dec) if row["n_in_period"] > 0 else None
    return {
        "kpi_id": spec.id, "name": spec.name, "unit": spec.unit, "direction": spec.direction,
        "kind": spec.kind, "pair": spec.pair, "cadence": spec.cadence, "decimals": dec,
        "definition_version": int(row["definition_version"]), "status": str(row["status"]),
        "points": int(row["n_points"]), "n_people": int(row["n_people"]),
        "latest": _latest(row, dec),
        "level": None if level is None else {"value": level, "points": int(row["n_in_period"])},
        "change": _change(row, "prev", "previous_period", level, dec),
        "year_change": _change(row, "yoy", "same_period_last_year", level, dec),
        "trend": {"slope_per_week": _num(row["trend_slope"], dec + 1),
                  "direction": _str(row["trend_direction"]), "points": int(row["trend_n"])},
        "limits": _limits(row, dec),
        "signals": [{"rule": str(s["rule"]), "period": _iso(s["period"]),
                     "direction": str(s["direction"])}
                    for _, s in signals.sort_values(["period", "rule"]).iterrows()],
        "streak": {"length": int(row["streak_length"]), "unit": _unit(spec.cadence)},
        "best": _best(row, dec), "recovery": _recovery(row, dec, per),
        "goal": None if goal is None else _goal(goal, dec),
        "quality": {"expected": int(row["expected_in_period"]),
                    "missing": int(row["missing_in_period"]), "stale": bool(row["stale"]),
                    "last_observed": _iso(row["last_observed"]),
                    "out_of_range": int(row["out_of_range"])},
        "definition_changes": [{"version": v, "effective_from": _iso(spec.version_start(v)),
                                "change": spec.versions[v - 2].change}
                               for v in range(2, len(spec.versions) + 2)],
    }


def _latest(row: dict[str, Any], dec: int) -> dict[str, Any] | None:
    if pd.isna(row["latest_period"]):
        return None
    return {"period": _iso(row["latest_period"]), "value": _num(row["latest_value"], dec),
            "in_period": bool(row["latest_in_period"])}


def _change(row: dict[str, Any], prefix: str, against: str, level: float | None,
            dec: int) -> dict[str, Any] | None:
    """Change of the period's level against an earlier period, from the shown (rounded) values.

    absolute = shown level - shown earlier level, so the text's subtraction adds up;
    relative_pct = absolute / |earlier| in percent, 1 decimal (None when earlier is 0).
    """
    previous = _num(row[f"{prefix}_level"], dec)
    if level is None or previous is None:
        return None
    absolute = nv.rounded(level - previous, dec)
    assert absolute is not None
    rel = nv.rounded(100 * absolute / abs(previous), 1) if previous else None
    sign = 1 if row["direction"] == "up" else -1
    return {"against": against, "period": str(row[f"{prefix}_label"]), "previous": previous,
            "absolute": absolute, "relative_pct": rel, "better": sign * absolute > 0,
            "crosses_definition": bool(row[f"{prefix}_crosses_definition"])}


def _limits(row: dict[str, Any], dec: int) -> dict[str, Any] | None:
    if pd.isna(row["centre"]) or row["status"] == "not_enough_history":
        return None
    return {"baseline_start": _iso(row["baseline_start"]),
            "baseline_end": _iso(row["baseline_end"]), "baseline_points": int(row["baseline_n"]),
            "provisional": bool(row["baseline_provisional"]), "centre": _num(row["centre"], dec),
            "lower": _num(row["lower"], dec), "upper": _num(row["upper"], dec)}


def _best(row: dict[str, Any], dec: int) -> dict[str, Any] | None:
    if pd.isna(row["best_value"]):
        return None
    return {"value": _num(row["best_value"], dec), "period": _iso(row["best_period"]),
            "is_new": bool(row["best_is_new"])}


def _recovery(row: dict[str, Any], dec: int, per: Period) -> dict[str, Any] | None:
    """The latest dip and the recovery from it; ``in_period`` when it came back this period."""
    if pd.isna(row["dip_period"]) or not bool(row["recovered"]):
        return None
    since = pd.Timestamp(row["recovered_period"])
    return {"dip_period": _iso(row["dip_period"]), "dip_value": _num(row["dip_value"], dec),
            "since": _iso(since), "in_period": bool(since >= per.start)}


def _goal(goal: pd.Series, dec: int) -> dict[str, Any]:
    score, projected_score = _num(goal["score"], 2), _num(goal["projected_score"], 2)
    success = SCORING["success"]
    return {"period": str(goal["period"]), "target": _num(goal["target"], dec),
            "baseline": _num(goal["baseline"], dec), "baseline_source": str(
                goal["baseline_source"]), "current": _num(goal["current"], dec),
            "score": score, "success": score is not None and score >= success,
            "projected": _num(goal["projected"], dec), "projected_score": projected_score,
            "projected_success": projected_score is not None and projected_score >= success,
            "remaining_points": int(goal["remaining_points"])}


def _num(value: Any, dec: int) -> float | None:
    return None if value is None or pd.isna(value) else nv.rounded(float(value), dec)


def _iso(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _str(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _with_sentences(data: dict[str, Any], sections: list[Section]) -> dict[str, Any]:
    """The twin's ``sections``: every sentence of every section, in reading order."""
    out = []
    for sec in sections:
        sentences = [*sec.sentences]
        for card in sec.cards:
            sentences += [*card.sentences, *(s for lst in card.lists for s in lst.items)]
        sentences += [s for lst in sec.lists for s in lst.items]
        out.append({"id": sec.id, "heading": sec.heading,
                    "sentences": [s.to_json() for s in sentences]})
    return {**data, "sections": out}


# --- the manager (team) view -------------------------------------------------------------


def _subset(result: Analysis, scope: str, ids: list[str]) -> Analysis:
    """The analysis restricted to several ids of one scope (one pass, not one per id)."""
    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[(frame["scope"] == scope) & frame["scope_id"].astype(str).isin(ids)]

    return replace(result, summary=pick(result.summary), points=pick(result.points),
                   signals=pick(result.signals), goals=pick(result.goals))


def _split(part: Analysis) -> dict[str, Analysis]:
    """One analysis per scope_id of ``part`` (each table grouped once)."""
    tables = {name: _by(getattr(part, name), "scope_id")
              for name in ("summary", "points", "signals", "goals")}
    return {sid: replace(part, **{name: t.get(sid, getattr(part, name).iloc[0:0])
                                  for name, t in tables.items()})
            for sid in tables["summary"]}


def _team(ws: Workspace, result: Analysis, tid: str, per: Period,
          root: Path | None) -> _Built:
    team = ws.teams.loc[ws.teams["team_id"] == tid].iloc[0]
    part = result.for_scope("team", tid)
    blocks = blocks_of(ws, part)
    refs = _refs(blocks)
    members = ws.people[ws.people["team_id"] == tid].sort_values("employee_id")
    ids = members["employee_id"].astype(str).tolist()
    mpart = _subset(result, "employee", ids)
    split = _split(mpart)
    period = nv.text("period", per.label)
    data: dict[str, Any] = {
        "subject": {"team_id": tid, "name": str(team["name"]),
                    "department": str(team["department"])},
        "scoring": dict(SCORING), "kpis": blocks,
        "members": [{"employee_id": eid, "name": str(name),
                     "kpis": blocks_of(ws, one) if (one := split.get(eid)) else []}
                    for eid, name in zip(ids, members["name"], strict=True)]}
    sections = [
        Section("progress", "Team progress", tuple(nv.headline(refs, period))),
        Section("kpis", "Team KPIs", cards=_cards(part, refs, period, per, ws)),
        _members_section(ws, mpart, data, refs, period),
        _conversations_section(data),
        _team_goals_section(refs, part, period, data),
        _team_actions_section(root, ids, per, data),
        _flags_section(ws, ids, tid, per, data),
        _team_notes_section(refs, period, per, data),
    ]
    title = f"{team['name']}: team report, {per.label}"
    return _Built(title, _subtitle(per, "manager"), tuple(sections),
                  _with_sentences(data, sections))


def _members_section(ws: Workspace, mpart: Analysis, data: dict[str, Any],
                     refs: list[nv.Ref], period: nv.Figure) -> Section:
    from kpinb import charts

    names = {m["employee_id"]: m["name"] for m in data["members"]}
    data["trajectories"] = []
    sentences, blocks = [], []
    for ref in refs:
        kpi = ref.data["kpi_id"]
        pts = mpart.points[(mpart.points["kpi_id"] == kpi) & mpart.points["current_version"]
                           & (mpart.points["period"] >= mpart.period.start
                              - pd.DateOffset(months=9))]
        people = sorted(set(pts.loc[pts["in_review"], "scope_id"].astype(str)))
        data["trajectories"].append({"kpi_id": kpi, "name": ref.data["name"],
                                     "people": len(people)})
        tref = nv.Ref(f"trajectories[{len(data['trajectories']) - 1}]",
                      data["trajectories"][-1])
        sentence = nv.say("team_members", kpi=tref.txt("name"),
                          n=tref.count("people", "person", "people"), period=period)
        sentences.append(sentence)
        if pts.empty:
            continue
        frame = pts.assign(member=pts["scope_id"].astype(str).map(names)).rename(
            columns={"smoothed": "level"})
        description = (f"{ref.data['name']}: one small chart per team member, values and "
                       f"smoothed level (dashed). {sentence.text}")
        chart = charts.small_multiples(frame, title=f"{ref.data['name']} by member",
                                       unit=ref.data["unit"], description=description)
        blocks.append(chart_block(chart, description))
    return Section("members", "Each member's trajectory", tuple(sentences), charts=tuple(blocks))


def _conversations_section(data: dict[str, Any]) -> Section:
    items = []
    for i, member in enumerate(data["members"]):
        for j, block in enumerate(member["kpis"]):
            ref = nv.Ref(f"members[{i}].kpis[{j}]", block, unit=block["unit"],
                         decimals=block["decimals"], cadence=block["cadence"])
            name = nv.text(f"members[{i}].name", member["name"])
            if block["status"] in ("improving_signal", "worsening_signal") and block["signals"]:
                last = len(block["signals"]) - 1
                items.append(nv.say("member_signal", name=name, kpi=ref.txt("name"),
                                    when=ref.when(f"signals.{last}.period"),
                                    improving=block["status"] == "improving_signal"))
            elif block["best"] and block["best"]["is_new"]:
                items.append(nv.say("member_best", name=name, kpi=ref.txt("name"),
                                    best=ref.num("best.value"), when=ref.when("best.period")))
    return Section("conversations", "Signals worth a conversation", lists=(
        ItemList("", tuple(items), "No signals this period: every member's KPIs show routine "
                                   "variation, no action needed."),))


def _team_goals_section(refs: list[nv.Ref], part: Analysis, period: nv.Figure,
                        data: dict[str, Any]) -> Section:
    section = _goals_section(refs, part, period)
    goals = [b["goal"] for m in data["members"] for b in m["kpis"] if b["goal"]]
    data["member_goals"] = {"goals": len(goals),
                            "success": sum(1 for g in goals if g["success"])}
    if not goals:
        return section
    ref = nv.Ref("member_goals", data["member_goals"])
    extra = nv.say("member_goals", n_success=ref.num("success", decimals=0),
                   n=ref.num("goals", decimals=0), period=period)
    return replace(section, sentences=(*section.sentences, extra), lists=())


def _team_actions_section(root: Path | None, ids: list[str], per: Period,
                          data: dict[str, Any]) -> Section:
    _, actions = _journal(root, ids, per)
    names = {m["employee_id"]: m["name"] for m in data["members"]}
    data["open_actions"] = [{**_action(a, _identity), "name": names.get(str(a["employee_id"]),
                                                                         "")}
                            for _, a in actions.iterrows()]
    ref = nv.Ref("open_actions", data["open_actions"])
    items = tuple(nv.say("action_open_member", name=ref.txt(f"{i}.name"),
                         action=ref.txt(f"{i}.text"), owner=ref.txt(f"{i}.owner"),
                         due=ref.day(f"{i}.due"))
                  for i, a in enumerate(data["open_actions"]) if a["due"])
    return Section("actions", "Open actions", lists=(ItemList("", items, "No open actions."),))


def _team_notes_section(refs: list[nv.Ref], period: nv.Figure, per: Period,
                        data: dict[str, Any]) -> Section:
    gaps: dict[str, dict[str, Any]] = {}
    for member in data["members"]:
        for block in member["kpis"]:
            if block["quality"]["missing"]:
                gap = gaps.setdefault(block["kpi_id"], {"kpi_id": block["kpi_id"],
                                                        "name": block["name"], "people": 0,
                                                        "missing": 0})
                gap["people"] += 1
                gap["missing"] += block["quality"]["missing"]
    data["member_gaps"] = list(gaps.values())
    ref = nv.Ref("member_gaps", data["member_gaps"])
    sentences = [nv.say("note_team_missing", kpi=ref.txt(f"{i}.name"),
                        people=ref.count(f"{i}.people", "member", "members"),
                        missing=ref.count(f"{i}.missing", "value", "values"),
                        period=period) for i in range(len(data["member_gaps"]))]
    sentences += [s for r in refs for s in nv.data_notes(r, period, per.start)]
    return Section("notes", "Data notes",
                   tuple(sentences or [nv.say("note_clear", period=period)]))


# --- the executive view --------------------------------------------------------------------


def _executive(ws: Workspace, result: Analysis, scope: str, sid: str,
               per: Period) -> _Built:
    ex = result.executive()
    if scope == "department":
        team_ids = ws.teams.loc[ws.teams["department"] == sid, "team_id"].astype(str).tolist()
        name = sid
    else:
        team_ids = [sid]
        name = str(ws.teams.loc[ws.teams["team_id"] == sid, "name"].iloc[0])
    subject = ex[(ex["scope"] == scope) & (ex["scope_id"].astype(str) == sid)]
    shown = subject.loc[~subject["suppressed"].astype(bool), "kpi_id"].astype(str).tolist()
    part = result.for_scope(scope, sid)
    part = replace(part, summary=part.summary[part.summary["kpi_id"].isin(shown)])
    blocks = blocks_of(ws, part)
    refs = _refs(blocks)
    period = nv.text("period", per.label)
    data: dict[str, Any] = {"subject": {"scope": scope, "id": sid, "name": name},
                            "min_group_size": int(result.min_group_size),
                            "scoring": dict(SCORING), "kpis": blocks,
                            "not_shown": int(subject["suppressed"].astype(bool).sum())}
    sections = [Section("progress", "Progress", tuple(nv.headline(refs, period))),
                Section("kpis", "KPIs", cards=_cards(part, refs, period, per, ws))]
    if scope == "department":
        sections.append(_teams_section(ws, result, ex, team_ids, data, period))
    sections.append(_privacy_section(data))
    sections.append(_notes_section(refs, period, per))
    title = f"{name}: {'department' if scope == 'department' else 'team'} overview, {per.label}"
    return _Built(title, _subtitle(per, "executive"), tuple(sections),
                  _with_sentences(data, sections))


def _privacy_section(data: dict[str, Any]) -> Section:
    ref = nv.Ref("", data)
    sentences = [nv.say("exec_min_group", size=ref.count("min_group_size", "person", "people"))]
    hidden = data["not_shown"] + data.get("teams_not_shown", 0)
    if hidden:
        data["figures_not_shown"] = hidden
        sentences.append(nv.say("exec_suppressed", n=ref.count("figures_not_shown", "figure",
                                                               "figures")))
    return Section("privacy", "Group size", tuple(sentences))


def _teams_section(ws: Workspace, result: Analysis, ex: pd.DataFrame, team_ids: list[str],
                   data: dict[str, Any], period: nv.Figure) -> Section:
    from kpinb import charts

    rows = ex[(ex["scope"] == "team") & ex["scope_id"].astype(str).isin(team_ids)]
    visible = rows[~rows["suppressed"].astype(bool)]
    data["teams_not_shown"] = int(len(rows) - len(visible))
    names = dict(zip(ws.teams["team_id"].astype(str), ws.teams["name"].astype(str),
                     strict=True))
    part = _subset(result, "team", sorted(set(visible["scope_id"].astype(str))))
    data["teams"] = []
    for tid in sorted(set(visible["scope_id"].astype(str))):
        keep = part.summary["kpi_id"].isin(visible.loc[visible["scope_id"] == tid, "kpi_id"])
        tpart = replace(_subset(part, "team", [tid]), summary=part.summary[
            keep & (part.summary["scope_id"] == tid)])
        data["teams"].append({"team_id": tid, "name": names[tid],
                              "kpis": blocks_of(ws, tpart)})
    sentences, blocks = [], []
    for kpi in ws.kpis:
        found = [(i, j, t, b) for i, t in enumerate(data["teams"])
                 for j, b in enumerate(t["kpis"]) if b["kpi_id"] == kpi and b["level"]]
        sentences += [_team_line(i, j, t, b, period) for i, j, t, b in found]
        if found:
            pts = part.points[(part.points["kpi_id"] == kpi) & part.points["scope_id"].isin(
                [t["team_id"] for _, _, t, _ in found])
                & (part.points["period"] >= result.period.start - pd.DateOffset(months=9))]
            frame = pts.assign(member=pts["scope_id"].astype(str).map(names)).rename(
                columns={"smoothed": "level"})
            label = found[0][3]["name"]
            description = f"{label}: one small chart per team, values and smoothed level."
            blocks.append(chart_block(charts.small_multiples(
                frame, title=f"{label} by team", unit=found[0][3]["unit"],
                description=description), description))
    return Section("teams", "Teams", tuple(sentences), charts=tuple(blocks))


def _team_line(i: int, j: int, team: dict[str, Any], block: dict[str, Any],
               period: nv.Figure) -> nv.Sentence:
    ref = nv.Ref(f"teams[{i}].kpis[{j}]", block, unit=block["unit"],
                 decimals=block["decimals"], cadence=block["cadence"])
    name = nv.text(f"teams[{i}].name", team["name"])
    people = ref.count("n_people", "person", "people")
    level = ref.num("level.value")
    change = block["change"]
    if change and change["relative_pct"] not in (None, 0.0):
        return nv.say("exec_team_change", team=name, level=level, period=period, people=people,
                      rel=ref.pct("change.relative_pct", magnitude=True),
                      prev_period=ref.txt("change.period"),
                      higher=change["relative_pct"] > 0)
    return nv.say("exec_team", team=name, level=level, period=period, people=people)

def _check_request(ws: Workspace, scope: str, scope_id: str, view: str) -> None:
    if scope not in VIEWS:
        msg = f"scope {scope!r} is not one of {', '.join(VIEWS)}"
        raise UsageError(msg)
    if view not in VIEWS[scope]:
        msg = (f"view {view!r} is not available for scope {scope!r}; "
               f"use one of {', '.join(VIEWS[scope])}")
        raise UsageError(msg)
    known = _ids(ws, scope)
    if scope_id not in known:
        shown = ", ".join(sorted(known)[:10]) + (" ..." if len(known) > 10 else "")
        msg = f"{scope} {scope_id!r} is not in the workspace; known ids: {shown}"
        raise UsageError(msg)


def _ids(ws: Workspace, scope: str) -> set[str]:
    if scope == "employee":
        return set(ws.people["employee_id"].astype(str))
    if scope == "team":
        return set(ws.teams["team_id"].astype(str))
    return set(ws.teams["department"].astype(str))


def page_html(report: Report) -> str:
    """A full standalone HTML page for ``report`` (own CSS, print styles, nothing fetched)."""
    from kpinb.render import render_page

    return render_page(title=report.title, body=report.to_html())


def show(report: Report) -> None:
    """Display ``report`` in a notebook: its HTML plus the JSON twin under :data:`MIME_TYPE`."""
    from IPython.display import display

    display({"text/html": report.to_html(), MIME_TYPE: report.to_json()}, raw=True)
