"""What a page's heatmap is about: one normalised pageKey at one breakpoint. The summary, backdrops and
captures all name a page this way, so they parse and check it here, once."""

from __future__ import annotations

from dataclasses import dataclass

from data_layer import breakpoints
from data_layer.breakpoints import Breakpoint
from data_layer.errors import BadRequest
from data_layer.urls import InvalidUrlError, PageKeyRules, normalize_page_key


@dataclass(frozen=True)
class PageRef:
    page_key: str
    """Normalised (CONTRACT 3.2)."""
    breakpoint: Breakpoint


def parse_page_key(value: str | None, rules: PageKeyRules) -> str:
    if not value:
        raise BadRequest("pageKey is required, e.g. https://example.com/pricing")
    try:
        return normalize_page_key(value, rules)
    except InvalidUrlError as exc:
        raise BadRequest(f"pageKey {exc}") from None


def parse_breakpoint(value: str | None) -> Breakpoint:
    for name in breakpoints.NAMES:
        if value == name:
            return name
    raise BadRequest(f"breakpoint must be one of {', '.join(breakpoints.NAMES)}, got {str(value)[:40]!r}")


def parse_page_ref(page_key: str | None, breakpoint: str | None, rules: PageKeyRules) -> PageRef:
    """The page as a client named it; 400 for a missing or invalid URL or an unknown breakpoint."""
    return PageRef(parse_page_key(page_key, rules), parse_breakpoint(breakpoint))
