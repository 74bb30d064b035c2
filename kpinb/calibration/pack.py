"""The calibration pack of a period: gathered tables, its pages and its workbook.

:func:`build_pack` gathers, for everyone who started by the period's end, the evidence
(:mod:`kpinb.calibration.evidence`), the managers' distributions and indications
(:mod:`kpinb.calibration.managers`), the prompts (:mod:`kpinb.calibration.prompts`) and
the period's decision log from the journal. The figures are computed over the whole
organisation (the median rating, the reference ratings), then kept for one department
when one is asked for, or for the departments, teams and people ``only`` names.
:meth:`CalibrationPack.pages` renders the HTML pages through
kpinb's one Jinja environment (autoescaped), :meth:`CalibrationPack.sheets` gives the
workbook's tables, and :func:`write_pack` publishes both into a folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb.analytics.goals import SUCCESS
from kpinb.calibration import evidence as ev
from kpinb.calibration.fairness import FAIRNESS_COLUMNS, fairness_view
from kpinb.calibration.grid import grid_cells, performance_band, potentials
from kpinb.calibration.managers import manager_table
from kpinb.calibration.prompts import manager_prompts, person_prompts
from kpinb.filenames import safe_name
from kpinb.settings import RatingScale
from kpinb.text import display_text

if TYPE_CHECKING:
    from kpinb.periods import Period
    from kpinb.workspace import Workspace

INDEX = "index.html"
PEOPLE_COLUMNS = (
    "employee_id", "name", "role", "team", "department", "manager_id", "manager",
    "tenure_years", "rating", "standing", "agreed_rating", "potential", "performance",
    "direction", "kpis", "improving",
    "worsening", "returned", "routine", "too_new", "no_value", "goals", "goals_at_success",
    "goals_projected_success", "mean_goal_score", "new_bests", "longest_streak", "checkins",
    "open_actions", "flags", "dependency_note", "stale_kpis", "missing_points",
    "expected_points", "out_of_range", "prompts", "report",
)  # fmt: skip
NUMBER_FORMATS = {
    "tenure_years": "0.0",
    "rating": "0.##",
    "agreed_rating": "0.##",
    "proposed_rating": "0.##",
    "mean_rating": "0.00",
    "mean_goal_score": "0.00",
    "goal_score": "0.00",
    "projected_score": "0.00",
    "share_above_middle": "0%",
    "improving_share": "0%",
    "improving_low": "0%",
    "improving_high": "0%",
    "goal_success_share": "0%",
    "goal_success_low": "0%",
    "goal_success_high": "0%",
    "gap": "+0.00;-0.00;0.00",
    "gap_low": "+0.00;-0.00;0.00",
    "gap_high": "+0.00;-0.00;0.00",
    "prev_change_rel": "+0.0%;-0.0%;0.0%",
}


@dataclass(frozen=True)
class CalibrationPack:
    """A period's calibration evidence, for everyone or one department."""

    period: Period
    department: str
    people: pd.DataFrame
    kpis: pd.DataFrame
    managers: pd.DataFrame
    prompts: pd.DataFrame
    decisions: pd.DataFrame
    median_rating: float
    min_group_size: int
    departments: tuple[str, ...] = field(default=())
    success: float = SUCCESS  # the goal score that counts as a success
    rating_scale: RatingScale = field(default_factory=RatingScale)
    only: tuple[str, ...] = field(default=())  # what the pack was narrowed to (--only)
    # fairness across groups and the grid (kpinb.calibration.fairness, .grid)
    fairness: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FAIRNESS_COLUMNS))

    @property
    def has_potential(self) -> bool:
        """Does anyone in the pack have a potential rating (the grid is shown)?"""
        return bool(self.people["potential"].notna().any())

    def grid(self, *, names: bool = False) -> pd.DataFrame:
        """The performance x potential grid (:func:`kpinb.calibration.grid.grid_cells`);
        ``names``: every cell's names (HR's own view)."""
        return grid_cells(self.people, self.rating_scale.values, self.min_group_size, names=names)

    @property
    def title(self) -> str:
        """``Calibration pack 2026-Q3`` (and the department when there is one)."""
        where = f": {self.department}" if self.department else ""
        return f"Calibration pack {self.period.label}{where}"

    def rating_text(self, value: float | None) -> str:
        """A rating as the pages show it: ``4 (Strong)``, or ``4`` without labels."""
        return ev.rating_text(self.rating_scale, value)

    def department_page(self, department: str) -> str:
        """The file name of a department's page inside the pack's folder."""
        return f"department-{safe_name(department)}.html"

    def pages(self) -> dict[str, str]:
        """Every page of the pack by file name: the index and one page per department."""
        from kpinb.calibration.render import render_page

        pages = {INDEX: render_page(self, None)}
        for dept in self.departments:
            pages[self.department_page(dept)] = render_page(self, dept)
        return pages

    def to_html(self) -> str:
        """The pack's first page (a standalone HTML document)."""
        from kpinb.calibration.render import render_page

        return render_page(self, self.department or None, links=False)

    def _repr_html_(self) -> str:
        return self.to_html()

    def sheets(self) -> dict[str, pd.DataFrame]:
        """The workbook's tables: people, KPI evidence, managers, prompts, decisions."""
        people = self.people.drop(columns=["report"])
        people["standing"] = people["standing"].map({1.0: "above", 0.0: "at", -1.0: "below"})
        return {
            "people": people,
            "evidence": self.kpis.drop(columns=["status"]),
            "managers": self.managers,
            "prompts": self.prompts,
            "decisions": self.decisions,
            **self._fairness_sheets(),
        }

    def _fairness_sheets(self) -> dict[str, pd.DataFrame]:
        """One sheet per slicing (its shown groups' figures, withheld groups named only)
        and the grid's counts when potential is rated."""
        sheets = {
            f"fairness {name}": rows.drop(columns=["slicing"])
            for name, rows in self.fairness.groupby("slicing", sort=False)
        }
        if self.has_potential:
            sheets["grid"] = self.grid()
        return sheets

    @property
    def workbook_name(self) -> str:
        """``calibration-2026-Q3.xlsx`` (with the department's safe name when there is one)."""
        dept = f"-{safe_name(self.department)}" if self.department else ""
        return f"calibration-{self.period.label}{dept}.xlsx"


