"""Sentences that state figures, and the exact formatting of those figures.

A report's narrative is a list of :class:`Sentence` objects. A sentence is built
by :func:`say` from a phrase (a Jinja2 macro in ``templates/phrases.j2``, so the
wording lives in one place) and :class:`Figure` values. Each figure records the
JSON path of the value it shows in the report's JSON twin, the value exactly as
stored there (already rounded) and the text shown. So every number a reader
sees can be traced to, and tested against, the twin.

Untrusted strings (names, goals, notes, KPI names and units) also enter
sentences only as figures, so the fixed wording never carries data.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd

from kpinb.kpis import is_percent

# units that only say "a number of things": the number is shown bare ("7", not "7 count")
_BARE_UNITS = frozenset({"count", "counts", "number", "#", "n", "no.", "qty", "quantity"})


@dataclass(frozen=True)
class Figure:
    """A value shown in a sentence: where it lives in the twin, its value, its text.

    ``magnitude`` figures show the absolute value (the sentence's wording says
    the direction, "rose by 3"), while the twin keeps the signed value.
    """

    path: str
    value: Any
    text: str
    magnitude: bool = False
    kind: str = "number"

    def to_json(self) -> dict[str, Any]:
        """The figure as stored beside its sentence in the twin."""
        return {"path": self.path, "value": self.value, "text": self.text}


@dataclass(frozen=True)
class Sentence:
    """One sentence: literal wording and figures, in reading order."""

    key: str
    parts: tuple[str | Figure, ...]

    @property
    def text(self) -> str:
        """The sentence as plain text."""
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    @property
    def figures(self) -> tuple[Figure, ...]:
        """The figures the sentence states."""
        return tuple(p for p in self.parts if isinstance(p, Figure))

    def to_json(self) -> dict[str, Any]:
        """The sentence in the twin: its phrase key, text and figures."""
        return {"id": self.key, "text": self.text, "figures": [f.to_json() for f in self.figures]}


def decimals_for(values: Any) -> int:
    """Decimals to show for a KPI, from the size of its typical value.

    Median absolute value >= 100: 0 decimals; >= 10: 1; else 2. One rule per
    KPI keeps a card's numbers consistent with each other.

    Examples
    --------
    >>> decimals_for([120.0, 95.5]), decimals_for([12.0, 14.0]), decimals_for([0.5])
    (0, 1, 2)
    """
    finite = sorted(abs(float(v)) for v in values if v is not None and math.isfinite(float(v)))
    if not finite:
        return 1
    mid = finite[len(finite) // 2]
    return 0 if mid >= 100 else 1 if mid >= 10 else 2


def data_decimals(values: Any, most: int = 6) -> int:
    """The decimals the data itself carries: 0 for whole numbers (weekly counts), 1 for
    values like 32.4, and so on up to ``most``.

    Examples
    --------
    >>> data_decimals([7.0, 3.0]), data_decimals([32.4, 30.0]), data_decimals([1 / 3])
    (0, 1, 6)
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    for d in range(most):
        if all(abs(v - round(v, d)) <= 1e-9 * max(1.0, abs(v)) for v in finite):
            return d
    return most


def rounded(value: float | None, decimals: int) -> float | None:
    """``value`` rounded as the twin stores it (None for missing or not finite)."""
    if value is None or not math.isfinite(float(value)):
        return None
    out = round(float(value), decimals)
    return 0.0 if out == 0 else out  # no "-0.0"


def format_number(value: float, decimals: int) -> str:
    """The text of a rounded number: thousands separators, fixed decimals.

    Examples
    --------
    >>> format_number(1234.5, 1), format_number(-0.25, 2), format_number(3.0, 0)
    ('1,234.5', '-0.25', '3')
    """
    return f"{value:,.{decimals}f}"


def with_unit(number: str, unit: str) -> str:
    """A formatted number with its unit: ``12.5%``, ``12.5 calls``, ``1 call``, ``7`` (a
    unit that only says "count" is left out)."""
    unit = unit.strip()
    if not unit or unit.lower() in _BARE_UNITS:
        return number
    if is_percent(unit):
        return f"{number}%"
    return f"{number} {singular(unit) if number.lstrip('-') == '1' else unit}"


def singular(unit: str) -> str:
    """The unit for exactly one: ``deals`` -> ``deal``, ``calls/week`` -> ``call/week``;
    a unit that is not a plain English plural (``kEUR``, ``USD``, ``h``) stays as it is.

    Examples
    --------
    >>> singular("hours"), singular("calls/week"), singular("kEUR"), singular("class")
    ('hour', 'call/week', 'kEUR', 'class')
    """
    head, sep, tail = unit.partition("/")
    word = head.split(" ")[-1]
    if (
        len(word) > 2
        and word.islower()
        and word.endswith("s")
        and not word.endswith(("ss", "us", "is", "series", "species", "news"))
    ):
        head = head[: len(head) - 1]
    return head + sep + tail


def number(
    path: str, value: float, decimals: int, unit: str = "", *, magnitude: bool = False
) -> Figure:
    """A numeric figure; ``value`` must already be rounded to ``decimals``."""
    shown = abs(value) if magnitude else value
    return Figure(path, value, with_unit(format_number(shown, decimals), unit), magnitude)


def percent(path: str, value: float, *, magnitude: bool = False) -> Figure:
    """A percentage figure (value in percent, rounded to 1 decimal)."""
    return number(path, value, 1, "%", magnitude=magnitude)


