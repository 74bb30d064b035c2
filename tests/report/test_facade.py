"""The report facade on the demo workspace: contract, escaping, journal, privacy of names.

The demo workspace is written once per test session (the ``demo_ws`` fixture of
tests/conftest.py) and shared with tests/report/test_demo_reports.py.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest

from kpinb.errors import UsageError
from kpinb.periods import parse_period
from kpinb.report import Report, build_report, page_html, show
from kpinb.report.notebook import notebook_html
from kpinb.scopes import PAGE_MIME
from kpinb.scopes import REPORT_MIME as MIME_TYPE
from kpinb.workspace import Workspace

PERIOD = "2026-Q3"


def person(ws: Workspace, eid: str) -> pd.Series:
    return ws.people.loc[ws.people["employee_id"] == eid].iloc[0]


# --- the contract -------------------------------------------------------------------------


def test_report_identity_and_twin_header(demo_ws: Workspace) -> None:
    report = build_report(demo_ws, "employee", "E002", PERIOD)
    assert isinstance(report, Report)
    assert (report.scope, report.scope_id, report.period, report.view) == (
        "employee",
        "E002",
        PERIOD,
        "employee",
    )
    assert report.title == f"{person(demo_ws, 'E002')['name']}: coaching report, 2026-Q3"
    twin = report.to_json()
    assert {
        k: twin[k]
        for k in ("schema", "scope", "id", "period", "period_start", "period_end", "view")
    } == {
        "schema": "kpinb.report/1",
        "scope": "employee",
        "id": "E002",
        "period": PERIOD,
        "period_start": "2026-07-01",
        "period_end": "2026-09-30",
        "view": "employee",
    }
    assert [s["id"] for s in twin["sections"]] == [
        "talk",
        "progress",
        "kpis",
        "goals",
        "own_goals",
        "routine",
        "questions",
        "notes",
    ]


def test_period_object_gives_the_same_report(demo_ws: Workspace) -> None:
    a = build_report(demo_ws, "employee", "E003", PERIOD)
    b = build_report(demo_ws, "employee", "E003", parse_period(PERIOD))
    assert a.to_json() == b.to_json()
    assert a.to_html() == b.to_html()


def test_to_json_returns_a_copy(demo_ws: Workspace) -> None:
    report = build_report(demo_ws, "employee", "E003", PERIOD)
    twin = report.to_json()
    twin["kpis"].clear()
    assert report.to_json()["kpis"]


@pytest.mark.parametrize(
    ("scope", "scope_id", "view", "message"),
    [
        ("person", "E001", "employee", "scope 'person' is not one of employee, team, department"),
        ("employee", "E001", "executive", "use one of employee, manager"),
        ("department", "Sales", "manager", "use one of executive"),
        (
            "employee",
            "E999",
            "employee",
            "employee 'E999' is not in the workspace; known ids: E001",
        ),
        ("team", "T99", "manager", "team 'T99' is not in the workspace"),
    ],
)
def test_bad_requests_name_the_valid_choices(
    demo_ws: Workspace, scope: str, scope_id: str, view: str, message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        build_report(demo_ws, scope, scope_id, PERIOD, view)


def test_bad_period_is_a_usage_error(demo_ws: Workspace) -> None:
    with pytest.raises(UsageError, match="2026-Q5"):
        build_report(demo_ws, "employee", "E001", "2026-Q5")


def test_show_publishes_html_and_the_twin(
    demo_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[tuple[object, dict]] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: published.append((obj, kw)))
    report = build_report(demo_ws, "team", "T01", PERIOD, "manager")
    show(report)
    [(bundle, kwargs)] = published
    assert kwargs == {"raw": True}
    # the page fragment the batch publishes, the twin, and HTML JupyterLab keeps untrusted
    assert bundle[PAGE_MIME] == report.to_html()
    assert bundle[MIME_TYPE] == report.to_json()
    assert bundle["text/html"] == notebook_html(report.to_html())
    assert report._repr_mimebundle_() == bundle
    assert report._repr_html_() == report.to_html()


def test_notebook_html_keeps_the_report_in_a_form_the_sanitiser_keeps(
    demo_ws: Workspace,
) -> None:
    """No <style> and no inline <svg> (JupyterLab drops both in an untrusted notebook):
    the CSS rules sit in style attributes and each chart is an <img> whose data: URI
    holds exactly the chart's SVG (a chart drawn twice keeps its wide drawing); the text
    is the report's."""
    import base64
    import html
    import re

    fragment = build_report(demo_ws, "employee", "E002", PERIOD).to_html()
    safe = notebook_html(fragment)
    assert "<style" not in safe and "<svg" not in safe
    drawn = re.findall(r"<svg\b.*?</svg>", fragment, re.DOTALL)
    charts = [c for c in drawn if 'class="narrow ' not in c[: c.find(">")]]
    assert len(charts) == len(re.findall(r"<figure\b", fragment)) < len(drawn)
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', safe)
    assert charts and [base64.b64decode(i).decode("utf-8") for i in images] == charts
    assert re.search(r'<h1 style="[^"]*font-size: 1.6rem', safe)  # the rule .kpinb-report h1
    words = lambda h: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", h)).split())  # noqa: E731
    no_charts = re.sub(r"<svg\b.*?</svg>", "", fragment, flags=re.DOTALL)
    no_style = re.sub(r"<style\b.*?</style>", "", no_charts, flags=re.DOTALL)
    assert words(safe) == words(no_style)


