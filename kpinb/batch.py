"""The batch: every coaching report of a review period, in parallel and safely (``kpinb run``).

One run:

1. checks the period, views and ids, validates the workspace (invalid: nothing written);
2. plans every report and its file names, stopping when two ids would share a file,
   and checks that each notebook declares exactly the parameters the batch sends;
3. gives each report an inputs key (its workspace slice, notebook, kpinb code) and
   skips reports whose key and published files are unchanged, unless ``force``;
4. runs the rest on warm kernels (:mod:`kpinb.kernels`), one per worker, checks that
   each finished notebook is about the id it was asked for, converts it to HTML with
   kpinb's nbconvert template and publishes the page and its JSON twin atomically;
   a report that stops keeps its executed notebook under ``failed/`` and is never
   published, and never stops the others;
5. writes ``index.html`` and ``run.json``.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import os
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb import __version__
from kpinb.errors import BatchError, UsageError, WorkspaceError
from kpinb.outputs import ReportFiles, display_text, plan_files, resolve_under
from kpinb.periods import Period, parse_period

if TYPE_CHECKING:
    import argparse

    from kpinb.workspace import Workspace

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = {
    "employee": "employee_report.ipynb",
    "team": "team_report.ipynb",
    "department": "department_report.ipynb",
}
ID_PARAMETER = {"employee": "employee_id", "team": "team_id", "department": "department"}
# the view each scope is published in by default, to <dir>/<id>.html
PRIMARY_VIEW = {"employee": "employee", "team": "manager", "department": "executive"}
ALL_VIEWS = ("employee", "manager", "executive")
# the views each scope offers (the facade's kpinb.report.VIEWS; a test keeps them equal)
SCOPE_VIEWS = {
    "employee": ("employee", "manager"),
    "team": ("manager", "executive"),
    "department": ("executive",),
}
RESTART_EVERY = 200  # a kernel grows ~50 MB over its first 200 reports, then levels off


@dataclass(frozen=True)
class ReportJob:
    """One report to produce: where it goes, who it is about, how to run its notebook."""

    files: ReportFiles
    name: str
    notebook: Path
    parameters: dict[str, str]
    key: str = ""


@dataclass(frozen=True)
class ReportOutcome:
    """What happened to one report: ``written``, ``unchanged`` or ``failed`` (and why)."""

    job: ReportJob
    status: str
    seconds: float = 0.0
    error: str | None = None
    failed_notebook: Path | None = None


@dataclass(frozen=True)
class BatchResult:
    """The outcome of a run: every report's outcome and where the index and manifest are."""

    period: str
    out_dir: Path
    index: Path
    manifest: Path
    outcomes: tuple[ReportOutcome, ...] = field(default=())

    def by_status(self, status: str) -> list[ReportOutcome]:
        """The outcomes with ``status`` (written, unchanged, failed)."""
        return [o for o in self.outcomes if o.status == status]

    @property
    def failed(self) -> list[ReportOutcome]:
        """Reports that could not be generated this run."""
        return self.by_status("failed")

    @property
    def exit_code(self) -> int:
        """0 when every report is written or unchanged, 1 when any could not be generated."""
        return 1 if self.failed else 0


def run_batch(
    workspace_path: str | os.PathLike[str],
    period: str | Period,
    *,
    out: str | os.PathLike[str] = Path("reports"),
    only: Iterable[str] | None = None,
    workers: int | None = None,
    views: Iterable[str] | None = None,
    force: bool = False,
    notebooks_dir: str | os.PathLike[str] | None = None,
    restart_every: int = RESTART_EVERY,
    progress: bool | None = None,
) -> BatchResult:
    """Generate every report of ``period`` for the workspace at ``workspace_path``.

    Parameters
    ----------
    workspace_path
        The workspace folder (SPEC.md "Workspace").
    period
        ``2026-Q3`` or ``2026-09`` (or a :class:`Period`).
    out
        The reports folder; this run writes only inside ``out/<period>/``.
    only
        Ids to limit the run to: employee ids, team ids or department names.
    workers
        Kernels running in parallel (default: the machine's cores).
    views
        Views to produce (employee, manager, executive). Default: each scope in its
        primary view (employees: employee, teams: manager, departments: executive).
    force
        Regenerate reports whose inputs have not changed.
    notebooks_dir
        Folder holding the three report notebooks (default: the repository's).
    restart_every
        Notebooks one kernel runs before it is replaced by a fresh one.
    progress
        Progress bar (True), plain log lines (False), or decide by the terminal (None).

    Raises
    ------
    UsageError
        Bad period, view, worker count or unknown ids (nothing written).
    WorkspaceError
        The workspace is invalid; every problem is listed (nothing written).
    BatchError
        Two reports would share a file, or a notebook's parameters differ from what
        the batch sends (nothing written).
    """
    per = period if isinstance(period, Period) else parse_period(period)
    chosen = _check_views(views)
    count = _check_workers(workers)
    ws = _load(Path(workspace_path))
    requests = plan_requests(ws, per, views=chosen, only=only)
    folder = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    jobs = make_jobs(ws, per, requests, notebooks_dir=folder)
    period_dir = resolve_under(Path(out), per.label)
    run = _Run(
        per,
        period_dir,
        jobs,
        notebooks_dir=folder,
        workers=count,
        restart_every=restart_every,
        progress=progress,
    )
    return run.run(ws, force=force)


