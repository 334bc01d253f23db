"""Element aggregation (CONTRACT 15) with expectations worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from data_layer.elements import element_stats


def events(*rows: tuple[str | None, bool, bool, str | None], breakpoint: str = "desktop") -> pl.LazyFrame:
    """Clicks as (selector, dead, rage_start, rect)."""
    return pl.LazyFrame(
        {
            "selector": [row[0] for row in rows],
            "event_type": ["click"] * len(rows),
            "breakpoint": [breakpoint] * len(rows),
            "dead": [row[1] for row in rows],
            "rage_start": [row[2] for row in rows],
            "rect": [row[3] for row in rows],
        },
        schema={
            "selector": pl.String,
            "event_type": pl.String,
            "breakpoint": pl.String,
            "dead": pl.Boolean,
            "rage_start": pl.Boolean,
            "rect": pl.String,
        },
    )


def test_counts_shares_and_medians_by_hand() -> None:
    frame = events(
        ("#buy", False, True, "100,200,80,30"),  # the first click of a rage run: the event is here
        ("#buy", False, False, "100,220,80,30"),
        ("#buy", True, False, "104,240,80,40"),
        ("#buy", True, False, None),  # no box reported: not in the median
        ("nav a", False, False, "0,0,50,20"),
        ("nav a", False, False, "10,0,60,20"),
        (None, True, False, None),  # no selector: counts in the share's denominator only
        ("#hero", False, False, None),
    )
    stats = element_stats(frame, "desktop", 25)
    assert stats.to_dicts() == [
        {"selector": "#buy", "clicks": 4, "share": 0.5, "rage_events": 1, "dead_clicks": 2,
         "rect_x": 100.0, "rect_y": 220.0, "rect_width": 80.0, "rect_height": 30.0},
        {"selector": "nav a", "clicks": 2, "share": 0.25, "rage_events": 0, "dead_clicks": 0,
         "rect_x": 5.0, "rect_y": 0.0, "rect_width": 55.0, "rect_height": 20.0},
        {"selector": "#hero", "clicks": 1, "share": 0.125, "rage_events": 0, "dead_clicks": 0,
         "rect_x": None, "rect_y": None, "rect_width": None, "rect_height": None},
    ]  # fmt: skip


def test_a_repeated_box_weighs_as_often_as_it_was_clicked() -> None:
    # Boxes x = 0 (once) and 10 (three times): the median of 0, 10, 10, 10 is 10.
    frame = events(*[("a", False, False, "10,0,5,5")] * 3, ("a", False, False, "0,0,5,5"))
    assert element_stats(frame, "desktop", 5).get_column("rect_x").to_list() == [10.0]


def test_order_ties_limit_and_other_breakpoints() -> None:
    frame = pl.concat(
        [
            events(("b", False, False, None), ("a", False, False, None), ("c", False, False, None)),
            events(("c", False, False, None), breakpoint="mobile"),
        ]
    )
    stats = element_stats(frame, "desktop", 2)
    assert stats.select("selector", "clicks").rows() == [("a", 1), ("b", 1)]
    assert stats.get_column("share").to_list() == [1 / 3, 1 / 3]


def test_no_clicks_no_elements() -> None:
    assert element_stats(events(), "desktop", 25).is_empty()


def test_boxes_scaled_to_one_drawings_width() -> None:
    """#buy at 10 % of a 1,000 px page (x 100, 80 wide) and of a 2,000 px page (x 200, 160 wide): in
    px the medians are x 150 and width 120, nowhere on either page; scaled to a 1,440 px drawing both
    boxes are x 144, 115.2 wide, where the bins put their clicks. y and height are never scaled."""
    frame = events(("#buy", False, False, "100,300,80,30"), ("#buy", False, False, "200,300,160,30"))
    widths = frame.with_columns(document_width=pl.Series([1000, 2000], dtype=pl.Int32))
    assert element_stats(widths, "desktop", 5).select("rect_x", "rect_width").row(0) == (150.0, 120.0)
    scaled = element_stats(widths, "desktop", 5, width=1440)
    assert scaled.select("rect_x", "rect_y", "rect_width", "rect_height").row(0) == pytest.approx(
        (144.0, 300.0, 115.2, 30.0)
    )
