"""The HR analyst's explorer: its tables, previews and forms as plain functions, and the
widgets wired together, driven in-process (set a widget's value, click a button)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kpinb.analytics import MOVE_STATUSES, analyse
from kpinb.errors import Problem
from kpinb.explorer import forms, preview, tables
from kpinb.explorer.app import PAGE, SHOWN, Explorer
from kpinb.journal import list_entries
from kpinb.report import build_report
from kpinb.workspace import load_workspace, validate_workspace
from tests.support.fiscal import fiscal_copy

PERIOD = "2026-Q3"


@pytest.fixture(scope="module")
def analysis(ws):
    return analyse(ws, PERIOD)


@pytest.fixture(scope="module")
def changed(ws, analysis) -> pd.DataFrame:
    return tables.changes(ws, analysis)


@pytest.fixture
def copy(tmp_path, workspace_dir: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(workspace_dir, root)
    return root


# --- what changed -------------------------------------------------------------------------


def test_a_persons_shift_is_told_as_their_own_report_tells_it(ws, changed) -> None:
    """Each person's shift row carries the badge their employee report's card shows for
    that KPI (read from the report's HTML); other rows none."""
    import html
    import re

    from kpinb.report import build_report

    rows = changed[(changed["what"] == "shift") & (changed["scope"] == "employee")]
    assert len(rows) > 0
    for r in rows.itertuples():
        page = build_report(ws, "employee", r.scope_id, PERIOD, "employee").html
        cards = dict(
            (html.unescape(k.strip()), html.unescape(v))
            for k, v in re.findall(r'<h3>([^<]*) <span class="badge">([^<]*)</span>', page)
        )
        assert r.told == cards[r.kpi], (r.scope_id, r.kpi)
    assert set(changed.loc[changed.index.difference(rows.index), "told"]) <= {""}


def test_every_shift_unusual_week_and_goal_of_the_period_is_listed(changed, analysis) -> None:
    s = analysis.summary[analysis.summary["scope"].isin(["employee", "team"])]
    shifted = s[s["status"].isin(MOVE_STATUSES)]
    rows = changed[changed["what"] == "shift"]
    assert len(rows) == len(shifted) > 0
    assert set(zip(rows["scope_id"], rows["kpi_id"], rows["status"], strict=True)) == set(
        zip(shifted["scope_id"], shifted["kpi_id"], shifted["status"], strict=True)
    )
    keys = zip(shifted["scope_id"], shifted["kpi_id"], strict=True)
    onsets = dict(zip(keys, shifted["shift_onset"], strict=True))
    for r in rows.itertuples():
        onset = onsets[(r.scope_id, r.kpi_id)]
        assert r.date == onset or (pd.isna(r.date) and pd.isna(onset))  # a return: no onset
        assert r.direction in ("improving", "worsening")
    beyond = analysis.signals[
        (analysis.signals["rule"] == "beyond_limit")
        & analysis.signals["scope"].isin(["employee", "team"])
    ]
    assert (changed["what"] == "unusual week").sum() == len(beyond) > 0
    goals = analysis.goals[analysis.goals["scope"].isin(["employee", "team"])]
    listed = changed[changed["what"] == "goal"]
    assert len(listed) == len(goals)
    success = goals["score"] >= 0.7
    assert (listed["status"] == "success").sum() == success.sum()
    assert set(changed.columns) == set(tables.CHANGE_COLUMNS)
    assert changed["name"].notna().all() and changed["department"].notna().all()


def test_data_quality_notes_name_the_missing_points(changed, analysis) -> None:
    notes = changed[changed["what"] == "data quality"]
    s = analysis.summary
    # a team's weeks with members missing are left out of its figures: missing points too
    missing = s[s["scope"].isin(["employee", "team"]) & (s["missing_in_period"] > 0)]
    assert (missing["scope"] == "team").any()
    assert set(notes.loc[notes["status"] == "missing points", "scope_id"]) == set(
        missing["scope_id"].astype(str)
    )
    assert notes["detail"].str.contains("points missing").any()


@pytest.mark.parametrize(
    ("filters", "column", "value"),
    [
        ({"department": "Sales"}, "department", "Sales"),
        ({"team": "Support EMEA"}, "team", "Support EMEA"),
        ({"kpi": "revenue_closed"}, "kpi_id", "revenue_closed"),
        ({"direction": "worsening"}, "direction", "worsening"),
        ({"what": "goal"}, "what", "goal"),
    ],
)
def test_filters_keep_only_matching_rows(changed, filters, column, value) -> None:
    kept = tables.filter_changes(changed, **filters)
    assert 0 < len(kept) < len(changed)
    assert (kept[column] == value).all()
    assert len(tables.filter_changes(changed)) == len(changed)


def test_filters_combine(changed) -> None:
    kept = tables.filter_changes(changed, department="Sales", what="shift", direction="improving")
    expected = changed[
        (changed["department"] == "Sales")
        & (changed["what"] == "shift")
        & (changed["direction"] == "improving")
    ]
    assert len(kept) == len(expected)


def test_sorting_is_stable_both_ways_with_empty_values_last(changed) -> None:
    up = tables.sort_table(changed, "date")
    down = tables.sort_table(changed, "date", ascending=False)
    dated = up["date"].dropna()
    assert dated.is_monotonic_increasing
    assert down["date"].dropna().is_monotonic_decreasing
    assert up["date"].isna().sum() > 0 and up["date"].tail(1).isna().all()
    assert down["date"].tail(1).isna().all()
    with pytest.raises(KeyError, match="no column"):
        tables.sort_table(changed, "nope")


# --- data quality -------------------------------------------------------------------------


def test_quality_by_table_holds_the_findings_of_validate(workspace_dir: Path) -> None:
    validation = validate_workspace(workspace_dir)
    frame = tables.quality_by_table(validation)
    assert len(frame) == len(validation.problems) + len(validation.warnings) > 0
    assert list(frame["problem"]) == [p.problem for p in validation.warnings]


def test_quality_by_person_and_its_drill_down_agree(ws, analysis) -> None:
    per = tables.quality_by_person(ws, analysis)
    assert not per.empty and set(per.columns) == set(tables.PERSON_QUALITY_COLUMNS)
    row = per.iloc[0]
    points = tables.series_rows(ws, analysis, row["employee_id"], row["kpi_id"])
    assert points["missing"].sum() == row["missing"] > 0
    assert points["period"].is_monotonic_increasing


def test_problem_rows_shows_the_rows_a_problem_names(copy) -> None:
    problem = Problem("people.csv", "example", "none", column="name", rows=(2, 4))
    rows = tables.problem_rows(copy, problem)
    assert list(rows["row"]) == [2, 4]
    people = pd.read_csv(copy / "people.csv", dtype=str)
    assert list(rows["employee_id"]) == [people["employee_id"][0], people["employee_id"][2]]
    assert tables.problem_rows(copy, Problem("people.csv", "x", "y")).empty


# --- preview ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("picks", "expected"),
    [
        ({"view": "employee", "person": "E002"}, ("employee", "E002", "employee")),
        ({"view": "manager", "person": "E002", "team": "T01"}, ("employee", "E002", "manager")),
        ({"view": "manager", "team": "T01"}, ("team", "T01", "manager")),
        ({"view": "executive", "person": "E002"}, ("team", "T01", "executive")),
        ({"view": "executive", "team": "T04"}, ("team", "T04", "executive")),
        ({"view": "executive", "department": "Sales"}, ("department", "Sales", "executive")),
    ],
)
def test_the_pickers_name_one_report(picks, expected) -> None:
    chosen = preview.subject(**picks, teams_of={"E002": "T01"})
    assert chosen.ok and (chosen.scope, chosen.scope_id, chosen.view) == expected


