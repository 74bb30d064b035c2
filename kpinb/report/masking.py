"""Other people's names in journal text, masked for the employee view.

A person's own report may quote check-in notes that name colleagues; there each other
person's id, full name or unique first name becomes their role to the reader ("your
manager", "a colleague"). Manager and executive views show the text as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from kpinb.workspace import Workspace


def identity(value: str) -> str:
    """No masking (manager and executive views)."""
    return value


def privacy(ws: Workspace, eid: str) -> Callable[[str], str]:
    """Replace other people's names and ids in journal text by their role to this person.

    Full names and ids match in any case ("ALAN TURING", "e003"). A first name
    matches too, written as in people.csv ("Alan", not "alan": a lower-case first
    name is too often an ordinary word, like "will" or "grace"), when it is at least
    3 letters long and no other person (this one included) shares it. Nicknames,
    misspellings and surnames alone are not recognised (docs/report-json.md).
    The pattern is built on first use only: most reports have little or no journal text.
    """
    people = ws.people
    compiled: list[tuple[re.Pattern[str], dict[str, str], dict[str, str]]] = []

    def mask(text: str) -> str:
        if not text or len(people) < 2:
            return text
        if not compiled:
            compiled.append(_name_pattern(people, eid))
        pattern, anycase, exact = compiled[0]
        return pattern.sub(lambda m: anycase.get(m.group(0).lower()) or exact[m.group(0)], text)

    return mask


def _name_pattern(
    people: pd.DataFrame, eid: str
) -> tuple[re.Pattern[str], dict[str, str], dict[str, str]]:
    """The pattern of other people's ids, full names (any case) and unique first names
    (exact case), and the role each stands for."""
    me = people.loc[people["employee_id"] == eid].iloc[0]
    manager = str(me["manager_id"]) if pd.notna(me["manager_id"]) else ""
    own = str(me["name"]).lower()
    ids, names = people["employee_id"].astype(str), people["name"].astype(str)
    firsts = names.str.split().str[0].fillna("")
    counts = firsts.value_counts()
    anycase: dict[str, str] = {}
    exact: dict[str, str] = {}
    for pid, name, first in zip(ids, names, firsts, strict=True):
        if pid == eid:
            continue
        role = "your manager" if pid == manager else "a colleague"
        anycase[pid.lower()] = role
        if name and name.lower() != own:
            anycase.setdefault(name.lower(), role)
        if len(first) >= 3 and counts[first] == 1 and first != name:
            exact.setdefault(first, role)
    keys = [(k, True) for k in anycase] + [(k, False) for k in exact if k.lower() not in anycase]
    keys.sort(key=lambda kv: len(kv[0]), reverse=True)
    alternatives = [rf"(?<!\w){'(?i:' if ci else '(?:'}{re.escape(k)})(?!\w)" for k, ci in keys]
    return re.compile("|".join(alternatives)), anycase, exact
