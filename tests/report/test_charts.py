"""Chart specs, tested by their to_dict(); SVG rendering is offline and escapes text."""

from __future__ import annotations

import math
import re
from pathlib import Path

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
    assert spec["title"]["text"] == "Calls booked"
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
    # values 9..14 padded by 30 % of their span on each side: the plot is not all band
    assert value["encoding"]["y"]["scale"] == {"zero": False, "domain": [7.5, 15.5], "nice": False}
    level = _layer(spec, "line", color=charts.PALETTE["level"])[0]
    assert level["encoding"]["y"]["field"] == "level"
    assert level["mark"]["strokeDash"] == [6, 3]  # tells the two lines apart in grey print
    # no filter: a missing week breaks both lines instead of being joined over
    assert "transform" not in level
    assert value["mark"]["invalid"] == level["mark"]["invalid"] == "break-paths-show-domains"


def test_trend_chart_without_options_has_no_band_target_or_markers() -> None:
    spec = _trend()
    assert _layer(spec, "rect") == []
    assert _layer(spec, "rule") == []
    assert _layer(spec, "text") == []
    assert _layer(spec, "point") == []


def _labels(spec: dict) -> dict[str, float]:
    """The side labels (text in the right margin): label -> its height in pixels."""
    layers = [
        t for t in _layer(spec, "text") if t["encoding"].get("x") == {"value": charts.WIDE.width}
    ]
    return {r["label"]: r["y"] for t in layers for r in _rows(spec, t)}


def test_trend_chart_limits_band_centre_edges_and_labels() -> None:
    spec = _trend(limits=charts.Limits(centre=11.0, lower=7.0, upper=15.0))
    band = _layer(spec, "rect")[0]
    assert _rows(spec, band) == [{"lower": 7.0, "upper": 15.0, "centre": 11.0}]
    assert band["encoding"]["y"]["field"] == "lower"
    assert band["encoding"]["y2"]["field"] == "upper"
    assert band["mark"]["opacity"] >= 0.25  # visible against the plot, not a tint
    rules = _layer(spec, "rule", color=charts.PALETTE["band"])
    assert [r["encoding"]["y"]["field"] for r in rules] == ["centre", "lower", "upper"]
    assert "strokeDash" not in rules[0]["mark"]  # the centre is solid, the edges dashed
    assert rules[1]["mark"]["strokeDash"] == rules[2]["mark"]["strokeDash"]
    # the plotted range: 7..15 padded by 30 % of 8 = 2.4 on each side, so the band fills
    # 8 / 12.8 = 62.5 % of the height, not all of it
    value = _layer(spec, "line", color=charts.PALETTE["value"])[0]
    assert value["encoding"]["y"]["scale"]["domain"] == pytest.approx([4.6, 17.4])
    # labels at their lines' heights: 200 px for 12.8 units; upper 15 is 2.4 below the top
    labels = _labels(spec)
    assert labels == pytest.approx({"usual range": 37.5, "usual level": 100.0}, abs=0.1)


def test_a_bounded_limit_is_not_drawn_as_an_edge_and_the_plot_stops_at_the_boundary() -> None:
    limits = charts.Limits(centre=2.0, lower=0.0, upper=5.5, lower_bounded=True)
    spec = _trend(limits=limits)
    rules = _layer(spec, "rule", color=charts.PALETTE["band"])
    assert [r["encoding"]["y"]["field"] for r in rules] == ["centre", "upper"]
    value = _layer(spec, "line", color=charts.PALETTE["value"])[0]
    # values and limits span 0..14; 30 % of 14 = 4.2 above, nothing below the boundary 0
    assert value["encoding"]["y"]["scale"]["domain"] == pytest.approx([0.0, 18.2])


def test_side_labels_are_pushed_apart_when_lines_are_close() -> None:
    rows = charts.side_labels(
        [0.0, 100.0],
        [(50.0, "usual level", "a"), (51.0, "target", "b"), (90.0, "top", "c")],
        height=170,
    )
    assert [(r["label"], r["y"]) for r in rows] == [
        ("top", 17.0),  # (100 - 90) / 100 * 170
        ("target", 83.3),
        ("usual level", 94.3),  # 85.0 would overlap "target": one label gap below it
    ]


