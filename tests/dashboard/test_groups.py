"""Page groups in the dashboard (CONTRACT 14): the Groups view (totals equal to the service's, a live
preview, saving, errors from the data layer's checks, deleting after a confirmation, the MANAGE
permission) and the Heatmap view with a pattern (the group's numbers, its busiest page's backdrop, its
hotspots). AppTest over the small shop of :mod:`tests.dashboard.segment_shop`; the helpers are tested
pure."""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl
import pytest
from PIL import Image
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from dashboard import groups
from dashboard.cartesian_chart import chart_key
from data_layer import bins, page_groups, screenshots
from data_layer.auth import Permission, create_token, secret_key
from data_layer.filters import WebFilters
from data_layer.ingest import ingest_web_batch
from data_layer.page_ref import GroupRef, PagePattern, PageRef
from data_layer.replica import ReplicaStore
from data_layer.service import HeatmapService
from data_layer.settings import Settings, get_settings
from tests.dashboard import segment_shop
from tests.dashboard.segment_shop import BOOT, CART, PRODUCTS, TENT, WINDOW
from tests.dashboard.test_dashboard import APP, TOKEN_KEY, assert_clean, metrics, texts
from tests.dashboard.test_segment_filters import open_page

GROUPS, HEATMAP = "app_pages/groups.py", "app_pages/heatmap.py"
on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def shop(engine: Engine, settings: Settings) -> HeatmapService:
    ingest_web_batch(engine, settings, segment_shop.events())
    return HeatmapService(ReplicaStore(engine), settings, secret_key(engine, settings.secret_key))


def ranked(*rows: tuple[str, dict[str, int]]) -> pl.DataFrame:
    """Rows shaped as service.ranked_pages' page_key and breakpoints."""
    return pl.DataFrame(
        {
            "page_key": [key for key, _ in rows],
            "breakpoints": [
                [{"breakpoint": bp, "clicks": n} for bp, n in split.items()] for _, split in rows
            ],
        },
        schema={
            "page_key": pl.String,
            "breakpoints": pl.List(pl.Struct({"breakpoint": pl.String, "clicks": pl.Int64})),
        },
    )


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


# -- pure helpers ------------------------------------------------------------------------------------


def test_the_busiest_page_has_most_clicks_at_the_breakpoint_the_first_name_on_a_tie() -> None:
    pages = ranked(("c", {"desktop": 9, "mobile": 1}), ("b", {"mobile": 5}), ("a", {"mobile": 5}), ("d", {}))
    assert groups.busiest_page(pages, "desktop") == "c"
    assert groups.busiest_page(pages, "mobile") == "a"
    assert groups.busiest_page(pages, "tablet") is None
    assert groups.busiest_page(pages.clear(), "desktop") is None


def test_clicks_by_breakpoint_add_up_the_rows() -> None:
    pages = ranked(("c", {"desktop": 9, "mobile": 1}), ("b", {"mobile": 5}))
    assert groups.clicks_by_breakpoint(pages) == {"desktop": 9, "tablet": 0, "mobile": 6}
    assert groups.clicks_by_breakpoint(pages.clear()) == {"desktop": 0, "tablet": 0, "mobile": 0}


@pytest.mark.parametrize(
    ("page_keys", "pattern"),
    [
        (["https://shop.example/products/tent"], "https://shop.example/products/*"),
        (["https://shop.example/", "https://shop.example/a/b/"], "https://shop.example/a/*"),
        (["http://localhost:8000/about", "http://localhost:8000/"], "http://localhost:8000/*"),
        ([], None),
    ],
)
def test_the_example_pattern_groups_a_page_with_its_siblings(
    page_keys: list[str], pattern: str | None
) -> None:
    assert groups.example_pattern(page_keys) == pattern


def test_links_name_the_page_of_a_page_not_of_a_group_and_the_note_names_the_backdrop() -> None:
    assert groups.page_link_params(PageRef(TENT, "desktop")) == {"pageKey": TENT}
    assert groups.page_link_params(GroupRef(PagePattern(PRODUCTS), "desktop")) == {}
    assert groups.backdrop_note(TENT, 2, "desktop") == (
        f"Backdrop: {TENT}, the busiest of 2 pages (most desktop clicks)."
    )
    assert "neutral outline" in groups.backdrop_note(None, 3, "tablet")


def test_the_group_table_shows_rates_as_percentages_in_order() -> None:
    listed = pl.DataFrame(
        {
            "id": ["1"],
            "name": ["Products"],
            "pattern": [PRODUCTS],
            "total_clicks": [10],
            "rage_clicks": [1],
            "dead_clicks": [2],
            "rage_rate": [0.1],
            "dead_rate": [0.2],
            "issue_score": [12.5],
            "breakpoints": [[]],
            "pages": [2],
        }
    )
    assert groups.group_table(listed).to_dicts() == [
        {
            "name": "Products",
            "pattern": PRODUCTS,
            "pages": 2,
            "clicks": 10,
            "rage_events": 1,
            "dead_clicks": 2,
            "rage_rate": 10.0,
            "dead_rate": 20.0,
            "issue_score": 12.5,
        }
    ]
    assert list(groups.group_table(listed).columns) == list(groups.GROUP_TABLE_COLUMNS)