def build_pack(
    ws: Workspace | str | os.PathLike[str],
    period: Period | str,
    *,
    department: str = "",
    journal_root: str | os.PathLike[str] | None = None,
    analysis: Any = None,
    only: Iterable[str] | None = None,
) -> CalibrationPack:
    """Gather the calibration pack of ``period`` (for ``department``; "" = everyone).

    ``ws`` is a workspace or its folder; the journal is read from ``journal_root``
    (default: the workspace's folder); ``analysis`` may be passed when already computed.
    ``only`` narrows the pack to the people it names by employee id, team id or name, or
    department (as ``kpinb run --only`` names them); the figures stay computed over
    everyone, so a narrowed pack shows each person as the whole pack does.
    """
    from kpinb.analytics import analyse
    from kpinb.errors import UsageError
    from kpinb.periods import as_period
    from kpinb.report import told
    from kpinb.workspace import Workspace, load_workspace

    if not isinstance(ws, Workspace):
        ws = load_workspace(Path(ws), cache=True)
    per = as_period(period, ws.settings.fiscal_year_start)
    result = analysis if analysis is not None else analyse(ws, per)
    department = display_text(department or "").strip()
    known = tuple(sorted(set(ws.teams["department"].astype(str))))
    if department and department not in known:
        msg = f"department {department!r} is not in teams; use one of {', '.join(known)}"
        raise UsageError(msg)
    root = journal_root if journal_root is not None else ws.root
    # each KPI as the person's own report tells it (everyone who started: managers'
    # rows may span departments)
    started = ws.people.loc[ws.people["start_date"] <= per.end, "employee_id"].astype(str)
    told_rows = told(ws, result, sorted(set(started)))
    kpi_rows = ev.kpi_evidence(result.summary, result.goals, ws.kpis, told_rows)
    people = _people(ws, per, kpi_rows, root, result.success)
    ids = set(people["employee_id"])
    kpi_rows = kpi_rows[kpi_rows["employee_id"].isin(ids)].reset_index(drop=True)
    flags = ev.person_flags(ws.feasibility, ws.people, per)
    flags = flags[flags["employee_id"].isin(ids)]
    # a flag raised by someone in people.csv names them (an id reads as nobody)
    everyone = _all_names(ws)
    flags["flagged_by"] = flags["flagged_by"].map(lambda v: everyone.get(str(v), display_text(v)))
    people["flags"] = people["employee_id"].map(flags.groupby("employee_id").size()).fillna(0)
    people["flags"] = people["flags"].astype(int)
    standing, median = ev.rating_standing(people["rating"])
    people["standing"] = standing
    scale = ws.settings.rating_scale
    people["rating_text"] = people["rating"].map(lambda v: ev.rating_text(scale, v))
    names = dict(zip(people["employee_id"], people["name"], strict=True))
    names.update(_all_names(ws))
    managers = manager_table(people, names, result.min_group_size)
    prompts = pd.concat(
        [
            person_prompts(people, kpi_rows, result.signals, flags, median, per),
            manager_prompts(managers),
        ],
        ignore_index=True,
    )
    people["prompts"] = people["employee_id"].map(
        prompts[prompts["scope"] == "person"].groupby("id").size()
    )
    people["prompts"] = people["prompts"].fillna(0).astype(int)
    decisions = _decisions(root, per, names)
    people["agreed_rating"] = people["employee_id"].map(
        decisions.drop_duplicates("employee_id", keep="last").set_index("employee_id")[
            "agreed_rating"
        ]
    )
    people["potential"] = people["employee_id"].map(potentials(ws.ratings, per.label))
    people["performance"] = performance_band(people["rating"], ws.settings.rating_scale.values)
    if department:
        keep = people["department"] == department
        ids = set(people.loc[keep, "employee_id"])
        people = people[keep]
        kpi_rows = kpi_rows[kpi_rows["employee_id"].isin(ids)]
        managers = managers[managers["department"].str.split(", ").map(lambda d: department in d)]
        prompts = prompts[prompts["department"].str.split(", ").map(lambda d: department in d)]
        decisions = decisions[decisions["employee_id"].isin(ids)]
    asked = tuple(dict.fromkeys(str(i).strip() for i in only or () if str(i).strip()))
    if asked:
        keep = _only(ws, people, asked)
        ids = set(people.loc[keep, "employee_id"])
        people = people[keep]
        kpi_rows = kpi_rows[kpi_rows["employee_id"].isin(ids)]
        managers = managers[managers["manager_id"].isin(set(people["manager_id"]))]
        kept = set(managers["manager_id"])
        person = prompts["scope"] == "person"
        prompts = prompts[(person & prompts["id"].isin(ids)) | (~person & prompts["id"].isin(kept))]
        decisions = decisions[decisions["employee_id"].isin(ids)]
        known = tuple(sorted(set(people["department"].astype(str))))
    fairness, fair_prompts = fairness_view(people, ws.settings, result.min_group_size, department)
    prompts = pd.concat([prompts, fair_prompts], ignore_index=True)
    return CalibrationPack(
        period=per,
        department=department,
        people=people.loc[:, list(PEOPLE_COLUMNS)].reset_index(drop=True),
        kpis=kpi_rows.reset_index(drop=True),
        managers=managers.reset_index(drop=True),
        prompts=prompts.reset_index(drop=True),
        decisions=decisions.reset_index(drop=True),
        median_rating=median,
        min_group_size=result.min_group_size,
        success=result.success,
        departments=(department,) if department else known,
        rating_scale=scale,
        only=asked,
        fairness=fairness,
    )


