"""A workspace's settings (``kpinb.toml``): what a company may set for itself.

Every key is optional and its default is what kpinb does without the file, so a
workspace without ``kpinb.toml`` behaves as before. The file is read with the standard
library's ``tomllib``; :func:`parse_settings` checks every key and returns every problem
(file, key, problem, fix) rather than stopping at the first.

Sections other layers own (``sources``, ``wide``, ``delivery``, ``fairness``) are kept
as read in :attr:`Settings.sections` and checked by the code that uses them.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpinb.errors import Problem

SETTINGS_FILE = "kpinb.toml"
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# sections whose keys the layer that uses them checks (kept as read here)
OWNED_SECTIONS = ("sources", "wide", "delivery", "recipients", "fairness")
_KNOWN = {
    "calendar": ("fiscal_year_start", "week_start"),
    "groups": ("min_size",),
    "goals": ("success",),
    "ratings": ("scale", "labels"),
}


@dataclass(frozen=True)
class RatingScale:
    """The values a rating may take, in order, each with the label people read."""

    values: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0)
    labels: tuple[str, ...] = ("1", "2", "3", "4", "5")

    def __contains__(self, value: object) -> bool:
        try:
            # a rating may come as text (a form, a CSV cell): anything float() takes
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return any(math.isclose(number, v) for v in self.values)

    def label(self, value: float) -> str:
        """The label of ``value`` (its number as written when the scale has no label)."""
        for v, text in zip(self.values, self.labels, strict=True):
            if math.isclose(float(value), v):
                return text
        return _number(value)

    def describe(self) -> str:
        """The scale as one line: ``1, 2, 3, 4, 5`` or ``1 (Developing), 2 (...)``."""
        return ", ".join(
            _number(v) if text == _number(v) else f"{_number(v)} ({text})"
            for v, text in zip(self.values, self.labels, strict=True)
        )


@dataclass(frozen=True)
class Settings:
    """The settings in force for one workspace (defaults where the file says nothing)."""

    min_group_size: int = 5
    success: float = 0.7
    rating_scale: RatingScale = field(default_factory=RatingScale)
    fiscal_year_start: int = 1  # the month a fiscal year starts (1: calendar years)
    week_start: str = "monday"
    # the owned sections as read (plain dicts: a workspace is pickled for the kernels)
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)

    def lines(self) -> list[str]:
        """The settings in force, one line each, as ``kpinb validate`` prints them."""
        month = MONTHS[self.fiscal_year_start - 1].capitalize()
        year = "calendar years" if self.fiscal_year_start == 1 else f"starting in {month}"
        out = [
            f"minimum group size: {self.min_group_size}",
            f"goal success line: {_number(self.success)}",
            f"rating scale: {self.rating_scale.describe()}",
            f"fiscal year: {year}",
            f"weeks start on: {self.week_start.capitalize()}",
        ]
        fair = fairness_settings(self)
        bands = ", ".join(_number(b) for b in fair.tenure_bands)
        slicings = ", ".join(["role", f"tenure (bands at {bands} years)", *fair.columns])
        out.append(f"calibration fairness view by: {slicings}")
        out += [f"[{name}]: set" for name in sorted(self.sections) if name != "fairness"]
        return out


DEFAULT_SETTINGS = Settings()


def read_settings(root: Path) -> tuple[Settings, list[Problem]]:
    """The settings of the workspace folder ``root`` (defaults without ``kpinb.toml``)."""
    path = root / SETTINGS_FILE
    if not path.is_file():
        return DEFAULT_SETTINGS, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        fix = "fix the TOML syntax at the line shown (docs/workspace.md, 'kpinb.toml')"
        return DEFAULT_SETTINGS, [Problem(SETTINGS_FILE, f"is not valid TOML ({exc})", fix)]
    return parse_settings(data)


def parse_settings(data: Mapping[str, Any]) -> tuple[Settings, list[Problem]]:
    """Check the parsed TOML ``data``; return the settings and every problem found."""
    problems: list[Problem] = []

    def bad(key: str, problem: str, fix: str) -> None:
        problems.append(Problem(SETTINGS_FILE, problem, fix, column=key))

    known = (*_KNOWN, *OWNED_SECTIONS)
    for name, value in data.items():
        if name not in known:
            bad(name, "is not a section kpinb knows", f"use one of: {', '.join(known)}")
        elif not isinstance(value, dict):
            bad(name, "is a value, not a section", f"write it as a table: [{name}]")
    section = {name: data[name] for name in _KNOWN if isinstance(data.get(name), dict)}
    for name, table in section.items():
        for key in table:
            if key not in _KNOWN[name]:
                allowed = ", ".join(_KNOWN[name])
                bad(f"{name}.{key}", "is not a key kpinb knows", f"use one of: {allowed}")
    get = lambda name, key: section.get(name, {}).get(key)  # noqa: E731

    kwargs: dict[str, Any] = {}
    size = get("groups", "min_size")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 2:
            bad(
                "groups.min_size",
                f"is {size!r}, not a whole number of 2 or more",
                "give the smallest group whose figures may be shown, such as 5",
            )
        else:
            kwargs["min_group_size"] = size
    success = get("goals", "success")
    if success is not None:
        if (
            isinstance(success, bool)
            or not isinstance(success, int | float)
            or not (0 < success <= 1)
        ):
            bad(
                "goals.success",
                f"is {success!r}, not a score above 0 and at most 1",
                "give the OKR score that counts as a success, such as 0.7",
            )
        else:
            kwargs["success"] = float(success)
    scale = _rating_scale(get("ratings", "scale"), get("ratings", "labels"), bad)
    if scale is not None:
        kwargs["rating_scale"] = scale
    start = _month(get("calendar", "fiscal_year_start"), bad)
    if start is not None:
        kwargs["fiscal_year_start"] = start
    week = get("calendar", "week_start")
    if week is not None:
        if not isinstance(week, str) or week.strip().lower() not in WEEKDAYS:
            bad(
                "calendar.week_start",
                f"is {week!r}, not a day of the week",
                'give the day weeks start on, such as "monday" or "sunday"',
            )
        else:
            kwargs["week_start"] = week.strip().lower()
    owned = {k: dict(v) for k, v in data.items() if k in OWNED_SECTIONS and isinstance(v, dict)}
    problems += parse_fairness(owned.get("fairness", {}))[1]
    return Settings(sections=owned, **kwargs), problems


def _rating_scale(values: Any, labels: Any, bad: Any) -> RatingScale | None:
    if values is None and labels is None:
        return None
    if values is None:
        bad(
            "ratings.labels",
            "is given without ratings.scale",
            "give the values too: scale = [1, 2, 3, 4, 5]",
        )
        return None
    numbers = values if isinstance(values, list) else None
    if not numbers or any(
        isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
        for v in numbers
    ):
        bad(
            "ratings.scale",
            f"is {values!r}, not a list of numbers",
            "list the ratings in order, such as scale = [1, 2, 3, 4, 5]",
        )
        return None
    if len(numbers) < 2 or any(a >= b for a, b in itertools.pairwise(numbers)):
        bad(
            "ratings.scale",
            f"is {values!r}: give at least two values, each above the one before",
            "list the ratings from lowest to highest, such as scale = [1, 2, 3, 4, 5]",
        )
        return None
    if labels is None:
        return RatingScale(tuple(float(v) for v in numbers), tuple(_number(v) for v in numbers))
    if (
        not isinstance(labels, list)
        or len(labels) != len(numbers)
        or not all(isinstance(t, str) and t.strip() for t in labels)
    ):
        bad(
            "ratings.labels",
            f"is {labels!r}, not {len(numbers)} non-empty texts",
            "give one label per value of ratings.scale, in the same order",
        )
        return None
    return RatingScale(tuple(float(v) for v in numbers), tuple(t.strip() for t in labels))


def _month(value: Any, bad: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 12:
        return value
    if isinstance(value, str) and value.strip().lower() in MONTHS:
        return MONTHS.index(value.strip().lower()) + 1
    bad(
        "calendar.fiscal_year_start",
        f"is {value!r}, not a month",
        'give the month the fiscal year starts: a number 1-12 or a name such as "July"',
    )
    return None


def _number(value: float) -> str:
    """``3`` for 3.0, ``3.5`` for 3.5: a rating as people write it."""
    return f"{float(value):g}"


# ---------------------------------------------------------------- [fairness]

# the tenure bands (years at the period's end) the calibration pack slices by by default:
# under 1, 1-3, 3-5, 5 and more
DEFAULT_TENURE_BANDS = (1.0, 3.0, 5.0)
# people columns no one may slice by: each group would be one person
IDENTIFYING_COLUMNS = ("employee_id", "name", "email")
_FAIRNESS_KEYS = ("columns", "tenure_bands")


@dataclass(frozen=True)
class Fairness:
    """The ``[fairness]`` section: the people columns the calibration pack's fairness view
    slices by (besides role and tenure band, always sliced), and the tenure bands' edges
    in years (``[1, 3, 5]``: under 1, 1-3, 3-5, 5 and more)."""

    columns: tuple[str, ...] = ()
    tenure_bands: tuple[float, ...] = DEFAULT_TENURE_BANDS


def fairness_settings(settings: Settings) -> Fairness:
    """The ``[fairness]`` section of ``settings`` (the defaults where it says nothing;
    :func:`parse_settings` has reported its problems)."""
    return parse_fairness(settings.sections.get("fairness", {}))[0]


def parse_fairness(section: Mapping[str, Any]) -> tuple[Fairness, list[Problem]]:
    """Check the ``[fairness]`` section; return it and every problem found. Column names
    are matched as table headers are (case and surrounding spaces set aside)."""
    problems: list[Problem] = []

    def bad(key: str, problem: str, fix: str) -> None:
        problems.append(Problem(SETTINGS_FILE, problem, fix, column=f"fairness.{key}"))

    for key in section:
        if key not in _FAIRNESS_KEYS:
            bad(key, "is not a key kpinb knows", f"use one of: {', '.join(_FAIRNESS_KEYS)}")
    kwargs: dict[str, Any] = {}
    columns = section.get("columns")
    if columns is not None:
        if not isinstance(columns, list) or not all(
            isinstance(c, str) and c.strip() for c in columns
        ):
            bad(
                "columns",
                f"is {columns!r}, not a list of column names",
                'name the people columns to slice by, such as columns = ["level", "location"]',
            )
        else:
            names = tuple(dict.fromkeys(c.strip().lower() for c in columns))
            barred = [c for c in names if c in IDENTIFYING_COLUMNS]
            if barred:
                bad(
                    "columns",
                    f"names {', '.join(barred)}, which identify a person (every group one person)",
                    "slice by a column people share, such as level or location",
                )
            kwargs["columns"] = tuple(c for c in names if c not in barred)
    bands = section.get("tenure_bands")
    if bands is not None:
        numbers = bands if isinstance(bands, list) else []
        if (
            not numbers
            or any(
                isinstance(b, bool) or not isinstance(b, int | float) or not math.isfinite(b)
                for b in numbers
            )
            or any(b <= 0 for b in numbers)
            or any(a >= b for a, b in itertools.pairwise(numbers))
        ):
            bad(
                "tenure_bands",
                f"is {bands!r}, not a list of years above 0, each above the one before",
                "give the years where one tenure band ends and the next begins, such as "
                "tenure_bands = [1, 3, 5]",
            )
        else:
            kwargs["tenure_bands"] = tuple(float(b) for b in numbers)
    return Fairness(**kwargs), problems
