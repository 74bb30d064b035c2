"""CSV as kpinb reads it: comma or semicolon (whichever the header uses more), and cells
of any size read whole so that a problem can name an oversized cell by row and column."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

_READ_WHOLE = 1 << 30  # csv's own default (128 KiB) would stop at the first big cell


def delimiter_of(header: str) -> str:
    """``;`` when the header line holds more semicolons than commas, else ``,``."""
    return ";" if header.count(";") > header.count(",") else ","


def csv_rows(text: str) -> Iterator[list[str]]:
    """The rows of ``text`` (the header first), each cell whole whatever its size."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, _READ_WHOLE))
    try:
        header = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
        # newline="": lines end at CR, LF or CR LF (old Mac files end in CR alone)
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(header))
    finally:
        csv.field_size_limit(limit)