def test_page_html_is_a_standalone_page(demo_ws: Workspace) -> None:
    report = build_report(demo_ws, "department", "Sales", PERIOD, "executive")
    page = page_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Sales: department overview, 2026-Q3</title>" in page
    assert "@media print" in page
    # the fragment's own <style> joins the page's one block in <head> (email clients)
    fragment = report.to_html()
    styles = re.findall(r"<style>(.*?)</style>", fragment, re.S)
    assert styles and re.sub(r"<style>.*?</style>", "", fragment, flags=re.S) in page
    head = page.partition("</head>")[0]
    assert page.count("<style") == 1 and all(css.strip() in head for css in styles)
    assert "<script" not in page


# --- untrusted strings ---------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def hostile_workspace(ws: Workspace) -> Workspace:
    """E002 is named <script>…, their goal is an <img onerror>, a KPI name carries markup."""
    people = ws.people.copy()
    people.loc[people["employee_id"] == "E002", "name"] = HOSTILE
    goals = ws.goals.copy()
    goals.loc[goals["employee_id"] == "E002", "goal"] = IMG
    kpis = dict(ws.kpis)
    kpis["revenue_closed"] = dataclasses.replace(kpis["revenue_closed"], name="Revenue <b>&</b>")
    return dataclasses.replace(ws, people=people, goals=goals, kpis=kpis)


@pytest.mark.parametrize(
    ("scope", "scope_id", "view"), [("employee", "E002", "employee"), ("team", "T01", "manager")]
)
def test_untrusted_strings_appear_as_text(
    demo_ws: Workspace, scope: str, scope_id: str, view: str
) -> None:
    ws = hostile_workspace(demo_ws)
    report = build_report(ws, scope, scope_id, PERIOD, view)
    page = page_html(report)
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>&" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Revenue &lt;b&gt;&amp;&lt;/b&gt;" in page
    if scope == "employee":
        assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page
        assert report.to_json()["own_goals"][0]["goal"] == IMG  # the twin keeps the raw text
    assert not re.search(r"<[^>]+\son\w+=", page)  # no event-handler attribute anywhere


# --- the journal -------------------------------------------------------------------------


def test_routine_uses_the_latest_checkin_and_open_actions(demo_ws: Workspace) -> None:
    """E004's check-in (checkins.csv) diagnosed a dependency; its action is open."""
    checkins = pd.read_csv(demo_ws.root / "checkins.csv", dtype=str, keep_default_na=False)
    mine = checkins[checkins["employee_id"] == "E004"].sort_values("date").iloc[-1]
    twin = build_report(demo_ws, "employee", "E004", PERIOD, "manager").to_json()
    checkin = twin["routine"]["checkin"]
    assert checkin["date"] == mine["date"]
    assert checkin["why_moved"] == mine["why_moved"]
    assert checkin["diagnosis"] == "dependency"
    open_rows = checkins[
        (checkins["employee_id"] == "E004") & (checkins["action_status"] == "open")
    ]
    assert [a["text"] for a in twin["routine"]["open_actions"]] == open_rows["action"].tolist()
    assert [a["owner"] for a in twin["routine"]["open_actions"]] == open_rows[
        "action_owner"
    ].tolist()  # the manager view names people
    revenue = next(q for q in twin["questions"] if q["kpi_id"] == "revenue_closed")
    assert revenue["kinds"][0] == "dependency"


