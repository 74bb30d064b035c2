"""The tone contract (docs/reading-a-report.md): words a coaching report never uses.

Reports speak to growth. They name progress first, compare a person with their
own past, and call routine variation routine. This module holds the vocabulary
that would turn a signal into a verdict (punitive words) or rank a person
against peers, and a checker that finds it in rendered text.

The checker matches whole words, case-insensitively, so "missed" is found but
"mission" is not. Phrases ("fell short") match across any run of spaces.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

# Punitive and judging words. Inflections are listed
# explicitly rather than stemmed, so the list reads as what it bans.
PUNITIVE: tuple[str, ...] = (
    "bad",
    "behind",
    "careless",
    "declined",
    "deficient",
    "deficiency",
    "disappointing",
    "disappointment",
    "fail",
    "failed",
    "failing",
    "fails",
    "failure",
    "fell short",
    "falling short",
    "falls short",
    "inadequate",
    "incompetent",
    "ineffective",
    "lazy",
    "low performer",
    "mediocre",
    "miss",
    "missed",
    "misses",
    "missing the target",
    "negligent",
    "not good enough",
    "off track",
    "poor",
    "poorly",
    "shortfall",
    "slacking",
    "substandard",
    "subpar",
    "underachieving",
    "underperform",
    "underperformed",
    "underperformer",
    "underperforming",
    "unacceptable",
    "unsatisfactory",
    # a warning is a disciplinary step in HR: a report says "early signal"
    "warn",
    "warned",
    "warning",
    "warnings",
    "weak",
    "weakness",
    "worse",
    "worst",
)

# Ranking against peers: never in a person's own report.
RANKING: tuple[str, ...] = (
    "bottom performer",
    "compared with colleagues",
    "compared with peers",
    "compared to colleagues",
    "compared to peers",
    "league table",
    "percentile",
    "ranked",
    "ranking",
    "than colleagues",
    "than your colleagues",
    "than your peers",
    "top performer",
)

FORBIDDEN: tuple[str, ...] = tuple(sorted(set(PUNITIVE) | set(RANKING)))


@dataclass(frozen=True)
class ToneHit:
    """One forbidden word found in a text, with a little context around it."""

    word: str
    context: str


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = sorted((w.replace(" ", r"\s+") for w in words), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(alternatives) + r")(?![\w-])", re.IGNORECASE)


_FORBIDDEN_RE = _pattern(FORBIDDEN)
_TAG_RE = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)


def visible_text(markup: str) -> str:
    """The text a reader sees in an HTML fragment: tags, scripts and styles removed."""
    return html.unescape(_TAG_RE.sub(" ", markup))


def find_forbidden(text: str) -> list[ToneHit]:
    """Every forbidden word or phrase in ``text`` (plain text), in order of appearance.

    Examples
    --------
    >>> [h.word for h in find_forbidden("You missed nothing; the mission went on.")]
    ['missed']
    """
    hits = []
    for m in _FORBIDDEN_RE.finditer(text):
        start, end = max(m.start() - 40, 0), min(m.end() + 40, len(text))
        word = " ".join(m.group(1).lower().split())
        hits.append(ToneHit(word, " ".join(text[start:end].split())))
    return hits


def find_forbidden_html(markup: str) -> list[ToneHit]:
    """Every forbidden word in the visible text of an HTML fragment."""
    return find_forbidden(visible_text(markup))
