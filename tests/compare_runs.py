"""Compare two demo runs: the workspace, every report (HTML and JSON twin) and run.json's
report list must be byte-identical (volatile fields left out).

Used to show that a restructuring changed no output::

    git stash; kpinb demo --out A/ws --reports A/reports; git stash pop
    kpinb demo --out B/ws --reports B/reports
    python tests/compare_runs.py A B

Left out: ``journal.sqlite*`` (it stores when each check-in was imported), the index's
"Updated" time, and per report ``seconds`` and ``inputs_key`` (the key hashes kpinb's own
code, so any code change changes it by design).

``--ignore-style`` also leaves out every ``<style>...</style>`` element of the HTML
pages, to show that a change of stylesheets changed nothing else::

    python tests/compare_runs.py --ignore-style A B
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

VOLATILE = {"seconds", "inputs_key"}
STYLE = re.compile(rb"<style\b[^>]*>.*?</style\s*>", re.IGNORECASE | re.DOTALL)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".kpinb" not in p.parts and not p.name.startswith("journal.sqlite")
    }


def _normalise(name: str, data: bytes, *, ignore_style: bool = False) -> bytes:
    if ignore_style and name.endswith(".html"):
        data = STYLE.sub(b"", data)
    if name.endswith("run.json"):
        reports = json.loads(data)["reports"]
        return json.dumps([{k: v for k, v in r.items() if k not in VOLATILE} for r in reports])
    if name.endswith("index.html") or "/managers/" in name:  # the indexes: dated
        return re.sub(rb"Updated \d{4}-\d\d-\d\d \d\d:\d\d", b"Updated", data).rstrip(b"\n")
    return data


def compare(before: Path, after: Path, *, ignore_style: bool = False) -> list[str]:
    """Every difference between the two runs, as lines (empty when identical);
    ``ignore_style`` leaves the pages' ``<style>`` elements out."""
    out = []
    for part in ("ws", "reports"):
        a, b = _files(before / part), _files(after / part)
        out += [f"only in {before}: {part}/{n}" for n in sorted(a.keys() - b.keys())]
        out += [f"only in {after}: {part}/{n}" for n in sorted(b.keys() - a.keys())]
        out += [
            f"differs: {part}/{n}"
            for n in sorted(a.keys() & b.keys())
            if _normalise(n, a[n], ignore_style=ignore_style)
            != _normalise(n, b[n], ignore_style=ignore_style)
        ]
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    ignore_style = "--ignore-style" in args
    before, after = (Path(a) for a in args if a != "--ignore-style")
    problems = compare(before, after, ignore_style=ignore_style)
    count = len(_files(before / "ws")) + len(_files(before / "reports"))
    print("\n".join(problems) or f"identical: {count} files compared")
    sys.exit(1 if problems else 0)
