"""What the tests share: the committed test workspace, the demo workspace and its reports.

Test modules take these as fixtures and import no other test module; code they share
(workspace builders, stand-in notebooks) lives in ``tests/support/``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# jsonschema (under nbformat, papermill, nbconvert and altair) imports ``rfc3987_syntax``
# when it is installed and that module compiles ~35 Lark grammars at import: about half
# of the suite's collection time. No test checks the ``iri`` format, so the suite marks
# the module missing before anything imports jsonschema, as the batch does in its
# processes; jsonschema then leaves the ``iri`` check out.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    from kpinb.report import Report
    from kpinb.workspace import Workspace
    from tests.support.postgres import Cluster

WORKSPACE = Path(__file__).parent / "data" / "workspace"
"""The small committed workspace (``write_demo(..., people=12)``); never written to."""

DEMO_PERIOD = "2026-Q3"


@pytest.fixture(scope="session")
def workspace_dir() -> Path:
    """The committed test workspace's folder: read it, or copy it before changing it."""
    return WORKSPACE


@pytest.fixture(scope="module")
def ws() -> Workspace:
    """The committed test workspace, loaded once per test module."""
    from kpinb.workspace import load_workspace

    return load_workspace(WORKSPACE)


@pytest.fixture(scope="session")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The demo workspace with its check-ins imported into the journal, written once."""
    from kpinb import journal
    from kpinb.demo import write_demo
    from kpinb.workspace import load_workspace

    root = write_demo(tmp_path_factory.getbasetemp() / "report-demo")
    journal.import_checkins(root, root / "checkins.csv")
    return load_workspace(root)


@pytest.fixture(scope="session")
def demo_reports(demo_ws: Workspace) -> tuple[Report, ...]:
    """Every demo report of the review quarter in every view, charts stubbed (fast).

    Employees in the employee and manager views, teams in the manager and executive
    views, departments in the executive view.
    """
    from kpinb.report import build_report, charts

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(charts, "to_svg", lambda chart: '<svg class="stub"></svg>')
        out = [
            build_report(demo_ws, "employee", e, DEMO_PERIOD, v)
            for v in ("employee", "manager")
            for e in demo_ws.people["employee_id"]
        ]
        out += [
            build_report(demo_ws, "team", t, DEMO_PERIOD, v)
            for v in ("manager", "executive")
            for t in demo_ws.teams["team_id"]
        ]
        out += [
            build_report(demo_ws, "department", d, DEMO_PERIOD, "executive")
            for d in sorted(set(demo_ws.teams["department"]))
        ]
    return tuple(out)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A throwaway PostgreSQL server (tests/support/postgres.py), one per test session.

    CI installs Debian's postgresql (.ci/run) and must run these tests; elsewhere a
    machine without initdb skips them, saying why.
    """
    import os

    from tests.support import postgres as pg

    try:
        cluster = pg.start()
    except FileNotFoundError:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's initdb is missing: .ci/run installs Debian's postgresql")
        pytest.skip("PostgreSQL's initdb is not installed (apt-get install postgresql)")
    yield cluster
    cluster.stop()
