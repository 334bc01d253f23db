"""pageKey normalisation (CONTRACT 3.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_layer.urls import InvalidUrlError, PageKeyRules, normalize_page_key


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("HTTPS://Example.com:443/Pricing/?a=1#x", "https://example.com/Pricing"),
        ("http://example.com:80/", "http://example.com/"),
        ("http://example.com", "http://example.com/"),
        ("https://example.com:8443/a/b/", "https://example.com:8443/a/b"),
        ("http://example.com:443/x", "http://example.com:443/x"),
        ("https://user:pw@Shop.Example.com/cart?id=7", "https://shop.example.com/cart"),
        ("https://example.com/caf%C3%A9/Menu", "https://example.com/caf%C3%A9/Menu"),
        ("https://example.com/a//", "https://example.com/a"),
        ("https://example.com/#/route", "https://example.com/"),
        ("https://[2001:DB8::1]:8080/x", "https://[2001:db8::1]:8080/x"),
        ("https://example.com/search;params", "https://example.com/search;params"),
    ],
)
def test_normalisation(url: str, key: str) -> None:
    assert normalize_page_key(url) == key


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "//example.com/x",
        "/relative",
        "https://",
        "mailto:a@b.c",
        "https://exa mple.com/",
        "https://example.com:99999/",
        "javascript:alert(1)",
        "https://example.com/" + "a" * 2048,
        "",
    ],
)
def test_invalid_urls(url: str) -> None:
    with pytest.raises(InvalidUrlError):
        normalize_page_key(url)


FOLDING = PageKeyRules(index_files=("index.html", "a.html"), extensions=(".html", ".h"))


@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "Https"]),
    host=st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?(\.[A-Za-z]{2,6}){1,2}", fullmatch=True),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    path=st.lists(
        st.one_of(st.from_regex(r"[A-Za-z0-9%._~-]{0,8}", fullmatch=True), st.sampled_from(["a.html", ".h"])),
        max_size=4,
    ).map("/".join),
    trailing=st.booleans(),
    query=st.one_of(st.none(), st.from_regex(r"[a-z]=[0-9]{1,3}", fullmatch=True)),
)
def test_normalisation_is_idempotent(
    scheme: str, host: str, port: int | None, path: str, trailing: bool, query: str | None
) -> None:
    port_part = f":{port}" if port else ""
    query_part = f"?{query}" if query else ""
    url = f"{scheme}://{host}{port_part}/{path}{'/' if trailing else ''}{query_part}"
    key = normalize_page_key(url)
    assert normalize_page_key(key) == key
    folded = normalize_page_key(url, FOLDING)
    assert normalize_page_key(folded, FOLDING) == folded
    assert "?" not in key and "#" not in key
    assert key == key.split("://")[0].lower() + "://" + key.split("://", 1)[1]


def test_index_files_fold_into_their_directory_only_when_configured() -> None:
    rules = PageKeyRules(index_files=("index.html",))
    assert normalize_page_key("https://x.dev/book/index.html") == "https://x.dev/book/index.html"
    assert normalize_page_key("https://x.dev/book/index.html", rules) == "https://x.dev/book"
    assert normalize_page_key("https://x.dev/book/", rules) == "https://x.dev/book"
    assert normalize_page_key("https://x.dev/index.html?a=1", rules) == "https://x.dev/"
    assert normalize_page_key("https://x.dev/book/index.htm", rules) == "https://x.dev/book/index.htm"
    assert normalize_page_key("https://x.dev/book/myindex.html", rules) == "https://x.dev/book/myindex.html"


def test_extensions_are_dropped_from_the_last_segment_only_when_configured() -> None:
    """VitePress links /guide.html while GitHub Pages also answers /guide: one page when configured."""
    rules = PageKeyRules(extensions=(".htm", ".html"))
    assert normalize_page_key("https://x.dev/guide.html") == "https://x.dev/guide.html"
    assert normalize_page_key("https://x.dev/guide.html?a=1#b", rules) == "https://x.dev/guide"
    assert normalize_page_key("https://x.dev/guide", rules) == "https://x.dev/guide"
    assert normalize_page_key("https://x.dev/old/page.htm", rules) == "https://x.dev/old/page"
    assert normalize_page_key("https://x.dev/a.html.html", rules) == "https://x.dev/a"  # idempotent
    assert normalize_page_key("https://x.dev/.html", rules) == "https://x.dev/.html"  # never emptied
    assert normalize_page_key("https://x.dev/guide.html/", rules) == "https://x.dev/guide"
    assert normalize_page_key("https://x.dev/report.pdf", rules) == "https://x.dev/report.pdf"
    both = PageKeyRules(index_files=("index.html",), extensions=(".html",))
    assert normalize_page_key("https://x.dev/book/index.html", both) == "https://x.dev/book"
    assert normalize_page_key("https://x.dev/book/ch1.html", both) == "https://x.dev/book/ch1"


def test_view_parameters_stay_in_the_page_key_sorted_when_configured() -> None:
    rules = PageKeyRules(view_params=("search", "tab"))
    url = "https://x.dev/docs/?utm_source=a&tab=2&search=fn%20main#top"
    assert normalize_page_key(url) == "https://x.dev/docs"
    key = normalize_page_key(url, rules)
    assert key == "https://x.dev/docs?search=fn+main&tab=2"
    assert normalize_page_key(key, rules) == key  # idempotent
    assert normalize_page_key("https://x.dev/docs?utm_source=a", rules) == "https://x.dev/docs"


def test_settings_read_the_page_key_rules(monkeypatch) -> None:
    from data_layer.settings import Settings

    monkeypatch.setenv("HEATMAPS_PAGE_KEY_INDEX_FILES", "index.html, index.htm")
    monkeypatch.setenv("HEATMAPS_PAGE_KEY_VIEW_PARAMS", "search")
    monkeypatch.setenv("HEATMAPS_PAGE_KEY_EXTENSIONS", ".html")
    rules = Settings(_env_file=None).page_key_rules
    assert rules == PageKeyRules(
        index_files=("index.htm", "index.html"), view_params=("search",), extensions=(".html",)
    )