def test_trend_chart_baseline_window_and_review_period() -> None:
    baseline = charts.Span(WEEKS[0], WEEKS[2])
    limits = charts.Limits(11.0, 7.0, 15.0, WEEKS[0], WEEKS[5], baseline=baseline)
    review = charts.Span(WEEKS[3], WEEKS[5], "2026-Q1")
    spec = _trend(limits=limits, review=review)
    rects = _layer(spec, "rect")
    shade = next(r for r in rects if r["mark"]["color"] == charts.PALETTE["shade"])
    assert _rows(spec, shade) == [{"start": "2026-01-26", "end": "2026-02-09", "label": "2026-Q1"}]
    assert "y" not in shade["encoding"]  # the full height
    bar = next(r for r in rects if r["mark"]["color"] == charts.PALETTE["muted"])
    assert _rows(spec, bar) == [{"start": "2026-01-05", "end": "2026-01-19", "label": "baseline"}]
    assert bar["encoding"]["y"] == {"value": charts.WIDE.height - 4}  # a bar along the foot
    texts = {r["label"] for t in _layer(spec, "text") for r in _rows(spec, t)}
    assert {"baseline", "2026-Q1", "usual range", "usual level"} <= texts


def test_trend_chart_unusual_weeks_and_shift_onset() -> None:
    spec = _trend(unusual=[(WEEKS[4], 13.0), (WEEKS[5], 14.0)], shift=WEEKS[4])
    rings = _layer(spec, "point")[0]
    assert rings["mark"]["filled"] is False
    assert _rows(spec, rings) == [
        {"period": "2026-02-02", "value": 13.0},
        {"period": "2026-02-09", "value": 14.0},
    ]
    onset = _layer(spec, "rule", color=charts.PALETTE["unusual"])[0]
    assert _rows(spec, onset) == [{"period": "2026-02-02", "label": "shift"}]
    assert onset["encoding"]["x"]["field"] == "period"


def test_fill_gaps_adds_empty_weeks_and_months() -> None:
    frame = _points().drop(index=[2, 3])
    filled = charts.fill_gaps(frame, "weekly")
    assert list(filled["period"]) == list(WEEKS)
    assert filled["value"].isna().tolist() == [False, False, True, True, False, False]
    months = pd.DataFrame(
        {"period": pd.to_datetime(["2026-01-01", "2026-03-01"]), "value": [1.0, 2.0], "level": 1.0}
    )
    assert list(charts.fill_gaps(months, "monthly")["period"].dt.month) == [1, 2, 3]
    both = pd.concat([frame.assign(member="A"), _points().assign(member="B")])
    by = charts.fill_gaps(both, "weekly", by="member")
    assert by.groupby("member")["value"].apply(lambda v: int(v.isna().sum())).to_dict() == {
        "A": 2,
        "B": 0,
    }


def test_a_gap_breaks_the_line_in_the_svg() -> None:
    """Two missing weeks: the value line is two pieces (two move-to commands), not one."""
    import re

    frame = charts.fill_gaps(_points().drop(index=[2, 3]), "weekly")
    svg = charts.to_svg(charts.trend_chart(frame, title="t", unit="u", description="d"))
    value_paths = re.findall(r'<path[^>]*d="(M[^"]*)"[^>]*stroke="#0072B2"', svg) or re.findall(
        r'<path[^>]*stroke="#0072B2"[^>]*d="(M[^"]*)"', svg
    )
    assert value_paths
    assert value_paths[0].count("M") == 2


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({}, []),
        ({"limits": charts.Limits(11.0, 7.0, 15.0)}, ["blue band"]),
        (
            {"limits": charts.Limits(11.0, 7.0, 15.0, baseline=charts.Span(WEEKS[0], WEEKS[2]))},
            ["blue band", "grey bar"],
        ),
        ({"review": charts.Span(WEEKS[3], WEEKS[5], "2026-Q1")}, ["grey shading: 2026-Q1"]),
        ({"target": 15.0}, ["green dotted line"]),
        ({"unusual": [(WEEKS[4], 13.0)]}, ["circles: unusual week "]),
        ({"shift": WEEKS[4]}, ["red dashed line"]),
        ({"markers": [charts.Marker(WEEKS[2], "definition v2")]}, ["purple line"]),
    ],
)
def test_the_key_names_what_is_drawn_and_nothing_else(options: dict, words: list[str]) -> None:
    spec = _trend(**options)
    key = charts.trend_key(
        per="week",
        limits=options.get("limits"),
        target=options.get("target"),
        review=options.get("review"),
        unusual=len(options.get("unusual", ())),
        shift=options.get("shift") is not None,
        markers=len(options.get("markers", ())),
    )
    all_words = ["blue band", "grey bar", "grey shading", "green dotted", "circles", "red dashed"]
    for word in [*all_words, "purple line"]:
        assert (word in key) == any(word in w for w in words), word
    drawn = {
        "blue band": bool(_layer(spec, "rect", color=charts.PALETTE["band"])),
        "grey bar": bool(_layer(spec, "rect", color=charts.PALETTE["muted"])),
        "grey shading": bool(_layer(spec, "rect", color=charts.PALETTE["shade"])),
        "green dotted": bool(_layer(spec, "rule", color=charts.PALETTE["target"])),
        "circles": bool(_layer(spec, "point")),
        "red dashed": bool(_layer(spec, "rule", color=charts.PALETTE["unusual"])),
    }
    for word, present in drawn.items():
        assert (word in key) == present, word
    assert key.startswith("Blue line: the value per week; dashed orange: the smoothed level")


