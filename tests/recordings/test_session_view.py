"""The Session replay view under AppTest with a recorded session beside the demo data: the player with
its markers and start, the click path kept, the view without a recording, and what the URL may hold."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from dashboard import loaders
from dashboard.cartesian_chart import chart_key
from data_layer.auth import secret_key
from data_layer.ingest import ingest_web_batch
from data_layer.recordings import load_recording_head
from data_layer.replica import ReplicaStore
from data_layer.retention import forget_visitor
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from tests.dashboard.test_dashboard import PAGES, assert_clean, replay_query, run_page, texts
from tests.dashboard.test_dashboard import error_details as error_details  # autouse: exceptions in full
from tests.factories import web_click
from tests.recordings import recorded

SESSION_PAGE = PAGES[2]
LINK = {"sessionId": recorded.SESSION, "visitorId": recorded.VISITOR, "date": recorded.DAY}

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]


@pytest.fixture
def site(demo_site: Settings, engine: Engine) -> HeatmapService:
    """The demo site and one recorded session of two pages of its own."""
    recorded.store_recorded_session(engine, demo_site)
    return HeatmapService(ReplicaStore(engine), demo_site, secret_key(engine, demo_site.secret_key))


def player(at: AppTest) -> dict[str, Any] | None:
    """The recording player's data, None when the page shows none."""
    found = [item for item in at.get("bidi_component") if item.proto.component_name == "recording_player"]
    assert len(found) <= 1
    return json.loads(found[0].proto.json) if found else None


def test_a_recorded_session_plays_its_recording_beside_its_events(site: HeatmapService) -> None:
    at = run_page(SESSION_PAGE, LINK)
    assert_clean(at)
    data = player(at)
    assert data is not None
    assert data["js"] == "app/static/rrweb-player-2.1.7.min.js"
    assert data["css"] == "app/static/rrweb-player-2.1.7.min.css"
    assert len(data["chunks"]) == 2  # the recording's two chunks as stored, compressed
    assert data["sources"] == []  # HEATMAPS_REPLAY_RESOURCE_ORIGINS unset: nothing from the site
    # Markers: both pages' clicks, the rage event once (at its first click), the dead click.
    assert data["markers"] == [
        {"at": recorded.ms(recorded.PLAIN_CLICK_S), "kind": "click"},
        {"at": recorded.ms(recorded.RAGE_CLICKS_S[0]), "kind": "rage"},
        {"at": recorded.ms(recorded.DEAD_CLICK_S), "kind": "dead"},
        {"at": recorded.ms(recorded.CHECKOUT_CLICK_S), "kind": "click"},
    ]
    # The busiest page (the cart), 3 s before its first rage or dead click.
    assert at.selectbox(key="pageKey").value == recorded.PAGE
    assert data["start"] == recorded.ms(recorded.RAGE_CLICKS_S[0]) - 3000
    assert at.button_group(key="view").value == "Recording"
    assert not at.slider  # the click path waits behind its tab
    table = at.dataframe[0].value
    assert table["in_recording"].to_list() == [
        pytest.approx(s)
        for s in (recorded.PLAIN_CLICK_S, *recorded.RAGE_CLICKS_S, recorded.DEAD_CLICK_S, 16.0)
    ]
    shown = texts(at)
    assert "before this page's first rage or dead click" in shown
    assert "HEATMAPS_REPLAY_RESOURCE_ORIGINS" in shown


def test_the_click_path_stays_one_tab_away(site: HeatmapService) -> None:
    at = run_page(SESSION_PAGE, {**LINK, "view": "Click path"})
    assert_clean(at)
    assert player(at) is None
    step = at.slider[0]
    assert step.max == 6  # the cart page's five clicks and its scroll
    step.set_value(2).run()
    assert_clean(at)
    assert "**Step 2 of 6**" in texts(at)
    assert at.query_params["view"] == "Click path"