# -- the Groups view ---------------------------------------------------------------------------------


def plain(at: AppTest) -> str:
    """The texts shown, without the backslashes escaping URLs and details in Markdown."""
    return texts(at).replace("\\", "")


def button(at: AppTest, label: str) -> Any:
    return next(item for item in at.button if item.label == label)


def create(at: AppTest, name: str, pattern: str) -> AppTest:
    at.text_input(key="new_group_name").input(name)
    at.text_input(key="new_group_pattern").input(pattern).run()
    return at


@on_sqlite
def test_a_pattern_is_previewed_then_saved_and_listed_with_the_services_totals(shop: HeatmapService) -> None:
    at = open_page(GROUPS)
    assert_clean(at)
    assert "No saved group yet" in texts(at)
    assert at.text_input(key="new_group_pattern").placeholder == PRODUCTS  # from the busiest page's URL

    create(at, "Products", PRODUCTS)
    assert_clean(at)
    assert "Matches **2 pages** with data, 2 with clicks" in texts(at)
    assert list(at.dataframe[0].value["page"]) == [TENT, BOOT]
    button(at, "Save group").click().run()
    assert_clean(at)
    assert f"Saved 'Products': {PRODUCTS}." in plain(at)
    assert at.text_input(key="new_group_pattern").value == ""

    expected = shop.group_list(page_groups.saved_groups(shop.store.engine), WINDOW, WebFilters())
    table = at.dataframe[0].value
    assert table[["name", "pages", "clicks", "rage_events", "dead_clicks"]].to_dict("records") == [
        {"name": "Products", "pages": 2, "clicks": 6, "rage_events": 0, "dead_clicks": 0}
    ]
    assert table["clicks"][0] == expected["total_clicks"][0]


@on_sqlite
def test_the_list_follows_the_segment_filters_and_sorts(shop: HeatmapService, engine: Engine) -> None:
    rules = get_settings().page_key_rules
    page_groups.create_group(engine, "Products", PRODUCTS, rules, None)
    page_groups.create_group(engine, "Cart", CART, rules, None)
    at = open_page(GROUPS, {"utmSource": "google", "gsort": "Clicks"})
    assert_clean(at)
    assert at.dataframe[0].value[["name", "clicks", "pages"]].to_dict("records") == [
        {"name": "Products", "clicks": 4, "pages": 1},
        {"name": "Cart", "clicks": 0, "pages": 0},
    ]
    at = open_page(GROUPS, {"gsort": "Name", "gdir": "Lowest first"})
    assert list(at.dataframe[0].value["name"]) == ["Cart", "Products"]


@pytest.mark.parametrize(
    ("pattern", "error"),
    [
        ("https://shop.example/" + "*/" * 6, "pagePattern may hold at most 5 '*', got 6"),
        ("not a url/*", "pagePattern"),
    ],
)
@on_sqlite
def test_a_bad_pattern_is_explained_and_cannot_be_saved(
    shop: HeatmapService, pattern: str, error: str
) -> None:
    at = create(open_page(GROUPS), "Broken", pattern)
    assert not at.exception
    assert error in "\n".join(item.value for item in at.error).replace("\\", "")
    assert button(at, "Save group").disabled


@on_sqlite
def test_a_name_taken_already_is_refused_with_the_reason(shop: HeatmapService, engine: Engine) -> None:
    page_groups.create_group(engine, "Products", PRODUCTS, get_settings().page_key_rules, None)
    at = create(open_page(GROUPS), "products", f"{segment_shop.ORIGIN}/*")
    button(at, "Save group").click().run()
    assert "Not saved: a page group named 'products' exists already" in plain(at)
    assert at.text_input(key="new_group_pattern").value == f"{segment_shop.ORIGIN}/*"  # kept to fix


