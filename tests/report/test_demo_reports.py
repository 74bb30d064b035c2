"""Every demo report in every view: exact numbers, tone, privacy, nothing fetched.

One pass over all demo people per view builds the reports with chart rendering
replaced by a stub SVG (the text is what these tests read; rendering costs about
60 ms a chart). A handful of reports, one per demo archetype plus a team and a
department, are built with real SVG charts for the URL scanner.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pandas as pd
import pytest

from kpinb.report import Report, build_report, page_html
from kpinb.report.tone import find_forbidden, find_forbidden_html
from kpinb.workspace import Workspace

PERIOD = "2026-Q3"


@pytest.fixture(scope="module")
def archetypes(demo_ws: Workspace) -> pd.DataFrame:
    table = pd.read_csv(demo_ws.root / "archetypes.csv", dtype=str)
    return table.sort_values(["archetype", "employee_id"]).drop_duplicates("archetype")


@pytest.fixture(scope="module")
def rendered(demo_ws: Workspace, archetypes: pd.DataFrame) -> list[Report]:
    """Reports with real SVG charts: one person per archetype, a team, a department."""
    out = [build_report(demo_ws, "employee", e, PERIOD) for e in archetypes["employee_id"]]
    out.append(build_report(demo_ws, "employee", "E004", PERIOD, "manager"))
    out.append(build_report(demo_ws, "team", "T01", PERIOD, "manager"))
    out.append(build_report(demo_ws, "department", "Sales", PERIOD, "executive"))
    return out


def test_the_pass_covers_every_person_team_and_department(
    demo_ws: Workspace, demo_reports: tuple[Report, ...]
) -> None:
    employees = {r.scope_id for r in demo_reports if r.scope == "employee" and r.view == "employee"}
    assert employees == set(demo_ws.people["employee_id"])
    assert len(demo_reports) == 2 * len(demo_ws.people) + 2 * len(demo_ws.teams) + 3


# --- every number in every sentence equals the figure in the JSON twin --------------------

_PATH = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def resolve(twin: dict[str, Any], path: str) -> Any:
    """Follow a figure path such as ``kpis[0].change.absolute`` through the twin."""
    value: Any = twin
    for name, index in _PATH.findall(path):
        value = value[int(index)] if index else value[name]
    return value


def check_figure(twin: dict[str, Any], figure: dict[str, Any]) -> None:
    value, text = figure["value"], figure["text"]
    assert resolve(twin, figure["path"]) == value, figure
    if isinstance(value, bool) or value is None:
        raise AssertionError(f"a sentence states a flag or a gap: {figure}")
    if isinstance(value, int | float):
        shown = float(re.search(r"-?\d[\d,]*(?:\.\d+)?", text).group().replace(",", ""))
        assert shown in (value, abs(value)), figure  # magnitude figures show |value|
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = pd.Timestamp(value)
        assert day.strftime("%b %Y") in text and (
            str(day.day) in text or text == day.strftime("%b %Y")
        ), figure
    else:
        assert text == value, figure


def check_sentence(twin: dict[str, Any], sentence: dict[str, Any]) -> None:
    rest = sentence["text"]
    for figure in sentence["figures"]:
        check_figure(twin, figure)
        at = rest.find(figure["text"])
        assert at >= 0, (figure, sentence["text"])
        rest = rest[:at] + "\x00" + rest[at + len(figure["text"]) :]
    assert not re.search(r"\d", rest), sentence["text"]  # every number is a traced figure


def test_every_number_in_every_sentence_is_in_the_twin(demo_reports: tuple[Report, ...]) -> None:
    count = 0
    for report in demo_reports:
        twin = report.to_json()
        json.dumps(twin, allow_nan=False)  # valid JSON: no NaN anywhere
        for section in twin["sections"]:
            for sentence in section["sentences"]:
                check_sentence(twin, sentence)
                count += len(sentence["figures"])
    assert count > 5000


def test_sentences_in_the_twin_are_the_sentences_on_the_page(
    demo_reports: tuple[Report, ...],
) -> None:
    for report in demo_reports[:5]:
        visible = " ".join(re.sub(r"<[^>]+>", "", report.to_html()).split())
        for section in report.to_json()["sections"]:
            for sentence in section["sentences"]:
                escaped = (
                    sentence["text"]
                    .replace("&", "&amp;")
                    .replace("<", "&lt;")
                    .replace(">", "&gt;")
                    .replace('"', "&#34;")
                    .replace("'", "&#39;")
                )
                assert " ".join(escaped.split()) in visible


# --- tone -----------------------------------------------------------------------------------


def test_no_report_uses_a_forbidden_word(demo_reports: tuple[Report, ...]) -> None:
    for report in demo_reports:
        assert find_forbidden_html(page_html(report)) == [], report
        for section in report.to_json()["sections"]:
            for sentence in section["sentences"]:
                assert find_forbidden(sentence["text"]) == [], sentence


def test_every_employee_report_opens_with_progress_or_strength(
    demo_reports: tuple[Report, ...],
) -> None:
    for report in demo_reports:
        if report.scope != "employee":
            continue
        sections = report.to_json()["sections"]
        ids = [s["id"] for s in sections]
        # the talking points, when there are any, come first; then the progress headline
        assert ids[: ids.index("progress")] in ([], ["talk"]), report
        first = sections[ids.index("progress")]
        assert first["sentences"], report
        assert first["sentences"][0]["id"].startswith("headline_"), report
        told = first["sentences"][0]["id"]
        if told not in ("headline_strength", "headline_none", "headline_start"):
            # the first talking point is the progress headline's first choice
            assert sections[0]["sentences"][0]["id"] == "talk_progress", report
            point = report.to_json()["talking_points"][0]
            assert point["kind"] == "progress"
            assert any(f["path"].startswith("kpis[") for f in first["sentences"][0]["figures"])
            names = [k["name"] for k in report.to_json()["kpis"] if k["kpi_id"] == point["kpi_id"]]
            assert names[0] in first["sentences"][0]["text"], report
        assert re.search(
            r'<section class="sec-progress"', report.to_html()
        ).start() < report.to_html().find('class="sec-kpis"')


# --- privacy --------------------------------------------------------------------------------


def test_employee_view_names_nobody_else(
    demo_ws: Workspace,
    demo_reports: tuple[Report, ...],
) -> None:
    people = demo_ws.people[["employee_id", "name"]].astype(str).values.tolist()
    for report in demo_reports:
        if report.view != "employee":
            continue
        text = report.to_html() + json.dumps(report.to_json(), ensure_ascii=False)
        for eid, name in people:
            if eid == report.scope_id:
                continue
            assert not re.search(rf"(?<!\w){re.escape(eid)}(?!\w)", text), (report, eid)
            assert name not in text, (report, name)


def test_employee_view_shows_no_peer_aggregate(demo_reports: tuple[Report, ...]) -> None:
    for report in demo_reports:
        if report.view == "employee":
            twin = report.to_json()
            assert all(b["n_people"] == 1 for b in twin["kpis"])
            assert not {"members", "teams"} & set(twin)


def small_team_workspace(ws: Workspace) -> Workspace:
    """T08 keeps only 3 members: its figures must not appear in an executive view."""
    t08 = ws.people[ws.people["team_id"] == "T08"]["employee_id"].tolist()
    gone = set(t08[3:])
    people = ws.people[~ws.people["employee_id"].isin(gone)]
    obs = ws.observations[~ws.observations["employee_id"].astype(str).isin(gone)]
    return dataclasses.replace(
        ws, people=people.reset_index(drop=True), observations=obs.reset_index(drop=True)
    )


def test_executive_views_show_no_group_under_five(demo_ws: Workspace) -> None:
    ws = small_team_workspace(demo_ws)
    small = ws.teams.loc[ws.teams["team_id"] == "T08", "name"].iloc[0]
    dept = ws.teams.loc[ws.teams["team_id"] == "T08", "department"].iloc[0]
    report = build_report(ws, "department", dept, PERIOD, "executive")
    twin = report.to_json()
    assert twin["min_group_size"] == 5
    assert twin["teams"], "the larger teams are shown"
    for team in twin["teams"]:
        assert team["team_id"] != "T08"
        assert all(block["n_people"] >= 5 for block in team["kpis"])
    assert all(block["n_people"] >= 5 for block in twin["kpis"])
    assert small not in report.to_html()
    stated = [s["text"] for s in twin["sections"][-2]["sentences"]]
    assert stated[0].startswith("Figures are shown only for groups of at least 5 people")
    assert re.match(r"\d+ figures? not shown for that reason\.", stated[1])
    hidden = build_report(ws, "team", "T08", PERIOD, "executive").to_json()
    assert hidden["kpis"] == []
    # nothing is shown, so nothing moved for everyone: the page opens with why
    assert hidden["moved_for_everyone"] == []
    assert [s["id"] for s in hidden["sections"][0]["sentences"]] == ["exec_hidden"]
    assert hidden["not_shown"] == len(
        {*ws.kpis}
        & set(
            ws.observations.loc[
                ws.observations["employee_id"]
                .astype(str)
                .isin(ws.people.loc[ws.people["team_id"] == "T08", "employee_id"]),
                "kpi_id",
            ].astype(str)
        )
    )


# --- nothing fetched from another host ------------------------------------------------------

_FETCH = [
    re.compile(r"""\b(?:src|href|srcset|poster|data|action|formaction|background)\s*=""", re.I),
    re.compile(r"url\s*\(", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"<(?:script|link|iframe|object|embed|img|video|audio|source)\b", re.I),
    re.compile(r"(?:https?:)?//(?!www\.w3\.org/(?:2000/svg|1999/xlink)\")[\w.-]+\.[a-z]{2,}", re.I),
    re.compile(r"requirejs|require\.config|vega-embed|cdn\.jsdelivr|unpkg|mathjax", re.I),
]


def fetches(page: str) -> list[str]:
    """Anything in ``page`` a browser could fetch from elsewhere (SVG namespaces are names)."""
    page = page.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )
    page = re.sub(r'<a href="\.\./employees/[\w.-]+\.html">', "<a>", page)  # a team's members
    page = re.sub(r'<a href="#[\w-]+">', "<a>", page)  # a link within the page
    return [m.group(0) for pattern in _FETCH for m in pattern.finditer(page)]


@pytest.mark.parametrize(
    "page",
    [
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>',
        '<link rel="stylesheet" href="//fonts.googleapis.com/css">',
        "<style>@import 'x.css'; body{background:url(a.png)}</style>",
        '<div>{"loader": {"baseURL": "https://cdn.example.org/"}}</div>',
        "require.config({paths: {vega: 'https://cdn.jsdelivr.net/npm/vega@5?noext'}})",
    ],
)
def test_scanner_finds_fetches(page: str) -> None:
    assert fetches(page)


def test_scanner_ignores_svg_namespaces() -> None:
    assert (
        fetches(
            '<svg xmlns="http://www.w3.org/2000/svg" '
            'xmlns:xlink="http://www.w3.org/1999/xlink"></svg>'
        )
        == []
    )


def test_rendered_reports_fetch_nothing(rendered: list[Report]) -> None:
    for report in rendered:
        page = page_html(report)
        assert page.count("<svg") >= 2, report
        assert fetches(page) == [], report


def test_no_report_fetches_anything(demo_reports: tuple[Report, ...]) -> None:
    for report in demo_reports:
        assert fetches(page_html(report)) == [], report


# --- the demo archetypes, one section at a time ----------------------------------------------


@pytest.fixture(scope="module")
def by_person(demo_reports: tuple[Report, ...]) -> dict[str, dict[str, Any]]:
    return {r.scope_id: r.to_json() for r in demo_reports if r.view == "employee"}


def archetype_rows(demo_ws: Workspace, name: str) -> list[tuple[str, str]]:
    table = pd.read_csv(demo_ws.root / "archetypes.csv", dtype=str)
    rows = table[table["archetype"] == name]
    assert len(rows), name
    return list(zip(rows["employee_id"], rows["kpi_id"], strict=True))


def kpi(twin: dict[str, Any], kpi_id: str) -> tuple[int, dict[str, Any]]:
    return next((i, b) for i, b in enumerate(twin["kpis"]) if b["kpi_id"] == kpi_id)


def said(twin: dict[str, Any], section: str, index: int) -> list[dict[str, Any]]:
    """The sentences of ``section`` that state a figure of KPI ``index``."""
    sentences = next(s for s in twin["sections"] if s["id"] == section)["sentences"]
    own = f"kpis[{index}]."
    return [s for s in sentences if any(f["path"].startswith(own) for f in s["figures"])]


def raw_level(demo_ws: Workspace, eid: str, kpi_id: str, label: str) -> float:
    """The period's level worked out from observations.csv directly (mean of its points)."""
    obs = pd.read_csv(demo_ws.root / "observations.csv", dtype={"employee_id": str})
    per = pd.Period(label, freq="Q")
    dates = pd.to_datetime(obs["period"])
    mine = obs[
        (obs["employee_id"] == eid)
        & (obs["kpi_id"] == kpi_id)
        & (dates >= per.start_time)
        & (dates <= per.end_time)
    ]
    return float(mine["value"].mean())


