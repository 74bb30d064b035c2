"""The workspace's settings file, kpinb.toml: defaults, every key, every problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kpinb.cli.main import main
from kpinb.settings import DEFAULT_SETTINGS, RatingScale, parse_settings
from kpinb.workspace import load_workspace, validate_workspace
from tests.support.fiscal import relabel

FULL = """
[calendar]
fiscal_year_start = "July"
week_start = "Sunday"

[groups]
min_size = 7

[goals]
success = 0.6

[ratings]
scale = [1, 2, 3, 4, 5]
labels = ["Developing", "Solid", "Strong", "Exceptional", "Outstanding"]

[fairness]
columns = ["level"]
"""


def _copy(workspace_dir: Path, tmp_path: Path, toml: str | None) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(workspace_dir, root)
    if toml is not None:
        (root / "kpinb.toml").write_text(toml, encoding="utf-8")
        if "fiscal_year_start" in toml:  # the tables name their quarters by fiscal year
            relabel(root, 7)
    return root


def test_without_the_file_the_defaults_are_todays_behaviour(
    workspace_dir: Path, tmp_path: Path
) -> None:
    root = _copy(workspace_dir, tmp_path, None)
    (root / "kpinb.toml").unlink()  # the demo's slices the calibration pack by level
    settings = load_workspace(root).settings
    assert settings == DEFAULT_SETTINGS
    assert (settings.min_group_size, settings.success, settings.fiscal_year_start) == (5, 0.7, 1)
    assert settings.rating_scale.values == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert settings.week_start == "monday"


def test_every_key_is_read(workspace_dir: Path, tmp_path: Path) -> None:
    settings = load_workspace(_copy(workspace_dir, tmp_path, FULL)).settings
    assert settings.fiscal_year_start == 7
    assert settings.week_start == "sunday"
    assert settings.min_group_size == 7
    assert settings.success == 0.6
    assert settings.rating_scale == RatingScale(
        (1.0, 2.0, 3.0, 4.0, 5.0),
        ("Developing", "Solid", "Strong", "Exceptional", "Outstanding"),
    )
    assert settings.rating_scale.label(3) == "Strong"
    assert 5 in settings.rating_scale and 6 not in settings.rating_scale
    assert dict(settings.sections["fairness"]) == {"columns": ["level"]}


def test_every_problem_is_listed_with_key_and_fix() -> None:
    data = {
        "calendar": {"fiscal_year_start": 13, "week_start": "Funday", "weeks": 52},
        "groups": {"min_size": 1},
        "goals": {"success": 1.5},
        "ratings": {"scale": [1, 3, 2]},
        "colours": {},
        "sources": "db",
    }
    settings, problems = parse_settings(data)
    assert settings == DEFAULT_SETTINGS  # nothing wrong is taken over
    by_key = {p.column: str(p) for p in problems}
    assert set(by_key) == {
        "calendar.fiscal_year_start",
        "calendar.week_start",
        "calendar.weeks",
        "groups.min_size",
        "goals.success",
        "ratings.scale",
        "colours",
        "sources",
    }
    assert all(s.startswith("kpinb.toml, column ") and "Fix: " in s for s in by_key.values())
    assert "13" in by_key["calendar.fiscal_year_start"]
    assert "each above the one before" in by_key["ratings.scale"]


@pytest.mark.parametrize(
    ("labels", "ok"), [(["a", "b"], True), (["a"], False), (["a", " "], False), ("ab", False)]
)
def test_labels_match_the_scale(labels: object, ok: bool) -> None:
    settings, problems = parse_settings({"ratings": {"scale": [1, 2], "labels": labels}})
    assert (not problems) is ok
    if ok:
        assert settings.rating_scale.labels == ("a", "b")


def test_a_broken_file_makes_the_workspace_invalid(workspace_dir: Path, tmp_path: Path) -> None:
    root = _copy(workspace_dir, tmp_path, "[groups\nmin_size = 5\n")
    result = validate_workspace(root)
    assert not result.ok
    assert [p.file for p in result.problems] == ["kpinb.toml"]
    assert "not valid TOML" in result.problems[0].problem


def test_validate_prints_the_settings_in_force(
    workspace_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy(workspace_dir, tmp_path, FULL)
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "minimum group size: 7" in out
    assert "goal success line: 0.6" in out
    assert (
        "rating scale: 1 (Developing), 2 (Solid), 3 (Strong), 4 (Exceptional), 5 (Outstanding)"
        in out
    )
    assert "fiscal year: starting in July" in out
    assert "weeks start on: Sunday" in out


def test_the_minimum_group_size_reaches_the_analysis(workspace_dir: Path, tmp_path: Path) -> None:
    from kpinb.analytics import analyse

    plain = load_workspace(workspace_dir)
    root = _copy(workspace_dir, tmp_path, "[groups]\nmin_size = 50\n")
    strict = load_workspace(root)
    assert analyse(strict, "2026-Q3").min_group_size == 50
    # the same as asking for it explicitly on the workspace without the file
    explicit = analyse(plain, "2026-Q3", min_group_size=50)
    assert analyse(strict, "2026-Q3").groups.equals(explicit.groups)


def test_ratings_off_the_scale_are_refused_naming_rows_values_and_the_scale(
    workspace_dir: Path, tmp_path: Path
) -> None:
    """The ratings table is checked against the workspace's scale: 1-5 by default, here
    1-4 with labels; every off-scale row is named with its value, the scale and the fix."""
    root = _copy(
        workspace_dir,
        tmp_path,
        "[ratings]\nscale = [1, 2, 3, 4]\n"
        'labels = ["Developing", "Solid", "Strong", "Exceptional"]\n',
    )
    result = validate_workspace(root)
    assert not result.ok
    (problem,) = result.problems
    # rows 43 and 44 of ratings.csv are the two ratings of 5 (row 1 is the header)
    assert (problem.file, problem.column, problem.rows) == ("ratings.csv", "rating", (43, 44))
    text = str(problem)
    assert "'5'" in text
    assert "1 (Developing), 2 (Solid), 3 (Strong), 4 (Exceptional)" in text
    assert "Fix: give one of" in text and "kpinb.toml" in text
    # the default scale (1-5): a 9, a -3.7 and a 3.5 are refused, the rest kept
    root = _copy(workspace_dir, tmp_path / "default", None)
    table = (root / "ratings.csv").read_text(encoding="utf-8")
    table += "E001,2026-Q4,9,\nE002,2026-Q4,-3.7,\nE003,2026-Q4,3.5,\nE004,2026-Q4,4,\n"
    (root / "ratings.csv").write_text(table, encoding="utf-8")
    (problem,) = validate_workspace(root).problems
    assert problem.rows == (47, 48, 49) and problem.count == 3
    assert "'9', '-3.7', '3.5'" in problem.problem and "(1, 2, 3, 4, 5)" in problem.problem


DELIVERY = """
[delivery]
sender = "hr-reports@example.com"
smtp_host = "smtp.example.com"
smtp_port = 587
security = "starttls"
smtp_user = "hr-reports"
password_env = "KPINB_TEST_SMTP"

