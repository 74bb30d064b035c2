"""Row filters written in ``kpis.yaml`` (``where: "stage == 'won' and amount > 0"``).

A filter is parsed by a tiny grammar, never evaluated as code: comparisons
``column op value`` joined by ``and``, where ``op`` is one of ``== != < <= > >=``,
``in`` or ``not in`` (a list in brackets or parentheses), or ``column is null`` /
``column is not null``. A value is a quoted text (``'won'``) or a number. Text
compares as text (trimmed), a number compares with the cell read as a number.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

Value = str | float
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<text>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<op>==|!=|<=|>=|<|>)
    | (?P<punct>[\[\]\(\),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
SYNTAX = (
    "write comparisons joined by 'and', such as: stage == 'won' and amount > 0 "
    "(operators: == != < <= > >= in, not in, is null, is not null; text in quotes)"
)


class FilterError(ValueError):
    """A filter that does not follow the grammar; the message says where."""


@dataclass(frozen=True)
class Condition:
    """One comparison: ``column op value`` (``values`` for ``in``, none for ``is null``)."""

    column: str
    op: str  # one of _OPS, "in", "not in", "is null", "is not null"
    values: tuple[Value, ...] = ()


@dataclass(frozen=True)
class RowFilter:
    """Comparisons that must all hold (an empty filter keeps every row)."""

    text: str
    conditions: tuple[Condition, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the filter reads, each once, in order."""
        return tuple(dict.fromkeys(c.column for c in self.conditions))

    def numeric_columns(self) -> tuple[str, ...]:
        """The columns compared with a number (their cells must be numbers)."""
        return tuple(
            dict.fromkeys(
                c.column for c in self.conditions if any(isinstance(v, float) for v in c.values)
            )
        )

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of ``frame`` (text or typed columns) the filter keeps."""
        keep = np.ones(len(frame), dtype=bool)
        for cond in self.conditions:
            keep &= _condition_mask(frame[cond.column], cond)
        return keep


def parse_filter(text: str) -> RowFilter:
    """Parse ``text``; raises :class:`FilterError` saying what is wrong and where."""
    tokens = _tokens(text)
    conditions: list[Condition] = []
    i = 0

    def expect(what: str) -> tuple[str, str]:
        nonlocal i
        if i >= len(tokens):
            raise FilterError(f"{text!r} ends where {what} was expected")
        i += 1
        return tokens[i - 1]

    while i < len(tokens):
        kind, column = expect("a column name")
        if kind != "word" or column.lower() in ("and", "in", "not", "is", "null"):
            raise FilterError(f"{text!r}: expected a column name, found {column!r}")
        kind, op = expect("an operator")
        if kind == "op":
            conditions.append(Condition(column.lower(), op, (_value(expect("a value"), text),)))
        elif kind == "word" and op.lower() == "is":
            kind, word = expect("null or not null")
            negated = word.lower() == "not"
            if negated:
                kind, word = expect("null")
            if word.lower() != "null":
                raise FilterError(f"{text!r}: expected 'null' after 'is', found {word!r}")
            conditions.append(Condition(column.lower(), "is not null" if negated else "is null"))
        elif kind == "word" and op.lower() in ("in", "not"):
            if op.lower() == "not" and expect("in")[1].lower() != "in":
                raise FilterError(f"{text!r}: expected 'in' after 'not'")
            values = _list(expect, text)
            name = "not in" if op.lower() == "not" else "in"
            conditions.append(Condition(column.lower(), name, values))
        else:
            raise FilterError(f"{text!r}: expected an operator after {column!r}, found {op!r}")
        if i < len(tokens):
            kind, word = expect("'and'")
            if kind != "word" or word.lower() != "and" or i >= len(tokens):
                raise FilterError(f"{text!r}: expected 'and' and a comparison, found {word!r}")
    if not conditions:
        raise FilterError("the filter is empty")
    return RowFilter(text, tuple(conditions))


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        found = _TOKEN.match(text, at)
        if not found or found.end() == at:
            raise FilterError(f"{text!r}: cannot read {text[at:].strip()[:20]!r}")
        kind = found.lastgroup or ""
        out.append((kind, found[kind]))
        at = found.end()
    return out


def _value(token: tuple[str, str], text: str) -> Value:
    kind, raw = token
    if kind == "text":
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if kind == "number":
        return float(raw)
    raise FilterError(f"{text!r}: expected a quoted text or a number, found {raw!r}")


def _list(expect: Callable[[str], tuple[str, str]], text: str) -> tuple[Value, ...]:
    _, opening = expect("a list in brackets")
    if opening not in ("(", "["):
        raise FilterError(f"{text!r}: expected a list such as ('won', 'lost'), found {opening!r}")
    closing = ")" if opening == "(" else "]"
    values: list[Value] = []
    while True:
        token = expect(f"a value or {closing!r}")
        if token[1] == closing and not values:
            break
        values.append(_value(token, text))
        _, sep = expect(f"',' or {closing!r}")
        if sep == closing:
            break
        if sep != ",":
            raise FilterError(f"{text!r}: expected ',' or {closing!r}, found {sep!r}")
    if not values:
        raise FilterError(f"{text!r}: the list is empty")
    return tuple(values)


def _condition_mask(col: pd.Series, cond: Condition) -> np.ndarray:
    if cond.op == "is null":
        return col.isna().to_numpy(bool)
    if cond.op == "is not null":
        return col.notna().to_numpy(bool)
    numbers = pd.to_numeric(col, errors="coerce") if cond.values else col
    text = col.astype("string").str.strip()
    masks = []
    for value in cond.values:
        side = numbers if isinstance(value, float) else text
        op = operator.eq if cond.op in ("in", "not in") else _OPS[cond.op]
        masks.append(pd.Series(op(side, value), index=col.index).fillna(False).to_numpy(bool))
    hit = np.logical_or.reduce(masks)
    if cond.op == "not in":
        return ~hit & col.notna().to_numpy(bool)
    return hit
