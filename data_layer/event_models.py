"""Validation of incoming events (CONTRACT 3.1 web events, 5 touch events).

A batch is validated whole: :func:`validate_batch` returns every valid event or raises
:class:`BatchValidationError` naming the index and field of each invalid one (the first 20).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from data_layer.urls import InvalidUrlError, normalize_page_key

MAX_BATCH_EVENTS = 500
MAX_REPORTED_ERRORS = 20
MAX_FUTURE_SKEW = timedelta(minutes=5)
EVENT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


class BatchValidationError(ValueError):
    """A batch with at least one invalid event; ``details`` is the client-facing explanation."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


def _parse_timestamp(value: Any) -> datetime:
    """RFC 3339 with an offset or ``Z`` -> naive UTC datetime (microseconds; extra digits dropped)."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with an offset or Z, e.g. 2026-04-01T12:00:00Z")
    text = value.replace("z", "Z").replace("t", "T")
    main, dot, rest = text.partition(".")
    if dot:  # Python parses at most 6 fractional digits
        digits = re.match(r"\d+", rest).group(0)  # type: ignore[union-attr]
        text = f"{main}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(text)
        utc = parsed.astimezone(UTC)
    except ValueError:
        raise ValueError("is not a valid date and time") from None
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before the first representable instant
        raise ValueError("is outside the years 1 to 9999 in UTC") from None
    if utc > datetime.now(UTC) + MAX_FUTURE_SKEW:
        raise ValueError("must not be more than 5 minutes in the future")
    return utc.replace(tzinfo=None)


def _no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL; refusing it everywhere keeps both backends' answers the same."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    return value


def _finite(value: float) -> float:
    try:
        number = float(value)  # an integer of hundreds of digits does not fit a float
    except OverflowError:
        raise ValueError("must be a finite number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


NoNul = AfterValidator(_no_nul)
Timestamp = Annotated[datetime, BeforeValidator(_parse_timestamp)]
Number = Annotated[StrictInt | StrictFloat, AfterValidator(_finite)]
EventId = Annotated[str, StringConstraints(pattern=EVENT_ID_PATTERN)]
Text128 = Annotated[str, StringConstraints(min_length=1, max_length=128), NoNul]


class WebEventIn(BaseModel):
    """One web event as sent by the tracker (camelCase JSON)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    event_id: EventId | None = Field(None, alias="eventId")
    type: Literal["click", "scroll"]
    timestamp: Timestamp
    session_id: Text128 = Field(alias="sessionId")
    visitor_id: Text128 = Field(alias="visitorId")
    url: Annotated[str, StringConstraints(max_length=2048)]
    viewport_width: StrictInt = Field(alias="viewportWidth", ge=1, le=20_000)
    viewport_height: StrictInt = Field(alias="viewportHeight", ge=1, le=20_000)
    document_width: StrictInt = Field(alias="documentWidth", ge=1, le=1_000_000)
    document_height: StrictInt = Field(alias="documentHeight", ge=1, le=1_000_000)
    x: Number | None = None
    y: Number | None = None
    selector: Annotated[str, StringConstraints(max_length=512), NoNul] | None = None
    dead: StrictBool | None = None
    fixed: StrictBool | None = None
    depth: Number | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = None
    region: Annotated[str, StringConstraints(min_length=1, max_length=100), NoNul] | None = None
    browser_name: Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul] | None = Field(
        None, alias="browserName"
    )
    user_agent: Annotated[str, StringConstraints(max_length=1024), NoNul] | None = Field(
        None, alias="userAgent"
    )

    @model_validator(mode="after")
    def _type_rules(self) -> WebEventIn:
        try:
            normalize_page_key(self.url)
        except InvalidUrlError as exc:
            raise ValueError(f"url: {exc}") from None
        if self.type == "click":
            if self.x is None:
                raise ValueError("x: is required for a click")
            if self.y is None:
                raise ValueError("y: is required for a click")
            if not 0 <= self.x <= self.document_width:
                raise ValueError(f"x: must be between 0 and documentWidth ({self.document_width})")
            if not 0 <= self.y <= self.document_height:
                raise ValueError(f"y: must be between 0 and documentHeight ({self.document_height})")
        else:
            if self.depth is None:
                raise ValueError("depth: is required for a scroll event")
            if not 0 <= self.depth <= 100:
                raise ValueError("depth: must be between 0 and 100")
        return self

    @property
    def page_key(self) -> str:
        return normalize_page_key(self.url)


TouchEventType = Literal["TAP", "SCROLL", "ACTION_CLICK"]


def _touch_event_type(value: Any) -> Any:
    if value in (None, "TOUCH_EVENT_TYPE_UNSPECIFIED", 0):
        raise ValueError("event_type is required: one of TAP, SCROLL, ACTION_CLICK")
    numeric = {1: "TAP", 2: "SCROLL", 3: "ACTION_CLICK"}
    return numeric.get(value, value) if isinstance(value, int) and not isinstance(value, bool) else value


def _unit(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0.0 and 1.0")
    return value


class TouchEventIn(BaseModel):
    """One mobile touch event (proto3 JSON: lowerCamelCase or original snake_case names)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    event_id: EventId | None = Field(None, alias="eventId")
    screen_name: Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul] = Field(
        alias="screenName"
    )
    x: Annotated[Number, AfterValidator(_unit)]
    y: Annotated[Number, AfterValidator(_unit)]
    timestamp: Timestamp
    campaign_id: Annotated[str, StringConstraints(max_length=128), NoNul] | None = Field(
        None, alias="campaignId"
    )
    event_type: Annotated[TouchEventType, BeforeValidator(_touch_event_type)] = Field(alias="eventType")

    @model_validator(mode="before")
    @classmethod
    def _accept_snake_case(cls, data: Any) -> Any:
        """proto3 JSON parsers accept both names; the alias covers camelCase, this the original."""
        if isinstance(data, dict):
            for snake, camel in (
                ("event_id", "eventId"),
                ("screen_name", "screenName"),
                ("campaign_id", "campaignId"),
                ("event_type", "eventType"),
            ):
                if snake in data and camel not in data:
                    data = {**data, camel: data[snake]}
        return data


M = TypeVar("M", bound=BaseModel)


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in error["loc"] if not isinstance(part, int))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required"
    return f"{loc}: {message}" if loc else message


def validate_batch(raw_events: Any, model: type[M]) -> list[M]:
    """Validate ``raw_events`` (1-500 items) whole; raise with every problem (first 20) or return all."""
    if not isinstance(raw_events, Sequence) or isinstance(raw_events, str | bytes):
        raise BatchValidationError("events: must be a list of events")
    if not 1 <= len(raw_events) <= MAX_BATCH_EVENTS:
        raise BatchValidationError(
            f"events: a batch holds 1 to {MAX_BATCH_EVENTS} events, got {len(raw_events)}"
        )
    valid: list[M] = []
    problems: list[str] = []
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            problems.append(f"events[{index}]: must be an object")
            continue
        try:
            valid.append(model.model_validate(raw))
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_context=False, include_input=False):
                problems.append(f"events[{index}].{_describe(error)}")
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED_ERRORS])
        more = len(problems) - MAX_REPORTED_ERRORS
        suffix = f"; and {more} more problem(s)" if more > 0 else ""
        raise BatchValidationError(f"invalid events, nothing was stored: {shown}{suffix}")
    return valid
