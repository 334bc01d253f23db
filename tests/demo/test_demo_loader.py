"""`heatmaps demo` loads a realistic site through the ingestion path, idempotently."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from data_layer.filters import WebFilters, Window
from data_layer.page_groups import saved_groups
from data_layer.replica import ReplicaStore
from data_layer.schema import screenshots, touch_events, web_events
from data_layer.service import HeatmapService
from demo_site.loader import load_demo

pytestmark = pytest.mark.slow  # loads the demo site into both databases

END = datetime(2026, 11, 1, tzinfo=UTC)


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(
            conn.scalar(select(func.count()).select_from(t)) for t in (web_events, touch_events, screenshots)
        )


def test_demo_loads_once_and_is_idempotent(engine, settings) -> None:
    first = load_demo(engine, settings, events=3000, days=7, seed=11, end=END)
    assert "3000 web events stored (0 already present)" in first
    web, touches, shots = counts(engine)
    assert (web, touches) == (3000, 300)
    assert shots > 0
    second = load_demo(engine, settings, events=3000, days=7, seed=11, end=END)
    assert "0 web events stored (3000 already present)" in second and "0 screenshots added" in second
    assert "3 page groups saved" in first and "0 page groups saved" in second
    assert counts(engine) == (web, touches, shots)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(web_events).where(web_events.c.rage)) > 0
        assert conn.scalar(select(func.count()).select_from(web_events).where(web_events.c.dead)) > 0


def test_the_demo_has_segments_and_saved_groups_with_clicks(engine, settings) -> None:
    """A new user finds campaigns, referrers, a variant tag and page groups with data to look at."""
    load_demo(engine, settings, events=3000, days=7, seed=11, end=END, record=False)
    service = HeatmapService(ReplicaStore(engine), settings, "secret")
    window = Window(date(2026, 10, 25), date(2026, 10, 31))
    groups = service.group_list(saved_groups(engine), window)
    assert set(groups["name"]) == {"Product pages", "Categories", "Journal"}
    assert (groups["total_clicks"] > 0).all() and (groups["pages"] > 1).all()
    everything = service.ranked_pages(window, WebFilters(), None, "CLICKS", True)["total_clicks"].sum()
    for segment in (WebFilters(utm_source="google"), WebFilters(tags=(("variant", "B"),))):
        clicks = service.ranked_pages(window, segment, None, "CLICKS", True)["total_clicks"].sum()
        assert 0 < clicks < everything
