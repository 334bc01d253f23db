"""QueryHeatmapData's typed boundary (CONTRACT 5): what a TouchQuery refuses, and the frames it answers."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from data_layer.errors import BadRequest
from data_layer.filters import TouchFilters
from data_layer.store import TOUCH_EVENT_SCHEMA
from data_layer.touch_metrics import touch_cells
from data_layer.touch_query import TouchQuery, query_touch_heatmap


class OneScreenStore:
    """The store's touch read over fixed events; remembers the filters it was asked for."""

    def __init__(self, rows: list[tuple[str, float, float]]) -> None:
        self.events = pl.DataFrame(rows, schema=TOUCH_EVENT_SCHEMA, orient="row")
        self.asked: list[TouchFilters] = []

    def touch_cells(self, filters: TouchFilters, *, by_user: bool) -> pl.DataFrame:
        self.asked.append(filters)
        return touch_cells(self.events, by_user=by_user)


def test_equal_questions_are_equal_cache_keys() -> None:
    first = TouchQuery.create("home", event_types=["TAP", "SCROLL", "TAP"], campaign_id="spring")
    second = TouchQuery.create("home", event_types=("SCROLL", "TAP"), campaign_id="spring")
    assert first == second
    assert hash(first) == hash(second)
    assert first.filters.event_types == ("SCROLL", "TAP")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"screen_name": ""}, "screen_name is required"),
        ({"screen_name": "ho\x00me"}, "screen_name must not contain NUL"),
        ({"campaign_id": "a\x00"}, "campaign_id must not contain NUL"),
        ({"per_user": True, "user_id": "\x00"}, "user_id must not contain NUL"),
        ({"user_id": "bob"}, "user_id is only allowed with mode PER_USER"),
        ({"event_types": ["SWIPE"]}, "event_types must be among TAP, SCROLL, ACTION_CLICK"),
        ({"from_day": date(2026, 4, 10), "to_day": date(2026, 4, 1)}, "must not be after"),
        ({"from_day": date(2026, 1, 1), "to_day": date(2026, 3, 2)}, "spans 61 days"),
    ],
)
def test_a_meaningless_query_cannot_be_built(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        TouchQuery.create(**{"screen_name": "home", **arguments})


def test_one_open_day_bound_and_a_full_window_are_allowed() -> None:
    TouchQuery.create("home", from_day=date(2026, 1, 1))
    TouchQuery.create("home", to_day=date(2026, 1, 1))
    TouchQuery.create("home", from_day=date(2026, 1, 1), to_day=date(2026, 3, 1))


def test_all_users_answers_points_and_no_user_counts() -> None:
    store = OneScreenStore([("u1", 0.0, 0.0), ("u2", 0.001, 0.002), ("u2", 1.0, 1.0)])
    heatmap = query_touch_heatmap(store, TouchQuery.create("home"))
    expected = pl.DataFrame({"x": [0.005, 0.995], "y": [0.005, 0.995], "count": [2, 1]})
    assert_frame_equal(heatmap.points, expected)
    assert_frame_equal(
        heatmap.user_counts, pl.DataFrame(schema={"user_id": pl.String, "touch_count": pl.Int64})
    )


def test_one_user_narrows_the_points_but_not_the_counts() -> None:
    store = OneScreenStore([("u1", 0.0, 0.0), ("u2", 0.5, 0.5), ("u2", 0.5, 0.5)])
    query = TouchQuery.create("home", per_user=True, user_id="u1")
    heatmap = query_touch_heatmap(store, query)
    assert_frame_equal(
        heatmap.points, pl.DataFrame({"x": [0.005], "y": [0.005], "count": [1], "user_id": ["u1"]})
    )
    assert_frame_equal(heatmap.user_counts, pl.DataFrame({"user_id": ["u2", "u1"], "touch_count": [2, 1]}))
    assert store.asked == [TouchFilters(screen_name="home")]
