"""The Heatmap view's clickmap, fixed elements, comparison and hover-table agreement under AppTest, on the
demo site: the numbers shown equal the service's for the same query."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from dashboard import compare
from dashboard.cartesian_chart import chart_key
from data_layer import bins
from data_layer.filters import WebFilters, Window
from data_layer.page_ref import PageRef
from data_layer.service import HeatmapService
from tests.dashboard.test_dashboard import (
    PAGES,
    WINDOW,
    assert_clean,
    busiest_page,
    demo,
    error_details,
    metrics,
    run_page,
)

__all__ = ["demo", "error_details"]  # fixtures of test_dashboard, used here

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
HEATMAP = PAGES[1]
LAST_DAYS = Window(date(2026, 10, 28), date(2026, 11, 1))  # the demo's last 5 days; the 5 before are A


def figures(at: Any) -> list[dict[str, Any]]:
    return [json.loads(json.loads(chart.proto.json)["spec"]) for chart in at.get("bidi_component")]


def test_a_view_without_page_or_breakpoint_names_them_in_the_url(demo: HeatmapService) -> None:
    at = run_page(HEATMAP, {"draw": "Cells"})
    assert_clean(at)
    assert at.query_params["page"] == busiest_page(demo)
    assert at.query_params["bp"] == "desktop"
    assert at.selectbox(key="page").value == busiest_page(demo)


def test_a_rage_spots_sessions_count_the_clicks_its_hover_counts(demo: HeatmapService) -> None:
    """The rage layer's hover says "N clicks in this spot" (the bin's total clicks): the sessions listed
    for that spot count those N clicks between them, and its rage events."""
    ranked = demo.ranked_pages(WINDOW, WebFilters(), None, "RAGE_CLICKS", True)
    page_key = ranked["page_key"][0]  # the demo's broken elements draw rage bursts
    breakpoint, rage = next(
        (name, summary.rage_bins)
        for name in ("desktop", "tablet", "mobile")
        if not (summary := demo.page_summary(PageRef(page_key, name), WINDOW)).rage_bins.is_empty()
    )
    spot = rage.sort("total_clicks", "bin_y", "bin_x", descending=[True, False, False]).row(0, named=True)
    at = run_page(HEATMAP, {"page": page_key, "bp": breakpoint, "layer": "Rage clicks"})
    hotspots = figures(at)[0]["data"][-1]
    assert "clicks in this spot" in hotspots["hovertemplate"]
    spec = json.loads(at.get("bidi_component")[0].proto.json)["spec"]
    width = json.loads(spec)["layout"]["xaxis"]["range"][1]
    point = {
        "x": width * (spot["bin_x"] + 0.5) / bins.COLUMNS,
        "y": (spot["bin_y"] + 0.5) * bins.ROW_HEIGHT_PX,
    }
    at.session_state[chart_key("heatmap_chart", spec)] = {"selection": [point]}
    at.run()
    assert_clean(at)
    assert "Sessions with a rage event starting in this spot" in [header.value for header in at.subheader]
    sessions = at.dataframe[0].value
    assert sessions["clicks"].sum() == spot["total_clicks"]
    assert sessions["rage_events"].sum() == spot["rage_events"]


def test_hidden_fixed_elements_leave_their_clicks_out_of_every_number(demo: HeatmapService) -> None:
    page_key = busiest_page(demo)
    at = run_page(HEATMAP, {"page": page_key, "fixed": "hidden"})
    assert_clean(at)
    hidden = demo.page_summary(PageRef(page_key, "desktop"), WINDOW, include_fixed=False)
    shown = demo.page_summary(PageRef(page_key, "desktop"), WINDOW)
    totals = compare.totals(hidden)
    assert compare.totals(shown).clicks > totals.clicks  # the demo's sticky header is clicked
    assert metrics(at)["Clicks · desktop"] == f"{totals.clicks:,}"
    assert metrics(at)["Dead clicks"] == f"{totals.dead_clicks:,}"


def test_the_clickmap_outlines_and_lists_the_services_elements(demo: HeatmapService) -> None:
    page_key = busiest_page(demo)
    at = run_page(HEATMAP, {"page": page_key, "draw": "Clickmap"})
    assert_clean(at)
    elements = demo.page_elements(PageRef(page_key, "desktop"), WINDOW)
    table = at.dataframe[0].value
    assert table["selector"].to_list() == elements["selector"].to_list()
    outlined = [trace for trace in figures(at)[0]["data"] if trace["name"].startswith("element ")]
    assert len(outlined) == elements["rect_x"].is_not_null().sum() > 0
    labels = [note["text"] for note in figures(at)[0]["layout"]["annotations"]]
    assert f"<b>{100 * elements['share'][0]:.1f} %</b>" in labels
    assert at.button_group(key="layer").disabled  # a clickmap counts every click


def test_comparing_with_the_previous_period_shows_both_sides_and_their_deltas(demo: HeatmapService) -> None:
    page_key = busiest_page(demo)
    dates = {"dates": [LAST_DAYS.from_day.isoformat(), LAST_DAYS.to_day.isoformat()]}
    at = run_page(HEATMAP, {"page": page_key, "compare": "Previous period", **dates})
    assert_clean(at)
    earlier = compare.previous_window(LAST_DAYS)
    a, b = (demo.page_summary(PageRef(page_key, "desktop"), window) for window in (earlier, LAST_DAYS))
    change = compare.deltas(compare.totals(a), compare.totals(b))[0]
    assert metrics(at)["Clicks"] == f"{change.b:,}"
    assert compare.describe_change(change) in [str(metric.proto.delta) for metric in at.metric]
    drawn = figures(at)
    assert len(drawn) == 3  # A, B and their difference
    assert [trace["name"] for trace in drawn[2]["data"]] == ["page", "density", "density scale", "hotspots"]


def test_comparing_two_segments_keeps_the_window_and_changes_the_segment(demo: HeatmapService) -> None:
    page_key = busiest_page(demo)
    at = run_page(HEATMAP, {"page": page_key, "compare": "Another segment", "vs": "Visitors: new"})
    assert_clean(at)
    new = demo.page_summary(PageRef(page_key, "desktop"), WINDOW, WebFilters(visitor_type="new"))
    assert metrics(at)["Clicks"] == f"{compare.totals(new).clicks:,}"
    assert len(figures(at)) == 3
