"""The explorer's widgets: they only wire the tables, previews and forms together.

``explore(workspace, period)`` returns an :class:`Explorer`; displayed in JupyterLab it
shows five tabs: what changed, preview, data quality, check-in and feasibility. Every
callback is a plain method, so tests drive it in-process: set a widget's ``value`` and
call a button's ``click()``, then read the widgets' values and the journal.
ipywidgets (and IPython) are imported here, inside functions: nothing else needs them.
"""

from __future__ import annotations

import datetime as dt
import html
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb.analytics import analyse
from kpinb.errors import WorkspaceError
from kpinb.explorer import forms, preview, tables
from kpinb.extras import require
from kpinb.journal import DIAGNOSES, write_xlsx
from kpinb.periods import Period, parse_period, period_of
from kpinb.workspace import Validation, Workspace, load_workspace, validate_workspace

if TYPE_CHECKING:
    from kpinb.analytics import Analysis

PAGE = 25  # rows of a table shown at once
ANY = "(any)"
# the what-changed table's columns as shown (the name is a button that opens the report)
SHOWN = (
    "name",
    "department",
    "team",
    "kpi",
    "what",
    "direction",
    "status",
    "told",
    "date",
    "detail",
)
ACTION_ROWS = 3
CSS = """<style>
.kpinb-x td,.kpinb-x th{padding:2px 8px;text-align:left;vertical-align:top;font-size:13px}
.kpinb-x tr:nth-child(even){background:#f4f6f8}
.kpinb-x th{border-bottom:1px solid #999}
.kpinb-msg{color:#a33;font-size:12px}
.kpinb-ok{color:#05603a;font-weight:600}
</style>"""


def explore(workspace: str | Path | Workspace, period: str = "") -> Explorer:
    """Open the explorer on ``workspace`` (a folder, or a loaded workspace) for ``period``
    (a label like ``2026-Q3``; empty: the latest quarter with data). Displayed as the
    last line of a notebook cell, it shows itself."""
    return Explorer(workspace, period)


def _warm_up() -> None:
    import importlib

    for name in ("altair", "vl_convert", "kpinb.report.charts"):
        importlib.import_module(name)


def _options(values: Any, *, any_label: bool = True) -> list[tuple[str, str]]:
    found = sorted({str(v) for v in values if pd.notna(v) and str(v)})
    return ([(ANY, "")] if any_label else []) + [(v, v) for v in found]


def html_table(frame: pd.DataFrame, *, limit: int = 200) -> str:
    """A small escaped HTML table (dates as days, missing values blank)."""
    if frame.empty:
        return "<p><i>nothing to show</i></p>"
    shown = frame.head(limit)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in shown.itertuples(index=False)
    )
    more = f"<p><i>first {limit} of {len(frame)} rows</i></p>" if len(frame) > limit else ""
    return f'{CSS}<table class="kpinb-x"><tr>{head}</tr>{body}</table>{more}'