def test_steady_improver_leads_with_its_improvement(demo_ws: Workspace, by_person: dict) -> None:
    for eid, kpi_id in archetype_rows(demo_ws, "steady_improver"):
        twin = by_person[eid]
        i, block = kpi(twin, kpi_id)
        assert block["trend"]["direction"] == "improving"
        assert said(twin, "progress", i), eid  # the headline names this KPI
        card = {s["id"]: s["text"] for s in said(twin, "kpis", i)}
        assert card["kpi_trend"].startswith("The recent trend is improving")
        assert block["change"]["better"]


def test_card_states_the_level_and_change_worked_out_from_the_raw_file(
    demo_ws: Workspace, by_person: dict
) -> None:
    eid, kpi_id = archetype_rows(demo_ws, "steady_improver")[0]
    i, block = kpi(by_person[eid], kpi_id)
    dec, unit = block["decimals"], block["unit"]
    level, prev = (
        raw_level(demo_ws, eid, kpi_id, "2026Q3"),
        raw_level(demo_ws, eid, kpi_id, "2026Q2"),
    )
    level_text = f"{round(level, dec):,.{dec}f} {unit}"
    delta_text = f"{round(round(level, dec) - round(prev, dec), dec):,.{dec}f} {unit}"
    card = {s["id"]: s["text"] for s in said(by_person[eid], "kpis", i)}
    assert f"averaged {level_text} in 2026-Q3" in card["kpi_level"]
    assert f"({round(prev, dec):,.{dec}f} {unit}), it is {delta_text} higher" in card["kpi_change"]


