"""The built-in replay's timeline (pure Polars) and the sidebar's window rules, on hand-made inputs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dashboard.figures import ReplayMark
from dashboard.filters import clamp_window, default_window
from dashboard.replay import (
    TIMELINE_SCHEMA,
    breakpoints_by_events,
    cluster_clicks,
    describe_pages,
    describe_step,
    session_pages,
    timeline,
)
from data_layer.filters import Window
from data_layer.store import WEB_EVENT_SCHEMA

T0 = datetime(2026, 4, 10, 12, 0, 0)


def event(seq: int, ms: int, kind: str = "click", **values: Any) -> dict[str, Any]:
    """A stored web event of session s1 on /p, 1280 x 800 viewport, 4000 px document."""
    row: dict[str, Any] = {name: None for name in WEB_EVENT_SCHEMA}
    row.update(
        seq=seq,
        event_type=kind,
        ts=T0 + timedelta(milliseconds=ms),
        day=T0.date(),
        page_key="https://example.com/p",
        breakpoint="desktop",
        session_id="s1",
        visitor_id="v1",
        viewport_width=1280,
        viewport_height=800,
        document_width=1280,
        document_height=4000,
        dead=False,
        fixed=False,
        rage=False,
        rage_start=False,
    )
    row.update(values)
    return row


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=WEB_EVENT_SCHEMA)


def test_timeline_numbers_clicks_marks_rage_runs_and_tracks_the_deepest_scroll() -> None:
    # Arrival order differs from time order on purpose (seq 5 happened first). Two rage runs: clicks at
    # 2.0-2.4 s (first = rage_start) and 9.0-9.2 s. Scrolls report 40 % then 25 % (the deepest stays 40).
    rows = [
        event(1, 1000, x=10.0, y=20.0, selector="a.nav"),
        event(2, 2000, x=100.0, y=200.0, selector="button#buy", rage=True, rage_start=True, dead=True),
        event(3, 2200, x=101.0, y=201.0, selector="button#buy", rage=True, dead=True),
        event(4, 2400, x=102.0, y=202.0, selector="button#buy", rage=True, dead=True),
        event(5, 0, "scroll", depth=20.0),
        event(6, 5000, "scroll", depth=40.0),
        event(7, 6000, "scroll", depth=25.0),
        event(8, 9000, x=5.0, y=6.0, rage=True, rage_start=True, fixed=True),
        event(9, 9100, x=5.0, y=6.0, rage=True),
        event(10, 9200, x=5.0, y=6.0, rage=True),
    ]
    steps = timeline(frame(rows))
    expected = pl.DataFrame(
        {
            "step": list(range(1, 11)),
            "seconds": [0.0, 1.0, 2.0, 2.2, 2.4, 5.0, 6.0, 9.0, 9.1, 9.2],
            "event_type": ["scroll", *["click"] * 4, *["scroll"] * 2, *["click"] * 3],
            "click_number": [None, 1, 2, 3, 4, None, None, 5, 6, 7],
            "x": [None, 10.0, 100.0, 101.0, 102.0, None, None, 5.0, 5.0, 5.0],
            "y": [None, 20.0, 200.0, 201.0, 202.0, None, None, 6.0, 6.0, 6.0],
            "selector": [None, "a.nav", *["button#buy"] * 3, None, None, None, None, None],
            "dead": [False, False, True, True, True, False, False, False, False, False],
            "fixed": [False] * 7 + [True, False, False],
            "rage": [False, False, True, True, True, False, False, True, True, True],
            "rage_run": [None, None, 1, 1, 1, None, None, 2, 2, 2],
            "depth": [20.0, None, None, None, None, 40.0, 25.0, None, None, None],
            "deepest": [20.0, 20.0, 20.0, 20.0, 20.0, 40.0, 40.0, 40.0, 40.0, 40.0],
            "viewport_height": [800] * 10,
            "document_width": [1280] * 10,
            "document_height": [4000] * 10,
        },
        schema=TIMELINE_SCHEMA,
    )
    assert_frame_equal(steps, expected)


def test_deepest_is_zero_before_the_first_scroll() -> None:
    steps = timeline(frame([event(1, 0, x=1.0, y=1.0), event(2, 500, "scroll", depth=30.0)]))
    assert steps["deepest"].to_list() == [0.0, 30.0]


def test_empty_timeline_keeps_its_schema() -> None:
    assert_frame_equal(timeline(frame([])), pl.DataFrame(schema=TIMELINE_SCHEMA))


def test_describe_step_in_plain_words() -> None:
    rows = timeline(
        frame(
            [
                event(1, 0, x=1.0, y=1.0, dead=True, rage=True, rage_start=True, fixed=True),
                event(2, 100, "scroll", depth=63.6),
            ]
        )
    ).to_dicts()
    assert [describe_step(row) for row in rows] == [
        "click #1 · dead · rage event 1 · on a fixed element",
        "scrolled to 64 % of the page",
    ]


def test_session_pages_and_breakpoints_by_events() -> None:
    rows = [
        event(1, 0, page_key="https://example.com/a", x=1.0, y=1.0),
        event(2, 100, page_key="https://example.com/b", x=1.0, y=1.0),
        event(3, 200, page_key="https://example.com/b", breakpoint="tablet", x=1.0, y=1.0),
        event(4, 300, page_key="https://example.com/b", breakpoint="tablet", x=1.0, y=1.0),
    ]
    pages = session_pages(frame(rows))
    assert pages.select("page_key", "events").rows() == [
        ("https://example.com/b", 3),
        ("https://example.com/a", 1),
    ]
    assert breakpoints_by_events(frame(rows[1:])) == ["tablet", "desktop"]


LONG = "/journal/2026/11/why-we-stopped-counting-pageviews-and-started-reading-scroll-depth"


@pytest.mark.parametrize(
    ("visited", "described"),
    [
        (
            [("https://shop.example.com/cart", 24), ("https://shop.example.com/", 3)],
            "/cart (24) · / (3) on shop.example.com",
        ),
        (
            [(f"https://blog.example.com{LONG}", 2), ("http://localhost:8000/a", 1)],
            "/journal/2026/11/why-we-sto…started-reading-scroll-depth on blog.example.com (2) · "
            "/a on localhost:8000 (1)",
        ),
    ],
    ids=["one site, named once", "two sites, each named"],
)
def test_a_session_s_pages_are_named_by_their_path(visited: list[tuple[str, int]], described: str) -> None:
    pages = pl.DataFrame(visited, schema=["page_key", "events"], orient="row")
    assert describe_pages(pages) == described


def test_default_window_is_thirty_days_ending_at_the_newest_data() -> None:
    assert default_window(date(2026, 3, 31)) == Window(date(2026, 3, 2), date(2026, 3, 31))


def test_window_picks_are_clamped_and_explained() -> None:
    fallback = Window(date(2026, 3, 2), date(2026, 3, 31))
    assert clamp_window((date(2026, 3, 5), date(2026, 3, 9)), fallback) == (
        Window(date(2026, 3, 5), date(2026, 3, 9)),
        None,
    )
    assert clamp_window((date(2026, 3, 5),), fallback) == (Window(date(2026, 3, 5), date(2026, 3, 5)), None)
    window, note = clamp_window((date(2026, 1, 1), date(2026, 3, 31)), fallback)
    assert window == Window(date(2026, 1, 31), date(2026, 3, 31))  # 60 days, both ends included
    assert note == (
        "Queries cover at most 60 days, so the last 60 days of your range are shown: "
        "2026-01-31 to 2026-03-31."
    )
    assert clamp_window((), fallback) == (fallback, "No dates picked: showing the default window.")


def test_clicks_on_one_spot_share_a_marker_labelled_by_their_numbers() -> None:
    # Manhattan distance to the group's first click: (104, 205) is 9 px from (100, 200), (112, 200) 12 px.
    clicks = [
        {"click_number": 1, "x": 100.0, "y": 200.0},
        {"click_number": 2, "x": 500.0, "y": 50.0},
        {"click_number": 3, "x": 104.0, "y": 205.0},
        {"click_number": 4, "x": 112.0, "y": 200.0},
        {"click_number": 5, "x": 100.0, "y": 201.0},
    ]
    groups = cluster_clicks(clicks)
    assert [[click["click_number"] for click in group] for group in groups] == [[1, 3, 5], [2], [4]]
    mark = ReplayMark(numbers=(4, 5, 6, 7, 9), x=0, y=0, dead=False, rage=True, text="")
    assert mark.label == "4-7, 9"
    assert ReplayMark(numbers=(2,), x=0, y=0, dead=False, rage=False, text="").label == "2"
