"""Metrics on small hand-built frames (CONTRACT 2): every expected value below was worked out by hand.

Frames come from the ``_click`` / ``_scroll`` factories, which fill every column of the store's web event
schema with a default, so each test states only what matters to it. ``seq`` defaults to the row's
position in ``_frame``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from data_layer import bins, breakpoints, metrics, rage
from data_layer.rage import INPUT_COLUMNS as RAGE_INPUT_COLUMNS
from data_layer.store import WEB_EVENT_SCHEMA

T0 = datetime(2024, 3, 1, 12, 0, 0)
PAGE = "https://example.com/pricing"
TEMPLATE = "https://dash.example/session?sessionId={sessionId}&visitorId={visitorId}&date={date}"


def _event(
    event_type: str,
    *,
    seq: int | None,
    session: str,
    t_ms: int,
    page: str,
    breakpoint: str,
    visitor: str,
    viewport_height: int,
    document_width: int,
) -> dict[str, Any]:
    ts = T0 + timedelta(milliseconds=t_ms)
    return {
        "seq": seq,
        "event_type": event_type,
        "ts": ts,
        "day": ts.date(),
        "page_key": page,
        "breakpoint": breakpoint,
        "session_id": session,
        "visitor_id": visitor,
        "viewport_width": 1280,
        "viewport_height": viewport_height,
        "document_width": document_width,
        "document_height": 5000,
        "x": None,
        "y": None,
        "selector": None,
        "dead": False,
        "fixed": False,
        "depth": None,
        "country": "US",
        "region": None,
        "browser": "Chrome",
        "rage": False,
        "rage_start": False,
    }


def _click(
    *,
    seq: int | None = None,
    session: str = "s1",
    t_ms: int = 0,
    x: float = 10.0,
    y: float = 20.0,
    page: str = PAGE,
    breakpoint: str = "desktop",
    visitor: str = "v1",
    dead: bool = False,
    selector: str | None = None,
    rage: bool = False,
    rage_start: bool = False,
    document_width: int = 1000,
) -> dict[str, Any]:
    row = _event(
        "click",
        seq=seq,
        session=session,
        t_ms=t_ms,
        page=page,
        breakpoint=breakpoint,
        visitor=visitor,
        viewport_height=800,
        document_width=document_width,
    )
    row.update(x=x, y=y, dead=dead, selector=selector, rage=rage, rage_start=rage_start)
    return row


def _scroll(
    *,
    seq: int | None = None,
    session: str = "s1",
    t_ms: int = 0,
    depth: float = 50.0,
    viewport_height: int = 800,
    page: str = PAGE,
    breakpoint: str = "desktop",
    visitor: str = "v1",
) -> dict[str, Any]:
    row = _event(
        "scroll",
        seq=seq,
        session=session,
        t_ms=t_ms,
        page=page,
        breakpoint=breakpoint,
        visitor=visitor,
        viewport_height=viewport_height,
        document_width=1000,
    )
    row["depth"] = depth
    return row


def _frame(*rows: dict[str, Any]) -> pl.DataFrame:
    """Rows in the store's schema; a row without ``seq`` gets its 1-based position."""
    numbered = [
        {**row, "seq": index if row["seq"] is None else row["seq"]} for index, row in enumerate(rows, 1)
    ]
    return pl.DataFrame(numbered, schema=WEB_EVENT_SCHEMA, orient="row")


def _flags(frame: pl.DataFrame, **thresholds: Any) -> list[tuple[int, bool, bool]]:
    """(seq, rage, rage_start) of ``rage_flags`` in output row order."""
    flagged = rage.rage_flags(frame, **thresholds)
    return list(flagged.select("seq", "rage", "rage_start").iter_rows())


# --- rage_flags (CONTRACT 2.2) ---------------------------------------------------------------------------


def test_rage_run_of_exactly_three_then_a_gap_of_exactly_1000_ms() -> None:
    frame = _frame(
        _click(t_ms=0, x=10),
        _click(t_ms=500, x=15),
        _click(t_ms=999, x=20),
        _click(t_ms=1999, x=20),  # exactly 1000 ms after the previous: not chained
    )
    assert _flags(frame) == [(1, True, True), (2, True, False), (3, True, False), (4, False, False)]


def test_two_chained_clicks_are_not_rage() -> None:
    frame = _frame(_click(t_ms=0), _click(t_ms=100), _click(t_ms=1100))
    assert _flags(frame) == [(1, False, False), (2, False, False), (3, False, False)]


def test_run_of_five_is_one_rage_event() -> None:
    frame = _frame(*(_click(t_ms=t) for t in (0, 300, 600, 900, 1200)))
    assert _flags(frame) == [
        (1, True, True),
        (2, True, False),
        (3, True, False),
        (4, True, False),
        (5, True, False),
    ]