def test_noisy_stable_is_routine_with_no_action_needed(demo_ws: Workspace, by_person: dict) -> None:
    for eid, kpi_id in archetype_rows(demo_ws, "noisy_stable"):
        twin = by_person[eid]
        i, block = kpi(twin, kpi_id)
        assert block["status"] == "routine"
        card = {s["id"]: s["text"] for s in said(twin, "kpis", i)}
        # beside a goal that asks for more or a run of eight, never "no action needed"
        run = any(s["rule"] == "run_of_8" for s in block["signals"])
        ending = (
            "routine variation, while its goal asks for more (see Goals)."
            if block["goal"]
            and block["goal"]["current"] is not None
            and not block["goal"]["success"]
            else "routine variation."
            if run
            else "routine variation, no action needed."
        )
        assert card["kpi_routine"].endswith(ending)
        assert all(q["reason"] != "shift" for q in twin["questions"] if q["kpi_id"] == kpi_id)


def test_plateau_gets_capability_questions_first(demo_ws: Workspace, by_person: dict) -> None:
    for eid, kpi_id in archetype_rows(demo_ws, "plateau"):
        twin = by_person[eid]
        [question] = [q for q in twin["questions"] if q["kpi_id"] == kpi_id]
        assert question["reason"] == "plateau"
        assert question["kinds"] == ["capability", "execution", "dependency"]
        i, _ = kpi(twin, kpi_id)
        asked = [s["text"] for s in said(twin, "questions", i)]
        assert asked[0].endswith(
            "has held level while its goal asks for more. These "
            "questions can open the conversation:"
        )
        assert asked[1].startswith("Capability: which skill would move")


