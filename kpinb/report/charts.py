"""Altair chart builders and the offline SVG renderer.

Builders take small, already aggregated frames and return Altair charts; they
compute no statistics. ``to_svg`` renders a chart to inline SVG with
vl-convert, so a report needs no JavaScript and fetches nothing from any host.

Colours are the Okabe-Ito palette, which stays distinct under the common
colour-vision deficiencies; every series also differs in stroke (solid, dashed,
dotted) so it reads in grey print too.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, ParamSpec, TypedDict, TypeVar, cast

import altair as alt
import pandas as pd
from altair.utils.schemapi import debug_mode

from kpinb.analytics import SUCCESS

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _fast(builder: Callable[_P, _R]) -> Callable[_P, _R]:
    """Build without Altair's per-object schema validation (about 10x faster).

    The finished spec is still validated wherever it matters: tests call
    ``to_dict()`` (which validates), and vl-convert rejects a broken spec.
    """

    @functools.wraps(builder)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with debug_mode(False):
            return builder(*args, **kwargs)

    return wrapper


# Okabe-Ito (Wong 2011, Nature Methods 8:441), colour-blind safe; greys for shading and text.
PALETTE: dict[str, str] = {
    "value": "#0072B2",  # blue
    "level": "#E69F00",  # orange
    "target": "#009E73",  # bluish green
    "change": "#CC79A7",  # reddish purple
    "band": "#56B4E9",  # sky blue (filled lightly)
    "projected": "#D55E00",  # vermillion
    "unusual": "#D55E00",  # vermillion: unusual weeks and the start of a shift
    "ink": "#222222",
    "band_text": "#1D6A96",  # labels of the band (sky blue is too light for text)
    "muted": "#555555",  # direct labels, the baseline bar
    "shade": "#8A8A8A",  # the period under review (filled very lightly)
}
GREYS = ("ink", "band_text", "muted", "shade")  # not Okabe-Ito: text and shading
SMALL_WIDTH, SMALL_HEIGHT = 150, 80
BAND_OPACITY = 0.3
REVIEW_OPACITY = 0.12
PAD = 0.3  # space above and below the drawn values, as a share of their span
FONT = 12  # axis text of the small multiples
_BREAK: Final = "break-paths-show-domains"  # a missing week breaks the line (no line across a gap)


@dataclass(frozen=True)
class Size:
    """How large a chart is drawn, in SVG pixels: its plot, its text and its x ticks.

    A page scales an SVG to its column, text and all, so one drawing cannot fill both a
    laptop's column and a phone's at a readable size: a report carries a chart twice,
    :data:`WIDE` for a column of 620 px or more, :data:`NARROW` below, and shows the one
    that fits (each at most about 1.1 times its size at 1200 and 390 px wide, so text
    never drops below 10 px)."""

    width: int  # the plot (the axes and the direct labels lie outside it)
    height: int
    font: int  # axis labels and titles
    label: int  # direct labels (the band, the target, markers)
    ticks: int  # ticks on the time axis
    names: int = 180  # the widest a goal chart's row label is drawn before it is cut
    dates: str = "%b %Y"  # the time axis' labels


WIDE: Final = Size(width=580, height=200, font=12, label=11, ticks=6)
NARROW: Final = Size(width=185, height=140, font=11, label=11, ticks=3, names=130, dates="%b %y")
# room around a report's drawing (``chart.properties(padding=PADDING)``, where it is not
# layered further): a browser's sans-serif can run wider than the renderer measured
PADDING: Final = {"left": 8, "top": 5, "right": 14, "bottom": 5}


@dataclass(frozen=True)
class Span:
    """A stretch of time drawn on a chart: the baseline window or the period under review."""

    start: pd.Timestamp
    end: pd.Timestamp
    label: str = ""


@dataclass(frozen=True)
class Limits:
    """Natural process limits drawn as a band, with the centre line.

    ``start``/``end`` bound the band in time (from the baseline window's start to the
    chart's end); without them it spans the whole chart. A limit that is a natural
    boundary (``lower_bounded``/``upper_bounded``) has no edge line: nothing is
    detected on that side. ``baseline`` is the window the limits were worked out from.
    """

    centre: float
    lower: float
    upper: float
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    lower_bounded: bool = False
    upper_bounded: bool = False
    baseline: Span | None = None


@dataclass(frozen=True)
class Marker:
    """A dated vertical marker, such as a KPI definition change."""

    date: pd.Timestamp
    label: str


FREQ = {"weekly": "7D", "monthly": "MS"}


def fill_gaps(points: pd.DataFrame, cadence: str, by: str | None = None) -> pd.DataFrame:
    """``points`` with a row (value and level missing) for every week or month that has
    none between the first and the last, so that the line breaks there.

    ``by`` names a column of panels (small multiples), each filled on its own.
    """
    if points.empty:
        return points
    if by is not None:
        parts = [
            fill_gaps(part, cadence).assign(**{by: key})
            for key, part in points.groupby(by, sort=False)
        ]
        return pd.concat(parts, ignore_index=True)
    frame = points.sort_values("period").drop_duplicates("period")
    dates = pd.date_range(
        frame["period"].min(), frame["period"].max(), freq=FREQ.get(cadence, "7D")
    )
    full = frame.set_index("period").reindex(pd.DatetimeIndex(frame["period"]).union(dates))
    return full.rename_axis("period").reset_index()


def y_domain(
    *values: Any, lower_bound: float | None = None, upper_bound: float | None = None
) -> list[float]:
    """The y range drawn: every value given, with :data:`PAD` of their span around them,
    but never beyond a natural boundary (a bounded limit)."""
    found = pd.to_numeric(pd.Series(list(_flatten(values)), dtype=object), errors="coerce").dropna()
    if found.empty:
        return [0.0, 1.0]
    lo, hi = float(found.min()), float(found.max())
    pad = (hi - lo) * PAD if hi > lo else max(abs(hi) * 0.1, 1.0)
    lo, hi = lo - pad, hi + pad
    if lower_bound is not None:
        lo = max(lo, lower_bound)
    if upper_bound is not None:
        hi = min(hi, upper_bound)
    return [lo, hi]


def _flatten(values: Sequence[Any]) -> Any:
    for v in values:
        if isinstance(v, pd.Series | pd.Index | list | tuple):
            yield from v
        elif v is not None:
            yield v


# Channels are spelled out (field + type): Altair's string shorthands ("value:Q") cost
# about 13 ms each to parse, which would dominate a report's build time.
def _x(title: str | None = None, fmt: str = "%b %Y", ticks: int = 5, font: int = FONT) -> alt.X:
    return alt.X(
        "period",
        type="temporal",
        title=title,
        axis=alt.Axis(
            format=fmt,
            labelAngle=0,
            tickCount=ticks,
            grid=False,
            labelFontSize=font,
            labelFlush=True,
            labelOverlap="greedy",
            labelSeparation=6,
        ),
    )


def _rule_frame(**values: Any) -> alt.InlineData:
    return alt.InlineData(values=[values])


def _day(date: Any) -> str:
    return pd.Timestamp(date).strftime("%Y-%m-%d")


def _records(frame: pd.DataFrame) -> alt.InlineData:
    """Inline data for a chart: dates as ISO days, NaN as null (cheaper than a DataFrame)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    rows = out.astype(object).where(out.notna(), None).to_dict("records")
    return alt.InlineData(values=cast(list[dict[str, Any]], rows))  # columns are named by text


def layered(*charts: alt.Chart | alt.LayerChart, **properties: Any) -> alt.LayerChart:
    """``alt.layer`` of charts without facet channels, so always a ``LayerChart`` (Altair
    types it ``LayerChart | FacetChart``: shared facet channels would make it a facet)."""
    return cast(alt.LayerChart, alt.layer(*charts, **properties))


@_fast
def trend_chart(
    points: pd.DataFrame,
    *,
    title: str,
    unit: str,
    description: str,
    limits: Limits | None = None,
    target: float | None = None,
    markers: Sequence[Marker] = (),
    review: Span | None = None,
    unusual: Sequence[tuple[pd.Timestamp, float]] = (),
    shift: pd.Timestamp | None = None,
    size: Size = WIDE,
) -> alt.LayerChart:
    """A KPI's values over time with its smoothed level, usual range, target and markers.

    Parameters
    ----------
    points
        One row per period: ``period`` (datetime), ``value`` (float, NaN for a missing
        week: the line breaks there, see :func:`fill_gaps`) and ``level`` (the smoothed
        level, float or NaN).
    title, unit, description
        Chart title, y-axis unit and the text alternative (read by screen readers).
    limits
        Natural process limits: a band between the limits with the centre line ("usual
        level"), both labelled; its baseline window as a bar along the foot of the plot.
    target
        A labelled target line.
    markers
        Dated markers (definition changes).
    review
        The period under review, shaded and labelled.
    unusual, shift
        Weeks beyond a limit (circled at their value) and the week a shift began (a
        vertical line labelled "shift").
    size
        How large it is drawn: :data:`WIDE` or :data:`NARROW`.
    """
    base = alt.Chart()  # the points are the layer's data (one copy, not one per layer)
    domain = y_domain(
        points["value"],
        points["level"],
        [limits.lower, limits.upper] if limits else [],
        target,
        lower_bound=limits.lower if limits and limits.lower_bounded else None,
        upper_bound=limits.upper if limits and limits.upper_bounded else None,
    )
    y = alt.Y(
        "value",
        type="quantitative",
        title=unit,
        scale=alt.Scale(zero=False, domain=domain, nice=False),
        axis=alt.Axis(labelFontSize=size.font, titleFontSize=size.font, tickCount=4),
    )
    x = _x(fmt=size.dates, ticks=size.ticks, font=size.font)
    layers: list[alt.Chart] = []
    if review is not None:
        layers += _review_layers(review, size)
    if limits is not None:
        layers += _limit_layers(limits, size)
    layers.append(
        base.mark_line(
            color=PALETTE["value"],
            strokeWidth=1.5,
            invalid=_BREAK,
            point=alt.OverlayMarkDef(size=18, color=PALETTE["value"]),
        ).encode(x=x, y=y)
    )
    layers.append(
        base.mark_line(
            color=PALETTE["level"], strokeWidth=2.5, strokeDash=[6, 3], invalid=_BREAK
        ).encode(x=x, y=alt.Y("level", type="quantitative"))
    )
    if target is not None:
        layers += _target_layers(target)
    if unusual:
        layers.append(_unusual_layer(unusual))
    if shift is not None:
        layers += _shift_layers(shift, size)
    if markers:
        layers += _marker_layers(markers, size)
    named = []
    if limits is not None:
        named += [
            (limits.upper, "usual range", PALETTE["band_text"]),
            (limits.centre, "usual level", PALETTE["band_text"]),
        ]
    if target is not None:
        named.append((target, "target", PALETTE["target"]))
    if named:
        layers.append(_side_label_layer(side_labels(domain, named, size.height), size))
    return layered(
        *layers,
        data=_records(points[["period", "value", "level"]]),
        width=size.width,
        height=size.height,
        title=alt.Title(title, anchor="start", fontSize=13),
        description=description,
    )


def _label(frame: alt.InlineData, text: str, colour: str, size: Size, **encoding: Any) -> alt.Chart:
    """A direct label (a text mark) from ``frame``; ``encoding`` places it."""
    mark = {k: encoding.pop(k) for k in ("align", "baseline", "dx", "dy") if k in encoding}
    return (
        alt.Chart(frame)
        .mark_text(color=colour, fontSize=size.label, **mark)
        .encode(text=alt.Text(text, type="nominal"), **encoding)
    )


def _review_layers(review: Span, size: Size) -> list[alt.Chart]:
    frame = _rule_frame(start=_day(review.start), end=_day(review.end), label=review.label)
    shade = (
        alt.Chart(frame)
        .mark_rect(color=PALETTE["shade"], opacity=REVIEW_OPACITY)
        .encode(x=alt.X("start", type="temporal"), x2=alt.X2("end"))
    )
    label = _label(
        frame,
        "label",
        PALETTE["muted"],
        size,
        x=alt.X("end", type="temporal"),
        y=alt.YValue(2),
        align="right",
        baseline="top",
        dx=-3,
    )
    return [shade, label]


def _limit_layers(limits: Limits, size: Size) -> list[alt.Chart]:
    values: dict[str, Any] = {
        "lower": limits.lower,
        "upper": limits.upper,
        "centre": limits.centre,
    }
    span: dict[str, Any] = {}
    if limits.start is not None and limits.end is not None:
        values |= {"start": _day(limits.start), "end": _day(limits.end)}
        span = {"x": alt.X("start", type="temporal"), "x2": alt.X2("end")}
    frame = _rule_frame(**values)
    band = (
        alt.Chart(frame)
        .mark_rect(color=PALETTE["band"], opacity=BAND_OPACITY)
        .encode(y=alt.Y("lower", type="quantitative"), y2=alt.Y2("upper"), **span)
    )
    centre = (
        alt.Chart(frame)
        .mark_rule(color=PALETTE["band"], strokeWidth=1.5)
        .encode(y=alt.Y("centre", type="quantitative"), **span)
    )
    layers = [band, centre]
    for side, bounded in (("lower", limits.lower_bounded), ("upper", limits.upper_bounded)):
        if not bounded:  # a natural boundary is no limit: no edge, nothing detected there
            layers.append(
                alt.Chart(frame)
                .mark_rule(color=PALETTE["band"], strokeWidth=1, strokeDash=[4, 3])
                .encode(y=alt.Y(side, type="quantitative"), **span)
            )
    if limits.baseline is not None:
        layers += _baseline_layers(limits.baseline, size)
    return layers


def _baseline_layers(baseline: Span, size: Size) -> list[alt.Chart]:
    """The baseline window: a bar along the foot of the plot, labelled."""
    frame = _rule_frame(start=_day(baseline.start), end=_day(baseline.end), label="baseline")
    bar = (
        alt.Chart(frame)
        .mark_rect(color=PALETTE["muted"], opacity=0.55)
        .encode(
            x=alt.X("start", type="temporal"),
            x2=alt.X2("end"),
            y=alt.YValue(size.height - 4),
            y2=alt.Y2Value(size.height),
        )
    )
    label = _label(
        frame,
        "label",
        PALETTE["muted"],
        size,
        x=alt.X("start", type="temporal"),
        y=alt.YValue(size.height - 6),
        align="left",
        baseline="bottom",
        dx=2,
    )
    return [bar, label]


def _target_layers(target: float) -> list[alt.Chart]:
    rule = (
        alt.Chart(_rule_frame(target=target))
        .mark_rule(color=PALETTE["target"], strokeWidth=2, strokeDash=[2, 2])
        .encode(y=alt.Y("target", type="quantitative"))
    )
    return [rule]


LABEL_GAP = 11  # pixels between two side labels' baselines


class SideLabel(TypedDict):
    """A direct label: its height in pixels from the top, its text and colour."""

    y: float
    label: str
    colour: str


def side_labels(
    domain: list[float], items: Sequence[tuple[float, str, str]], height: int = WIDE.height
) -> list[SideLabel]:
    """Direct labels in the right margin (``value, text, colour``), each at its line's
    height in pixels, nudged apart so that none overlaps another."""
    lo, hi = domain
    span = (hi - lo) or 1.0
    placed = sorted(
        (SideLabel(y=(hi - v) / span * height, label=t, colour=c) for v, t, c in items),
        key=lambda r: r["y"],
    )
    for before, row in itertools.pairwise(placed):
        row["y"] = max(row["y"], before["y"] + LABEL_GAP)
    overflow = placed[-1]["y"] - (height + 4) if placed else 0
    if overflow > 0:  # pushed below the plot: shift the stack up
        for row in placed:
            row["y"] -= overflow
    for row in placed:
        row["y"] = round(row["y"], 1)
    return placed


def _side_label_layer(rows: list[SideLabel], size: Size) -> alt.Chart:
    return (
        alt.Chart(alt.InlineData(values=rows))
        .mark_text(align="left", baseline="middle", dx=4, fontSize=size.label)
        .encode(
            x=alt.XValue(size.width),
            y=alt.Y("y", type="quantitative", scale=None),
            text=alt.Text("label", type="nominal"),
            color=alt.Color("colour", type="nominal", scale=None),
        )
    )


def _unusual_layer(unusual: Sequence[tuple[pd.Timestamp, float]]) -> alt.Chart:
    frame = alt.InlineData(values=[{"period": _day(d), "value": v} for d, v in unusual])
    return (
        alt.Chart(frame)
        .mark_point(shape="circle", filled=False, size=150, strokeWidth=2, color=PALETTE["unusual"])
        .encode(x=alt.X("period", type="temporal"), y=alt.Y("value", type="quantitative"))
    )


def _shift_layers(onset: pd.Timestamp, size: Size) -> list[alt.Chart]:
    frame = _rule_frame(period=_day(onset), label="shift")
    rule = (
        alt.Chart(frame)
        .mark_rule(color=PALETTE["unusual"], strokeWidth=1.5, strokeDash=[5, 2])
        .encode(x=alt.X("period", type="temporal"))
    )
    label = _label(
        frame,
        "label",
        PALETTE["unusual"],
        size,
        x=alt.X("period", type="temporal"),
        y=alt.YValue(16),  # below the review label, which may share its week
        align="left",
        baseline="top",
        dx=3,
    )
    return [rule, label]


def _marker_layers(markers: Sequence[Marker], size: Size) -> list[alt.Chart]:
    frame = _records(
        pd.DataFrame(
            {"period": [pd.Timestamp(m.date) for m in markers], "label": [m.label for m in markers]}
        )
    )
    rule = (
        alt.Chart(frame)
        .mark_rule(color=PALETTE["change"], strokeWidth=1.5)
        .encode(x=alt.X("period", type="temporal"))
    )
    text = (
        alt.Chart(frame)
        .mark_text(color=PALETTE["change"], align="left", dx=3, baseline="top", fontSize=size.label)
        .encode(
            x=alt.X("period", type="temporal"),
            y=alt.YValue(16),
            text=alt.Text("label", type="nominal"),
        )
    )
    return [rule, text]


def trend_key(
    *,
    per: str,
    limits: Limits | None = None,
    target: float | None = None,
    review: Span | None = None,
    unusual: int = 0,
    shift: bool = False,
    markers: int = 0,
    gaps: int = 0,
) -> str:
    """The chart's key in words: what :func:`trend_chart` draws with these arguments,
    and nothing it does not (the caption under the chart and its text alternative)."""
    parts = [f"Blue line: the value per {per}"]
    if gaps:
        parts[0] += f", broken where a {per} has no value"
    parts.append("dashed orange: the smoothed level")
    if limits is not None:
        band = "blue band: the usual range, with the usual level as a solid line"
        if limits.lower_bounded or limits.upper_bounded:
            band += " (the range runs to a natural boundary on one side)"
        parts.append(band)
        if limits.baseline is not None:
            parts.append("grey bar along the foot: the baseline the usual range comes from")
    if review is not None:
        parts.append(f"grey shading: {review.label}, the period under review")
    if target is not None:
        parts.append("green dotted line: the target")
    if unusual:
        parts.append(
            "circles: unusual " + (per + "s" if unusual > 1 else per) + " (beyond the usual range)"
        )
    if shift:
        parts.append("red dashed line: where the shift began")
    if markers:
        parts.append("purple line: a change of the KPI's definition")
    return "; ".join(parts) + "."


@_fast
def goal_chart(
    goals: pd.DataFrame,
    *,
    title: str,
    description: str,
    success: float = SUCCESS,
    size: Size = WIDE,
) -> alt.LayerChart:
    """OKR scores (0 to 1) per goal, with the projected landing and the success line
    (``success``, the workspace's; 0.7 by default).

    ``goals`` has one row per goal: ``label`` (str), ``score`` and ``projected``
    (floats in [0, 1], projected may be NaN). ``size``: :data:`WIDE` or :data:`NARROW`
    (the plot takes what its row labels leave, so every size is about as wide as a trend).
    """
    longest = int(goals["label"].astype(str).str.len().max()) if len(goals) else 0
    base = alt.Chart()
    y = alt.Y(
        "label",
        type="nominal",
        title=None,
        sort=None,
        axis=alt.Axis(labelFontSize=size.font, labelLimit=size.names),
    )
    x = alt.X(
        "score",
        type="quantitative",
        title="score (0 to 1)",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(
            labelFontSize=size.font,
            titleFontSize=size.font,
            values=[i / 10 for i in range(11)] if size.ticks > 3 else [0, 0.5, 1],
            format=".1f",
        ),
    )
    bars = base.mark_bar(color=PALETTE["value"], height=12).encode(x=x, y=y)
    projected = (
        base.transform_filter("isValid(datum.projected)")
        .mark_tick(color=PALETTE["projected"], thickness=3, size=18)
        .encode(x=alt.X("projected", type="quantitative"), y=y)
    )
    line = (
        alt.Chart(_rule_frame(success=success))
        .mark_rule(color=PALETTE["target"], strokeDash=[2, 2], strokeWidth=2)
        .encode(x=alt.X("success", type="quantitative"))
    )
    return layered(
        bars,
        projected,
        line,
        data=_records(goals[["label", "score", "projected"]]),
        width=size.width + 80 - min(size.names, round(0.6 * size.font * longest)),
        height=alt.Step(22),
        padding=PADDING | {"left": 30},  # row labels run wider in a browser than measured
        title=alt.Title(title, anchor="start", fontSize=13),
        description=description,
    )


@_fast
def small_multiples(
    frame: pd.DataFrame,
    *,
    title: str,
    unit: str,
    description: str,
    bands: pd.DataFrame | None = None,
    review: Span | None = None,
    columns: int = 2,
) -> alt.FacetChart:
    """One small trend panel per member or team, all on one y scale.

    ``frame``: ``member``, ``period``, ``value`` (NaN breaks the line), ``level``.
    ``bands``: per member (``member``, ``lower``, ``upper``, ``centre``, ``start``,
    ``end``, ``target``; NaN where there is none), the panel's usual range (a band from
    ``start`` to ``end`` with its centre line) and target line. ``review`` shades the
    period under review in every panel. Two columns stay legible on a phone.
    """
    points = frame[["member", "period", "value", "level"]].assign(kind="point")
    extra = []
    if bands is not None and not bands.empty:
        extra.append(bands.assign(kind="band"))
    if review is not None:
        members = points["member"].drop_duplicates()
        extra.append(
            pd.DataFrame(
                {"member": members, "start": review.start, "end": review.end, "kind": "review"}
            )
        )
    data = pd.concat([points, *extra], ignore_index=True)
    band_values = (
        [bands["lower"], bands["upper"], bands["target"]]
        if bands is not None and not bands.empty
        else []
    )
    domain = y_domain(points["value"], points["level"], *band_values)
    y = alt.Y(
        "value",
        type="quantitative",
        title=unit,
        scale=alt.Scale(zero=False, domain=domain, nice=False),
        axis=alt.Axis(labelFontSize=FONT, titleFontSize=FONT, tickCount=3),
    )
    x = _x(fmt="%b", ticks=3)
    base = alt.Chart()
    layers: list[alt.Chart] = []
    if review is not None:
        layers.append(
            base.transform_filter("datum.kind === 'review'")
            .mark_rect(color=PALETTE["shade"], opacity=REVIEW_OPACITY)
            .encode(x=alt.X("start", type="temporal"), x2=alt.X2("end"))
        )
    if band_values:
        bands_only = base.transform_filter("datum.kind === 'band' && isValid(datum.lower)")
        layers.append(
            bands_only.mark_rect(color=PALETTE["band"], opacity=BAND_OPACITY).encode(
                x=alt.X("start", type="temporal"),
                x2=alt.X2("end"),
                y=alt.Y("lower", type="quantitative"),
                y2=alt.Y2("upper"),
            )
        )
        layers.append(
            bands_only.mark_rule(color=PALETTE["band"], strokeWidth=1.2).encode(
                x=alt.X("start", type="temporal"),
                x2=alt.X2("end"),
                y=alt.Y("centre", type="quantitative"),
            )
        )
        layers.append(
            base.transform_filter("datum.kind === 'band' && isValid(datum.target)")
            .mark_rule(color=PALETTE["target"], strokeWidth=1.5, strokeDash=[2, 2])
            .encode(y=alt.Y("target", type="quantitative"))
        )
    lines = base.transform_filter("datum.kind === 'point'")
    layers.append(
        lines.mark_line(color=PALETTE["value"], strokeWidth=1.3, invalid=_BREAK).encode(x=x, y=y)
    )
    layers.append(
        lines.mark_line(
            color=PALETTE["level"], strokeWidth=2, strokeDash=[4, 2], invalid=_BREAK
        ).encode(x=x, y=alt.Y("level", type="quantitative"))
    )
    return alt.FacetChart(
        data=_records(data),
        spec=alt.LayerChart(layer=layers, width=SMALL_WIDTH, height=SMALL_HEIGHT),
        facet=alt.Facet(
            "member", type="nominal", title=None, sort=None, header=alt.Header(labelFontSize=FONT)
        ),
        columns=columns,
        title=alt.Title(title, anchor="start", fontSize=13),
        description=description,
    )


def multiples_key(*, per: str, bands: bool, targets: bool, review: Span | None, gaps: int) -> str:
    """The key of :func:`small_multiples` in words: what it draws with these arguments."""
    parts = [f"One panel each, on one scale. Blue line: the value per {per}"]
    if gaps:
        parts[0] += f", broken where a {per} has no value"
    parts.append("dashed orange: the smoothed level")
    if bands:
        parts.append("blue band: each one's own usual range, with its usual level")
    if targets:
        parts.append("green dotted line: the target")
    if review is not None:
        parts.append(f"grey shading: {review.label}, the period under review")
    return "; ".join(parts) + "."


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>\s*")


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render ``chart`` to an inline SVG string, offline (vl-convert, no JavaScript)."""
    import vl_convert as vlc

    with debug_mode(False):  # no schema check of every intermediate copy
        spec = chart.to_dict(validate=False)
    svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version())
    return _XML_DECL.sub("", svg)


def _vl_version() -> str:
    major_minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return "_".join(major_minor)
