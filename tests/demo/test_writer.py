"""The demo workspace: deterministic, shaped as asked, archetypes that really show.

The archetype checks here use simple second methods (least squares, plain means,
a loop-based XmR) rather than the generator's own helpers.
"""

from __future__ import annotations

import functools
import io
import itertools
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from kpinb import cli
from kpinb.cli.demo import main_args, run_demo
from kpinb.demo import GENERATED, build_demo, write_demo
from kpinb.errors import UsageError
from kpinb.journal import latest_entries


def _table(files: dict[str, str], name: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(files[name]), dtype=str, keep_default_na=False)


class Demo:
    """The generated files of one demo, read back as plain tables."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.kpis = {k["id"]: k for k in yaml.safe_load(files["kpis.yaml"])["kpis"]}
        self.people = _table(files, "people.csv")
        self.teams = _table(files, "teams.csv")
        obs = _table(files, "observations.csv")
        self.obs = obs.assign(
            period=pd.to_datetime(obs.period), value=pd.to_numeric(obs.value, errors="coerce")
        )
        self.archetypes = _table(files, "archetypes.csv")
        self.checkins = _table(files, "checkins.csv")

    def series(self, employee_id: str, kpi_id: str) -> pd.Series:
        rows = self.obs[(self.obs.employee_id == employee_id) & (self.obs.kpi_id == kpi_id)]
        return rows.set_index("period").value.sort_index()

    def current(self, employee_id: str, kpi_id: str) -> pd.Series:
        """The series from the current definition version on, oriented so up is better."""
        s = self.series(employee_id, kpi_id)
        for v in self.kpis[kpi_id].get("versions", []):
            s = s[s.index >= pd.Timestamp(str(v["effective_from"]))]
        return s if self.kpis[kpi_id]["direction"] == "up" else -s

    def of(self, archetype: str) -> list[tuple[str, str]]:
        rows = self.archetypes[self.archetypes.archetype == archetype]
        return list(zip(rows.employee_id, rows.kpi_id, strict=True))


# (seed, end, review quarter start, review quarter end)
CASES = [
    (7, "2026-09-30", "2026-07-01", "2026-09-30"),
    (3, "2025-06-30", "2025-04-01", "2025-06-30"),
]


@functools.cache
def _demo(seed: int = 7, end: str = "2026-09-30") -> Demo:
    return Demo(build_demo(seed=seed, end=end))


@pytest.fixture(params=CASES, ids=["default", "moved-end"])
def case(request: pytest.FixtureRequest) -> tuple[Demo, pd.Timestamp, pd.Timestamp]:
    seed, end, q_start, q_end = request.param
    return _demo(seed, end), pd.Timestamp(q_start), pd.Timestamp(q_end)


@pytest.fixture
def demo() -> Demo:
    return _demo()


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    a = write_demo(tmp_path / "a")
    b = write_demo(tmp_path / "b")
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(GENERATED)
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    seven, eight = build_demo(people=12), build_demo(people=12, seed=8)
    assert seven["observations.csv"] != eight["observations.csv"]
    assert seven["teams.csv"] == eight["teams.csv"]  # the seed moves values, not the org


def test_committed_small_workspace_is_the_generator_output(workspace_dir: Path) -> None:
    """tests/data/workspace is `write_demo(..., people=12)`: regenerate it if this fails."""
    files = build_demo(people=12)
    for name, text in files.items():
        assert (workspace_dir / name).read_bytes() == text.encode("utf-8"), name


# --------------------------------------------------------------------------- shape


def test_people_teams_departments(demo: Demo) -> None:
    assert len(demo.people) == 60
    assert len(demo.teams) == 8
    assert set(demo.teams.department) == {"Sales", "Support", "Product"}
    sizes = demo.people.team_id.value_counts()
    assert sizes.min() >= 5 and set(sizes.index) == set(demo.teams.team_id)
    ids = set(demo.people.employee_id)
    assert demo.people.employee_id.is_unique
    managers = demo.people.manager_id[demo.people.manager_id != ""]
    assert set(managers) <= ids
    assert (demo.people.manager_id == "").sum() == 3  # one head per department
    names = set(demo.people.name)
    assert "José Núñez" in names and any("'" in n for n in names)


def test_roles_stay_within_a_small_core_set(demo: Demo) -> None:
    per_person = demo.obs.groupby("employee_id").kpi_id.nunique()
    assert per_person.max() <= 5
    assert len(per_person) == 60  # everyone has data
    per_role = demo.obs.merge(demo.people, on="employee_id").groupby("role").kpi_id.nunique()
    assert per_role.max() <= 5


def test_kpi_dictionary_is_complete_and_varied(demo: Demo) -> None:
    kpis = demo.kpis
    assert len(kpis) == 9
    assert [k["id"] for k in kpis.values() if k.get("measure") == "ratio"] == ["win_rate"]
    required = (
        "id",
        "name",
        "unit",
        "direction",
        "kind",
        "type",
        "cadence",
        "rollup",
        "owner",
        "source",
        "formula",
        "exclusions",
    )
    assert all(str(k.get(f, "")).strip() for k in kpis.values() for f in required)
    assert {k["direction"] for k in kpis.values()} == {"up", "down"}
    assert {k["type"] for k in kpis.values()} == {"result", "process"}
    assert {k["rollup"] for k in kpis.values()} == {"sum", "mean", "median"}
    assert [k["cadence"] for k in kpis.values()].count("monthly") == 1
    pairs = {k["id"]: k["pair"] for k in kpis.values() if k.get("pair")}
    assert len(pairs) >= 4
    for a, b in pairs.items():
        assert pairs.get(b) == a  # pairs are mutual
        assert {kpis[a]["kind"], kpis[b]["kind"]} == {"leading", "lagging"}


def test_history_is_104_mondays_ending_on_the_week_of_end(case) -> None:
    demo, _, q_end = case
    weekly = demo.obs[demo.obs.kpi_id != "escaped_defects"].period.drop_duplicates()
    assert len(weekly) == 104
    assert (weekly.dt.day_of_week == 0).all()
    # the week holding `end` starts on the Monday at most 6 days before it
    assert 0 <= (q_end - weekly.max()).days <= 6
    assert (weekly.max() - weekly.min()).days == 103 * 7
    monthly = demo.obs[demo.obs.kpi_id == "escaped_defects"].period.drop_duplicates()
    assert len(monthly) == 24 and (monthly.dt.day == 1).all()
    assert monthly.max() == q_end.replace(day=1)


def test_default_history_dates_worked_by_hand(demo: Demo) -> None:
    """2026-09-30 is a Wednesday: last week 2026-09-28; 103 weeks earlier is 2024-10-07."""
    assert demo.obs.period.max() == pd.Timestamp("2026-09-28")
    assert demo.obs.period.min() == pd.Timestamp("2024-10-01")  # the first monthly point
    weekly = demo.obs[demo.obs.kpi_id != "escaped_defects"]
    assert weekly.period.min() == pd.Timestamp("2024-10-07")


def test_new_hire_has_fewer_than_six_points(case) -> None:
    demo, q_start, q_end = case
    hires = demo.archetypes[demo.archetypes.archetype == "new_hire"].employee_id.unique()
    assert len(hires) >= 1
    for eid in hires:
        start = pd.Timestamp(demo.people.set_index("employee_id").start_date[eid])
        assert q_start - pd.Timedelta(weeks=6) <= start <= q_end
        counts = demo.obs[demo.obs.employee_id == eid].groupby("kpi_id").size()
        assert counts.max() < 6
        assert demo.obs[demo.obs.employee_id == eid].period.min() >= start


def test_some_weeks_are_missing_as_absent_rows(case) -> None:
    demo, q_start, _ = case
    shaped = set(demo.archetypes[demo.archetypes.kpi_id != ""].employee_id)
    weekly = demo.obs[(demo.obs.kpi_id != "escaped_defects") & ~demo.obs.employee_id.isin(shaped)]
    counts = weekly.groupby(["employee_id", "kpi_id"]).size()
    short = counts[counts < 104]
    assert short.index.get_level_values(0).nunique() >= 2
    # at least one gap in the review quarter, so reports show it
    in_review = weekly[weekly.period >= q_start].groupby(["employee_id", "kpi_id"]).size()
    assert (in_review < in_review.max()).any()
    measured = weekly[weekly.kpi_id.isin(["revenue_closed", "first_response_hours", "csat"])]
    assert (measured.value > 0).all()  # gaps are absent rows, never zeros


def test_one_definition_change_with_a_level_shift(case) -> None:
    demo, _, _ = case
    changed = [k for k in demo.kpis.values() if k.get("versions")]
    assert len(changed) == 1 and len(changed[0]["versions"]) == 1
    when = pd.Timestamp(str(changed[0]["versions"][0]["effective_from"]))
    assert demo.obs.period.min() < when < demo.obs.period.max()
    rows = demo.obs[demo.obs.kpi_id == changed[0]["id"]]
    before = rows[(rows.period < when) & (rows.period >= when - pd.Timedelta(weeks=8))]
    after = rows[(rows.period >= when) & (rows.period < when + pd.Timedelta(weeks=8))]
    assert after.value.mean() < 0.8 * before.value.mean()


def test_targets_goals_ratings_and_flags_point_at_real_ids(demo: Demo) -> None:
    people, teams = set(demo.people.employee_id), set(demo.teams.team_id)
    role_kpis = demo.obs.groupby("employee_id").kpi_id.agg(set)
    targets = _table(demo.files, "targets.csv")
    assert set(targets.scope) == {"employee", "team"}
    assert set(targets[targets.scope == "team"].scope_id) == teams
    assert set(targets[targets.scope == "employee"].scope_id) == people
    assert "2026-Q3" in set(targets.period)
    with_base = targets.baseline != ""
    assert with_base.any() and (~with_base).any()
    goals = _table(demo.files, "goals.csv")
    assert len(goals) >= 30
    for eid, kpi_ids in zip(goals.employee_id, goals.kpi_ids, strict=True):
        assert set(kpi_ids.split(";")) <= role_kpis[eid]
    ratings = _table(demo.files, "ratings.csv")
    assert set(ratings.rating.astype(int)) <= {1, 2, 3, 4, 5}
    assert set(ratings.period) == {"2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"}
    flags = _table(demo.files, "feasibility.csv")
    assert 1 <= len(flags) <= 3 and (flags.reason.str.len() > 20).all()
    assert set(flags.scope_id) <= people | teams


# --------------------------------------------------------------------------- archetypes


def test_every_archetype_is_present_several_times(demo: Demo) -> None:
    counts = demo.archetypes.drop_duplicates("employee_id").archetype.value_counts()
    for archetype in (
        "steady_improver",
        "plateau",
        "dip_and_recovery",
        "noisy_stable",
        "dependency_shift",
    ):
        assert counts[archetype] >= 3, archetype
    assert counts["new_hire"] >= 1


def _ls_slope(y: pd.Series) -> float:
    return float(np.polyfit(np.arange(len(y)), y.to_numpy(), 1)[0])


def test_steady_improvers_rise_beyond_their_baseline(case) -> None:
    demo, q_start, _ = case
    for eid, kpi in demo.of("steady_improver"):
        y = demo.current(eid, kpi)
        base = y.iloc[:20]
        assert _ls_slope(y.iloc[-18:]) > 0, eid
        assert y[y.index >= q_start].mean() > base.mean() + 0.1 * abs(base.mean()), eid
        assert (y[y.index >= q_start] > _xmr(base)[2]).sum() >= 6, eid


def test_plateaus_are_flat_and_quiet(case) -> None:
    demo, _, _ = case
    for eid, kpi in demo.of("plateau"):
        y = demo.current(eid, kpi)
        assert y.std() / abs(y.mean()) < 0.04, eid
        assert abs(_ls_slope(y.iloc[-13:])) * 12 < 0.05 * abs(y.mean()), eid


def _xmr(base: pd.Series) -> tuple[float, float, float]:
    """Centre and limits, moving ranges summed by hand."""
    values = list(base)
    ranges = [abs(b - a) for a, b in itertools.pairwise(values)]
    centre = sum(values) / len(values)
    spread = 2.66 * sum(ranges) / len(ranges)
    return centre, centre - spread, centre + spread


def _longest_run_reaching(values: list[float], centre: float, first: int) -> int:
    """Longest run of points on one side of the centre that ends at index >= first."""
    best, run, side = 0, 0, 0
    for i, v in enumerate(values):
        s = (v > centre) - (v < centre)
        run = run + 1 if s != 0 and s == side else int(s != 0)
        side = s
        if i >= first:
            best = max(best, run)
    return best


def test_noisy_stable_is_noisy_but_shows_no_signal(case) -> None:
    demo, q_start, _ = case
    for eid, kpi in demo.of("noisy_stable"):
        y = demo.current(eid, kpi)
        assert y.std() / abs(y.mean()) > 0.08, eid  # really noisy
        centre, low, high = _xmr(y.iloc[:20])
        review = y[y.index >= q_start]
        assert ((review > low) & (review < high)).all(), eid
        first = len(y) - len(review)
        assert _longest_run_reaching(list(y), centre, first) < 8, eid
        sigma = y.iloc[:20].std()
        assert (abs(review - centre) < 3 * sigma).all(), eid


def test_dips_come_back_in_the_review_quarter(case) -> None:
    demo, q_start, _ = case
    previous = q_start - pd.DateOffset(months=3)
    for eid, kpi in demo.of("dip_and_recovery"):
        y = demo.current(eid, kpi)
        base = y.iloc[:20].mean()
        dip = y[(y.index >= previous) & (y.index < q_start)].mean()
        back = y[y.index >= q_start].mean()
        assert dip < base - 0.1 * abs(base), eid
        assert abs(back - base) < 0.05 * abs(base), eid


def test_dependency_shift_steps_down_and_the_note_says_why(case) -> None:
    demo, q_start, _ = case
    previous = q_start - pd.DateOffset(months=3)
    for eid, kpi in demo.of("dependency_shift"):
        y = demo.current(eid, kpi)
        before = y[(y.index >= previous) & (y.index < q_start)].mean()
        after = y[y.index >= q_start].mean()
        assert after < before - 0.1 * abs(before), eid
    first = demo.of("dependency_shift")[0][0]
    notes = demo.checkins[demo.checkins.employee_id == first]
    dates = pd.to_datetime(notes.date)
    assert (notes.diagnosis == "dependency").any()
    assert (dates >= q_start).all()
    assert (notes.action_status == "open").any()


def test_checkins_follow_the_import_format(demo: Demo) -> None:
    cols = [
        "date",
        "employee_id",
        "author",
        "what_moved",
        "why_moved",
        "expected_impact",
        "support_needed",
        "diagnosis",
        "action",
        "action_owner",
        "action_due",
        "action_status",
    ]
    assert list(demo.checkins.columns) == cols
    assert set(demo.checkins.diagnosis) <= {"execution", "capability", "dependency", "none"}
    assert set(demo.checkins.action_status) <= {"open", "done", "dropped", ""}
    assert set(demo.checkins.employee_id) <= set(demo.people.employee_id)
    pd.to_datetime(demo.checkins.date, format="%Y-%m-%d")  # raises when malformed


def test_moved_end_moves_targets_and_ratings() -> None:
    demo = _demo(3, "2025-06-30")
    targets = _table(demo.files, "targets.csv")
    assert set(targets.period) == {"2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"}
    ratings = _table(demo.files, "ratings.csv")
    assert ratings.period.max() == "2025-Q2"
    assert demo.obs.period.max() == pd.Timestamp("2025-06-30")  # a Monday


# --------------------------------------------------------------------------- loading


def test_demo_loads_and_validates_without_errors(tmp_path: Path) -> None:
    from kpinb.workspace import load_workspace

    ws = load_workspace(write_demo(tmp_path / "ws"))
    assert len(ws.people) == 60 and len(ws.kpis) == 9
    assert ws.kpis["first_response_hours"].versions
    # the only data-quality finding is the intended missing weeks (and the win-rate weeks
    # without a deal engaged: no rate, a gap)
    assert all("missing" in w.problem for w in ws.warnings)


def test_small_committed_workspace_loads(workspace_dir: Path) -> None:
    from kpinb.workspace import load_workspace

    ws = load_workspace(workspace_dir)
    assert len(ws.people) == 12 and len(ws.teams) == 2
    assert ws.people.team_id.value_counts().max() >= 5


# --------------------------------------------------------------------------- command


def test_cli_no_run_writes_and_prints_the_path(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ws"
    assert cli.main(["demo", "--no-run", "--out", str(out), "--people", "12"]) == 0
    assert str(out) in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(GENERATED)
    assert [p.name for p in tmp_path.iterdir()] == ["ws"]  # no temp folder left over


def test_rewrite_keeps_the_journal_and_replaces_the_tables(tmp_path: Path) -> None:
    out = tmp_path / "ws"
    write_demo(out, people=12)  # an earlier demo: kpinb demo refuses any other folder
    (out / "journal.sqlite").write_bytes(b"journal bytes")
    (out / "observations.csv").write_text("stale", encoding="utf-8")
    write_demo(out, people=12)
    assert (out / "journal.sqlite").read_bytes() == b"journal bytes"
    assert (out / "observations.csv").read_text(encoding="utf-8").startswith("employee_id")
    assert [p.name for p in tmp_path.iterdir()] == ["ws"]


def test_leftover_from_an_interrupted_write_is_not_deleted(tmp_path: Path) -> None:
    out = tmp_path / "ws"
    write_demo(out, people=12)
    old = tmp_path / ".ws.old"
    old.mkdir()
    (old / "journal.sqlite").write_bytes(b"earlier journal")
    with pytest.raises(UsageError, match="interrupted"):
        write_demo(out, people=12)
    assert (old / "journal.sqlite").read_bytes() == b"earlier journal"
    assert sorted(p.name for p in out.iterdir()) == sorted(GENERATED)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ws.old", "ws"]


def test_bad_end_is_a_usage_error(tmp_path: Path) -> None:
    assert cli.main(["demo", "--no-run", "--out", str(tmp_path / "ws"), "--end", "30/09/2026"]) == 2
    assert not (tmp_path / "ws").exists()


def test_end_too_early_in_its_quarter_is_refused(tmp_path: Path, capsys) -> None:
    """2026-07-08's week starts on Monday 2026-07-06: one week of 2026-Q3, too few to show."""
    out = tmp_path / "ws"
    assert cli.main(["demo", "--no-run", "--out", str(out), "--end", "2026-07-08"]) == 2
    assert "1 week(s) of 2026-Q3" in capsys.readouterr().err
    assert not out.exists()


