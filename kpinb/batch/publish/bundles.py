"""Per-reader bundles: one folder per reader with only their reports, for teams that
hand reports over through a shared drive instead of email.

Each reader's folder (named by their id) holds the files of the reports that are theirs
to read (:mod:`.recipients`: the same readers as email delivery) and an ``index.html``
listing only those; the folder is readable by this account only (0700, files 0600), so
access is granted on purpose, folder by folder. With ``zip`` each folder is also packed
as ``<id>.zip`` beside it. A folder is built under a temporary name and swapped in
whole, so a reader never finds half a bundle.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kpinb.batch.publish.folder import resolve_under
from kpinb.batch.publish.recipients import Recipient
from kpinb.filenames import safe_name
from kpinb.templating import environment, stylesheet

if TYPE_CHECKING:
    from kpinb.workspace import Workspace


@dataclass(frozen=True)
class Bundle:
    """One reader's folder (and zip file, when made) and how many reports it holds."""

    reader: Recipient
    folder: Path
    zip: Path | None


def write_bundles(
    ws: Workspace, period_dir: Path, out: Path, *, zip_too: bool = False
) -> tuple[list[Bundle], list[str]]:
    """A folder per reader of the period's built reports in ``out``; returns the bundles
    and the ids of reports no reader receives by default."""
    from kpinb.batch.publish.delivery import period_readers

    manifest, readers, nobody = period_readers(ws, period_dir)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for reader in readers:
        folder = out / safe_name(reader.person_id)
        _swap_in(_build(reader, period_dir, out, str(manifest["period"])), folder)
        archive = _zip(folder) if zip_too else None
        made.append(Bundle(reader, folder, archive))
    return made, nobody


def _build(reader: Recipient, period_dir: Path, out: Path, period: str) -> Path:
    """The reader's folder under a temporary name in ``out``: their files and index."""
    tmp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=out))  # 0700 already
    listed = []
    for parcel in reader.parcels:
        names = []
        for rel in parcel.files:
            target = tmp / PurePosixPath(rel).parent.name / PurePosixPath(rel).name
            target.parent.mkdir(mode=0o700, exist_ok=True)
            shutil.copyfile(resolve_under(period_dir, rel), target)
            target.chmod(0o600)
            names.append(target.relative_to(tmp).as_posix())
        pdf = next((n for n in names if n.endswith(".pdf")), None)
        listed.append({"title": parcel.title, "href": names[0], "pdf": pdf})
    page = (
        environment()
        .get_template("bundle_index.html.j2")
        .render(period=period, name=reader.name, parcels=listed, css=stylesheet("index"))
    )
    index = tmp / "index.html"
    index.write_text(page, "utf-8")
    index.chmod(0o600)
    return tmp


def _swap_in(tmp: Path, folder: Path) -> None:
    """Put the new folder in place of the old one (renames only)."""
    old = None
    if folder.exists():
        old = folder.with_name(f".old-{folder.name}")
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    tmp.rename(folder)
    folder.chmod(0o700)
    if old is not None:
        shutil.rmtree(old)


def _zip(folder: Path) -> Path:
    """``<folder>.zip`` beside the folder (0600), written whole then renamed."""
    archive = folder.with_suffix(".zip")
    fd, tmp_name = tempfile.mkstemp(prefix=".zip-", dir=folder.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as packed:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                packed.write(path, Path(folder.name) / path.relative_to(folder))
    tmp.chmod(0o600)
    tmp.replace(archive)
    return archive