@on_sqlite
def test_a_group_is_deleted_after_its_confirmation(shop: HeatmapService, engine: Engine) -> None:
    page_groups.create_group(engine, "Products", PRODUCTS, get_settings().page_key_rules, None)
    at = open_page(GROUPS)
    at.session_state["groups_table_1"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert [item.proto.popover.label for item in at.get("popover")] == ["Delete…"]
    assert page_groups.saved_groups(engine).height == 1  # opening the popover deletes nothing
    button(at, "Delete for good").click().run()
    assert_clean(at)
    assert "Deleted 'Products'. Its pages and their events stay." in plain(at)
    assert page_groups.saved_groups(engine).is_empty()
    assert "No saved group yet" in texts(at)


@on_sqlite
def test_opening_a_group_shows_its_heatmap(shop: HeatmapService, engine: Engine) -> None:
    page_groups.create_group(engine, "Products", PRODUCTS, get_settings().page_key_rules, None)
    at = open_page(GROUPS, {"country": "All"})
    at.session_state["groups_table_1"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    button(at, "Open heatmap").click().run()
    assert_clean(at)
    assert at.title[0].value == "Heatmap"
    assert at.text_input(key="pattern").value == PRODUCTS
    assert "**2 pages** match" in texts(at)
    assert "busiest of 2 pages" in texts(at)


@pytest.fixture
def token_mode(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEATMAPS_DASHBOARD_AUTH", "token")
    get_settings.cache_clear()


@on_sqlite
def test_without_manage_the_groups_are_listed_but_not_changed(
    shop: HeatmapService, engine: Engine, token_mode: None
) -> None:
    page_groups.create_group(engine, "Products", PRODUCTS, get_settings().page_key_rules, None)
    _, view = create_token(engine, "pm", frozenset({Permission.VIEW_HEATMAPS}))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[TOKEN_KEY] = view
    at.run()
    at.switch_page(GROUPS).run()
    at.session_state["groups_table_1"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert_clean(at)
    assert "Saving and deleting groups needs a token with the MANAGE_HEATMAPS permission." in texts(at)
    assert not at.get("popover")
    assert "new_group_pattern" not in [item.key for item in at.text_input]
    assert [item.label for item in at.button if item.label == "Open heatmap"]


# -- the Heatmap view with a pattern -----------------------------------------------------------------


@on_sqlite
def test_a_patterns_heatmap_is_the_groups_summary_over_its_busiest_pages_backdrop(
    shop: HeatmapService, engine: Engine, settings: Settings
) -> None:
    for page_key, width in ((TENT, 1000), (BOOT, 1400)):
        screenshots.save_screenshot(
            engine,
            settings.screenshot_dir,
            _png(width, 900),
            kind="web",
            page_key=page_key,
            breakpoint="desktop",
        )
    at = open_page(HEATMAP, {"pattern": PRODUCTS, "utmMedium": "email"})
    assert_clean(at)
    summary = shop.page_summary(
        GroupRef(PagePattern(PRODUCTS), "desktop"), WINDOW, WebFilters(utm_medium="email")
    )
    assert summary.pages == 1
    assert metrics(at)["Clicks · desktop"] == "2"
    assert "**1 pages** match" in texts(at)
    assert f"Backdrop: {BOOT}, the busiest of 1 pages (most desktop clicks)." in plain(at)

    at = open_page(HEATMAP, {"pattern": PRODUCTS})
    assert_clean(at)
    assert metrics(at)["Clicks · desktop"] == "6"
    assert f"Backdrop: {TENT}, the busiest of 2 pages (most desktop clicks)." in plain(at)
    figure = json.loads(json.loads(at.get("bidi_component")[0].proto.json)["spec"])
    assert figure["data"][0]["type"] == "image"  # the tent's screenshot under the clicks

    # A hotspot of the group lists the sessions of every page with clicks there: (50, 18) is the tent's
    # third click (x=500 of 1000 px), (50, 31) the boot's first (x=700 of 1400 px, y=500).
    width = figure["layout"]["xaxis"]["range"][1]
    points = [{"x": width * 50.5 / bins.COLUMNS, "y": (row + 0.5) * bins.ROW_HEIGHT_PX} for row in (18, 31)]
    spec = json.loads(at.get("bidi_component")[0].proto.json)["spec"]
    at.session_state[chart_key("heatmap_chart", spec)] = {"selection": points}
    at.run()
    assert_clean(at)
    sessions = at.dataframe[0].value
    assert sorted(zip(sessions["session_id"], sessions["clicks"], strict=True)) == [("s1", 1), ("s2", 1)]
    assert all("pageKey" not in url for url in sessions["replay_url"])  # a session opens on its own page


@on_sqlite
def test_a_pattern_matching_nothing_or_invalid_is_explained(shop: HeatmapService) -> None:
    at = open_page(HEATMAP, {"pattern": "https://elsewhere.example/*"})
    assert not at.exception
    assert "no events were ever recorded for a pageKey matching https://elsewhere.example/*" in texts(at)
    at = open_page(HEATMAP, {"pattern": "https://shop.example/" + "*" * 6})
    assert not at.exception
    assert "at most 5 '*'" in texts(at)


@on_sqlite
def test_the_groups_view_of_an_empty_database_offers_the_demo(settings: Settings) -> None:
    at = open_page(GROUPS)
    assert_clean(at)
    assert "No web events yet" in texts(at)
    assert "Load demo data" in [item.label for item in at.button]
