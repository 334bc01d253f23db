"""What a query is limited to: a window of whole UTC days (CONTRACT 1: both ends included, at most 60
days) and the filters on events' dimensions. Parsed and checked here, once, for every face."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from data_layer.errors import BadRequest

MAX_WINDOW_DAYS = 60
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Window:
    from_day: date
    to_day: date


def parse_day(name: str, value: str | None) -> date:
    if value is None or value == "":
        raise BadRequest(f"{name} is required: a UTC day as YYYY-MM-DD")
    if not _DAY.match(value):
        raise BadRequest(f"{name} must be a UTC day as YYYY-MM-DD, got {value[:40]!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} is not a valid calendar day: {value!r}") from None


def parse_window(from_: str | None, to: str | None) -> Window:
    """Inclusive window of at most 60 days; ``from`` after ``to`` is an error."""
    return checked_window(parse_day("from", from_), parse_day("to", to))


def checked_window(from_day: date, to_day: date) -> Window:
    """:func:`parse_window`'s rule for callers that hold dates already (no round trip through text)."""
    if from_day > to_day:
        raise BadRequest(f"from ({from_day}) must not be after to ({to_day})")
    if (to_day - from_day) > timedelta(days=MAX_WINDOW_DAYS - 1):
        raise BadRequest(
            f"the window from {from_day} to {to_day} spans {(to_day - from_day).days + 1} days; "
            f"at most {MAX_WINDOW_DAYS} days (both ends included) are allowed"
        )
    return Window(from_day, to_day)


@dataclass(frozen=True)
class WebFilters:
    """Dimension and segment filters (CONTRACT 4.1, 14); each a case-insensitive exact match, None = no
    filter; ``tags``: (key, value) pairs that must all match."""

    country: str | None = None
    region: str | None = None
    browser: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    referrer_host: str | None = None
    visitor_type: str | None = None
    tags: tuple[tuple[str, str], ...] = ()

    def digest_values(self) -> dict[str, object]:
        """The filters as the comparisons see them, for what a cursor is bound to."""
        return {
            "country": (self.country or "").upper(),
            "region": (self.region or "").lower(),
            "browser": (self.browser or "").lower(),
            "utm_source": (self.utm_source or "").lower(),
            "utm_medium": (self.utm_medium or "").lower(),
            "utm_campaign": (self.utm_campaign or "").lower(),
            "referrer_host": (self.referrer_host or "").lower(),
            "visitor_type": self.visitor_type or "",
            "tags": sorted({f"{key}:{value}".lower() for key, value in self.tags}),
        }


@dataclass(frozen=True)
class TouchFilters:
    screen_name: str
    campaign_id: str | None = None
    event_types: tuple[str, ...] = ()
    user_id: str | None = None
    from_day: date | None = None
    to_day: date | None = None


def _clean(value: str | None) -> str | None:
    """Empty filter values mean no filter."""
    return value.strip() or None if value is not None else None


VISITOR_TYPES = ("new", "returning")
_TAG_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
MAX_TAG_VALUE = 64


def parse_visitor_type(value: str | None) -> str | None:
    cleaned = _clean(value)
    if cleaned is None:
        return None
    if cleaned.lower() not in VISITOR_TYPES:
        raise BadRequest(f"visitorType must be new or returning, got {cleaned[:40]!r}")
    return cleaned.lower()


def parse_tag(value: str) -> tuple[str, str]:
    """``key:value`` (the first colon splits; the value may hold more)."""
    key, colon, tag_value = value.partition(":")
    if not colon or not _TAG_KEY.match(key):
        raise BadRequest(
            f"tag must be key:value with a key of 1-32 letters, digits, '_', '.' or '-', got {value[:80]!r}"
        )
    if len(tag_value) > MAX_TAG_VALUE:
        raise BadRequest(f"tag {key}: the value is longer than {MAX_TAG_VALUE} characters")
    return key, tag_value


def parse_filters(
    country: str | None = None,
    region: str | None = None,
    browser_name: str | None = None,
    *,
    utm_source: str | None = None,
    utm_medium: str | None = None,
    utm_campaign: str | None = None,
    referrer_host: str | None = None,
    visitor_type: str | None = None,
    tags: Sequence[str] = (),
) -> WebFilters:
    """Every filter of a web query as a client spelled it; empty values mean no filter."""
    return WebFilters(
        country=_clean(country),
        region=_clean(region),
        browser=_clean(browser_name),
        utm_source=_clean(utm_source),
        utm_medium=_clean(utm_medium),
        utm_campaign=_clean(utm_campaign),
        referrer_host=_clean(referrer_host),
        visitor_type=parse_visitor_type(visitor_type),
        tags=tuple(parse_tag(tag) for tag in tags if tag),
    )
