"""The tone checker finds punitive and ranking words, and only whole words."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from kpinb.report.tone import FORBIDDEN, PUNITIVE, RANKING, find_forbidden, find_forbidden_html


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("You missed the target.", ["missed"]),
        ("The mission went on; the target is dismissed.", []),
        ("FAILED twice, then Failing less.", ["failed", "failing"]),
        ("Calls were poor and he is lazy.", ["poor", "lazy"]),
        ("She fell   short of it.", ["fell short"]),
        ("the worst week", ["worst"]),
        ("underperforming, underperformer", ["underperforming", "underperformer"]),
        ("ranked third among peers, top performer", ["ranked", "top performer"]),
        ("in the 80th percentile", ["percentile"]),
        ("what's behind the move?", ["behind"]),
        ("a well-behaved series, poorly-named", []),  # hyphenated compounds are not the word
        ("Routine variation, no action needed.", []),
        ("", []),
    ],
)
def test_find_forbidden(text: str, found: list[str]) -> None:
    assert [h.word for h in find_forbidden(text)] == found


def test_hit_carries_context() -> None:
    hit = find_forbidden("The quarter ended and the team failed to ship the release.")[0]
    assert "team failed to ship" in hit.context


def test_html_checker_reads_visible_text_only() -> None:
    markup = (
        '<style>.failed{color:red}</style><p class="poor">All <b>good</b> &amp; steady</p>'
        "<script>var worst = 1;</script>"
    )
    # class names, CSS and scripts are not read, only what a reader sees
    assert find_forbidden_html(markup) == []
    assert [h.word for h in find_forbidden_html("<p>They &lt;b&gt;missed&lt;/b&gt;</p>")] == [
        "missed"
    ]


def test_spec_words_are_all_forbidden() -> None:
    spec = (
        "failed",
        "underperforming",
        "poor",
        "lazy",
        "missed",
        "behind",
        "worst",
        "unacceptable",
    )
    assert set(spec) <= set(PUNITIVE)
    assert set(FORBIDDEN) == set(PUNITIVE) | set(RANKING)
    assert list(FORBIDDEN) == sorted(FORBIDDEN)


def test_phrase_wording_is_free_of_forbidden_words() -> None:
    """The fixed wording of every report sentence (templates), comments and markup removed."""
    folder = resources.files("kpinb").joinpath("templates")
    for name in ("phrases.j2", "report.html.j2", "_macros.html.j2"):
        source = folder.joinpath(name).read_text(encoding="utf-8")
        wording = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.DOTALL)
        assert find_forbidden_html(wording) == [], name
