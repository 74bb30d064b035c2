"""The KPI statuses: every status a series can have in a period, listed once.

A status is what :func:`kpinb.analytics.signals.statuses` (and, for small groups, the
executive masking) says about one series in the review period, against its own recent
normal. Everything else that decides on a status looks its entry up here by name: which
statuses name a move, which a shift that holds, which can be read at all, and how the
calibration pack words and colours them. The report's stories, which add the trend to a
status, are listed in :mod:`kpinb.report.stories`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    """One KPI status.

    ``polarity``: +1 good news, -1 a topic to talk about, 0 neither. ``moves``: names a
    move against the usual level (the series keeps its ``shift_direction``). ``holds``:
    a shift that holds at the period's end. ``readable``: a locked baseline and a value,
    so the status says something about the period. ``label``: how the calibration pack
    words it (never a verdict). ``colour``: the calibration pack's colour for it (a rule
    ``li.st-<name>`` in ``calibration.css``), None for the text colour.
    """

    name: str
    polarity: int
    moves: bool
    holds: bool
    readable: bool
    label: str
    colour: str | None = None


KPI_STATUSES: dict[str, Status] = {
    s.name: s
    for s in (
        Status("improving_shift", 1, True, True, True, "improving shift", "#00664a"),
        Status("worsening_shift", -1, True, True, True, "shift to talk about"),
        Status("returned", 0, True, False, True, "back at the usual level"),
        Status("routine", 0, False, False, True, "routine"),
        Status("not_enough_history", 0, False, False, False, "too new to read"),
        Status("no_data", 0, False, False, False, "no value this period"),
        # the executive masking's: a group under the minimum size
        Status("withheld", 0, False, False, False, "some figures not shown (group size)"),
        Status("suppressed", 0, False, False, False, "not shown (group size)"),
    )
}

# statuses naming a move against the usual level, one that holds, and readable ones
MOVE_STATUSES = tuple(s.name for s in KPI_STATUSES.values() if s.moves)
HELD_STATUSES = tuple(s.name for s in KPI_STATUSES.values() if s.holds)
READABLE_STATUSES = tuple(s.name for s in KPI_STATUSES.values() if s.readable)