def _check_views(views: Iterable[str] | None) -> tuple[str, ...] | None:
    if views is None:
        return None
    chosen = tuple(dict.fromkeys(v.strip() for v in views if v.strip()))
    unknown = [v for v in chosen if v not in ALL_VIEWS]
    if unknown or not chosen:
        msg = f"unknown view(s) {', '.join(unknown) or '(none given)'}; use {', '.join(ALL_VIEWS)}"
        raise UsageError(msg)
    return chosen


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if workers < 1:
        msg = f"--workers must be 1 or more (got {workers})"
        raise UsageError(msg)
    return workers


def _load(path: Path) -> Workspace:
    from kpinb.workspace import validate_workspace

    result = validate_workspace(path)
    if result.workspace is None:
        raise WorkspaceError(list(result.problems), list(result.warnings))
    return result.workspace


# --- planning --------------------------------------------------------------------------


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
        scope_views = (
            [PRIMARY_VIEW[scope]]
            if views is None
            else [v for v in SCOPE_VIEWS[scope] if v in views]
        )
        for scope_id, name in ids.items():
            if wanted is not None and scope_id not in wanted:
                continue
            for view in scope_views:
                requests.append(Request(scope, scope_id, view, view == PRIMARY_VIEW[scope], name))
    return requests


def _check_only(only: Iterable[str] | None, members: dict[str, dict[str, str]]) -> set[str] | None:
    if only is None:
        return None
    wanted = {str(i).strip() for i in only if str(i).strip()}
    known = set().union(*members.values())
    unknown = sorted(wanted - known)
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
            "Use employee ids, team ids or department names."
        )
        raise UsageError(msg)
    return wanted


def make_jobs(
    ws: Workspace, per: Period, requests: Sequence[Request], *, notebooks_dir: Path
) -> list[ReportJob]:
    """Jobs for ``requests``: safe file names (collisions stop the run), parameters, keys.

    Raises :class:`BatchError` on a file-name collision or when a notebook's
    parameters differ from what the batch sends.
    """
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


# --- command line ----------------------------------------------------------------------


def register(subparsers: Any) -> None:
    """Add ``kpinb run`` to the ``kpinb`` command."""
    parser = subparsers.add_parser(
        "run",
        help="generate every report of a review period",
        description="Generate every coaching report of a review period into OUT/PERIOD/ "
        "(index.html, employees/, teams/, departments/, run.json). Exit 0 when all are "
        "written or unchanged, 1 when some could not be generated, 2 for bad usage, an "
        "invalid workspace or clashing file names (nothing written).",
    )
    parser.add_argument("workspace", type=Path, help="the workspace folder")
    parser.add_argument("--period", required=True, help="review period, e.g. 2026-Q3 or 2026-09")
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), help="reports folder (default: reports)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="IDS",
        help="comma-separated employee ids, team ids or department names",
    )
    parser.add_argument("--workers", type=int, help="parallel kernels (default: the cores)")
    parser.add_argument(
        "--views",
        action="append",
        metavar="VIEWS",
        help="comma-separated views: employee, manager, executive",
    )
    parser.add_argument(
        "--force", action="store_true", help="regenerate reports whose inputs have not changed"
    )
    parser.add_argument(
        "--notebooks",
        type=Path,
        metavar="DIR",
        help="folder with your own employee_report.ipynb, team_report.ipynb and "
        "department_report.ipynb (default: kpinb's)",
    )
    parser.set_defaults(func=_cmd_run)


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _cmd_run(args: argparse.Namespace) -> int:
    try:
        result = run_batch(
            args.workspace,
            args.period,
            out=args.out,
            only=_split(args.only),
            workers=args.workers,
            views=_split(args.views),
            force=args.force,
            notebooks_dir=args.notebooks,
        )
    except (WorkspaceError, BatchError) as exc:
        print(f"kpinb: {exc}", file=sys.stderr)
        print("kpinb: nothing was written.", file=sys.stderr)
        return 2
    print(summary(result))
    return result.exit_code