def test_gap_of_exactly_1000_ms_splits_a_run() -> None:
    # 0 -> 500 chained; 500 -> 1500 is exactly 1000 ms: new run 1500, 2000, 2999 (each < 1000 ms).
    frame = _frame(*(_click(t_ms=t) for t in (0, 500, 1500, 2000, 2999)))
    assert _flags(frame) == [
        (1, False, False),
        (2, False, False),
        (3, True, True),
        (4, True, False),
        (5, True, False),
    ]


@pytest.mark.parametrize(
    ("third", "is_rage"),
    [
        ((25.0, 24.0), True),  # |15| + |14| = 29 from (10, 10)
        ((25.0, 25.0), False),  # |15| + |15| = 30: exactly the threshold, not chained
        ((40.0, 10.0), False),  # |30| + |0| = 30
        ((10.0, 39.5), True),  # |0| + |29.5| = 29.5
    ],
)
def test_manhattan_distance_must_be_strictly_below_30_px(third: tuple[float, float], is_rage: bool) -> None:
    frame = _frame(
        _click(t_ms=0, x=0, y=0),
        _click(t_ms=100, x=10, y=10),  # 20 px from the first
        _click(t_ms=200, x=third[0], y=third[1]),
    )
    assert [rage for _, rage, _ in _flags(frame)] == [is_rage] * 3


def test_steps_of_exactly_30_px_never_chain_even_when_fast() -> None:
    frame = _frame(*(_click(t_ms=10 * i, x=30.0 * i, y=0) for i in range(4)))
    assert [rage for _, rage, _ in _flags(frame)] == [False] * 4


def test_two_runs_in_one_session_are_two_events() -> None:
    frame = _frame(
        *(_click(t_ms=t, x=100, y=100) for t in (0, 100, 200)),
        *(_click(t_ms=t, x=500, y=900) for t in (5000, 5100, 5200, 5300)),
    )
    assert _flags(frame) == [
        (1, True, True),
        (2, True, False),
        (3, True, False),
        (4, True, True),
        (5, True, False),
        (6, True, False),
        (7, True, False),
    ]


def test_far_click_breaks_a_run_even_when_fast() -> None:
    # 0, 100 chained; 200 is 500 px away (breaks); 300 chains to 200 only: no run reaches three.
    frame = _frame(
        _click(t_ms=0, x=10),
        _click(t_ms=100, x=12),
        _click(t_ms=200, x=512),
        _click(t_ms=300, x=14),
    )
    assert [rage for _, rage, _ in _flags(frame)] == [False] * 4


def test_runs_never_cross_sessions() -> None:
    # Interleaved in time at one spot: s1 has 0, 200, 400 (a run); s2 has 100, 300 (two clicks only).
    frame = _frame(
        _click(session="s1", t_ms=0),
        _click(session="s2", t_ms=100),
        _click(session="s1", t_ms=200),
        _click(session="s2", t_ms=300),
        _click(session="s1", t_ms=400),
    )
    assert _flags(frame) == [
        (1, True, True),
        (2, False, False),
        (3, True, False),
        (4, False, False),
        (5, True, False),
    ]


def test_runs_never_cross_pages_or_breakpoints() -> None:
    frame = _frame(
        _click(t_ms=0, page="https://example.com/a"),
        _click(t_ms=100, page="https://example.com/a"),
        _click(t_ms=200, page="https://example.com/b"),
        _click(t_ms=1000, breakpoint="desktop"),
        _click(t_ms=1100, breakpoint="mobile"),
        _click(t_ms=1200, breakpoint="desktop"),
    )
    # Without the split, 0-100-200 would be a run, and 1000-1100-1200 another.
    assert [rage for _, rage, _ in _flags(frame)] == [False] * 6


def test_equal_timestamps_are_ordered_by_seq_not_by_row_order() -> None:
    # Same ts; by seq the path is x 0 -> 20 -> 40 (20 px steps). Row order 40, 0, 20 would break it.
    frame = _frame(
        _click(seq=3, t_ms=500, x=40),
        _click(seq=1, t_ms=500, x=0),
        _click(seq=2, t_ms=500, x=20),
    )
    assert _flags(frame) == [(3, True, False), (1, True, True), (2, True, False)]


def test_seq_only_breaks_ties_time_comes_first() -> None:
    # By ts the path is x 0 (seq 9) -> 20 (seq 2) -> 40 (seq 5): a run starting at seq 9.
    frame = _frame(
        _click(seq=2, t_ms=100, x=20),
        _click(seq=5, t_ms=200, x=40),
        _click(seq=9, t_ms=0, x=0),
    )
    assert _flags(frame) == [(2, True, False), (5, True, False), (9, True, True)]


