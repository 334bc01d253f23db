"""The Streamlit dashboard under AppTest: every page on demo data and on an empty database, the URL
seeding the filters, filters kept across pages, the auth gate, uploads, and the numbers shown equal to the
service's for the same query. SQLite only: the dashboard reads through the same service on both backends.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from PIL import Image
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from dashboard.cartesian_chart import chart_key
from data_layer import bins, screenshots
from data_layer.auth import Permission, create_token, secret_key
from data_layer.filters import WebFilters, Window
from data_layer.page_ref import PageRef
from data_layer.replica import ReplicaStore
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from data_layer.touch_query import TouchQuery, query_touch_heatmap
from heatmaps_testing.loopback import REPO
from tests.conftest import DEMO_END

APP = str(REPO / "streamlit_app.py")
PAGES = (
    "app_pages/pages.py",
    "app_pages/heatmap.py",
    "app_pages/session.py",
    "app_pages/mobile.py",
    "app_pages/screenshots.py",
)
END = DEMO_END
WINDOW = Window(date(2026, 10, 3), date(2026, 11, 1))  # the default: 30 days ending at the newest day
TOKEN_KEY = "_heatmaps_token"

# The tests over the demo database are slow, as every test using `demo_site` (conftest); the pages on an
# empty database are the quick run's check of the dashboard.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def error_details() -> Iterator[None]:
    """Show exception messages inside tests (the committed config hides them from visitors)."""
    from streamlit import config

    before = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", "full")
    yield
    config.set_option("client.showErrorDetails", before)


@pytest.fixture
def demo(demo_site: Settings, engine: Engine) -> HeatmapService:
    """A small demo site (3,000 web events over the 10 days ending END) and the service over it."""
    return HeatmapService(ReplicaStore(engine), demo_site, secret_key(engine, demo_site.secret_key))


def run_page(
    page: str, query: dict[str, Any] | None = None, session: dict[str, Any] | None = None
) -> AppTest:
    """The app opened on ``page`` with ``query`` in the URL, as a first visit would."""
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update(query or {})
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    return at


def assert_clean(at: AppTest) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, [item.value for item in at.exception]
    assert not at.error, [item.value for item in at.error]


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def texts(at: AppTest) -> str:
    """Everything written as markdown, captions and alerts, for substring checks."""
    parts = [*at.markdown, *at.caption, *at.info, *at.warning, *at.success, *at.error]
    return "\n".join(str(part.value) for part in parts)


def replay_query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def busiest_page(service: HeatmapService) -> str:
    ranked = service.ranked_pages(WINDOW, WebFilters(), None, "CLICKS", True)
    return ranked["page_key"][0]


def _png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


# -- every page loads --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_on_demo_data(demo: HeatmapService, page: str) -> None:
    query = {}
    if page == "app_pages/session.py":
        summary = demo.page_summary(PageRef(busiest_page(demo), "desktop"), WINDOW)
        query = replay_query(summary.replays["url"][0])
    at = run_page(page, query)
    assert_clean(at)
    assert at.sidebar.date_input(key="dates").value == (WINDOW.from_day, WINDOW.to_day)
    assert "Load demo data" not in [button.label for button in at.button]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_on_an_empty_database(settings: Settings, page: str) -> None:
    at = run_page(page)
    assert_clean(at)
    if page == "app_pages/screenshots.py":
        assert "No page screenshot yet." in texts(at)
        return
    assert "Load demo data" in [button.label for button in at.button]
    kind = "mobile touch events" if page == "app_pages/mobile.py" else "web events"
    assert f"No {kind} yet" in texts(at)


def test_the_tracker_snippet_uses_the_api_url(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_page(PAGES[0])
    assert next(code.value for code in at.code) == (
        '<script src="http://127.0.0.1:8000/tracker.js" data-key="TOKEN" defer></script>'
    )


@pytest.mark.slow  # loads 1,500 demo events, screenshots and all
def test_the_demo_button_loads_data_with_a_progress_bar(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import empty

    monkeypatch.setattr(empty, "DEMO_EVENTS", 1500)
    at = run_page(PAGES[0])
    next(button for button in at.button if button.label == "Load demo data").click().run()
    assert_clean(at)
    assert metrics(at)["Pages"] != "0"
    assert at.toast[0].value.startswith("Demo data: 1500 web events stored")


# -- filters in the URL ------------------------------------------------------------------------------


def test_query_parameters_seed_the_filters_and_the_numbers_match_the_service(demo: HeatmapService) -> None:
    query = {"dates": ["2026-10-25", "2026-11-01"], "country": "US", "browser": "Chrome", "q": "products"}
    at = run_page(PAGES[0], query)
    assert_clean(at)
    assert at.date_input(key="dates").value == (date(2026, 10, 25), date(2026, 11, 1))
    assert (at.selectbox(key="country").value, at.selectbox(key="browser").value) == ("US", "Chrome")
    assert at.text_input(key="q").value == "products"

    window = Window(date(2026, 10, 25), date(2026, 11, 1))
    ranked = demo.ranked_pages(window, WebFilters("US", None, "Chrome"), "products", "ISSUE_SCORE", True)
    assert ranked.height > 0
    assert metrics(at) == {
        "Clicks": f"{ranked['total_clicks'].sum():,}",
        "Rage events": f"{ranked['rage_clicks'].sum():,}",
        "Dead clicks": f"{ranked['dead_clicks'].sum():,}",
        "Pages": f"{ranked.height:,}",
    }
    table = at.dataframe[0].value
    shown = table[["url", "clicks", "rage_events", "dead_clicks", "issue_score"]].to_dict("records")
    expected = [
        {
            "url": row["page_key"],
            "clicks": row["total_clicks"],
            "rage_events": row["rage_clicks"],
            "dead_clicks": row["dead_clicks"],
            "issue_score": row["issue_score"],
        }
        for row in ranked.head(25).iter_rows(named=True)
    ]
    assert shown == expected
    assert list(table["rage_rate"]) == pytest.approx([100 * v for v in ranked.head(25)["rage_rate"]])


def test_switching_pages_keeps_the_filters(demo: HeatmapService) -> None:
    query = {"dates": ["2026-10-28", "2026-11-01"], "country": "US"}
    at = run_page(PAGES[0], query)
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert_clean(at)
        assert at.date_input(key="dates").value == (date(2026, 10, 28), date(2026, 11, 1))
        assert at.selectbox(key="country").value == "US"
        assert at.query_params["country"] == "US"


def test_reset_filters_returns_to_the_defaults(demo: HeatmapService) -> None:
    at = run_page(PAGES[0], {"dates": ["2026-10-28", "2026-11-01"], "country": "US", "q": "products"})
    next(button for button in at.button if button.label == "Reset filters").click().run()
    assert_clean(at)
    assert at.date_input(key="dates").value == (WINDOW.from_day, WINDOW.to_day)
    assert (at.selectbox(key="country").value, at.text_input(key="q").value) == ("All", "")
    ranked = demo.ranked_pages(WINDOW, WebFilters(), None, "CLICKS", True)
    assert metrics(at)["Clicks"] == f"{ranked['total_clicks'].sum():,}"


def test_a_window_over_60_days_is_explained_and_clamped(demo: HeatmapService) -> None:
    at = run_page(PAGES[0], {"dates": ["2026-06-01", "2026-11-01"]})
    assert_clean(at)
    assert "the last 60 days of your range are shown: 2026-09-03 to 2026-11-01" in texts(at)
    ranked = demo.ranked_pages(
        Window(date(2026, 9, 3), date(2026, 11, 1)), WebFilters(), None, "CLICKS", True
    )
    assert metrics(at)["Clicks"] == f"{ranked['total_clicks'].sum():,}"


def test_regions_are_limited_to_the_chosen_country(demo: HeatmapService) -> None:
    at = run_page(PAGES[0], {"country": "US"})
    us_regions = set(at.selectbox(key="region").options) - {"All"}
    everywhere = set(run_page(PAGES[0]).selectbox(key="region").options) - {"All"}
    assert us_regions and us_regions < everywhere


def test_sorting_and_paging_walk_the_whole_list(demo: HeatmapService) -> None:
    ranked = demo.ranked_pages(WINDOW, WebFilters(), None, "PAGE_KEY", False)
    at = run_page(PAGES[0], {"sort": "Page URL", "dir": "Lowest first", "size": "25"})
    seen = list(at.dataframe[0].value["url"])
    while len(seen) < ranked.height:
        at.pagination(key="p").select(at.pagination(key="p").value + 1).run()
        seen += list(at.dataframe[0].value["url"])
    assert seen == ranked["page_key"].to_list()


def test_selecting_a_row_opens_its_heatmap(demo: HeatmapService) -> None:
    at = run_page(PAGES[0], {"country": "US"})
    first = at.dataframe[0].value["url"][0]
    at.session_state["pages_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert_clean(at)
    assert at.title[0].value == "Heatmap"
    assert at.selectbox(key="page").value == first
    assert at.selectbox(key="country").value == "US"


# -- heatmap, session, mobile ------------------------------------------------------------------------


def test_heatmap_numbers_and_replays_equal_the_summary(demo: HeatmapService) -> None:
    page_key = busiest_page(demo)
    at = run_page(PAGES[1], {"page": page_key, "bp": "mobile"})
    assert_clean(at)
    assert at.selectbox(key="page").value == page_key
    summary = demo.page_summary(PageRef(page_key, "mobile"), WINDOW)
    assert metrics(at) == {
        "Clicks · mobile": f"{summary.click_bins['clicks'].sum():,}",
        "Dead clicks": f"{summary.dead_bins['dead_clicks'].sum():,}",
        "Rage events": f"{summary.rage_bins['rage_events'].sum():,}",
        "Sessions with scroll data": f"{summary.scroll_reach['sessions'][0]:,}",
    }
    links = [element.proto.url for element in at.get("link_button")]
    # The summary's links, opening the Session page on this page.
    on_page = urlencode({"pageKey": page_key}, quote_via=quote)
    assert links == [f"{url}&{on_page}" for url in summary.replays["url"]]
    assert [chart.proto.component_name for chart in at.get("bidi_component")] == ["cartesian_chart"]
    assert not at.get("plotly_chart")  # the overlay is the only figure; scroll reach is plain HTML bars
    assert any("Sessions reaching each depth" in element.proto.body for element in at.get("html"))


def test_selecting_a_hotspot_lists_the_sessions_behind_its_clicks(demo: HeatmapService) -> None:
    page_key = busiest_page(demo)
    summary = demo.page_summary(PageRef(page_key, "desktop"), WINDOW)
    hottest = summary.click_bins.sort(by=["clicks", "bin_y", "bin_x"], descending=[True, False, False]).row(
        0, named=True
    )
    at = run_page(PAGES[1], {"page": page_key})
    # Plotly reports a selected hotspot by its position on the page (CSS px): the bin's centre.
    spec = json.loads(at.get("bidi_component")[0].proto.json)["spec"]
    page_width = json.loads(spec)["layout"]["xaxis"]["range"][1]
    point = {
        "x": page_width * (hottest["bin_x"] + 0.5) / bins.COLUMNS,
        "y": (hottest["bin_y"] + 0.5) * bins.ROW_HEIGHT_PX,
    }
    at.session_state[chart_key("heatmap_chart", spec)] = {"selection": [point]}
    at.run()
    assert_clean(at)
    assert "Sessions that clicked this spot" in [header.value for header in at.subheader]
    sessions = at.dataframe[0].value
    assert sessions["clicks"].sum() == hottest["clicks"]  # every click of the bin belongs to a listed session
    assert all(url.startswith("http://127.0.0.1:8501/session?sessionId=") for url in sessions["replay_url"])


@pytest.mark.parametrize(
    "garbage",
    [
        [{"x": "1", "y": 2}, {"x": float("nan"), "y": 1.0}, {"y": 3}, "point", None, [1, 2]],
        [{"x": 10**400, "y": 1}, {"x": 1e308, "y": 1}, {"x": True, "y": 1}, {"x": -5, "y": 1}],
        {"points": [{"x": 1, "y": 2}]},
        7,
        "x",
    ],
)
def test_a_malformed_selection_from_the_browser_is_ignored(demo: HeatmapService, garbage: Any) -> None:
    at = run_page(PAGES[1], {"page": busiest_page(demo)})
    spec = json.loads(at.get("bidi_component")[0].proto.json)["spec"]
    at.session_state[chart_key("heatmap_chart", spec)] = {"selection": garbage}
    at.run()
    assert_clean(at)
    assert not [header for header in at.subheader if header.value.startswith("Sessions that clicked")]


@pytest.mark.parametrize("layer", ["Dead clicks", "Rage clicks"])
def test_heatmap_layers_load(demo: HeatmapService, layer: str) -> None:
    at = run_page(PAGES[1], {"page": busiest_page(demo), "layer": layer})
    assert_clean(at)
    assert at.button_group(key="layer").value == layer


@pytest.mark.parametrize(("query", "drawn"), [({}, "image"), ({"draw": "Cells"}, "heatmap")])
def test_heatmap_draws_the_density_by_default_and_the_cells_on_request(
    demo: HeatmapService, query: dict[str, str], drawn: str
) -> None:
    at = run_page(PAGES[1], {"page": busiest_page(demo), **query})
    assert_clean(at)
    assert at.button_group(key="draw").value == query.get("draw", "Density")
    figure = json.loads(json.loads(at.get("bidi_component")[0].proto.json)["spec"])
    assert [trace["type"] for trace in figure["data"]][1] == drawn  # over the backdrop, under the hotspots
    assert figure["data"][-1]["name"] == "hotspots"


def test_an_unknown_page_is_explained_not_a_traceback(demo: HeatmapService) -> None:
    at = run_page(PAGES[1], {"page": "https://nowhere.example.com/x"})
    assert not at.exception
    assert "no events were ever recorded for pageKey https://nowhere.example.com/x" in texts(at)


def test_replay_link_opens_the_session_on_its_busiest_page(demo: HeatmapService) -> None:
    summary = demo.page_summary(PageRef(busiest_page(demo), "desktop"), WINDOW)
    query = replay_query(summary.replays["url"][0])
    assert set(query) == {"sessionId", "visitorId", "date"}
    at = run_page(PAGES[2], {**query, "view": "Click path"})  # a recorded session opens on its recording
    assert_clean(at)
    assert at.title[0].value == "Session replay"
    assert query["sessionId"] in texts(at)
    step = at.slider[0]
    assert step.value == step.max
    step.set_value(1).run()
    assert_clean(at)
    assert f"**Step 1 of {int(step.max)}**" in texts(at)


def test_session_page_without_a_session_asks_for_one(demo: HeatmapService) -> None:
    at = run_page(PAGES[2])
    assert_clean(at)
    assert "Open a replay from the **Heatmap** page" in texts(at)


def test_session_page_with_a_bad_date_explains_it(demo: HeatmapService) -> None:
    at = run_page(PAGES[2], {"sessionId": "x", "date": "yesterday"})
    assert not at.exception
    assert "date must be a UTC day as YYYY-MM-DD" in texts(at)


def test_mobile_per_user_counts_equal_the_service(demo: HeatmapService, engine: Engine) -> None:
    at = run_page(PAGES[3], {"screen": "home_feed", "mode": "Per user"})
    assert_clean(at)
    days = {"from_day": WINDOW.from_day, "to_day": WINDOW.to_day}
    expected = query_touch_heatmap(demo.store, TouchQuery.create("home_feed", per_user=True, **days))
    table = at.dataframe[0].value
    assert table[["user_id", "touch_count"]].to_dict("records") == expected.user_counts.to_dicts()
    assert metrics(at)["Touches"] == f"{expected.points['count'].sum():,}"

    user = expected.user_counts["user_id"][0]
    at.selectbox(key="user").set_value(user).run()
    mine = query_touch_heatmap(
        demo.store, TouchQuery.create("home_feed", per_user=True, user_id=user, **days)
    )
    assert metrics(at)["Touches"] == f"{mine.points['count'].sum():,}"


def test_mobile_event_types_and_campaign_filter(demo: HeatmapService) -> None:
    at = run_page(PAGES[3], {"screen": "home_feed", "types": "Taps"})
    assert_clean(at)
    query = TouchQuery.create(
        "home_feed", event_types=["TAP"], from_day=WINDOW.from_day, to_day=WINDOW.to_day
    )
    expected = query_touch_heatmap(demo.store, query)
    assert metrics(at)["Touches"] == f"{expected.points['count'].sum():,}"


# -- screenshots -------------------------------------------------------------------------------------


def test_uploading_a_page_screenshot_makes_it_the_backdrop(demo: HeatmapService, engine: Engine) -> None:
    page_key = busiest_page(demo)
    at = run_page(PAGES[4])
    assert "Upload" not in [button.label for button in at.button]  # the file picker's is the only one
    next(box for box in at.selectbox if box.label == "Page URL").set_value(page_key)
    next(box for box in at.selectbox if box.label == "Breakpoint").set_value("tablet").run()
    at.file_uploader[0].set_value(("shot.png", _png(64, 48), "image/png")).run()  # stored once picked
    assert_clean(at)
    assert at.success[0].value.startswith("Saved 64 x 48 px for https")
    assert at.file_uploader[0].value is None  # an empty picker for the next one
    latest = screenshots.latest_page_screenshot(engine, page_key, "tablet")
    assert latest is not None and (latest["width"], latest["height"]) == (64, 48)
    listing = at.dataframe[0].value
    newest = listing[(listing["page_key"] == page_key) & (listing["breakpoint"] == "tablet")].iloc[0]
    assert (newest["size"], bool(newest["current"])) == ("64 x 48", True)


def test_the_upload_pickers_take_the_page_and_breakpoint_from_the_url(demo: HeatmapService) -> None:
    at = run_page(PAGES[4], {"pageKey": "https://shop.example.com/checkout", "breakpoint": "mobile"})
    assert_clean(at)
    assert [box.value for box in at.main.selectbox] == ["https://shop.example.com/checkout", "mobile"]


def test_a_refused_upload_says_why(demo: HeatmapService) -> None:
    at = run_page(PAGES[4])
    next(box for box in at.selectbox if box.label == "Page URL").set_value("https://shop.example.com/").run()
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")
    at.file_uploader[0].set_value(("shot.png", jpeg.getvalue(), "image/png")).run()
    assert not at.exception
    assert at.error[0].value == (
        "Upload refused: the image must be a PNG file (its first bytes are not a PNG signature)"
    )


# -- auth gate ---------------------------------------------------------------------------------------


@pytest.fixture
def token_mode(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    from data_layer.settings import get_settings

    monkeypatch.setenv("HEATMAPS_DASHBOARD_AUTH", "token")
    get_settings.cache_clear()
    return get_settings()


def test_token_mode_asks_for_a_token_before_showing_data(demo: HeatmapService, token_mode: Settings) -> None:
    at = run_page(PAGES[0])
    assert not at.exception
    assert not at.metric
    assert "Sign in with an API token in the sidebar" in texts(at)

    at.session_state[TOKEN_KEY] = "hm_not-a-token"
    at.run()
    assert "Unknown or revoked token." in texts(at)


def test_token_mode_view_token_sees_data_but_cannot_upload(
    demo: HeatmapService, engine: Engine, token_mode: Settings
) -> None:
    _, view = create_token(engine, "pm", frozenset({Permission.VIEW_HEATMAPS}))
    at = run_page(PAGES[0], session={TOKEN_KEY: view})
    assert_clean(at)
    assert metrics(at)["Pages"] != "0"
    at.switch_page(PAGES[4]).run()
    assert "Uploading needs a token with the MANAGE_HEATMAPS permission." in texts(at)
    assert not at.file_uploader


def test_token_mode_manage_token_can_upload(
    demo: HeatmapService, engine: Engine, token_mode: Settings
) -> None:
    _, token = create_token(engine, "lead", frozenset({Permission.VIEW_HEATMAPS, Permission.MANAGE_HEATMAPS}))
    at = run_page(PAGES[4], session={TOKEN_KEY: token})
    assert_clean(at)
    assert at.file_uploader


def test_token_without_view_permission_is_refused(
    demo: HeatmapService, engine: Engine, token_mode: Settings
) -> None:
    _, ingest_only = create_token(engine, "website")
    at = run_page(PAGES[0], session={TOKEN_KEY: ingest_only})
    assert "This token lacks the VIEW_HEATMAPS permission." in texts(at)
    assert not at.metric
