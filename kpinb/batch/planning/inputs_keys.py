"""What a report depends on: the hashes that decide whether a rerun can skip it.

A report's inputs key hashes its workspace slice (the rows it may read), its
notebook, the review period, the KPI definitions, kpinb's version and kpinb's code.
The batch skips a report whose key and published files are unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.hashing import digest, sha256_file
from kpinb.version import __version__

if TYPE_CHECKING:
    from kpinb.batch.records import ReportFiles, ReportJob
    from kpinb.periods import Period
    from kpinb.workspace import Workspace


def inputs_keys(ws: Workspace, per: Period, jobs: Sequence[ReportJob]) -> dict[ReportFiles, str]:
    """Each job's inputs key: a hash of its workspace slice, the settings, notebook and
    kpinb code.

    A slice is conservative (a superset of what the report reads): an employee's
    report covers their own rows, their manager's and direct reports' rows, and their
    team's row and targets; a team's covers all its members and their managers; a
    department's covers its teams.
    """
    own = _person_digests(ws)
    teams = _team_digests(ws)
    relations = _Relations.of(ws)
    common = digest(code_fingerprint(), _kpis_digest(ws), repr(ws.settings), per.label)
    notebook_digests = {job.notebook: sha256_file(job.notebook) for job in jobs}
    keys = {}
    for job in jobs:
        files = job.files
        people, team_ids = relations.related(files.scope, files.scope_id)
        part = digest(
            *(f"{e}:{own.get(e, '')}" for e in sorted(people)),
            *(f"{t}:{teams.get(t, '')}" for t in sorted(team_ids)),
        )
        keys[files] = digest(
            common, notebook_digests[job.notebook], files.scope, files.scope_id, files.view, part
        )
    return keys


def related_rows(ws: Workspace, jobs: Sequence[ReportJob]) -> tuple[set[str], set[str], set[str]]:
    """The employees, teams and departments whose rows the ``jobs``' reports may read
    (each job's slice, as for its inputs key), with every team of each department named
    (a small team's figures are masked against its department's other teams).

    A department's report reads its teams' and its own figures, never a person's rows
    (its inputs key still covers its people: their data make its figures), so it adds
    no people: a big department's report needs no kernel holding the department."""
    relations = _Relations.of(ws)
    department = dict(
        zip(ws.teams["team_id"].astype(str), ws.teams["department"].astype(str), strict=True)
    )
    people: set[str] = set()
    teams: set[str] = set()
    for job in jobs:
        if job.files.scope == "department":
            teams |= set(relations.teams_in.get(job.files.scope_id, []))
            continue
        found, team_ids = relations.related(job.files.scope, job.files.scope_id)
        people |= found
        teams |= team_ids | {relations.team_of.get(p, "") for p in found}
    departments = {department[t] for t in teams if t in department}
    teams = {t for d in departments for t in relations.teams_in.get(d, [])} | (teams - {""})
    return people, teams, departments


def code_fingerprint() -> str:
    """kpinb's version, a hash of its code and templates, and the versions of the packages
    a report is made with (an Altair or nbconvert upgrade can change a page): a change to
    any of them rebuilds reports."""
    root = Path(__file__).resolve().parents[2]
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".j2", ".css", ".json", ".yaml"}
        and "__pycache__" not in p.parts
    )
    versions = sorted(package_versions().items())
    return digest(
        __version__,
        *(f"{p.relative_to(root)}:{sha256_file(p)}" for p in files),
        *(f"{name}=={version}" for name, version in versions),
    )


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages a report depends on."""
    import platform
    from importlib import metadata

    names = (
        "kpinb",
        "papermill",
        "nbclient",
        "nbconvert",
        "nbformat",
        "ipykernel",
        "pandas",
        "numpy",
        "altair",
        "vl-convert-python",
        "jinja2",
    )
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _kpis_digest(ws: Workspace) -> str:
    return digest(*(repr(ws.kpis[k]) for k in sorted(ws.kpis)))


def _frame_digests(frame: Any, key: str) -> dict[str, str]:
    """One digest per value of ``key`` over the rows holding it.

    Each row hashes its values as text. A categorical column of text without gaps is
    hashed as it is (pandas hashes a categorical by its values: the same hashes, without
    a text object per row of a 50-million-row table); any other object or categorical
    column is turned into text first."""
    import pandas as pd

    if frame.empty:
        return {}
    text = {
        name: frame[name].astype(str)
        for name in frame.columns
        if frame[name].dtype == object
        or (isinstance(frame[name].dtype, pd.CategoricalDtype) and not _plain_text(frame[name]))
    }
    prepared = frame.assign(**text) if text else frame
    hashes = pd.util.hash_pandas_object(prepared, index=False).to_numpy()
    del prepared, text
    by = frame[key] if _plain_text(frame[key]) else frame[key].astype(str)
    groups = frame.groupby(by, sort=False, observed=True).indices
    return {k: hashlib.sha256(hashes[idx].tobytes()).hexdigest() for k, idx in groups.items()}


def _plain_text(column: Any) -> bool:
    """A categorical column of text categories and no gaps (hashed and grouped as is)."""
    import pandas as pd

    if not isinstance(column.dtype, pd.CategoricalDtype):
        return False
    categories = column.cat.categories
    return bool(
        pd.api.types.is_string_dtype(categories.dtype)
        and not (column.cat.codes.to_numpy() < 0).any()
    )


def _scoped(frame: Any, scope: str) -> Any:
    return frame[frame["scope"] == scope]


def _person_digests(ws: Workspace) -> dict[str, str]:
    """Per employee: their people row, observations, goals, own targets and flags, journal."""
    tables = [
        # an address says where a report goes, not what it says: adding one rebuilds nothing
        _frame_digests(ws.people.drop(columns=["email"], errors="ignore"), "employee_id"),
        _frame_digests(ws.observations, "employee_id"),
        _frame_digests(ws.goals, "employee_id"),
        _frame_digests(_scoped(ws.targets, "employee"), "scope_id"),
        _frame_digests(_scoped(ws.feasibility, "employee"), "scope_id"),
        *_journal_digests(ws),
    ]
    ids = ws.people["employee_id"].astype(str)
    return {e: digest(*(t.get(e, "") for t in tables)) for e in ids}


def _journal_digests(ws: Workspace) -> list[dict[str, str]]:
    if ws.root is None:
        return []
    try:
        from kpinb import journal
    except ImportError:  # no journal module: any change of the file rebuilds everything
        path = Path(ws.root) / "journal.sqlite"
        whole = sha256_file(path) if path.is_file() else ""
        return [dict.fromkeys(ws.people["employee_id"].astype(str), whole)]
    return [
        _frame_digests(journal.list_entries(ws.root), "employee_id"),
        _frame_digests(journal.list_actions(ws.root), "employee_id"),
    ]


def _team_digests(ws: Workspace) -> dict[str, str]:
    """Per team: its row and its team-level targets and flags (not its members)."""
    tables = [
        _frame_digests(ws.teams, "team_id"),
        _frame_digests(_scoped(ws.targets, "team"), "scope_id"),
        _frame_digests(_scoped(ws.feasibility, "team"), "scope_id"),
    ]
    return {t: digest(*(d.get(t, "") for d in tables)) for t in ws.teams["team_id"].astype(str)}


@dataclass(frozen=True)
class _Relations:
    """Who relates to whom, for slices: managers, direct reports, team members, departments."""

    manager: dict[str, str]
    reports: dict[str, list[str]]
    team_of: dict[str, str]
    members: dict[str, list[str]]
    teams_in: dict[str, list[str]]

    @classmethod
    def of(cls, ws: Workspace) -> _Relations:
        ids = ws.people["employee_id"].astype(str).tolist()
        bosses = ws.people["manager_id"].astype("string").fillna("").tolist()
        teams = ws.people["team_id"].astype(str).tolist()
        reports: dict[str, list[str]] = {}
        members: dict[str, list[str]] = {}
        for person, boss, team in zip(ids, bosses, teams, strict=True):
            reports.setdefault(boss, []).append(person)
            members.setdefault(team, []).append(person)
        teams_in: dict[str, list[str]] = {}
        for team, department in zip(
            ws.teams["team_id"].astype(str), ws.teams["department"].astype(str), strict=True
        ):
            teams_in.setdefault(department, []).append(team)
        return cls(
            dict(zip(ids, bosses, strict=True)),
            reports,
            dict(zip(ids, teams, strict=True)),
            members,
            teams_in,
        )

    def related(self, scope: str, scope_id: str) -> tuple[set[str], set[str]]:
        """The employees and teams whose rows a report of ``scope_id`` may read."""
        if scope == "employee":
            people = {scope_id, self.manager.get(scope_id, ""), *self.reports.get(scope_id, [])}
            return people - {""}, {self.team_of.get(scope_id, "")} - {""}
        team_ids = {scope_id} if scope == "team" else set(self.teams_in.get(scope_id, []))
        people = {p for t in team_ids for p in self.members.get(t, [])}
        return (people | {self.manager.get(p, "") for p in people}) - {""}, team_ids