def text(path: str, value: str) -> Figure:
    """A text figure: a name, a goal, a note or a period label."""
    return Figure(path, value, str(value), kind="text")


def format_date(iso: str, cadence: str = "") -> str:
    """A date as people read it: ``the week of 7 Sep 2026``, ``Sep 2026`` or ``7 Sep 2026``.

    ``cadence`` says what the date stands for: a weekly point (``weekly``), a
    monthly point (``monthly``) or a plain day (anything else).
    """
    day = pd.Timestamp(iso)
    if cadence == "monthly":
        return day.strftime("%b %Y")
    plain = f"{day.day} {day.strftime('%b %Y')}"
    return f"the week of {plain}" if cadence == "weekly" else plain


def date(path: str, iso: str, cadence: str = "") -> Figure:
    """A date figure; the twin keeps the ISO date, the text reads naturally."""
    return Figure(path, iso, format_date(iso, cadence), kind="date")


_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use code points: slot markers, never in data


_MARKER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


class _Slot:
    """Stands for a figure while a phrase macro renders; renders as a marker."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __html__(self) -> str:
        return f"{_OPEN}{self.index}{_CLOSE}"

    __str__ = __html__


def phrases() -> Any:
    """The phrase macros (``templates/phrases.j2``) as a module of callables."""
    return _phrases_module()


@cache
def _phrases_module() -> Any:
    from kpinb.templating import environment

    return environment().get_template("phrases.j2").module


def say(key: str, **args: Any) -> Sentence:
    """Build the sentence of phrase macro ``key``.

    Figure arguments fill slots and stay structured; other arguments are flags
    chosen by code (never data). A missing argument raises (StrictUndefined).

    Examples
    --------
    >>> say("kpi_best", best=number("kpis[0].best.value", 12.0, 1, "calls"),
    ...     when=date("kpis[0].best.period", "2026-09-07", "weekly")).text
    'New personal best: 12.0 calls in the week of 7 Sep 2026.'
    """
    figures: list[Figure] = []

    def slot(value: Any) -> Any:
        """A figure's slot (lists and tuples of figures too, for a macro's loop)."""
        if isinstance(value, Figure):
            figures.append(value)
            return _Slot(len(figures) - 1)
        if isinstance(value, list | tuple):
            return type(value)(slot(v) for v in value)
        return value

    slots = {k: slot(v) for k, v in args.items()}
    rendered = str(getattr(phrases(), key)(**slots))
    parts: list[str | Figure] = []
    for i, chunk in enumerate(_MARKER.split(rendered)):
        if i % 2:
            parts.append(figures[int(chunk)])
        elif chunk:
            parts.append(html.unescape(chunk))
    return Sentence(key, tuple(parts))


class Ref:
    """A block of the JSON twin and its path: makes figures whose values come from it.

    Because a figure's value is read from the very dict that becomes the twin,
    the text and the twin cannot disagree.
    """

    def __init__(
        self,
        path: str,
        data: Any,
        *,
        unit: str = "",
        decimals: int = 1,
        cadence: str = "weekly",
        value_decimals: int | None = None,
    ) -> None:
        self.path, self.data = path, data
        self.unit, self.decimals, self.cadence = unit, decimals, cadence
        self.value_decimals = decimals if value_decimals is None else value_decimals

    def get(self, key: str) -> Any:
        """The value at dotted ``key`` (``change.absolute``, ``signals.2.rule``) in this block."""
        value: Any = self.data
        for part in key.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
        return value

    def has(self, key: str) -> bool:
        """True when ``key`` exists and is not None."""
        try:
            return self.get(key) is not None
        except (KeyError, TypeError):
            return False

    def at(self, key: str) -> str:
        """The JSON path of ``key``: ``kpis[0].signals[2].rule`` (list items in brackets)."""
        out = self.path
        for part in key.split("."):
            if part.isdigit():
                out += f"[{part}]"
            else:
                out = f"{out}.{part}" if out else part
        return out

    def num(
        self,
        key: str,
        *,
        unit: str | None = None,
        decimals: int | None = None,
        magnitude: bool = False,
    ) -> Figure:
        """A number in the KPI's unit and decimals (or those given)."""
        dec = self.decimals if decimals is None else decimals
        return number(
            self.at(key),
            self.get(key),
            dec,
            self.unit if unit is None else unit,
            magnitude=magnitude,
        )

    def val(self, key: str) -> Figure:
        """A single observed value, at the precision the data has ("7 deals")."""
        return self.num(key, decimals=self.value_decimals)

    def pct(self, key: str, *, magnitude: bool = False) -> Figure:
        """A percentage (the twin stores percent with 1 decimal)."""
        return percent(self.at(key), self.get(key), magnitude=magnitude)

    def count(self, key: str, one: str, many: str) -> Figure:
        """A whole count with its noun: ``1 weekly value``, ``13 weekly values``."""
        n = self.get(key)
        return number(self.at(key), n, 0, one if n == 1 else many)

    def txt(self, key: str) -> Figure:
        """A text figure (name, label, note)."""
        return text(self.at(key), self.get(key))

    def when(self, key: str) -> Figure:
        """A KPI point's date, read by its cadence (``the week of 7 Sep 2026``)."""
        return date(self.at(key), self.get(key), self.cadence)

    def day(self, key: str) -> Figure:
        """A plain calendar day (``7 Sep 2026``)."""
        return date(self.at(key), self.get(key))


def values_word(cadence: str, n: int = 2) -> str:
    """``weekly values`` / ``monthly value`` for counts of points."""
    return f"{cadence} value{'' if n == 1 else 's'}"
