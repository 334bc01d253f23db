"""What a query is limited to: a window of whole UTC days (CONTRACT 1: both ends included, at most 60
days) and the filters on events' dimensions. Parsed and checked here, once, for every face."""

from __future__ import annotations

import re
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
    """Dimension filters; each a case-insensitive exact match, None = no filter."""

    country: str | None = None
    region: str | None = None
    browser: str | None = None


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


def parse_filters(country: str | None, region: str | None, browser_name: str | None) -> WebFilters:
    return WebFilters(country=_clean(country), region=_clean(region), browser=_clean(browser_name))
