"""Small helpers that turn values into text for the dashboard, pure but for :func:`to_session_page`,
which reads the sidebar's filters from the current URL."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from dashboard.url_filters import sidebar_params

_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")
PATH_CHARS = 56
"""A longer path is cut in the middle, so both its start and its end (the product, the article) show."""


def escape_markdown(text: str) -> str:
    """``text`` shown literally inside Streamlit Markdown (page keys, selectors, user ids).

    Every Markdown or HTML-significant character is backslash-escaped, so user-controlled strings can
    neither format text nor create links or tags.
    """
    return "".join(f"\\{char}" if char in _MARKDOWN_SPECIAL else char for char in text)


def escape_plotly(text: str) -> str:
    """``text`` shown literally in Plotly hover labels, which interpret a few HTML tags and entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def percent(value: float, digits: int = 1) -> str:
    """0.1234 -> ``"12.3 %"``."""
    return f"{value * 100:.{digits}f} %"


def count(value: int) -> str:
    """12345 -> ``"12,345"``."""
    return f"{value:,}"


def replay_session_id(url: str) -> str | None:
    """The ``sessionId`` query parameter of a replay URL, when the template carries one."""
    values = parse_qs(urlsplit(url).query).get("sessionId")
    return values[0] if values else None


def to_session_page(url: str, dashboard_url: str, **params: str) -> str:
    """``url`` with ``params`` and the sidebar's filters of the current URL added to its query when it
    opens this dashboard's Session page (the default replay template does), so the session opens in the
    user's window and filters and the views reached from it keep them; a link elsewhere (a template for
    another tool) is left as it is."""
    return with_own_params(url, dashboard_url, [*params.items(), *sidebar_params()])


def with_own_params(url: str, dashboard_url: str, params: Sequence[tuple[str, str]]) -> str:
    """``url`` with ``params`` (repeated keys kept) added to its query when it opens this dashboard's
    Session page; any other link as it is."""
    if not url.startswith(f"{dashboard_url.rstrip('/')}/session?") or not params:
        return url
    return f"{url}&{urlencode(params, quote_via=quote)}"


def is_web_link(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) link, the only kind the dashboard renders as a link.

    Replay URLs come from a configurable template; a misconfigured one (e.g. a ``javascript:`` dashboard
    URL) must not become a clickable link.
    """
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def shorten(text: str, keep: int = 60) -> str:
    """``text`` cut in the middle to at most ``keep`` characters (ids and URLs stay recognisable)."""
    if len(text) <= keep:
        return text
    head = (keep - 1) // 2
    return f"{text[:head]}…{text[-(keep - 1 - head) :]}"


def page_path(page_key: str) -> str:
    """The path of a pageKey (origin + path, no query: CONTRACT 3.2), ``/`` for a site's root page.

    What tells a site's pages apart, so the Pages view shows it first, the host beside it."""
    return urlsplit(page_key).path or "/"


def short_path(page_key: str) -> str:
    """The path of a pageKey as lists show it: cut in the middle past :data:`PATH_CHARS` characters."""
    return shorten(page_path(page_key), PATH_CHARS)


def page_host(page_key: str) -> str:
    """The host of a pageKey, with its port when it has one (``localhost:8000``)."""
    return urlsplit(page_key).netloc