[[recipients.hr_partners]]
name = "Dana Reyes"
email = "dana.reyes@example.com"
departments = ["Sales"]

[[recipients.hr_partners]]
name = "Lee Park"
email = "lee.park@example.com"
"""


def test_validate_prints_the_mail_settings_and_hr_partners_and_checks_them(
    workspace_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(workspace_dir, root)
    settings = root / "kpinb.toml"
    own = settings.read_text(encoding="utf-8") if settings.exists() else ""
    settings.write_text(own + DELIVERY, encoding="utf-8")
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    assert (
        "  [delivery]: mail through smtp.example.com:587, security starttls, sender "
        "hr-reports@example.com, smtp user hr-reports, password from $KPINB_TEST_SMTP\n" in out
    )
    assert "  [recipients] HR partner: Dana Reyes <dana.reyes@example.com> (Sales)\n" in out
    assert "  [recipients] HR partner: Lee Park <lee.park@example.com> (every department)\n" in out
    assert "[delivery]: set" not in out and "[recipients]: set" not in out
    # a wrong port and a department not in teams.csv: both named before any run sends
    broken = DELIVERY.replace("587", '"587"').replace('["Sales"]', '["Marketing"]')
    settings.write_text(own + broken, encoding="utf-8")
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert "INVALID, 2 problem(s)" in out
    assert "kpinb.toml, key delivery.smtp_port: '587' is not a whole number" in out
    assert "names department(s) not in teams.csv: Marketing" in out