@pytest.mark.parametrize("view", ["employee", "manager", "executive", "board"])
def test_a_choice_that_names_no_report_says_what_to_choose(view) -> None:
    assert not preview.subject(view=view).ok
    assert preview.subject(view=view).note


def test_the_chart_is_the_reports_with_a_tooltip_on_every_week(ws, analysis) -> None:
    chosen = preview.subject(view="manager", person="E004")
    chart = preview.kpi_chart(ws, analysis, chosen, "revenue_closed")
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    tipped = [layer for layer in spec["layer"] if "tooltip" in layer.get("encoding", {})]
    assert len(tipped) == 1  # over the report's own chart, layered unchanged
    assert spec["layer"][0]["layer"]  # the report's trend chart
    tips = tipped[0]["encoding"]["tooltip"]
    assert [t["field"] for t in tips] == ["week", "value", "lower", "upper", "rule_hits"]
    data = spec["datasets"][tipped[0]["data"]["name"]]
    assert any("beyond limit" in d["rule_hits"] for d in data)  # E004's unusual weeks
    bundle = preview.vega_bundle(chart)
    assert bundle[preview.VEGA_MIME]["$schema"].endswith("/vega/v5.json")
    assert "marks" in bundle[preview.VEGA_MIME]


def test_the_chart_marks_definition_changes_as_the_report_does(ws, analysis) -> None:
    """A KPI whose definition changed inside the window: the explorer's chart draws the
    same marker as the report's card chart (both from ``kpinb.report.chart_data``)."""
    kpi = "first_response_hours"
    for eid in ws.people["employee_id"].astype(str):
        chosen = preview.subject(view="manager", person=eid)
        report = preview.preview(ws, chosen, "2026-Q3", analysis)
        block = next((b for b in report.to_json()["kpis"] if b["kpi_id"] == kpi), None)
        if block and block["definition_changes"] and block["level"]:
            break
    else:
        pytest.fail("no report of the test workspace shows a definition change")
    label = f"definition v{block['definition_changes'][0]['version']}"
    spec = preview.kpi_chart(ws, analysis, chosen, kpi).to_dict()
    drawn = [d.get("label") for data in spec["datasets"].values() for d in data]
    assert label in drawn
    assert label in report.to_html()  # the report's chart text says it too


