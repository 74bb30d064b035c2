"""Shards of a run: groups of its reports whose rows one kernel holds at a time.

A kernel takes the workspace and the period's analysis over instead of loading them
again; handed the whole organisation, each kernel of a big one holds gigabytes. A run's
reports are therefore split into shards by the department of each report's subject:
whole departments are grouped while a shard's subjects stay within ``bound`` people, and
a department bigger than that is split by team (its department-wide reports read its
teams' and its own figures but no person's rows, so they count no people and go wherever
they fit). A shard's rows are those its
reports may read (:func:`~kpinb.batch.planning.inputs_keys.related_rows` over all of its
reports), so a report built from its shard is the report the whole would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kpinb.batch.planning.inputs_keys import related_rows

if TYPE_CHECKING:
    from kpinb.batch.records import ReportJob
    from kpinb.workspace import Workspace

# subjects per shard: at 20,000 people a kernel then holds about a tenth of the whole
SHARD_PEOPLE = 2000


@dataclass(frozen=True)
class Shard:
    """Reports built from one narrowed workspace, and the rows they may read."""

    jobs: tuple[ReportJob, ...]
    people: frozenset[str]
    teams: frozenset[str]
    departments: frozenset[str]


@dataclass
class _Unit:
    """Reports that go into one shard together, and how many people their subjects are."""

    jobs: list[ReportJob]
    size: int


def shard_jobs(ws: Workspace, jobs: Sequence[ReportJob], bound: int = SHARD_PEOPLE) -> list[Shard]:
    """``jobs`` split into shards of at most about ``bound`` subject people each. Each
    job is in exactly one shard; the jobs of a shard keep their order. One shard when
    everything fits in one."""
    team_of = dict(
        zip(ws.people["employee_id"].astype(str), ws.people["team_id"].astype(str), strict=True)
    )
    department_of = dict(
        zip(ws.teams["team_id"].astype(str), ws.teams["department"].astype(str), strict=True)
    )
    members: dict[str, int] = {}
    for team in team_of.values():
        members[team] = members.get(team, 0) + 1
    headcount: dict[str, int] = {}
    for team, department in department_of.items():
        headcount[department] = headcount.get(department, 0) + members.get(team, 0)

    # department -> team ("" for the department's own reports) -> jobs
    by_place: dict[str, dict[str, list[ReportJob]]] = {}
    for job in jobs:
        scope, sid = job.files.scope, job.files.scope_id
        team = team_of.get(sid, "") if scope == "employee" else sid if scope == "team" else ""
        department = sid if scope == "department" else department_of.get(team, "")
        by_place.setdefault(department, {}).setdefault(team, []).append(job)

    units: list[_Unit] = []
    for department, teams in by_place.items():
        together = [j for part in teams.values() for j in part]
        if not department:  # subjects of no known department: their own rows only
            units.append(_Unit(together, len(together)))
            continue
        size = headcount.get(department, 0)
        if size <= bound:
            units.append(_Unit(together, size))
            continue
        if "" in teams:  # the department's own reports: its teams' figures, no people
            units.append(_Unit(teams.pop(""), 0))
        units.extend(_Unit(part, members.get(team, 0)) for team, part in teams.items())

    bins: list[_Unit] = []
    for unit in sorted(units, key=lambda u: -u.size):  # first fit, biggest first
        home = next((b for b in bins if b.size + unit.size <= bound), None)
        if home is None:
            bins.append(_Unit(list(unit.jobs), unit.size))
        else:
            home.jobs.extend(unit.jobs)
            home.size += unit.size

    order = {id(job): n for n, job in enumerate(jobs)}
    shards = []
    for part in bins:
        part_jobs = tuple(sorted(part.jobs, key=lambda j: order[id(j)]))
        people, teams_read, departments = related_rows(ws, [j.files for j in part_jobs])
        shards.append(
            Shard(part_jobs, frozenset(people), frozenset(teams_read), frozenset(departments))
        )
    return shards
