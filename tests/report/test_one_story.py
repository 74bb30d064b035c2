"""One story per KPI per person: a team page tells each member's KPI with the story the
member's own report tells (badge, headline, questions all read it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kpinb.report import Report


def test_team_member_lines_tell_the_members_own_story(demo_reports: tuple[Report, ...]) -> None:
    own = {
        (r.scope_id, b["kpi_id"]): b["story"]
        for r in demo_reports
        if r.scope == "employee" and r.view == "manager"
        for b in r.to_json()["kpis"]
    }
    compared = 0
    for report in demo_reports:
        if report.scope != "team" or report.view != "manager":
            continue
        twin = report.to_json()
        for member in twin["members"]:
            for block in member["kpis"]:
                assert block["story"] == own[(member["employee_id"], block["kpi_id"])], (
                    report.title,
                    member["name"],
                    block["name"],
                )
                compared += 1
        for sentence in (s for sec in twin["sections"] for s in sec["sentences"]):
            if sentence["id"].startswith("member_best"):  # never praise a topic to talk about
                paths = (
                    re.match(r"members\[(\d+)\]\.kpis\[(\d+)\]", f["path"])
                    for f in sentence["figures"]
                )
                i, j = (int(x) for x in next(m for m in paths if m).groups())
                story = twin["members"][i]["kpis"][j]["story"]
                assert story not in ("worsening_shift", "lean", "recovering"), sentence["text"]
    assert compared > 0
