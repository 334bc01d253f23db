"""The capture allow-list: only pages of origins named in HEATMAPS_CAPTURE_ORIGINS are ever opened.

Page keys arrive with a public ingest key, so anything a stranger can name must be checked here before
a browser opens it, and again for every top-level navigation while it runs (see ``photograph``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from data_layer.errors import BadRequest
from data_layer.urls import InvalidUrlError, normalize_page_key, origin_of

SETTING = "HEATMAPS_CAPTURE_ORIGINS"


class OriginNotAllowedError(BadRequest):
    """The URL's origin is not in the allow-list; the message names the setting."""


def parse_origins(value: str, what: str = "capture origin") -> tuple[str, ...]:
    """Normalised ``scheme://host[:port]`` of each comma-separated entry; ValueError on anything else
    (its message names the entry as ``what``)."""
    origins = []
    for entry in (item.strip() for item in value.split(",")):
        if not entry:
            continue
        parts = urlsplit(entry)
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(f"{what} {entry[:100]!r}: give scheme://host[:port] only, no path or query")
        try:
            origins.append(origin_of(normalize_page_key(entry)))
        except InvalidUrlError as exc:
            raise ValueError(f"{what} {entry[:100]!r} {exc}") from None
    return tuple(dict.fromkeys(origins))


def url_origin(url: str) -> str | None:
    """The normalised origin of an http(s) URL, None for anything else (about:, data:, junk)."""
    try:
        return origin_of(normalize_page_key(url))
    except InvalidUrlError:
        return None


def check_allowed(url: str, allowed: tuple[str, ...]) -> str:
    """The URL's origin when it is allowed; raise :class:`OriginNotAllowedError` otherwise."""
    origin = url_origin(url)
    if not allowed:
        raise OriginNotAllowedError(f"capture is off: no origin is allowed (set {SETTING})")
    if origin is None or origin not in allowed:
        shown = origin or url[:100]
        raise OriginNotAllowedError(f"{shown} is not an allowed capture origin (add it to {SETTING})")
    return origin