def test_employee_view_names_the_manager_by_role(demo_ws: Workspace) -> None:
    checkins = pd.read_csv(demo_ws.root / "checkins.csv", dtype=str, keep_default_na=False)
    mine = checkins[checkins["employee_id"] == "E004"].iloc[-1]
    me = person(demo_ws, "E004")
    manager = person(demo_ws, me["manager_id"])
    assert mine["author"] == manager["name"]  # the demo's check-ins are written by the manager
    twin = build_report(demo_ws, "employee", "E004", PERIOD).to_json()
    assert twin["routine"]["checkin"]["author"] == "your manager"
    html = build_report(demo_ws, "employee", "E004", PERIOD).to_html()
    assert manager["name"] not in html


def test_without_a_journal_the_routine_is_empty(demo_ws: Workspace, tmp_path: Path) -> None:
    twin = build_report(demo_ws, "employee", "E004", PERIOD, journal_root=tmp_path).to_json()
    assert twin["routine"]["checkin"] is None
    assert twin["routine"]["open_actions"] == []
    why = next(s for s in twin["sections"] if s["id"] == "routine")["sentences"]
    assert "Nothing recorded yet: a good question for the next check-in." in [
        s["text"] for s in why
    ]


def test_journal_notes_are_escaped_and_name_nobody_else(demo_ws: Workspace, tmp_path: Path) -> None:
    """A check-in whose notes carry markup and a colleague's name (imported from a CSV)."""
    from kpinb import journal

    me = person(demo_ws, "E004")
    manager = person(demo_ws, me["manager_id"])
    colleague = person(demo_ws, "E003")
    row = {
        "date": "2026-09-02",
        "employee_id": "E004",
        "author": manager["name"],
        "what_moved": f"{HOSTILE} moved",
        "why_moved": f"{colleague['name']} was away",
        "expected_impact": IMG,
        "support_needed": f"time with {colleague['employee_id']}",
        "diagnosis": "execution",
        "action": "Pair up",
        "action_owner": colleague["name"],
        "action_due": "2026-10-01",
        "action_status": "open",
    }
    pd.DataFrame([row]).to_csv(tmp_path / "checkins.csv", index=False)
    journal.import_checkins(tmp_path, tmp_path / "checkins.csv")
    report = build_report(demo_ws, "employee", "E004", PERIOD, journal_root=tmp_path)
    page = page_html(report)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; moved" in page
    checkin = report.to_json()["routine"]["checkin"]
    assert checkin["why_moved"] == "a colleague was away"
    assert checkin["support_needed"] == "time with a colleague"
    assert checkin["author"] == "your manager"
    assert report.to_json()["routine"]["open_actions"][0]["owner"] == "a colleague"
    for name in (manager["name"], colleague["name"], colleague["employee_id"]):
        assert name not in page
    questions = report.to_json()["questions"]
    assert questions, "E004's revenue shift gets coaching questions"
    assert all(q["kinds"][0] == "execution" for q in questions)  # the check-in's diagnosis
    manager_view = build_report(
        demo_ws, "employee", "E004", PERIOD, "manager", journal_root=tmp_path
    ).to_json()
    assert manager_view["routine"]["checkin"]["why_moved"] == f"{colleague['name']} was away"


def test_a_person_without_values_gets_a_page_saying_what_is_missing(demo_ws: Workspace) -> None:
    obs = demo_ws.observations
    ws = dataclasses.replace(demo_ws, observations=obs[obs["employee_id"].astype(str) != "E005"])
    twin = build_report(ws, "employee", "E005", PERIOD).to_json()
    assert twin["kpis"] == []
    first = twin["sections"][0]["sentences"]
    assert [s["id"] for s in first] == ["headline_no_data"]
    assert first[0]["text"].startswith(f"No KPI values arrived for {twin['subject']['name']} in")
    assert "Check that the export includes" in first[0]["text"]
    notes = next(s for s in twin["sections"] if s["id"] == "notes")["sentences"]
    assert notes[0]["text"] == (
        "No KPI values for 2026-Q3 have arrived; the report fills in once the export includes them."
    )


def test_open_action_sentences_with_and_without_a_due_date() -> None:
    from kpinb.report import sentences as st
    from kpinb.report.sections import journal

    actions = [
        {"name": "Ada", "text": "Shadow a colleague", "owner": "Ada", "due": None},
        {"name": "Ada", "text": "Book training", "owner": "your manager", "due": "2026-10-14"},
    ]
    ref = st.Ref("open_actions", actions)
    assert journal.action_sentence(ref, 0).text == (
        "Shadow a colleague (owner: Ada, no due date yet)."
    )
    dated = journal.action_sentence(ref, 1, named=True)
    assert dated.text == "Ada: Book training (owner: your manager, due 14 Oct 2026)."
    assert [f.path for f in dated.figures] == [
        "open_actions[1].name",
        "open_actions[1].text",
        "open_actions[1].owner",
        "open_actions[1].due",
    ]