def summary(result: BatchResult) -> str:
    """The end-of-run summary: counts, each report that could not be generated, the index."""
    lines = [
        f"{len(result.by_status('written'))} written, "
        f"{len(result.by_status('unchanged'))} unchanged, "
        f"{len(result.failed)} could not be generated ({result.period})."
    ]
    for outcome in result.failed:
        lines.append(f"  - {outcome.job.files.label}: {outcome.error}")
        if outcome.failed_notebook is not None:
            lines.append(f"    executed notebook kept at {outcome.failed_notebook}")
    lines.append(f"Index: {result.index}")
    return "\n".join(lines)


# --- inputs keys: what a report depends on ----------------------------------------------


def inputs_keys(ws: Workspace, per: Period, jobs: Sequence[ReportJob]) -> dict[ReportFiles, str]:
    """Each job's inputs key: a hash of its workspace slice, notebook and kpinb code.

    A slice is conservative (a superset of what the report reads): an employee's
    report covers their own rows, their manager's and direct reports' rows, and their
    team's row and targets; a team's covers all its members and their managers; a
    department's covers its teams.
    """
    own = _person_digests(ws)
    teams = _team_digests(ws)
    relations = _Relations.of(ws)
    common = _digest(code_fingerprint(), _kpis_digest(ws), per.label)
    notebook_digests = {job.notebook: sha256_path(job.notebook) for job in jobs}
    keys = {}
    for job in jobs:
        files = job.files
        people, team_ids = relations.related(files.scope, files.scope_id)
        part = _digest(
            *(f"{e}:{own.get(e, '')}" for e in sorted(people)),
            *(f"{t}:{teams.get(t, '')}" for t in sorted(team_ids)),
        )
        keys[files] = _digest(
            common, notebook_digests[job.notebook], files.scope, files.scope_id, files.view, part
        )
    return keys


def _digest(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def sha256_path(path: Path) -> str:
    """Hex SHA-256 of a file."""
    from kpinb.outputs import sha256_file

    return sha256_file(path)


def code_fingerprint() -> str:
    """kpinb's version and a hash of its code and templates: a change rebuilds reports."""
    root = Path(__file__).resolve().parent
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".j2", ".css", ".json", ".yaml"}
        and "__pycache__" not in p.parts
    )
    return _digest(__version__, *(f"{p.relative_to(root)}:{sha256_path(p)}" for p in files))


def _kpis_digest(ws: Workspace) -> str:
    return _digest(*(repr(ws.kpis[k]) for k in sorted(ws.kpis)))


def _frame_digests(frame: Any, key: str) -> dict[str, str]:
    """One digest per value of ``key`` over the rows holding it."""
    import pandas as pd

    if frame.empty:
        return {}
    prepared = frame.copy()
    for column in prepared.columns:
        if prepared[column].dtype == object or str(prepared[column].dtype) == "category":
            prepared[column] = prepared[column].astype(str)
    hashes = pd.util.hash_pandas_object(prepared, index=False).to_numpy()
    groups = frame.groupby(frame[key].astype(str), sort=False, observed=True).indices
    return {k: hashlib.sha256(hashes[idx].tobytes()).hexdigest() for k, idx in groups.items()}


def _scoped(frame: Any, scope: str) -> Any:
    return frame[frame["scope"] == scope]


def _person_digests(ws: Workspace) -> dict[str, str]:
    """Per employee: their people row, observations, goals, own targets and flags, journal."""
    tables = [
        _frame_digests(ws.people, "employee_id"),
        _frame_digests(ws.observations, "employee_id"),
        _frame_digests(ws.goals, "employee_id"),
        _frame_digests(_scoped(ws.targets, "employee"), "scope_id"),
        _frame_digests(_scoped(ws.feasibility, "employee"), "scope_id"),
        *_journal_digests(ws),
    ]
    ids = ws.people["employee_id"].astype(str)
    return {e: _digest(*(t.get(e, "") for t in tables)) for e in ids}


def _journal_digests(ws: Workspace) -> list[dict[str, str]]:
    if ws.root is None:
        return []
    try:
        from kpinb import journal
    except ImportError:  # no journal module: any change of the file rebuilds everything
        path = Path(ws.root) / "journal.sqlite"
        whole = sha256_path(path) if path.is_file() else ""
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
    return {t: _digest(*(d.get(t, "") for d in tables)) for t in ws.teams["team_id"].astype(str)}


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


