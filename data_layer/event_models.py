"""Validation of incoming events (CONTRACT 3.1 web events, 5 touch events).

A batch is validated whole: :func:`validate_batch` returns every valid event or raises
:class:`BatchValidationError` naming the index and field of each invalid one (the first 20).
Web events, the hot path of ingestion, go through :func:`validate_web_batch`: one pydantic-core call
checks the native constraints of the whole batch, a plain loop the Python rules, and only a batch that
fails is validated again event by event through :class:`WebEventIn` to word the errors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Required, TypeVar, get_args

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
    TypeAdapter,
    ValidationError,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from data_layer.errors import BadRequest
from data_layer.urls import InvalidUrlError, normalize_page_key

MAX_BATCH_EVENTS = 500
MAX_REPORTED_ERRORS = 20
MAX_FUTURE_SKEW = timedelta(minutes=5)
EVENT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


class BatchValidationError(BadRequest):
    """A batch with at least one invalid event; ``details`` is the client-facing explanation."""


def _utc_datetime(value: Any) -> datetime:
    """RFC 3339 with an offset or ``Z`` -> naive UTC datetime (microseconds; extra digits dropped)."""
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("must be an RFC 3339 timestamp with an offset or Z, e.g. 2026-04-01T12:00:00Z")
    fraction, offset = match.groups()
    text = value[: match.start(2)]  # date and time as sent, without the offset
    if text[10] != "T" or (fraction and len(fraction) != 7):  # Python parses 6 fractional digits
        text = f"{value[:10]}T{value[11:19]}{fraction[:7].ljust(7, '0') if fraction else ''}"
    try:
        if match.end() != len(value):  # "$" also matches before a final newline
            raise ValueError
        if offset in ("Z", "z"):  # already UTC: no time zone arithmetic
            return datetime.fromisoformat(text)
        return datetime.fromisoformat(text + offset).astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        raise ValueError("is not a valid date and time") from None
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before the first representable instant
        raise ValueError("is outside the years 1 to 9999 in UTC") from None


def latest_allowed() -> datetime:
    """The latest acceptable event time (naive UTC): now plus the allowed clock skew."""
    return datetime.now(UTC).replace(tzinfo=None) + MAX_FUTURE_SKEW


def _parse_timestamp(value: Any) -> datetime:
    utc = _utc_datetime(value)
    if utc > latest_allowed():
        raise ValueError("must not be more than 5 minutes in the future")
    return utc


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
Finite = AfterValidator(_finite)
Timestamp = Annotated[datetime, BeforeValidator(_parse_timestamp)]
Number = Annotated[StrictInt | StrictFloat, Finite]
EventId = Annotated[str, StringConstraints(pattern=EVENT_ID_PATTERN)]
# The native (pydantic-core) part of each web event field, shared by WebEventIn and the batch fast path.
Text128 = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Url = Annotated[str, StringConstraints(max_length=2048)]
ViewportSide = Annotated[StrictInt, Field(ge=1, le=20_000)]
DocumentSide = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
Selector = Annotated[str, StringConstraints(max_length=512)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
Region = Annotated[str, StringConstraints(min_length=1, max_length=100)]
BrowserName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
UserAgent = Annotated[str, StringConstraints(max_length=1024)]
# The fast path's native stand-ins for NoNul and Finite: checked inside pydantic-core, no Python call.
NulFree = StringConstraints(pattern=r"^[^\x00]*$")
FiniteNumber = StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]
# Segments (CONTRACT 14). Control characters are refused: they separate the parts of a replica's segment
# key (data_layer/segments.py) and have no business in a campaign name or a tag.
TAG_KEY_PATTERN = r"^[A-Za-z0-9_.-]{1,32}$"
MAX_TAGS = 10
Campaign = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{0,128}$")]
# A host with an optional port and nothing else: a path, query, user or space is refused, so a referrer's
# path cannot be stored even by a client that sends one.
ReferrerHost = Annotated[str, StringConstraints(pattern=r"^[^\s/?#@\\\x00-\x1f\x7f]{1,255}$")]
TagKey = Annotated[str, StringConstraints(pattern=TAG_KEY_PATTERN)]
TagValue = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{0,64}$")]
Tags = Annotated[dict[TagKey, TagValue], Field(max_length=MAX_TAGS)]
RectPosition = Annotated[FiniteNumber, Field(ge=-1_000_000, le=2_000_000)]
RectSide = Annotated[FiniteNumber, Field(ge=0, le=1_000_000)]


class ElementRect(TypedDict):
    """The clicked element's box (CONTRACT 15): document CSS px, viewport px for a fixed element."""

    x: RectPosition
    y: RectPosition
    width: RectSide
    height: RectSide


