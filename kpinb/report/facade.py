"""The report facade: the one thing notebooks and the batch call.

``build_report(ws, scope, scope_id, period, view)`` turns a workspace into a
:class:`Report`: its HTML fragment (escaped text, inline SVG charts, nothing
fetched) and its JSON twin (docs/report-json.md), in which every figure that a
sentence states can be found at the path the sentence gives.

The layers under it: ``kpinb.analytics.analysis`` computes (once per workspace and period,
cached here), ``kpinb.report.twin`` rounds it into the twin's blocks, ``kpinb.report.views`` and
``kpinb.report.sections`` choose what to say (``kpinb.report.narrative``, worded in
``templates/phrases.j2``) and ``kpinb.report.render`` writes the HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpinb.errors import UsageError
from kpinb.periods import Period, as_period
from kpinb.report.render import render_fragment
from kpinb.scopes import PAGE_MIME, REPORT_MIME, SCOPE_VIEWS

if TYPE_CHECKING:
    import pandas as pd

    from kpinb.analytics import Analysis
    from kpinb.workspace import Workspace


SCHEMA = "kpinb.report/1"


@dataclass(frozen=True)
class Report:
    """One built report: identity, its HTML fragment and its JSON twin."""

    scope: str
    scope_id: str
    period: str
    view: str
    title: str
    html: str = field(repr=False)
    twin: dict[str, Any] = field(repr=False)

    def to_html(self) -> str:
        """The self-contained HTML fragment (escaped text, inline SVG, no external URL)."""
        return self.html

    def to_json(self) -> dict[str, Any]:
        """The JSON twin (a fresh copy): every figure the narrative states."""
        import copy

        return copy.deepcopy(self.twin)

    def _repr_html_(self) -> str:
        return self.html

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return bundle(self)


def build_report(
    ws: Workspace,
    scope: str,
    scope_id: str,
    period: str | Period,
    view: str = "employee",
    *,
    journal_root: str | Path | None = None,
    analysis: Analysis | None = None,
) -> Report:
    """Build the report of one scope (employee, team, department) in one view.

    Parameters
    ----------
    ws
        The loaded workspace.
    scope, scope_id
        ``employee`` and an employee_id, ``team`` and a team_id, or ``department``
        and a department name.
    period
        The review period, a label like ``2026-Q3`` or a :class:`Period`.
    view
        ``employee`` (the person's own report), ``manager`` or ``executive``.
    journal_root
        Folder holding ``journal.sqlite``; defaults to ``ws.root``.
    analysis
        The period's analysis of ``ws`` when the caller holds it; by default it is
        computed once per workspace object and period.

    Raises
    ------
    UsageError
        For an unknown scope, view, combination or id (the message lists the valid ones).
    """
    per = as_period(period, ws.settings.fiscal_year_start)
    _check_request(ws, scope, str(scope_id), view)
    root = Path(journal_root) if journal_root is not None else ws.root
    from kpinb.report import views

    result = analysis if analysis is not None else period_analysis(ws, per)
    built = views.build(ws, result, scope, str(scope_id), per, view, root)
    twin = {
        "schema": SCHEMA,
        "scope": scope,
        "id": str(scope_id),
        "period": per.label,
        "period_start": per.start.date().isoformat(),
        "period_end": per.end.date().isoformat(),
        "view": view,
        "title": built.title,
        **built.data,
    }
    html = render_fragment(
        title=built.title,
        subtitle=built.subtitle,
        scope=scope,
        scope_id=str(scope_id),
        view=view,
        sections=built.sections,
        members=_linked_members(ws, per, built.data),
        success=f"{result.success:g}",
    )
    return Report(scope, str(scope_id), per.label, view, built.title, html, twin)


def period_analysis(ws: Workspace, per: Period, *, given: Analysis | None = None) -> Analysis:
    """The period's analysis, computed once per workspace object (kept in ``ws.derived``):
    what every report of the period shares. The batch computes it once before its kernels
    take the workspace over (:func:`kpinb.workspace.adopt_workspace`).

    ``given``: the period's analysis obtained elsewhere, held instead (the one an earlier
    run kept; for a run of a few reports, everyone's analysis narrowed to their rows:
    ``analyse``'s ``keep``)."""
    from kpinb.analytics import analyse

    key = ("analysis", per.label)
    if given is not None:
        ws.derived[key] = given
    elif key not in ws.derived:
        ws.derived[key] = analyse(ws, per)
    return ws.derived[key]


def narrowed_workspace(
    ws: Workspace, per: Period, people: set[str], teams: set[str], departments: set[str]
) -> Workspace:
    """``ws`` narrowed to the rows of ``people``, ``teams`` and ``departments``, carrying
    the part of the whole period's analysis (:func:`period_analysis`) they need: a process
    building only their reports holds that part of a big organisation, with the figures
    of the whole (the analysis pools some statistics across everyone, so it is never
    recomputed on the part)."""
    analysis = period_analysis(ws, per)
    narrowed = ws.narrowed(people, teams)
    narrowed.derived[("analysis", per.label)] = analysis.narrowed(people, teams, departments)
    return narrowed


def told(ws: Workspace, analysis: Analysis, ids: list[str]) -> pd.DataFrame:
    """The story and badge each person's own report gives each KPI (employee_id, kpi_id,
    story, badge): what other views (the calibration pack) say of a person's KPI, so a
    KPI is told one way everywhere."""
    import pandas as pd

    from kpinb.report.sections.kpis import badge
    from kpinb.report.twin import blocks_of

    rows = [
        (eid, block["kpi_id"], block["story"], badge(block))
        for eid in ids
        for block in blocks_of(ws, analysis.part("employee", eid))
    ]
    return pd.DataFrame(rows, columns=["employee_id", "kpi_id", "story", "badge"])


def _linked_members(ws: Workspace, per: Period, data: dict[str, Any]) -> list[dict[str, Any]]:
    """A team's members who started by the period's end: the page links to their reports."""
    started = set(ws.people.loc[ws.people["start_date"] <= per.end, "employee_id"].astype(str))
    return [m for m in data.get("members", ()) if m["employee_id"] in started]


def _check_request(ws: Workspace, scope: str, scope_id: str, view: str) -> None:
    if scope not in SCOPE_VIEWS:
        msg = f"scope {scope!r} is not one of {', '.join(SCOPE_VIEWS)}"
        raise UsageError(msg)
    if view not in SCOPE_VIEWS[scope]:
        msg = (
            f"view {view!r} is not available for scope {scope!r}; "
            f"use one of {', '.join(SCOPE_VIEWS[scope])}"
        )
        raise UsageError(msg)
    known = _ids(ws, scope)
    if scope_id not in known:
        shown = ", ".join(sorted(known)[:10]) + (" ..." if len(known) > 10 else "")
        msg = f"{scope} {scope_id!r} is not in the workspace; known ids: {shown}"
        raise UsageError(msg)


def _ids(ws: Workspace, scope: str) -> set[str]:
    if scope == "employee":
        return set(ws.people["employee_id"].astype(str))
    if scope == "team":
        return set(ws.teams["team_id"].astype(str))
    return set(ws.teams["department"].astype(str))


def page_html(report: Report) -> str:
    """A full standalone HTML page for ``report`` (own CSS, print styles, nothing fetched)."""
    from kpinb.report.render import render_page

    return render_page(title=report.title, body=report.to_html())


def bundle(report: Report) -> dict[str, Any]:
    """What a notebook displays for ``report``: HTML that JupyterLab shows without trust
    (styles inline, charts as images), the page fragment the batch publishes, and the
    JSON twin."""
    from kpinb.report.notebook import notebook_html

    return {
        "text/html": notebook_html(report.html),
        PAGE_MIME: report.html,
        REPORT_MIME: report.to_json(),
    }


def show(report: Report) -> None:
    """Display ``report`` in a notebook (:func:`bundle`); the batch reads the page and the
    twin from its outputs."""
    from IPython.display import display

    display(bundle(report), raw=True)
