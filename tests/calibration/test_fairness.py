"""Fairness across groups and the performance x potential grid: figures against values
worked out by hand, a planted group found and its near miss not, suppression that holds
under every slicing and its totals, the grid's counts against the ratings table, and the
settings and columns that feed them."""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kpinb.calibration.evidence import person_evidence
from kpinb.calibration.fairness import (
    LOWER,
    NOT_GIVEN,
    fairness_prompts,
    fairness_table,
    slicings,
    tenure_band,
    withheld_groups,
)
from kpinb.calibration.grid import grid_cells, performance_band, potentials
from kpinb.calibration.managers import wilson
from kpinb.errors import WorkspaceError
from kpinb.settings import parse_settings
from kpinb.workspace import load_workspace, validate_workspace

ROOT = Path(__file__).resolve().parents[2]
T975_5 = float(stats.t.ppf(0.975, 5))  # 2.5706: the t quantile on 5 degrees of freedom


def _people(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    """(employee_id, level, rating, direction) -> the pack's people columns the view reads."""
    frame = pd.DataFrame(rows, columns=["employee_id", "level", "rating", "direction"])
    frame["improving"] = (frame["direction"] == "improving").astype(int)
    frame["goals"] = 1
    frame["goals_at_success"] = 0
    frame["role"] = "engineer"
    frame["tenure_years"] = 2.0
    frame["department"] = "Product"
    return frame


def _three_levels() -> pd.DataFrame:
    """Level A rated 2 whatever the evidence; B and C rate improvers 4, the steady 3."""
    rows = []
    for level, improving, steady in (("A", 2, 2), ("B", 4, 3), ("C", 4, 3)):
        for i in range(3):
            rows.append((f"{level}{i}", level, improving, "improving"))
            rows.append((f"{level}{i + 3}", level, steady, "steady"))
    frame = _people(rows)
    frame.loc[frame["employee_id"].isin(["A0", "A3"]), "goals_at_success"] = 1
    return frame


def test_fairness_figures_match_values_worked_by_hand() -> None:
    people = _three_levels()
    table = fairness_table(people, {"level": people["level"]}, min_group_size=3)
    a = table.set_index("group").loc["A"]
    # A's improvers against B's and C's improvers (six 4s: mean 4, no spread): -2 each;
    # A's steady against six 3s: -1 each. Mean -1.5; the gaps' variance 6 * 0.25 / 5 = 0.3
    # and the references' 0, so se = sqrt(0.3 / 6) and the interval -1.5 -+ t5 * se.
    se = math.sqrt(0.3 / 6)
    assert a["rated"] == 6 and a["ratings"] == "2: 6" and a["mean_rating"] == 2
    assert a["gap"] == pytest.approx(-1.5)
    assert a["gap_low"] == pytest.approx(-1.5 - T975_5 * se)  # -2.07
    assert a["gap_high"] == pytest.approx(-1.5 + T975_5 * se)  # -0.93
    assert a["gaps"] == 6 and a["indication"] == LOWER
    # 3 of 6 with an improving shift, 2 of 6 with a goal at the success line
    assert a["improving_share"] == 0.5
    assert (a["improving_low"], a["improving_high"]) == pytest.approx(wilson(3, 6))
    assert a["goal_success_share"] == pytest.approx(2 / 6)
    b = table.set_index("group").loc["B"]
    # B's improvers against A's and C's (2, 2, 2, 4, 4, 4: mean 3, variance 1.2): +1,
    # reference variance 1.2 / 6; B's steady against 2, 2, 2, 3, 3, 3 (mean 2.5, variance
    # 0.3): +0.5, reference variance 0.05. Mean +0.75; the gaps' variance 6 * 0.0625 / 5;
    # the references' mean 0.125.
    se = math.sqrt(6 * 0.0625 / 5 / 6 + 0.125)
    assert b["gap"] == pytest.approx(0.75)
    assert (b["gap_low"], b["gap_high"]) == pytest.approx((0.75 - T975_5 * se, 0.75 + T975_5 * se))
    assert b["gap_low"] < 0 < b["gap_high"] and "in line" in b["indication"]


def test_the_planted_group_is_prompted_and_its_near_miss_is_not() -> None:
    people = _three_levels()
    # the near miss: a location whose ratings run a little low, within the uncertainty
    people["location"] = ["North", "South", "North", "South", "South", "South"] * 3
    people.loc[people["employee_id"].isin(["B0", "C0"]), "rating"] = 3
    groups = slicings(people, ["level", "location"])
    table = fairness_table(people, groups, min_group_size=3)
    north = table[(table["slicing"] == "location") & (table["group"] == "North")].iloc[0]
    assert north["gap"] < 0 and north["gap_low"] < 0 < north["gap_high"]
    prompts = fairness_prompts(table)
    assert list(prompts["id"]) == ["level=A"]
    assert list(prompts["prompt"]) == ["group_ratings_run_lower"]
    assert "6 rated people" in prompts["rests_on"].iloc[0]
    assert "95 % interval" in prompts["rests_on"].iloc[0]


def test_a_shared_move_is_context_never_evidence() -> None:
    kpis = pd.DataFrame(
        {
            "employee_id": ["E1", "E1", "E2"],
            "kpi_id": ["a", "b", "a"],
            "status": ["improving_shift", "routine", "improving_shift"],
            "shared": [True, False, False],
            "goal_score": [np.nan, np.nan, np.nan],
            "projected_score": [np.nan, np.nan, np.nan],
            "best_is_new": False,
            "streak_length": 0,
            "stale": False,
            "missing_in_period": 0,
            "expected_in_period": 13,
            "out_of_range": 0,
        }
    )
    evidence = person_evidence(kpis).set_index("employee_id")
    assert evidence.loc["E1", "improving"] == 0 and evidence.loc["E1", "direction"] == "steady"
    assert evidence.loc["E2", "improving"] == 1


def test_tenure_bands_from_the_edges() -> None:
    years = pd.Series([0.2, 1.0, 2.9, 3.0, 7.5, np.nan])
    assert tenure_band(years).tolist() == [
        "under 1 year", "1-3 years", "1-3 years", "3-5 years", "5+ years", NOT_GIVEN,
    ]  # fmt: skip
    assert tenure_band(years, (2.0,)).tolist()[1:4] == ["under 2 years", "2+ years", "2+ years"]


# --- suppression ------------------------------------------------------------------------------


def _recoverable(target: np.ndarray, published: list[np.ndarray]) -> bool:
    """The attacker: least squares over the published sets (not the code's rank test)."""
    a = np.vstack(published).T
    x, *_ = np.linalg.lstsq(a, target, rcond=None)
    return bool(np.allclose(a @ x, target, atol=1e-6))


def _published(groups: dict[str, pd.Series], hidden: dict[str, set[str]]) -> list[np.ndarray]:
    n = len(next(iter(groups.values())))
    rows = [np.ones(n)]
    for name, labels in groups.items():
        rows += [(labels == g).to_numpy(float) for g in set(labels) if g not in hidden[name]]
    return rows


def _assert_safe(groups: dict[str, pd.Series], hidden: dict[str, set[str]], size: int) -> None:
    published = _published(groups, hidden)
    total = len(next(iter(groups.values())))
    for name, labels in groups.items():
        counts = labels.value_counts()
        assert all(counts[g] >= size for g in counts.index if g not in hidden[name])
        if hidden[name]:
            # the total minus the shown groups gives the withheld groups' count together:
            # two groups or more, of the minimum size together, never one group's count
            shown = sum(int(counts[g]) for g in counts.index if g not in hidden[name])
            assert len(hidden[name]) >= 2 or len(hidden[name]) == len(counts)
            assert total - shown >= size or len(hidden[name]) == len(counts)
        for g in hidden[name]:
            assert not _recoverable((labels == g).to_numpy(float), published), (name, g)
    # subtraction of one shown group from another (of any slicings) never leaves a group
    # that was withheld
    sets = {
        (n, g): (labels == g).to_numpy(bool) for n, labels in groups.items() for g in set(labels)
    }
    shown = [k for k in sets if k[1] not in hidden[k[0]]]
    for x, y in itertools.permutations(shown, 2):
        rest = sets[x] & ~sets[y]
        if not (sets[y] & ~sets[x]).any():
            for name in groups:
                for g in hidden[name]:
                    assert not np.array_equal(rest, sets[(name, g)])


def test_one_small_group_takes_the_next_smallest_with_it() -> None:
    labels = pd.Series(["a"] * 2 + ["b"] * 5 + ["c"] * 6 + ["d"] * 9)
    hidden = withheld_groups({"level": labels}, 5)
    assert hidden == {"level": {"a", "b"}}
    _assert_safe({"level": labels}, hidden, 5)


def test_withheld_groups_pool_to_the_minimum_size() -> None:
    labels = pd.Series(["a"] + ["b"] * 2 + ["c"] * 6 + ["d"] * 9)
    # a and b together are 3 people: the total minus the shown groups would describe
    # three people, so c goes too
    assert withheld_groups({"level": labels}, 5) == {"level": {"a", "b", "c"}}


def test_a_small_group_cannot_be_worked_out_from_another_slicing() -> None:
    # P (people 0-1) is withheld under "x", with Q (2-7) to pool it; under "y" R is
    # P and five more (0-6), under "z" S is those five (2-6): R - S gives P's figures.
    # Each slicing on its own passes the rule within it (y and z have no small group).
    x = pd.Series(["P"] * 2 + ["Q"] * 6 + ["W"] * 12)
    y = pd.Series(["R"] * 7 + ["T"] * 13)
    z = pd.Series(["V"] * 2 + ["S"] * 5 + ["V"] * 13)
    groups = {"x": x, "y": y, "z": z}
    within = {"x": {"P", "Q"}, "y": set(), "z": set()}
    for name, labels in groups.items():
        assert withheld_groups({name: labels}, 5) == {name: within[name]}
    r, s = (y == "R").to_numpy(float), (z == "S").to_numpy(float)
    assert _recoverable((x == "P").to_numpy(float), _published(groups, within))
    assert np.array_equal((x == "P").to_numpy(float), r - s)  # the attack, by subtraction
    hidden = withheld_groups(groups, 5)
    # S and, by the rule within z, V: the smallest whose withholding stops the attack
    assert hidden == {"x": {"P", "Q"}, "y": set(), "z": {"S", "V"}}
    _assert_safe(groups, hidden, 5)


@pytest.mark.parametrize("seed", range(40))
def test_suppression_holds_under_every_slicing_of_random_groups(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(12, 40))
    groups = {
        name: pd.Series(rng.choice(list("abcdef"[: int(rng.integers(2, 7))]), n)).astype(object)
        for name in ("level", "location", "tenure", "gender")
    }
    size = int(rng.integers(3, 7))
    _assert_safe(groups, withheld_groups(groups, size), size)


def test_the_table_shows_no_figure_of_a_withheld_group() -> None:
    people = _three_levels()
    people.loc[people["employee_id"].isin(["A0", "A1"]), "level"] = "D"
    table = fairness_table(people, {"level": people["level"]}, min_group_size=3)
    withheld = table[~table["shown"]]
    assert set(withheld["group"]) == {"D", "A"}  # D has 2; A (4) is the next smallest
    assert withheld[["rated", "mean_rating", "gap", "improving_share"]].isna().all().all()
    assert (withheld["ratings"] == "").all()
    assert fairness_prompts(table).empty


# --- the grid ---------------------------------------------------------------------------------


def test_performance_bands_are_the_scales_thirds() -> None:
    assert performance_band(pd.Series([1, 2, 3, 4, 5]), [1, 2, 3, 4, 5]).tolist() == [
        "low", "low", "mid", "high", "high",
    ]  # fmt: skip
    assert performance_band(pd.Series([1, 2, 3, 4]), [1, 2, 3, 4]).tolist() == [
        "low", "mid", "mid", "high",
    ]  # fmt: skip


def test_grid_counts_match_the_ratings_table_and_names_only_big_cells() -> None:
    ratings = pd.DataFrame(
        {
            "employee_id": ["E1", "E2", "E3", "E4", "E5", "E6", "E1"],
            "period": ["2026-Q3"] * 6 + ["2026-Q2"],
            "rating": [5.0, 4.0, 2.0, 3.0, 4.0, 1.0, 1.0],
            "potential": [3.0, 3.0, 1.0, 2.0, np.nan, 1.0, 1.0],
        }
    )
    people = pd.DataFrame({"employee_id": [f"E{i}" for i in range(1, 7)]})
    people["name"] = "Person " + people["employee_id"]
    people["rating"] = people["employee_id"].map(
        ratings[ratings["period"] == "2026-Q3"].set_index("employee_id")["rating"]
    )
    people["potential"] = people["employee_id"].map(potentials(ratings, "2026-Q3"))
    cells = grid_cells(people, [1, 2, 3, 4, 5], min_group_size=2).set_index(
        ["potential", "performance"]
    )
    # E1 (5, high potential) and E2 (4, high): high-high; E3 (2, low) and E6 (1, low):
    # low-low; E4 (3, medium): medium-mid; E5 has no potential rated
    assert cells["people"].sum() == 5
    assert cells.loc[("high", "high"), "people"] == 2
    assert cells.loc[("low", "low"), "people"] == 2
    assert cells.loc[("medium", "mid"), "people"] == 1
    assert cells.loc[("high", "high"), "names"] == "Person E1, Person E2"
    assert cells.loc[("medium", "mid"), "names"] == ""  # one person: a count only
    hr = grid_cells(people, [1, 2, 3, 4, 5], 2, names=True).set_index(["potential", "performance"])
    assert hr.loc[("medium", "mid"), "names"] == "Person E4"
    assert list(cells.index.get_level_values(0).unique()) == ["high", "medium", "low"]


# --- the settings and the columns -------------------------------------------------------------


def test_fairness_settings_are_checked_with_every_problem() -> None:
    _, problems = parse_settings(
        {"fairness": {"columns": "level", "tenure_bands": [3, 1], "colour": 1}}
    )
    text = [f"{p.column}: {p.problem}" for p in problems]
    assert any(t.startswith("fairness.colour: is not a key") for t in text)
    assert any(t.startswith("fairness.columns: is 'level'") for t in text)
    assert any(t.startswith("fairness.tenure_bands: is [3, 1]") for t in text)
    _, problems = parse_settings({"fairness": {"columns": ["name"]}})
    assert "identify a person" in problems[0].problem
    settings, problems = parse_settings(
        {"fairness": {"columns": [" Level ", "location"], "tenure_bands": [2, 4.5]}}
    )
    assert problems == []
    assert (
        "calibration fairness view by: role, tenure (bands at 2, 4.5 years), level, "
        "location" in settings.lines()
    )


@pytest.fixture
def small_ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "tests" / "data" / "workspace", ws)
    return ws


