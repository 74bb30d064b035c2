"""The period's index: grouped by department and team, managers named, what each report
holds at a glance (worked out here from the twins), failures with their reason; and the
links between pages (team to members, every page back to the index)."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kpinb.batch import orchestrate as batch
from kpinb.batch.formats.page import HTML
from kpinb.batch.formats.twin import JSON, dumps_json
from kpinb.batch.planning import plan
from kpinb.batch.publish import reports
from kpinb.batch.publish.folder import make_staging
from kpinb.batch.publish.glance import glance
from kpinb.batch.publish.index import org_chart, render_index
from kpinb.batch.records import error_kind
from kpinb.periods import parse_period
from kpinb.report import build_report, charts
from kpinb.workspace import Workspace

Q3 = parse_period("2026-Q3")


# --- what the index should say, worked out from a twin without kpinb's help --------------


def expected_glance(twin: dict[str, Any]) -> dict[str, str]:
    """The four at-a-glance cells as the page shows them."""
    kpis = twin["kpis"]
    scored = [k["goal"]["score"] for k in kpis if k["goal"] and k["goal"]["score"] is not None]
    notes = [
        s
        for sec in twin["sections"]
        if sec["id"] == "notes"
        for s in sec["sentences"]
        if s["id"] != "note_clear"
    ]
    up = sum(k["story"] == "improving_shift" for k in kpis)
    down = sum(k["story"] == "worsening_shift" for k in kpis)
    met = sum(score >= 0.7 for score in scored)
    return {
        "shifts_up": str(up),
        "shifts_down": str(down),
        "goals": f"{met} of {len(scored)}" if scored else "no targets",
        "notes": str(len(notes)) if notes else "",
    }


class IndexPage(HTMLParser):
    """Rows of the index with the department and team heading they sit under."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.departments: list[str] = []
        self.teams: dict[str, tuple[str, str]] = {}  # team_id -> (department, heading text)
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self._dept = self._team = ""
        self._heading: str | None = None
        self._text: list[str] = []
        self._row: dict[str, Any] | None = None
        self._cell: str | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "h2" and "data-department" in a:
            self._dept, self._team = str(a["data-department"]), ""
            self.departments.append(self._dept)
        elif tag == "h3" and "data-team" in a:
            self._team = str(a["data-team"])
            self._heading, self._text = "team", []
        elif tag == "tr" and "data-id" in a:
            self._row = {"dept": self._dept, "team": self._team, "cells": {}, "text": []}
            self.rows[(str(a["data-scope"]), str(a["data-id"]))] = self._row
        elif tag == "td" and self._row is not None:
            self._cell = a.get("data-glance") or ("manager" if "data-manager" in a else None)
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3" and self._heading == "team":
            self.teams[self._team] = (self._dept, " ".join("".join(self._text).split()))
            self._heading = None
        elif tag == "td" and self._row is not None:
            if self._cell:
                self._row["cells"][self._cell] = " ".join("".join(self._text).split())
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._row is not None:
            self._row["text"].append(data)


# --- fast: the page from published twins of the test workspace ----------------------------


