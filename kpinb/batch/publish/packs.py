"""Packs of a whole period, published beside the reports (``--views calibration``).

The calibration pack (:mod:`kpinb.calibration`) goes to ``<period>/calibration/``: its
own index, a page per department and a workbook, written whole and swapped in together
under the period folder's lock. It is never linked from a report and never listed in
the period's index. Once written, ``run.json`` records it (``calibration``: its index,
workbook and page per department), so the delivery sends the pack this run built to the
HR partners. A pack that cannot be built or written is named in the run's summary (and
the run exits 1); the earlier pack, if any, stays as it was and ``run.json`` does not
name it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from kpinb.batch.publish.folder import hold_lock, resolve_under
from kpinb.errors import KpinbError

if TYPE_CHECKING:
    from kpinb.batch.records import BatchResult
    from kpinb.calibration import CalibrationPack
    from kpinb.periods import Period
    from kpinb.workspace import Workspace

CALIBRATION_DIR = "calibration"


def publish_calibration(
    ws: Workspace, per: Period, period_dir: Path, result: BatchResult
) -> BatchResult:
    """Build and publish the period's calibration pack; ``result`` says where, or why not."""
    from kpinb.calibration import build_pack, write_pack

    folder = resolve_under(period_dir, CALIBRATION_DIR)
    try:
        with hold_lock(period_dir):
            pack = build_pack(ws, per)
            write_pack(pack, folder)
            record_pack(period_dir, pack)
    except (KpinbError, OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        problem = f"the calibration pack could not be written ({why})"
        return dataclasses.replace(result, unwritten=(*result.unwritten, problem))
    return dataclasses.replace(result, calibration=folder / "index.html")


def record_pack(period_dir: Path, pack: CalibrationPack) -> None:
    """Add the pack's files (relative to the period folder) to ``run.json``."""
    import json

    from kpinb.batch.formats.twin import dumps_json
    from kpinb.calibration.pack import INDEX
    from kpinb.files import atomic_write

    path = period_dir / "run.json"
    manifest = json.loads(path.read_text("utf-8"))
    manifest["calibration"] = {
        "index": f"{CALIBRATION_DIR}/{INDEX}",
        "workbook": f"{CALIBRATION_DIR}/{pack.workbook_name}",
        "departments": {
            d: f"{CALIBRATION_DIR}/{pack.department_page(d)}" for d in pack.departments
        },
    }
    atomic_write(path, dumps_json(manifest))