# --- running -----------------------------------------------------------------------------


@dataclass
class _Built:
    """A notebook that ran: its HTML and twin when publishable, else the reason why not."""

    run_seconds: float
    html: str = ""
    twin: dict[str, Any] | None = None
    error: str | None = None
    nb: Any = None


class _Run:
    """One run over a period folder: skip, execute, publish, index (holds the folder lock)."""

    def __init__(
        self,
        per: Period,
        period_dir: Path,
        jobs: list[ReportJob],
        *,
        notebooks_dir: Path,
        workers: int,
        restart_every: int,
        progress: bool | None,
    ) -> None:
        self.per = per
        self.period_dir = period_dir
        self.jobs = jobs
        self.notebooks_dir = notebooks_dir
        self.workers = workers
        self.restart_every = restart_every
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.outcomes: list[ReportOutcome] = []
        self.staging = period_dir
        self.started_at = ""
        # set when reports need building (_execute)
        self.exporter: Any = None
        self.templates: dict[Path, Any] = {}
        self.bar = _Progress(0, False)

    def run(self, ws: Workspace, *, force: bool) -> BatchResult:
        """Skip what is current, build the rest, then write index.html and run.json."""
        from kpinb import outputs

        self.started_at = outputs.now_iso()
        started = time.perf_counter()
        self.period_dir.mkdir(parents=True, exist_ok=True)
        with outputs.hold_lock(self.period_dir):
            self.staging = outputs.make_staging(self.period_dir)
            try:
                states = outputs.read_states(self.period_dir)
                todo = []
                for job in self.jobs:
                    state = states.get(str(job.files.html))
                    if not force and outputs.is_current(self.period_dir, state, job.key):
                        self.outcomes.append(ReportOutcome(job, "unchanged"))
                    else:
                        todo.append(job)
                if todo:
                    run_coroutine(self._execute(todo))
                return self._finish(ws, time.perf_counter() - started)
            finally:
                shutil.rmtree(self.staging, ignore_errors=True)

    async def _execute(self, todo: list[ReportJob]) -> None:
        from papermill.iorw import load_notebook_node

        from kpinb.kernels import KernelPool
        from kpinb.outputs import make_exporter

        self.exporter = make_exporter()
        self.templates = {nb: load_notebook_node(str(nb)) for nb in {j.notebook for j in todo}}
        self.bar = _Progress(len(todo), self.progress)
        try:
            async with KernelPool(
                min(self.workers, len(todo)),
                cwd=self.notebooks_dir,
                restart_every=self.restart_every,
            ) as pool:
                await pool.map(todo, self._work, self._done)
        finally:
            self.bar.close()

    async def _work(self, kernel: Any, job: ReportJob) -> _Built:
        from papermill.parameterize import parameterize_notebook

        nb = parameterize_notebook(copy.deepcopy(self.templates[job.notebook]), job.parameters)
        nb.metadata.papermill["input_path"] = str(job.notebook)
        run = await kernel.run(nb)
        if run.error is not None:
            return _Built(run.seconds, error=str(run.error), nb=run.nb)
        return self._convert(job, run.nb, run.seconds)

    def _convert(self, job: ReportJob, nb: Any, seconds: float) -> _Built:
        from kpinb import outputs

        twin = outputs.twin_of(nb)
        problem = outputs.twin_mismatch(twin, job.files, self.per.label)
        if problem is None:
            footer = f"kpinb {__version__} · {self.per.label} · {job.files.view} view"
            title = str(twin.get("title", job.name)) if twin else job.name
            html = outputs.notebook_html(self.exporter, nb, title=title, footer=footer)
            fetched = outputs.external_fetches(html)
            if not fetched:
                return _Built(seconds, html=html, twin=twin, nb=nb)
            problem = f"the page would fetch from another host: {', '.join(fetched[:3])}"
        return _Built(seconds, error=problem, nb=nb)

    async def _done(self, job: ReportJob, built: _Built) -> None:
        # file writes wait on fsync: in a thread, so the kernels' messages keep flowing
        outcome = await asyncio.to_thread(self._publish, job, built)
        self.outcomes.append(outcome)
        self.bar.update(outcome)

    def _publish(self, job: ReportJob, built: _Built) -> ReportOutcome:
        from kpinb import outputs

        if built.error is None:
            outputs.publish(
                self.period_dir,
                job.files,
                built.html,
                built.twin or {},
                name=job.name,
                key=job.key,
                staging=self.staging,
            )
            outcome = ReportOutcome(job, "written", built.run_seconds)
        else:
            kept = outputs.keep_failed(
                self.period_dir,
                job.files,
                built.nb,
                built.error,
                name=job.name,
                staging=self.staging,
            )
            outcome = ReportOutcome(job, "failed", built.run_seconds, built.error, kept)
        return outcome

    def _finish(self, ws: Workspace, seconds: float) -> BatchResult:
        from kpinb import outputs

        # the index lists every report of the period (not only this run's) whose
        # subject is still in the workspace
        members = scope_members(ws, self.per)
        states = outputs.read_states(self.period_dir).values()
        index = self.period_dir / "index.html"
        page = outputs.render_index(
            period=self.per.label,
            records=[s for s in states if s.get("scope_id") in members.get(s.get("scope"), {})],
            warnings=[str(w) for w in ws.warnings],
        )
        outputs.write_if_changed(index, page, tmp_dir=self.staging)
        manifest = self.period_dir / "run.json"
        order = {str(j.files.html): i for i, j in enumerate(self.jobs)}
        outcomes = tuple(sorted(self.outcomes, key=lambda o: order[str(o.job.files.html)]))
        outputs.atomic_write(
            manifest,
            outputs.dumps_json(self._manifest(ws, outcomes, seconds)),
            tmp_dir=self.staging,
        )
        return BatchResult(self.per.label, self.period_dir, index, manifest, outcomes)

    def _manifest(
        self, ws: Workspace, outcomes: tuple[ReportOutcome, ...], seconds: float
    ) -> dict[str, Any]:
        from kpinb import outputs

        files = outputs.workspace_files(ws.root)
        return {
            "kpinb_version": __version__,
            "period": self.per.label,
            "workspace": str(ws.root),
            "inputs_hash": _digest(*(f"{k}:{v}" for k, v in sorted(files.items()))),
            "workspace_files": files,
            "notebooks": {p.name: sha256_path(p) for p in sorted({j.notebook for j in self.jobs})},
            "code_fingerprint": code_fingerprint(),
            "versions": outputs.package_versions(),
            "started": self.started_at,
            "finished": outputs.now_iso(),
            "seconds": round(seconds, 3),
            "workers": self.workers,
            "counts": {
                s: sum(o.status == s for o in outcomes) for s in ("written", "unchanged", "failed")
            },
            "reports": [_manifest_row(o, self.period_dir) for o in outcomes],
        }


