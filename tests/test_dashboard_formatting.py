"""Text helpers of the dashboard: user-controlled strings are shown literally, links only when http(s)."""

from __future__ import annotations

import pytest

from dashboard.formatting import (
    count,
    escape_markdown,
    escape_plotly,
    is_web_link,
    percent,
    replay_session_id,
    shorten,
)


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
