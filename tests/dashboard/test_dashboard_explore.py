"""data_layer.explore, the dashboard's own read queries, on SQLite and PostgreSQL with hand-built events.

Geometry used below (document 1280 px wide): x=100 -> binX floor(100 * 100 / 1280) = 7, x=95 -> 7,
x=600 -> 46; y=200 -> binY floor(200 / 16) = 12, y=195 -> 12, y=600 -> 37.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import polars as pl
import pytest
from PIL import Image
from sqlalchemy import Engine

from data_layer import explore, segments
from data_layer.filters import WebFilters, Window
from data_layer.ingest import ingest_touch_batch, ingest_web_batch
from data_layer.page_reads import PageGeometry, SpotLayer
from data_layer.replica import ReplicaStore
from data_layer.screenshots import save_screenshot
from data_layer.settings import Settings
from data_layer.store import SqlStore
from tests.factories import touch, web_click, web_scroll

DAY = date(2026, 4, 10)
WINDOW = Window(DAY, DAY)
TEMPLATE = "http://127.0.0.1:8501/session?sessionId={sessionId}&visitorId={visitorId}&date={date}"


@pytest.fixture
def site(engine: Engine, settings: Settings) -> SqlStore:
    """A rage-clicks (3 fast clicks) at bin (7, 12); B dead-clicks the same bin; C clicks elsewhere."""
    c_click = {"sessionId": "C", "visitorId": "vC", "timestamp": "2026-04-10T12:00:00Z"}
    events = [
        web_click(sessionId="A", visitorId="vA", timestamp="2026-04-10T10:00:00.000Z", x=100, y=200),
        web_click(sessionId="A", visitorId="vA", timestamp="2026-04-10T10:00:00.200Z", x=101, y=201),
        web_click(sessionId="A", visitorId="vA", timestamp="2026-04-10T10:00:00.400Z", x=102, y=202),
        web_click(
            sessionId="B", visitorId="vB", timestamp="2026-04-10T11:00:00Z", x=95, y=195, dead=True,
            selector="div.card", country="DE", region="BE", browserName="Firefox",
        ),
        web_click(**c_click, x=600, y=600, country="US"),
        web_scroll(**{**c_click, "timestamp": "2026-04-10T12:00:05Z"}, depth=80, viewportHeight=900),
        web_click(
            sessionId="A", visitorId="vA", timestamp="2026-04-11T00:10:00Z", x=10, y=10,
            url="https://example.com/next", documentWidth=1000, documentHeight=3000,
        ),
        web_click(sessionId="A", visitorId="vA", timestamp="2026-04-13T09:00:00Z", x=10, y=10),
    ]  # fmt: skip
    ingest_web_batch(engine, settings, events)
    return SqlStore(engine)


def test_hotspot_sessions_rank_like_replays_and_link_to_them(site: SqlStore) -> None:
    sessions = explore.hotspot_sessions(
        site,
        page_keys=["https://example.com/pricing"],
        breakpoint="desktop",
        window=WINDOW,
        filters=WebFilters(),
        bins=[(7, 12)],
        layer="clicks",
        replay_template=TEMPLATE,
    )
    expected = pl.DataFrame(
        {
            "session_id": ["A", "B"],
            "visitor_id": ["vA", "vB"],
            "clicks": [3, 1],
            "dead_clicks": [0, 1],
            "rage_events": [1, 0],
            "last_ts": [datetime(2026, 4, 10, 10, 0, 0, 400_000), datetime(2026, 4, 10, 11, 0, 0)],
            "first_ts": [datetime(2026, 4, 10, 10, 0, 0), datetime(2026, 4, 10, 11, 0, 0)],
            "replay_url": [
                "http://127.0.0.1:8501/session?sessionId=A&visitorId=vA&date=2026-04-10",
                "http://127.0.0.1:8501/session?sessionId=B&visitorId=vB&date=2026-04-10",
            ],
        },
        schema_overrides={"last_ts": pl.Datetime("us"), "first_ts": pl.Datetime("us")},
    )
    assert sessions.to_dicts() == expected.to_dicts()


@pytest.mark.parametrize(("layer", "sessions"), [("dead", ["B"]), ("rage", ["A"]), ("clicks", ["A", "B"])])
def test_hotspot_layers_count_their_own_clicks(site: SqlStore, layer: SpotLayer, sessions: list[str]) -> None:
    found = explore.hotspot_sessions(
        site, page_keys=["https://example.com/pricing"], breakpoint="desktop", window=WINDOW,
        filters=WebFilters(), bins=[(7, 12)], layer=layer,
        replay_template=TEMPLATE,
    )  # fmt: skip
    assert found["session_id"].to_list() == sessions


def test_hotspot_sessions_honour_filters_and_other_bins(site: SqlStore) -> None:
    found = explore.hotspot_sessions(
        site, page_keys=["https://example.com/pricing"], breakpoint="desktop", window=WINDOW,
        filters=WebFilters(country="de"), bins=[(7, 12), (46, 37)], layer="clicks", replay_template=TEMPLATE,
    )  # fmt: skip
    assert found["session_id"].to_list() == ["B"]
    nobody = explore.hotspot_sessions(
        site, page_keys=["https://example.com/pricing"], breakpoint="mobile", window=WINDOW,
        filters=WebFilters(), bins=[(7, 12)], layer="clicks", replay_template=TEMPLATE,
    )  # fmt: skip
    assert nobody.is_empty()


def test_session_events_cover_the_day_and_the_next_in_time_order(site: SqlStore, engine: Engine) -> None:
    events = explore.session_events(SqlStore(engine), "A", DAY)
    assert events.select("page_key", "x").rows() == [
        ("https://example.com/pricing", 100.0),
        ("https://example.com/pricing", 101.0),
        ("https://example.com/pricing", 102.0),
        ("https://example.com/next", 10.0),
    ]  # 2026-04-13 is outside the day and the next
    assert events["rage"].to_list() == [True, True, True, False]
    assert explore.session_events(SqlStore(engine), "A", DAY, visitor_id="someone-else").is_empty()
    assert explore.session_events(SqlStore(engine), "nobody", DAY).is_empty()


def test_page_geometry_is_the_median_of_the_visits(site: SqlStore) -> None:
    geometry = site.page_geometry(["https://example.com/pricing"], WINDOW, WebFilters(), "desktop")
    assert geometry == PageGeometry(document_width=1280, document_height=4000, viewport_height=800)
    missing = site.page_geometry(["https://example.com/pricing"], WINDOW, WebFilters(), "tablet")
    assert missing == PageGeometry(None, None, None)


def test_day_ranges_and_dimension_values(site: SqlStore, engine: Engine) -> None:
    assert explore.web_day_range(SqlStore(engine)) == explore.DayRange(date(2026, 4, 10), date(2026, 4, 13))
    assert explore.touch_day_range(SqlStore(engine)) is None
    assert explore.has_any_events(SqlStore(engine))
    dims = explore.dimension_values(site, explore.DayRange(date(2026, 4, 10), date(2026, 4, 13)))
    assert dims.rows() == [("DE", "BE", "Firefox"), ("US", None, None), (None, None, None)]


def test_empty_database_has_no_ranges(engine: Engine) -> None:
    assert explore.web_day_range(SqlStore(engine)) is None
    assert not explore.has_any_events(SqlStore(engine))
    assert explore.touch_screens(SqlStore(engine), engine) == []


def test_touch_screens_busiest_first_and_campaigns(engine: Engine, settings: Settings) -> None:
    ingest_touch_batch(
        engine,
        [
            touch(screenName="cart", campaignId="spring"),
            touch(screenName="cart", campaignId="autumn"),
            touch(screenName="cart"),
            touch(screenName="home_feed"),
        ],
        "u1",
    )
    png = io.BytesIO()
    Image.new("RGB", (4, 8)).save(png, "PNG")
    save_screenshot(engine, settings.screenshot_dir, png.getvalue(), kind="mobile", screen_name="about")
    assert explore.touch_screens(SqlStore(engine), engine) == ["cart", "home_feed", "about"]
    assert explore.touch_campaigns(SqlStore(engine), "cart") == ["autumn", "spring"]
    assert explore.touch_campaigns(SqlStore(engine), "home_feed") == []
    assert explore.touch_day_range(SqlStore(engine)) == explore.DayRange(DAY, DAY)


def test_hotspot_sessions_of_a_group_add_up_its_pages(site: SqlStore) -> None:
    """/next's click (x=10 of 1000 px, y=10) is bin (1, 0) of its own width; A's pricing clicks (7, 12)."""
    pages = ["https://example.com/next", "https://example.com/pricing"]
    both_days = Window(DAY, date(2026, 4, 11))
    found = explore.hotspot_sessions(
        site, page_keys=pages, breakpoint="desktop", window=both_days, filters=WebFilters(),
        bins=[(7, 12), (1, 0)], layer="clicks", replay_template=TEMPLATE,
    )  # fmt: skip
    assert found.select("session_id", "clicks", "dead_clicks", "rage_events").rows() == [
        ("A", 4, 0, 1),
        ("B", 1, 1, 0),
    ]
    one_page = explore.hotspot_sessions(
        site, page_keys=pages[:1], breakpoint="desktop", window=both_days, filters=WebFilters(),
        bins=[(7, 12), (1, 0)], layer="clicks", replay_template=TEMPLATE,
    )  # fmt: skip
    assert one_page.select("session_id", "clicks").rows() == [("A", 1)]


def test_page_geometry_of_several_pages_is_the_median_of_all_their_visits(
    engine: Engine, settings: Settings
) -> None:
    ingest_web_batch(
        engine,
        settings,
        [
            web_click(url="https://example.com/a", documentWidth=1000, documentHeight=2000),
            web_click(url="https://example.com/a", documentWidth=1000, documentHeight=2000, x=5),
            web_click(
                url="https://example.com/b", documentWidth=1400, documentHeight=3000, viewportHeight=700
            ),
        ],
    )
    store = SqlStore(engine)
    both = store.page_geometry(
        ["https://example.com/a", "https://example.com/b"], WINDOW, WebFilters(), "desktop"
    )
    assert both == PageGeometry(document_width=1000, document_height=2000, viewport_height=800)
    only_b = store.page_geometry(["https://example.com/b"], WINDOW, WebFilters(), "desktop")
    assert only_b == PageGeometry(document_width=1400, document_height=3000, viewport_height=700)


@pytest.mark.parametrize("replica", [False, True], ids=["sql", "replica"])
def test_segment_values_are_the_distinct_segments_split_into_their_parts(
    engine: Engine, settings: Settings, replica: bool
) -> None:
    campaign = {"utmSource": "news", "utmMedium": "email", "utmCampaign": "spring"}
    ingest_web_batch(
        engine,
        settings,
        [
            web_click(sessionId="s1", **campaign, referrerHost="Mail.Example", tags={"variant": "B"}),
            web_click(sessionId="s1", **campaign, referrerHost="Mail.Example", tags={"variant": "B"}, x=5),
            web_click(sessionId="s2", visitorId="v2", timestamp="2026-04-10T13:00:00Z"),
            web_click(sessionId="s3", timestamp="2026-04-10T14:00:00Z", tags={"plan": "pro", "variant": "A"}),
        ],
    )
    store = ReplicaStore(engine) if replica else SqlStore(engine)
    values = explore.segment_values(store, explore.DayRange(DAY, DAY))
    assert values.sort("visitor_type", "utm_source", nulls_last=True).rows() == [
        ("new", "news", "email", "spring", "mail.example", '{"variant":"B"}'),
        ("new", None, None, None, None, None),
        ("returning", None, None, None, None, '{"plan":"pro","variant":"A"}'),
    ]
    assert values.columns == list(segments.SEGMENT_COLUMNS)


def test_a_rage_or_dead_spot_lists_every_click_of_its_sessions_there(site: SqlStore) -> None:
    """The rage layer's hover over (7, 12) says 1 rage event and 4 clicks in the spot: A's three clicks
    and B's dead one. A's row counts its 3 clicks there, not the run's first click alone."""
    spot = {
        "page_keys": ["https://example.com/pricing"], "breakpoint": "desktop", "window": WINDOW,
        "filters": WebFilters(), "bins": [(7, 12)], "replay_template": TEMPLATE,
    }  # fmt: skip
    rage = explore.hotspot_sessions(site, layer="rage", **spot)
    assert rage.select("session_id", "clicks", "dead_clicks", "rage_events").rows() == [("A", 3, 0, 1)]
    assert rage["first_ts"].to_list() == [datetime(2026, 4, 10, 10, 0, 0)]
    dead = explore.hotspot_sessions(site, layer="dead", **spot)
    assert dead.select("session_id", "clicks", "dead_clicks", "rage_events").rows() == [("B", 1, 1, 0)]


