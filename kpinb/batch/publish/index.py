"""The period's indexes, each for its audience.

``index.html`` is HR operations' own: it lists every report of the period by
department and team, with what each holds at a glance, the reports that could not be
generated and why, and the workspace's data-quality notes. Each manager gets
``managers/<id>.html``, the same page listing only the reports that are theirs to read
(:mod:`.recipients`: their people's manager-view reports, their team's report, their
own). An employee's own index is their bundle's (:mod:`.bundles`).

A page of a view this run did not build (a run without ``--views manager`` after one
with it) is not linked as current: it is listed apart, as from an earlier run with its
build date, so nobody follows a link to notes that miss what happened since without
being told. Indexes are written at the end of a run (by :mod:`kpinb.batch.period_run`,
atomically); ``run.json`` is :mod:`.manifest`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kpinb.batch.planning.plan import PRIMARY_VIEW
from kpinb.batch.publish.glance import GLANCE_KEYS
from kpinb.batch.publish.recipients import readers_by_report, team_managers
from kpinb.filenames import safe_name
from kpinb.templating import environment, stylesheet
from kpinb.text import display_text

if TYPE_CHECKING:
    from kpinb.workspace import Workspace

FAILED_TEXT = "could not be generated"
HR_INDEX = "index.html"
MANAGERS_DIR = "managers"  # managers/<id>.html: a manager's own index
HR_BANNER = "For HR operations: links every report"
REASON_CHARS = 300  # a failure's reason is cut to its first line and this many characters


def org_chart(ws: Workspace) -> dict[str, dict[str, dict[str, str]]]:
    """Who sits where, for the index: per employee their team and manager's name, per
    team its name, department and manager (the person most of its members report to).

    ``{"employees": {id: {"team_id", "manager"}}, "teams": {id: {"name", "department",
    "manager"}}}``; names are display text, a missing manager is ``""``.
    """
    people = ws.people
    ids = people["employee_id"].astype(str).tolist()
    names = dict(zip(ids, people["name"].astype(str), strict=True))
    bosses = [
        "" if m is None or m != m else str(m)  # NA or NaN: the top of the chain
        for m in people["manager_id"].astype(object).tolist()
    ]
    team_of = people["team_id"].astype(str).tolist()
    leads = team_managers(ws)
    employees = {
        eid: {"team_id": tid, "manager": display_text(names.get(boss, ""))}
        for eid, tid, boss in zip(ids, team_of, bosses, strict=True)
    }
    teams = {}
    for tid, name, dept in zip(
        ws.teams["team_id"].astype(str),
        ws.teams["name"].astype(str),
        ws.teams["department"].astype(str),
        strict=True,
    ):
        boss = leads.get(tid, "")
        teams[tid] = {
            "name": display_text(name),
            "department": display_text(dept),
            "manager": display_text(names.get(boss, "")),
        }
    return {"employees": employees, "teams": teams}


def split_current(
    records: Iterable[Mapping[str, Any]], views: Iterable[tuple[str, str]] | None
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The records of views this run built (``views``: its ``(scope, view)`` pairs; None:
    all), and the published pages of the other views, from earlier runs."""
    if views is None:
        return list(records), []
    chosen = set(views)
    current, older = [], []
    for record in records:
        if (record.get("scope"), record.get("view")) in chosen:
            current.append(record)
        elif record.get("html_sha256"):  # a page is there to read
            older.append(record)
    return current, older


def older_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """``run.json``'s list of pages from earlier runs: what, where and when built."""
    return [
        {
            "scope": str(r["scope"]),
            "id": str(r["scope_id"]),
            "view": str(r["view"]),
            "html": str(r["html"]),
            "built": str(r.get("updated", "")),
        }
        for r in sorted(records, key=_record_order)
    ]


