"""Planning a run: which reports a period has, their files, parameters and inputs keys.

Each scope (employee, team, department) is published in its primary view, plus
any other requested view it offers. Planning names every report's files (two ids
that would share a file stop the run), checks that each notebook declares exactly
the parameters the batch sends, and gives each report its inputs key
(:mod:`kpinb.batch.planning.inputs_keys`). Nothing here runs a notebook or writes a file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kpinb.batch.planning.inputs_keys import inputs_keys
from kpinb.batch.records import ReportFiles, ReportJob
from kpinb.errors import BatchError, UsageError
from kpinb.filenames import safe_name
from kpinb.scopes import ALL_VIEWS, SCOPE_VIEWS
from kpinb.text import display_text

if TYPE_CHECKING:
    from kpinb.periods import Period
    from kpinb.workspace import Workspace

NOTEBOOKS = {
    "employee": "employee_report.ipynb",
    "team": "team_report.ipynb",
    "department": "department_report.ipynb",
}


def find_notebooks_dir() -> Path:
    """The folder of kpinb's report notebooks.

    An installed wheel carries them inside the package (``kpinb/_notebooks``, copied
    from the repository's ``notebooks/`` at build time); a checkout (an editable
    install) uses the repository's ``notebooks/`` itself.
    """
    package = Path(__file__).resolve().parents[2]
    for folder in (package / "_notebooks", package.parent / "notebooks"):
        if all((folder / name).is_file() for name in NOTEBOOKS.values()):
            return folder
    return package.parent / "notebooks"  # missing: make_jobs names it in its error


NOTEBOOKS_DIR = find_notebooks_dir()
ID_PARAMETER = {"employee": "employee_id", "team": "team_id", "department": "department"}
# the view each scope is published in by default, to <dir>/<id>.html
PRIMARY_VIEW = {"employee": "employee", "team": "manager", "department": "executive"}


@dataclass(frozen=True)
class Request:
    """A report asked for: scope, id, view, whether it is the scope's primary view, name."""

    scope: str
    scope_id: str
    view: str
    primary: bool
    name: str


def scope_members(ws: Workspace, per: Period) -> dict[str, dict[str, str]]:
    """Every scope's ids and display names: employees who started by the period's end,
    every team, every department."""
    people = ws.people[ws.people["start_date"] <= per.end]
    return {
        "employee": dict(
            zip(people["employee_id"].astype(str), people["name"].astype(str), strict=True)
        ),
        "team": dict(
            zip(ws.teams["team_id"].astype(str), ws.teams["name"].astype(str), strict=True)
        ),
        "department": {d: d for d in sorted(set(ws.teams["department"].astype(str)))},
    }


def scope_views(scope: str, views: Sequence[str] | None) -> list[str]:
    """The views of ``scope`` a run with ``views`` builds (None: the primary view)."""
    if views is None:
        return [PRIMARY_VIEW[scope]]
    return [v for v in SCOPE_VIEWS[scope] if v in views]


def view_pairs(views: Sequence[str] | None) -> frozenset[tuple[str, str]]:
    """Every ``(scope, view)`` a run with ``views`` builds: the pages it makes current."""
    return frozenset((scope, v) for scope in SCOPE_VIEWS for v in scope_views(scope, views))


def plan_requests(
    ws: Workspace,
    per: Period,
    *,
    views: Sequence[str] | None = None,
    only: Iterable[str] | None = None,
) -> list[Request]:
    """The reports of a run: for each scope, each requested view it offers, each id.

    Raises :class:`UsageError` when ``only`` names an id found in no scope.
    """
    members = scope_members(ws, per)
    wanted = _check_only(only, members)
    requests = []
    for scope, ids in members.items():
        chosen = scope_views(scope, views)
        for scope_id, name in ids.items():
            if wanted is not None and scope_id not in wanted:
                continue
            for view in chosen:
                requests.append(Request(scope, scope_id, view, view == PRIMARY_VIEW[scope], name))
    return requests


def _check_only(only: Iterable[str] | None, members: dict[str, dict[str, str]]) -> set[str] | None:
    if only is None:
        return None
    asked = {str(i).strip() for i in only if str(i).strip()}
    known = set().union(*members.values())
    # a team's name stands for its id ("Sales North" is T01), unless it is an id itself
    by_name: dict[str, set[str]] = {}
    for team_id, name in members["team"].items():
        by_name.setdefault(name.strip(), set()).add(team_id)
    wanted = set()
    for item in asked:
        wanted |= {item} if item in known else by_name.get(item, {item})
    unknown = sorted(wanted - known)
    known |= set(by_name)  # for the hints
    if unknown:
        import difflib

        hints = [
            f"{u!r} (did you mean {', '.join(map(repr, near))}?)"
            if (near := difflib.get_close_matches(u, known, n=3))
            else repr(u)
            for u in unknown
        ]
        msg = (
            f"--only names id(s) not in the workspace for this period: {'; '.join(hints)}. "
            "Use employee ids, team ids or names, or department names."
        )
        raise UsageError(msg)
    return wanted