def _cell(value: Any) -> str:
    """A table cell as text (``value`` is any cell of a frame)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _messages(texts: list[str]) -> str:
    return "".join(f'<div class="kpinb-msg">{html.escape(t)}</div>' for t in texts)


class Explorer:
    """The widgets of one workspace's explorer and their callbacks (see the module)."""

    def __init__(self, workspace: str | Path | Workspace, period: str = "") -> None:
        require("ipywidgets", "lab")  # the lab extra, named when missing
        import ipywidgets as w

        started = time.perf_counter()
        self.validation: Validation | None = None
        if isinstance(workspace, Workspace):
            self.ws = workspace
            self.root = Path(workspace.root) if workspace.root is not None else Path.cwd()
            if workspace.root is not None:
                self.validation = Validation((), workspace.warnings, workspace)
        else:
            self.root = Path(workspace)
            # one pass: the tables and the findings of `kpinb validate` together
            self.validation = validate_workspace(self.root)
            if self.validation.workspace is None:
                raise WorkspaceError(list(self.validation.problems), list(self.validation.warnings))
            self.ws = self.validation.workspace
        periods = self._periods()
        self.period = (
            parse_period(str(period), self.ws.settings.fiscal_year_start).label
            if period
            else periods[-1]
        )
        if self.period not in periods:
            periods.append(self.period)
        self.people = tables.directory(self.ws)
        self.teams_of = dict(zip(self.people["employee_id"], self.people["team_id"], strict=True))
        self.sort = ("", True)
        self.page = 0
        self.table = pd.DataFrame(columns=list(tables.CHANGE_COLUMNS))
        self.shown = self.table
        self._reports: dict[tuple[str, str, str, str], Any] = {}
        self._hold = False
        self._previewing = False  # set when the preview tab is first opened
        self.last_report: Any = None

        self.period_pick = w.Dropdown(options=periods, value=self.period, description="Period")
        self.tabs = w.Tab(
            children=[
                self._changes_tab(w),
                self._preview_tab(w),
                self._quality_tab(w),
                self._checkin_tab(w),
                self._flag_tab(w),
            ]
        )
        for i, title in enumerate(
            ("What changed", "Preview", "Data quality", "Check-in", "Feasibility flag")
        ):
            self.tabs.set_title(i, title)
        self.period_pick.observe(lambda _: self.on_period(), names="value")
        self.tabs.observe(lambda _: self.on_tab(), names="selected_index")
        self.widget = w.VBox(
            [
                w.HTML(f"<h2>kpinb explorer: {html.escape(self.root.name or str(self.root))}</h2>"),
                self.period_pick,
                self.tabs,
            ],
            layout=w.Layout(width="100%"),
        )
        self.widget.add_class("kpinb-explorer")
        self._cascade()
        self.on_period()
        self.first_display_s = time.perf_counter() - started
        # while the analyst reads the table, load what the preview needs (imports only:
        # no widget is touched from the thread)
        self.warming = threading.Thread(target=_warm_up, daemon=True, name="kpinb-warm-up")
        self.warming.start()

    # --- display ------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # --- data ---------------------------------------------------------------------------

    def _periods(self) -> list[str]:
        """Quarters from the first observed one to the last (at most the last 8)."""
        dates = self.ws.observations["period"]
        fiscal_start = self.ws.settings.fiscal_year_start
        if dates.empty:
            return [period_of(pd.Timestamp.today().normalize(), 3, fiscal_start).label]
        last: Period = period_of(dates.max(), 3, fiscal_start)
        first = dates.min()
        found = [last]
        while len(found) < 8 and found[-1].previous().end >= first:
            found.append(found[-1].previous())
        return [p.label for p in reversed(found)]

    def _period(self) -> Period:
        """The period shown, labelled by the workspace's fiscal year."""
        return parse_period(self.period, self.ws.settings.fiscal_year_start)

    @property
    def analysis(self) -> Analysis:
        """The period's analysis, computed once per workspace object and period."""
        key = ("analysis", self._period().label)
        if key not in self.ws.derived:
            self.ws.derived[key] = analyse(self.ws, self.period)
        return self.ws.derived[key]

    # --- what changed -------------------------------------------------------------------

    def _changes_tab(self, w: Any) -> Any:
        self.f_department = w.Dropdown(description="Department")
        self.f_team = w.Dropdown(description="Team")
        self.f_kpi = w.Dropdown(description="KPI")
        self.f_direction = w.Dropdown(
            options=[(ANY, ""), ("improving", "improving"), ("worsening", "worsening")],
            description="Direction",
        )
        self.f_what = w.Dropdown(
            options=[(ANY, "")] + [(x, x) for x in tables.WHAT], description="Finding"
        )
        for f in (self.f_department, self.f_team, self.f_kpi, self.f_direction, self.f_what):
            f.observe(lambda _: self.on_filter(), names="value")
        self.headers = []
        for col in SHOWN:
            b = w.Button(description=col, layout=w.Layout(width="auto"), tooltip=f"sort by {col}")
            b.on_click(lambda _, c=col: self.on_sort(c))
            self.headers.append(b)
        self.row_buttons = []
        self.row_cells = []
        for i in range(PAGE):
            b = w.Button(layout=w.Layout(width="auto"), tooltip="open this report")
            b.on_click(lambda _, i=i: self.on_open(i))
            self.row_buttons.append(b)
            self.row_cells.append([w.HTML() for _ in SHOWN[1:]])
        self.grid = w.GridBox(
            layout=w.Layout(
                grid_template_columns="repeat(8, max-content) 1fr",
                grid_gap="2px 10px",
                align_items="center",
            )
        )
        self.grid.add_class("kpinb-changes")
        self.count = w.HTML()
        self.prev_page = w.Button(description="◀ previous", layout=w.Layout(width="auto"))
        self.next_page = w.Button(description="next ▶", layout=w.Layout(width="auto"))
        self.prev_page.on_click(lambda _: self.on_page(-1))
        self.next_page.on_click(lambda _: self.on_page(1))
        self.export_path = w.Text(description="Export to", layout=w.Layout(width="32em"))
        self.export_button = w.Button(description="Export table to xlsx", icon="download")
        self.export_button.on_click(lambda _: self.on_export())
        self.export_note = w.HTML()
        return w.VBox(
            [
                w.HBox([self.f_department, self.f_team, self.f_kpi]),
                w.HBox([self.f_direction, self.f_what]),
                w.HBox([self.prev_page, self.next_page, self.count]),
                self.grid,
                w.HBox([self.export_path, self.export_button]),
                self.export_note,
            ]
        )

    def on_period(self) -> None:
        """A new period: recompute the tables, keep the filters that still apply."""
        self.period = self.period_pick.value
        self.table = tables.changes(self.ws, self.analysis)
        self.export_path.value = str(Path.cwd() / f"kpinb-changes-{self.period}.xlsx")
        self.f_kpi.options = [
            (ANY, ""),
            *sorted({(self.ws.kpis[k].name, k) for k in self.table["kpi_id"] if k in self.ws.kpis}),
        ]
        self.flag_period.value = self.period
        self.on_filter()
        self.on_quality()
        self.redraw()

    def _cascade(self) -> None:
        """Department, team and person options (filters and pickers)."""
        self.f_department.options = _options(self.people["department"])
        self.f_team.options = _options(self.people["team"])

    def filtered(self) -> pd.DataFrame:
        """The table as filtered and sorted now (what the export writes)."""
        shown = tables.filter_changes(
            self.table,
            department=self.f_department.value or None,
            team=self.f_team.value or None,
            kpi=self.f_kpi.value or None,
            direction=self.f_direction.value or None,
            what=self.f_what.value or None,
        )
        column, ascending = self.sort
        return tables.sort_table(shown, column, ascending=ascending) if column else shown

    def on_filter(self) -> None:
        if self.f_department.value:
            teams = self.people.loc[self.people["department"] == self.f_department.value, "team"]
        else:
            teams = self.people["team"]
        if self.f_team.value and self.f_team.value not in set(teams):
            self.f_team.value = ""
        self.f_team.options = _options(teams)
        self.page = 0
        self.draw_table()

    def on_sort(self, column: str) -> None:
        """Sort by ``column``; a second click on the same column reverses the order."""
        name = "date" if column == "date" else column
        current, ascending = self.sort
        self.sort = (name, not ascending if current == name else True)
        self.page = 0
        self.draw_table()

    def on_page(self, step: int) -> None:
        pages = max(1, -(-len(self.shown) // PAGE))
        self.page = min(max(0, self.page + step), pages - 1)
        self.draw_table()

    def draw_table(self) -> None:
        self.shown = self.filtered()
        start = self.page * PAGE
        rows = self.shown.iloc[start : start + PAGE]
        column, ascending = self.sort
        for b, col in zip(self.headers, SHOWN, strict=True):
            b.description = col + ((" ▲" if ascending else " ▼") if col == column else "")
        children: list[Any] = list(self.headers)
        for i, row in enumerate(rows.itertuples(index=False)):
            data = dict(zip(rows.columns, row, strict=True))
            who = "team" if data["scope"] == "team" else data["scope_id"]
            self.row_buttons[i].description = f"{data['name']} ({who})"
            for cell, col in zip(self.row_cells[i], SHOWN[1:], strict=True):
                cell.value = html.escape(_cell(data[col]))
            children += [self.row_buttons[i], *self.row_cells[i]]
        self.grid.children = children
        total = len(self.shown)
        self.count.value = (
            f"rows {start + 1}–{start + len(rows)} of {total}" if total else "no rows match"
        )

    def on_open(self, i: int) -> None:
        """A row's button: that person's (or team's) report in the preview, on its KPI."""
        row = self.shown.iloc[self.page * PAGE + i]
        self._hold = True
        try:
            self.p_department.value = ""
            if row["scope"] == "team":
                self.p_person.value = ""
                self.p_team.value = row["scope_id"]
                if self.p_view.value == "employee":
                    self.p_view.value = "manager"
            else:
                self.p_team.value = ""
                self.p_person.value = row["scope_id"]
                if self.p_view.value == "executive":
                    self.p_view.value = "manager"
            if row["kpi_id"] in {v for _, v in self.p_kpi.options}:
                self.p_kpi.value = row["kpi_id"]
        finally:
            self._hold = False
        self._previewing = True
        self.tabs.selected_index = 1
        self.redraw()

    def on_export(self) -> None:
        path = Path(self.export_path.value).expanduser()
        if path.suffix.lower() != ".xlsx":
            path = path.with_suffix(".xlsx")
        frame = self.filtered().assign(date=lambda f: pd.to_datetime(f["date"]).dt.date)
        try:
            write_xlsx({"what changed": frame}, path)
        except OSError as exc:
            self.export_note.value = _messages([f"not written: {exc}"])
            return
        self.export_note.value = (
            f'<span class="kpinb-ok">{len(frame)} rows written to {html.escape(str(path))}</span>'
        )

    # --- preview ------------------------------------------------------------------------

    def _preview_tab(self, w: Any) -> Any:
        self.p_department = w.Dropdown(options=_options(self.people["department"]))
        self.p_department.description = "Department"
        self.p_team = w.Dropdown(description="Team")
        self.p_person = w.Dropdown(description="Person")
        self.p_kpi = w.Dropdown(
            options=[(spec.name, k) for k, spec in self.ws.kpis.items()], description="KPI"
        )
        self.p_view = w.ToggleButtons(options=list(preview.VIEWS), value="manager")
        self.p_view.description = "View"
        self.p_note = w.HTML()
        self.chart_out = w.Output()
        self.report_html = w.HTML()
        self.p_department.observe(lambda _: self.on_department(), names="value")
        self.p_team.observe(lambda _: self.on_team(), names="value")
        for pick in (self.p_person, self.p_kpi, self.p_view):
            pick.observe(lambda _: self.redraw(), names="value")
        self._hold = True
        self.on_department()
        first = self.people["employee_id"].iloc[0] if len(self.people) else ""
        self.p_person.value = first
        self._hold = False
        return w.VBox(
            [
                w.HBox([self.p_department, self.p_team, self.p_person]),
                w.HBox([self.p_kpi, self.p_view]),
                self.p_note,
                self.chart_out,
                self.report_html,
            ]
        )

    def _team_options(self) -> list[tuple[str, str]]:
        teams = self.ws.teams
        if self.p_department.value:
            teams = teams[teams["department"] == self.p_department.value]
        return [
            (ANY, ""),
            *sorted((str(n), str(t)) for n, t in zip(teams["name"], teams["team_id"], strict=True)),
        ]

    def _person_options(self) -> list[tuple[str, str]]:
        people = self.people
        if self.p_team.value:
            people = people[people["team_id"] == self.p_team.value]
        elif self.p_department.value:
            people = people[people["department"] == self.p_department.value]
        return [
            (ANY, ""),
            *sorted(
                (f"{n} ({e})", e)
                for n, e in zip(people["name"], people["employee_id"], strict=True)
            ),
        ]

    def on_department(self) -> None:
        hold, self._hold = self._hold, True
        keep = self.p_team.value
        self.p_team.options = self._team_options()
        self.p_team.value = keep if keep in {v for _, v in self.p_team.options} else ""
        self._hold = hold
        self.on_team()

    def on_team(self) -> None:
        hold, self._hold = self._hold, True
        keep = self.p_person.value
        self.p_person.options = self._person_options()
        self.p_person.value = keep if keep in {v for _, v in self.p_person.options} else ""
        self._hold = hold
        self.redraw()

    def chosen(self) -> preview.Subject:
        return preview.subject(
            view=self.p_view.value,
            person=self.p_person.value or None,
            team=self.p_team.value or None,
            department=self.p_department.value or None,
            teams_of=self.teams_of,
        )

    def report(self, chosen: preview.Subject) -> Any:
        """The chosen report, built once per subject, view and period (and rebuilt when
        the journal or the flags change: see :meth:`forget`)."""
        key = (chosen.scope, chosen.scope_id, chosen.view, self.period)
        if key not in self._reports:
            self._reports[key] = preview.preview(self.ws, chosen, self.period, self.analysis)
        return self._reports[key]

    def forget(self) -> None:
        """Drop the built reports (after a check-in or a flag was saved)."""
        self._reports.clear()

    def on_tab(self) -> None:
        """The preview is drawn when its tab is first opened: the first display shows the
        what-changed table without waiting for the charting libraries."""
        if self.tabs.selected_index == 1 and not self._previewing:
            self._previewing = True
            self.redraw()

    def redraw(self) -> None:
        """The preview for the pickers' values: report and interactive chart."""
        if self._hold or not self._previewing:
            return
        chosen = self.chosen()
        self.chart_out.outputs = ()
        if not chosen.ok:
            self.p_note.value = f"<p><i>{html.escape(chosen.note)}</i></p>"
            self.report_html.value = ""
            self.last_report = None
            return
        report = self.report(chosen)
        self.last_report = report
        what = {"employee": "what the person reads", "manager": "what their manager reads"}
        if chosen.view == "executive":
            note = (
                "the executive view: team and department aggregates only; groups under "
                "the minimum size are withheld"
            )
        else:
            note = what[chosen.view]
        self.p_note.value = f"<p><b>{html.escape(report.title)}</b>: {html.escape(note)}</p>"
        self.report_html.value = report.to_html()
        self._kpi_options(chosen)
        self.draw_chart(chosen)

    def _kpi_options(self, chosen: preview.Subject) -> None:
        """The KPI picker offers the KPIs of the chosen person or team (in the dictionary's
        order), keeping the KPI chosen when it is among them."""
        source = self.analysis.executive_analysis if chosen.view == "executive" else self.analysis
        s = source.summary
        mine = s.loc[
            (s["scope"] == chosen.scope) & (s["scope_id"].astype(str) == chosen.scope_id),
            "kpi_id",
        ]
        have = set(mine.astype(str))
        options = [(spec.name, k) for k, spec in self.ws.kpis.items() if k in have]
        if not options or options == list(self.p_kpi.options):
            return
        hold, self._hold = self._hold, True
        keep = self.p_kpi.value
        self.p_kpi.options = options
        self.p_kpi.value = keep if keep in have else options[0][1]
        self._hold = hold

    def draw_chart(self, chosen: preview.Subject) -> None:
        """The chosen KPI's interactive chart (a Vega output of the Output widget, set
        directly: no kernel display hook needed, so tests see it too)."""
        kpi = self.p_kpi.value
        points, row = preview.chart_data(self.analysis, chosen, kpi)
        if points.empty or not row:
            bundle = {"text/plain": "no values of this KPI to chart here"}
        else:
            bundle = preview.vega_bundle(preview.kpi_chart(self.ws, self.analysis, chosen, kpi))
        self.chart_out.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    # --- data quality -------------------------------------------------------------------

    def _quality_tab(self, w: Any) -> Any:
        self.q_tables = w.HTML()
        self.q_problem = w.Dropdown(description="Rows of")
        self.q_rows = w.HTML()
        self.q_people = w.HTML()
        self.q_series = w.Dropdown(description="Series")
        self.q_points = w.HTML()
        self.q_problem.observe(lambda _: self.on_problem(), names="value")
        self.q_series.observe(lambda _: self.on_series(), names="value")
        return w.VBox(
            [
                w.HTML("<h3>Per table (the findings of <code>kpinb validate</code>)</h3>"),
                self.q_tables,
                self.q_problem,
                self.q_rows,
                w.HTML("<h3>Per person, this period</h3>"),
                self.q_people,
                self.q_series,
                self.q_points,
            ]
        )

    def on_quality(self) -> None:
        found = [*self.validation.problems, *self.validation.warnings] if self.validation else []
        self.q_tables.value = html_table(tables.problems_frame(found))
        self.q_problem.options = [("(choose a finding with rows)", -1)] + [
            (f"{p.file}: {p.problem[:80]}", i) for i, p in enumerate(found) if p.rows
        ]
        self.q_rows.value = ""
        per = tables.quality_by_person(self.ws, self.analysis)
        self.q_people.value = html_table(per)
        self.q_series.options = [("(choose a person and KPI)", "")] + [
            (f"{r.name} ({r.employee_id}): {r.kpi}", f"{r.employee_id}\t{r.kpi_id}")
            for r in per.itertuples()
        ]
        self.q_points.value = ""

    def on_problem(self) -> None:
        found = [*self.validation.problems, *self.validation.warnings] if self.validation else []
        i = self.q_problem.value
        self.q_rows.value = (
            html_table(tables.problem_rows(self.root, found[i])) if i is not None and i >= 0 else ""
        )

    def on_series(self) -> None:
        if not self.q_series.value:
            self.q_points.value = ""
            return
        eid, kpi = self.q_series.value.split("\t")
        self.q_points.value = html_table(tables.series_rows(self.ws, self.analysis, eid, kpi))

    # --- check-in -----------------------------------------------------------------------

    def _checkin_tab(self, w: Any) -> Any:
        people = [
            (f"{n} ({e})", e)
            for n, e in zip(self.people["name"], self.people["employee_id"], strict=True)
        ]
        wide = w.Layout(width="40em")
        self.c_fields: dict[str, Any] = {
            "employee_id": w.Dropdown(options=[("(choose)", ""), *people], description="Person"),
            "date": w.Text(description="Date", placeholder="YYYY-MM-DD"),
            "author": w.Text(description="Author"),
            "what_moved": w.Textarea(description="What moved?", layout=wide),
            "why_moved": w.Textarea(description="Why?", layout=wide),
            "expected_impact": w.Textarea(description="Impact next", layout=wide),
            "support_needed": w.Textarea(description="Support", layout=wide),
            "diagnosis": w.Dropdown(options=list(DIAGNOSES), value="none", description="Diagnosis"),
        }
        self.c_messages = {name: w.HTML() for name in self.c_fields}
        self.c_actions = [
            {
                "text": w.Text(placeholder="action", layout=w.Layout(width="22em")),
                "owner": w.Text(placeholder="owner", layout=w.Layout(width="12em")),
                "due": w.Text(placeholder="due YYYY-MM-DD", layout=w.Layout(width="11em")),
            }
            for _ in range(ACTION_ROWS)
        ]
        self.c_action_messages = [w.HTML() for _ in range(ACTION_ROWS)]
        self.c_save = w.Button(description="Save check-in", button_style="primary", icon="check")
        self.c_save.on_click(lambda _: self.on_checkin())
        self.c_result = w.HTML()
        self.c_fields["date"].value = self._default_date().isoformat()
        rows = [w.HBox([self.c_fields[n], self.c_messages[n]]) for n in forms.CHECKIN_FIELDS]
        rows.insert(3, w.HTML("<b>The review routine</b>"))
        actions = [
            w.HBox([a["text"], a["owner"], a["due"], m])
            for a, m in zip(self.c_actions, self.c_action_messages, strict=True)
        ]
        return w.VBox(
            [
                w.HTML(
                    "<p>Writes one entry to the check-in journal "
                    "(<code>journal.sqlite</code>); the person's report shows it at once.</p>"
                ),
                *rows,
                w.HTML("<b>Actions</b> (what, who, by when; empty rows are left out)"),
                *actions,
                self.c_save,
                self.c_result,
            ]
        )

    def _default_date(self) -> dt.date:
        """Today, or the period's last day when today is after it (so the entry belongs to
        the review shown)."""
        end = self._period().end.date()
        return min(dt.date.today(), end)

    def checkin_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {n: f.value for n, f in self.c_fields.items()}
        values["actions"] = [{k: v.value for k, v in a.items()} for a in self.c_actions]
        return values

    def on_checkin(self) -> None:
        """Check the form; show each problem beside its field, or save and confirm."""
        known = set(self.people["employee_id"])
        entry_id, problems = forms.save_checkin(self.root, self.checkin_values(), known)
        for name, message in self.c_messages.items():
            message.value = _messages(problems.get(name, []))
        for i, message in enumerate(self.c_action_messages):
            texts = [t for k, v in problems.items() if k.startswith(f"actions[{i}].") for t in v]
            message.value = _messages(texts)
        if entry_id is None:
            self.c_result.value = _messages(["not saved: see the messages beside the fields"])
            return
        eid = self.c_fields["employee_id"].value
        name = dict(zip(self.people["employee_id"], self.people["name"], strict=True)).get(eid, eid)
        self.c_result.value = (
            f'<span class="kpinb-ok">Saved check-in entry {entry_id} for '
            f"{html.escape(str(name))} ({html.escape(eid)}).</span>"
        )
        if self.c_fields["date"].value > self._period().end.date().isoformat():
            self.c_result.value += (
                f"<br>It is dated after {self.period} ends, so it shows in the next "
                "period's reports."
            )
        for n in ("what_moved", "why_moved", "expected_impact", "support_needed"):
            self.c_fields[n].value = ""
        for a in self.c_actions:
            for f in a.values():
                f.value = ""
        self.forget()
        self.redraw()

    # --- feasibility --------------------------------------------------------------------

    def _flag_tab(self, w: Any) -> Any:
        self.flag_scope = w.ToggleButtons(options=["employee", "team"], description="Scope")
        self.flag_fields: dict[str, Any] = {
            "scope_id": w.Dropdown(description="Who"),
            "kpi_id": w.Combobox(
                options=list(self.ws.kpis), description="KPI id", ensure_option=False
            ),
            "period": w.Text(description="Period"),
            "flagged_by": w.Text(description="Flagged by"),
            "reason": w.Textarea(description="Reason", layout=w.Layout(width="40em")),
        }
        self.flag_messages = {n: w.HTML() for n in ("scope", *self.flag_fields, "form")}
        self.flag_scope.observe(lambda _: self._flag_who(), names="value")
        self._flag_who()
        self.flag_period = self.flag_fields["period"]
        self.flag_save = w.Button(description="Add flag", button_style="primary", icon="flag")
        self.flag_save.on_click(lambda _: self.on_flag())
        self.flag_result = w.HTML()
        return w.VBox(
            [
                w.HTML(
                    "<p>Flags a target as infeasible, with the reason: appended to "
                    "<code>feasibility.csv</code> (checked as <code>kpinb validate</code> "
                    "checks it); team and calibration views show it.</p>"
                ),
                w.HBox([self.flag_scope, self.flag_messages["scope"]]),
                *[w.HBox([f, self.flag_messages[n]]) for n, f in self.flag_fields.items()],
                self.flag_save,
                self.flag_messages["form"],
                self.flag_result,
            ]
        )

    def _flag_who(self) -> None:
        if self.flag_scope.value == "team":
            options = [
                (f"{n} ({t})", t)
                for n, t in zip(self.ws.teams["name"], self.ws.teams["team_id"], strict=True)
            ]
        else:
            options = [
                (f"{n} ({e})", e)
                for n, e in zip(self.people["name"], self.people["employee_id"], strict=True)
            ]
        self.flag_fields["scope_id"].options = [("(choose)", ""), *options]

    def flag_values(self) -> dict[str, str]:
        return {"scope": self.flag_scope.value} | {n: f.value for n, f in self.flag_fields.items()}

    def on_flag(self) -> None:
        """Check the flag as the loader would; show the problems or append it."""
        problems = forms.save_flag(self.ws, self.flag_values(), self.root)
        by_field = forms.problems_by_field(problems, forms.FLAG_FIELDS)
        for name, message in self.flag_messages.items():
            message.value = _messages(by_field.get(name, []))
        if problems:
            self.flag_result.value = _messages(["not saved: see the messages beside the fields"])
            return
        self._reload()
        self.flag_result.value = (
            '<span class="kpinb-ok">Flag added to feasibility.csv '
            f"(row {len(self.ws.feasibility) + 1}).</span>"
        )
        self.flag_fields["reason"].value = ""

    def _reload(self) -> None:
        """The workspace read again (a flag was added); the analysis is kept (flags do
        not change it)."""
        derived = dict(self.ws.derived)
        self.ws = load_workspace(self.root)
        self.ws.derived.update({k: v for k, v in derived.items() if k[0] == "analysis"})
        self.forget()
        self.redraw()