def test_the_executive_chart_uses_the_masked_tables(ws, analysis) -> None:
    chosen = preview.subject(view="executive", team="T01")
    points, _ = preview.chart_data(analysis, chosen, "revenue_closed")
    masked = analysis.executive_analysis.for_scope("team", "T01").points
    assert len(points) == (masked["kpi_id"] == "revenue_closed").sum()


# --- forms --------------------------------------------------------------------------------


def _checkin(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "date": "2026-09-20",
        "employee_id": "E002",
        "author": "José Núñez",
        "what_moved": "Revenue closed rose",
        "why_moved": "New demo script",
        "expected_impact": "Holds next quarter",
        "support_needed": "Time with product",
        "diagnosis": "none",
        "actions": [
            {"text": "Share the script", "owner": "E002", "due": "2026-10-15"},
            {"text": "", "owner": "", "due": ""},
        ],
    }
    values.update(changes)
    return values


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"what_moved": "  "}, "what_moved"),
        ({"author": ""}, "author"),
        ({"date": "2026-13-01"}, "date"),
        ({"employee_id": "E999"}, "employee_id"),
        ({"diagnosis": "laziness"}, "diagnosis"),
        ({"actions": [{"text": "x", "owner": "", "due": "2026-10-01"}]}, "actions[0].owner"),
        ({"actions": [{"text": "x", "owner": "E002", "due": "soon"}]}, "actions[0].due"),
    ],
)
def test_a_checkin_problem_is_named_beside_its_field(tmp_path, changes, field) -> None:
    entry_id, problems = forms.save_checkin(tmp_path, _checkin(**changes), {"E001", "E002"})
    assert entry_id is None and list(problems) == [field]
    assert list_entries(tmp_path).empty


