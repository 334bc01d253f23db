"""pageKey normalisation (CONTRACT 3.2).

The standard library's ``urlsplit`` is used on purpose: it keeps the path byte-for-byte (case and
percent-encoding), which URL libraries that canonicalise paths would change.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


class InvalidUrlError(ValueError):
    """The string is not an absolute http(s) URL."""


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


@lru_cache(maxsize=65_536)
def normalize_page_key(url: str) -> str:
    """Origin + path of ``url``: lower-cased scheme and host, default port and credentials dropped,
    query and fragment dropped, trailing ``/`` removed except for the root path.

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
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    key = f"{scheme}://{netloc}{path}"
    if len(key) > MAX_URL_LENGTH:  # lower-casing can lengthen a host: "İ".lower() is two characters
        raise InvalidUrlError(f"must give a pageKey of at most {MAX_URL_LENGTH} characters")
    return key
