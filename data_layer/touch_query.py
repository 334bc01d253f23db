"""QueryHeatmapData, the mobile HeatmapService's one query (CONTRACT 5), in typed values.

A checked :class:`TouchQuery` in, :class:`TouchHeatmap` frames out: the Connect API and the dashboard's
Mobile page both ask it, and only the API speaks proto3 JSON (``api/connect.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from data_layer import touch_metrics
from data_layer.errors import BadRequest
from data_layer.filters import TouchFilters, checked_window
from data_layer.store import EventStore

TOUCH_EVENT_TYPES = ("TAP", "SCROLL", "ACTION_CLICK")
HEATMAP_MODES = ("ALL_USERS", "PER_USER")


@dataclass(frozen=True)
class TouchQuery:
    """One QueryHeatmapData question; building it checks it, so a query that exists is valid.

    ``filters.user_id`` narrows the data points to one user and needs ``per_user``; the user counts still
    cover every user matching the other filters, so the page can offer the others. Either day bound
    alone leaves the other side open; both together follow the 60-day window rule. Hashable, so the
    dashboard caches answers by it.
    """

    filters: TouchFilters
    per_user: bool = False

    def __post_init__(self) -> None:
        screen, user = self.filters.screen_name, self.filters.user_id
        if not screen:
            raise BadRequest("screen_name is required")
        # Stored text never holds NUL, and PostgreSQL cannot even compare with it.
        for name, value in (
            ("screen_name", screen),
            ("user_id", user),
            ("campaign_id", self.filters.campaign_id),
        ):
            if value is not None and "\x00" in value:
                raise BadRequest(f"{name} must not contain NUL characters (\\u0000)")
        if user is not None and not self.per_user:
            raise BadRequest("user_id is only allowed with mode PER_USER")
        unknown = set(self.filters.event_types) - set(TOUCH_EVENT_TYPES)
        if unknown:
            raise BadRequest(
                f"event_types must be among {', '.join(TOUCH_EVENT_TYPES)}, got {sorted(unknown)}"
            )
        if self.filters.from_day is not None and self.filters.to_day is not None:
            checked_window(self.filters.from_day, self.filters.to_day)

    @classmethod
    def create(
        cls,
        screen_name: str,
        *,
        event_types: Iterable[str] = (),
        per_user: bool = False,
        user_id: str | None = None,
        campaign_id: str | None = None,
        from_day: date | None = None,
        to_day: date | None = None,
    ) -> TouchQuery:
        """A query whose event types (none = all) are kept sorted and once each, so equal questions are
        equal keys."""
        filters = TouchFilters(
            screen_name=screen_name,
            campaign_id=campaign_id,
            event_types=tuple(sorted(set(event_types))),
            user_id=user_id,
            from_day=from_day,
            to_day=to_day,
        )
        return cls(filters, per_user=per_user)


@dataclass(frozen=True, eq=False)
class TouchHeatmap:
    """QueryHeatmapData's answer, in the contract's orders.

    ``points``: :func:`touch_metrics.heatmap_points` (``x``, ``y``, ``count``, and ``user_id`` when
    PER_USER). ``user_counts``: :func:`touch_metrics.user_touch_counts` (``user_id``, ``touch_count``);
    PER_USER only, empty otherwise.
    """

    points: pl.DataFrame
    user_counts: pl.DataFrame


def query_touch_heatmap(store: EventStore, query: TouchQuery) -> TouchHeatmap:
    """The touch grid of ``query``: one read of the cells (per user when the answer needs users), the
    user's points cut from it in memory."""
    user_id = query.filters.user_id
    by_user = query.per_user or user_id is not None
    cells = store.touch_cells(replace(query.filters, user_id=None), by_user=by_user)
    mine = cells.filter(pl.col("user_id") == user_id) if user_id is not None else cells
    counts = (
        touch_metrics.user_counts_from_cells(cells)
        if query.per_user
        else pl.DataFrame(schema=touch_metrics.USER_COUNT_SCHEMA)
    )
    return TouchHeatmap(touch_metrics.points_from_cells(mine, per_user=query.per_user), counts)