def render_indexes(
    ws: Workspace,
    *,
    period: str,
    records: Iterable[Mapping[str, Any]],
    views: Iterable[tuple[str, str]] | None,
    warnings: Iterable[str],
    private: str = "",
    success: str = "0.7",
) -> dict[str, str]:
    """Every index of the period by path in the period folder: HR operations'
    ``index.html`` and each manager's ``managers/<id>.html`` (only their readings).

    ``records`` are the published reports' state records; those of views outside
    ``views`` (this run's ``(scope, view)`` pairs) are listed as from earlier runs.
    """
    current, older = split_current(records, views)
    org = org_chart(ws)
    readers = readers_by_report(
        ws, [(str(r["scope"]), str(r["scope_id"]), str(r["view"])) for r in [*current, *older]]
    )

    def mine(person: str, recs: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return [r for r in recs if person in readers[(r["scope"], str(r["scope_id"]), r["view"])]]

    names = dict(zip(ws.people["employee_id"].astype(str), ws.people["name"], strict=True))
    # a manager: someone who reads a report other than their own
    others = {
        p for (scope, sid, _), ps in readers.items() for p in ps if (scope, sid) != ("employee", p)
    }
    managers = sorted(
        others & set(names),
        key=lambda p: (display_text(str(names[p])), p),
    )
    pages = {}
    links = [
        {"name": display_text(str(names[m])), "href": f"{MANAGERS_DIR}/{safe_name(m)}.html"}
        for m in managers
    ]
    pages[HR_INDEX] = render_index(
        period=period,
        records=current,
        older=older,
        warnings=warnings,
        org=org,
        private=private,
        success=success,
        audience={"kind": "hr", "managers": links},
    )
    for manager, link in zip(managers, links, strict=True):
        listed = mine(manager, current)
        pages[link["href"]] = render_index(
            period=period,
            records=listed,
            older=mine(manager, older),
            warnings=[],
            org=org,
            private=private,
            success=success,
            audience={"kind": "manager", "name": link["name"], "holds": _holds(manager, listed)},
            prefix="../",
        )
    return pages


def _holds(manager: str, records: Iterable[Mapping[str, Any]]) -> str:
    """What a manager's index lists, in words (``your own report, 6 of your people's and
    your team's``): said from the records themselves, so a run that built no manager
    views never promises the manager their people's reports."""
    records = list(records)
    own = any(r["scope"] == "employee" and str(r["scope_id"]) == manager for r in records)
    people = len({str(r["scope_id"]) for r in records if r["scope"] == "employee"} - {manager})
    groups = sum(r["scope"] != "employee" for r in records)
    parts = ["your own report"] if own else []
    if people:
        parts.append(f"{people} of your people's" if people > 1 else "one of your people's")
    if groups:
        parts.append("your team's" if groups == 1 else "your teams'")
    if not parts:
        return "no report of this run is yours to read"
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    missing = "" if people else "; no report on your people was made in this run"
    return f"{listed}{missing}"


def render_index(
    *,
    period: str,
    records: Iterable[Mapping[str, Any]],
    warnings: Iterable[str],
    org: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
    private: str = "",
    success: str = "0.7",
    older: Iterable[Mapping[str, Any]] = (),
    audience: Mapping[str, Any] | None = None,
    prefix: str = "",
) -> str:
    """The period's ``index.html``: every report grouped by department and team, what
    each holds at a glance, failures with their reason, and the data-quality summary.

    ``records`` are the per-report state records (scope, scope_id, name, view,
    status, html, updated, error, and the at-a-glance counts of
    :mod:`kpinb.batch.publish.glance`); ``org`` is :func:`org_chart` of the workspace (without
    it, or for a report whose subject it does not place, the report is listed under
    "Other reports"). ``private`` names the folder of failure details, relative to the
    reports folder. ``warnings`` are the workspace's data-quality warnings as
    sentences. ``success`` is the workspace's success line (goals at it or above are
    counted). ``older`` are pages of views this run did not build: listed apart, with
    their build date. ``audience`` says whose page it is: ``{"kind": "hr", "managers":
    [{"name", "href"}]}`` (the default, HR operations') or ``{"kind": "manager",
    "name"}``; ``prefix`` leads every link to a report (``../`` from ``managers/``).
    Every value is escaped by the template. The page depends on its arguments only (its
    date is the latest report's), so an unchanged period gives the same bytes and the
    file is left alone.
    """
    records = list(records)
    subjects: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in sorted(records, key=_record_order):
        subjects.setdefault((record["scope"], str(record["scope_id"])), []).append(record)
    rows = {key: _subject_row(key[0], recs, org, prefix) for key, recs in subjects.items()}
    departments, other = _group(rows, org)
    audience = audience or {"kind": "hr", "managers": []}
    title = f"kpinb reports {period}"
    if audience["kind"] == "hr":
        title += ", HR operations: every report"
    else:
        title += f" for {audience['name']}"
    template = environment().get_template("run_index.html.j2")
    return template.render(
        index_title=title,
        audience=audience,
        hr_banner=HR_BANNER,
        older=_older_links(older, prefix),
        period=period,
        departments=departments,
        other=other,
        attention=sum(len(r["failures"]) for r in rows.values()),
        warnings=[display_text(w) for w in warnings],
        generated=_latest(records),
        private=private,
        success=success,
        css=stylesheet("index"),
    )


def _older_links(records: Iterable[Mapping[str, Any]], prefix: str) -> list[dict[str, str]]:
    """The older pages as the index lists them: name, view, link and build date."""
    return [
        {
            "name": display_text(str(r.get("name") or r["scope_id"])),
            "scope": str(r["scope"]),
            "view": str(r["view"]),
            "href": prefix + str(r["html"]),
            "built": str(r.get("updated", ""))[:16].replace("T", " "),
        }
        for r in sorted(records, key=_record_order)
    ]


def _record_order(record: Mapping[str, Any]) -> tuple[str, str, int, str]:
    primary = PRIMARY_VIEW.get(record["scope"]) == record["view"]
    return (record["scope"], str(record["scope_id"]), 0 if primary else 1, record["view"])


def _latest(records: list[Mapping[str, Any]]) -> str:
    """When the newest published report was written (``2026-10-01 08:00``), or ''."""
    stamps = [str(r.get("updated", "")) for r in records if r.get("status") == "ok"]
    return max(stamps, default="")[:16].replace("T", " ")


def _subject_row(
    scope: str, records: list[Mapping[str, Any]], org: Mapping[str, Any] | None, prefix: str = ""
) -> dict[str, Any]:
    """One line of the index: a person, team or department, its reports (one per view,
    the primary first), the at-a-glance counts of its first published report, and
    every view that could not be generated this time, with the reason."""
    first = records[0]
    scope_id = str(first["scope_id"])
    links, failures, counts = [], [], None
    for record in records:
        published = bool(record.get("html_sha256"))
        if published:
            links.append(
                {
                    "view": record["view"],
                    "href": prefix + record["html"],
                    "json": prefix + record["json"],
                }
            )
        if record["status"] != "ok":
            failures.append(
                {
                    "view": record["view"],
                    "reason": _reason(record.get("error")),
                    "kept_previous": published,
                }
            )
        elif counts is None and all(k in record for k in GLANCE_KEYS):
            counts = {k: int(record[k]) for k in GLANCE_KEYS}
    place = ((org or {}).get("employees") or {}).get(scope_id) if scope == "employee" else None
    return {
        "scope": scope,
        "scope_id": display_text(scope_id),
        "name": display_text(first.get("name") or scope_id),
        "manager": place["manager"] if place else "",
        "links": links,
        "failures": failures,
        "glance": counts,
    }


def _reason(error: Any) -> str:
    """The first line of a failure's reason, cut to :data:`REASON_CHARS` characters."""
    lines = [line.strip() for line in str(error or "").splitlines() if line.strip()]
    text = display_text(lines[0]) if lines else "no reason was recorded"
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3].rstrip() + "..."


