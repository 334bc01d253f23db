"""Text helpers of the dashboard: user-controlled strings are shown literally, links only when http(s)."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.formatting import (
    count,
    escape_markdown,
    escape_plotly,
    is_web_link,
    page_host,
    page_path,
    percent,
    replay_session_id,
    shorten,
)
from dashboard.reach import reach_html


def test_markdown_escaping_neutralises_formatting_links_and_tags() -> None:
    hostile = "https://x.com/**b**[a](javascript:alert(1))<img>`c`"
    assert escape_markdown(hostile) == (
        "https\\://x\\.com/\\*\\*b\\*\\*\\[a\\]\\(javascript\\:alert\\(1\\)\\)\\<img\\>\\`c\\`"
    )


def test_plotly_escaping_shows_selectors_literally() -> None:
    assert escape_plotly('div > a[title="<b>&"]') == 'div &gt; a[title="&lt;b&gt;&amp;"]'


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://127.0.0.1:8501/session?sessionId=a", True),
        ("HTTPS://example.com/x", True),
        ("javascript:alert(1)//http://x", False),
        ("data:text/html,hi", False),
        ("https:///no-host", False),
    ],
)
def test_only_http_links_are_links(url: str, ok: bool) -> None:
    assert is_web_link(url) is ok


def test_replay_session_id_and_numbers() -> None:
    assert replay_session_id("http://h/session?sessionId=s%2F1&visitorId=v&date=2026-01-02") == "s/1"
    assert replay_session_id("https://replays.example.com/r/123") is None
    assert (count(1234567), percent(0.1234), percent(0.5, digits=0)) == ("1,234,567", "12.3 %", "50 %")


def test_shorten_keeps_both_ends() -> None:
    assert shorten("abcdefghij", keep=7) == "abc…hij"
    assert shorten("short", keep=7) == "short"


@pytest.mark.parametrize(
    ("page_key", "path", "host"),
    [
        ("https://shop.example.com/products/trail-shoes", "/products/trail-shoes", "shop.example.com"),
        ("https://shop.example.com/", "/", "shop.example.com"),
        ("https://shop.example.com", "/", "shop.example.com"),
        ("http://localhost:8000/a/b", "/a/b", "localhost:8000"),
        ("https://x.example/evil/<b>[l](javascript:1)", "/evil/<b>[l](javascript:1)", "x.example"),
    ],
)
def test_a_page_is_its_path_on_its_host(page_key: str, path: str, host: str) -> None:
    assert (page_path(page_key), page_host(page_key)) == (path, host)


def test_reach_bars_give_each_depth_its_share_and_draw_the_fold() -> None:
    reach = pl.DataFrame({"bucket": [0, 50, 100], "sessions": [8, 6, 2]})
    html = reach_html(reach, fold_percent=25.0)
    assert html.count("reached ") == 3
    assert "6 sessions (75.0 %) reached 50 % of the page" in html
    assert "width:25.0%" in html  # 2 of 8 sessions reached the bottom
    # Rows are 30 px apart from 0 % to 100 %: the fold at 25 % lies at a quarter of 60 px, mid-row.
    assert "top:30px;border-top:2px dashed" in html
    assert "dashed" not in reach_html(reach, fold_percent=None)
