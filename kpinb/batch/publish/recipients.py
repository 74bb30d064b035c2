"""Who reads which report: the audiences of the views, as people with addresses.

Each report a run built goes to the readers of its view, and to nobody else: an
employee's own report (employee view) to that employee, an employee's manager-view report
to their manager (``manager_id``), a team's manager-view report to the team's manager
(the person most of its members report to, as the index names them). Executive-view
and department reports have no default reader: they are not delivered. A reader is
reached at the ``email`` of ``people.csv``; one without a valid address cannot be, and
is named with what they would have received.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpinb.workspace import Workspace


@dataclass(frozen=True)
class Parcel:
    """One built report as it travels: its id, what it is called, its files (relative to
    the period folder: the page, and the PDF when one was built)."""

    report_id: str  # scope/id/view, e.g. employee/E002/manager
    title: str
    files: tuple[str, ...]


@dataclass
class Recipient:
    """One reader and the reports they receive."""

    person_id: str
    name: str
    address: str | None  # None: no valid address, cannot be reached
    parcels: list[Parcel] = field(default_factory=list)


def report_id(scope: str, scope_id: str, view: str) -> str:
    """``employee/E002/manager``: a built report's id in messages and the delivery log."""
    return f"{scope}/{scope_id}/{view}"


def team_managers(ws: Workspace) -> dict[str, str]:
    """Each team's manager: the person most of its members report to (ties go to the
    smallest id, so it is stable); teams whose members report to nobody are left out."""
    counts: dict[str, Counter[str]] = {}
    for tid, boss in zip(ws.people["team_id"].astype(str), _managers(ws).values(), strict=True):
        if boss:
            counts.setdefault(tid, Counter())[boss] += 1
    return {tid: min(c, key=lambda b: (-c[b], b)) for tid, c in counts.items()}


def _managers(ws: Workspace) -> dict[str, str]:
    """Employee id to manager id (``""`` at the top of the chain)."""
    return {
        str(e): "" if m is None or m != m else str(m)  # NA or NaN: the top
        for e, m in zip(
            ws.people["employee_id"], ws.people["manager_id"].astype(object), strict=True
        )
    }


def reader_of(
    scope: str, scope_id: str, view: str, bosses: Mapping[str, str], leads: Mapping[str, str]
) -> str | None:
    """The person id that reads this report by default, or None (no default reader);
    ``bosses`` maps employees to managers, ``leads`` teams to their managers."""
    if scope == "employee" and view == "employee":
        return scope_id
    if scope == "employee" and view == "manager":
        return bosses.get(scope_id) or None
    if scope == "team" and view == "manager":
        return leads.get(scope_id)
    return None


def recipients(
    ws: Workspace, rows: Iterable[Mapping[str, Any]], *, exists: Any = None
) -> tuple[list[Recipient], list[str]]:
    """The readers of the built reports ``rows`` (``run.json``'s report rows; failed ones
    are left out), in people order, and the ids of reports nobody reads by default.

    ``exists(relative_path) -> bool`` says whether a report's PDF was built beside its page.
    """
    from kpinb.workspace.checks import valid_address

    names = dict(zip(ws.people["employee_id"].astype(str), ws.people["name"], strict=True))
    teams = dict(zip(ws.teams["team_id"].astype(str), ws.teams["name"], strict=True))
    emails = ws.people["email"].astype(object)
    addresses = {
        str(e): str(a).strip()
        for e, a in zip(ws.people["employee_id"], emails, strict=True)
        if isinstance(a, str) and valid_address(a.strip())
    }
    bosses, leads = _managers(ws), team_managers(ws)
    found: dict[str, Recipient] = {}
    nobody: list[str] = []
    for row in rows:
        if row.get("status") == "failed":
            continue
        scope, sid, view = str(row["scope"]), str(row["id"]), str(row["view"])
        rid = report_id(scope, sid, view)
        reader = reader_of(scope, sid, view, bosses, leads)
        if reader is None or reader not in names:
            nobody.append(rid)
            continue
        page = str(row["html"])
        pdf = page.removesuffix(".html") + ".pdf"
        files = (page, pdf) if exists is not None and exists(pdf) else (page,)
        about = names.get(sid, sid) if scope == "employee" else teams.get(sid, sid)
        title = f"{about} ({view} view)" if scope == "employee" else f"team {about}"
        if scope == "employee" and view == "employee":
            title = f"{about} (your own report)"
        person = found.setdefault(
            reader, Recipient(reader, str(names[reader]), addresses.get(reader))
        )
        person.parcels.append(Parcel(rid, title, files))
    order = {e: i for i, e in enumerate(names)}
    return sorted(found.values(), key=lambda r: order[r.person_id]), nobody
