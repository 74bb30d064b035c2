"""The scopes a report can be about, the views each offers, and where their pages go.

One table for the report facade, the batch planner and the published folders, so a
scope or view is added in one place.
"""

from __future__ import annotations

ALL_VIEWS = ("employee", "manager", "executive")
# the views each scope offers: a person reads their own report, a manager a team's,
# executives see teams and departments only
SCOPE_VIEWS: dict[str, tuple[str, ...]] = {
    "employee": ("employee", "manager"),
    "team": ("manager", "executive"),
    "department": ("executive",),
}
# views that are not one report per scope but a pack of the whole period, published in
# their own folder of the period (never linked from a report, never in the index)
PACK_VIEWS = ("calibration",)
SCOPE_DIRS = {"employee": "employees", "team": "teams", "department": "departments"}
# the MIME type under which a report notebook displays its JSON twin (the batch reads it)
REPORT_MIME = "application/vnd.kpinb.report+json"
# the same report's page fragment as the batch publishes it (its text/html output is the
# notebook-safe version that JupyterLab shows without trust)
PAGE_MIME = "application/vnd.kpinb.page+html"
