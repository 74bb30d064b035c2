"""The status and story vocabulary: every story has its phrase, badge and card colour,
every coloured status its calibration rule, and no phrase name is built at run time
(so ``git grep`` of a story's name finds every place that decides on it)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import kpinb
from kpinb.analytics import HELD_STATUSES, KPI_STATUSES, MOVE_STATUSES, READABLE_STATUSES
from kpinb.report import stories
from kpinb.report.sections import journal
from kpinb.report.stories import PHRASE_BACK_AFTER, PHRASE_TRIAL, PLAIN_CARD, STORIES

PACKAGE = Path(kpinb.__file__).parent
TEMPLATES = PACKAGE / "templates"


def _macros(phrases: str) -> set[str]:
    return set(re.findall(r"\{%-?\s*macro\s+(\w+)\s*\(", phrases))


def vocabulary_problems(phrases: str, report_css: str, calibration_css: str) -> list[str]:
    """What the templates lack for the vocabulary: a story's phrase macro, badge or card
    colour rule, a coloured status's calibration rule, a fixed phrase the report says."""
    macros = _macros(phrases)
    problems = []
    for story in STORIES.values():
        if story.phrase not in macros:
            problems.append(f"story {story.name}: no macro {story.phrase} in phrases.j2")
        if not story.badge.strip():
            problems.append(f"story {story.name}: no badge")
        if story.card != PLAIN_CARD and f".card.status-{story.card}{{" not in report_css:
            problems.append(f"story {story.name}: no rule .card.status-{story.card}")
    if ".kpinb-report .card{" not in report_css:
        problems.append(f"no plain .card rule for {PLAIN_CARD} cards")
    for status in KPI_STATUSES.values():
        rule = f"li.st-{status.name}{{color:{status.colour}}}"
        if status.colour and rule not in calibration_css:
            problems.append(f"status {status.name}: no rule {rule} in calibration.css")
    fixed = {PHRASE_BACK_AFTER, PHRASE_TRIAL, *journal.QUESTION_PHRASES.values()}
    fixed |= {p for pair in journal.ACTION_PHRASES.values() for p in pair}
    problems += [f"no macro {name} in phrases.j2" for name in sorted(fixed - macros)]
    return problems


def _texts() -> tuple[str, str, str]:
    return tuple(
        (TEMPLATES / name).read_text(encoding="utf-8")
        for name in ("phrases.j2", "report.css", "calibration.css")
    )


def test_every_story_has_its_phrase_badge_and_colour() -> None:
    assert vocabulary_problems(*_texts()) == []


def test_a_missing_phrase_badge_rule_is_found() -> None:
    """The check above fails when a story's macro, or a card colour rule, is removed."""
    phrases, report_css, calibration_css = _texts()
    no_easing = re.sub(r"\{% macro kpi_easing\(", "{% macro kpi_gone(", phrases)
    assert vocabulary_problems(no_easing, report_css, calibration_css) == [
        "story easing: no macro kpi_easing in phrases.j2"
    ]
    no_colour = report_css.replace(".card.status-conversation{", ".card.gone{")
    assert vocabulary_problems(phrases, no_colour, calibration_css) == [
        "story worsening_shift: no rule .card.status-conversation",
        "story own_behind: no rule .card.status-conversation",
    ]
    no_status = calibration_css.replace("li.st-improving_shift", "li.gone")
    assert len(vocabulary_problems(phrases, report_css, no_status)) == 1


def test_every_status_tells_a_known_story() -> None:
    """Whatever the trend, the change and the shift's direction, a status tells one of
    the listed stories."""
    told = set()
    shared = (
        None,
        {"own": False},
        {"own": True, "relative": "up"},
        {"own": True, "relative": "down"},
    )
    for status, trend, better, way, group in itertools.product(
        KPI_STATUSES,
        ("improving", "worsening", "steady", None),
        (True, False, None),
        ("improving", "worsening"),
        shared,
    ):
        change = None if better is None else {"absolute": 1.0, "better": better}
        block = {
            "status": status,
            "trend": {"direction": trend},
            "shift": {"direction": way},
            "change": change,
            "direction": "up",
            "shared": group,
        }
        told.add(stories.tell(block))
    assert told <= set(STORIES)
    assert told == set(STORIES)  # and every listed story can be told


def test_status_groups_follow_the_flags() -> None:
    assert MOVE_STATUSES == ("improving_shift", "worsening_shift", "returned")
    assert HELD_STATUSES == ("improving_shift", "worsening_shift")
    assert set(HELD_STATUSES) <= set(MOVE_STATUSES) <= set(READABLE_STATUSES)
    assert {s.polarity for s in KPI_STATUSES.values() if s.holds} == {1, -1}
    assert all(STORIES[s].shift for s in HELD_STATUSES)


def test_no_phrase_name_is_built_at_run_time() -> None:
    """``say(f"...")`` would hide which phrase a story leads to from ``git grep``."""
    built = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bsay\(\s*f[\"']", line)
    ]
    assert built == []