def test_leading_indicator_sentence_follows_its_move(demo_ws: Workspace) -> None:
    for eid in ("E002", "E004"):
        twin = build_report(demo_ws, "employee", eid, PERIOD).to_json()
        lead = next(b for b in twin["kpis"] if b["kind"] == "leading" and b["pair"])
        drifting = lead["status"] == "worsening_signal" or lead["trend"]["direction"] == (
            "worsening"
        )
        [cards] = [s for s in twin["sections"] if s["id"] == "kpis"]
        [pair] = [s["text"] for s in cards["sentences"] if s["id"] == "kpi_pair"]
        assert pair.startswith(f"{lead['name']} is a leading indicator for ")
        assert ("an early signal worth a look" in pair) == drifting, (eid, pair)


# --- executive views: nothing resting on fewer than 5 people ----------------------------


def _perturbed(ws: Workspace) -> Workspace:
    """The same workspace where only data resting on fewer than 5 people differs: E0's
    values before 2026-Q3 (T1 had only E0 then) and the 4 T2 values of week 45."""
    from tests.support.synthetic import MONDAYS

    obs = ws.observations.copy()
    emp = obs["employee_id"].astype(str)
    early = (emp == "E0") & (obs["period"] < pd.Timestamp("2026-07-01"))
    week45 = emp.str.startswith("F") & (obs["period"] == MONDAYS[45])
    obs.loc[early, "value"] = obs.loc[early, "value"] * 2 + 7
    obs.loc[week45, "value"] += 40
    return dataclasses.replace(ws, observations=obs)


def test_executive_twin_holds_no_figure_over_fewer_than_five_people() -> None:
    """Changing only what rests on fewer than 5 people (a late-joining team's history,
    a week when one of five members has no value) leaves every team figure of the
    executive twins unchanged; the withheld figures are named in the data notes."""
    from tests.support.synthetic import late_joiners

    a, b = late_joiners(), _perturbed(late_joiners())
    for team in ("T1", "T2"):
        assert (
            build_report(a, "team", team, PERIOD, "executive").to_json()
            == build_report(b, "team", team, PERIOD, "executive").to_json()
        ), team
    dept_a = build_report(a, "department", "D1", PERIOD, "executive").to_json()
    dept_b = build_report(b, "department", "D1", PERIOD, "executive").to_json()
    assert dept_a["teams"] == dept_b["teams"] and len(dept_a["teams"]) == 2
    t1 = build_report(a, "team", "T1", PERIOD, "executive").to_json()
    block = t1["kpis"][0]
    assert block["change"] is None and block["limits"] is None and block["best"] is None
    assert block["withheld"] == ["change", "limits", "history"]
    notes = {s["id"]: s["text"] for s in t1["sections"][-1]["sentences"]}
    assert notes["exec_withheld"] == (
        "k: not shown here, because fewer than 5 people had values at some of the dates "
        "they rest on, in this group or in a team they would reveal by subtraction: the "
        "comparison with the previous period, the usual range and its signals, the best "
        "value, streak and recovery."
    )
    dept_notes = [s["id"] for s in dept_a["sections"][-1]["sentences"]]
    assert "exec_teams_withheld" in dept_notes and dept_a["teams_withheld"] == 1


def test_journal_masking_matches_any_case_and_unique_first_names() -> None:
    """E1 (Ada Lovelace) reads her notes. Grace Hopper is her manager; Alan Turing and
    Alan Kay share "Alan", so "Alan" alone could be either and stays; "Katherine" is
    only Katherine Johnson's. Lower-case first names are ordinary words ("will")."""
    from kpinb.report import masking

    people = pd.DataFrame(
        {
            "employee_id": ["E1", "E2", "E3", "E4", "E5", "E6"],
            "name": [
                "Ada Lovelace",
                "Grace Hopper",
                "Alan Turing",
                "Alan Kay",
                "Katherine Johnson",
                "Will Smith",
            ],
            "manager_id": ["E2", pd.NA, "E2", "E2", "E2", "E2"],
        }
    )
    ws = Workspace.from_tables({}, people, pd.DataFrame(), pd.DataFrame())
    mask = masking.privacy(ws, "E1")
    assert (
        mask("grace hopper met ALAN TURING and e5")
        == "your manager met a colleague and a colleague"
    )
    assert mask("Grace and Katherine asked Alan; Ada will call") == (
        "your manager and a colleague asked Alan; Ada will call"
    )
    assert mask("Will sent it, graceful as ever") == "a colleague sent it, graceful as ever"
