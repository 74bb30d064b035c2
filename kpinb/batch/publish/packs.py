"""Packs of a whole period, published beside the reports (``--views calibration``).

The calibration pack (:mod:`kpinb.calibration`) goes to ``<period>/calibration/``: its
own index, a page per department and a workbook, written whole and swapped in together
under the period folder's lock. It is never linked from a report and never listed in
the period's index. A pack that cannot be built or written is named in the run's
summary (and the run exits 1); the earlier pack, if any, stays as it was. A run with
``--only`` narrows the pack to the departments, teams and people it names and writes it
beside the whole one, in ``<period>/calibration-only-<names>/`` (:func:`pack_folder`), so
the organisation's pack of an earlier run stays as it was; a run with
``--formats pdf`` prints each page of the pack to PDF beside it, as the reports are
printed (:mod:`kpinb.batch.formats.pdf`: the page's title and "Confidential" on top of
every printed page, "Page n of N" at its foot).
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from kpinb.batch.publish.folder import hold_lock, resolve_under
from kpinb.errors import KpinbError

if TYPE_CHECKING:
    from kpinb.analytics import Analysis
    from kpinb.batch.formats.base import OutputFormat
    from kpinb.batch.records import BatchResult
    from kpinb.calibration import CalibrationPack
    from kpinb.periods import Period
    from kpinb.workspace import Workspace

CALIBRATION_DIR = "calibration"
NARROWED_PREFIX = "calibration-only-"
MAX_NAMES = 60  # characters of the names in a narrowed pack's folder name


def pack_folder(only: Iterable[str] | None) -> str:
    """The pack's folder in the period folder: ``calibration`` for the whole pack,
    ``calibration-only-<names>`` for one narrowed to ``only`` (each name made safe;
    a long list is cut and given a hash of the whole, so two lists never share one)."""
    from kpinb.filenames import safe_name
    from kpinb.hashing import digest

    if only is None:
        return CALIBRATION_DIR
    names = sorted(set(only))
    stem = "_".join(safe_name(n) for n in names)
    if len(stem) > MAX_NAMES:
        stem = f"{stem[:MAX_NAMES].rstrip('._-')}-{digest(*names)[:8]}"
    return NARROWED_PREFIX + stem


def publish_calibration(
    ws: Workspace,
    per: Period,
    period_dir: Path,
    result: BatchResult,
    analysis: Analysis,
    *,
    only: Iterable[str] | None = None,
    formats: Iterable[OutputFormat] = (),
) -> BatchResult:
    """Build and publish the period's calibration pack from the period's ``analysis``
    (narrowed to ``only``; printed to PDF too when ``formats`` holds ``pdf``); ``result``
    says where, or why not."""
    from kpinb.batch.formats.pdf import BrowserError, pdf_printer
    from kpinb.calibration import build_pack, write_pack

    only = None if only is None else list(only)
    folder = resolve_under(period_dir, pack_folder(only))
    printed = any(f.name == "pdf" for f in formats)
    try:
        pack = build_pack(ws, per, analysis=analysis, only=only)
        with contextlib.ExitStack() as stack:
            printer = None
            if printed:
                scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                printer = stack.enter_context(pdf_printer(scratch)).print_html
            with hold_lock(period_dir):
                write_pack(pack, folder, print_pdf=printer)
                record_pack(period_dir, pack, folder.name)
    except (KpinbError, OSError, ValueError, BrowserError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        problem = f"the calibration pack could not be written ({why})"
        return dataclasses.replace(result, unwritten=(*result.unwritten, problem))
    return dataclasses.replace(result, calibration=folder / "index.html")


def record_pack(period_dir: Path, pack: CalibrationPack, folder: str = CALIBRATION_DIR) -> None:
    """Add the pack's files (in ``folder``, relative to the period folder) to ``run.json``:
    the pack this run built, which delivery sends."""
    import json

    from kpinb.batch.formats.twin import dumps_json
    from kpinb.calibration.pack import INDEX
    from kpinb.files import atomic_write

    path = period_dir / "run.json"
    manifest = json.loads(path.read_text("utf-8"))
    manifest["calibration"] = {
        "index": f"{folder}/{INDEX}",
        "workbook": f"{folder}/{pack.workbook_name}",
        "departments": {d: f"{folder}/{pack.department_page(d)}" for d in pack.departments},
    }
    atomic_write(path, dumps_json(manifest))