def _only(ws: Workspace, people: pd.DataFrame, asked: tuple[str, ...]) -> pd.Series:
    """Who of ``people`` the names in ``asked`` cover: employee ids, team ids or names,
    department names. A name that covers nobody is bad usage naming the known ones."""
    from kpinb.errors import UsageError

    teams = ws.teams.astype(str)
    team_ids = set(teams["team_id"])
    by_name = teams.groupby("name")["team_id"].apply(set).to_dict()
    departments = set(teams["department"])
    keep = pd.Series(False, index=people.index)
    unknown = []
    for item in asked:
        covers = people["employee_id"].eq(item) | people["department"].eq(item)
        covers |= (
            people["team_id"]
            .astype(str)
            .isin({item} if item in team_ids else by_name.get(item, set()))
        )
        if not covers.any() and item not in team_ids | departments:
            unknown.append(item)
        keep |= covers
    if unknown:
        msg = (
            f"--only names {', '.join(map(repr, unknown))}, found in no department, team or "
            "person of this period's pack: use employee ids, team ids or names, or "
            f"department names ({', '.join(sorted(departments))})"
        )
        raise UsageError(msg)
    return keep


def _all_names(ws: Workspace) -> dict[str, str]:
    return {
        str(e): display_text(n)
        for e, n in zip(ws.people["employee_id"], ws.people["name"], strict=True)
    }