def test_rage_flags_keeps_rows_and_columns_and_replaces_old_flags() -> None:
    frame = _frame(
        _click(session="s2", t_ms=0, rage=True, rage_start=True),  # stale flags: alone, not rage
        _click(session="s1", t_ms=200),
        _click(session="s1", t_ms=0),
        _click(session="s1", t_ms=100),
    )
    expected = frame.with_columns(
        rage=pl.Series([False, True, True, True]), rage_start=pl.Series([False, False, True, False])
    )
    assert_frame_equal(rage.rage_flags(frame), expected)


def test_rage_flags_adds_columns_when_absent() -> None:
    frame = _frame(*(_click(t_ms=t) for t in (0, 1, 2))).select("seq", "ts", *rage.GROUP, "x", "y")
    expected = frame.with_columns(rage=pl.lit(True), rage_start=pl.Series([True, False, False]))
    assert_frame_equal(rage.rage_flags(frame), expected)


def test_rage_thresholds_are_arguments() -> None:
    frame = _frame(_click(t_ms=0, x=0), _click(t_ms=1500, x=40), _click(t_ms=5000, x=0))
    assert _flags(frame) == [(1, False, False), (2, False, False), (3, False, False)]
    assert _flags(frame, min_clicks=2, max_interval_ms=2000, max_distance_px=50.0) == [
        (1, True, True),
        (2, True, False),
        (3, False, False),
    ]


def test_rage_flags_of_no_clicks() -> None:
    flagged = rage.rage_flags(_frame())
    assert flagged.height == 0
    assert flagged.schema["rage"] == pl.Boolean
    assert flagged.schema["rage_start"] == pl.Boolean


# --- issue_score (CONTRACT 2.6) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frustrated", "total", "score"),
    [
        (1, 1, 0.2),  # contract examples
        (3, 3, 1.3),
        (30, 60, 22.6),
        (400, 2000, 18.3),
        (50, 100, 40.4),
        # p = 0.2, n = 5, z² = 3.8416: centre 0.2 + 0.38416 = 0.58416; margin 1.96·sqrt(0.032 + 0.038416)
        # = 0.52011; L = 0.06405 / 1.76832 = 0.03622; 100 · L · 5/100 = 0.181 -> 0.2
        (1, 5, 0.2),
        (0, 50, 0.0),  # Wilson lower bound of 0 frustrated is exactly 0
        (0, 0, 0.0),  # no clicks: 0 by definition
    ],
)
def test_issue_score(frustrated: int, total: int, score: float) -> None:
    result = pl.select(metrics.issue_score(pl.lit(frustrated), pl.lit(total))).item()
    assert result == score
    assert math.copysign(1.0, result) == 1.0  # never -0.0 in JSON


def test_issue_score_on_columns() -> None:
    frame = pl.DataFrame({"f": [1, 3, 30, 400, 50, 0], "n": [1, 3, 60, 2000, 100, 0]})
    scores = frame.select(metrics.issue_score(pl.col("f"), pl.col("n")).alias("score"))["score"]
    assert scores.to_list() == [0.2, 1.3, 22.6, 18.3, 40.4, 0.0]


# --- page_list (CONTRACT 2.1-2.3, 2.6, 4.1) --------------------------------------------------------------

PAGE_A = "https://example.com/a"
PAGE_B = "https://example.com/b"
PAGE_C = "https://example.com/c"
PAGE_D = "https://example.com/d"

PAGE_LIST_SCHEMA = {
    "page_key": pl.String,
    "total_clicks": pl.Int64,
    "rage_clicks": pl.Int64,
    "dead_clicks": pl.Int64,
    "rage_rate": pl.Float64,
    "dead_rate": pl.Float64,
    "issue_score": pl.Float64,
    "breakpoints": pl.List(pl.Struct({"breakpoint": pl.String, "clicks": pl.Int64})),
}


def _page_list_events() -> pl.DataFrame:
    return _frame(
        # A: one rage event of 3 clicks, one of them also dead -> frustrated 3 of 3 (counted once each).
        _click(page=PAGE_A, t_ms=0, rage=True, rage_start=True),
        _click(page=PAGE_A, t_ms=100, rage=True, dead=True),
        _click(page=PAGE_A, t_ms=200, rage=True),
        _scroll(page=PAGE_A, depth=80),
        # B: 5 clicks over three breakpoints, one dead -> frustrated 1 of 5.
        _click(page=PAGE_B, breakpoint="mobile"),
        _click(page=PAGE_B, breakpoint="tablet", dead=True),
        _click(page=PAGE_B, breakpoint="mobile"),
        _click(page=PAGE_B, breakpoint="desktop"),
        _click(page=PAGE_B, breakpoint="tablet"),
        # C: scrolls only -> not listed.
        _scroll(page=PAGE_C, depth=10),
        _scroll(page=PAGE_C, depth=20),
        # D: two plain clicks.
        _click(page=PAGE_D, session="s7"),
        _click(page=PAGE_D, session="s8"),
    )