@pytest.mark.parametrize(
    ("at_param", "offset_s"),
    [
        (str(recorded.ms(recorded.DEAD_CLICK_S)), recorded.DEAD_CLICK_S),
        ((recorded.START.replace(tzinfo=None).isoformat() + ".5Z"), 0.5),
        ("2026-11-01T19:00:02+02:00", 2.0),
    ],
)
def test_a_link_s_time_starts_the_player_3_s_before_it(
    site: HeatmapService, at_param: str, offset_s: float
) -> None:
    at = run_page(SESSION_PAGE, {**LINK, "at": at_param})
    assert_clean(at)
    data = player(at)
    assert data is not None
    assert data["start"] == recorded.ms(offset_s) - 3000
    assert "before the linked moment" in texts(at)


def test_another_page_starts_at_its_own_first_click(site: HeatmapService) -> None:
    at = run_page(SESSION_PAGE, {**LINK, "pageKey": recorded.OTHER_PAGE})
    assert_clean(at)
    data = player(at)
    assert data is not None
    assert data["start"] == recorded.ms(recorded.CHECKOUT_CLICK_S) - 3000
    assert "before this page's first click" in texts(at)


def test_picking_another_page_forgets_the_link_s_time(site: HeatmapService) -> None:
    at = run_page(SESSION_PAGE, {**LINK, "at": str(recorded.ms(recorded.DEAD_CLICK_S))})
    at.selectbox(key="pageKey").select(recorded.OTHER_PAGE).run()
    assert_clean(at)
    assert "at" not in at.query_params
    data = player(at)
    assert data is not None
    assert data["start"] == recorded.ms(recorded.CHECKOUT_CLICK_S) - 3000


@pytest.mark.parametrize(
    "garbage",
    [
        {"at": "yesterday"},
        {"at": "9" * 30},
        {"at": "-1"},
        {"at": "<script>alert(1)</script>"},
        {"view": "Everything"},
        {"pageKey": "https://elsewhere.example.com/"},
        {"at": "", "view": "", "pageKey": ""},
    ],
)
def test_garbage_in_the_url_is_ignored(site: HeatmapService, garbage: dict[str, str]) -> None:
    at = run_page(SESSION_PAGE, {**LINK, **garbage})
    assert not at.exception, [item.value for item in at.exception]
    assert not at.error, [item.value for item in at.error]
    data = player(at)
    assert data is not None
    assert data["start"] == recorded.ms(recorded.RAGE_CLICKS_S[0]) - 3000  # as without it
    if garbage.get("at"):
        assert "Ignored the link's time: at must be" in texts(at)


def test_a_session_without_a_recording_keeps_the_click_path(
    site: HeatmapService, engine: Engine, demo_site: Settings
) -> None:
    unrecorded = {"sessionId": "unrecorded-1", "visitorId": "v-unrecorded", "url": recorded.PAGE}
    clicks = [web_click(**unrecorded, timestamp=recorded.at(s), x=100 + s, y=100) for s in (1, 5)]
    ingest_web_batch(engine, demo_site, clicks)
    at = run_page(SESSION_PAGE, {**LINK, "sessionId": "unrecorded-1", "visitorId": "v-unrecorded"})
    assert_clean(at)
    assert player(at) is None
    assert "view" not in [item.key for item in at.get("button_group")]
    assert at.slider[0].max == 2  # the click path, as before
    assert "No recording of this session" in texts(at)


def test_a_recording_of_another_visitor_is_not_shown(site: HeatmapService) -> None:
    at = run_page(SESSION_PAGE, {**LINK, "visitorId": "someone-else"})
    assert not at.exception
    assert player(at) is None


def test_a_recording_whose_events_are_on_another_day_plays_without_markers(site: HeatmapService) -> None:
    at = run_page(SESSION_PAGE, {**LINK, "date": "2026-10-01"})
    assert not at.exception
    data = player(at)
    assert data is not None
    assert data["markers"] == []
    assert data["start"] is None
    assert "the recording plays without markers" in texts(at)