def _group(
    rows: dict[tuple[str, str], dict[str, Any]], org: Mapping[str, Any] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows by department, then team (its report first, then its people by name);
    rows ``org`` cannot place go to the second list."""
    teams_org = (org or {}).get("teams") or {}
    people_org = (org or {}).get("employees") or {}
    departments: dict[str, dict[str, Any]] = {}

    def department(name: str) -> dict[str, Any]:
        return departments.setdefault(name, {"name": name, "overview": None, "teams": {}})

    def team(tid: str) -> dict[str, Any]:
        info = teams_org[tid]
        teams = department(info["department"])["teams"]
        return teams.setdefault(
            tid,
            {
                "team_id": display_text(tid),
                "name": info["name"],
                "manager": info["manager"],
                "report": None,
                "people": [],
            },
        )

    other = []
    for (scope, scope_id), row in rows.items():
        if scope == "department" and org is not None:
            department(display_text(scope_id))["overview"] = row
        elif scope == "team" and scope_id in teams_org:
            team(scope_id)["report"] = row
        elif scope == "employee" and people_org.get(scope_id, {}).get("team_id") in teams_org:
            team(people_org[scope_id]["team_id"])["people"].append(row)
        else:
            other.append(row)
    out = []
    for name in sorted(departments):
        dept = departments[name]
        teams = sorted(dept["teams"].values(), key=lambda t: (t["name"], t["team_id"]))
        for t in teams:
            t["people"].sort(key=lambda r: (r["name"], r["scope_id"]))
        out.append({**dept, "teams": teams})
    return out, other