def test_a_valid_checkin_is_added_through_the_journal(tmp_path) -> None:
    entry_id, problems = forms.save_checkin(tmp_path, _checkin(), {"E002"})
    assert problems == {} and entry_id == 1
    entries = list_entries(tmp_path)
    assert list(entries["what_moved"]) == ["Revenue closed rose"]
    entry, _ = forms.checkin_entry(_checkin())
    assert entry.date == dt.date(2026, 9, 20) and len(entry.actions) == 1  # the empty row


def _flag(**changes: str) -> dict[str, str]:
    flag = {
        "scope": "employee",
        "scope_id": "E003",
        "kpi_id": "revenue_closed",
        "period": PERIOD,
        "flagged_by": "Amara Okafor",
        "reason": 'Territory moved; "old" target, with a comma',
    }
    flag.update(changes)
    return flag


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"kpi_id": "no_such_kpi"}, "kpi_id"),
        ({"period": "2026-Q7"}, "period"),
        ({"scope": "division"}, "scope"),
        ({"scope_id": "E999"}, "scope_id"),
        ({"scope": "team", "scope_id": "E003"}, "scope_id"),
        ({"reason": ""}, "reason"),
    ],
)
def test_a_bad_flag_is_refused_as_the_loader_would(copy, changes, column) -> None:
    ws = load_workspace(copy)
    before = (copy / "feasibility.csv").read_bytes()
    problems = forms.save_flag(ws, _flag(**changes), copy)
    assert problems and column in {p.column for p in problems}
    assert (copy / "feasibility.csv").read_bytes() == before


def test_a_flag_is_appended_and_the_workspace_still_loads(copy) -> None:
    ws = load_workspace(copy)
    before = (copy / "feasibility.csv").read_bytes()
    assert forms.save_flag(ws, _flag(), copy) == []
    after = (copy / "feasibility.csv").read_bytes()
    assert after.startswith(before) and after.count(b"\n") == before.count(b"\n") + 1
    again = load_workspace(copy)
    assert len(again.feasibility) == len(ws.feasibility) + 1
    assert again.feasibility.iloc[-1]["reason"] == _flag()["reason"]
    # word for word the same flag again: nothing to add
    assert forms.save_flag(again, _flag(), copy)


def test_a_flag_keeps_a_semicolon_files_shape(tmp_path) -> None:
    path = tmp_path / "feasibility.csv"
    path.write_bytes(
        b"\xef\xbb\xbfscope;scope_id;kpi_id;period;flagged_by;reason;note\r\n"
        b"team;T01;revenue_closed;2026-Q3;A;r;x\r\n"
    )
    data = forms.flag_file_bytes(path, _flag())
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b";\r\n")
    assert data.decode("utf-8-sig").splitlines()[-1].startswith("employee;E003;revenue_closed")


def test_a_workspace_keeping_flags_in_xlsx_is_not_written_to(copy) -> None:
    ws = load_workspace(copy)
    (copy / "feasibility.csv").rename(copy / "feasibility.xlsx")  # only the name matters here
    problems = forms.save_flag(ws, _flag(), copy)
    assert problems and "feasibility.xlsx" in problems[0].file
    assert not (copy / "feasibility.csv").exists()


def test_a_workspace_reading_flags_from_a_database_is_not_written_to(copy) -> None:
    ws = load_workspace(copy)
    (copy / "feasibility.csv").unlink()
    (copy / "kpinb.toml").write_text(
        '[sources.feasibility]\nurl = "sqlite:///hr.sqlite"\ntable = "feasibility"\n'
    )
    problems = forms.save_flag(ws, _flag(), copy)
    assert problems[0].file == "kpinb.toml [sources.feasibility] (sqlite:///hr.sqlite)"
    assert not (copy / "feasibility.csv").exists()