def test_run_calls_the_batch_for_the_review_quarter(tmp_path: Path, monkeypatch, capsys) -> None:
    calls = []
    fake = types.ModuleType("kpinb.batch.orchestrate")
    fake.run_batch = lambda path, period, **kw: calls.append((path, period, kw))
    monkeypatch.setitem(sys.modules, "kpinb.batch.orchestrate", fake)
    out = tmp_path / "ws"
    args = main_args([str(out), "--people", "12", "--reports", str(tmp_path / "r")])
    code = run_demo(args)
    assert code == 0
    assert calls == [(out, "2026-Q3", {"out": tmp_path / "r"})]
    assert str(tmp_path / "r" / "2026-Q3" / "index.html") in capsys.readouterr().out
    # the check-ins were imported first, so the reports can show the latest decisions
    shifted = _table(build_demo(people=12), "archetypes.csv")
    eid = shifted[shifted.archetype == "dependency_shift"].employee_id.iloc[0]
    latest = latest_entries(out, [eid])
    assert list(latest.diagnosis) == ["dependency"]


def test_run_without_a_batch_still_writes_the_workspace(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    stand_in = types.ModuleType("kpinb.batch.orchestrate")
    monkeypatch.setitem(sys.modules, "kpinb.batch.orchestrate", stand_in)
    out = tmp_path / "ws"
    assert run_demo(main_args(["--out", str(out), "--people", "12"])) == 0
    assert (out / "kpis.yaml").exists()
    assert "kpinb run" in capsys.readouterr().out


def test_win_rate_is_written_as_counts_and_a_week_without_deals_is_a_gap(demo: Demo) -> None:
    """Every win-rate row carries whole counts with won <= engaged and the value 100 x
    won / engaged; a week with 0 engaged has an empty value; other KPIs have no counts."""
    files = build_demo(people=60)
    obs = pd.read_csv(io.StringIO(files["observations.csv"]), dtype=str, keep_default_na=False)
    win = obs[obs.kpi_id == "win_rate"]
    won, engaged = win.numerator.astype(int), win.denominator.astype(int)
    assert (won <= engaged).all() and (engaged >= 0).all()
    some = engaged > 0
    assert np.allclose(win.value[some].astype(float), (100 * won / engaged)[some].round(1))
    assert (win.value[~some] == "").all() and (~some).any()
    rest = obs[obs.kpi_id != "win_rate"]
    assert (rest.numerator == "").all() and (rest.denominator == "").all()