def test_trend_chart_target_rule_label_and_definition_marker() -> None:
    marker = charts.Marker(pd.Timestamp("2026-01-26"), "definition v2")
    spec = _trend(target=15.0, markers=[marker])
    target = _layer(spec, "rule", color=charts.PALETTE["target"])[0]
    assert _rows(spec, target) == [{"target": 15.0}]
    assert target["encoding"]["y"]["field"] == "target"
    assert set(_labels(spec)) == {"target"}
    rule = _layer(spec, "rule", color=charts.PALETTE["change"])[0]
    assert _rows(spec, rule) == [{"period": "2026-01-26", "label": "definition v2"}]
    assert rule["encoding"]["x"]["field"] == "period"
    text = _layer(spec, "text")[0]
    assert text["encoding"]["text"]["field"] == "label"


def test_palette_is_okabe_ito() -> None:
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert {c for k, c in charts.PALETTE.items() if k not in charts.GREYS} <= okabe_ito


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


def test_small_multiples_facet_per_member_on_one_scale_with_bands_and_targets() -> None:
    frame = pd.concat([_points().assign(member=m) for m in ("Ann", "Bo")])
    bands = pd.DataFrame(
        {
            "member": ["Ann", "Bo"],
            "lower": [7.0, np.nan],
            "upper": [15.0, np.nan],
            "centre": [11.0, np.nan],
            "start": [WEEKS[0], WEEKS[0]],
            "end": [WEEKS[5], WEEKS[5]],
            "target": [np.nan, 20.0],
        }
    )
    review = charts.Span(WEEKS[3], WEEKS[5], "2026-Q1")
    spec = charts.small_multiples(
        frame, title="Calls by member", unit="calls", description="d", bands=bands, review=review
    ).to_dict()
    assert spec["facet"]["field"] == "member"
    assert spec["facet"]["sort"] is None
    assert spec["columns"] == 2  # two panels a row stay legible at 390 px
    assert "resolve" not in spec  # one y scale for every panel
    rows = _rows(spec, spec)
    points = [r for r in rows if r["kind"] == "point"]
    assert len(points) == 12
    assert {r["member"] for r in points} == {"Ann", "Bo"}
    band_rows = {r["member"]: r for r in rows if r["kind"] == "band"}
    assert band_rows["Ann"]["lower"] == 7.0 and band_rows["Ann"]["target"] is None
    assert band_rows["Bo"]["lower"] is None and band_rows["Bo"]["target"] == 20.0
    assert [r["member"] for r in rows if r["kind"] == "review"] == ["Ann", "Bo"]
    layers = spec["spec"]["layer"]
    marks = [(lay["mark"]["type"], lay["mark"]["color"]) for lay in layers]
    assert marks == [
        ("rect", charts.PALETTE["shade"]),
        ("rect", charts.PALETTE["band"]),
        ("rule", charts.PALETTE["band"]),
        ("rule", charts.PALETTE["target"]),
        ("line", charts.PALETTE["value"]),
        ("line", charts.PALETTE["level"]),
    ]
    value = layers[4]
    # shared domain over values 9..14, limits 7..15 and target 20: 7..20 padded by 3.9
    assert value["encoding"]["y"]["scale"]["domain"] == pytest.approx([3.1, 23.9])
    key = charts.multiples_key(per="week", bands=True, targets=True, review=review, gaps=0)
    assert "blue band" in key and "green dotted line" in key and "2026-Q1" in key
    assert "broken" not in key


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


# --- what the reports pass to the builders, against their JSON twins -------------------


@pytest.fixture(scope="module")
def captured(workspace_dir: Path) -> dict[str, list[tuple[dict, dict]]]:
    """The builders' arguments for E002's report (a shift in 2026-Q3) and T01's."""
    from kpinb.report import build_report
    from kpinb.workspace import load_workspace

    ws = load_workspace(workspace_dir)
    calls: dict[str, list[tuple[dict, dict]]] = {"trend": [], "multiples": []}
    with pytest.MonkeyPatch.context() as patch:
        for name, builder in (("trend", "trend_chart"), ("multiples", "small_multiples")):
            real = getattr(charts, builder)

            def spy(frame: pd.DataFrame, *, _real=real, _name=name, **kw: object) -> object:
                calls[_name].append(({"frame": frame, **kw}, {}))
                return _real(frame, **kw)

            patch.setattr(charts, builder, spy)
        for scope, sid, view in (("employee", "E002", "employee"), ("team", "T01", "manager")):
            twin = build_report(ws, scope, sid, "2026-Q3", view).to_json()
            for _args, out in calls["trend"] + calls["multiples"]:
                out.setdefault("twin", twin)
    return calls


