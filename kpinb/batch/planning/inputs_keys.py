"""What a report depends on: the hashes that decide whether a rerun can skip it.

A report's inputs key hashes its workspace slice (the rows it may read), the
period's analysis rows it may read, its notebook, the review period, the KPI
definitions, kpinb's version and kpinb's code. The batch skips a report whose key and
published files are unchanged.

The analysis rows are hashed, not only the workspace rows they come from: some of a
person's figures pool everyone's series (the carry-over of a KPI is the median of its
series', a department's and the workspace's series read every member), so a change to
one person's data can move another's usual range. Hashing the figures a report shows
rebuilds exactly the reports whose figures moved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kpinb.hashing import digest, sha256_file
from kpinb.version import __version__

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
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
    from kpinb.report import period_analysis

    relations = _Relations.of(ws)
    slices = {job.files: relations.related(job.files.scope, job.files.scope_id) for job in jobs}
    own = _person_digests(ws, {p for people, _ in slices.values() for p in people})
    teams = _team_digests(ws)
    read = {job.files: relations.figures_read(job) for job in jobs}
    wanted = {row for rows in read.values() for row in rows}
    figures = analysis_digests(period_analysis(ws, per), wanted)
    common = digest(code_fingerprint(), _kpis_digest(ws), repr(ws.settings), per.label)
    notebook_digests = {job.notebook: sha256_file(job.notebook) for job in jobs}
    keys = {}
    for job in jobs:
        files = job.files
        people, team_ids = slices[files]
        part = digest(
            *(f"{e}:{own.get(e, '')}" for e in sorted(people)),
            *(f"{t}:{teams.get(t, '')}" for t in sorted(team_ids)),
            *(f"{s}:{i}:{figures[s, i]}" for s, i in read[files]),
        )
        keys[files] = digest(
            common, notebook_digests[job.notebook], files.scope, files.scope_id, files.view, part
        )
    return keys


class Subject(Protocol):
    """A report's subject: a job's files, a request."""

    @property
    def scope(self) -> str: ...

    @property
    def scope_id(self) -> str: ...


def related_rows(ws: Workspace, subjects: Iterable[Subject]) -> tuple[set[str], set[str], set[str]]:
    """The employees, teams and departments whose rows the reports of ``subjects`` may
    read (:meth:`_Relations.rows_read`)."""
    return _Relations.of(ws).rows_read(subjects)


def analysis_digests(
    analysis: Analysis, wanted: Collection[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """One digest per ``(scope, scope_id)`` of ``wanted`` over its rows of every table
    of ``analysis`` (an employee's excluded values included): what reports read of the
    analysis, hashed once for all of them (only the rows wanted: a run of a few reports
    hashes a few people's rows of a big organisation's analysis)."""
    from kpinb.analytics.analysis import ALL_SCOPED_TABLES, rows_of

    ids: dict[str, set[str]] = {}
    for scope, sid in wanted:
        ids.setdefault(scope, set()).add(sid)
    tables = {name: getattr(analysis, name) for name in ALL_SCOPED_TABLES}
    tables["excluded"] = analysis.excluded.assign(scope="employee")
    found: dict[str, dict[tuple[str, str], str]] = {}
    for name, frame in tables.items():
        keep = rows_of(frame, ids)
        rows = frame if keep.all() else frame[keep]
        if rows.empty:
            continue
        hashes = _row_hashes(rows)
        by = [_as_key(rows["scope"]), _as_key(rows["scope_id"])]
        groups = rows.groupby(by, sort=False, observed=True).indices
        found[name] = {
            (str(scope), str(sid)): hashlib.sha256(hashes[idx].tobytes()).hexdigest()
            for (scope, sid), idx in groups.items()
        }
    return {k: digest(*(f"{n}:{t.get(k, '')}" for n, t in found.items())) for k in wanted}


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
        "scipy",
        "pyarrow",
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


def analysis_key(ws: Workspace, per: Period) -> str:
    """A hash of everything the period's analysis is computed from (the observations,
    people, teams and targets, the KPI definitions, the settings, the period, kpinb's
    code and its packages' versions): equal keys, equal analyses. The journal and the
    notebooks are not in it (the analysis never reads them)."""
    tables = (ws.observations, ws.people, ws.teams, ws.targets)
    return digest(
        code_fingerprint(),
        per.label,
        repr(ws.settings),
        _kpis_digest(ws),
        *(_table_digest(t) for t in tables),
    )


def _table_digest(frame: Any) -> str:
    """One hash over ``frame``'s columns (name, type and every value in row order):
    numbers and dates by their bytes, a categorical by its categories and codes, other
    columns by their rows' hashes (:func:`_row_hashes`). Fifty million observations hash
    in a few seconds, with no copy of a column."""
    import numpy as np
    import pandas as pd

    hasher = hashlib.sha256()
    for name in frame.columns:
        column = frame[name]
        hasher.update(f"{name}\0{column.dtype}\0".encode())
        if isinstance(column.dtype, pd.CategoricalDtype):
            hasher.update(_row_hashes(column.cat.categories.to_frame()).tobytes())
            values = column.cat.codes.to_numpy()
        elif isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufmM":
            values = column.to_numpy()
        else:
            values = _row_hashes(column.to_frame())
        hasher.update(np.ascontiguousarray(values).view(np.uint8).data)
    return hasher.hexdigest()


def _kpis_digest(ws: Workspace) -> str:
    return digest(*(repr(ws.kpis[k]) for k in sorted(ws.kpis)))


def _frame_digests(frame: Any, key: str) -> dict[str, str]:
    """One digest per value of ``key`` over the rows holding it (:func:`_row_hashes`)."""
    if frame.empty:
        return {}
    hashes = _row_hashes(frame)
    groups = frame.groupby(_as_key(frame[key]), sort=False, observed=True).indices
    return {k: hashlib.sha256(hashes[idx].tobytes()).hexdigest() for k, idx in groups.items()}


def _row_hashes(frame: Any) -> Any:
    """One 64-bit hash per row of ``frame``: an object column's values as text, a
    categorical's by its categories (pandas hashes each category once and takes the
    hashes by code: no text object per row of a 50-million-row table)."""
    import pandas as pd

    text = {name: frame[name].astype(str) for name in frame.columns if frame[name].dtype == object}
    prepared = frame.assign(**text) if text else frame
    return pd.util.hash_pandas_object(prepared, index=False).to_numpy()


def _as_key(column: Any) -> Any:
    """``column`` as rows are grouped by it: a plain text categorical as it is, anything
    else as text."""
    return column if _plain_text(column) else column.astype(str)


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


def _person_digests(ws: Workspace, people: Collection[str]) -> dict[str, str]:
    """Per employee of ``people``: their people row, observations, goals, own targets and
    flags, journal. Where ``people`` hold under half of the observations (a run of a
    few reports) only their rows are hashed."""
    from kpinb.columns import among

    obs = ws.observations
    mine = among(obs["employee_id"], people)
    tables = [
        # an address says where a report goes, not what it says: adding one rebuilds nothing
        _frame_digests(ws.people.drop(columns=["email"], errors="ignore"), "employee_id"),
        _frame_digests(obs[mine] if 2 * mine.sum() < len(obs) else obs, "employee_id"),
        _frame_digests(ws.goals, "employee_id"),
        _frame_digests(_scoped(ws.targets, "employee"), "scope_id"),
        _frame_digests(_scoped(ws.feasibility, "employee"), "scope_id"),
        *_journal_digests(ws),
    ]
    return {e: digest(*(t.get(e, "") for t in tables)) for e in people}


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
    department: dict[str, str]  # each team's

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
            dict(
                zip(
                    ws.teams["team_id"].astype(str), ws.teams["department"].astype(str), strict=True
                )
            ),
        )

    def related(self, scope: str, scope_id: str) -> tuple[set[str], set[str]]:
        """The employees and teams whose rows a report of ``scope_id`` may read."""
        if scope == "employee":
            people = {scope_id, self.manager.get(scope_id, ""), *self.reports.get(scope_id, [])}
            return people - {""}, {self.team_of.get(scope_id, "")} - {""}
        team_ids = {scope_id} if scope == "team" else set(self.teams_in.get(scope_id, []))
        people = {p for t in team_ids for p in self.members.get(t, [])}
        return (people | {self.manager.get(p, "") for p in people}) - {""}, team_ids

    def rows_read(self, subjects: Iterable[Subject]) -> tuple[set[str], set[str], set[str]]:
        """The employees, teams and departments whose rows the reports of ``subjects`` may
        read (each one's slice, as for its inputs key), with every team of each
        department named (a small team's figures are masked against its department's
        other teams).

        A department's report reads its teams' and its own figures, never a person's
        rows (its inputs key still covers its people: their data make its figures), so
        it adds no people: a big department's report needs no kernel holding the
        department."""
        people: set[str] = set()
        teams: set[str] = set()
        for subject in subjects:
            if subject.scope == "department":
                teams |= set(self.teams_in.get(subject.scope_id, []))
                continue
            found, team_ids = self.related(subject.scope, subject.scope_id)
            people |= found
            teams |= team_ids | {self.team_of.get(p, "") for p in found}
        departments = {self.department[t] for t in teams if t in self.department}
        teams = {t for d in departments for t in self.teams_in.get(d, [])} | (teams - {""})
        return people, teams, departments

    def figures_read(self, job: ReportJob) -> list[tuple[str, str]]:
        """The ``(scope, id)`` rows of the analysis the report of ``job`` may read, in
        order: a person's report reads their own figures (and those of their manager and
        direct reports, as its slice); a team's report for its manager its own and its
        members'; an executive view (and any department's report) its department's and
        every team of it (a small team is masked against the others)."""
        scope, sid = job.files.scope, job.files.scope_id
        if job.files.view == "executive" or scope == "department":
            people, teams, departments = self.rows_read([job.files])
        else:
            people, teams = self.related(scope, sid)
            departments = set()
            if scope == "employee":
                teams = set()
        return [
            (name, i)
            for name, ids in (("employee", people), ("team", teams), ("department", departments))
            for i in sorted(ids)
        ]