def _expected_page_list() -> pl.DataFrame:
    return pl.DataFrame(
        [
            (PAGE_A, 3, 1, 1, 1 / 3, 1 / 3, 1.3, [{"breakpoint": "desktop", "clicks": 3}]),
            (
                PAGE_B,
                5,
                0,
                1,
                0.0,
                0.2,
                0.2,
                [
                    {"breakpoint": "mobile", "clicks": 2},
                    {"breakpoint": "tablet", "clicks": 2},
                    {"breakpoint": "desktop", "clicks": 1},
                ],
            ),
            (PAGE_D, 2, 0, 0, 0.0, 0.0, 0.0, [{"breakpoint": "desktop", "clicks": 2}]),
        ],
        schema=PAGE_LIST_SCHEMA,
        orient="row",
    )


def test_page_list() -> None:
    result = metrics.page_list(_page_list_events()).sort("page_key")
    assert_frame_equal(result, _expected_page_list())


def test_page_list_accepts_a_lazy_frame_and_categoricals() -> None:
    events = _page_list_events().with_columns(pl.col("page_key", "breakpoint").cast(pl.Categorical))
    result = metrics.page_list(events.lazy()).sort("page_key")
    assert_frame_equal(result, _expected_page_list())


def test_page_list_counts_rage_events_not_rage_clicks() -> None:
    events = _frame(
        *(_click(t_ms=t, rage=True, rage_start=t in (0, 5000)) for t in (0, 100, 200, 5000, 5100, 5200)),
        *(_click(t_ms=9000 + t) for t in range(4)),
    )
    row = metrics.page_list(events).row(0, named=True)
    assert (row["total_clicks"], row["rage_clicks"], row["rage_rate"]) == (10, 2, 0.2)


def test_page_list_of_no_events() -> None:
    assert_frame_equal(metrics.page_list(_frame()), pl.DataFrame(schema=PAGE_LIST_SCHEMA))


# --- bins (CONTRACT 2.4) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "width", "bin_x", "bin_y"),
    [
        (0.0, 0.0, 1000, 0, 0),
        (9.99, 15.99, 1000, 0, 0),  # 0.999 % -> column 0; 15.99 / 16 -> row 0
        (10.0, 16.0, 1000, 1, 1),
        (290.0, 0.0, 1000, 29, 0),  # 290/1000*100 is 28.999... in floating point: must still be 29
        (505.0, 100.0, 1000, 50, 6),  # 100 / 16 = 6.25
        (999.9, 0.0, 1000, 99, 0),
        (1000.0, 0.0, 1000, 99, 0),  # xRel = 1 -> 100, capped at 99
        (1500.0, 0.0, 1000, 99, 0),  # beyond the width: clamped
        (64.0, 32.0, 320, 20, 2),
    ],
)
def test_with_bins(x: float, y: float, width: int, bin_x: int, bin_y: int) -> None:
    binned = bins.with_bins(_frame(_click(x=x, y=y, document_width=width)))
    assert binned.select("bin_x", "bin_y").row(0) == (bin_x, bin_y)
    assert binned.schema["bin_x"] == pl.Int32
    assert binned.schema["bin_y"] == pl.Int32


def test_click_bins_are_ordered_by_row_then_column() -> None:
    clicks = _frame(
        _click(x=5, y=40),  # (0, 2)
        _click(x=5, y=5),  # (0, 0)
        _click(x=505, y=20),  # (50, 1)
        _click(x=15, y=0),  # (1, 0)
        _click(x=5, y=7),  # (0, 0)
        _click(x=35, y=47.9),  # (3, 2)
    )
    assert metrics.click_bins(clicks).to_dicts() == [
        {"bin_x": 0, "bin_y": 0, "clicks": 2},
        {"bin_x": 1, "bin_y": 0, "clicks": 1},
        {"bin_x": 50, "bin_y": 1, "clicks": 1},
        {"bin_x": 0, "bin_y": 2, "clicks": 1},
        {"bin_x": 3, "bin_y": 2, "clicks": 1},
    ]


