"""QueryHeatmapData, the mobile HeatmapService's one query (CONTRACT 5)."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from data_layer import touch_metrics
from data_layer.errors import BadRequest
from data_layer.filters import TouchFilters, parse_day, parse_window
from data_layer.store import EventStore

TOUCH_EVENT_TYPES = ("TAP", "SCROLL", "ACTION_CLICK")
HEATMAP_MODES = ("ALL_USERS", "PER_USER")


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


def _optional_text(name: str, value: Any) -> str | None:
    """A proto3 string field: absent or "" is unset; anything but a string is an error, and so is NUL
    (stored text never holds it, and PostgreSQL cannot even compare with it)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    if "\x00" in value:
        raise BadRequest(f"{name} must not contain NUL characters (\\u0000)")
    return value


def query_touch_heatmap(store: EventStore, request: dict[str, Any]) -> dict[str, Any]:
    """QueryHeatmapData (CONTRACT 5) from a proto3-JSON request (camelCase or snake_case names)."""

    def field(camel: str, snake: str) -> Any:
        return request.get(camel, request.get(snake))

    screen_name = _optional_text("screen_name", field("screenName", "screen_name"))
    if screen_name is None:
        raise BadRequest("screen_name is required")
    mode = _enum_name("mode", field("mode", "mode"), HEATMAP_MODES, zero="HEATMAP_MODE_UNSPECIFIED")
    per_user = mode == "PER_USER"
    user_id = _optional_text("user_id", field("userId", "user_id"))
    if user_id is not None and not per_user:
        raise BadRequest("user_id is only allowed with mode PER_USER")
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
    if from_day is not None and to_day is not None:
        parse_window(from_day.isoformat(), to_day.isoformat())
    campaign = _optional_text("campaign_id", field("campaignId", "campaign_id"))
    events = store.touch_events(
        TouchFilters(
            screen_name=screen_name,
            campaign_id=campaign,
            event_types=tuple(sorted(set(event_types))),
            from_day=from_day,
            to_day=to_day,
        )
    )
    mine = events.filter(pl.col("user_id") == user_id) if user_id is not None else events
    return {
        "dataPoints": touch_metrics.heatmap_points(mine, per_user=per_user),
        "userTouchCounts": touch_metrics.user_touch_counts(events) if per_user else [],
    }