def _people(
    ws: Workspace, per: Period, kpi_rows: pd.DataFrame, root: Any, success: float
) -> pd.DataFrame:
    """Everyone who started by the period's end, with role, team, manager and evidence."""
    people = ws.people[ws.people["start_date"] <= per.end].copy()
    people["employee_id"] = people["employee_id"].astype(str)
    names = _all_names(ws)
    teams = ws.teams.set_index("team_id")
    people["name"] = people["name"].map(display_text)
    people["team"] = people["team_id"].map(teams["name"]).fillna(people["team_id"])
    people["department"] = people["team_id"].map(teams["department"]).fillna("")
    people["manager_id"] = people["manager_id"].fillna("").astype(str)
    people["manager"] = people["manager_id"].map(names).fillna("")
    people["tenure_years"] = ev.tenure_years(people["start_date"], per)
    ratings = ws.ratings[ws.ratings["period"].astype(str) == per.label]
    rating = ratings.drop_duplicates("employee_id", keep="last").set_index("employee_id")["rating"]
    people["rating"] = people["employee_id"].map(rating).astype("float64")
    summary = ev.person_evidence(kpi_rows, success)
    people = people.merge(summary, on="employee_id", how="left")
    people["direction"] = people["direction"].fillna("thin")
    counts = [
        c for c in summary.columns if c not in ("employee_id", "direction", "mean_goal_score")
    ]
    people[counts] = people[counts].fillna(0).astype(int)
    journal = _journal(root, per, list(people["employee_id"]))
    people = people.merge(journal, on="employee_id", how="left")
    people[["checkins", "open_actions"]] = (
        people[["checkins", "open_actions"]].fillna(0).astype(int)
    )
    people["dependency_note"] = people["dependency_note"].astype(object).fillna("")
    people["report"] = people["employee_id"].map(lambda e: f"../employees/{safe_name(e)}.html")
    return people.sort_values(["department", "team", "name", "employee_id"]).reset_index(drop=True)


def _journal(root: Any, per: Period, ids: list[str]) -> pd.DataFrame:
    from kpinb.journal import list_entries, open_actions

    if root is None:
        return pd.DataFrame(columns=["employee_id", "checkins", "open_actions", "dependency_note"])
    entries = list_entries(root, ids)
    actions = open_actions(root, ids, as_of=per.end)
    return ev.period_journal(entries, actions, per)


def _decisions(root: Any, per: Period, names: dict[str, str]) -> pd.DataFrame:
    from kpinb.journal import DECISION_COLUMNS, decision_history

    if root is None:
        frame = pd.DataFrame(columns=list(DECISION_COLUMNS))
    else:
        frame = decision_history(root, per.label)
    frame = frame.assign(name=frame["employee_id"].map(names).fillna(""))
    first = ["decision_id", "period", "employee_id", "name"]
    return frame[first + [c for c in frame.columns if c not in first]]


def write_pack(
    pack: CalibrationPack,
    folder: str | os.PathLike[str],
    *,
    print_pdf: Callable[[str, str], bytes] | None = None,
) -> list[Path]:
    """Publish ``pack`` into ``folder``: its pages and workbook, all or nothing.

    ``print_pdf(html, name)`` (the batch's PDF printer, :mod:`kpinb.batch.formats.pdf`)
    adds a PDF beside each page. Every file is written whole into a temporary folder
    first, then all are renamed into place together (a failure leaves the earlier pack
    as it was); pages, PDFs and workbooks of an earlier pack that this one no longer has
    are then removed. Returns the paths written.
    """
    from kpinb.files import atomic_write_together
    from kpinb.journal import write_xlsx

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        book = write_xlsx(
            pack.sheets(),
            staging / pack.workbook_name,
            filters=True,
            number_formats=NUMBER_FORMATS,
            widths=True,
        )
        pages = pack.pages()
        files: list[tuple[Path, bytes | str]] = [(out / name, html) for name, html in pages.items()]
        if print_pdf is not None:
            files += [
                (out / Path(name).with_suffix(".pdf"), print_pdf(html, Path(name).stem))
                for name, html in pages.items()
            ]
        files.append((out / pack.workbook_name, book.read_bytes()))
        book.unlink()
        atomic_write_together(files, tmp_dir=staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written = {path for path, _ in files}
    for old in [*out.glob("*.html"), *out.glob("*.pdf"), *out.glob("*.xlsx")]:
        if old not in written:
            old.unlink(missing_ok=True)
    return sorted(written)
