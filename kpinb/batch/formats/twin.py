"""The JSON twin: read from an executed report notebook, checked, written as stable JSON.

The twin is the output the notebook displayed under :data:`~kpinb.scopes.REPORT_MIME`;
the batch checks it is the report it asked for before anything is published, and
publishes it next to the page (the ``json`` format).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kpinb.batch.formats.base import OutputFormat
from kpinb.batch.records import BuiltReport, ReportFiles
from kpinb.scopes import REPORT_MIME


def dumps_json(data: Any) -> str:
    """Stable, readable JSON (sorted keys, UTF-8, trailing newline)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def twin_of(nb: Any) -> dict[str, Any] | None:
    """The JSON twin a report notebook displayed (the last output of the kpinb MIME type)."""
    twin = None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if REPORT_MIME in data:
                twin = data[REPORT_MIME]
    return dict(twin) if twin is not None else None


def twin_mismatch(twin: Mapping[str, Any] | None, files: ReportFiles, period: str) -> str | None:
    """Why the twin is not the report asked for, or ``None`` when scope, id, period and
    view all match (a reused kernel must never publish one person's report as another's)."""
    if twin is None:
        return f"the notebook displayed no report (no output of type {REPORT_MIME})"
    wanted = {"scope": files.scope, "id": files.scope_id, "period": period, "view": files.view}
    wrong = [
        f"{k}={twin.get(k)!r} (expected {v!r})" for k, v in wanted.items() if str(twin.get(k)) != v
    ]
    return f"the report built is not the one asked for: {', '.join(wrong)}" if wrong else None


def _render(session: Any, built: BuiltReport, files: ReportFiles) -> str:
    return dumps_json(built.twin or {})


JSON = OutputFormat("json", ".json", _render, always=True)