def test_dead_click_bins_with_top_element() -> None:
    clicks = _frame(
        # bin (0, 0): dead selectors #b, #b, #a, #a and three without -> 7 dead, top "#a" (tie, smaller)
        *(_click(x=5, y=5, dead=True, selector=s) for s in ("#b", "#b", "#a", "#a", None, None, None)),
        *(_click(x=5, y=5, selector="#z") for _ in range(5)),  # not dead: ignored, however frequent
        # bin (1, 0): dead without any selector -> top_element None
        *(_click(x=15, y=5, dead=True) for _ in range(2)),
        # bin (2, 0): only live clicks -> not listed
        _click(x=25, y=5, selector="#live"),
        # bin (0, 1): "#y" twice beats "#x" once
        _click(x=5, y=20, dead=True, selector="#x"),
        _click(x=5, y=20, dead=True, selector="#y"),
        _click(x=5, y=20, dead=True, selector="#y"),
    )
    assert metrics.dead_click_bins(clicks).to_dicts() == [
        {"bin_x": 0, "bin_y": 0, "dead_clicks": 7, "top_element": "#a"},
        {"bin_x": 1, "bin_y": 0, "dead_clicks": 2, "top_element": None},
        {"bin_x": 0, "bin_y": 1, "dead_clicks": 3, "top_element": "#y"},
    ]


def test_rage_click_bins_locate_events_at_their_first_click() -> None:
    clicks = _frame(
        # A run starting in bin (0, 0) and drifting into bin (1, 0).
        _click(x=8, y=5, rage=True, rage_start=True),
        _click(x=12, y=5, rage=True),
        _click(x=16, y=5, rage=True),
        # Another run starting in bin (0, 0).
        _click(t_ms=9000, x=2, y=2, rage=True, rage_start=True),
        _click(t_ms=9100, x=2, y=2, rage=True),
        _click(t_ms=9200, x=2, y=2, rage=True),
        _click(t_ms=20000, x=9, y=9),  # plain click in bin (0, 0): counts in total_clicks
        # A run starting in bin (40, 3).
        _click(t_ms=30000, x=400, y=50, rage=True, rage_start=True),
        _click(t_ms=30100, x=400, y=50, rage=True),
        _click(t_ms=30200, x=400, y=50, rage=True),
    )
    assert metrics.rage_click_bins(clicks).to_dicts() == [
        {"bin_x": 0, "bin_y": 0, "rage_events": 2, "total_clicks": 5},
        {"bin_x": 40, "bin_y": 3, "rage_events": 1, "total_clicks": 3},
    ]


def test_bins_of_no_clicks_are_empty() -> None:
    assert metrics.click_bins(_frame()).to_dicts() == []
    assert metrics.dead_click_bins(_frame()).to_dicts() == []
    assert metrics.rage_click_bins(_frame()).to_dicts() == []


# --- scroll depth and fold (CONTRACT 2.5) ----------------------------------------------------------------


def _reach(*sessions: int) -> list[dict[str, int]]:
    return [{"bucket": bucket, "sessions": n} for bucket, n in zip(range(0, 101, 10), sessions, strict=True)]


def test_scroll_reach() -> None:
    scrolls = _frame(
        _scroll(session="s1", depth=35),
        _scroll(session="s1", depth=72),  # s1 reaches 72
        _scroll(session="s2", depth=100),
        _scroll(session="s3", depth=0),
        _scroll(session="s4", depth=9.99),
        _scroll(session="s5", depth=10),
        _click(session="s6"),  # no scroll data: not counted
    )
    #              0  10 20 30 40 50 60 70 80 90 100
    assert metrics.scroll_reach(scrolls).to_dicts() == _reach(5, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1)


def test_scroll_reach_without_data_is_all_zeros() -> None:
    assert metrics.scroll_reach(_frame()).to_dicts() == _reach(*[0] * 11)
    assert metrics.scroll_reach(_frame(_click())).to_dicts() == _reach(*[0] * 11)


def test_fold_median_of_viewport_heights_at_the_deepest_scroll() -> None:
    scrolls = _frame(
        _scroll(session="s1", t_ms=0, depth=35, viewport_height=900),
        _scroll(session="s1", t_ms=100, depth=72, viewport_height=700),  # s1: 700
        _scroll(session="s2", t_ms=2000, depth=100, viewport_height=640),  # s2: latest of the ties, 640
        _scroll(session="s2", t_ms=1000, depth=100, viewport_height=600),
        _scroll(session="s3", t_ms=0, depth=50, viewport_height=800),  # s3: 800
    )
    assert metrics.fold(scrolls) == 700  # 640, 700, 800


def test_fold_even_count_takes_the_mean_and_rounds_half_up() -> None:
    scrolls = _frame(
        _scroll(session="s1", viewport_height=640),
        _scroll(session="s2", viewport_height=651),
        _scroll(session="s3", viewport_height=698),
        _scroll(session="s4", viewport_height=800),
    )
    assert metrics.fold(scrolls) == 675  # (651 + 698) / 2 = 674.5, half up


