"""The Pages view under AppTest over the demo site: a page is read by its path, the host apart (a column
only when the list spans several sites), and pages with scroll data but no clicks, which the page list
(and the API's) leaves out, are listed below it and open the Heatmap view on their scroll depth.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from data_layer.ingest import ingest_web_batch
from data_layer.settings import Settings
from tests.conftest import DEMO_END
from tests.dashboard.test_dashboard import PAGES, assert_clean, run_page, texts
from tests.factories import web_click, web_scroll

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SHOP = "https://shop.example.com"
LONG_PATH = "/journal/2026/11/" + "how-to-pick-trail-running-shoes-for-wet-rocky-ground-" * 3 + "part-2"
BLOG = "https://blog.example.org"
POLICY = f"{SHOP}/privacy-policy"
AT = (DEMO_END - timedelta(hours=2)).isoformat()


def columns_shown(at: object, index: int = 0) -> list[str]:
    return list(at.dataframe[index].proto.column_order)  # type: ignore[attr-defined]


def test_one_site_is_named_once_and_each_page_by_its_path(demo_site: Settings) -> None:
    at = run_page(PAGES[0])
    assert_clean(at)
    table = at.dataframe[0].value
    assert "site" not in columns_shown(at)
    assert columns_shown(at)[:2] == ["page", "clicks"]
    assert "All on shop\\.example\\.com." in texts(at)
    for path, url in zip(table["page"], table["url"], strict=True):
        assert url == SHOP + path
    assert set(table["site"]) == {"shop.example.com"}


def test_a_long_url_on_a_second_site_shows_its_path_cut_in_the_middle_and_its_site(
    demo_site: Settings, engine: Engine
) -> None:
    ingest_web_batch(engine, demo_site, [web_click(url=BLOG + LONG_PATH, timestamp=AT)])
    at = run_page(PAGES[0], {"sort": "Page URL", "dir": "Lowest first"})  # blog.example.org first
    assert_clean(at)
    assert columns_shown(at)[:3] == ["page", "site", "clicks"]
    row = at.dataframe[0].value.iloc[0]
    # 56 characters: the first 27 and the last 28 of the path around an ellipsis.
    assert row["page"] == f"{LONG_PATH[:27]}…{LONG_PATH[-28:]}"
    assert (row["site"], row["url"]) == ("blog.example.org", BLOG + LONG_PATH)


def test_pages_with_scroll_data_but_no_clicks_open_their_scroll_depth(
    demo_site: Settings, engine: Engine
) -> None:
    mobile = {"viewportWidth": 390, "documentWidth": 390, "timestamp": AT}
    read = [
        web_scroll(url=POLICY, sessionId=f"policy-{n}", visitorId=f"pv-{n}", depth=depth, **mobile)
        for n, depth in enumerate((40, 70, 100))
    ]
    ingest_web_batch(engine, demo_site, [*read, web_scroll(url=POLICY, sessionId="policy-d", timestamp=AT)])
    at = run_page(PAGES[0])
    assert_clean(at)
    assert POLICY not in set(at.dataframe[0].value["url"])  # the page list ranks clicks
    expander = next(item for item in at.expander if item.label.startswith("Pages with scroll data"))
    unclicked = at.dataframe[1].value  # below the page list
    row = unclicked.index[unclicked["url"] == POLICY][0]
    assert unclicked.loc[row, ["page", "scroll_sessions"]].to_list() == ["/privacy-policy", 4]
    assert expander.label == f"Pages with scroll data but no clicks ({len(unclicked)})"

    at.session_state["scroll_only_table"] = {"selection": {"rows": [int(row)], "columns": [], "cells": []}}
    at.run()
    assert_clean(at)
    assert at.title[0].value == "Heatmap"
    assert at.selectbox(key="page").value == POLICY
    assert at.button_group(key="bp").value == "mobile"  # 3 of its 4 sessions with scroll data
    numbers = {metric.label: metric.value for metric in at.metric}
    assert numbers["Sessions with scroll data"] == "3"
    assert numbers["Clicks · mobile"] == "0"
    assert "3 sessions with scroll data" in texts(at)