@pytest.mark.parametrize("replica", [False, True], ids=["sql", "replica"])
def test_element_sessions_are_those_that_clicked_the_selector(
    engine: Engine, settings: Settings, replica: bool
) -> None:
    """s1 rage-clicks #buy (its run starts there, the third click lands on #buy span); s2 clicks #buy
    once, s3 clicks elsewhere; a fixed click on #buy by s4 is left out when fixed clicks are hidden."""
    at = "2026-04-10T10:00:00.{}Z"
    ingest_web_batch(
        engine,
        settings,
        [
            web_click(sessionId="s1", timestamp=at.format("000"), selector="#buy"),
            web_click(sessionId="s1", timestamp=at.format("200"), selector="#buy", x=101),
            web_click(sessionId="s1", timestamp=at.format("400"), selector="#buy span", x=102),
            web_click(sessionId="s2", timestamp="2026-04-10T11:00:00Z", selector="#buy", dead=True),
            web_click(sessionId="s3", timestamp="2026-04-10T12:00:00Z", selector="#other"),
            web_click(sessionId="s4", timestamp="2026-04-10T13:00:00Z", selector="#buy", fixed=True, y=10),
        ],
    )
    store = ReplicaStore(engine) if replica else SqlStore(engine)
    element = {
        "page_keys": ["https://example.com/pricing"], "breakpoint": "desktop", "window": WINDOW,
        "filters": WebFilters(), "selector": "#buy", "replay_template": TEMPLATE,
    }  # fmt: skip
    found = explore.element_sessions(store, **element)
    assert found.select("session_id", "clicks", "dead_clicks", "rage_events").rows() == [
        ("s1", 2, 0, 1),
        ("s2", 1, 1, 0),
        ("s4", 1, 0, 0),
    ]
    assert found["replay_url"][0] == f"{TEMPLATE[: TEMPLATE.index('{')]}s1&visitorId=v1&date=2026-04-10"
    unfixed = explore.element_sessions(store, include_fixed=False, **element)
    assert unfixed["session_id"].to_list() == ["s1", "s2"]
    assert explore.element_sessions(store, **{**element, "selector": "#nothing"}).is_empty()


@pytest.mark.parametrize("replica", [False, True], ids=["sql", "replica"])
def test_bin_top_elements_name_the_most_clicked_selector_of_each_spot(
    site: SqlStore, engine: Engine, replica: bool
) -> None:
    """(7, 12): A's 3 clicks without a selector and B's on div.card: div.card is named (a selector
    beats none); (46, 37): C's click without one."""
    store = ReplicaStore(engine) if replica else site
    top = store.page_cells(
        ["https://example.com/pricing"], WINDOW, WebFilters(), "desktop", include_fixed=True
    )
    assert top.rows() == [(7, 12, 4, "div.card"), (46, 37, 1, None)]
    assert store.page_cells(
        ["https://example.com/pricing"], WINDOW, WebFilters(), "mobile", include_fixed=True
    ).is_empty()
