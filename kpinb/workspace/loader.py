"""Loading a workspace folder into validated, typed tables (the only reader of its files)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import yaml
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from kpinb.columns import among
from kpinb.errors import Problem, WorkspaceError
from kpinb.kpis import KpiSpec, parse_kpis
from kpinb.settings import (
    DEFAULT_SETTINGS,
    SETTINGS_FILE,
    Settings,
    fairness_settings,
    read_settings,
)
from kpinb.workspace import checks, wide
from kpinb.workspace.events import EVENTS_FOLDER, event_observations, event_tables
from kpinb.workspace.readers import EXTENSIONS, RawTable, TableRefused, find_table, read_table
from kpinb.workspace.schema import (
    DISPLAY_TEXT,
    OBSERVATION_COLUMNS,
    TABLES,
    Context,
    TableSpec,
    check_table,
    display_column,
    type_table,
)
from kpinb.workspace.sources import SourceFailed, SqlSource, parse_sources, read_source

KPIS_FILE = "kpis.yaml"  # the KPI dictionary, beside the tables


@dataclass(frozen=True)
class Workspace:
    """A validated workspace: the KPI dictionary and typed tables (see docs/architecture.md).

    Tables that are optional in the folder are present here as empty frames with
    their columns, so callers never test for ``None``.
    """

    kpis: Mapping[str, KpiSpec]
    people: pd.DataFrame
    teams: pd.DataFrame
    observations: pd.DataFrame
    targets: pd.DataFrame
    goals: pd.DataFrame
    ratings: pd.DataFrame
    feasibility: pd.DataFrame
    root: Path | None = None
    warnings: tuple[Problem, ...] = field(default=())
    settings: Settings = DEFAULT_SETTINGS
    # results later layers derive from this workspace (a period's analysis, a journal
    # snapshot), kept with it: a batch kernel that reuses the workspace reuses them, and
    # they go when it goes (no process-wide cache keyed by object ids)
    derived: dict[tuple[Any, ...], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_tables(
        cls,
        kpis: Mapping[str, KpiSpec],
        people: pd.DataFrame,
        teams: pd.DataFrame,
        observations: pd.DataFrame,
        settings: Settings = DEFAULT_SETTINGS,
        **optional: pd.DataFrame,
    ) -> Workspace:
        """A workspace from frames already typed (tests, notebooks, benchmarks), without
        the disk: optional tables that are not given become empty frames with their columns."""
        unknown = set(optional) - {"targets", "goals", "ratings", "feasibility"}
        if unknown:
            raise TypeError(f"not optional workspace tables: {sorted(unknown)}")

        def table(name: str) -> pd.DataFrame:
            return optional.get(name, _empty(TABLES[name]))

        return cls(
            kpis=kpis,
            people=people,
            teams=teams,
            observations=observations,
            targets=table("targets"),
            goals=table("goals"),
            ratings=table("ratings"),
            feasibility=table("feasibility"),
            settings=settings,
        )

    def narrowed(self, people: set[str], teams: set[str]) -> Workspace:
        """This workspace with only the rows of ``people`` and ``teams`` in its
        observations, goals, targets, ratings and flags (people and teams themselves are
        kept whole: names and reporting lines are small and read everywhere). What a
        process building only their reports needs; nothing derived is carried over."""

        def own(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[among(frame["employee_id"], people)]

        def scoped(frame: pd.DataFrame) -> pd.DataFrame:
            sid = frame["scope_id"].astype(str)
            keep = ((frame["scope"] == "employee") & sid.isin(people)) | (
                (frame["scope"] == "team") & sid.isin(teams)
            )
            return frame[keep.to_numpy()]

        return replace(
            self,
            observations=own(self.observations).reset_index(drop=True),
            goals=own(self.goals).reset_index(drop=True),
            ratings=own(self.ratings).reset_index(drop=True),
            targets=scoped(self.targets).reset_index(drop=True),
            feasibility=scoped(self.feasibility).reset_index(drop=True),
        )


@dataclass(frozen=True)
class Validation:
    """The outcome of checking a workspace: every problem, every warning, and the tables."""

    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    workspace: Workspace | None

    @property
    def ok(self) -> bool:
        """True when nothing stops the workspace from being used (warnings allowed)."""
        return not self.problems


def load_workspace(path: str | Path, *, cache: bool = False) -> Workspace:
    """Load and validate the workspace folder at ``path``.

    With ``cache=True`` a workspace loaded earlier in this process is reused while
    the folder's files are unchanged (same names, sizes and modification times): the
    batch runs many report notebooks in one kernel and loads the workspace once. A
    workspace with tables from a database (``[sources]``) is never reused so, as its
    files say nothing of the database's rows: only the snapshot the batch hands over
    (:func:`adopt_workspace`) is.

    Raises :class:`kpinb.errors.WorkspaceError` listing every problem when it is invalid.
    """
    key = _fingerprint(Path(path)) if cache else None
    if key is not None and key in _CACHE:
        return _CACHE[key]
    result = validate_workspace(path)
    if result.workspace is None:
        raise WorkspaceError(list(result.problems), list(result.warnings))
    if key is not None and not reads_databases(Path(path)):
        _CACHE.clear()  # one workspace per process is enough; keeps memory bounded
        _CACHE[key] = result.workspace
    return result.workspace


_CACHE: dict[tuple[object, ...], Workspace] = {}


def workspace_bytes(ws: Workspace) -> bytes:
    """``ws`` and what was derived from it (a period's analysis), pickled for a process of
    this same kpinb to take over with :func:`adopt_workspace`.

    The batch loads and checks the workspace once and computes the period's analysis
    once; each of its kernels then takes them over in a fraction of the time it would
    take to load and analyse again (and all of them build from the same snapshot).
    """
    import pickle

    return pickle.dumps(ws, protocol=pickle.HIGHEST_PROTOCOL)


def adopt_workspace(folder: str | Path, data: bytes | Path) -> Workspace:
    """Make ``load_workspace(folder, cache=True)`` in this process return the workspace
    pickled in ``data`` by :func:`workspace_bytes` (or in the file at ``data``, read as
    it is unpickled: the process never holds its bytes and the workspace at once),
    rooted at ``folder`` (its journal is read there). Only for pickles this kpinb wrote
    itself: a pickle can run code."""
    import pickle
    from dataclasses import replace

    loaded: Workspace
    if isinstance(data, bytes):
        loaded = pickle.loads(data)
    else:
        with open(data, "rb") as handle:
            loaded = pickle.load(handle)
    adopted = replace(loaded, root=Path(folder))
    adopted.derived.update(loaded.derived)
    key = _fingerprint(Path(folder))
    _CACHE.clear()
    if key is not None:
        _CACHE[key] = adopted
    return adopted


def forget_workspace() -> None:
    """Let go of the workspace this process keeps for ``load_workspace(..., cache=True)``
    (one loaded or adopted earlier): a process about to take over another one frees it."""
    _CACHE.clear()


def workspace_files(path: str | Path) -> list[Path]:
    """The files of the workspace folder at ``path`` that loading it reads: ``kpis.yaml``
    and each table's file, those present. A copy of the workspace needs these and
    nothing else of the folder (a backup, an unrelated spreadsheet beside them)."""
    root = Path(path)
    names = [KPIS_FILE, SETTINGS_FILE, *(f"{table}{ext}" for table in TABLES for ext in EXTENSIONS)]
    events = root / EVENTS_FOLDER
    found = sorted(events.iterdir()) if events.is_dir() else []
    return [root / name for name in names if (root / name).is_file()] + [
        p for p in found if p.is_file() and p.suffix.lower() in EXTENSIONS
    ]


def reads_databases(root: Path) -> bool:
    """True when the folder's ``kpinb.toml`` names tables read from a database."""
    import tomllib

    try:
        data = tomllib.loads((root / SETTINGS_FILE).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return False
    return bool(data.get("sources"))


def _fingerprint(root: Path) -> tuple[object, ...] | None:
    """The folder's identity for the cache: its path and each file's name, size, mtime
    (those of its event tables' folder too)."""
    try:
        folders = [root.resolve(), root.resolve() / EVENTS_FOLDER]
        entries = sorted(
            (p.relative_to(folders[0]).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
            for folder in folders
            if folder.is_dir()
            for p in folder.iterdir()
            if p.is_file()
        )
    except OSError:
        return None
    return (str(root.resolve()), *entries)


def validate_workspace(path: str | Path) -> Validation:
    """Check every file of the workspace in one pass; never raises for bad data."""
    root = Path(path)
    if not root.is_dir():
        problem = Problem(
            str(root),
            "is not a folder",
            "pass the path of a workspace folder (see docs/workspace.md)",
        )
        return Validation((problem,), (), None)
    loader = _Loader(root)
    workspace = loader.run()
    errors = tuple(p for p in loader.problems if p.severity == "error")
    warnings = tuple(p for p in loader.problems if p.severity != "error")
    if errors or workspace is None:
        return Validation(errors, warnings, None)
    return Validation((), warnings, replace(workspace, warnings=warnings))


class _Loader:
    """One validation pass over a workspace folder, collecting problems as it goes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.ctx = Context()
        self.raw: dict[str, RawTable] = {}
        self.named_kpis: set[str] = set()
        self.settings = DEFAULT_SETTINGS
        self.wide: dict[str, wide.WideLayout] = {}
        # melted wide tables: where each row came from, and the first problem found on it
        self.cells: list[tuple[wide.Cells, int]] = []
        self.sources: dict[str, SqlSource] = {}
        self.events: dict[str, RawTable] = {}
        self.kpi_specs: dict[str, KpiSpec] = {}
        self.kpis_whole = False  # kpis.yaml read without a problem

    def run(self) -> Workspace | None:
        workspace = self._run()
        for cells, first in self.cells:  # name the file's cells, not the melted rows
            self.problems[first:] = [wide.in_cells(p, cells) for p in self.problems[first:]]
        return workspace

    def _run(self) -> Workspace | None:
        self.settings, problems = read_settings(self.root)
        self.problems += problems
        self.wide, problems = wide.wide_layouts(self.settings.sections)
        self.problems += problems
        self.sources, problems = parse_sources(self.settings.sections.get("sources", {}))
        self.problems += problems
        kpis = self._kpis()
        self._check_source_names(kpis)
        self.ctx.kpis = set(kpis) | self.named_kpis  # a KPI with a bad field still exists
        if not self.ctx.kpis:  # no dictionary to check against: one sentence, not a row each
            self.ctx.unread.add("kpis")
            self.problems.append(
                Problem(
                    KPIS_FILE,
                    "KPI ids and the observations' values were not checked against the "
                    "KPI dictionary, because it could not be read",
                    "fix kpis.yaml first; the next validation checks them",
                    severity="warning",
                )
            )
        frames = {"teams": self._table("teams")}
        self.ctx.teams = _ids(frames["teams"], "team_id")
        people = self._typed("people")
        self.ctx.people = _ids(people, "employee_id")
        keep = self._fairness_columns(people)
        frames["people"] = self._checked("people", people)
        for table in event_tables(kpis):
            self._event_table(table)
        for name in ("observations", "targets", "goals", "ratings", "feasibility"):
            frames[name] = self._table(name)
        frames = self._cross_checks(frames, kpis)
        if any(p.severity == "error" for p in self.problems) or any(
            f is None for f in frames.values()
        ):
            return None
        return replace(_finish(self.root, kpis, frames, keep), settings=self.settings)

    def _fairness_columns(self, people: pd.DataFrame | None) -> tuple[str, ...]:
        """The people columns ``[fairness] columns`` names (kept on the people table for
        the calibration pack's slicing); each one people does not have is a problem."""
        wanted = fairness_settings(self.settings).columns
        if people is None or "people" not in self.raw:
            return ()
        spec = TABLES["people"]
        found = [c for c in wanted if c in people.columns]
        for column in wanted:
            if column not in people.columns:
                self.problems.append(
                    Problem(
                        SETTINGS_FILE,
                        f"[fairness] columns names {column!r}, which "
                        f"{self.raw['people'].file} does not have",
                        f"add a column {column} to {self.raw['people'].file}, or remove it "
                        "from [fairness] columns",
                        column="fairness.columns",
                    )
                )
        return tuple(c for c in found if c not in spec.columns)

    def _kpis(self) -> dict[str, KpiSpec]:
        path = self.root / KPIS_FILE
        if not path.is_file():
            self.problems.append(
                Problem(
                    "kpis.yaml",
                    "file is missing",
                    "write the KPI dictionary (docs/workspace.md, 'kpis.yaml')",
                )
            )
            return {}
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            self.problems.append(
                Problem(
                    "kpis.yaml",
                    f"is not valid YAML ({exc})".replace("\n", " "),
                    "fix the YAML syntax at the line shown",
                )
            )
            return {}
        kpis, problems = parse_kpis(data)
        self.problems += problems
        self.kpi_specs = kpis
        self.kpis_whole = not problems
        self.named_kpis = _named_ids(data)
        return kpis

    def _check_source_names(self, kpis: dict[str, KpiSpec]) -> None:
        """Each source is a table of the workspace or an event table a KPI reads."""
        if not self.kpis_whole:  # a KPI left out may be the one reading the source
            return
        events = event_tables(kpis)
        for name in self.sources:
            if name not in TABLES and name not in events:
                known = [*TABLES, *events]
                self.problems.append(
                    Problem(
                        SETTINGS_FILE,
                        "is neither a table of the workspace nor an event table a KPI reads",
                        f"name the section after one of: {', '.join(known)}",
                        column=f"sources.{name}",
                    )
                )

    def _read(self, name: str, folder: Path, spec: TableSpec | None) -> tuple[RawTable | None, str]:
        """Table ``name`` from its file in ``folder`` or its SQL source: the raw table (None
        unless read) and what happened: "read", "absent", "ambiguous" (two files, or a file
        and a source) or the name of what could not be read (the file's, the source's)."""
        path, problems = find_table(folder, name)
        self.problems += problems
        source = self.sources.get(name)
        if source is not None and (path is not None or problems):
            where = path.relative_to(self.root).as_posix() if path is not None else f"{name}.*"
            self.problems.append(
                Problem(
                    source.label,
                    f"the table '{name}' is given twice: by {where} and by [sources.{name}]",
                    f"keep one: delete or rename {where}, or remove [sources.{name}]",
                )
            )
            return None, "ambiguous"
        if source is None and path is None:
            return None, "ambiguous" if problems else "absent"
        categorical, numbers = (spec.categorical, spec.numbers) if spec else ((), ())
        try:
            if source is not None:
                return read_source(source, self.root, categorical, numbers), "read"
            assert path is not None
            return read_table(path, categorical, numbers), "read"
        except SourceFailed as failed:
            self.problems.append(failed.problem)
        except TableRefused as exc:
            self.problems += exc.problems
        except Exception as exc:  # an unreadable file is a problem to report, not a crash
            assert path is not None
            self.problems.append(unreadable(path, exc))
        return None, source.label if source is not None else str(path.name if path else name)

    def _event_table(self, name: str) -> None:
        raw, status = self._read(name, self.root / EVENTS_FOLDER, None)
        if raw is not None:
            if name not in self.sources:  # named by its path in the workspace folder
                raw = replace(raw, file=f"{EVENTS_FOLDER}/{raw.file}")
            self.events[name] = raw
            self.problems += raw.problems
        elif status == "absent":
            self.problems.append(
                Problem(
                    f"{EVENTS_FOLDER}/{name}.csv",
                    "file is missing (an event table a KPI of kpis.yaml reads, from:)",
                    f"add {EVENTS_FOLDER}/{name}.csv (or .xlsx / .parquet), or a "
                    f"[sources.{name}] section in kpinb.toml",
                )
            )

    def _typed(self, name: str) -> pd.DataFrame | None:
        spec = TABLES[name]
        layout = self.wide.get(name)  # a wide table's columns are weeks or KPIs: read as text
        raw, status = self._read(name, self.root, spec if layout is None else None)
        if name == "observations" and self.events and status in ("read", "absent"):
            raw, status = self._with_events(raw), "read"
        if status in ("absent", "ambiguous"):
            if spec.required_file and status == "absent":
                self.problems.append(
                    Problem(
                        f"{name}.csv",
                        "file is missing",
                        f"add {name}.csv "
                        "(or .xlsx / .parquet) with columns " + ", ".join(spec.required),
                    )
                )
            return _empty(spec) if not spec.required_file else None
        if raw is None:
            self.ctx.unread.add(name)
            if name in ("people", "teams"):
                self.problems.append(
                    Problem(
                        status,
                        f"references to {name} from the other tables were not checked, "
                        "because this file could not be read",
                        "fix this file first; the next validation checks them",
                        severity="warning",
                    )
                )
            return None
        self.problems += raw.problems
        if layout is not None:
            long, cells, problems = wide.melt(raw, layout, spec.categorical)
            self.problems += problems
            if long is None or cells is None:
                self.ctx.unread.add(name)
                return None
            self.cells.append((cells, len(self.problems)))
            raw = long
        self.raw[name] = raw
        if name == "people":
            self.ctx.people_file = raw.file
        if name == "teams":
            self.ctx.teams_file = raw.file
        frame, problems = type_table(raw, spec, self.settings.fiscal_year_start)
        self.problems += problems
        return frame

    def _with_events(self, raw: RawTable | None) -> RawTable:
        """The observations read, followed by those computed from event tables (which
        were checked, row by row, in their own tables)."""
        people = None if "people" in self.ctx.unread else self.ctx.people
        kpis = {k: v for k, v in self.kpi_specs.items() if v.events is not None}
        computed, problems = event_observations(self.events, kpis, people, self.settings.week_start)
        self.problems += problems
        if raw is None:
            label = f"{KPIS_FILE} (KPIs from event tables)"
            return RawTable(_as_read(computed, computed), label, first_row=1)
        read_ids = (
            set(raw.frame["kpi_id"].dropna().astype("string").str.strip())
            if "kpi_id" in raw.frame
            else set()
        )
        for kpi, spec in kpis.items():
            if kpi in read_ids and spec.events is not None:
                self.problems.append(
                    Problem(
                        raw.file,
                        f"holds rows of the KPI {kpi!r}, which kpis.yaml computes from "
                        f"the event table '{spec.events.events}'",
                        f"remove its rows from {raw.file}, or remove 'from:' from the KPI",
                        column="kpi_id",
                    )
                )
        extra = _as_read(computed, raw.frame, raw.decimal_comma)
        return replace(raw, frame=pd.concat([raw.frame, extra], ignore_index=True))

    def _checked(self, name: str, frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is not None and name in self.raw:
            self.problems += check_table(frame, self.raw[name], TABLES[name], self.ctx)
        return frame

    def _table(self, name: str) -> pd.DataFrame | None:
        return self._checked(name, self._typed(name))

    def _cross_checks(
        self, frames: dict[str, pd.DataFrame | None], kpis: dict[str, KpiSpec]
    ) -> dict[str, pd.DataFrame | None]:
        raw, p = self.raw, self.problems
        if frames["people"] is not None and "people" in raw:
            p += checks.manager_loops(frames["people"], raw["people"])
            p += checks.email_addresses(frames["people"], raw["people"])
        for name in ("targets", "feasibility"):
            frame = frames[name]
            if frame is not None and name in raw and not {"people", "teams"} & (self.ctx.unread):
                p += checks.scopes_exist(frame, raw[name], self.ctx.people, self.ctx.teams)
        known_kpis = "kpis" not in self.ctx.unread
        if frames["goals"] is not None and "goals" in raw and known_kpis:
            p += checks.goal_kpis(frames["goals"], raw["goals"], kpis)
        if frames["ratings"] is not None and "ratings" in raw:
            p += checks.ratings_on_scale(
                frames["ratings"], raw["ratings"], self.settings.rating_scale
            )
        if frames["observations"] is not None and "observations" in raw and known_kpis:
            # handed over, not kept here: the checks free each intermediate of ten million
            # rows as soon as they are done with it
            frames["observations"] = self._observations(
                cast(pd.DataFrame, frames.pop("observations")),
                raw.pop("observations"),
                kpis,
                frames["people"],
            )
        return frames

    def _observations(
        self,
        obs: pd.DataFrame,
        raw: RawTable,
        kpis: dict[str, KpiSpec],
        people: pd.DataFrame | None,
    ) -> pd.DataFrame:
        for col in ("employee_id", "kpi_id"):
            if not isinstance(obs[col].dtype, pd.CategoricalDtype):
                obs[col] = obs[col].astype("category")
            categories = obs[col].cat.categories
            if categories.dtype != "str":  # typed sources (Parquet, SQL): one dtype for all
                obs[col] = obs[col].cat.rename_categories(list(categories.astype("str")))
        obs, problems, counted = checks.ratio_values(obs, raw, kpis)
        self.problems += problems
        # past here rows are named by their position: the file's cells can go
        raw = replace(raw, frame=raw.frame.iloc[:, :0])
        obs, notes = checks.align_periods(obs, kpis, raw.file, self.settings.week_start)
        self.problems += notes + checks.future_dates(obs, raw, _today())
        codes = checks.observation_codes(obs)
        order = checks.sort_order(codes)
        problems, keep = checks.duplicate_observations(obs, raw, codes, order)
        self.problems += problems
        keep &= counted[order]
        del counted
        if not keep.all():
            order = checks.positions(order, len(obs))[keep]
        del keep
        # one column at a time, each old one let go before the next is built, and no
        # block of the three number columns stacked (copy=False): the peak stays near
        # the frame itself
        columns: dict[str, Any] = {
            c: obs[c] if isinstance(order, slice) else obs[c].take(order)
            for c in ("employee_id", "kpi_id")
        }
        for c in ("employee_id", "kpi_id"):
            columns[c] = columns[c].reset_index(drop=True)
        columns["period"] = codes.dates(order)
        del codes
        for c in ("value", "numerator", "denominator"):
            values = obs[c].to_numpy(dtype=float) if c in obs else np.full(len(obs), np.nan)
            columns[c] = values[order] if not isinstance(order, slice) else values.copy()
            del values
            if c in obs:
                obs = obs.drop(columns=c)
        del obs
        obs = pd.DataFrame(columns, copy=False)
        del columns
        if people is not None and not any(p.severity == "error" for p in self.problems):
            self.problems += checks.quality_warnings(obs, people, kpis, raw.file, _today())
        return obs


def _as_read(
    computed: pd.DataFrame, like: pd.DataFrame, decimal_comma: bool = False
) -> pd.DataFrame:
    """Computed observations in the form of the rows read beside them: a column the file
    holds as text gets text (dates as YYYY-MM-DD, numbers as written)."""
    out: dict[str, pd.Series] = {}
    for name, values in computed.items():
        column = str(name)
        target = like.get(column, values)
        typed = not isinstance(target.dtype, pd.CategoricalDtype) and (
            is_numeric_dtype(target) or is_datetime64_any_dtype(target)
        )
        if typed or column in ("employee_id", "kpi_id"):
            out[column] = values
        elif column == "period":
            out[column] = values.dt.strftime("%Y-%m-%d").astype("string")
        else:
            text = values.map(_number, na_action="ignore").astype("string")
            out[column] = text.str.replace(".", ",", regex=False) if decimal_comma else text
    return pd.DataFrame(out)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _today() -> pd.Timestamp:
    return pd.Timestamp.today().normalize()


def _named_ids(data: object) -> set[str]:
    entries = data.get("kpis", data) if isinstance(data, Mapping) else data
    if isinstance(entries, Mapping):
        return {str(k) for k in entries}
    if isinstance(entries, list):
        return {str(e["id"]).strip() for e in entries if isinstance(e, Mapping) and "id" in e}
    return set()


def _ids(frame: pd.DataFrame | None, column: str) -> set[str]:
    if frame is None or column not in frame:
        return set()
    return set(frame[column].dropna().astype(str))


def _empty(spec: TableSpec) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="float64" if c in spec.numbers else "str") for c in spec.columns}
    )


def _finish(
    root: Path,
    kpis: dict[str, KpiSpec],
    frames: dict[str, pd.DataFrame | None],
    people_extra: tuple[str, ...] = (),
) -> Workspace:
    """Give every table its documented dtypes (docs/architecture.md); ``people_extra``:
    the people columns ``[fairness] columns`` names, kept as text (empty cells NA)."""
    f = {k: v for k, v in frames.items() if v is not None}
    for name, frame in f.items():
        spec = TABLES[name]
        for col in spec.columns:
            if col in spec.numbers or col in spec.dates:
                continue
            if name != "observations":  # observations keep their categorical ids
                frame[col] = frame[col].astype("str")
            if col in DISPLAY_TEXT.get(name, ()):
                frame[col] = display_column(frame[col])
    f["goals"]["kpi_ids"] = f["goals"]["kpi_ids"].map(
        lambda s: tuple(i.strip() for i in str(s).split(";") if i.strip())
    )
    for name in ("people", "teams", "targets", "goals", "ratings", "feasibility"):
        extra = list(people_extra) if name == "people" else []
        f[name] = f[name][list(TABLES[name].columns) + extra].reset_index(drop=True)
    for col in people_extra:
        text = f["people"][col].astype("string").str.strip()
        text = text.mask(text == "")
        f["people"][col] = display_column(text)
    obs = f["observations"][list(OBSERVATION_COLUMNS)]
    return Workspace(
        kpis=kpis,
        people=f["people"],
        teams=f["teams"],
        observations=obs,
        targets=f["targets"],
        goals=f["goals"],
        ratings=f["ratings"],
        feasibility=f["feasibility"],
        root=root,
    )


def unreadable(path: Path, exc: Exception) -> Problem:
    """Why a table file cannot be read; for text that is not UTF-8, the first bad row."""
    fix = "save it as UTF-8 CSV, .xlsx or .parquet"
    if path.suffix.lower() == ".csv":
        data = path.read_bytes()
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError as bad:
            row = data[: bad.start].count(b"\n") + 1
            byte = data[bad.start : bad.start + 1].hex()
            return Problem(
                path.name,
                f"is not UTF-8 text: it holds the byte 0x{byte}, which UTF-8 does not "
                "allow (the file was probably saved as Latin-1 or Windows-1252)",
                "save the file as 'CSV UTF-8' (Excel: Save As > CSV UTF-8)",
                rows=(row,),
            )
        ragged = _ragged_row(data)
        if ragged is not None:
            row, cells, columns = ragged
            return Problem(
                path.name,
                f"row {row} has {cells} cells but the header names {columns} columns",
                "give every row as many cells as the header: remove delimiters left at the "
                "end of the row, or quote a cell that holds the delimiter",
                rows=(row,),
            )
        big = _oversized_cell(data)
        if big is not None:
            row, column, size = big
            return Problem(
                path.name,
                f"a cell holds {size:,} characters, more than the {MAX_CELL_BYTES:,} bytes a "
                "table cell may hold",
                "check the export: a cell this long is usually a broken quote that runs "
                "on over many rows",
                column=column,
                rows=(row,),
            )
    return Problem(
        path.name, f"cannot be read ({type(exc).__name__}: {exc})".replace("\n", " "), fix
    )


MAX_CELL_BYTES = 1 << 20  # pyarrow reads cells up to its block size (1 MiB)


def _ragged_row(data: bytes) -> tuple[int, int, int] | None:
    """(row, cells, header columns) of the first row whose count of cells is not the
    header's (a trailing delimiter on the rows only, or an unquoted delimiter in a cell)."""
    import csv

    from kpinb.csvtext import csv_rows

    reader = csv_rows(data.decode("utf-8-sig", errors="replace"))
    try:
        width = len(next(reader, []))
        for row, cells in enumerate(reader, start=2):
            if cells and len(cells) != width:
                return row, len(cells), width
    except csv.Error:
        return None
    return None


def _oversized_cell(data: bytes) -> tuple[int, str | None, int] | None:
    """(row, column, size) of the first cell over :data:`MAX_CELL_BYTES`, if any."""
    import csv

    from kpinb.csvtext import csv_rows

    reader = csv_rows(data.decode("utf-8-sig", errors="replace"))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        for row, cells in enumerate(reader, start=2):
            for i, cell in enumerate(cells):
                if len(cell.encode("utf-8")) > MAX_CELL_BYTES:
                    return row, header[i] if i < len(header) else None, len(cell)
    except csv.Error:
        return None
    return None