def _manifest_row(outcome: ReportOutcome, period_dir: Path) -> dict[str, Any]:
    files = outcome.job.files
    row: dict[str, Any] = {
        "scope": files.scope,
        "id": files.scope_id,
        "view": files.view,
        "html": str(files.html),
        "json": str(files.json),
        "status": outcome.status,
        "seconds": round(outcome.seconds, 3),
        "inputs_key": outcome.job.key,
    }
    if outcome.error is not None:
        row["error"] = outcome.error
    if outcome.failed_notebook is not None:
        row["failed_notebook"] = str(outcome.failed_notebook.relative_to(period_dir))
    return row


def run_coroutine(coro: Any) -> Any:
    """Run ``coro`` to completion, also when called from a running loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class _Progress:
    """A tqdm bar on a terminal; otherwise a plain line about every tenth report."""

    def __init__(self, total: int, bar: bool) -> None:
        self.total = total
        self.count = 0
        self.step = max(1, total // 10)
        self.bar = None
        if bar:
            from tqdm import tqdm

            size = shutil.get_terminal_size()  # 80x24 where a terminal reports no size
            self.bar = tqdm(
                total=total,
                unit="report",
                desc="kpinb run",
                file=sys.stderr,
                ncols=size.columns,
                nrows=size.lines,
            )

    def update(self, outcome: ReportOutcome) -> None:
        """Count one finished report; always mention one that could not be generated."""
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
            if outcome.status == "failed":
                self.bar.write(
                    f"kpinb: {outcome.job.files.label}: {outcome.error}", file=sys.stderr
                )
            return
        if outcome.status == "failed":
            print(f"kpinb: {outcome.job.files.label}: {outcome.error}", file=sys.stderr)
        if self.count % self.step == 0 or self.count == self.total:
            print(f"kpinb: {self.count}/{self.total} reports done", file=sys.stderr)

    def close(self) -> None:
        """Close the bar (if any)."""
        if self.bar is not None:
            self.bar.close()
