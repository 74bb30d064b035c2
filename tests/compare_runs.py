"""Compare two demo runs: the workspace, every report (HTML and JSON twin) and run.json's
report list must be byte-identical (volatile fields left out).

Used to show that a restructuring changed no output::

    git stash; kpinb demo --out A/ws --reports A/reports; git stash pop
    kpinb demo --out B/ws --reports B/reports
    python tests/compare_runs.py A B

Left out: ``journal.sqlite*`` (it stores when each check-in was imported), the index's
"Updated" time, and per report ``seconds`` and ``inputs_key`` (the key hashes kpinb's own
code, so any code change changes it by design).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

VOLATILE = {"seconds", "inputs_key"}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".kpinb" not in p.parts and not p.name.startswith("journal.sqlite")
    }


def _normalise(name: str, data: bytes) -> bytes:
    if name.endswith("run.json"):
        reports = json.loads(data)["reports"]
        return json.dumps([{k: v for k, v in r.items() if k not in VOLATILE} for r in reports])
    if name.endswith("index.html"):
        return re.sub(rb"Updated \d{4}-\d\d-\d\d \d\d:\d\d", b"Updated", data).rstrip(b"\n")
    return data


def compare(before: Path, after: Path) -> list[str]:
    """Every difference between the two runs, as lines (empty when identical)."""
    out = []
    for part in ("ws", "reports"):
        a, b = _files(before / part), _files(after / part)
        out += [f"only in {before}: {part}/{n}" for n in sorted(a.keys() - b.keys())]
        out += [f"only in {after}: {part}/{n}" for n in sorted(b.keys() - a.keys())]
        out += [
            f"differs: {part}/{n}"
            for n in sorted(a.keys() & b.keys())
            if _normalise(n, a[n]) != _normalise(n, b[n])
        ]
    return out


if __name__ == "__main__":
    before, after = Path(sys.argv[1]), Path(sys.argv[2])
    problems = compare(before, after)
    count = len(_files(before / "ws")) + len(_files(before / "reports"))
    print("\n".join(problems) or f"identical: {count} files compared")
    sys.exit(1 if problems else 0)
