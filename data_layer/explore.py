"""Read queries only the dashboard needs: filter choices, data bounds, one session's events, hotspots.

Nothing here computes a metric of its own: counts shown to users come from :mod:`data_layer.service`;
these helpers feed pickers, page geometry and drill-downs, reusing :mod:`data_layer.metrics` for bins,
session ranking and replay links so a hotspot's sessions agree with the summary's bins and replays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import Engine, select

from data_layer import metrics, segments
from data_layer.filters import WebFilters, Window
from data_layer.page_reads import Spot, SpotLayer
from data_layer.schema import screenshots
from data_layer.store import EventStore

HOTSPOT_SESSION_LIMIT = 50
DIMENSION_COLUMNS = ("country", "region", "browser")


@dataclass(frozen=True)
class DayRange:
    """First and last UTC day holding events (both inclusive)."""

    first: date
    last: date


def web_day_range(store: EventStore) -> DayRange | None:
    """Days spanned by the stored web events; None when there are none (an index look-up each end)."""
    found = store.day_range("web")
    return None if found is None else DayRange(*found)


def touch_day_range(store: EventStore) -> DayRange | None:
    """Days spanned by the stored mobile touch events; None when there are none."""
    found = store.day_range("touch")
    return None if found is None else DayRange(*found)


def has_any_events(store: EventStore) -> bool:
    """Whether any web or touch event is stored (the dashboard's empty state depends on it)."""
    return web_day_range(store) is not None or touch_day_range(store) is not None


def dimension_values(store: EventStore, days: DayRange) -> pl.DataFrame:
    """Distinct (country, region, browser) combinations over ``days``, as Strings, sorted, nulls kept.

    The store makes them unique (``EventStore.distinct_values``) before they become strings: the
    replica while they are still categorical codes, SQL and ClickHouse in the query, so the strings are
    built once per distinct value rather than once per event.
    """
    frame = store.distinct_values(days.first, days.last, DIMENSION_COLUMNS)
    return (
        frame.lazy()
        .select(pl.col(name).cast(pl.String) for name in DIMENSION_COLUMNS)
        .sort(list(DIMENSION_COLUMNS), nulls_last=True)
        .collect()
    )


def segment_values(store: EventStore, days: DayRange) -> pl.DataFrame:
    """The distinct segments over ``days``: one row per distinct segment key, a column per part of
    :data:`segments.SEGMENT_COLUMNS` (String, null when the session had none), in no particular order.

    As :func:`dimension_values`, read as the one ``segment`` column made unique by the store: a data set
    holds few keys (one per landing and tag set).
    """
    frame = store.distinct_values(days.first, days.last, ("segment",))
    return segments.split_keys(frame.get_column("segment"))


def hotspot_sessions(
    store: EventStore,
    *,
    page_keys: Sequence[str],
    breakpoint: str,
    window: Window,
    filters: WebFilters,
    bins: list[tuple[int, int]],
    layer: SpotLayer,
    replay_template: str,
    limit: int = HOTSPOT_SESSION_LIMIT,
    include_fixed: bool = True,
) -> pl.DataFrame:
    """Sessions whose clicks on ``page_keys`` (one page, or a group's pages together, each click binned
    by its own page's width as the summary bins it) fall in the given ``(binX, binY)`` bins, best replay
    candidates first (``EventStore.spot_sessions``), with their replay links (:func:`_linked`).

    ``layer`` picks the sessions: those with a click, a dead click, or the first click of a rage event
    (where the summary places a rage event) in the bins. Their counts are of every click in the bins, so
    a spot's ``clicks`` add up to what its hover says, whichever layer is shown.
    """
    spot = Spot(layer, bins=tuple(bins))
    found = store.spot_sessions(
        page_keys, window, filters, breakpoint, spot, limit, include_fixed=include_fixed
    )
    return _linked(found, replay_template)


def element_sessions(
    store: EventStore,
    *,
    page_keys: Sequence[str],
    breakpoint: str,
    window: Window,
    filters: WebFilters,
    selector: str,
    replay_template: str,
    limit: int = HOTSPOT_SESSION_LIMIT,
    include_fixed: bool = True,
) -> pl.DataFrame:
    """Sessions that clicked the element ``selector`` on ``page_keys`` at ``breakpoint``, shaped and
    ranked as :func:`hotspot_sessions`; rage events count at their first click's selector, as the
    elements list counts them (CONTRACT 15)."""
    spot = Spot("clicks", selector=selector)
    found = store.spot_sessions(
        page_keys, window, filters, breakpoint, spot, limit, include_fixed=include_fixed
    )
    return _linked(found, replay_template)


def _linked(found: pl.DataFrame, replay_template: str) -> pl.DataFrame:
    """``EventStore.spot_sessions`` rows with their ``replay_url`` in place of the first day: columns
    ``session_id``, ``visitor_id``, ``clicks``, ``dead_clicks``, ``rage_events``, ``last_ts``,
    ``first_ts``, ``replay_url``."""
    return found.with_columns(replay_url=metrics.replay_urls(found, replay_template)).drop("first_day")


def session_events(
    store: EventStore, session_id: str, day: date, visitor_id: str | None = None
) -> pl.DataFrame:
    """One session's web events from ``day`` to the next day (a visit may cross midnight), by time
    (:meth:`data_layer.store.EventStore.session_events`)."""
    return store.session_events(session_id, day, visitor_id)


def touch_screens(store: EventStore, engine: Engine) -> list[str]:
    """Every mobile screen with touch events or a mobile screenshot (in ``engine``'s database): most
    touches first, then by name."""
    counts = store.touch_screen_counts()
    with engine.connect() as conn:
        shot_names = conn.scalars(
            select(screenshots.c.screen_name)
            .where(screenshots.c.kind == "mobile", screenshots.c.screen_name.is_not(None))
            .distinct()
        ).all()
    names = set(counts) | {str(name) for name in shot_names}
    return sorted(names, key=lambda name: (-counts.get(name, 0), name))


def touch_campaigns(store: EventStore, screen_name: str) -> list[str]:
    """Campaign ids seen on one screen, sorted (events without a campaign are not listed)."""
    return store.touch_campaigns(screen_name)