def test_the_loader_keeps_the_fairness_columns_and_names_a_missing_one(small_ws: Path) -> None:
    people = pd.read_csv(small_ws / "people.csv", dtype=str)
    people["Grade"] = ["G1", "G2", " ", "G1"] * (len(people) // 4) + ["G2"] * (len(people) % 4)
    people["hobby"] = "chess"
    people.to_csv(small_ws / "people.csv", index=False)
    (small_ws / "kpinb.toml").write_text('[fairness]\ncolumns = ["grade"]\n', encoding="utf-8")
    ws = load_workspace(small_ws)
    assert "grade" in ws.people and "hobby" not in ws.people and "location" not in ws.people
    assert ws.people["grade"].isna().sum() == (people["Grade"] == " ").sum()
    (small_ws / "kpinb.toml").write_text(
        '[fairness]\ncolumns = ["grade", "gender"]\n', encoding="utf-8"
    )
    problems = validate_workspace(small_ws).problems
    assert len(problems) == 1
    p = problems[0]
    assert p.file == "kpinb.toml" and p.column == "fairness.columns"
    assert "'gender'" in p.problem and "people.csv" in p.problem and "people.csv" in p.fix


def test_a_potential_outside_1_to_3_is_refused_naming_the_row(small_ws: Path) -> None:
    ratings = pd.read_csv(small_ws / "ratings.csv", dtype=str)
    ratings["potential"] = "2"
    ratings.loc[1, "potential"] = "4"
    ratings.loc[2, "potential"] = ""
    ratings.to_csv(small_ws / "ratings.csv", index=False)
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(small_ws)
    text = str(caught.value)
    assert "ratings.csv" in text and "potential" in text and "not 1, 2 or 3" in text
    assert "row 3" in text or "3" in text


# --- the demo's planted group gap -------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_pack(tmp_path_factory: pytest.TempPathFactory):
    from kpinb.calibration import build_pack
    from kpinb.demo import write_demo

    root = write_demo(tmp_path_factory.mktemp("fair") / "demo")
    return root, build_pack(root, "2026-Q3")


def test_the_demo_pack_finds_the_planted_group_and_not_its_near_miss(demo_pack) -> None:
    root, pack = demo_pack
    planted = pd.read_csv(root / "archetypes.csv", dtype=str, keep_default_na=False)
    people = pd.read_csv(root / "people.csv", dtype=str).set_index("employee_id")
    group = planted.loc[planted["archetype"] == "rated_low_group", "employee_id"]
    near = planted.loc[planted["archetype"] == "rated_low_near_miss", "employee_id"]
    (location,) = set(people.loc[group, "location"])
    (level,) = set(people.loc[near, "level"])
    groups = pack.prompts[pack.prompts["scope"] == "group"]
    assert list(groups["id"]) == [f"location={location}"]
    assert list(groups["prompt"]) == ["group_ratings_run_lower"]
    row = pack.fairness.set_index(["slicing", "group"]).loc[("level", level)]
    assert row["shown"] and row["gap"] < 0 < row["gap_high"]
    # every slicing's shown groups hold the minimum, and a slicing withholds none or two+
    for _, rows in pack.fairness.groupby("slicing"):
        assert (rows.loc[rows["shown"], "rated"] >= pack.min_group_size).all()
        assert (~rows["shown"]).sum() != 1
    html = pack.to_html()
    assert "Fairness across groups" in html and "Performance and potential" in html


def test_the_demo_grid_counts_match_its_ratings_table(demo_pack) -> None:
    root, pack = demo_pack
    ratings = pd.read_csv(root / "ratings.csv", dtype={"employee_id": str})
    now = ratings[(ratings["period"] == "2026-Q3") & ratings["potential"].notna()]
    band = pd.cut(now["rating"], [0, 2, 3, 5], labels=["low", "mid", "high"]).astype(str)
    level = now["potential"].map({1: "low", 2: "medium", 3: "high"})
    expected = pd.crosstab(level, band).stack()
    cells = pack.grid().set_index(["potential", "performance"])["people"]
    assert cells.sum() == len(now)
    for (potential, performance), count in expected.items():
        assert cells[(potential, performance)] == count


def test_the_workbook_has_a_sheet_per_slicing_and_the_grid(demo_pack, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from kpinb.calibration import write_pack

    _, pack = demo_pack
    write_pack(pack, tmp_path)
    book = load_workbook(tmp_path / pack.workbook_name)
    slicings = ["role", "tenure", "level", "location"]
    assert book.sheetnames[-5:] == [f"fairness {s}" for s in slicings] + ["grid"]
    tenure = list(book["fairness tenure"].iter_rows(values_only=True))
    header, rows = tenure[0], tenure[1:]
    shown, rated = header.index("shown"), header.index("rated")
    withheld = [r for r in rows if not r[shown]]
    assert len(withheld) >= 2 and all(r[rated] is None for r in withheld)
    assert all(isinstance(r[rated], int | float) for r in rows if r[shown])
    grid = list(book["grid"].iter_rows(values_only=True))
    assert grid[0] == ("potential", "performance", "people", "names") and len(grid) == 10
    assert sum(r[2] for r in grid[1:]) == pack.grid()["people"].sum()


def test_each_shown_group_draws_its_ratings_as_bars_with_the_counts_in_words(demo_pack) -> None:
    """The fairness table's "ratings proposed" column: one bar per scale value, the counts
    of the table's ratings (``"2: 3, 4: 5"``) in its label, as the manager table has."""
    import html as htmllib
    import re

    _, pack = demo_pack
    page = pack.to_html()
    section = page.split('<section class="fairness">', 1)[1].split("</section>", 1)[0]
    shown = pack.fairness[pack.fairness["shown"].astype(bool)]
    cells = re.findall(
        r'<th scope="row" data-label="group">(.*?)</th><td data-label="rated">\d+</td>'
        r'<td data-label="ratings proposed"><span class="mini" role="img" aria-label="([^"]*)">'
        r"(.*?)</span></td>",
        section,
    )
    assert len(cells) == len(shown) > 0
    scale = list(pack.rating_scale.values)
    for (group, label, bars), (_, row) in zip(cells, shown.iterrows(), strict=True):
        assert htmllib.unescape(group) == row["group"]
        counts = {float(v): int(n) for v, n in (p.split(": ") for p in row["ratings"].split(", "))}
        said = [htmllib.unescape(s) for s in label.split("; ")]
        assert [s.split(" rated ")[0] for s in said] == [str(counts[v]) for v in sorted(counts)]
        assert len(re.findall(r'class="mini-col"', bars)) == len(scale)
        assert sum(int(n) for n in re.findall(r'class="mini-n">(\d+)<', bars)) == row["rated"]
