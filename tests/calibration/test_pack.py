"""The calibration pack: prompts on constructed cases, manager indications and the group
minimum, figures against the analytics core, the decision log, the workbook read back
with openpyxl, escaped pages in a punitive-free tone, the batch's folder, the demo's
planted cases and the notebook."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from kpinb import journal
from kpinb.analytics import analyse
from kpinb.calibration import build_pack, record_decision, write_pack
from kpinb.calibration.evidence import direction_of, rating_standing
from kpinb.calibration.managers import gap_interval, manager_table, reference_gaps, wilson
from kpinb.calibration.prompts import manager_prompts, person_prompts
from kpinb.errors import JournalError
from kpinb.periods import parse_period
from kpinb.report.tone import find_forbidden_html
from kpinb.workspace import load_workspace
from tests.support.fiscal import fiscal_copy

ROOT = Path(__file__).resolve().parents[2]
Q3 = parse_period("2026-Q3")


# --- constructed cases ------------------------------------------------------------------------


def _kpi(eid: str, kpi: str, status: str, **extra: object) -> dict[str, object]:
    row = {
        "employee_id": eid, "kpi_id": kpi, "kpi": kpi.title(), "unit": "", "status": status,
        "status_label": status.replace("_", " "), "shift_onset": pd.NaT, "stale": False,
        "expected_in_period": 13, "missing_in_period": 0, "last_observed": Q3.end,
    }  # fmt: skip
    if status in ("improving_shift", "worsening_shift"):
        row["shift_onset"] = pd.Timestamp("2026-07-06")
    row.update(extra)
    return row


def _person(eid: str, rating: float, standing: int, kpis: list[dict[str, object]], **extra):
    statuses = pd.Series([k["status"] for k in kpis], dtype=object)
    person = {
        "employee_id": eid, "name": f"Person {eid}", "department": "Sales", "rating": rating,
        "standing": standing, "direction": direction_of(statuses), "dependency_note": "",
    }  # fmt: skip
    person.update(extra)
    return person


def _prompts(people, kpis, signals=None, flags=None) -> pd.DataFrame:
    signals = (
        pd.DataFrame(columns=["scope", "scope_id", "kpi_id", "period", "rule", "direction"])
        if signals is None
        else signals
    )
    flags = (
        pd.DataFrame(columns=["employee_id", "kpi_id", "scope", "flagged_by", "reason"])
        if flags is None
        else flags
    )
    return person_prompts(pd.DataFrame(people), pd.DataFrame(kpis), signals, flags, 3.0, Q3)


def _kinds(frame: pd.DataFrame, eid: str) -> set[str]:
    return set(frame.loc[frame["id"] == eid, "prompt"])


def test_rating_and_evidence_differ_fires_only_when_they_point_opposite_ways() -> None:
    kpis = [
        _kpi("A", "deals", "improving_shift"), _kpi("A", "calls", "routine"),  # low, improving
        _kpi("B", "deals", "improving_shift"), _kpi("B", "calls", "routine"),  # high, improving
        _kpi("C", "deals", "worsening_shift"), _kpi("C", "calls", "routine"),  # high, the other way
        _kpi("D", "deals", "routine"), _kpi("D", "calls", "routine"),  # low, steady
        _kpi("E", "deals", "improving_shift"), _kpi("E", "calls", "worsening_shift"),  # mixed
    ]  # fmt: skip
    people = [
        _person("A", 2, -1, kpis[0:2]), _person("B", 4, 1, kpis[2:4]),
        _person("C", 5, 1, kpis[4:6]), _person("D", 2, -1, kpis[6:8]),
        _person("E", 2, -1, kpis[8:10]),
    ]  # fmt: skip
    found = _prompts(people, kpis)
    differ = set(found.loc[found["prompt"] == "rating_and_evidence_differ", "id"])
    assert differ == {"A", "C"}
    rests = found[(found["id"] == "A") & (found["prompt"] == "rating_and_evidence_differ")]
    assert rests["rests_on"].iloc[0] == (
        "rating 2, below the period's median of 3; Deals: improving shift since 6 Jul 2026"
    )


def test_a_rating_resting_on_one_kpi_needs_two_readable_kpis_and_one_mover() -> None:
    kpis = [
        _kpi("A", "deals", "improving_shift"), _kpi("A", "calls", "routine"),
        _kpi("A", "demos", "returned"),  # one mover of three readable: fires
        _kpi("B", "deals", "improving_shift"), _kpi("B", "calls", "improving_shift"),  # two movers
        _kpi("C", "deals", "improving_shift"), _kpi("C", "calls", "not_enough_history"),  # 1 read
        _kpi("D", "deals", "improving_shift"), _kpi("D", "calls", "routine"),  # at the median
    ]  # fmt: skip
    people = [
        _person("A", 4, 1, kpis[0:3]), _person("B", 5, 1, kpis[3:5]),
        _person("C", 4, 1, kpis[5:7]), _person("D", 3, 0, kpis[7:9]),
    ]  # fmt: skip
    found = _prompts(people, kpis)
    assert set(found.loc[found["prompt"] == "rests_on_one_kpi", "id"]) == {"A"}
    assert (
        "2 other readable KPIs"
        in found.loc[found["prompt"] == "rests_on_one_kpi", "rests_on"].iloc[0]
    )


def test_a_known_dependency_fires_under_a_shift_or_a_low_rating_only() -> None:
    kpis = [
        _kpi("A", "deals", "worsening_shift"), _kpi("A", "calls", "routine"),  # flag on the shift
        _kpi("B", "deals", "routine"), _kpi("B", "calls", "routine"),  # flag, routine, at median
        _kpi("C", "deals", "routine"), _kpi("C", "calls", "routine"),  # flag, rated low
        _kpi("D", "deals", "returned"), _kpi("D", "calls", "routine"),  # journal: dependency
        _kpi("E", "deals", "routine"), _kpi("E", "calls", "routine"),  # journal note, nothing moved
    ]  # fmt: skip
    people = [
        _person("A", 3, 0, kpis[0:2]), _person("B", 3, 0, kpis[2:4]),
        _person("C", 2, -1, kpis[4:6]),
        _person("D", 3, 0, kpis[6:8], dependency_note="CRM outage"),
        _person("E", 4, 1, kpis[8:10], dependency_note="CRM outage"),
    ]  # fmt: skip
    flags = pd.DataFrame(
        [(e, "deals", "employee", "Ada", "tool freeze") for e in "ABC"],
        columns=["employee_id", "kpi_id", "scope", "flagged_by", "reason"],
    )
    found = _prompts(people, kpis, flags=flags)
    assert set(found.loc[found["prompt"] == "known_dependency", "id"]) == {"A", "C", "D"}
    a = found[(found["id"] == "A") & (found["prompt"] == "known_dependency")]["rests_on"].iloc[0]
    assert a == "own feasibility flag by Ada (Deals: worsening shift): tool freeze"
    d = found[(found["id"] == "D") & (found["prompt"] == "known_dependency")]["rests_on"].iloc[0]
    assert d == "check-in this period diagnosed a dependency: CRM outage"


def test_recency_fires_when_every_movement_the_ratings_way_is_in_the_last_month() -> None:
    sept, aug = pd.Timestamp("2026-09-07"), pd.Timestamp("2026-08-03")
    kpis = [
        _kpi("A", "deals", "improving_shift", shift_onset=sept), _kpi("A", "calls", "routine"),
        _kpi("B", "deals", "improving_shift", shift_onset=aug), _kpi("B", "calls", "routine"),
        _kpi("C", "deals", "routine"), _kpi("C", "calls", "routine"),  # one unusual week in Sept
        _kpi("D", "deals", "routine"), _kpi("D", "calls", "routine"),  # unusual week, other way
    ]  # fmt: skip
    people = [
        _person("A", 4, 1, kpis[0:2]), _person("B", 4, 1, kpis[2:4]),
        _person("C", 4, 1, kpis[4:6]), _person("D", 4, 1, kpis[6:8]),
    ]  # fmt: skip
    signals = pd.DataFrame(
        [
            ("employee", "C", "calls", pd.Timestamp("2026-09-14"), "beyond_limit", "improving"),
            ("employee", "D", "calls", pd.Timestamp("2026-09-14"), "beyond_limit", "worsening"),
        ],
        columns=["scope", "scope_id", "kpi_id", "period", "rule", "direction"],
    )
    found = _prompts(people, kpis, signals=signals)
    assert set(found.loc[found["prompt"] == "recency", "id"]) == {"A", "C"}
    c = found[(found["id"] == "C") & (found["prompt"] == "recency")]["rests_on"].iloc[0]
    assert c.endswith("since 1 Sep 2026 only: Calls (unusual value on 14 Sep 2026)")


def test_recency_names_a_year_that_says_otherwise() -> None:
    """A is rated above the middle on a September shift only, while across five quarters
    their calls slid from 20 to 15 (their own, not shared): the recency prompt asks
    whether the rating follows that month or the year, naming the slide. B's slide is
    shared with the team: not named."""
    sept = pd.Timestamp("2026-09-07")
    year = {
        "over_time": -1,
        "over_time_from": "2025-Q3",
        "over_time_from_level": 20.0,
        "over_time_to_level": 15.0,
        "unit": "calls",
    }
    kpis = [
        _kpi("A", "deals", "improving_shift", shift_onset=sept),
        _kpi("A", "calls", "routine", over_time_shared=False, **year),
        _kpi("B", "deals", "improving_shift", shift_onset=sept),
        _kpi("B", "calls", "routine", over_time_shared=True, **year),
    ]
    people = [_person("A", 4, 1, kpis[0:2]), _person("B", 4, 1, kpis[2:4])]
    found = _prompts(people, kpis).set_index("id")
    a = found[found["prompt"] == "recency"].loc["A"]
    assert a["question"] == (
        "Every movement in the rating's direction came in the period's last month, while "
        "across the last quarters Calls moved the other way. Does the rating follow that "
        "month, or the whole period and the year?"
    )
    assert a["rests_on"].endswith(
        "across the last quarters: Calls moved the less favourable way from 20 calls in "
        "2025-Q3 to 15 calls"
    )
    b = found[found["prompt"] == "recency"].loc["B"]
    assert "across the last quarters" not in b["rests_on"]
    assert b["question"].endswith("or the whole period?")


def test_data_gaps_fire_on_stale_absent_or_unreadable_data_under_a_rating() -> None:
    kpis = [
        _kpi("A", "deals", "routine", stale=True, last_observed=pd.Timestamp("2026-08-31")),
        _kpi("B", "deals", "routine", missing_in_period=3),  # 3 of 13: under a quarter
        _kpi("C", "deals", "routine", missing_in_period=4),  # 4 of 13: a quarter or more
        _kpi("D", "deals", "no_data"),
        _kpi("E", "deals", "not_enough_history"),
        _kpi("F", "deals", "no_data"),  # no rating: nothing to ask
    ]  # fmt: skip
    people = [_person(k["employee_id"], 3, 0, [k]) for k in kpis[:5]]
    people.append(_person("F", float("nan"), float("nan"), kpis[5:]))
    found = _prompts(people, kpis)
    gaps = found[found["prompt"] == "data_gaps"].set_index("id")["rests_on"]
    assert set(gaps.index) == {"A", "C", "D", "E"}
    assert gaps["A"] == "rating 3; Deals: last value 31 Aug 2026 (stale)"
    assert gaps["C"] == "rating 3; Deals: 4 of 13 values absent"


# --- managers ---------------------------------------------------------------------------------


def test_wilson_interval_matches_the_formula_worked_by_hand() -> None:
    # 3 of 5, z = 1.96: centre (0.6 + 0.38415) / 1.76830,
    # half-width 1.96 * sqrt(0.048 + 0.038415) / 1.76830
    low, high = wilson(3, 5)
    assert low == pytest.approx(0.23072, abs=1e-4)
    assert high == pytest.approx(0.88234, abs=1e-4)
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_gap_interval_is_a_t_interval_over_both_spreads() -> None:
    gaps, ref = np.array([1.0, 2.0, 1.0, 2.0, 1.5]), np.array([0.02] * 5)
    # mean 1.5, sd 0.5, se sqrt(0.25 / 5 + 0.02) = sqrt(0.07); t(4, 0.975) = 2.776445
    low, high = gap_interval(gaps, ref)
    assert low == pytest.approx(1.5 - 2.776445 * math.sqrt(0.07), abs=1e-5)
    assert high == pytest.approx(1.5 + 2.776445 * math.sqrt(0.07), abs=1e-5)


def _team(manager: str, ratings: list[float], direction: str = "steady") -> list[dict]:
    return [
        {
            "employee_id": f"{manager}{i}",
            "manager_id": manager,
            "department": "Sales",
            "rating": r,
            "standing": float(np.sign(r - 3)),
            "direction": direction,
            "improving": 0,
            "goals": 1,
            "goals_at_success": int(i % 2 == 0),
        }
        for i, r in enumerate(ratings)
    ]


def test_a_manager_rating_high_against_the_evidence_gets_an_indication_with_its_basis() -> None:
    people = pd.DataFrame(
        _team("M1", [5, 5, 4, 5, 5, 4])
        + _team("M2", [3, 2, 3, 4, 3, 3])
        + _team("M3", [3, 3, 2, 3, 4, 3])
        + _team("M4", [4, 3, float("nan"), 3])  # 3 rated: under the minimum of 5
    )
    table = manager_table(people, {"M1": "Ann", "M4": "Dee"}, 5).set_index("manager_id")
    # M1's reference: the 13 others rated (all steady), mean 40 / 13
    others = np.array([3, 2, 3, 4, 3, 3, 3, 3, 2, 3, 4, 3, 4, 3, 3], dtype=float)
    others = others[:15]
    m1 = table.loc["M1"]
    reference = np.array([3, 2, 3, 4, 3, 3, 3, 3, 2, 3, 4, 3, 4, 3, 3]).mean()
    assert m1["gap"] == pytest.approx(np.mean([5, 5, 4, 5, 5, 4]) - reference)
    assert m1["indication"] == "ratings run higher than the evidence suggests"
    assert "over 6 rated people, 95 % interval" in m1["basis"]
    assert m1["ratings"] == "4: 2, 5: 4"
    assert m1["goal_success_share"] == pytest.approx(0.5)
    m4 = table.loc["M4"]
    assert m4["rated"] == 3 and m4["indication"] == "none: fewer than 5 rated people"
    assert all(pd.isna(m4[c]) for c in ("gap", "gap_low", "improving_share", "goal_success_share"))
    prompts = manager_prompts(table.reset_index())
    assert list(prompts["id"]) == ["M1"] and list(prompts["prompt"]) == ["ratings_run_higher"]


def test_reference_gaps_leave_the_managers_own_group_out() -> None:
    people = pd.DataFrame(_team("M1", [5, 5, 5]) + _team("M2", [3, 3, 3]))
    gaps = reference_gaps(people)
    assert list(gaps["gap"]) == [2.0, 2.0, 2.0, -2.0, -2.0, -2.0]
    assert list(gaps["ref_var"]) == [0.0] * 6


def test_rating_standing_reads_against_the_median() -> None:
    standing, median = rating_standing(pd.Series([1, 3, 3, 5, None]))
    assert median == 3
    assert standing.tolist()[:4] == [-1, 0, 0, 1] and math.isnan(standing.iloc[4])


# --- the pack on the test workspace -----------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, workspace_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("cal") / "ws"
    shutil.copytree(workspace_dir, root)
    people = pd.read_csv(root / "people.csv", dtype=str)
    people.loc[people["employee_id"] == "E003", "name"] = '=HYPERLINK("http://x")<script>'
    people.to_csv(root / "people.csv", index=False)
    record_decision(root, "2026-Q3", "E002", agreed=3, proposed=2, reason="first", decided_by="Ann",
                    decided_on="2026-10-05")  # fmt: skip
    why = "<b>improved</b> despite the review queue"
    record_decision(root, "2026-Q3", "E002", agreed=4, proposed=2, decided_by="Ann",
                    reason=why, decided_on="2026-10-06")  # fmt: skip
    return root


def test_figures_match_the_analytics_core(workspace: Path) -> None:
    ws = load_workspace(workspace)
    pack = build_pack(ws, "2026-Q3")
    result = analyse(ws, "2026-Q3")
    people = pack.people.set_index("employee_id")
    assert set(people.index) == set(ws.people["employee_id"])  # everyone started by Q3's end
    mine = result.summary[result.summary["scope"] == "employee"]
    for eid, rows in mine.groupby("scope_id", observed=True):
        assert people.loc[eid, "improving"] == (rows["status"] == "improving_shift").sum()
        assert people.loc[eid, "worsening"] == (rows["status"] == "worsening_shift").sum()
        assert people.loc[eid, "kpis"] == len(rows)
        assert people.loc[eid, "new_bests"] == rows["best_is_new"].sum()
    goals = result.goals[result.goals["scope"] == "employee"]
    for eid, rows in goals.groupby("scope_id"):
        assert people.loc[eid, "goals"] == rows["score"].notna().sum()
        assert people.loc[eid, "goals_at_success"] == (rows["score"] >= 0.7).sum()
    ratings = pd.read_csv(workspace / "ratings.csv", dtype={"employee_id": str})
    q3 = ratings[ratings["period"] == "2026-Q3"].set_index("employee_id")["rating"]
    assert people["rating"].dropna().to_dict() == q3.astype(float).to_dict()
    assert pack.median_rating == q3.median()
    evidence = pack.kpis.set_index(["employee_id", "kpi_id"])
    for _, row in mine.iterrows():
        assert evidence.loc[(row["scope_id"], row["kpi_id"]), "status"] == row["status"]
    # the decision in force is the latest one; the log keeps both
    assert people.loc["E002", "agreed_rating"] == 4
    assert list(pack.decisions["reason"]) == ["first", "<b>improved</b> despite the review queue"]


def test_a_department_pack_keeps_the_organisations_median_and_references(workspace: Path) -> None:
    whole = build_pack(workspace, "2026-Q3")
    sales = build_pack(workspace, "2026-Q3", department="Sales")
    assert set(sales.people["department"]) == {"Sales"}
    assert sales.median_rating == whole.median_rating
    both = whole.managers.set_index("manager_id").loc[sales.managers["manager_id"]]
    assert list(both["gap"].fillna(99)) == list(sales.managers["gap"].fillna(99))


def test_pages_escape_untrusted_text_link_reports_and_keep_the_tone(
    workspace: Path, tmp_path
) -> None:
    pack = build_pack(workspace, "2026-Q3")
    written = write_pack(pack, tmp_path / "calibration")
    names = sorted(p.name for p in written)
    assert names == ["calibration-2026-Q3.xlsx", "department-Sales.html",
                     "department-Support.html", "index.html"]  # fmt: skip
    for path in written:
        if path.suffix != ".html":
            continue
        html = path.read_text(encoding="utf-8")
        assert "<script>" not in html and "<b>improved" not in html
        assert find_forbidden_html(html) == [], path.name
        assert "http://" not in html.replace('"http://x"', "") or "&#34;http://x&#34;" in html
    sales = (tmp_path / "calibration" / "department-Sales.html").read_text(encoding="utf-8")
    assert 'href="../employees/E002.html"' in sales
    assert "&lt;script&gt;" in sales and "&lt;b&gt;improved&lt;/b&gt;" in sales
    index = (tmp_path / "calibration" / "index.html").read_text(encoding="utf-8")
    assert 'href="department-Sales.html"' in index


def test_the_workbook_reads_back_typed_neutralised_frozen_and_filtered(
    workspace: Path, tmp_path
) -> None:
    pack = build_pack(workspace, "2026-Q3")
    write_pack(pack, tmp_path)
    book = load_workbook(tmp_path / "calibration-2026-Q3.xlsx")
    assert book.sheetnames == [
        "people", "evidence", "managers", "prompts", "decisions", "fairness role",
        "fairness tenure", "fairness level", "fairness location", "grid",
    ]  # fmt: skip
    people = book["people"]
    header = [c.value for c in people[1]]
    assert people.freeze_panes == "A2" and people.auto_filter.ref == people.dimensions
    rows = {
        r[0]: dict(zip(header, r, strict=True))
        for r in people.iter_rows(min_row=2, values_only=True)
    }
    assert rows["E003"]["name"] == '\'=HYPERLINK("http://x")<script>'
    assert people.cell(row=2 + list(rows).index("E003"), column=2).data_type == "s"
    assert isinstance(rows["E002"]["rating"], int | float) and rows["E002"]["rating"] == 2
    assert (
        people.cell(row=2 + list(rows).index("E002"), column=header.index("rating") + 1).data_type
        == "n"
    )
    assert isinstance(rows["E002"]["tenure_years"], float)
    assert rows["E002"]["standing"] == "below" and rows["E002"]["agreed_rating"] == 4
    col = header.index("tenure_years") + 1
    assert people.cell(row=2, column=col).number_format == "0.0"
    decisions = list(book["decisions"].iter_rows(min_row=2, values_only=True))
    assert [d[5] for d in decisions] == [3, 4]  # agreed_rating stays a number
    managers = book["managers"]
    mh = [c.value for c in managers[1]]
    gap_cells = [r[mh.index("gap")] for r in managers.iter_rows(min_row=2)]
    assert any(
        isinstance(c.value, float) and c.number_format == "+0.00;-0.00;0.00" for c in gap_cells
    )


# --- the decision log -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE calibration_decisions SET agreed_rating = 5",
        "DELETE FROM calibration_decisions",
        "INSERT OR REPLACE INTO calibration_decisions VALUES (1, '2026-Q3', 'E1', 2, 5, 'x', "
        "'y', '2026-10-01', 'now', NULL)",
        "REPLACE INTO calibration_decisions VALUES (1, '2026-Q3', 'E1', 2, 5, 'x', 'y', "
        "'2026-10-01', 'now', NULL)",
    ],
)
def test_the_decision_log_is_append_only(tmp_path: Path, sql: str) -> None:
    record_decision(tmp_path, "2026-Q3", "E1", agreed=3, reason="why", decided_by="Ann")
    with (
        sqlite3.connect(tmp_path / "journal.sqlite") as conn,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        conn.execute(sql)
    conn.close()
    log = journal.decision_history(tmp_path)
    assert list(log["agreed_rating"]) == [3.0] and list(log["reason"]) == ["why"]


def test_a_bad_decision_names_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(JournalError) as err:
        record_decision(tmp_path, "Q5", "E9", agreed="high", reason=" ", decided_by="",  # type: ignore[arg-type]
                        known_ids={"E1"}, decided_on="5 Oct")  # fmt: skip
    columns = sorted(p.column or "" for p in err.value.problems)
    assert columns == [
        "agreed_rating",
        "decided_by",
        "decided_on",
        "employee_id",
        "period",
        "reason",
    ]
    assert not (tmp_path / "journal.sqlite").exists()


def test_a_v3_journal_migrates_to_the_latest_and_reads_empty_before(tmp_path: Path) -> None:
    from kpinb.journal import store

    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        for version, statements in store.MIGRATIONS[:3]:
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?, 'then')", (version,))
    conn.close()
    assert journal.schema_version(tmp_path) == 3
    assert journal.decision_history(tmp_path).empty  # a reader never migrates
    assert record_decision(tmp_path, "2026-Q3", "E1", agreed=4, reason="x", decided_by="y") == 1
    # decisions (v4), deliveries (v5), corrections (v6)
    assert journal.schema_version(tmp_path) == journal.SCHEMA_VERSION == 6


def test_decisions_are_exported_with_the_journal(tmp_path: Path) -> None:
    from kpinb.cli.main import main

    record_decision(tmp_path, "2026-Q3", "E1", agreed=4, reason="=1+1", decided_by="Ann")
    out = tmp_path / "export.xlsx"
    assert main(["checkin", "export", str(tmp_path), "--format", "xlsx", "--out", str(out)]) == 0
    sheet = load_workbook(out)["calibration decisions"]
    row = dict(
        zip(
            [c.value for c in sheet[1]],
            next(sheet.iter_rows(min_row=2, values_only=True)),
            strict=True,
        )
    )
    assert row["reason"] == "'=1+1" and row["agreed_rating"] == 4


def test_kpinb_calibration_decide_defaults_the_proposed_rating(
    workspace: Path, tmp_path, capsys, workspace_dir: Path
) -> None:
    from kpinb.cli.main import main

    root = tmp_path / "ws"
    shutil.copytree(workspace_dir, root)
    args = ["calibration", "decide", str(root), "--period", "2026-Q3", "--employee", "E006",
            "--agreed", "3", "--reason", "context agreed", "--by", "Ann",
            "--on", "2026-10-05"]  # fmt: skip
    assert main(args) == 0
    log = journal.latest_decisions(root, "2026-Q3")
    assert log[["employee_id", "proposed_rating", "agreed_rating"]].values.tolist() == [
        ["E006", 2.0, 3.0]
    ]
    assert main(["calibration", "decisions", str(root), "--period", "2026-Q3"]) == 0
    assert "E006: 2 -> 3 (Ann): context agreed" in capsys.readouterr().out
    # without --period: the latest quarter that the data covers to its end, 2026-Q3
    assert main(["calibration", "decisions", str(root)]) == 0
    assert "E006: 2 -> 3 (Ann): context agreed" in capsys.readouterr().out


def test_a_fiscal_workspace_decides_and_packs_by_fiscal_quarter(
    tmp_path, capsys, workspace_dir: Path
) -> None:
    from kpinb.cli.main import main

    root = fiscal_copy(workspace_dir, tmp_path / "ws", 7)
    args = ["calibration", "decide", str(root), "--period", "FY2027-Q1", "--employee", "E006",
            "--agreed", "3", "--reason", "context agreed", "--by", "Ann",
            "--on", "2026-10-05"]  # fmt: skip
    assert main(args) == 0
    log = journal.latest_decisions(root, "FY2027-Q1")
    assert log[["period", "employee_id", "proposed_rating", "agreed_rating"]].values.tolist() == [
        ["FY2027-Q1", "E006", 2.0, 3.0]  # the proposed rating from ratings' FY2027-Q1 rows
    ]
    assert main(["calibration", "decisions", str(root), "--period", "FY2027-Q1"]) == 0
    assert "E006: 2 -> 3 (Ann): context agreed" in capsys.readouterr().out
    with pytest.raises(JournalError, match="2026-Q3 is FY2027-Q1"):
        record_decision(root, "2026-Q3", "E006", agreed=3, reason="r", decided_by="Ann")
    fiscal = build_pack(load_workspace(root), "FY2027-Q1")
    calendar = build_pack(load_workspace(workspace_dir), "2026-Q3")
    assert fiscal.title == "Calibration pack FY2027-Q1"
    columns = ["employee_id", "rating", "improving", "goals_at_success"]
    pd.testing.assert_frame_equal(fiscal.people[columns], calendar.people[columns])


# --- the batch --------------------------------------------------------------------------------


def test_kpinb_run_views_calibration_publishes_the_pack_outside_the_index(
    tmp_path: Path, workspace_dir: Path
) -> None:
    from kpinb.batch import run_batch

    first = run_batch(
        workspace_dir, "2026-Q3", out=tmp_path, views=["calibration"], workers=1, progress=False
    )
    folder = tmp_path / "2026-Q3" / "calibration"
    assert first.exit_code == 0 and first.calibration == folder / "index.html"
    assert {p.name for p in folder.iterdir()} == {
        "index.html", "department-Sales.html", "department-Support.html",
        "calibration-2026-Q3.xlsx",
    }  # fmt: skip
    index = (tmp_path / "2026-Q3" / "index.html").read_text(encoding="utf-8")
    assert "calibration" not in index.lower()
    manifest = json.loads((tmp_path / "2026-Q3" / "run.json").read_text(encoding="utf-8"))
    assert "calibration" not in json.dumps(manifest.get("reports", [])).lower()
    stale = folder / "department-Gone.html"
    stale.write_text("old", encoding="utf-8")
    run_batch(
        workspace_dir, "2026-Q3", out=tmp_path, views=["calibration"], workers=1, progress=False
    )
    assert not stale.exists()  # a rerun leaves only the current pack


# --- the demo's planted cases -----------------------------------------------------------------


def test_the_demo_pack_shows_everyone_and_both_planted_cases(tmp_path: Path) -> None:
    from kpinb.demo import write_demo

    root = write_demo(tmp_path / "demo")
    pack = build_pack(root, "2026-Q3")
    people = pd.read_csv(root / "people.csv", dtype=str)
    assert set(pack.people["employee_id"]) == set(people["employee_id"])
    planted = pd.read_csv(root / "archetypes.csv", dtype=str, keep_default_na=False)
    low = planted.loc[planted["archetype"] == "rated_low_improving", "employee_id"].item()
    lenient = planted.loc[planted["archetype"] == "lenient_rater", "employee_id"].item()
    assert {"rating_and_evidence_differ", "known_dependency"} <= _kinds(pack.prompts, low)
    assert _kinds(pack.prompts, lenient) == {"ratings_run_higher"}
    manager = pack.managers.set_index("manager_id").loc[lenient]
    assert manager["rated"] >= 5 and manager["gap_low"] > 0
    # every other manager with five or more rated people reads "in line"
    others = pack.managers[(pack.managers["manager_id"] != lenient) & (pack.managers["rated"] >= 5)]
    assert set(others["indication"]) == {"in line with the evidence (within the uncertainty)"}
    for html in pack.pages().values():
        assert find_forbidden_html(html) == []


# --- the notebook -----------------------------------------------------------------------------


def test_the_notebook_is_thin_parameterised_and_stored_without_outputs() -> None:
    import papermill

    path = ROOT / "notebooks" / "calibration.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert set(papermill.inspect_notebook(str(path))) == {"workspace", "period", "department"}
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    lines = [line.strip() for c in code for line in c.source.splitlines()]
    assert not [line for line in lines if line.startswith(("def ", "for ", "while ", "class "))]
    assert len(code) <= 4


@pytest.mark.slow
def test_the_notebook_runs_by_hand_with_papermill(tmp_path: Path, workspace_dir: Path) -> None:
    import papermill

    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "calibration.ipynb"), str(out), cwd=str(ROOT / "notebooks"),
        parameters={"workspace": str(workspace_dir), "period": "2026-Q3", "department": "Sales"},
        kernel_name="python3", progress_bar=False,
    )  # fmt: skip
    html = "".join(
        o.get("data", {}).get("text/html", "")
        for c in nbformat.read(out, as_version=4).cells
        for o in c.get("outputs", [])
    )
    assert "Calibration pack 2026-Q3: Sales" in html and "Discussion prompts" in html


def test_the_pack_tells_each_kpi_as_the_persons_own_report_does(demo_ws, demo_reports) -> None:
    """Every demo person and KPI: the pack's label is the badge the person's own report
    shows on that KPI's card (read from its HTML), or the shared-move label where the
    report tells a shared move; the person's improving and worsening counts are the
    cards telling a shift up or down (real improvement, a change of their own ahead /
    a real change, a change of their own behind), never a shift the report tells as
    easing back or recovering."""
    import html
    import re

    from kpinb.calibration.evidence import SHARED_LABEL

    pack = build_pack(demo_ws, "2026-Q3")
    labels = pack.kpis.set_index(["employee_id", "kpi"])["status_label"]
    people = pack.people.set_index("employee_id")
    up, down = {"improving_shift", "own_ahead"}, {"worsening_shift", "own_behind"}
    checked = 0
    for report in demo_reports:
        if report.scope != "employee" or report.view != "employee":
            continue
        cards = dict(
            (html.unescape(k.strip()), html.unescape(v))
            for k, v in re.findall(
                r'<h3>([^<]*) <span class="badge">([^<]*)</span></h3>', report.html
            )
        )
        blocks = report.to_json()["kpis"]
        for block in blocks:
            if block["name"] not in cards:
                continue
            want = SHARED_LABEL if block["story"] == "shared" else cards[block["name"]]
            assert labels[(report.scope_id, block["name"])] == want, (report.scope_id, block)
            checked += 1
        if report.scope_id in people.index:
            row = people.loc[report.scope_id]
            assert row["improving"] == sum(b["story"] in up for b in blocks)
            assert row["worsening"] == sum(b["story"] in down for b in blocks)
    assert checked > 100