def test_fold_ties_at_the_same_time_take_the_highest_seq() -> None:
    scrolls = _frame(
        _scroll(seq=8, t_ms=500, depth=90, viewport_height=720),
        _scroll(seq=3, t_ms=500, depth=90, viewport_height=600),
    )
    assert metrics.fold(scrolls) == 720


def test_fold_without_data_is_none() -> None:
    assert metrics.fold(_frame()) is None
    assert metrics.fold(_frame(_click())) is None


# --- replays (CONTRACT 2.7) ------------------------------------------------------------------------------


def _url(session: str, visitor: str = "v1", day: str = "2024-03-01") -> str:
    return f"https://dash.example/session?sessionId={session}&visitorId={visitor}&date={day}"


def _replay_events() -> pl.DataFrame:
    return _frame(
        # desktop, expected rank: r2, r1d1, r1d0, c2, tie_a | cut: tie_b (id), aaa (earlier latest event)
        _click(session="r2", rage=True, rage_start=True),
        _click(session="r2", rage=True),
        _click(session="r2", rage=True),
        _click(session="r2", t_ms=5000, rage=True, rage_start=True),
        _click(session="r2", t_ms=5100, rage=True),
        _click(session="r2", t_ms=5200, rage=True),
        _click(session="r1d0", rage=True, rage_start=True),
        _click(session="r1d0", rage=True),
        _click(session="r1d0", rage=True),
        _click(session="r1d0"),
        _click(session="r1d1", rage=True, rage_start=True),
        _click(session="r1d1", rage=True),
        _click(session="r1d1", rage=True, dead=True),
        _click(session="c2", t_ms=100),
        _click(session="c2", t_ms=200),
        _click(session="tie_b", t_ms=10_000),
        _click(session="tie_a", t_ms=10_000),
        _click(session="aaa", t_ms=9_000),
        _scroll(session="aaa", t_ms=8_000),
        # tablet: r2 is ranked on its tablet events only (a scroll); scroll-only sessions count.
        _scroll(session="s_scroll", breakpoint="tablet", t_ms=60_000),
        _scroll(session="r2", breakpoint="tablet", t_ms=70_000),
        _click(session="s_click", breakpoint="tablet", t_ms=1_000),
        # mobile: nothing
    )


def test_replays_ranking_and_order() -> None:
    assert metrics.replays(_replay_events(), template=TEMPLATE).to_dicts() == [
        {"breakpoint": "desktop", "url": _url("r2")},
        {"breakpoint": "desktop", "url": _url("r1d1")},
        {"breakpoint": "desktop", "url": _url("r1d0")},
        {"breakpoint": "desktop", "url": _url("c2")},
        {"breakpoint": "desktop", "url": _url("tie_a")},
        {"breakpoint": "tablet", "url": _url("s_click")},
        {"breakpoint": "tablet", "url": _url("r2")},
        {"breakpoint": "tablet", "url": _url("s_scroll")},
    ]


def test_replays_breakpoint_order_and_count_are_arguments() -> None:
    result = metrics.replays(
        _replay_events(),
        template=TEMPLATE,
        breakpoint_order=("tablet", "mobile", "desktop"),
        per_breakpoint=2,
    )
    assert result.to_dicts() == [
        {"breakpoint": "tablet", "url": _url("s_click")},
        {"breakpoint": "tablet", "url": _url("r2")},
        {"breakpoint": "desktop", "url": _url("r2")},
        {"breakpoint": "desktop", "url": _url("r1d1")},
    ]


def test_replays_ignore_breakpoints_not_in_the_order() -> None:
    events = _frame(_click(session="x", breakpoint="watch"), _click(session="y"))
    assert metrics.replays(events, template=TEMPLATE).to_dicts() == [
        {"breakpoint": "desktop", "url": _url("y")}
    ]


def test_replay_date_and_visitor_come_from_the_sessions_first_event_on_the_page() -> None:
    # First event (by ts) is a tablet scroll one millisecond before midnight UTC by visitor "old".
    midnight = int((datetime(2024, 3, 2) - T0).total_seconds() * 1000)
    events = _frame(
        _click(session="s", visitor="new", t_ms=midnight + 100),
        _scroll(session="s", visitor="old", breakpoint="tablet", t_ms=midnight - 1),
    )
    assert metrics.replays(events, template=TEMPLATE).to_dicts() == [
        {"breakpoint": "desktop", "url": _url("s", "old", "2024-03-01")},
        {"breakpoint": "tablet", "url": _url("s", "old", "2024-03-01")},
    ]


def test_replay_visitor_at_equal_timestamps_is_the_one_of_the_lowest_seq() -> None:
    events = _frame(_click(seq=7, session="s", visitor="later"), _click(seq=4, session="s", visitor="first"))
    assert metrics.replays(events, template=TEMPLATE).to_dicts() == [
        {"breakpoint": "desktop", "url": _url("s", "first")}
    ]


