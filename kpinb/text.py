"""Display text: what a name, goal or note looks like once it is safe to show."""

from __future__ import annotations

import unicodedata


def display_text(value: object) -> str:
    """``value`` as NFC text (so "José" is one string whichever way it was typed), line
    breaks and tabs turned into spaces, and control and format characters (a right-to-left
    override that spoofs a name, zero-width spaces) removed."""
    text = unicodedata.normalize("NFC", str(value)).replace("\n", " ").replace("\t", " ")
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))


def clean_text(value: object) -> str:
    """:func:`display_text` without surrounding spaces: how journal text is stored and
    compared (a terminal escape or a leading space never reaches a page or a conflict)."""
    return display_text(value).strip()