def test_a_report_chart_draws_what_its_twin_states(captured: dict) -> None:
    args, out = next(
        (a, o)
        for a, o in captured["trend"]
        if o["twin"]["id"] == "E002" and a["title"] == "New revenue closed"
    )
    block = next(k for k in out["twin"]["kpis"] if k["name"] == "New revenue closed")
    lim = block["limits"]
    limits = args["limits"]
    assert (limits.lower, limits.centre, limits.upper) == (
        lim["lower"],
        lim["centre"],
        lim["upper"],
    )
    assert limits.baseline.start == pd.Timestamp(lim["baseline_start"])
    assert limits.baseline.end == pd.Timestamp(lim["baseline_end"])
    # the plotted weeks include the whole baseline window and the period under review
    frame = args["frame"]
    assert frame["period"].min() <= pd.Timestamp(lim["baseline_start"])
    assert frame["period"].max() == pd.Timestamp("2026-09-28")
    assert args["review"] == charts.Span(
        pd.Timestamp("2026-07-01"), pd.Timestamp("2026-09-28"), "2026-Q3"
    )
    assert args["shift"] == pd.Timestamp(block["shift"]["onset"]) == pd.Timestamp("2026-07-06")
    unusual = [s["period"] for s in block["signals"] if s["rule"] == "beyond_limit"]
    assert [d.strftime("%Y-%m-%d") for d, _ in args["unusual"]] == unusual
    assert args["target"] == block["goal"]["target"]
    assert "red dashed line: where the shift began" in args["description"]
    assert "circles: unusual weeks" in args["description"]


def test_team_multiples_carry_each_members_own_range(captured: dict) -> None:
    args, out = next(
        (a, o) for a, o in captured["multiples"] if a["title"] == "New revenue closed by member"
    )
    twin = out["twin"]
    bands = args["bands"].set_index("member")
    for member in twin["members"]:
        block = next(k for k in member["kpis"] if k["name"] == "New revenue closed")
        row = bands.loc[member["name"]]
        assert (row["lower"], row["upper"]) == (block["limits"]["lower"], block["limits"]["upper"])
        goal = block["goal"]
        assert (row["target"] if pd.notna(row["target"]) else None) == (
            goal["target"] if goal else None
        )
    assert args["review"].label == "2026-Q3"


_FONT = re.compile(r'font-size="([\d.]+)(?:px)?"')


def _svg_fonts_and_width(svg: str) -> tuple[list[float], float]:
    """Every text's font size in an SVG and the SVG's width, in its own pixels."""
    fonts = [float(f) for f in _FONT.findall(svg)]
    width = float(re.search(r'<svg[^>]*\bwidth="([\d.]+)"', svg).group(1))
    return fonts, width


@pytest.mark.parametrize(
    ("size", "column"),
    [(charts.WIDE, 798), (charts.NARROW, 337)],  # a card's chart at 1200 and at 390 px wide
)
def test_each_size_keeps_its_text_at_least_10_px_in_the_column_it_is_shown_in(
    size: charts.Size, column: int
) -> None:
    """A page scales a chart to its column: the wide drawing fills a laptop's column, the
    narrow one a phone's, and in each every text is 10 px or more as shown. The narrow
    one also stays at least 10 px in a 305 px column (a 360 px phone)."""
    limits = charts.Limits(
        110.0, 70.0, 150.0, WEEKS[0], WEEKS[5], baseline=charts.Span(WEEKS[0], WEEKS[2])
    )
    trend = charts.trend_chart(
        _points().assign(value=lambda f: f["value"] * 100, level=lambda f: f["level"] * 100),
        title="New revenue closed",
        unit="kEUR",
        description="d",
        limits=limits,
        target=120.0,
        review=charts.Span(WEEKS[3], WEEKS[5], "2026-Q1"),
        shift=WEEKS[3],
        size=size,
    ).properties(padding=charts.PADDING)  # as a report draws it
    goals = pd.DataFrame(
        {
            "label": ["Pipeline meetings booked", "Win rate"],
            "score": [0.8, 0.2],
            "projected": [0.9, 0.1],
        }
    )
    goal = charts.goal_chart(goals, title="Goal scores", description="d", size=size)
    for chart in (trend, goal):
        fonts, width = _svg_fonts_and_width(charts.to_svg(chart))
        assert fonts and min(fonts) >= 11, fonts
        assert min(fonts) * column / width >= 10, (min(fonts), width)
        if size is charts.NARROW:
            assert min(fonts) * 305 / width >= 10, (min(fonts), width)
            assert width <= column * 1.1  # not blown up past its size either
        else:
            assert 600 <= width <= column