def test_replay_values_are_url_encoded() -> None:
    events = _frame(_click(session="s 1/ü&x={date}", visitor="v#1"))
    assert metrics.replays(events, template=TEMPLATE).to_dicts() == [
        {
            "breakpoint": "desktop",
            "url": "https://dash.example/session?sessionId=s%201%2F%C3%BC%26x%3D%7Bdate%7D"
            "&visitorId=v%231&date=2024-03-01",
        }
    ]


def test_replays_of_no_events() -> None:
    assert metrics.replays(_frame(), template=TEMPLATE).to_dicts() == []


# --- properties ------------------------------------------------------------------------------------------

_click_specs = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2"]),  # session
        st.sampled_from([PAGE_A, PAGE_B]),  # page
        st.sampled_from(["desktop", "mobile"]),  # breakpoint
        st.integers(0, 40).map(lambda n: n * 250),  # ts in ms, on a grid that hits 1000 exactly
        st.integers(0, 8).map(lambda n: n * 7.5),  # x, on a grid that hits 30 exactly
        st.integers(0, 4).map(lambda n: n * 10.0),  # y
    ),
    max_size=40,
)


def _spec_frame(specs: list[tuple[str, str, str, int, float, float]]) -> pl.DataFrame:
    return _frame(
        *(
            _click(session=s, page=p, breakpoint=b, t_ms=t, x=x, y=y, document_width=100)
            for s, p, b, t, x, y in specs
        )
    )


def _reference_rage(frame: pl.DataFrame, min_clicks: int = 3) -> dict[int, tuple[bool, bool]]:
    """seq -> (rage, rage_start) by a plain loop over each group: the contract's words, literally."""
    result: dict[int, tuple[bool, bool]] = {}
    rows = sorted(frame.iter_rows(named=True), key=lambda r: (*(r[k] for k in rage.GROUP), r["ts"], r["seq"]))
    runs: list[list[dict[str, Any]]] = []
    for row in rows:
        previous = runs[-1][-1] if runs else None
        if (
            previous is not None
            and all(previous[k] == row[k] for k in rage.GROUP)
            and row["ts"] - previous["ts"] < timedelta(milliseconds=1000)
            and abs(row["x"] - previous["x"]) + abs(row["y"] - previous["y"]) < 30
        ):
            runs[-1].append(row)
        else:
            runs.append([row])
    for run in runs:
        for index, row in enumerate(run):
            result[row["seq"]] = (len(run) >= min_clicks, len(run) >= min_clicks and index == 0)
    return result


@settings(max_examples=200)
@given(specs=_click_specs)
def test_rage_flags_match_a_plain_loop(specs: list[tuple[str, str, str, int, float, float]]) -> None:
    frame = _spec_frame(specs)
    flagged = {seq: (rage, start) for seq, rage, start in _flags(frame)}
    assert flagged == _reference_rage(frame)


@settings(max_examples=200)
@given(specs=_click_specs, min_clicks=st.integers(0, 4), seed=st.integers(0, 2**32 - 1))
def test_rage_flags_of_rows_match_rage_flags(
    specs: list[tuple[str, str, str, int, float, float]], min_clicks: int, seed: int
) -> None:
    """Ingestion's plain-Python rule gives the frame version's flags, row for row, in any row order."""
    frame = _spec_frame(specs).sample(fraction=1.0, shuffle=True, seed=seed)
    rows = frame.select(*RAGE_INPUT_COLUMNS).rows()
    expected = rage.rage_flags(frame, min_clicks=min_clicks).select("rage", "rage_start").rows()
    assert rage.rage_flags_of_rows(rows, min_clicks=min_clicks) == expected


def test_rage_flags_of_rows_never_chain_a_click_without_coordinates() -> None:
    start = datetime(2026, 4, 1, 12)
    rows = [
        (seq, start + timedelta(milliseconds=100 * seq), "s", PAGE_A, "desktop", x, 5.0)
        for seq, x in enumerate([1.0, 2.0, None, 3.0, 4.0, 5.0])
    ]
    frame = pl.DataFrame(rows, schema=[*RAGE_INPUT_COLUMNS], orient="row")
    flags = rage.rage_flags_of_rows(rows)
    assert flags == rage.rage_flags(frame).select("rage", "rage_start").rows()
    assert flags == [(False, False)] * 3 + [(True, True), (True, False), (True, False)]


