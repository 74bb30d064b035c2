"""Content hashes: SHA-256 of text, bytes, files and of several parts at once.

The batch keeps each published file's hash in its state record and hashes a report's
inputs (its inputs key); both use these helpers, so every hash is spelled one way.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_bytes(data: bytes | str) -> str:
    """Hex SHA-256 of ``data`` (text is hashed as UTF-8)."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digest(*parts: object) -> str:
    """Hex SHA-256 of ``parts`` as text, each ended by a NUL byte (so parts never run together)."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(str(part).encode("utf-8"))
        hasher.update(b"\0")
    return hasher.hexdigest()