def test_dependency_shift_is_a_conversation_with_dependency_first(
    demo_ws: Workspace, by_person: dict
) -> None:
    for eid, kpi_id in archetype_rows(demo_ws, "dependency_shift"):
        twin = by_person[eid]
        i, block = kpi(twin, kpi_id)
        assert block["status"] == "worsening_shift" and block["story"] == "worsening_shift"
        # the step begins in the period's first week (the week of 6 Jul 2026)
        assert block["shift"]["onset"] == "2026-07-06", (eid, block["shift"])
        card = {s["id"]: s["text"] for s in said(twin, "kpis", i)}
        assert "worth a conversation about what changed" in card["kpi_worsening_shift"]
        assert card["kpi_worsening_shift"].startswith("Since the week of 6 Jul 2026")
        [question] = [q for q in twin["questions"] if q["kpi_id"] == kpi_id]
        assert (question["reason"], question["kinds"][0]) == ("shift", "dependency")
        asked = [s["text"] for s in said(twin, "questions", i)]
        assert asked[1].startswith("Dependency: who or what outside the person's control")


def test_dip_and_recovery_names_the_recovery(demo_ws: Workspace, by_person: dict) -> None:
    for eid, kpi_id in archetype_rows(demo_ws, "dip_and_recovery"):
        twin = by_person[eid]
        i, block = kpi(twin, kpi_id)
        recovery = block["recovery"]
        assert recovery["dip_period"] < recovery["since"]
        assert block["status"] == "returned" and block["story"] == "recovered", eid
        texts = [s["text"] for s in said(twin, "kpis", i) + said(twin, "progress", i)]
        assert any("back at the level it held before a dip in 2026-Q2" in t for t in texts), eid


