"""Touch heatmap aggregation (CONTRACT 5, QueryHeatmapData); expected values worked out by hand."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from api import touch_json
from data_layer import touch_metrics
from data_layer.store import TOUCH_EVENT_SCHEMA


def heatmap_points(events: pl.DataFrame, *, per_user: bool) -> list[dict[str, Any]]:
    """The ``dataPoints`` the API answers for ``events``: the frame, then its proto3 JSON."""
    return touch_json.data_points(touch_metrics.heatmap_points(events, per_user=per_user))


def user_touch_counts(events: pl.DataFrame) -> list[dict[str, Any]]:
    """The ``userTouchCounts`` the API answers for ``events`` in PER_USER mode."""
    return touch_json.user_touch_counts(touch_metrics.user_touch_counts(events))


def _touches(points: list[tuple[str, float, float]]) -> pl.DataFrame:
    """A touch frame shaped like the store's, one row per (user_id, x, y)."""
    return pl.DataFrame(points, schema=TOUCH_EVENT_SCHEMA, orient="row")


def test_all_users_cells_ordered_by_y_then_x() -> None:
    events = _touches(
        [
            ("u1", 0.5, 0.0),  # cell (50, 0)
            ("u1", 0.0, 0.0),  # cell (0, 0)
            ("u2", 0.009, 0.004),  # cell (0, 0)
            ("u2", 1.0, 1.0),  # 1.0 -> min(100, 99) = cell (99, 99)
            ("u3", 0.295, 0.5),  # cell (29, 50)
            ("u3", 0.29, 0.5),  # 0.29 * 100 = 28.999999999999996 in binary, still cell 29
        ]
    )
    assert heatmap_points(events, per_user=False) == [
        {"x": 0.005, "y": 0.005, "count": 2},
        {"x": 0.505, "y": 0.005, "count": 1},
        {"x": 0.295, "y": 0.505, "count": 2},
        {"x": 0.995, "y": 0.995, "count": 1},
    ]


def test_decimal_cell_edges_fall_into_the_cell_they_name() -> None:
    # 0.57 * 100 = 56.99999999999999 and 0.58 * 100 = 57.99999999999999 in binary floating point.
    events = _touches([("u1", 0.57, 0.58), ("u1", 0.5699, 0.5799)])
    assert heatmap_points(events, per_user=False) == [
        {"x": 0.565, "y": 0.575, "count": 1},
        {"x": 0.575, "y": 0.585, "count": 1},
    ]


def test_per_user_grouped_by_user_in_touch_count_order() -> None:
    events = _touches(
        [
            ("bob", 0.1, 0.1),  # cell (10, 10)
            ("alice", 0.5, 0.5),  # cell (50, 50)
            ("carol", 1.0, 0.0),  # cell (99, 0), four times
            ("bob", 0.9, 0.05),  # cell (90, 5)
            ("alice", 0.2, 0.7),  # cell (20, 70)
            ("carol", 1.0, 0.0),
            ("bob", 0.1, 0.1),
            ("alice", 0.2, 0.705),  # cell (20, 70)
            ("carol", 1.0, 0.0),
            ("carol", 1.0, 0.0),
        ]
    )
    # carol 4 touches; alice and bob 3 each, tie broken by userId.
    assert user_touch_counts(events) == [
        {"userId": "carol", "touchCount": 4},
        {"userId": "alice", "touchCount": 3},
        {"userId": "bob", "touchCount": 3},
    ]
    assert heatmap_points(events, per_user=True) == [
        {"x": 0.995, "y": 0.005, "count": 4, "userId": "carol"},
        {"x": 0.505, "y": 0.505, "count": 1, "userId": "alice"},
        {"x": 0.205, "y": 0.705, "count": 2, "userId": "alice"},
        {"x": 0.905, "y": 0.055, "count": 1, "userId": "bob"},
        {"x": 0.105, "y": 0.105, "count": 2, "userId": "bob"},
    ]
    # The same touches without users merge the cells users share (none here) and reorder by y, x.
    assert heatmap_points(events, per_user=False) == [
        {"x": 0.995, "y": 0.005, "count": 4},
        {"x": 0.905, "y": 0.055, "count": 1},
        {"x": 0.105, "y": 0.105, "count": 2},
        {"x": 0.505, "y": 0.505, "count": 1},
        {"x": 0.205, "y": 0.705, "count": 2},
    ]


def test_per_user_cells_shared_by_users_stay_separate() -> None:
    events = _touches([("u2", 0.42, 0.42), ("u1", 0.42, 0.42), ("u2", 0.421, 0.429)])
    assert heatmap_points(events, per_user=True) == [
        {"x": 0.425, "y": 0.425, "count": 2, "userId": "u2"},
        {"x": 0.425, "y": 0.425, "count": 1, "userId": "u1"},
    ]
    assert heatmap_points(events, per_user=False) == [{"x": 0.425, "y": 0.425, "count": 3}]


def test_no_events() -> None:
    events = _touches([])
    assert heatmap_points(events, per_user=False) == []
    assert heatmap_points(events, per_user=True) == []
    assert user_touch_counts(events) == []


unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), unit, unit), max_size=60))
def test_counts_add_up_and_centres_are_on_the_grid(points: list[tuple[str, float, float]]) -> None:
    events = _touches(points)
    centres = {(i + 0.5) / 100 for i in range(100)}
    all_users = heatmap_points(events, per_user=False)
    per_user = heatmap_points(events, per_user=True)
    counts = user_touch_counts(events)
    assert sum(p["count"] for p in all_users) == len(points)
    assert all(p["x"] in centres and p["y"] in centres and p["count"] >= 1 for p in all_users + per_user)
    assert {c["userId"]: c["touchCount"] for c in counts} == {
        user: sum(p["count"] for p in per_user if p["userId"] == user) for user, _, _ in points
    }
    users_in_point_order = list(dict.fromkeys(p["userId"] for p in per_user))
    assert users_in_point_order == [c["userId"] for c in counts]