def _check_type_rules(
    kind: str, url: str, x: float | None, y: float | None, depth: float | None, width: int, height: int
) -> None:
    """Rules across fields: a valid URL, x/y inside the document for a click, a depth for a scroll."""
    try:
        normalize_page_key(url)
    except InvalidUrlError as exc:
        raise ValueError(f"url: {exc}") from None
    if kind == "click":
        if x is None:
            raise ValueError("x: is required for a click")
        if y is None:
            raise ValueError("y: is required for a click")
        if not 0 <= x <= width:
            raise ValueError(f"x: must be between 0 and documentWidth ({width})")
        if not 0 <= y <= height:
            raise ValueError(f"y: must be between 0 and documentHeight ({height})")
    else:
        if depth is None:
            raise ValueError("depth: is required for a scroll event")
        if not 0 <= depth <= 100:
            raise ValueError("depth: must be between 0 and 100")


class WebEventIn(BaseModel):
    """One web event as sent by the tracker (camelCase JSON); the reference for error messages."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    event_id: EventId | None = Field(None, alias="eventId")
    type: Literal["click", "scroll"]
    timestamp: Timestamp
    session_id: Annotated[Text128, NoNul] = Field(alias="sessionId")
    visitor_id: Annotated[Text128, NoNul] = Field(alias="visitorId")
    url: Url
    viewport_width: ViewportSide = Field(alias="viewportWidth")
    viewport_height: ViewportSide = Field(alias="viewportHeight")
    document_width: DocumentSide = Field(alias="documentWidth")
    document_height: DocumentSide = Field(alias="documentHeight")
    x: Number | None = None
    y: Number | None = None
    selector: Annotated[Selector, NoNul] | None = None
    dead: StrictBool | None = None
    fixed: StrictBool | None = None
    depth: Number | None = None
    country: Country | None = None
    region: Annotated[Region, NoNul] | None = None
    browser_name: Annotated[BrowserName, NoNul] | None = Field(None, alias="browserName")
    user_agent: Annotated[UserAgent, NoNul] | None = Field(None, alias="userAgent")
    utm_source: Campaign | None = Field(None, alias="utmSource")
    utm_medium: Campaign | None = Field(None, alias="utmMedium")
    utm_campaign: Campaign | None = Field(None, alias="utmCampaign")
    referrer_host: ReferrerHost | None = Field(None, alias="referrerHost")
    tags: Tags | None = None
    element_rect: ElementRect | None = Field(None, alias="elementRect")

    @model_validator(mode="after")
    def _type_rules(self) -> WebEventIn:
        _check_type_rules(
            self.type, self.url, self.x, self.y, self.depth, self.document_width, self.document_height
        )
        return self


@with_config(ConfigDict(extra="ignore", populate_by_name=True))
class _WebEventFields(TypedDict, total=False):
    """WebEventIn's fields with only their native constraints (the Python rules run in a loop after)."""

    event_id: Annotated[EventId | None, Field(alias="eventId")]
    type: Required[Literal["click", "scroll"]]
    timestamp: Required[Any]
    session_id: Required[Annotated[Text128, NulFree, Field(alias="sessionId")]]
    visitor_id: Required[Annotated[Text128, NulFree, Field(alias="visitorId")]]
    url: Required[Url]
    viewport_width: Required[Annotated[ViewportSide, Field(alias="viewportWidth")]]
    viewport_height: Required[Annotated[ViewportSide, Field(alias="viewportHeight")]]
    document_width: Required[Annotated[DocumentSide, Field(alias="documentWidth")]]
    document_height: Required[Annotated[DocumentSide, Field(alias="documentHeight")]]
    x: FiniteNumber | None
    y: FiniteNumber | None
    selector: Annotated[Selector, NulFree] | None
    dead: StrictBool | None
    fixed: StrictBool | None
    depth: FiniteNumber | None
    country: Country | None
    region: Annotated[Region, NulFree] | None
    browser_name: Annotated[Annotated[BrowserName, NulFree] | None, Field(alias="browserName")]
    user_agent: Annotated[Annotated[UserAgent, NulFree] | None, Field(alias="userAgent")]
    utm_source: Annotated[Campaign | None, Field(alias="utmSource")]
    utm_medium: Annotated[Campaign | None, Field(alias="utmMedium")]
    utm_campaign: Annotated[Campaign | None, Field(alias="utmCampaign")]
    referrer_host: Annotated[ReferrerHost | None, Field(alias="referrerHost")]
    tags: Tags | None
    element_rect: Annotated[ElementRect | None, Field(alias="elementRect")]


