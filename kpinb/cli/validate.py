"""``kpinb validate WORKSPACE``: every problem and data-quality warning, readable by a person."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    """Add the ``validate`` sub-command."""
    parser = sub.add_parser(
        "validate",
        help="check a workspace: errors and data-quality warnings (exit 0 valid, 1 invalid)",
        description="Check every file of a workspace folder (kpis.yaml, people, teams, "
        "observations and the optional tables) and print every problem found, each naming "
        "the file, row and column, what is wrong and how to fix it, then the data-quality "
        "warnings (gaps, stale KPIs, duplicates, out-of-range values). Exit 0 when the "
        "workspace is valid (warnings allowed), 1 when it is not. docs/workspace.md "
        "describes the files.",
    )
    parser.add_argument("workspace", help="the workspace folder")
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    """Print the validation report; exit 0 when valid (warnings allowed), 1 when invalid."""
    from kpinb.workspace import validate_workspace

    result = validate_workspace(args.workspace)
    delivery, delivery_problems = _delivery(args.workspace, result.workspace)
    problems = [*result.problems, *delivery_problems]
    out = sys.stdout
    if problems:
        print(f"{args.workspace}: INVALID, {len(problems)} problem(s):", file=out)
        for problem in problems:
            print(f"  error: {problem}", file=out)
    else:
        ws = result.workspace
        assert ws is not None
        print(
            f"{args.workspace}: valid: {len(ws.people)} people, {len(ws.teams)} teams, "
            f"{len(ws.kpis)} KPIs, {len(ws.observations)} observations",
            file=out,
        )
        print("settings in force (kpinb.toml; defaults where it says nothing):", file=out)
        detailed = {f"[{name}]: set" for name in ("sources", "delivery", "recipients")}
        lines = [line for line in ws.settings.lines() if line not in detailed]
        for line in [*lines, *_source_lines(ws), *_delivery_lines(delivery)]:
            print(f"  {line}", file=out)
    if result.warnings:
        print(f"{len(result.warnings)} data-quality warning(s):", file=out)
        for warning in result.warnings:
            print(f"  warning: {warning}", file=out)
    if result.workspace is not None:
        for note in tail_notes(result.workspace):
            print(f"  note: {note}", file=out)
    return 0 if not problems else 1


def _delivery(folder: str, ws: Any) -> tuple[Any, list[Any]]:
    """The ``[delivery]``/``[recipients]`` settings (checked against the workspace's
    departments when it loaded) and their problems: a wrong mail setting is found by
    ``validate``, not on the night the reports go out."""
    from pathlib import Path

    from kpinb.batch.publish.delivery_settings import recipients_settings
    from kpinb.errors import WorkspaceError

    departments = None if ws is None else ws.teams["department"].astype(str)
    try:
        return recipients_settings(Path(folder), departments), []
    except WorkspaceError as exc:
        return None, exc.problems


def _source_lines(ws: Any) -> list[str]:
    """Where each table read from a database comes from, its password masked."""
    from kpinb.workspace.sources import masked_url, parse_sources

    sources, _ = parse_sources(ws.settings.sections.get("sources", {}))
    lines = []
    for name, src in sources.items():
        line = f"[sources.{name}]: {masked_url(src.url)}"
        if src.variables:
            line += ", from the environment: " + ", ".join(f"${v}" for v in src.variables)
        lines.append(line)
    return lines


def _delivery_lines(delivery: Any) -> list[str]:
    """The mail server and the HR partners as ``kpinb.toml`` gives them."""
    if delivery is None:
        return []
    smtp = delivery.smtp
    lines = []
    if smtp:
        where = smtp.get("smtp_host", "the --smtp-host of each run")
        if "smtp_port" in smtp:
            where += f":{smtp['smtp_port']}"
        said = [f"mail through {where}"]
        said += [f"{k.replace('_', ' ')} {smtp[k]}" for k in ("security", "sender", "smtp_user")
                 if k in smtp]  # fmt: skip
        if "password_env" in smtp:
            said.append(f"password from ${smtp['password_env']}")
        lines.append("[delivery]: " + ", ".join(said))
    for partner in delivery.partners:
        covers = ", ".join(partner.departments) if partner.departments else "every department"
        lines.append(f"[recipients] HR partner: {partner.name} <{partner.email}> ({covers})")
    return lines


def tail_notes(ws: Any) -> list[str]:
    """The light end-of-data check: where most people fell at once in the last weeks of
    the data (an export that is not complete yet), one note per group and KPI."""
    import pandas as pd

    from kpinb.analytics.tail import tails_in_observations

    tails = tails_in_observations(ws.observations, ws.people, ws.teams, ws.settings.min_group_size)
    names = dict(zip(ws.teams["team_id"].astype(str), ws.teams["name"].astype(str), strict=False))
    out = []
    for t in tails.to_dict("records"):
        sid, kid = str(t["scope_id"]), str(t["kpi_id"])
        who = {"workspace": "everyone", "team": names.get(sid, sid)}.get(str(t["scope"]), sid)
        kpi = ws.kpis[kid].name if kid in ws.kpis else kid
        since = pd.Timestamp(str(t["since"])).date().isoformat()
        out.append(
            f"the last weeks of the data look incomplete: {int(t['low'])} of {int(t['of'])} "
            f"people ({who}) fell below their usual range at once in {kpi} from {since}; "
            "the export may not be complete yet"
        )
    return out
