"""Chart specs, tested by their to_dict(); SVG rendering is offline and escapes text."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpinb.report import charts

WEEKS = pd.date_range("2026-01-05", periods=6, freq="7D")


def _points() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": WEEKS,
            "value": [10.0, 11.0, 12.5, 9.0, 13.0, 14.0],
            "level": [np.nan, np.nan, np.nan, 10.625, 11.375, 12.125],
        }
    )


def _trend(**kwargs: object) -> dict:
    chart = charts.trend_chart(
        _points(),
        title="Calls booked",
        unit="calls",
        description="Calls booked per week.",
        **kwargs,
    )
    return chart.to_dict()  # validates against the Vega-Lite schema


def _layer(spec: dict, mark: str, **match: object) -> list[dict]:
    def mark_type(layer: dict) -> str:
        m = layer["mark"]
        return m if isinstance(m, str) else m["type"]

    return [
        layer
        for layer in spec["layer"]
        if mark_type(layer) == mark and all(layer["mark"].get(k) == v for k, v in match.items())
    ]


def _rows(spec: dict, part: dict) -> list[dict]:
    """The data rows of a chart or layer: inline values or a named top-level dataset."""
    data = part["data"]
    return data["values"] if "values" in data else spec["datasets"][data["name"]]


def test_trend_chart_data_is_inline_and_small() -> None:
    spec = _trend()
    rows = _rows(spec, spec)
    assert rows[0] == {"period": "2026-01-05", "value": 10.0, "level": None}
    assert rows[3]["level"] == 10.625
    assert len(rows) == 6
    assert spec["title"] == {"text": "Calls booked", "anchor": "start"}
    assert spec["description"] == "Calls booked per week."


def test_trend_chart_values_and_smoothed_level() -> None:
    spec = _trend()
    value = _layer(spec, "line", color=charts.PALETTE["value"])[0]
    assert value["encoding"]["x"] == {
        **value["encoding"]["x"],
        "field": "period",
        "type": "temporal",
    }
    assert value["encoding"]["y"]["field"] == "value"
    assert value["encoding"]["y"]["scale"] == {"zero": False}
    level = _layer(spec, "line", color=charts.PALETTE["level"])[0]
    assert level["encoding"]["y"]["field"] == "level"
    assert level["mark"]["strokeDash"] == [6, 3]  # tells the two lines apart in grey print
    assert level["transform"] == [{"filter": "isValid(datum.level)"}]


def test_trend_chart_without_options_has_no_band_target_or_markers() -> None:
    spec = _trend()
    assert _layer(spec, "rect") == []
    assert _layer(spec, "rule") == []
    assert _layer(spec, "text") == []


def test_trend_chart_limits_band_and_centre() -> None:
    spec = _trend(limits=charts.Limits(centre=11.0, lower=7.0, upper=15.0))
    band = _layer(spec, "rect")[0]
    assert _rows(spec, band) == [{"lower": 7.0, "upper": 15.0, "centre": 11.0}]
    assert band["encoding"]["y"]["field"] == "lower"
    assert band["encoding"]["y2"]["field"] == "upper"
    centre = _layer(spec, "rule", color=charts.PALETTE["band"])[0]
    assert centre["encoding"]["y"]["field"] == "centre"


def test_trend_chart_target_rule_and_definition_marker() -> None:
    marker = charts.Marker(pd.Timestamp("2026-01-26"), "definition v2")
    spec = _trend(target=15.0, markers=[marker])
    target = _layer(spec, "rule", color=charts.PALETTE["target"])[0]
    assert _rows(spec, target) == [{"target": 15.0}]
    assert target["encoding"]["y"]["field"] == "target"
    rule = _layer(spec, "rule", color=charts.PALETTE["change"])[0]
    assert _rows(spec, rule) == [{"period": "2026-01-26", "label": "definition v2"}]
    assert rule["encoding"]["x"]["field"] == "period"
    text = _layer(spec, "text")[0]
    assert text["encoding"]["text"]["field"] == "label"


def test_palette_is_okabe_ito() -> None:
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert {c for k, c in charts.PALETTE.items() if k != "ink"} <= okabe_ito


def test_goal_chart_scores_projection_and_success_line() -> None:
    frame = pd.DataFrame(
        {"label": ["Calls", "Deals"], "score": [0.8, 0.25], "projected": [0.9, np.nan]}
    )
    spec = charts.goal_chart(frame, title="Goals", description="d").to_dict()
    rows = _rows(spec, spec)
    assert rows == [
        {"label": "Calls", "score": 0.8, "projected": 0.9},
        {"label": "Deals", "score": 0.25, "projected": None},
    ]
    bar = _layer(spec, "bar")[0]
    assert bar["encoding"]["x"]["scale"] == {"domain": [0, 1]}
    assert bar["encoding"]["y"] == {**bar["encoding"]["y"], "field": "label", "sort": None}
    tick = _layer(spec, "tick")[0]
    assert tick["encoding"]["x"]["field"] == "projected"
    success = _layer(spec, "rule")[0]
    assert _rows(spec, success) == [{"success": 0.7}]


def test_small_multiples_facet_per_member_with_independent_scales() -> None:
    frame = pd.concat([_points().assign(member=m) for m in ("Ann", "Bo")])
    spec = charts.small_multiples(
        frame, title="Calls by member", unit="calls", description="d", columns=3
    ).to_dict()
    assert spec["facet"] == {"field": "member", "type": "nominal", "title": None, "sort": None}
    assert spec["columns"] == 3
    assert spec["resolve"] == {"scale": {"y": "independent"}}
    assert len(spec["spec"]["layer"]) == 2
    rows = _rows(spec, spec)
    assert len(rows) == 12
    assert {r["member"] for r in rows} == {"Ann", "Bo"}


def test_records_turn_nan_into_null_and_dates_into_days() -> None:
    frame = pd.DataFrame({"period": [pd.Timestamp("2026-02-02")], "value": [math.nan]})
    assert charts._records(frame).to_dict() == {"values": [{"period": "2026-02-02", "value": None}]}


@pytest.fixture(scope="module")
def svg() -> str:
    chart = charts.trend_chart(
        _points(),
        title='<script>alert(1)</script> & "q"',
        unit="calls",
        description="d",
        limits=charts.Limits(11.0, 7.0, 15.0),
        target=15.0,
    )
    return charts.to_svg(chart)


def test_svg_is_inline_and_fetches_nothing(svg: str) -> None:
    assert svg.startswith("<svg")
    assert "<?xml" not in svg
    assert "<script" not in svg
    for attr in ("href=", "src=", "url(", "@import"):
        assert attr not in svg


def test_svg_escapes_text(svg: str) -> None:
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in svg


def test_limits_band_can_cover_only_the_current_definition() -> None:
    limits = charts.Limits(11.0, 7.0, 15.0, start=WEEKS[2], end=WEEKS[5])
    spec = _trend(limits=limits)
    band = _layer(spec, "rect")[0]
    assert _rows(spec, band)[0] == {
        "lower": 7.0,
        "upper": 15.0,
        "centre": 11.0,
        "start": "2026-01-19",
        "end": "2026-02-09",
    }
    assert band["encoding"]["x"]["field"] == "start"
    assert band["encoding"]["x2"]["field"] == "end"
    centre = _layer(spec, "rule", color=charts.PALETTE["band"])[0]
    assert centre["encoding"]["x2"]["field"] == "end"


def test_small_multiples_svg_escapes_member_names_in_text_and_attributes() -> None:
    """A member named ``x" onload="alert(1)`` or ``<b>y</b>`` (names are untrusted): parsed
    as XML, the SVG has no onload attribute and no <b> element; the names are text."""
    from xml.etree import ElementTree

    hostile = ['x" onload="alert(1)', "<b>y</b>"]
    frame = pd.concat([_points().assign(member=m) for m in hostile])
    chart = charts.small_multiples(frame, title='t" onload="alert(2)', unit="u", description="d")
    root = ElementTree.fromstring(charts.to_svg(chart))
    elements = list(root.iter())
    assert not any("onload" in e.attrib for e in elements)
    assert not any(e.tag.rsplit("}", 1)[-1] in ("b", "script") for e in elements)
    texts = {"".join(e.itertext()) for e in elements if e.tag.endswith("}text")}
    assert set(hostile) <= texts
