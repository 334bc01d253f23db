"""Clicks on fixed elements (CONTRACT 3.1, 15): in a summary where they were seen, or left out."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from data_layer.auth import secret_key
from data_layer.filters import Window
from data_layer.ingest import ingest_web_batch
from data_layer.page_ref import PageRef
from data_layer.replica import ReplicaStore
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from tests.factories import web_click


def test_fixed_clicks_are_kept_at_their_viewport_place_or_left_out(
    engine: Engine, settings: Settings
) -> None:
    ingest_web_batch(
        engine,
        settings,
        [
            web_click(x=640, y=20, fixed=True, dead=True, selector="header a"),  # a sticky header, top
            web_click(x=640, y=3000, sessionId="s2", selector="#buy"),
        ],
    )
    service = HeatmapService(ReplicaStore(engine), settings, secret_key(engine, settings.secret_key))
    page = PageRef("https://example.com/pricing", "desktop")
    window = Window(date(2026, 4, 1), date(2026, 4, 30))
    shown = service.page_summary(page, window)
    assert shown.click_bins.rows() == [(50, 1, 1), (50, 187, 1)]
    assert shown.dead_bins.height == 1
    hidden = service.page_summary(page, window, include_fixed=False)
    assert hidden.click_bins.rows() == [(50, 187, 1)]
    assert hidden.dead_bins.is_empty()
    assert (shown.replays.height, hidden.replays.height) == (2, 1)
    # The elements leave them out alike: shares are then of the clicks left.
    every = service.page_elements(page, window)
    assert every.select("selector", "clicks", "share").rows() == [("#buy", 1, 0.5), ("header a", 1, 0.5)]
    unfixed = service.page_elements(page, window, include_fixed=False)
    assert unfixed.select("selector", "clicks", "share").rows() == [("#buy", 1, 1.0)]
