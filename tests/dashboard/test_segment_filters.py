"""The sidebar's segment filters (CONTRACT 14): their choices from the data, the URL seeding them under the
API's parameter names, every web view's numbers following them, and old data sets left uncluttered.
AppTest over the small shop of :mod:`tests.dashboard.segment_shop`; the helpers are tested pure."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from dashboard import segment_filters
from dashboard.segment_filters import SegmentChoices
from data_layer.filters import WebFilters
from data_layer.ingest import ingest_web_batch
from data_layer.settings import Settings
from tests.dashboard import segment_shop
from tests.dashboard.test_dashboard import APP, assert_clean, metrics, texts
from tests.factories import web_click

on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def shop(engine: Engine, settings: Settings) -> None:
    ingest_web_batch(engine, settings, segment_shop.events())


def open_page(page: str, query: dict[str, Any] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    if page != "app_pages/pages.py":
        at.switch_page(page).run()
    return at


# -- pure helpers ------------------------------------------------------------------------------------


def test_tag_options_are_every_pair_of_the_stored_tag_sets_sorted() -> None:
    stored = pl.Series(['{"plan":"pro","variant":"A"}', None, '{"variant":"B"}', '{"variant":"A"}'])
    assert segment_filters.tag_options(stored) == ["plan:pro", "variant:A", "variant:B"]
    assert segment_filters.tag_options(pl.Series([None], dtype=pl.String)) == []


def test_segment_choices_list_each_part_once_sorted() -> None:
    values = pl.DataFrame(
        {
            "visitor_type": ["new", "returning", "new"],
            "utm_source": ["news", None, "google"],
            "utm_medium": ["email", None, "cpc"],
            "utm_campaign": [None, None, None],
            "referrer_host": ["www.google.com", None, "www.google.com"],
            "tags": ['{"variant":"B"}', None, None],
        }
    )
    choices = segment_filters.segment_choices(values)
    assert choices == SegmentChoices(
        {
            "utm_source": ["google", "news"],
            "utm_medium": ["cpc", "email"],
            "utm_campaign": [],
            "referrer_host": ["www.google.com"],
        },
        ["variant:B"],
    )
    assert choices.any
    assert not segment_filters.segment_choices(values.with_columns(pl.lit(None).alias("tags"))).tags
    nothing = values.select("visitor_type", *(pl.lit(None, pl.String).alias(c) for c in values.columns[1:]))
    assert not segment_filters.segment_choices(nothing).any


def test_describe_names_each_segment_filter_set() -> None:
    where = WebFilters(
        utm_source="google",
        referrer_host="www.google.com",
        visitor_type="returning",
        tags=(("variant", "B"),),
    )
    assert segment_filters.describe(where) == [
        "source google",
        "from www.google.com",
        "returning visitors",
        "variant:B",
    ]
    assert segment_filters.describe(WebFilters(country="DE")) == []


# -- the sidebar -------------------------------------------------------------------------------------


@on_sqlite
def test_the_section_offers_the_values_the_data_holds(shop: None) -> None:
    at = open_page("app_pages/pages.py")
    assert_clean(at)
    assert at.sidebar.selectbox(key="utmSource").options == ["All", "google", "newsletter"]
    assert at.sidebar.selectbox(key="utmMedium").options == ["All", "cpc", "email"]
    assert at.sidebar.selectbox(key="utmCampaign").options == ["All", "spring"]
    assert at.sidebar.selectbox(key="referrerHost").options == ["All", "www.google.com"]
    assert at.sidebar.multiselect(key="tag").options == ["variant:A", "variant:B"]
    assert at.sidebar.expander[0].label == "Segments"
    assert metrics(at)["Clicks"] == "7"


@on_sqlite
@pytest.mark.parametrize(
    ("query", "clicks", "caption"),
    [
        ({"utmSource": "google"}, 4, "source google"),
        ({"utmMedium": "email"}, 2, "medium email"),
        ({"utmCampaign": "spring", "referrerHost": "www.google.com"}, 4, "from www.google.com"),
        ({"visitorType": "returning"}, 1, "returning visitors"),
        ({"tag": "variant:B"}, 2, "variant:B"),
        ({"tag": ["variant:A", "variant:B"]}, 0, "variant:A · variant:B"),
        ({"visitorType": "new", "tag": "variant:A"}, 4, "new visitors · variant:A"),
    ],
)
def test_a_segment_in_the_url_seeds_its_filter_and_the_numbers(
    shop: None, query: dict[str, Any], clicks: int, caption: str
) -> None:
    at = open_page("app_pages/pages.py", query)
    assert_clean(at)
    for key, value in query.items():
        shown = (
            at.sidebar.multiselect(key=key).value
            if key == "tag"
            else at.sidebar.button_group(key=key).value
            if key == "visitorType"
            else at.sidebar.selectbox(key=key).value
        )
        assert shown == (value if isinstance(value, list) else [value] if key == "tag" else value)
    assert metrics(at)["Clicks"] == f"{clicks:,}"
    assert caption in texts(at)


@on_sqlite
def test_segments_follow_to_the_heatmap_and_the_session_list(shop: None) -> None:
    at = open_page("app_pages/heatmap.py", {"utmSource": "newsletter"})
    assert_clean(at)
    assert at.selectbox(key="page").options == [segment_shop.BOOT]
    assert at.metric[0].value == "2"
    at.switch_page("app_pages/session.py").run()
    assert_clean(at)
    assert at.sidebar.selectbox(key="utmSource").value == "newsletter"
    assert "source newsletter" in texts(at)


@on_sqlite
def test_reset_clears_the_segment_filters(shop: None) -> None:
    at = open_page("app_pages/pages.py", {"utmSource": "google", "visitorType": "new", "tag": "variant:A"})
    next(button for button in at.button if button.label == "Reset filters").click().run()
    assert_clean(at)
    assert at.sidebar.selectbox(key="utmSource").value == "All"
    assert at.sidebar.button_group(key="visitorType").value is None
    assert at.sidebar.multiselect(key="tag").value == []
    assert metrics(at)["Clicks"] == "7"
    assert not {"utmSource", "visitorType", "tag"} & set(at.query_params)


@on_sqlite
def test_data_without_segments_gets_only_the_visitor_type(engine: Engine, settings: Settings) -> None:
    ingest_web_batch(engine, settings, [web_click(), web_click(sessionId="s2", x=300)])
    at = open_page("app_pages/pages.py")
    assert_clean(at)
    keys = {widget.key for widget in at.sidebar.selectbox} | {widget.key for widget in at.sidebar.multiselect}
    assert not keys & set(segment_filters.KEYS)
    assert at.sidebar.button_group(key="visitorType").options
    assert "No campaign, referrer or tag in the data yet" in texts(at)