# --- the widgets, driven in-process ---------------------------------------------------------


@pytest.fixture
def explorer(copy) -> Explorer:
    return Explorer(copy, PERIOD)


def test_the_first_display_shows_the_table_and_the_preview_waits_for_its_tab(explorer) -> None:
    assert explorer.tabs.selected_index == 0 and len(explorer.grid.children) > len(SHOWN)
    assert explorer.last_report is None and explorer.report_html.value == ""
    explorer.tabs.selected_index = 1
    assert explorer.last_report is not None and explorer.report_html.value


def test_the_narrative_of_a_chosen_person_is_build_reports(explorer, copy) -> None:
    explorer.tabs.selected_index = 1
    explorer.p_view.value = "manager"
    explorer.p_person.value = "E004"
    ws = load_workspace(copy)
    assert (
        explorer.report_html.value == build_report(ws, "employee", "E004", PERIOD, "manager").html
    )
    explorer.p_view.value = "employee"
    assert explorer.report_html.value == build_report(ws, "employee", "E004", PERIOD).html
    assert "Lukas Schmidt" in explorer.p_note.value
    chart = explorer.chart_out.outputs[0]["data"]
    assert preview.VEGA_MIME in chart


def test_the_executive_view_withholds_small_groups(tmp_path, workspace_dir: Path) -> None:
    root = tmp_path / "small"
    shutil.copytree(workspace_dir, root)
    people = pd.read_csv(root / "people.csv", dtype=str, keep_default_na=False)
    managers = set(people["manager_id"])
    members = people.loc[people["team_id"] == "T04", "employee_id"]
    gone = set(members[~members.isin(managers)][:2])
    people[~people["employee_id"].isin(gone)].to_csv(root / "people.csv", index=False)
    for name in ("observations", "goals", "ratings", "archetypes", "checkins"):
        frame = pd.read_csv(root / f"{name}.csv", dtype=str, keep_default_na=False)
        frame[~frame["employee_id"].isin(gone)].to_csv(root / f"{name}.csv", index=False)
    for name in ("targets", "feasibility"):
        frame = pd.read_csv(root / f"{name}.csv", dtype=str, keep_default_na=False)
        frame[~frame["scope_id"].isin(gone)].to_csv(root / f"{name}.csv", index=False)
    x = Explorer(root, PERIOD)
    x.tabs.selected_index = 1
    x.p_view.value = "executive"
    x.p_team.value = "T04"
    twin = x.last_report.to_json()
    assert (x.last_report.scope, x.last_report.view) == ("team", "executive")
    assert twin["min_group_size"] == 5 and twin["kpis"] == [] and twin["not_shown"]
    assert "executive" in x.p_note.value
    assert x.chart_out.outputs[0]["data"].keys() == {"text/plain"}  # no chart of a hidden group
    x.p_team.value = "T01"  # six people: shown
    assert x.last_report.to_json()["kpis"]


def test_filters_sorting_paging_and_opening_a_row(explorer) -> None:
    total = len(explorer.table)
    assert explorer.count.value == f"rows 1–{min(PAGE, total)} of {total}"
    assert len(explorer.grid.children) == len(SHOWN) * (1 + min(PAGE, total))
    explorer.on_page(1)
    assert explorer.count.value.startswith(f"rows {PAGE + 1}–")
    explorer.f_what.value = "shift"
    assert explorer.page == 0 and (explorer.shown["what"] == "shift").all()
    explorer.headers[SHOWN.index("date")].click()
    dates = explorer.shown["date"]
    empty = int(dates.isna().sum())  # empty values last
    assert dates.dropna().is_monotonic_increasing and dates.iloc[len(dates) - empty :].isna().all()
    assert explorer.headers[SHOWN.index("date")].description == "date ▲"
    explorer.headers[SHOWN.index("date")].click()
    assert explorer.shown["date"].dropna().is_monotonic_decreasing  # empty values last
    first = explorer.shown.iloc[0]
    explorer.row_buttons[0].click()
    assert explorer.tabs.selected_index == 1
    assert explorer.last_report.scope_id == first["scope_id"]
    assert explorer.p_kpi.value == first["kpi_id"]
    explorer.f_department.value = "Support"
    assert set(explorer.shown["department"]) <= {"Support"}
    assert {v for _, v in explorer.f_team.options} == {"", "Support EMEA"}