def hotspot_links(at: AppTest, x: float, y: float) -> list[str]:
    """The replay links of the sessions behind the hotspot at page position (x, y)."""
    spec = json.loads(at.get("bidi_component")[0].proto.json)["spec"]
    at.session_state[chart_key("heatmap_chart", spec)] = {"selection": [{"x": x, "y": y}]}
    at.run()
    assert_clean(at)
    return at.dataframe[0].value["replay_url"].to_list()


@pytest.mark.parametrize(
    ("spot", "click_s"),
    [((640, 420), recorded.RAGE_CLICKS_S[0]), ((900, 700), recorded.DEAD_CLICK_S)],
    ids=["the rage event's spot", "the dead click's spot"],
)
def test_a_hotspot_s_sessions_open_the_player_before_their_click_there(
    site: HeatmapService, spot: tuple[int, int], click_s: float
) -> None:
    """Only the recorded session clicked either spot. The dead click's (at 14 s) is not where the view
    would start without the link (5 s: 3 s before the page's first rage click), so the start is the
    hotspot's own click."""
    at = run_page(PAGES[1], {"page": recorded.PAGE})
    assert_clean(at)
    (link,) = hotspot_links(at, *spot)
    query = replay_query(link)
    assert query == {**LINK, "pageKey": recorded.PAGE, "at": str(recorded.ms(click_s))}
    session = run_page(SESSION_PAGE, query)
    assert_clean(session)
    data = player(session)
    assert data is not None
    assert data["start"] == recorded.ms(click_s) - 3000
    assert "before the linked moment" in texts(session)


def test_summary_replay_links_open_the_session_on_the_page(site: HeatmapService) -> None:
    at = run_page(PAGES[1], {"page": recorded.PAGE})
    urls = [button.proto.url for button in at.get("link_button")]
    assert urls == [
        f"http://127.0.0.1:8501/session?{urlencode({**LINK, 'pageKey': recorded.PAGE}, quote_via=quote)}"
    ]
    session = run_page(SESSION_PAGE, replay_query(urls[0]))
    data = player(session)
    assert data is not None
    assert data["start"] == recorded.ms(recorded.RAGE_CLICKS_S[0]) - 3000  # the page's first rage click


def test_without_a_session_the_page_lists_recorded_ones(site: HeatmapService) -> None:
    at = run_page(SESSION_PAGE)
    assert_clean(at)
    assert "Recorded sessions" in [header.value for header in at.subheader]
    listed = at.dataframe[0].value
    ours = listed[listed["page_key"] == recorded.PAGE]
    assert ours[["page_count", "clicks", "rage_events", "dead_clicks"]].values.tolist() == [[2, 6, 1, 1]]
    assert replay_query(ours["replay_url"].iloc[0]) == LINK
    assert listed["start"].is_monotonic_decreasing  # newest first


def test_a_forgotten_visitor_s_recording_is_gone_at_the_next_run(
    site: HeatmapService, engine: Engine, demo_site: Settings
) -> None:
    at = run_page(SESSION_PAGE, LINK)
    assert player(at) is not None
    forget_visitor(engine, recorded.VISITOR, demo_site)
    at.run()
    assert not at.exception
    assert player(at) is None


def test_a_recording_over_the_display_limit_plays_its_first_part(
    site: HeatmapService, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_chunk = load_recording_head(engine, recorded.SESSION, max_bytes=1)
    assert first_chunk is not None
    monkeypatch.setattr(loaders, "DISPLAY_LIMIT_BYTES", first_chunk.size)
    at = run_page(SESSION_PAGE, LINK)
    assert_clean(at)
    data = player(at)
    assert data is not None
    assert len(data["chunks"]) == 1  # the cart page's chunk; the checkout's is left out, and said so
    assert "the player shows its first" in texts(at)
    assert "`GET /rest/v1/sessions/{sessionId}/recording` returns all of it" in texts(at)
