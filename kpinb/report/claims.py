"""The claims check: every sentence of a built report's twin held against its block's numbers.

Each sentence in the twin keeps its phrase key (``id``), its text and its figures with
their JSON paths (:func:`kpinb.report.twin.with_sentences`), so the KPI block a
sentence speaks about is the one its figures point into. :func:`check` reads the
sentence's claim from its phrase key and words and holds it against that block:

- direction: "higher" / "lower" against the sign of ``change.absolute``;
- held level: "held level", "holding steady", "steady and dependable" only when
  ``change.held`` (the quarter's change within routine variation, docs/analytics.md);
- a return: "back at its usual level", "back within", "back at the level it held"
  only when the period's last values lie within the range returned to (``limits``,
  or ``shift.normal`` for a return after the previous period);
- "stay within": every value of the period (``ending.min``, ``ending.max``) within
  ``limits``; a usual range is never of zero width; a rate's "within that range": its
  period's rate (``level``) within the range for its cases (``limits.period``);
- "no action needed" never beside a goal that asks for more (``goal.success`` false)
  nor beside a run of eight values on one side of the centre (worth watching);
- a new personal best is at least every value of the period;
- a year ago: "higher" / "lower" against the sign of ``year_change.absolute``, and only
  a change beyond routine variation (``year_change.held`` false);
- over time: "improved" / "moved the less favourable way" only with an ``over_time``
  verdict that way whose levels moved that way; "you share" only when it is shared;
- the person's own why (``talk_why``): a goal of their own (``own_goals``), stated as
  recorded, never anyone else's.

Pure: no I/O, no pandas. The batch refuses to publish a report with a failing claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# a KPI block's path: ``kpis[i]`` or a member's or team's ``members[j].kpis[i]``
_BLOCK = re.compile(r"^(?:(?P<outer>members|teams)\[(?P<o>\d+)\]\.)?kpis\[(?P<i>\d+)\]")


@dataclass(frozen=True)
class Failure:
    """A claim its own numbers contradict: the sentence, the claim, the numbers."""

    section: str
    sentence: str
    claim: str
    numbers: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.claim}: {self.sentence!r} ({self.numbers})"


def check(twin: dict[str, Any]) -> list[Failure]:
    """Every claim of the twin's sentences that its block's numbers contradict."""
    out: list[Failure] = []
    for block in twin.get("kpis") or []:
        out += _block_failures(block)
    for section in twin.get("sections") or []:
        for sentence in section.get("sentences") or []:
            if sentence.get("id") == "talk_why":
                out += _why_failures(str(section.get("id")), sentence, twin)
            block = _block_of(sentence, twin)
            if block is None:
                continue
            for claim, numbers in _sentence_failures(sentence, block):
                out.append(Failure(str(section.get("id")), sentence["text"], claim, numbers))
    return out


_OWN_GOAL = re.compile(r"^own_goals\[(\d+)\]\.goal$")


def _why_failures(section: str, sentence: dict[str, Any], twin: dict[str, Any]) -> list[Failure]:
    """The why line names one of the person's own goals, as recorded."""
    own = twin.get("own_goals") or []
    for figure in sentence.get("figures") or []:
        found = _OWN_GOAL.match(str(figure.get("path", "")))
        if found and int(found[1]) < len(own) and own[int(found[1])]["goal"] == figure["value"]:
            return []
    paths = [f.get("path") for f in sentence.get("figures") or []]
    return [
        Failure(
            section, sentence["text"], "a why that is not the person's own goal", {"paths": paths}
        )
    ]


def summary(failures: list[Failure], most: int = 3) -> str:
    """The failures in one line, for a report the batch refuses to publish."""
    shown = "; ".join(str(f) for f in failures[:most])
    more = f" (and {len(failures) - most} more)" if len(failures) > most else ""
    return f"{len(failures)} claim(s) contradicted by the report's own numbers: {shown}{more}"


def _block_of(sentence: dict[str, Any], twin: dict[str, Any]) -> dict[str, Any] | None:
    """The KPI block a sentence's figures point into (``kpis[i]...`` or
    ``members[j].kpis[i]...``), if any."""
    for figure in sentence.get("figures") or []:
        found = _BLOCK.match(str(figure.get("path", "")))
        if found is None:
            continue
        holder: Any = twin
        if found["outer"]:
            groups = twin.get(found["outer"]) or []
            holder = groups[int(found["o"])] if int(found["o"]) < len(groups) else {}
        kpis = holder.get("kpis") or [] if isinstance(holder, dict) else []
        if int(found["i"]) < len(kpis):
            return dict(kpis[int(found["i"])])
    return None


def _tolerance(block: dict[str, Any]) -> float:
    """Half a unit of the last decimal shown: values and limits are rounded."""
    return 0.5 * 10.0 ** -int(block.get("value_decimals") or 0) + 0.5 * 10.0 ** -int(
        block.get("decimals") or 0
    )


def _within(values: list[Any], lower: Any, upper: Any, tol: float) -> bool:
    if lower is None or upper is None:
        return False
    return all(v is None or lower - tol <= v <= upper + tol for v in values)


