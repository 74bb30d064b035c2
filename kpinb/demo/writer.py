"""The deterministic demo workspace: realistic people, KPIs and known archetypes.

``write_demo`` builds a workspace folder (the tables of docs/workspace.md plus ``checkins.csv``
and ``archetypes.csv``) from a seed alone: no clock, no locale, floats written
with a fixed number of decimals, so the bytes are the same on every machine and
every day. Everything is placed relative to ``end``: 104 weekly points (Mondays)
ending on the week that holds ``end``, and the review period is the quarter that
holds that last Monday.

Each archetype is shaped on one KPI per person (``archetypes.csv``) and is
checked with the XmR rules (``demo_series``) before it is kept, so the analytics can be
tested against it: a ``steady_improver`` rises (direction-aware) for the last
18 weeks beyond the natural process limits, a ``plateau`` and a
``noisy_stable`` show no signal in the review period, a ``dip_and_recovery``
dips in the previous quarter and is back in the review quarter, a
``dependency_shift`` steps the wrong way at the start of the review quarter (its
check-in note says why), and a ``new_hire`` starts 4 weeks before the end.
Everyone else shows mild routine noise. One KPI (first response time) changes
its definition three quarters before the review quarter, with a level shift;
a few people skip a few weeks (the rows are absent, not zero).

The generator is split by concept: :mod:`kpinb.demo.model` (constants, the static
data of ``data.yaml``, calendar and people), :mod:`kpinb.demo.series` (the simulated
series and their archetype checks) and :mod:`kpinb.demo.tables` (one builder per
workspace file).
This module assembles and writes the workspace; ``kpinb demo`` is :mod:`kpinb.cli.demo`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from kpinb.demo.model import make_calendar, make_people
from kpinb.demo.tables import (
    archetypes_table,
    checkins_table,
    feasibility_table,
    goals_table,
    kpis_yaml,
    observations,
    people_table,
    ratings_table,
    settings_toml,
    targets_table,
    teams_table,
)
from kpinb.errors import UsageError

# the marker that tells an earlier demo (which ``write_demo`` may replace) from a real
# workspace (which it never touches)
MARKER = ".kpinb-demo"
MARKER_TEXT = (
    "This folder was written by `kpinb demo`; a later `kpinb demo` may replace its files.\n"
    "Delete this file to keep `kpinb demo` from ever writing here.\n"
)
GENERATED = (
    MARKER,
    "kpinb.toml",
    "kpis.yaml",
    "people.csv",
    "teams.csv",
    "observations.csv",
    "targets.csv",
    "goals.csv",
    "ratings.csv",
    "feasibility.csv",
    "checkins.csv",
    "archetypes.csv",
)

# --------------------------------------------------------------------------- writing


def period_label(end: str) -> str:
    """The review period the demo ending on ``end`` is built for (the quarter holding it)."""
    return make_calendar(end).period.label


def build_demo(*, seed: int = 7, end: str = "2026-09-30", people: int = 60) -> dict[str, str]:
    """Every file of the demo workspace as text, by file name (pure: no file access)."""
    cal = make_calendar(end)
    crowd = make_people(people, seed, cal)
    obs = observations(crowd, cal, seed)
    tables = {
        "people.csv": people_table(crowd),
        "teams.csv": teams_table(crowd),
        "observations.csv": obs,
        "targets.csv": targets_table(crowd, obs, cal),
        "goals.csv": goals_table(crowd, seed),
        "ratings.csv": ratings_table(crowd, cal, seed),
        "feasibility.csv": feasibility_table(crowd, cal),
        "checkins.csv": checkins_table(crowd, cal),
        "archetypes.csv": archetypes_table(crowd),
    }
    files = {"kpis.yaml": kpis_yaml(cal), "kpinb.toml": settings_toml()}
    files.update(
        {name: frame.to_csv(index=False, lineterminator="\n") for name, frame in tables.items()}
    )
    return files


def write_demo(
    out_dir: str | os.PathLike[str], *, seed: int = 7, end: str = "2026-09-30", people: int = 60
) -> Path:
    """Write the demo workspace to ``out_dir`` atomically and return its path.

    ``out_dir`` must be new, empty, or an earlier demo (it holds :data:`MARKER`);
    any other folder is refused with a :class:`UsageError` before anything is
    written, so a real workspace and its journal are never touched. The files are
    written into a temporary folder next to ``out_dir`` and swapped in whole. Files
    of an earlier demo that the demo does not generate (such as ``journal.sqlite``)
    are carried over, never deleted.
    """
    out = Path(out_dir).resolve()
    check_demo_folder(out)
    files = build_demo(seed=seed, end=end, people=people)
    files[MARKER] = MARKER_TEXT
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the workspace is an ordinary folder
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")
        _swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def check_demo_folder(out: Path) -> None:
    """Refuse ``out`` unless it is missing, an empty folder or an earlier demo."""
    if out.exists() and not out.is_dir():
        msg = f"{out} exists and is not a folder; choose another --out"
        raise UsageError(msg)
    if not out.is_dir() or (out / MARKER).is_file() or not any(out.iterdir()):
        return
    msg = (
        f"{out} already holds files and is not an earlier kpinb demo (it has no {MARKER} "
        "file), so kpinb demo leaves it as it is: nothing was written. Fix: give a new or "
        "empty folder, for example `kpinb demo --out kpinb-demo`; a demo written by an "
        "older kpinb can be deleted and written again."
    )
    raise UsageError(msg)


def _swap_in(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; what ``out`` held beyond the generated files moves over.

    The old folder is renamed aside first, so that a failure at any step leaves
    either the old or the new workspace whole, and ``journal.sqlite`` in one of them.
    """
    if not out.exists():
        os.rename(tmp, out)
        return
    old = out.with_name(f".{out.name}.old")
    if old.exists():
        msg = (f"{old} is left from an interrupted demo write and may hold a journal; "
               "move what you need out of it, delete it and run again")  # fmt: skip
        raise UsageError(msg)
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    for entry in old.iterdir():
        if entry.name not in GENERATED:  # journal.sqlite and the like
            os.replace(entry, out / entry.name)
    shutil.rmtree(old)
