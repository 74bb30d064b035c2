"""File names made from ids: safe on every file system, the same for every layer.

The batch names each report's files with :func:`safe_name` (``employees/<stem>.html``),
and a report that links to another one (a team report to its members' reports) names
the target the same way, so the link leads to the file the batch wrote.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from kpinb.text import display_text

MAX_STEM = 64  # characters kept from an id before the hash suffix
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(10)}
    | {f"LPT{i}" for i in range(10)}
)


def safe_name(identifier: object) -> str:
    """A file-name stem made from an id: ``[A-Za-z0-9._-]``, no leading dot, not reserved.

    An id that is already safe is kept as it is (``E001`` -> ``E001``). Any other id
    is cleaned and gets a short hash of its NFC form, so ``../x`` and ``x`` never share
    a file: ``../x`` -> ``x-<8 hex>``. Ids equal after NFC normalisation share a name
    on purpose, so that the batch's planner reports them as a collision.
    """
    raw = str(identifier)
    text = display_text(raw).strip()
    stem = _NOT_ALLOWED.sub("_", text).strip("._-")[:MAX_STEM].rstrip("._-")
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    if stem and stem == raw:
        return stem
    digest = hashlib.sha256(unicodedata.normalize("NFC", raw).encode("utf-8")).hexdigest()
    return f"{stem or 'id'}-{digest[:8]}"