def _block_failures(block: dict[str, Any]) -> list[Failure]:
    """Claims every block makes by its fields: a usual range of non-zero width."""
    limits = block.get("limits")
    if limits and None not in (limits["upper"], limits["lower"]):  # noqa: SIM102
        if limits["upper"] <= limits["lower"]:
            return [
                Failure(
                    "kpis",
                    f"{block['name']}: usual range",
                    "usual range of zero width",
                    {"lower": limits["lower"], "upper": limits["upper"]},
                )
            ]
    return []


_BEST_KEYS = (
    "kpi_best",
    "headline_best",
    "member_best",
    "kpi_best_since",
    "headline_best_since",
    "member_best_since",
)


def _over_time_failures(
    key: str, text: str, block: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """A climb across quarters: told only with an over-time verdict its way, its levels
    moved that way (the direction-aware sign), and "you share" only when shared."""
    over = block.get("over_time") or {}
    numbers = {k: over.get(k) for k in ("direction", "from_level", "to_level", "shared")}
    if not over:
        return [("over time without a verdict", numbers)]
    improving = "improved" in text
    sign = 1 if block.get("direction") == "up" else -1
    moved = sign * (over["to_level"] - over["from_level"])
    shared = key == "kpi_over_time_shared"
    if shared != bool(over.get("shared")):
        return [("over time shared against its numbers", numbers)]
    if not shared and (
        (over["direction"] == "improving") != improving or moved * (1 if improving else -1) <= 0
    ):
        return [("over time against its levels", numbers)]
    return []


def _sentence_failures(
    sentence: dict[str, Any], block: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    key, text = str(sentence.get("id")), str(sentence.get("text"))
    out: list[tuple[str, dict[str, Any]]] = []
    change = block.get("change") or {}
    limits = block.get("limits") or {}
    ending = block.get("ending") or {}
    tol = _tolerance(block)
    if key in ("kpi_change", "kpi_change_abs"):
        higher = " higher" in text
        if change.get("absolute") is None or (change["absolute"] > 0) != higher:
            out.append(("direction against the change", {"absolute": change.get("absolute")}))
    year = block.get("year_change") or {}
    if key in ("kpi_year", "headline_year"):
        higher = " higher" in text
        if not year.get("absolute") or (year["absolute"] > 0) != higher or year.get("held"):
            numbers = {k: year.get(k) for k in ("absolute", "routine_limit", "held")}
            out.append(("a year's change against its numbers", numbers))
    if key in ("kpi_over_time", "headline_over_time", "kpi_over_time_shared"):
        out += _over_time_failures(key, text, block)
    held_words = ("held level", "holding steady", "steady and dependable")
    if any(w in text for w in held_words) and not change.get("held"):
        numbers = {k: change.get(k) for k in ("absolute", "routine_limit")}
        out.append(("held level beyond routine variation", numbers))
    if (
        key == "kpi_came_and_went"
        or "back at its usual level" in text
        or key
        in (
            "kpi_back_after",
            "headline_back",
            "headline_dip_back",
        )
    ):
        shift = block.get("shift") or {}
        normal = shift.get("normal") if shift.get("after_previous") else None
        ranged = normal or limits
        last = ending.get("last") or []
        if not last or not _within(last, ranged.get("lower"), ranged.get("upper"), tol):
            numbers = {"last": last, "lower": ranged.get("lower"), "upper": ranged.get("upper")}
            out.append(("back at its usual level, ending outside the range", numbers))
    if "stay within" in text:
        values = [ending.get("min"), ending.get("max")]
        if not ending or not _within(values, limits.get("lower"), limits.get("upper"), tol):
            numbers = {"min": ending.get("min"), "max": ending.get("max")}
            numbers |= {"lower": limits.get("lower"), "upper": limits.get("upper")}
            out.append(("stay within a range its points leave", numbers))
    period_range = limits.get("period") or {}
    if "it is within that range" in text:  # a rate's period against its cases' range
        level = (block.get("level") or {}).get("value")
        lower, upper = period_range.get("lower"), period_range.get("upper")
        if level is None or not _within([level], lower, upper, tol):
            numbers = {"level": level, "lower": lower, "upper": upper}
            out.append(("a rate within a range its period leaves", numbers))
    goal = block.get("goal") or {}
    if "no action needed" in text and goal.get("current") is not None and not goal.get("success"):
        out.append(("no action needed beside a goal", {"score": goal.get("score")}))
    runs = [s for s in block.get("signals") or [] if s.get("rule") == "run_of_8"]
    if "no action needed" in text and runs:
        out.append(("no action needed beside a run of eight", {"run_to": runs[-1].get("period")}))
    best = block.get("best") or {}
    if key in _BEST_KEYS:
        sign = 1 if block.get("direction") == "up" else -1
        top = ending.get("max") if sign > 0 else ending.get("min")
        if best.get("value") is None or (top is not None and sign * (top - best["value"]) > tol):
            out.append(("personal best beaten in the period", {"best": best.get("value")}))
    return out