def test_the_checkin_form_refuses_a_missing_field_then_saves_and_shows_it(explorer, copy) -> None:
    form = explorer.c_fields
    form["employee_id"].value = "E002"
    form["author"].value = "José Núñez"
    explorer.c_save.click()
    assert "what_moved is empty" in explorer.c_messages["what_moved"].value
    assert "not saved" in explorer.c_result.value
    assert list_entries(copy).empty
    form["what_moved"].value = "Revenue closed rose after the new demo script"
    form["diagnosis"].value = "dependency"
    explorer.c_actions[0]["text"].value = "Share the script with the team"
    explorer.c_actions[0]["owner"].value = "E002"
    explorer.c_actions[0]["due"].value = "2026-13-40"
    explorer.c_save.click()
    assert "not a date" in explorer.c_action_messages[0].value
    explorer.c_actions[0]["due"].value = "2026-10-15"
    explorer.c_save.click()
    assert explorer.c_messages["what_moved"].value == ""
    assert "Saved check-in entry 1 for Siobhán O&#x27;Brien (E002)" in explorer.c_result.value
    entries = list_entries(copy)
    assert list(entries["what_moved"]) == ["Revenue closed rose after the new demo script"]
    assert entries["date"].iloc[0] == pd.Timestamp(
        "2026-09-30"
    )  # the period's last day: it belongs to Q3
    explorer.tabs.selected_index = 1
    explorer.p_view.value = "manager"
    explorer.p_person.value = "E002"
    assert "Revenue closed rose after the new demo script" in explorer.report_html.value


def test_the_feasibility_form_refuses_an_unknown_kpi_then_appends(explorer, copy) -> None:
    before = (copy / "feasibility.csv").read_bytes()
    explorer.flag_scope.value = "team"
    explorer.flag_fields["scope_id"].value = "T01"
    explorer.flag_fields["kpi_id"].value = "no_such_kpi"
    explorer.flag_fields["flagged_by"].value = "José Núñez"
    explorer.flag_fields["reason"].value = "The team lost two people this quarter"
    explorer.flag_save.click()
    assert "unknown KPI" in explorer.flag_messages["kpi_id"].value
    assert (copy / "feasibility.csv").read_bytes() == before
    explorer.flag_fields["kpi_id"].value = "revenue_closed"
    explorer.flag_save.click()
    assert "Flag added to feasibility.csv" in explorer.flag_result.value
    assert explorer.flag_messages["kpi_id"].value == ""
    assert len(explorer.ws.feasibility) == len(load_workspace(copy).feasibility)
    assert (copy / "feasibility.csv").read_bytes().startswith(before)


def test_export_writes_the_current_table_to_xlsx(explorer, tmp_path) -> None:
    from openpyxl import load_workbook

    explorer.f_what.value = "unusual week"
    explorer.export_path.value = str(tmp_path / "changes.xlsx")
    explorer.export_button.click()
    assert "rows written" in explorer.export_note.value
    sheet = load_workbook(tmp_path / "changes.xlsx").active
    rows = list(sheet.values)
    assert rows[0] == tuple(tables.CHANGE_COLUMNS)
    assert len(rows) - 1 == len(explorer.shown)
    assert {r[rows[0].index("what")] for r in rows[1:]} == {"unusual week"}


def test_the_quality_tab_drills_down_to_points(explorer) -> None:
    assert "missing periods" in explorer.q_tables.value
    explorer.q_series.value = explorer.q_series.options[1][1]
    assert "True" in explorer.q_points.value  # a missing week, marked