def test_new_hire_is_building_history(demo_ws: Workspace, by_person: dict) -> None:
    for eid, kpi_id in archetype_rows(demo_ws, "new_hire"):
        twin = by_person[eid]
        i, block = kpi(twin, kpi_id)
        assert block["status"] == "not_enough_history"
        assert block["limits"] is None
        card = {s["id"]: s["text"] for s in said(twin, "kpis", i)}
        assert card["kpi_new"].endswith("not yet enough to set a usual range.")
        assert all(not s["id"].startswith("headline_signal") for s in said(twin, "progress", i))


def test_goal_figures_reproduce_the_goal_score(demo_ws: Workspace, by_person: dict) -> None:
    """E004's meetings goal: baseline = its 2026-Q2 level, current = its Q3 level (worked
    out from observations.csv), target 11. At the KPI's 1 decimal the reader would see
    10.5, 11.0, 10.7 and work out 0.4 while the score is 0.33; the goal's figures carry
    2 decimals instead, and (current - baseline) / (target - baseline) of the shown
    figures gives the shown score."""
    base = raw_level(demo_ws, "E004", "meetings_booked", "2026Q2")
    now = raw_level(demo_ws, "E004", "meetings_booked", "2026Q3")
    _, block = kpi(by_person["E004"], "meetings_booked")
    goal = block["goal"]
    assert goal["score"] == round((now - base) / (11 - base), 2) == 0.33
    assert (goal["baseline"], goal["target"], goal["current"]) == (
        round(base, 2),
        11.0,
        round(now, 2),
    )
    sentence = next(
        s["text"]
        for s in by_person["E004"]["sections"]
        if s["id"] == "goals"
        for s in s["sentences"]
        if s["id"] == "goal_score" and "meetings booked" in s["text"]
    )
    assert f"landed at {now:.2f} meetings on its goal, from {base:.2f} meetings toward 11.00" in (
        sentence
    )


def test_every_goal_score_follows_from_its_shown_figures(demo_reports: tuple[Report, ...]) -> None:
    checked = 0
    for report in demo_reports:
        for block in report.to_json()["kpis"]:
            goal = block["goal"]
            if not goal or goal["score"] is None:
                continue
            sign = 1 if block["direction"] == "up" else -1
            gap = sign * (goal["target"] - goal["baseline"])
            if gap <= 0:
                continue  # a hold-the-level target: scored 0 or 1
            again = sign * (goal["current"] - goal["baseline"]) / gap
            assert round(min(max(again, 0.0), 1.0), 2) == goal["score"], (report.title, block)
            checked += 1
    assert checked > 20


# --- one true story per KPI ---------------------------------------------------------------

BADGE_WAY = {"real improvement": 1, "improving trend": 1, "real change, worth a conversation": -1}


def _blocks(report: Report) -> list[dict[str, Any]]:
    twin = report.to_json()
    out = list(twin["kpis"])
    out += [b for m in twin.get("members", []) for b in m["kpis"]]
    out += [b for t in twin.get("teams", []) for b in t["kpis"]]
    return out


def test_no_report_states_a_limit_beyond_a_natural_boundary(
    demo_ws: Workspace, demo_reports: tuple[Report, ...]
) -> None:
    """Counts, amounts and durations never below 0; percentages never above 100 (the
    demo's KPIs are never negative, so 0 is every KPI's floor)."""
    checked = 0
    for report in demo_reports:
        for block in _blocks(report):
            limits = block["limits"]
            if not limits:
                continue
            checked += 1
            assert limits["lower"] >= 0, (report.title, block["kpi_id"], limits)
            if block["unit"] == "%":
                assert limits["upper"] <= 100, (report.title, block["kpi_id"], limits)
    assert checked > 100


