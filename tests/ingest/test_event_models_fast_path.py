"""validate_web_batch (one pydantic-core call per batch, Python rules in a loop) against the reference
validate_batch(..., WebEventIn) (one model per event): the same events accepted with the same values,
the same batches refused with the same details."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_layer.event_models import (
    BatchValidationError,
    WebEventIn,
    _web_batch_fast,
    validate_batch,
    validate_web_batch,
)
from tests.ingest.test_fuzz_ingest import web_events_invalid, web_events_valid

FIELDS = list(WebEventIn.model_fields)
# Beyond the contract's rule breaks: field names instead of aliases, lax-mode inputs, odd timestamps.
TWISTS: list[tuple[str, Any]] = [
    ("session_id", "by-field-name"), ("viewport_width", 800), ("browser_name", "Firefox"),
    ("eventId", None), ("x", True), ("x", 3), ("depth", 5), ("y", 10**30), ("documentWidth", True),
    ("timestamp", "2026-04-01t12:00:00z"), ("timestamp", "2026-04-01 12:00:00.1234567+05:30"),
    ("timestamp", "2026-04-01T12:00:00Z\n"), ("timestamp", "2026-04-01T12:00:00.5"),
    ("timestamp", "9999-12-31T23:59:59-01:00"), ("timestamp", "0001-01-01T00:00:00Z"),
    ("url", b"https://example.com/"), ("sessionId", b"bytes"), ("type", b"click"), ("country", "us"),
    ("browserName", None), ("userAgent", None), ("selector", None), ("dead", None), ("x", None),
    ("region", "a\x00"), ("browserName", "\x00"), ("userAgent", "\x00"), ("visitorId", "\x00"),
    ("x", 10**400), ("y", -(10**309)), ("depth", 10**400),  # too big for a float, checked or not
]  # fmt: skip


def outcome(validate: Any, raw: Any) -> tuple[str, Any]:
    try:
        events = validate(raw)
    except BatchValidationError as exc:
        return "refused", exc.details
    fields = [event if isinstance(event, dict) else event.model_dump() for event in events]
    # repr also tells 1 from 1.0 and True from 1
    return "accepted", repr([{name: event.get(name) for name in FIELDS} for event in fields])


def assert_same(raw: Any) -> None:
    assert outcome(validate_web_batch, raw) == outcome(lambda r: validate_batch(r, WebEventIn), raw)


@st.composite
def twisted_events(draw: st.DrawFn) -> dict[str, Any]:
    event = draw(st.one_of(web_events_valid(), web_events_invalid()))
    for name, value in draw(st.lists(st.sampled_from(TWISTS), max_size=2)):
        event[name] = value
    return event


@pytest.mark.slow  # hundreds of generated batches against the reference validator
@settings(max_examples=300, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(twisted_events(), max_size=6))
def test_fast_path_matches_the_reference(batch: list[dict[str, Any]]) -> None:
    assert_same(batch)


@pytest.mark.slow
@settings(max_examples=100, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(web_events_valid(), min_size=1, max_size=6))
def test_valid_batches_take_the_fast_path(batch: list[dict[str, Any]]) -> None:
    assert_same(batch)
    assert _web_batch_fast(batch) is not None  # valid batches must not fall back to the slow path


@pytest.mark.parametrize(
    "raw",
    [None, "events", [], [1, {}], (), ({},), [{}] * 501, [[]], [{"type": "click"}] * 3],
    ids=["none", "string", "empty", "non-object", "empty-tuple", "tuple", "too-many", "list", "partial"],
)
def test_batch_shapes_match_the_reference(raw: Any) -> None:
    assert_same(raw)
