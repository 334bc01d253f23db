"""data_layer.scroll_only: pages with scroll data but no click in the window, for the Pages view.

Hand-computed expectations: on a frame (the pure logic) and through both stores (SQL and the replica)
over ingested events, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine

from data_layer.filters import WebFilters, Window
from data_layer.ingest import ingest_web_batch
from data_layer.replica import ReplicaStore
from data_layer.scroll_only import pages_without_clicks, scroll_only_pages
from data_layer.settings import Settings
from data_layer.store import EventStore, SqlStore
from tests.factories import web_click, web_scroll

SCHEMA = {"page_key": pl.String, "scroll_sessions": pl.Int64, "breakpoint": pl.String}


def events(*rows: tuple[str, str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["event_type", "page_key", "breakpoint", "session_id"], orient="row")


EVENTS = events(
    # /shop: clicked, so listed by the pages list, not here.
    ("scroll", "/shop", "desktop", "s1"),
    ("click", "/shop", "desktop", "s1"),
    # /blog: 3 sessions (s1 scrolled twice), most of them on mobile.
    ("scroll", "/blog", "desktop", "s1"),
    ("scroll", "/blog", "desktop", "s1"),
    ("scroll", "/blog", "mobile", "s2"),
    ("scroll", "/blog", "mobile", "s3"),
    # /terms: 1 session on desktop, 1 on tablet: a tie goes to the wider breakpoint.
    ("scroll", "/terms", "tablet", "s4"),
    ("scroll", "/terms", "desktop", "s5"),
    # /faq: one session, its window resized from mobile to tablet: counted once, tablet wins the tie.
    ("scroll", "/faq", "mobile", "s6"),
    ("scroll", "/faq", "tablet", "s6"),
)
EXPECTED = pl.DataFrame(
    {
        "page_key": ["/blog", "/terms", "/faq"],
        "scroll_sessions": [3, 2, 1],
        "breakpoint": ["mobile", "desktop", "tablet"],
    },
    schema=SCHEMA,
)


def test_pages_without_clicks_count_their_scroll_sessions() -> None:
    assert_frame_equal(pages_without_clicks(EVENTS).collect(), EXPECTED)


def test_the_replica_categoricals_give_the_same_pages() -> None:
    categorical = EVENTS.with_columns(pl.all().cast(pl.Categorical))
    assert_frame_equal(pages_without_clicks(categorical).collect(), EXPECTED)


def test_no_events_no_pages() -> None:
    assert_frame_equal(pages_without_clicks(events()).collect(), pl.DataFrame(schema=SCHEMA))


BLOG, TERMS, ABOUT, PRICING = (
    f"https://example.com/{path}" for path in ("blog/post", "terms", "about", "pricing")
)
WINDOW = Window(date(2026, 4, 10), date(2026, 4, 11))


@pytest.fixture(params=["sql", "replica"])
def store(request: pytest.FixtureRequest, engine: Engine, settings: Settings) -> EventStore:
    """Pricing is clicked; the blog post is read by a desktop and a phone visitor; the terms by a
    visitor from Germany; the about page is clicked only after the window."""
    mobile = {"viewportWidth": 390, "documentWidth": 390}
    stored = [
        web_scroll(url=PRICING),
        web_click(url=PRICING),
        web_scroll(url=BLOG, sessionId="s1", depth=30),
        web_scroll(url=BLOG, sessionId="s1", depth=60),
        web_scroll(url=BLOG, sessionId="s2", visitorId="v2", **mobile),
        web_scroll(url=TERMS, sessionId="s3", visitorId="v3", country="DE"),
        web_scroll(url=ABOUT, sessionId="s4", visitorId="v4", timestamp="2026-04-11T08:00:00Z"),
        web_click(url=ABOUT, sessionId="s4", visitorId="v4", timestamp="2026-04-12T08:00:00Z"),
    ]
    ingest_web_batch(engine, settings, stored)
    return SqlStore(engine) if request.param == "sql" else ReplicaStore(engine)


def test_scroll_only_pages_of_a_window_and_filters(store: EventStore) -> None:
    expected = pl.DataFrame(
        {
            "page_key": [BLOG, ABOUT, TERMS],
            "scroll_sessions": [2, 1, 1],
            "breakpoint": ["desktop", "desktop", "desktop"],
        },
        schema=SCHEMA,
    )
    assert_frame_equal(scroll_only_pages(store, WINDOW, WebFilters()), expected)
    # The about page's click on the 12th counts once the window holds it.
    wider = Window(WINDOW.from_day, date(2026, 4, 12))
    assert scroll_only_pages(store, wider, WebFilters())["page_key"].to_list() == [BLOG, TERMS]
    assert scroll_only_pages(store, WINDOW, WebFilters(country="de"))["page_key"].to_list() == [TERMS]
    assert scroll_only_pages(store, WINDOW, WebFilters(), "BLOG/")["page_key"].to_list() == [BLOG]
