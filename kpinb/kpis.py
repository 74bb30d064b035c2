"""The KPI dictionary: frozen definitions read from ``kpis.yaml``.

A definition change (``versions``) is a trend break. Version 1 is the
definition before the first listed change; each listed change starts the next
version, so ``definition_version(kpi, date)`` is 1 + the number of changes in
force on that date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kpinb.errors import Problem
from kpinb.filters import SYNTAX as SYNTAX_HELP
from kpinb.filters import FilterError, RowFilter, parse_filter

# a series is stale when this many days or more have passed since its last point
# (two cadence steps): the data-quality check and the analytics use the same line
STALE_DAYS = {"weekly": 14, "monthly": 62}
# units that are a share of 100: values from 0 to 100, shown as "12.5%"
PERCENT_UNITS = frozenset({"%", "percent", "pct", "per cent", "percentage"})


def is_percent(unit: str) -> bool:
    """True when ``unit`` is a share of 100."""
    return str(unit).strip().lower() in PERCENT_UNITS


# the unit of a difference of two percentages (62.9 % to 86.1 % is 23.2 of them, not 23.2 %)
POINTS = "percentage points"


def difference_unit(unit: str) -> str:
    """The unit a difference of ``unit`` values is stated in: percentage points for a
    percent (a change, a shift's size, a slope), else the unit itself."""
    return POINTS if is_percent(unit) else unit


ALLOWED: dict[str, tuple[str, ...]] = {
    "direction": ("up", "down"),
    "kind": ("leading", "lagging"),
    "type": ("result", "process"),
    "cadence": ("weekly", "monthly"),
    "rollup": ("sum", "mean", "median"),
}
# what one observation holds: a plain value, or the two counts of a rate
MEASURES = ("value", "ratio")
RATE_SCALE = 100.0  # a ratio KPI's value: 100 x numerator / denominator (a percent)
REQUIRED = (
    "id",
    "name",
    "unit",
    "direction",
    "kind",
    "type",
    "cadence",
    "rollup",
    "owner",
    "source",
    "formula",
)


@dataclass(frozen=True)
class KpiVersion:
    """A dated change of a KPI's definition."""

    effective_from: pd.Timestamp
    change: str


AGGREGATES = ("count", "sum", "mean", "ratio")
_FROM_KEYS = (
    "events",
    "date",
    "person",
    "aggregate",
    "column",
    "where",
    "numerator",
    "denominator",
)


@dataclass(frozen=True)
class EventSource:
    """A KPI computed from an event table (``from:`` in ``kpis.yaml``): per person and
    period (the KPI's cadence), the count of rows, the sum or mean of ``column``, or the
    ratio of two counts (rows passing ``numerator`` over rows passing ``denominator``),
    over the rows that pass ``where``."""

    events: str  # the event table: events/NAME.csv (.xlsx, .parquet) or [sources.NAME]
    date: str  # the column dating each event
    person: str  # the column holding the employee id
    aggregate: str  # one of AGGREGATES
    column: str = ""  # the number summed or averaged (sum, mean)
    where: RowFilter | None = None
    numerator: RowFilter | None = None  # ratio: the rows counted above the line
    denominator: RowFilter | None = None  # ratio: the rows counted below (all by default)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the event table this KPI reads."""
        named = [self.person, self.date] + ([self.column] if self.column else [])
        for part in (self.where, self.numerator, self.denominator):
            named += list(part.columns) if part else []
        return tuple(dict.fromkeys(named))


@dataclass(frozen=True)
class KpiSpec:
    """One KPI of the dictionary (``kpis.yaml``, docs/workspace.md)."""

    id: str
    name: str
    unit: str
    direction: str
    kind: str
    type: str
    cadence: str
    rollup: str
    owner: str
    source: str
    formula: str
    exclusions: str = ""
    pair: str | None = None
    versions: tuple[KpiVersion, ...] = ()
    # natural boundaries (a count cannot be negative, a share cannot pass 100); None:
    # the analytics choose (0 for a KPI never negative, 100 for a % unit)
    min: float | None = None
    max: float | None = None
    # "ratio": each observation carries a numerator and a denominator (counts); the value
    # is 100 x numerator / denominator and every group's rate is sum / sum
    measure: str = "value"
    numerator: str = ""  # what the counts are, for the text ("deals won")
    denominator: str = ""  # ("deals engaged")
    # computed from an event table instead of read from observations (``from:``)
    events: EventSource | None = None

    @property
    def is_ratio(self) -> bool:
        """True for a rate declared from two counts (``measure: ratio``)."""
        return self.measure == "ratio"

    @property
    def higher_is_better(self) -> bool:
        """True when a rise is an improvement."""
        return self.direction == "up"

    @property
    def sign(self) -> int:
        """+1 for higher-is-better, -1 for lower-is-better: multiply a change to orient it."""
        return 1 if self.direction == "up" else -1

    def version_at(self, date: pd.Timestamp) -> int:
        """The definition version in force on ``date`` (1 = the original)."""
        return 1 + sum(1 for v in self.versions if v.effective_from <= pd.Timestamp(date))

    def version_start(self, version: int) -> pd.Timestamp | None:
        """First day of ``version`` (None for version 1, which has no start)."""
        return None if version <= 1 else self.versions[version - 2].effective_from


def parse_kpis(data: Any, file: str = "kpis.yaml") -> tuple[dict[str, KpiSpec], list[Problem]]:
    """Turn the parsed YAML into KPI specs, collecting every problem instead of stopping."""
    problems: list[Problem] = []
    entries = data.get("kpis", data) if isinstance(data, Mapping) else data
    if isinstance(entries, Mapping):  # mapping of id -> fields
        entries = [{"id": k, **(v or {})} for k, v in entries.items()]
    if not isinstance(entries, list) or not entries:
        problems.append(
            Problem(
                file,
                "no KPI definitions found",
                "write a list of KPIs under a top-level 'kpis:' key",
            )
        )
        return {}, problems
    specs: dict[str, KpiSpec] = {}
    for n, entry in enumerate(entries, start=1):
        spec = _parse_one(entry, n, file, problems)
        if spec is None:
            continue
        if spec.id in specs:
            problems.append(
                Problem(
                    file,
                    f"KPI #{n}: id {spec.id!r} is defined twice",
                    "give each KPI a unique id",
                    column="id",
                )
            )
        specs[spec.id] = spec
    for spec in specs.values():
        if spec.pair is not None and spec.pair not in specs:
            problems.append(
                Problem(
                    file,
                    f"KPI {spec.id!r}: pair {spec.pair!r} is not a KPI of the dictionary",
                    f"use one of {sorted(specs)} or remove 'pair'",
                    column="pair",
                )
            )
    return specs, problems


def _parse_one(entry: Any, n: int, file: str, problems: list[Problem]) -> KpiSpec | None:
    if not isinstance(entry, Mapping):
        problems.append(
            Problem(
                file, f"KPI #{n} is not a mapping of fields", "write each KPI as 'key: value' lines"
            )
        )
        return None
    label = f"KPI #{n} ({entry.get('id', '?')})"
    fields = {k: ("" if entry.get(k) is None else str(entry.get(k)).strip()) for k in REQUIRED}
    ok = True
    for key in REQUIRED:
        if not fields[key]:
            problems.append(
                Problem(
                    file,
                    f"{label}: field '{key}' is missing",
                    f"add '{key}:' to this KPI",
                    column=key,
                )
            )
            ok = False
    for key, allowed in ALLOWED.items():
        if fields[key] and fields[key] not in allowed:
            problems.append(
                Problem(
                    file,
                    f"{label}: {key} {fields[key]!r} is not allowed",
                    f"use one of {', '.join(allowed)}",
                    column=key,
                )
            )
            ok = False
    versions = _parse_versions(entry.get("versions") or [], label, file, problems)
    low, high = (_bound(entry, key, label, file, problems) for key in ("min", "max"))
    if isinstance(low, float) and isinstance(high, float) and not low < high:
        problems.append(
            Problem(
                file,
                f"{label}: min {low:g} is not below max {high:g}",
                "give a min below the max, or leave one out",
                column="min",
            )
        )
        ok = False
    measure = str(entry.get("measure") or "value").strip()
    if measure not in MEASURES:
        problems.append(
            Problem(
                file,
                f"{label}: measure {measure!r} is not allowed",
                f"use one of {', '.join(MEASURES)} (ratio: a rate of two counts)",
                column="measure",
            )
        )
        ok = False
    elif measure == "ratio" and fields["unit"] and not is_percent(fields["unit"]):
        problems.append(
            Problem(
                file,
                f"{label}: a ratio KPI is a percentage, but its unit is {fields['unit']!r}",
                "write 'unit: \"%\"' for a KPI with 'measure: ratio'",
                column="unit",
            )
        )
        ok = False
    events = _parse_from(entry.get("from"), measure, label, file, problems)
    if not ok or versions is None or low is False or high is False or events is False:
        return None
    pair = entry.get("pair")
    return KpiSpec(
        **fields,
        exclusions=str(entry.get("exclusions") or ""),
        pair=str(pair).strip() if pair else None,
        versions=versions,
        min=low,
        max=high,
        measure=measure,
        numerator=str(entry.get("numerator") or "").strip(),
        denominator=str(entry.get("denominator") or "").strip(),
        events=events if isinstance(events, EventSource) else None,
    )


def _parse_from(
    raw: Any, measure: str, label: str, file: str, problems: list[Problem]
) -> EventSource | bool | None:
    """The optional ``from:`` (an event table's aggregation); None when absent, False when
    invalid (every problem noted)."""
    if raw is None:
        return None
    found: list[Problem] = []

    def bad(key: str, problem: str, fix: str) -> None:
        found.append(Problem(file, f"{label}: {problem}", fix, column=f"from.{key}"))

    if not isinstance(raw, Mapping):
        bad("", "'from' is not a mapping", "write from: {events: NAME, date: ..., person: ...}")
        problems += found
        return False
    for key in raw:
        if key not in _FROM_KEYS:
            bad(str(key), f"from.{key} is not a key kpinb knows", f"use {', '.join(_FROM_KEYS)}")
    text = {k: str(raw[k]).strip() if raw.get(k) is not None else "" for k in _FROM_KEYS}
    for key in ("events", "date", "person", "aggregate"):
        if not text[key]:
            bad(key, f"from.{key} is missing", f"add '{key}:' under 'from:' (docs/workspace.md)")
    aggregate = text["aggregate"]
    if aggregate and aggregate not in AGGREGATES:
        bad(
            "aggregate",
            f"from.aggregate {aggregate!r} is not allowed",
            f"use {', '.join(AGGREGATES)}",
        )
    if aggregate in ("sum", "mean") and not text["column"]:
        bad("column", f"a {aggregate} needs from.column", "name the column of numbers to aggregate")
    if aggregate in ("count", "ratio") and text["column"]:
        bad("column", f"a {aggregate} counts rows: from.column is not used", "remove from.column")
    if aggregate == "ratio" and not text["numerator"]:
        bad(
            "numerator",
            "a ratio needs from.numerator (the filter of the rows counted above the line)",
            "add numerator: \"stage == 'won'\" (and denominator:, all rows by default)",
        )
    if aggregate != "ratio" and (text["numerator"] or text["denominator"]):
        bad("numerator", "from.numerator and from.denominator belong to a ratio", "remove them")
    if aggregate and (aggregate == "ratio") != (measure == "ratio"):
        bad(
            "aggregate",
            f"from.aggregate {aggregate!r} does not fit measure {measure!r}",
            "a ratio of counts is 'measure: ratio' with 'aggregate: ratio'; the others are values",
        )
    filters: dict[str, RowFilter | None] = {}
    for key in ("where", "numerator", "denominator"):
        filters[key] = None
        if text[key]:
            try:
                filters[key] = parse_filter(text[key])
            except FilterError as exc:
                bad(key, f"from.{key} cannot be read: {exc}", SYNTAX_HELP)
    problems += found
    if found:
        return False
    return EventSource(
        events=text["events"],
        date=text["date"].lower(),
        person=text["person"].lower(),
        aggregate=aggregate,
        column=text["column"].lower(),
        where=filters["where"],
        numerator=filters["numerator"],
        denominator=filters["denominator"],
    )


def _bound(
    entry: Mapping[str, Any], key: str, label: str, file: str, problems: list[Problem]
) -> float | bool | None:
    """The optional ``min`` or ``max`` as a float; None when absent, False when invalid."""
    raw = entry.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(raw) if not isinstance(raw, bool) else float("nan")
    except (TypeError, ValueError):
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        problems.append(
            Problem(
                file,
                f"{label}: {key} {raw!r} is not a number",
                f"write '{key}:' as a plain number (the natural boundary), or leave it out",
                column=key,
            )
        )
        return False
    return value


def _parse_versions(
    raw: Any, label: str, file: str, problems: list[Problem]
) -> tuple[KpiVersion, ...] | None:
    if not isinstance(raw, list):
        problems.append(
            Problem(
                file,
                f"{label}: versions is not a list",
                "write versions as a list of effective_from + change",
                column="versions",
            )
        )
        return None
    out: list[KpiVersion] = []
    ok = True
    for i, item in enumerate(raw, start=1):
        when = (
            pd.to_datetime(
                str((item or {}).get("effective_from", "")), errors="coerce", format="%Y-%m-%d"
            )
            if isinstance(item, Mapping)
            else pd.NaT
        )
        if pd.isna(when):
            problems.append(
                Problem(
                    file,
                    f"{label}: version {i} has no valid effective_from date",
                    "write effective_from as YYYY-MM-DD",
                    column="versions",
                )
            )
            ok = False
            continue
        if out and when <= out[-1].effective_from:
            problems.append(
                Problem(
                    file,
                    f"{label}: version {i} ({when.date()}) is not after version {i - 1} "
                    f"({out[-1].effective_from.date()})",
                    "list definition changes in date order, each on a later date",
                    column="versions",
                )
            )
            ok = False
        out.append(KpiVersion(pd.Timestamp(when), str(item.get("change") or "").strip()))
    return tuple(out) if ok else None
