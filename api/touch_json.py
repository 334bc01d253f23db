"""QueryHeatmapData's messages in the proto3 JSON mapping (CONTRACT 5): the request read into a
:class:`TouchQuery`, the :class:`TouchHeatmap` frames written as the response.

proto3 JSON names a field in lowerCamelCase or as in the .proto (snake_case), an enum by name or number,
and leaves a field at its zero value (0, "", null, absent) to mean unset. The meaning of the values is
checked by :class:`TouchQuery`, as for the dashboard.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from data_layer.errors import BadRequest
from data_layer.filters import parse_day
from data_layer.touch_query import HEATMAP_MODES, TOUCH_EVENT_TYPES, TouchHeatmap, TouchQuery


def _enum_name(field: str, value: Any, names: tuple[str, ...], *, zero: str | None = None) -> str | None:
    """A proto3 JSON enum (name or number) as its name; None for the zero value when ``zero`` allows."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value == 0:
            return None
        value = names[value - 1] if 0 < value <= len(names) else value
    if value is None or value == zero:
        return None
    if value not in names:
        raise BadRequest(f"{field} must be one of {', '.join(names)}, got {str(value)[:40]!r}")
    return str(value)


def _optional_day(name: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a UTC day as YYYY-MM-DD")
    return parse_day(name, value)


def _text(name: str, value: Any) -> str:
    """A proto3 string field; absent is its zero value, ""."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def request_query(request: dict[str, Any]) -> TouchQuery:
    """QueryHeatmapDataRequest (camelCase or snake_case names) as the query it asks."""

    def field(camel: str, snake: str) -> Any:
        return request.get(camel, request.get(snake))

    screen_name = _text("screen_name", field("screenName", "screen_name"))
    mode = _enum_name("mode", request.get("mode"), HEATMAP_MODES, zero="HEATMAP_MODE_UNSPECIFIED")
    user_id = _text("user_id", field("userId", "user_id"))
    raw_types = field("eventTypes", "event_types")
    if raw_types is None:
        raw_types = []
    if not isinstance(raw_types, list):
        raise BadRequest("event_types must be a list of TAP, SCROLL, ACTION_CLICK")
    event_types: list[str] = []
    for value in raw_types:
        name = _enum_name("event_types", value, TOUCH_EVENT_TYPES)
        if name is None:
            raise BadRequest("event_types must not contain TOUCH_EVENT_TYPE_UNSPECIFIED")
        event_types.append(name)
    from_day = _optional_day("from", field("from", "from_day"))
    to_day = _optional_day("to", field("to", "to_day"))
    campaign_id = _text("campaign_id", field("campaignId", "campaign_id"))
    return TouchQuery.create(
        screen_name,
        event_types=event_types,
        per_user=mode == "PER_USER",
        user_id=user_id or None,
        campaign_id=campaign_id or None,
        from_day=from_day,
        to_day=to_day,
    )


def data_points(points: pl.DataFrame) -> list[dict[str, Any]]:
    """``dataPoints``: the rows of :func:`touch_metrics.heatmap_points`, ``userId`` when it has users."""
    # Dict displays over column lists, not DataFrame.to_dicts(): a 40 k-cell PER_USER answer is built in
    # less than half the time.
    xs, ys, counts = (points[name].to_list() for name in ("x", "y", "count"))
    if "user_id" not in points.columns:
        return [{"x": x, "y": y, "count": n} for x, y, n in zip(xs, ys, counts, strict=True)]
    users = points["user_id"].to_list()
    return [
        {"x": x, "y": y, "count": n, "userId": user}
        for x, y, n, user in zip(xs, ys, counts, users, strict=True)
    ]


def user_touch_counts(counts: pl.DataFrame) -> list[dict[str, Any]]:
    """``userTouchCounts``: the rows of :func:`touch_metrics.user_touch_counts`."""
    return counts.select(
        pl.col("user_id").alias("userId"), pl.col("touch_count").alias("touchCount")
    ).to_dicts()


def response_message(heatmap: TouchHeatmap) -> dict[str, Any]:
    """QueryHeatmapDataResponse."""
    return {
        "dataPoints": data_points(heatmap.points),
        "userTouchCounts": user_touch_counts(heatmap.user_counts),
    }