def _fields_with(validator: AfterValidator) -> tuple[str, ...]:
    """WebEventIn fields whose annotation carries ``validator``: the fast path applies the same ones."""

    def carries(annotation: Any) -> bool:
        return annotation is validator or any(carries(arg) for arg in get_args(annotation))

    return tuple(
        name
        for name, field in WebEventIn.model_fields.items()
        if validator in field.metadata or carries(field.annotation)
    )


_WEB_BATCH = TypeAdapter(list[_WebEventFields])
_NUMBER_FIELDS = _fields_with(Finite)


def _web_batch_fast(raw_events: Any) -> list[dict[str, Any]] | None:
    """The validated fields of every event, or None when any rule fails (the caller words the errors)."""
    if not isinstance(raw_events, list) or not 1 <= len(raw_events) <= MAX_BATCH_EVENTS:
        return None
    if not all(isinstance(raw, dict) for raw in raw_events):
        return None
    try:
        events = _WEB_BATCH.validate_python(raw_events)
        for event in events:
            event["timestamp"] = _utc_datetime(event["timestamp"])
            _check_type_rules(
                event["type"],
                event["url"],
                event.get("x"),
                event.get("y"),
                event.get("depth"),
                event["document_width"],
                event["document_height"],
            )
            for name in _NUMBER_FIELDS:  # an unchecked one (x of a scroll) may not fit: OverflowError
                if type(value := event.get(name)) is int:
                    event[name] = float(value)
    except (ValueError, OverflowError):  # pydantic's ValidationError is a ValueError too
        return None
    if max(event["timestamp"] for event in events) > latest_allowed():
        return None
    return events


def validate_web_batch(raw_events: Any) -> list[dict[str, Any]]:
    """Validate a raw batch of web events whole, exactly as :func:`validate_batch` with WebEventIn does.

    Returns each event's fields by WebEventIn field name (optional ones may be absent). Per-event model
    instances cost several times what the checks do, so valid batches never build them.
    """
    events = _web_batch_fast(raw_events)
    if events is None:
        events = [event.model_dump() for event in validate_batch(raw_events, WebEventIn)]
    return events


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


def describe_error(error: dict[str, Any]) -> str:
    """A pydantic error as ``field.path: what is wrong`` (list indexes left out: callers name them)."""
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
                problems.append(f"events[{index}].{describe_error(error)}")
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED_ERRORS])
        more = len(problems) - MAX_REPORTED_ERRORS
        suffix = f"; and {more} more problem(s)" if more > 0 else ""
        raise BatchValidationError(f"invalid events, nothing was stored: {shown}{suffix}")
    return valid
