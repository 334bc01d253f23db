"""What a heatmap is about: one normalised pageKey, or a pattern over pageKeys (CONTRACT 14), at one
breakpoint. The summary, groups, backdrops and captures all name pages this way, so they parse and check
them here, once."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

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


MAX_WILDCARDS = 5
# Stands for a ``*`` while a pattern is normalised: letters and digits only, so it survives in a host
# (lower-cased, as a host is) and in a path alike.
_PLACEHOLDER = "x7wildcard7x"


@dataclass(frozen=True)
class PagePattern:
    """pageKeys matching ``text``: ``*`` is any run of one or more characters (``/`` included), the
    rest literal, the whole key matched (CONTRACT 14)."""

    text: str
    """Normalised as a pageKey is (3.2), so it is written the way stored keys are."""

    @property
    def regex(self) -> str:
        return "^" + ".+".join(pl.escape_regex(part) for part in self.text.split("*")) + "$"

    def matches(self, page_keys: pl.Expr) -> pl.Expr:
        return page_keys.cast(pl.String).str.contains(self.regex)


def parse_page_pattern(value: str | None, rules: PageKeyRules) -> PagePattern:
    """A client's pattern; 400 when empty, with more than :data:`MAX_WILDCARDS` ``*``, or not a URL.

    A pattern starting with ``*`` (any site) is taken as written; any other is normalised like a pageKey
    with its wildcards kept, so ``HTTPS://Shop.example.com/products/*/`` matches the stored
    ``https://shop.example.com/products/...``.
    """
    if not value:
        raise BadRequest("pagePattern is required, e.g. https://shop.example.com/products/*")
    wildcards = value.count("*")
    if wildcards > MAX_WILDCARDS:
        raise BadRequest(f"pagePattern may hold at most {MAX_WILDCARDS} '*', got {wildcards}")
    if value.startswith("*"):
        return PagePattern(value)
    try:
        normalised = normalize_page_key(value.replace("*", _PLACEHOLDER), rules)
    except InvalidUrlError as exc:
        raise BadRequest(f"pagePattern {exc}") from None
    return PagePattern(normalised.replace(_PLACEHOLDER, "*"))


@dataclass(frozen=True)
class GroupRef:
    """The pages matching a pattern, together, at one breakpoint (a group's heatmap)."""

    pattern: PagePattern
    breakpoint: Breakpoint


def parse_heatmap_ref(
    page_key: str | None, page_pattern: str | None, breakpoint: str | None, rules: PageKeyRules
) -> PageRef | GroupRef:
    """Exactly one of ``pageKey`` and ``pagePattern`` (CONTRACT 14), at a breakpoint."""
    if page_key and page_pattern:
        raise BadRequest("give either pageKey or pagePattern, not both")
    if page_pattern:
        return GroupRef(parse_page_pattern(page_pattern, rules), parse_breakpoint(breakpoint))
    if not page_key:
        raise BadRequest("pageKey (one page) or pagePattern (pages matching a pattern) is required")
    return parse_page_ref(page_key, breakpoint, rules)