@pytest.fixture(scope="module")
def period_dir(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every report of 2026-Q3 published as the batch would (charts stubbed)."""
    folder = tmp_path_factory.mktemp("period")
    staging = make_staging(folder)
    requests = plan.plan_requests(ws, Q3)
    files = plan.plan_files((r.scope, r.scope_id, r.view, r.primary) for r in requests)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(charts, "to_svg", lambda chart: "<svg></svg>")
        for request, where in zip(requests, files, strict=True):
            report = build_report(ws, request.scope, request.scope_id, Q3, request.view)
            twin = report.to_json()
            reports.publish(
                folder,
                where,
                twin,
                {HTML: report.to_html(), JSON: dumps_json(twin)},
                name=request.name,
                key="k",
                staging=staging,
            )
    return folder


def _page(ws: Workspace, period_dir: Path) -> str:
    records = list(reports.read_states(period_dir).values())
    return render_index(period="2026-Q3", records=records, warnings=[], org=org_chart(ws))


def test_index_groups_by_department_and_team_and_names_managers(
    ws: Workspace, period_dir: Path
) -> None:
    # E002 reports across teams: the index says so in E002's row
    people = ws.people.copy()
    people.loc[people["employee_id"] == "E002", "manager_id"] = "E007"
    moved = dataclasses.replace(ws, people=people)
    records = list(reports.read_states(period_dir).values())
    html = render_index(period="2026-Q3", records=records, warnings=[], org=org_chart(moved))
    page = IndexPage(html)
    teams = ws.teams.set_index("team_id")
    people = people.set_index("employee_id")
    names = people["name"]
    assert page.departments == sorted(set(teams["department"]))
    team_boss = {}
    for tid, team in teams.iterrows():
        members = people[people["team_id"] == tid]
        team_boss[tid] = members["manager_id"].dropna().mode().iloc[0]  # most members' manager
        dept, heading = page.teams[tid]
        assert dept == team["department"]
        assert heading == f"{team['name']} manager: {names[team_boss[tid]]}"
        assert page.rows[("team", tid)]["team"] == tid
    for eid, person in people.iterrows():
        row = page.rows[("employee", eid)]
        place = (teams.loc[person["team_id"], "department"], person["team_id"])
        assert (row["dept"], row["team"]) == place
        text = " ".join("".join(row["text"]).split())
        boss = person["manager_id"]
        if pd.isna(boss) or boss == team_boss[person["team_id"]]:
            assert "reports to" not in text
        else:
            assert f"reports to {names[boss]}" in text
    assert "reports to Tomasz Kowalski" in html  # E002's manager now
    for dept in set(teams["department"]):
        assert page.rows[("department", dept)]["dept"] == dept


def test_index_shows_at_a_glance_what_each_report_holds(ws: Workspace, period_dir: Path) -> None:
    page = IndexPage(_page(ws, period_dir))
    seen = {"shifts_up": 0, "shifts_down": 0, "goals": 0, "notes": 0}
    for path in period_dir.glob("*/*.json"):
        twin = json.loads(path.read_text(encoding="utf-8"))
        want = expected_glance(twin)
        row = page.rows[(twin["scope"], twin["id"])]
        assert {k: row["cells"][k] for k in want} == want, twin["id"]
        for key, text in want.items():
            seen[key] += text not in ("0", "", "no targets")
    # the workspace has reports with shifts both ways, scored goals and data notes
    assert all(seen.values()), seen


def test_a_report_that_could_not_be_generated_shows_its_reason(
    ws: Workspace, period_dir: Path
) -> None:
    records = list(reports.read_states(period_dir).values())
    # the state record keeps the error's kind only (details may quote people's data)
    error = error_kind("cell 2 (In [3]): ValueError: made to fail: E003\nTraceback")
    failed = []
    for record in records:
        if record["scope_id"] == "E003":  # published before: its previous version is kept
            record = {**record, "status": "failed", "error": error}
        if record["scope_id"] == "T04":  # never published
            record = {**record, "status": "failed", "error": "line one\nline two"}
            record["html_sha256"] = None
            for key in ("shifts_up", "shifts_down", "goals", "goals_met", "notes"):
                record.pop(key)
        failed.append(record)
    html = render_index(
        period="2026-Q3", records=failed, warnings=[], org=org_chart(ws), private=".private"
    )
    page = IndexPage(html)
    e003 = " ".join("".join(page.rows[("employee", "E003")]["text"]).split())
    assert "could not be generated: ValueError in cell 2 (the previous version is kept)" in e003
    assert e003.count("JSON") == 1 and "not available" in e003  # the kept page's twin
    t04 = " ".join("".join(page.rows[("team", "T04")]["text"]).split())
    assert "could not be generated: line one" in t04 and "line two" not in t04
    assert "not available" in t04
    assert 'href="teams/T04.html"' not in html
    assert "2 reports of this period need another run" in html
    assert html.count("could not be generated") == 2


def test_glance_of_a_hand_made_twin() -> None:
    def kpi(story: str, score: float | None = None) -> dict[str, Any]:
        goal = None if score is None else {"score": score, "success": score >= 0.7}
        return {"story": story, "goal": goal}

    twin = {
        "kpis": [
            kpi("improving_shift", 0.7),
            kpi("worsening_shift", 0.69),
            kpi("worsening_shift"),
            kpi("routine", None),
            {"story": "easing", "goal": {"score": None, "success": False}},
        ],
        "sections": [
            {"id": "progress", "sentences": [{"id": "note_missing"}]},
            {"id": "notes", "sentences": [{"id": "note_missing"}, {"id": "note_stale"}]},
        ],
    }
    assert glance(twin) == {
        "shifts_up": 1,
        "shifts_down": 2,
        "goals": 2,
        "goals_met": 1,
        "notes": 2,
    }
    clear = {"kpis": [], "sections": [{"id": "notes", "sentences": [{"id": "note_clear"}]}]}
    assert glance(clear) == dict.fromkeys(
        ("shifts_up", "shifts_down", "goals", "goals_met", "notes"), 0
    )


def test_a_team_report_links_its_members_and_a_person_report_links_nobody(ws: Workspace) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(charts, "to_svg", lambda chart: "<svg></svg>")
        team = build_report(ws, "team", "T04", Q3, "manager").to_html()
        person = build_report(ws, "employee", "E008", Q3).to_html()
        executive = build_report(ws, "team", "T04", Q3, "executive").to_html()
    members = ws.people[ws.people["team_id"] == "T04"]["employee_id"]
    links = re.findall(r'href="\.\./employees/([^"]+)\.html"', team)
    assert links == sorted(members)
    assert "../employees/" not in person and "../employees/" not in executive


# --- slow: a real batch, every link leads to a file ----------------------------------------


@pytest.mark.slow
def test_after_a_run_every_link_leads_to_a_published_page(
    tmp_path: Path, workspace_dir: Path
) -> None:
    result = batch.run_batch(workspace_dir, "2026-Q3", out=tmp_path, workers=4, progress=False)
    assert result.exit_code == 0, [o.error for o in result.failed]
    period = tmp_path / "2026-Q3"
    index = (period / "index.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+)"', index)
    assert len(hrefs) == 2 * 16 + 1 + 2  # every page and twin, run.json, 2 managers' indexes
    assert all((period / h).is_file() for h in hrefs), hrefs
    page = IndexPage(index)
    for twin_path in period.glob("*/*.json"):
        twin = json.loads(twin_path.read_text(encoding="utf-8"))
        want = expected_glance(twin)
        assert {k: page.rows[(twin["scope"], twin["id"])]["cells"][k] for k in want} == want
    pages = sorted(p for p in period.glob("*/*.html") if p.parent.name != "managers")
    assert len(pages) == 16
    for manager in ("E001", "E007"):  # each manager's index: every link leads to a page
        links = re.findall(r'href="([^"]+)"', (period / "managers" / f"{manager}.html").read_text())
        assert links and all((period / "managers" / h).resolve().is_file() for h in links)
    for html_path in pages:
        text = html_path.read_text(encoding="utf-8")
        assert '<a href="../index.html">' in text, html_path
        for href in re.findall(r'href="(\.\./[^"]+)"', text):
            assert (html_path.parent / href).resolve().is_file(), (html_path, href)
    team = (period / "teams" / "T01.html").read_text(encoding="utf-8")
    assert len(re.findall(r'href="\.\./employees/', team)) == 6


def test_the_index_scans_rows_to_talk_about_stand_out_and_zeros_are_quiet(
    ws: Workspace, period_dir: Path
) -> None:
    html = _page(ws, period_dir)
    rows = re.findall(
        r"<tr( class=\"[^\"]*\")?( data-scope=\"[^\"]+\" data-id=\"[^\"]+\")>(.*?)</tr>", html, re.S
    )
    assert rows
    marked = {"talk-row": 0, "up-row": 0}
    for cls, _, cells in rows:
        up = re.search(r'data-glance="shifts_up">(\d+)<', cells)
        down = re.search(r'data-glance="shifts_down">(\d+)<', cells)
        if up is None or down is None:
            continue
        want = "talk-row" if down[1] != "0" else "up-row" if up[1] != "0" else None
        assert (want in cls) if want else ("-row" not in cls), (cls, cells)
        if want:
            marked[want] += 1
        for count in (up, down):
            cell = cells[: count.end()].rsplit("<td", 1)[1]
            assert ("zero" in cell) == (count[1] == "0"), cell
    assert all(marked.values()), marked
    assert ">JSON<" not in html and html.count(">data (JSON)</a>") >= len(rows)


def test_the_filter_box_runs_inline_fetches_nothing_and_every_group_is_escaped(
    ws: Workspace, period_dir: Path
) -> None:
    """The filter is one inline script over the page's own text (no src, no request);
    its box is hidden until the script shows it; each team's rows sit in one group named
    by its team, manager and department, escaped like every other value."""
    teams = ws.teams.copy()
    teams.loc[teams["team_id"] == "T01", "name"] = '<b>"Sales" & North</b>'
    html = render_index(
        period="2026-Q3",
        records=list(reports.read_states(period_dir).values()),
        warnings=[],
        org=org_chart(dataclasses.replace(ws, teams=teams)),
    )
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert len(scripts) == 1 and scripts[0][0] == ""  # inline, no src
    assert not re.search(r"fetch\(|XMLHttpRequest|import\(|innerHTML|https?:", scripts[0][1])
    assert '<div class="filter" id="kpinb-filter" hidden>' in html
    groups = re.findall(r'data-group="([^"]*)"', html)
    assert "&lt;b&gt;&#34;Sales&#34; &amp; North&lt;/b&gt; " in " ".join(groups)
    assert "<b>" not in html
    # every report row sits in a group: the filter can reach each one
    inside = re.findall(r'<div class="group[^"]*" data-group=.*?</div>', html, re.S)
    assert sum(len(re.findall(r"<tr[^>]*data-id=", g)) for g in inside) == len(
        re.findall(r"<tr[^>]*data-id=", html)
    )
