"""The dashboard's links to its own Session page keep the sidebar's window and filters: the query they
add (pure), the sidebar's parameters they read, and the links of the Heatmap view and of the Session
replay view's recorded sessions under AppTest over the demo site.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.formatting import with_own_params
from dashboard.url_filters import SIDEBAR_KEYS
from data_layer.settings import Settings
from tests.dashboard.test_dashboard import PAGES, assert_clean, run_page

DASHBOARD = "http://127.0.0.1:8501"
OWN = f"{DASHBOARD}/session?sessionId=s%201&visitorId=v&date=2026-10-30"
FILTERS = {"dates": ["2026-10-20", "2026-11-01"], "country": "US", "visitorType": "returning"}
ON_THE_DEMO = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite only
CARRIED = {"dates": ["2026-10-20", "2026-11-01"], "country": ["US"], "visitorType": ["returning"]}


def test_own_links_get_the_parameters_in_order_repeated_ones_each() -> None:
    params = [("pageKey", "https://x.example/a"), ("dates", "2026-10-20"), ("dates", "2026-11-01")]
    params += [("tag", "plan:pro team"), ("tag", "ab:B")]
    assert with_own_params(OWN, DASHBOARD + "/", params) == (
        f"{OWN}&pageKey=https%3A%2F%2Fx.example%2Fa&dates=2026-10-20&dates=2026-11-01"
        "&tag=plan%3Apro%20team&tag=ab%3AB"
    )


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (OWN, []),
        ("https://replays.example.com/watch?session=a", [("country", "US")]),
        (f"{DASHBOARD}/sessionx?a=1", [("country", "US")]),
    ],
    ids=["nothing to add", "another tool", "another page"],
)
def test_other_links_are_left_alone(url: str, params: list[tuple[str, str]]) -> None:
    assert with_own_params(url, DASHBOARD, params) == url


def sidebar_keys(node: Any) -> set[str]:
    """The keys of every keyed widget under ``node`` (AppTest's element tree)."""
    keys: set[str] = set()
    for child in getattr(node, "children", {}).values():
        if getattr(child, "key", None):
            keys.add(child.key)
        keys |= sidebar_keys(child)
    return keys


def carried(url: str) -> dict[str, list[str]]:
    return {key: values for key, values in parse_qs(urlsplit(url).query).items() if key in CARRIED}


@ON_THE_DEMO
def test_links_carry_every_parameter_the_sidebar_binds(demo_site: Settings) -> None:
    at = run_page(PAGES[0])
    assert_clean(at)
    assert {"dates", "country", "visitorType"} <= sidebar_keys(at.sidebar) <= set(SIDEBAR_KEYS)


@ON_THE_DEMO
def test_the_heatmap_view_s_replay_links_keep_the_filters(demo_site: Settings) -> None:
    at = run_page(PAGES[1], {"page": "https://shop.example.com/cart", **FILTERS})
    assert_clean(at)
    links = [button.proto.url for button in at.get("link_button")]
    assert links and [carried(link) for link in links] == [CARRIED] * len(links)


@ON_THE_DEMO
def test_the_recorded_sessions_links_keep_the_filters(demo_site: Settings) -> None:
    at: AppTest = run_page(PAGES[2], FILTERS)
    assert_clean(at)
    links = at.dataframe[0].value["replay_url"].to_list()
    assert links and [carried(link) for link in links] == [CARRIED] * len(links)
