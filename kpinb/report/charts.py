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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import altair as alt
import pandas as pd
from altair.utils.schemapi import debug_mode

from kpinb.analytics import SUCCESS

_F = TypeVar("_F", bound=Callable[..., Any])


def _fast(builder: _F) -> _F:
    """Build without Altair's per-object schema validation (about 10x faster).

    The finished spec is still validated wherever it matters: tests call
    ``to_dict()`` (which validates), and vl-convert rejects a broken spec.
    """

    @functools.wraps(builder)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with debug_mode(False):
            return builder(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# Okabe-Ito (Wong 2011, Nature Methods 8:441), colour-blind safe.
PALETTE: dict[str, str] = {
    "value": "#0072B2",  # blue
    "level": "#E69F00",  # orange
    "target": "#009E73",  # bluish green
    "change": "#CC79A7",  # reddish purple
    "band": "#56B4E9",  # sky blue (filled lightly)
    "projected": "#D55E00",  # vermillion
    "ink": "#222222",
}
WIDTH, HEIGHT = 420, 150
SMALL_WIDTH, SMALL_HEIGHT = 150, 70


@dataclass(frozen=True)
class Limits:
    """Natural process limits drawn as a band, with the centre line.

    ``start``/``end`` bound the band in time (the definition version the limits
    belong to); without them it spans the whole chart.
    """

    centre: float
    lower: float
    upper: float
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None


@dataclass(frozen=True)
class Marker:
    """A dated vertical marker, such as a KPI definition change."""

    date: pd.Timestamp
    label: str


# Channels are spelled out (field + type): Altair's string shorthands ("value:Q") cost
# about 13 ms each to parse, which would dominate a report's build time.
def _x(title: str | None = None) -> alt.X:
    return alt.X(
        "period",
        type="temporal",
        title=title,
        axis=alt.Axis(format="%d %b %Y", labelAngle=0, tickCount=5, grid=False),
    )


def _rule_frame(**values: Any) -> alt.InlineData:
    return alt.InlineData(values=[values])


def _records(frame: pd.DataFrame) -> alt.InlineData:
    """Inline data for a chart: dates as ISO days, NaN as null (cheaper than a DataFrame)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    rows = out.astype(object).where(out.notna(), None).to_dict("records")
    return alt.InlineData(values=rows)


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
) -> alt.LayerChart:
    """A KPI's values over time with its smoothed level, limits band, target and markers.

    Parameters
    ----------
    points
        One row per period: ``period`` (datetime), ``value`` (float) and ``level``
        (the smoothed level, float or NaN).
    title, unit, description
        Chart title, y-axis unit and the text alternative (read by screen readers).
    limits, target, markers
        Optional natural process limits (band and centre), target line and dated
        markers (definition changes).
    """
    base = alt.Chart()  # the points are the layer's data (one copy, not one per layer)
    y = alt.Y("value", type="quantitative", title=unit, scale=alt.Scale(zero=False))
    layers: list[alt.Chart] = []
    if limits is not None:
        layers += _limit_layers(limits)
    layers.append(
        base.mark_line(
            color=PALETTE["value"],
            strokeWidth=1.5,
            point=alt.OverlayMarkDef(size=18, color=PALETTE["value"]),
        ).encode(x=_x(), y=y)
    )
    layers.append(
        base.transform_filter("isValid(datum.level)")
        .mark_line(color=PALETTE["level"], strokeWidth=2.5, strokeDash=[6, 3])
        .encode(x=_x(), y=alt.Y("level", type="quantitative"))
    )
    if target is not None:
        layers.append(
            alt.Chart(_rule_frame(target=target))
            .mark_rule(color=PALETTE["target"], strokeWidth=2, strokeDash=[2, 2])
            .encode(y=alt.Y("target", type="quantitative"))
        )
    if markers:
        layers += _marker_layers(markers)
    return alt.layer(
        *layers,
        data=_records(points[["period", "value", "level"]]),
        width=WIDTH,
        height=HEIGHT,
        title=alt.Title(title, anchor="start"),
        description=description,
    )


def _limit_layers(limits: Limits) -> list[alt.Chart]:
    values: dict[str, Any] = {"lower": limits.lower, "upper": limits.upper, "centre": limits.centre}
    span: dict[str, Any] = {}
    if limits.start is not None and limits.end is not None:
        values |= {
            "start": limits.start.strftime("%Y-%m-%d"),
            "end": limits.end.strftime("%Y-%m-%d"),
        }
        span = {"x": alt.X("start", type="temporal"), "x2": alt.X2("end")}
    frame = _rule_frame(**values)
    band = (
        alt.Chart(frame)
        .mark_rect(color=PALETTE["band"], opacity=0.18)
        .encode(y=alt.Y("lower", type="quantitative"), y2=alt.Y2("upper"), **span)
    )
    centre = (
        alt.Chart(frame)
        .mark_rule(color=PALETTE["band"], strokeWidth=1, strokeDash=[1, 3])
        .encode(y=alt.Y("centre", type="quantitative"), **span)
    )
    return [band, centre]


def _marker_layers(markers: Sequence[Marker]) -> list[alt.Chart]:
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
        .mark_text(color=PALETTE["change"], align="left", dx=3, dy=-4, baseline="top", fontSize=9)
        .encode(
            x=alt.X("period", type="temporal"),
            y=alt.YValue(0),
            text=alt.Text("label", type="nominal"),
        )
    )
    return [rule, text]


@_fast
def goal_chart(goals: pd.DataFrame, *, title: str, description: str) -> alt.LayerChart:
    """OKR scores (0 to 1) per goal, with the projected landing and the 0.7 success line.

    ``goals`` has one row per goal: ``label`` (str), ``score`` and ``projected``
    (floats in [0, 1], projected may be NaN).
    """
    base = alt.Chart()
    y = alt.Y("label", type="nominal", title=None, sort=None)
    x = alt.X("score", type="quantitative", title="score (0 to 1)", scale=alt.Scale(domain=[0, 1]))
    bars = base.mark_bar(color=PALETTE["value"], height=12).encode(x=x, y=y)
    projected = (
        base.transform_filter("isValid(datum.projected)")
        .mark_tick(color=PALETTE["projected"], thickness=3, size=18)
        .encode(x=alt.X("projected", type="quantitative"), y=y)
    )
    success = (
        alt.Chart(_rule_frame(success=SUCCESS))
        .mark_rule(color=PALETTE["target"], strokeDash=[2, 2], strokeWidth=2)
        .encode(x=alt.X("success", type="quantitative"))
    )
    return alt.layer(
        bars,
        projected,
        success,
        data=_records(goals[["label", "score", "projected"]]),
        width=WIDTH,
        height=alt.Step(22),
        title=alt.Title(title, anchor="start"),
        description=description,
    )


@_fast
def small_multiples(
    frame: pd.DataFrame, *, title: str, unit: str, description: str, columns: int = 4
) -> alt.FacetChart:
    """One small trend panel per member (``member``, ``period``, ``value``, ``level``)."""
    base = alt.Chart()
    y = alt.Y("value", type="quantitative", title=unit, scale=alt.Scale(zero=False))
    x = alt.X(
        "period", type="temporal", title=None, axis=alt.Axis(format="%b", labelAngle=0, tickCount=3)
    )
    line = base.mark_line(color=PALETTE["value"], strokeWidth=1.2).encode(x=x, y=y)
    level = (
        base.transform_filter("isValid(datum.level)")
        .mark_line(color=PALETTE["level"], strokeWidth=2, strokeDash=[4, 2])
        .encode(x=x, y=alt.Y("level", type="quantitative"))
    )
    return alt.FacetChart(
        data=_records(frame[["member", "period", "value", "level"]]),
        spec=alt.LayerChart(layer=[line, level], width=SMALL_WIDTH, height=SMALL_HEIGHT),
        facet=alt.Facet("member", type="nominal", title=None, sort=None),
        columns=columns,
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(y="independent")),
        title=alt.Title(title, anchor="start"),
        description=description,
    )


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