def test_no_badge_points_against_both_the_change_and_the_trend(
    demo_reports: tuple[Report, ...],
) -> None:
    """A card's badge, read as good news (+1) or a topic to talk about (-1), never points
    one way while the quarter's change and the trend both point the other."""
    from kpinb.report.stories import STORIES

    checked = 0
    for report in demo_reports:
        for block in report.to_json()["kpis"]:
            way = BADGE_WAY.get(STORIES[block["story"]].badge, 0)
            change = block["change"]
            if not way or not change or not change["absolute"]:
                continue
            checked += 1
            change_way = 1 if change["better"] else -1
            trend_way = {"improving": 1, "worsening": -1}.get(block["trend"]["direction"], 0)
            assert not (change_way == trend_way == -way), (report.title, block["kpi_id"])
    assert checked > 10


def _said_keys(report: Report, section: str) -> list[str]:
    twin = report.to_json()
    return [s["id"] for s in twin["sections"] if s["id"] == section for s in s["sentences"]]


def test_routine_variation_is_never_praised_or_blamed(demo_reports: tuple[Report, ...]) -> None:
    """A KPI whose story is routine is never called "an improvement" nor "worth a
    conversation" in its card; in Progress it can only be a steady strength, a new
    personal best or a climb across quarters or against a year ago (facts of its own
    past, each tested against routine variation) or a goal scored a success; in the
    review routine it is "routine variation"."""
    progress_ok = {
        "headline_strength",
        "headline_best",
        "headline_best_since",
        "headline_goal",
        "headline_over_time",
        "headline_year",
    }
    checked = 0
    for report in demo_reports:
        twin = report.to_json()
        routine = [(i, b) for i, b in enumerate(twin["kpis"]) if b["story"] == "routine"]
        present = {s["id"] for s in twin["sections"]}
        for i, _ in routine:
            checked += 1
            card = [s["text"] for s in said(twin, "kpis", i)]
            assert not any("improvement" in c or "conversation" in c for c in card), card
            for sentence in said(twin, "progress", i) if "progress" in present else []:
                assert sentence["id"] in progress_ok, (report.title, sentence["text"])
        moved = {m["kpi_id"]: m["state"] for m in (twin.get("routine") or {}).get("moved", [])}
        for _, block in routine:
            state = moved.get(block["kpi_id"], "routine")
            assert state in ("routine", "routine_goal"), report.title
    assert checked > 50


def test_every_shift_names_the_week_it_began(demo_reports: tuple[Report, ...]) -> None:
    found = 0
    for report in demo_reports:
        twin = report.to_json()
        for i, block in enumerate(twin["kpis"]):
            if block["story"] not in ("improving_shift", "worsening_shift"):
                continue
            found += 1
            onset = block["shift"]["onset"]
            assert onset >= twin["period_start"][:10] or onset <= twin["period_end"]
            card = {s["id"]: s for s in said(twin, "kpis", i)}
            sentence = card[f"kpi_{block['story']}"]
            assert sentence["figures"][0]["value"] == onset
            assert sentence["figures"][1]["value"] == block["shift"]["size"]
    assert found >= 4


def test_the_first_definition_is_not_a_definition_change(demo_ws: Workspace) -> None:
    """A KPI whose first listed version starts before its first value lists no change."""
    import dataclasses as dc

    from kpinb.kpis import KpiVersion

    kpi = next(iter(demo_ws.kpis.values()))
    first = demo_ws.observations.loc[demo_ws.observations["kpi_id"] == kpi.id, "period"].min()
    initial = KpiVersion(first - pd.Timedelta(days=30), "first definition")
    kpis = {**demo_ws.kpis, kpi.id: dc.replace(kpi, versions=(initial,))}
    ws = dc.replace(demo_ws, kpis=kpis)
    eid = str(demo_ws.people["employee_id"].iloc[0])
    twin = build_report(ws, "employee", eid, PERIOD).to_json()
    [block] = [b for b in twin["kpis"] if b["kpi_id"] == kpi.id]
    assert block["definition_changes"] == []
    notes = [s["id"] for s in twin["sections"] if s["id"] == "notes" for s in s["sentences"]]
    assert "note_definition" not in notes