def test_the_kpi_picker_offers_the_subjects_kpis(explorer, ws) -> None:
    explorer.tabs.selected_index = 1
    explorer.p_person.value = "E007"
    s = explorer.analysis.summary
    own = set(s.loc[(s["scope"] == "employee") & (s["scope_id"] == "E007"), "kpi_id"])
    assert {k for _, k in explorer.p_kpi.options} == own
    explorer.p_kpi.value = sorted(own)[-1]
    assert explorer.chart_out.outputs[0]["data"][preview.VEGA_MIME]["title"]["text"] == (
        ws.kpis[sorted(own)[-1]].name
    )


def test_a_new_period_redraws_everything(explorer) -> None:
    explorer.tabs.selected_index = 1
    explorer.period_pick.value = "2026-Q2"
    assert explorer.period == "2026-Q2" and explorer.last_report.period == "2026-Q2"
    assert explorer.flag_fields["period"].value == "2026-Q2"
    assert explorer.c_fields["date"].value == "2026-09-30"  # set once; the form is the user's


# --- the notebook -------------------------------------------------------------------------

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore.ipynb"


def test_the_notebook_is_stored_thin_and_without_outputs() -> None:
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert code[0].metadata.get("tags") == ["parameters"]
    assert [line.split(":")[0] for line in code[0].source.splitlines()] == ["workspace", "period"]
    assert len(code) == 2 and "explore(workspace, period)" in code[1].source
    assert sum(len(c.source.splitlines()) for c in code) <= 6


@pytest.mark.slow
def test_the_notebook_executes_under_papermill(copy, tmp_path) -> None:
    import papermill

    nb = papermill.execute_notebook(
        str(NOTEBOOK),
        str(tmp_path / "explore.ipynb"),
        parameters={"workspace": str(copy), "period": PERIOD},
        cwd=str(NOTEBOOK.parent),
        progress_bar=False,
        kernel_name="python3",
    )
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error" or o.get("name") == "stderr"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


def _save_flags(root: str, who: str, count: int, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    ws = load_workspace(root)  # each explorer loaded the workspace before anyone saved
    for i in range(count):
        problems = forms.save_flag(ws, _flag(flagged_by=who, reason=f"{who} flag {i}"), Path(root))
        assert problems == [], problems


def test_four_explorers_saving_25_flags_each_at_once_keep_all_100(copy) -> None:
    import multiprocessing

    before = len(load_workspace(copy).feasibility)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    names = ("Ada", "Bo", "Cy", "Di")
    savers = [ctx.Process(target=_save_flags, args=(str(copy), who, 25, barrier)) for who in names]
    for saver in savers:
        saver.start()
    for saver in savers:
        saver.join(timeout=600)
    assert [s.exitcode for s in savers] == [0, 0, 0, 0]
    table = load_workspace(copy).feasibility
    assert len(table) == before + 100
    mine = table[table["flagged_by"].isin(names)]
    assert mine.groupby("flagged_by")["reason"].nunique().to_dict() == dict.fromkeys(names, 25)
    assert not list(copy.glob("*.lock")) and not list(copy.glob(".*.tmp"))


def test_a_fiscal_workspace_is_explored_by_fiscal_quarter(tmp_path, workspace_dir: Path) -> None:
    root = fiscal_copy(workspace_dir, tmp_path / "fiscal", 7)
    x = Explorer(root)  # the latest quarter with data: July-September 2026
    assert x.period == "FY2027-Q1"
    assert list(x.period_pick.options)[-2:] == ["FY2026-Q4", "FY2027-Q1"]
    assert x.analysis.period.label == "FY2027-Q1"
    assert Explorer(root, "fy2027-q1").period == "FY2027-Q1"
    x.tabs.selected_index = 1
    assert x.last_report is not None and x.last_report.period == "FY2027-Q1"
