"""pageKey normalisation (CONTRACT 3.2).

The standard library's ``urlsplit`` is used on purpose: it keeps the path byte-for-byte (case and
percent-encoding), which URL libraries that canonicalise paths would change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


class InvalidUrlError(ValueError):
    """The string is not an absolute http(s) URL."""


@dataclass(frozen=True)
class PageKeyRules:
    """Opt-in refinements of CONTRACT 3.2 for sites whose URLs need them (all empty by default).

    ``index_files``: last path segments (``index.html``) that name their directory, so ``/book/`` and
    ``/book/index.html`` are one page. ``view_params``: query parameters that change what the page shows
    (a search that replaces the content); they stay in the pageKey, sorted, so each view is its own page.
    ``extensions``: endings (``.html``) dropped from the last path segment, for sites served with clean
    URLs as well (GitHub Pages answers ``/guide`` with ``guide.html``, and generators link either), so
    ``/guide`` and ``/guide.html`` are one page.
    """

    index_files: tuple[str, ...] = ()
    view_params: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()


NO_RULES = PageKeyRules()


def _split_http_url(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrlError(f"must be at most {MAX_URL_LENGTH} characters")
    if _FORBIDDEN.search(url):
        raise InvalidUrlError("must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidUrlError(f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise InvalidUrlError("must be an absolute http or https URL")
    if not parts.hostname:
        raise InvalidUrlError("must include a host")
    return parts


def _view_query(query: str, names: tuple[str, ...]) -> str:
    """The query's view parameters, sorted, as ``?a=1&b=2``; empty when it has none."""
    kept = sorted((name, value) for name, value in parse_qsl(query, keep_blank_values=True) if name in names)
    return "?" + urlencode(kept) if kept else ""


@lru_cache(maxsize=65_536)
def normalize_page_key(url: str, rules: PageKeyRules = NO_RULES) -> str:
    """Origin + path of ``url``: lower-cased scheme and host, default port and credentials dropped,
    query and fragment dropped, trailing ``/`` removed except for the root path; ``rules`` (settings)
    may fold index files into their directory, drop extensions and keep view parameters.

    Idempotent: normalising a pageKey returns it unchanged. Raises :class:`InvalidUrlError`. Cached:
    a site sends the same few thousand URLs over and over.
    """
    parts = _split_http_url(url)
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()  # type: ignore[union-attr]  # checked in _split_http_url
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _without_trailing_slash(parts.path or "/")
    while (folded := _fold_last_segment(path, rules)) != path:  # until nothing folds, so idempotent
        path = folded
    key = f"{scheme}://{netloc}{path}"
    if rules.view_params:
        key += _view_query(parts.query, rules.view_params)
    if len(key) > MAX_URL_LENGTH:  # lower-casing can lengthen a host: "İ".lower() is two characters
        raise InvalidUrlError(f"must give a pageKey of at most {MAX_URL_LENGTH} characters")
    return key


def _without_trailing_slash(path: str) -> str:
    return path.rstrip("/") or "/"


def _fold_last_segment(path: str, rules: PageKeyRules) -> str:
    """``path`` with its last segment folded once: an index file into its directory, else one of the
    extensions dropped (never down to nothing: ``/.html`` stays)."""
    head, _, last = path.rpartition("/")
    if last in rules.index_files:
        return _without_trailing_slash(head + "/")
    ending = next((e for e in rules.extensions if last.endswith(e) and len(last) > len(e)), None)
    return head + "/" + last[: -len(ending)] if ending else path


def origin_of(page_key: str) -> str:
    """``scheme://host[:port]`` of a normalised pageKey (or any URL normalised first)."""
    key = normalize_page_key(page_key)
    return key[: key.index("/", key.index("://") + 3)]