def make_jobs(
    ws: Workspace, per: Period, requests: Sequence[Request], *, notebooks_dir: Path
) -> list[ReportJob]:
    """Jobs for ``requests``: safe file names (collisions stop the run), parameters, keys.

    Raises :class:`BatchError` on a file-name collision or when a notebook's
    parameters differ from what the batch sends. Collisions are checked over every
    report the period can hold, not only those asked for: a run limited by ``--only``
    or ``--views`` must not publish a file that another id's report would overwrite.
    """
    everyone = plan_requests(ws, per, views=ALL_VIEWS)
    plan_files((r.scope, r.scope_id, r.view, r.primary) for r in everyone)
    files = plan_files((r.scope, r.scope_id, r.view, r.primary) for r in requests)
    scopes = sorted({r.scope for r in requests})
    notebooks = {scope: notebooks_dir / NOTEBOOKS[scope] for scope in scopes}
    for scope in scopes:
        check_parameters(notebooks[scope], expected_parameters(scope))
    workspace = str(Path(ws.root).resolve()) if ws.root is not None else ""
    jobs = [
        ReportJob(
            f,
            display_text(r.name),
            notebooks[r.scope],
            job_parameters(r.scope, r.scope_id, per.label, r.view, workspace),
        )
        for r, f in zip(requests, files, strict=True)
    ]
    keys = inputs_keys(ws, per, jobs)
    return [ReportJob(j.files, j.name, j.notebook, j.parameters, keys[j.files]) for j in jobs]


def plan_files(requests: Iterable[tuple[str, str, str, bool]]) -> list[ReportFiles]:
    """File names for ``(scope, scope_id, view, primary)`` requests, checked for collisions.

    The primary view of a scope is written to ``<id>.html``, any other view to
    ``<id>.<view>.html``. Names are compared case-insensitively (macOS and Windows
    file systems would merge ``E001`` and ``e001``): if two reports would share a
    file, :class:`BatchError` lists every such pair before anything is written.
    """
    planned = []
    for scope, scope_id, view, primary in requests:
        stem = safe_name(scope_id) if primary else f"{safe_name(scope_id)}.{view}"
        planned.append(ReportFiles(scope, scope_id, view, stem))
    _check_collisions(planned)
    return planned


def _check_collisions(planned: list[ReportFiles]) -> None:
    seen: dict[str, list[ReportFiles]] = defaultdict(list)
    for files in planned:
        seen[str(files.html).casefold()].append(files)
    clashes = [group for group in seen.values() if len(group) > 1]
    if not clashes:
        return
    lines = [f"{len(clashes)} file name(s) would hold more than one report; nothing was written:"]
    for group in clashes:
        who = " and ".join(f.label for f in group)
        lines.append(f"  - {who} all map to {group[0].html}")
    lines.append("Fix: make these ids differ by more than letter case, accents or symbols.")
    raise BatchError("\n".join(lines))


def expected_parameters(scope: str) -> set[str]:
    """The parameter names the batch sends to the notebook of ``scope``."""
    return {"workspace", ID_PARAMETER[scope], "period", "view"}


def job_parameters(
    scope: str, scope_id: str, period: str, view: str, workspace: str
) -> dict[str, str]:
    """The parameters the batch injects for one report (all plain strings)."""
    return {
        "workspace": workspace,
        ID_PARAMETER[scope]: str(scope_id),
        "period": period,
        "view": view,
    }


def check_parameters(notebook: Path, sent: set[str]) -> None:
    """Stop the run unless ``notebook``'s parameters cell declares exactly ``sent``.

    papermill only warns about an unknown name, and a declared name the batch
    does not send would silently keep its default (the test workspace).
    """
    import papermill

    if not notebook.is_file():
        msg = f"notebook {notebook} is missing; the batch needs it to build these reports"
        raise BatchError(msg)
    declared = set(papermill.inspect_notebook(str(notebook)))
    if declared != sent:
        msg = (
            f"{notebook.name}: its parameters cell declares {sorted(declared)} but the batch "
            f"sends {sorted(sent)}. Fix: make the cell tagged 'parameters' declare exactly "
            "those names."
        )
        raise BatchError(msg)