@settings(max_examples=100)
@given(specs=_click_specs, seed=st.integers(0, 2**32 - 1))
def test_rage_flags_do_not_depend_on_row_order_or_other_groups(
    specs: list[tuple[str, str, str, int, float, float]], seed: int
) -> None:
    frame = _spec_frame(specs)
    whole = rage.rage_flags(frame).sort("seq")
    shuffled = rage.rage_flags(frame.sample(fraction=1.0, shuffle=True, seed=seed)).sort("seq")
    assert_frame_equal(shuffled, whole)
    # Flags of each (session, page, breakpoint) alone equal its flags among all the others: no crossing.
    per_group = [rage.rage_flags(group) for _, group in frame.group_by(list(rage.GROUP))]
    if per_group:
        assert_frame_equal(pl.concat(per_group).sort("seq"), whole)


@settings(max_examples=100)
@given(specs=_click_specs)
def test_rage_events_at_most_one_per_three_clicks(
    specs: list[tuple[str, str, str, int, float, float]],
) -> None:
    flagged = rage.rage_flags(_spec_frame(specs))
    per_group = flagged.group_by(list(rage.GROUP)).agg(
        clicks=pl.len(), events=pl.col("rage_start").sum(), rage=pl.col("rage").sum()
    )
    for row in per_group.iter_rows(named=True):
        assert row["events"] <= row["clicks"] // 3
        assert row["rage"] >= 3 * row["events"]
    assert flagged.filter(pl.col("rage_start") & ~pl.col("rage")).height == 0


@settings(max_examples=100)
@given(
    points=st.lists(
        st.tuples(
            st.floats(0, 1e6, allow_nan=False), st.floats(0, 1e6, allow_nan=False), st.integers(1, 10**6)
        ),
        max_size=50,
    )
)
def test_click_bins_account_for_every_click(points: list[tuple[float, float, int]]) -> None:
    clicks = _frame(*(_click(x=x, y=y, document_width=w) for x, y, w in points))
    bins = metrics.click_bins(clicks).to_dicts()
    assert sum(b["clicks"] for b in bins) == len(points)
    assert all(0 <= b["bin_x"] <= 99 and b["bin_y"] >= 0 and b["clicks"] > 0 for b in bins)
    assert [(b["bin_y"], b["bin_x"]) for b in bins] == sorted({(b["bin_y"], b["bin_x"]) for b in bins})


@settings(max_examples=100)
@given(
    depths=st.lists(
        st.tuples(st.sampled_from(["s1", "s2", "s3", "s4"]), st.floats(0, 100, allow_nan=False)), max_size=30
    )
)
def test_scroll_reach_is_non_increasing(depths: list[tuple[str, float]]) -> None:
    reach = metrics.scroll_reach(_frame(*(_scroll(session=s, depth=d) for s, d in depths))).to_dicts()
    counts = [entry["sessions"] for entry in reach]
    assert [entry["bucket"] for entry in reach] == list(range(0, 101, 10))
    assert counts == sorted(counts, reverse=True)
    assert counts[0] == len({s for s, _ in depths})


@settings(max_examples=200)
@given(data=st.integers(0, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_issue_score_stays_in_range(data: tuple[int, int]) -> None:
    frustrated, total = data
    score = pl.select(metrics.issue_score(pl.lit(frustrated), pl.lit(total))).item()
    assert 0.0 <= score <= 100.0
    assert score == round(score, 1)


_event_specs = st.lists(
    st.tuples(
        st.sampled_from("abcdefghijkl"),  # session: often more than 5 with rage or dead clicks
        st.sampled_from(breakpoints.NAMES),
        st.sampled_from(["click", "scroll"]),
        st.integers(0, 5).map(lambda n: n * 1000),  # ts: ties are common
        st.booleans(),  # dead
        st.booleans(),  # rage_start
    ),
    max_size=60,
)


@settings(max_examples=100)
@given(specs=_event_specs)
def test_replays_match_a_plain_ranking(specs: list[tuple[str, str, str, int, bool, bool]]) -> None:
    events = _frame(
        *(
            _click(session=s, breakpoint=b, t_ms=t, dead=dead, rage=start, rage_start=start)
            if kind == "click"
            else _scroll(session=s, breakpoint=b, t_ms=t)
            for s, b, kind, t, dead, start in specs
        )
    )
    stats: dict[tuple[str, str], list[int]] = {}
    for s, b, kind, t, dead, start in specs:
        entry = stats.setdefault((b, s), [0, 0, 0, -1])
        is_click = kind == "click"
        entry[0] += is_click and start
        entry[1] += is_click and dead
        entry[2] += is_click
        entry[3] = max(entry[3], t)
    expected = []
    for breakpoint in breakpoints.NAMES:
        ranked = sorted(
            (s for b, s in stats if b == breakpoint),
            key=lambda s: (*(-v for v in stats[(breakpoint, s)]), s),
        )
        expected += [{"breakpoint": breakpoint, "url": _url(s)} for s in ranked[:5]]
    assert metrics.replays(events, template=TEMPLATE).to_dicts() == expected
