"""Who reads which report: the audiences of the views, as people with addresses.

Each report a run built goes to the readers of its view, and to nobody else: an
employee's own report (employee view) to that employee, an employee's manager-view report
to their manager (``manager_id``), a team's manager-view report to the team's manager
(the person most of its members report to, as the index names them), a department's
report and the calibration pack to the named HR partners of that department
(:mod:`.delivery_settings`). Other executive-view reports have no default reader: they
are not delivered. A person is reached at the ``email`` of ``people.csv``; one without a
valid address cannot be, and is named with what they would have received.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpinb.batch.publish.delivery_settings import HrPartner
    from kpinb.workspace import Workspace

CALIBRATION = "calibration"  # report ids of the pack: calibration/all, calibration/<dept>


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


def readers_of(
    scope: str,
    scope_id: str,
    view: str,
    bosses: Mapping[str, str],
    leads: Mapping[str, str],
    partners: Iterable[HrPartner] = (),
) -> list[str]:
    """The reader ids of this report by default (none: no default reader); ``bosses``
    maps employees to managers, ``leads`` teams to their managers, ``partners`` are the
    named HR partners (a department's report goes to those who cover it)."""
    if scope == "employee" and view == "employee":
        return [scope_id]
    if scope == "employee" and view == "manager":
        return [bosses[scope_id]] if bosses.get(scope_id) else []
    if scope == "team" and view == "manager":
        return [leads[scope_id]] if scope_id in leads else []
    if scope == "department":
        return [p.reader_id for p in partners if p.covers(scope_id)]
    return []


def readers_by_report(
    ws: Workspace, reports: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], list[str]]:
    """Each ``(scope, id, view)``'s people-readers (no HR partners): for indexes."""
    bosses, leads = _managers(ws), team_managers(ws)
    return {key: readers_of(*key, bosses, leads) for key in reports}


def recipients(
    ws: Workspace,
    rows: Iterable[Mapping[str, Any]],
    *,
    exists: Any = None,
    partners: Iterable[HrPartner] = (),
    calibration: Mapping[str, Any] | None = None,
) -> tuple[list[Recipient], list[str]]:
    """The readers of the built reports ``rows`` (``run.json``'s report rows; failed ones
    are left out), people in people order then HR partners, and the ids of reports
    nobody reads by default.

    ``exists(relative_path) -> bool`` says whether a report's PDF was built beside its
    page; ``calibration`` is ``run.json``'s record of the pack this run built (its
    ``index``, ``workbook`` and page per department), read by the HR partners: the whole
    pack by those who cover every department, a department's page by the others.
    """
    from kpinb.workspace.checks import valid_address

    partners = tuple(partners)
    names = dict(zip(ws.people["employee_id"].astype(str), ws.people["name"], strict=True))
    teams = dict(zip(ws.teams["team_id"].astype(str), ws.teams["name"], strict=True))
    emails = ws.people["email"].astype(object)
    addresses = {
        str(e): str(a).strip()
        for e, a in zip(ws.people["employee_id"], emails, strict=True)
        if isinstance(a, str) and valid_address(a.strip())
    }
    people = {e: Recipient(e, str(n), addresses.get(e)) for e, n in names.items()}
    hr = {p.reader_id: Recipient(p.reader_id, p.name, p.email) for p in partners}
    bosses, leads = _managers(ws), team_managers(ws)
    found: dict[str, Recipient] = {}
    nobody: list[str] = []
    for row in rows:
        if row.get("status") == "failed":
            continue
        scope, sid, view = str(row["scope"]), str(row["id"]), str(row["view"])
        rid = report_id(scope, sid, view)
        chosen = readers_of(scope, sid, view, bosses, leads, partners)
        readers = [r for r in chosen if r in people or r in hr]
        if not readers:
            nobody.append(rid)
            continue
        page = str(row["html"])
        pdf = page.removesuffix(".html") + ".pdf"
        files = (page, pdf) if exists is not None and exists(pdf) else (page,)
        parcel = Parcel(rid, _title(scope, sid, view, names, teams), files)
        for reader in readers:
            found.setdefault(reader, people.get(reader) or hr[reader]).parcels.append(parcel)
    for partner in partners if calibration else ():
        assert calibration is not None
        pages = calibration.get("departments", {})
        if partner.departments is None:
            files = (str(calibration["index"]), *pages.values(), str(calibration["workbook"]))
            parcel = Parcel(f"{CALIBRATION}/all", "calibration pack, every department", files)
            found.setdefault(partner.reader_id, hr[partner.reader_id]).parcels.append(parcel)
            continue
        for dept in partner.departments:
            if dept in pages:
                parcel = Parcel(
                    f"{CALIBRATION}/{dept}", f"calibration pack, {dept}", (str(pages[dept]),)
                )
                found.setdefault(partner.reader_id, hr[partner.reader_id]).parcels.append(parcel)
    order = {e: i for i, e in enumerate([*names, *hr])}
    return sorted(found.values(), key=lambda r: order[r.person_id]), nobody


def _title(
    scope: str, sid: str, view: str, names: Mapping[str, Any], teams: Mapping[str, Any]
) -> str:
    """How a message or bundle names a report: ``José Núñez (manager view)``."""
    if scope == "employee" and view == "employee":
        return f"{names.get(sid, sid)} (your own report)"
    if scope == "employee":
        return f"{names.get(sid, sid)} ({view} view)"
    if scope == "team":
        return f"team {teams.get(sid, sid)}"
    return f"department {sid}"
