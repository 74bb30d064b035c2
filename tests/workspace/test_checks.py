"""Checks across tables, called directly."""

from __future__ import annotations

import pandas as pd

from kpinb.workspace.checks import manager_loops
from kpinb.workspace.readers import RawTable


def _people(manager: dict[str, str | None]) -> tuple[pd.DataFrame, RawTable]:
    people = pd.DataFrame(
        {"employee_id": list(manager), "manager_id": pd.array(list(manager.values()), "string")}
    )
    return people, RawTable(people.astype(object), "people.csv", 2)


def test_only_people_on_a_loop_are_named() -> None:
    # A -> B -> C -> A is a loop; D and E report into it without being on it; F manages
    # herself; G -> H -> (nobody) and I -> H end at the top
    people, raw = _people(
        {
            "D": "E",
            "E": "A",
            "A": "B",
            "B": "C",
            "C": "A",
            "F": "F",
            "G": "H",
            "H": None,
            "I": "H",
        }
    )
    [problem] = manager_loops(people, raw)
    text = str(problem)
    assert "rows 4, 5, 6, 7" in text  # A, B, C, F (D on row 2 and E on row 3 are not)
    assert "'A', 'B', 'C', 'F' loops back" in text


def test_a_long_chain_with_a_loop_at_its_top() -> None:
    # 4,000 people each managed by the next; the last three manage each other in a loop
    n = 4000
    manager: dict[str, str | None] = {f"P{i:04d}": f"P{i + 1:04d}" for i in range(n - 1)}
    manager[f"P{n - 1:04d}"] = f"P{n - 3:04d}"
    people, raw = _people(manager)
    [problem] = manager_loops(people, raw)
    assert f"rows {n - 1}, {n}, {n + 1}, column 'manager_id'" in str(problem)
    manager[f"P{n - 1:04d}"] = None  # the top has no manager: no loop
    people, raw = _people(manager)
    assert manager_loops(people, raw) == []
