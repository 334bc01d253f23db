"""Property tests of ingestion with generated payloads (hypothesis), through the HTTP API.

Strategies build valid web and touch events over the whole space the contract allows (every optional
field, any time zone offset, URLs with ports, IPv6 hosts, queries and fragments, integer or fractional
coordinates up to the document edge) and invalid ones by breaking exactly one rule of a valid event
(a missing or mistyped field, a number out of range or not finite, a bad or future timestamp, a
non-http URL, an over-long or NUL-holding string, a bad id or country).

Properties, on SQLite and PostgreSQL:
- a batch with invalid events is refused whole with 400 (invalid_argument on Connect) naming the index
  of every invalid event (up to 20), and nothing of it is stored;
- an accepted batch answers ``ingested`` = the events whose id is new (or absent) and ``duplicates`` =
  the rest, the database grows by exactly ``ingested`` rows, and the pages list counts every stored click
  exactly once.
The request body is serialised here (not by the HTTP client) so NaN and Infinity reach the server.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from data_layer.schema import touch_events, web_events
from tests.conftest import bearer

pytestmark = pytest.mark.slow  # property tests over whole batches on both databases

WINDOW = {"from": "2026-03-01", "to": "2026-04-29"}  # 60 days: every generated timestamp falls inside
FIRST, LAST = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 29, 23, 59, 59, tzinfo=UTC)
ID_ALPHABET = string.ascii_letters + string.digits + "._:-"
PATH_ALPHABET = string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:@/"
FUZZ = settings(
    max_examples=30,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1)
event_ids = st.text(ID_ALPHABET, min_size=1, max_size=64)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """An RFC 3339 instant inside WINDOW, written in any offset between -14:00 and +14:00 (or Z)."""
    moment = draw(st.datetimes(min_value=FIRST.replace(tzinfo=None), max_value=LAST.replace(tzinfo=None)))
    offset = draw(st.integers(-14 * 60, 14 * 60))
    local = moment.replace(tzinfo=UTC).astimezone(timezone(timedelta(minutes=offset)))
    written = local.isoformat()
    return written.replace("+00:00", "Z") if offset == 0 and draw(st.booleans()) else written


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "Http"]))
    host = draw(
        st.sampled_from(["example.com", "Shop.Example.ORG", "127.0.0.1", "[::1]", "xn--bcher-kva.de"])
    )
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
    path = draw(st.text(PATH_ALPHABET, max_size=40))
    tail = draw(st.sampled_from(["", "?utm=1", "#top", "?a=1&b=%20#x"]))
    return f"{scheme}://{host}{port}/{path}{tail}"


@st.composite
def web_events_valid(draw: st.DrawFn, ids: st.SearchStrategy[str | None] = event_ids) -> dict[str, Any]:
    document_width = draw(st.integers(1, 1_000_000))
    document_height = draw(st.integers(1, 1_000_000))
    event: dict[str, Any] = {
        "type": draw(st.sampled_from(["click", "scroll"])),
        "timestamp": draw(timestamps()),
        "sessionId": draw(text.filter(lambda s: len(s) <= 128)),
        "visitorId": draw(text.filter(lambda s: len(s) <= 128)),
        "url": draw(urls()),
        "viewportWidth": draw(st.integers(1, 20_000)),
        "viewportHeight": draw(st.integers(1, 20_000)),
        "documentWidth": document_width,
        "documentHeight": document_height,
    }
    event_id = draw(ids)
    if event_id is not None:
        event["eventId"] = event_id
    if event["type"] == "click":
        for axis, edge in (("x", document_width), ("y", document_height)):
            event[axis] = draw(st.one_of(st.integers(0, edge), st.floats(0, edge, allow_nan=False)))
    else:
        event["depth"] = draw(st.floats(0, 100))
    optional = {
        "selector": st.text(max_size=512).filter(lambda s: "\x00" not in s),
        "dead": st.booleans(),
        "fixed": st.booleans(),
        "country": st.text(string.ascii_letters, min_size=2, max_size=2),
        "region": text.filter(lambda s: len(s) <= 100),
        "browserName": text.filter(lambda s: len(s) <= 64),
        "userAgent": st.sampled_from(["Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "curl/8.0", ""]),
        "somethingUnknown": st.just({"nested": [1, 2]}),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            event[name] = draw(strategy)
    if event["type"] == "click" and "selector" in event:
        event["selector"] = event["selector"].replace("\ud800", "")
    return event


# One broken rule each: (field, value); value None removes the field.
WEB_BREAKS: list[tuple[str, Any]] = [
    ("type", None), ("type", "hover"), ("timestamp", None), ("timestamp", "2026-04-10"),
    ("timestamp", "2026-04-10T12:00:00"), ("timestamp", "2026-02-30T00:00:00Z"),
    ("timestamp", "2999-01-01T00:00:00Z"), ("timestamp", "0001-01-01T00:00:00+01:00"),
    ("timestamp", 1712750400), ("sessionId", None), ("sessionId", ""), ("sessionId", "s" * 129),
    ("sessionId", "a\x00b"), ("sessionId", 5), ("visitorId", None), ("url", None),
    ("url", "javascript:alert(1)"), ("url", "ftp://example.com/x"), ("url", "/relative/path"),
    ("url", "https://"), ("url", "https://exa mple.com/"), ("url", "https://example.com/" + "a" * 2030),
    ("viewportWidth", None), ("viewportWidth", 0), ("viewportWidth", 20_001), ("viewportWidth", "800"),
    ("viewportWidth", 1e308), ("viewportHeight", 10**30), ("documentWidth", 1_000_001),
    ("documentHeight", 0), ("documentHeight", 12.5), ("eventId", ""), ("eventId", "has space"),
    ("eventId", "x" * 65), ("selector", "s" * 513), ("selector", "a\x00"), ("dead", "true"),
    ("fixed", 1), ("country", "USA"), ("country", "1A"), ("region", ""), ("region", "r" * 101),
    ("browserName", "b" * 65), ("userAgent", "u" * 1025), ("x", float("nan")), ("y", float("inf")),
    ("x", 1e308), ("x", -0.5), ("depth", float("-inf")), ("depth", 100.5), ("depth", -1),
]  # fmt: skip


@st.composite
def web_events_invalid(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with exactly one rule broken (click-only fields only on clicks, depth on scrolls)."""
    event = draw(web_events_valid())
    candidates = [
        (name, value)
        for name, value in WEB_BREAKS
        if not (name in ("x", "y") and event["type"] != "click")
        and not (name == "depth" and event["type"] != "scroll")
    ]
    name, value = draw(st.sampled_from(candidates))
    if value is None:
        event.pop(name, None)
        if name not in ("type", "timestamp", "sessionId", "visitorId", "url", "viewportWidth"):
            event[name] = 0  # optional fields may be absent: make the removal a type error instead
    else:
        event[name] = value
    return event


def post_raw(client, path: str, token: str, payload: Any):
    body = json.dumps(payload, allow_nan=True).encode()
    return client.post(path, content=body, headers={**bearer(token), "Content-Type": "application/json"})


def count(engine: Engine, table: Any, **where: str) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return conn.scalar(query)


def stored_ids(engine: Engine, table: Any) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(table.c.event_id).where(table.c.event_id.is_not(None))))


def expected_new(events: list[dict[str, Any]], known: set[str], id_key: str = "eventId") -> int:
    """Events the server must store: no id, or an id neither stored nor seen earlier in the batch."""
    seen = set(known)
    new = 0
    for event in events:
        event_id = event.get(id_key)
        if event_id is None:
            new += 1
        elif event_id not in seen:
            seen.add(event_id)
            new += 1
    return new


def api_clicks(client, token: str) -> int:
    """Total clicks of the pages list over WINDOW, walking every page with cursors."""
    total, cursor = 0, None
    while True:
        params = {**WINDOW, "limit": "100", **({"cursor": cursor} if cursor else {})}
        body = client.get("/rest/v1/heatmap-pages", params=params, headers=bearer(token)).json()
        total += sum(entity["totalClicks"] for entity in body["entities"])
        if not body["pagination"]["hasMore"]:
            return total
        cursor = body["pagination"]["nextCursor"]


@FUZZ
@given(
    valid=st.lists(web_events_valid(), max_size=20),
    invalid=st.lists(web_events_invalid(), min_size=1, max_size=25),
    data=st.data(),
)
def test_a_batch_with_invalid_events_is_refused_whole(
    client, tokens, engine, unlimited, valid, invalid, data
) -> None:
    batch = list(valid)
    bad_positions = []
    for event in invalid:
        position = data.draw(st.integers(0, len(batch)))
        batch.insert(position, event)
        bad_positions = [p + (p >= position) for p in bad_positions] + [position]
    before = count(engine, web_events)
    response = post_raw(client, "/rest/v1/events", tokens["ingest"], {"events": batch})
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error", "details"} and body["error"] == "bad_request"
    named = {int(part.split("]")[0]) for part in body["details"].split("events[")[1:]}
    assert named == set(sorted(bad_positions)[:20]), body["details"]  # one problem per broken event
    assert count(engine, web_events) == before


@FUZZ
@given(
    batches=st.lists(
        st.lists(
            web_events_valid(ids=st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]), event_ids)),
            min_size=1,
            max_size=30,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_accepted_batches_are_counted_exactly_once(client, tokens, engine, unlimited, batches) -> None:
    for batch in batches:
        known = stored_ids(engine, web_events)
        new = expected_new(batch, known)
        before = count(engine, web_events)
        response = post_raw(client, "/rest/v1/events", tokens["ingest"], {"events": batch})
        assert response.status_code == 200, response.text
        assert response.json() == {"ingested": new, "duplicates": len(batch) - new}
        assert count(engine, web_events) == before + new
    assert api_clicks(client, tokens["view"]) == count(engine, web_events, event_type="click")


@st.composite
def touch_events_valid(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {
        "screenName": draw(text.filter(lambda s: len(s) <= 200)),
        "x": draw(st.one_of(st.floats(0, 1), st.sampled_from([0, 1]))),
        "y": draw(st.floats(0, 1)),
        "timestamp": draw(timestamps()),
        "eventType": draw(st.sampled_from(["TAP", "SCROLL", "ACTION_CLICK", 1, 2, 3])),
    }
    if draw(st.booleans()):
        event["eventId"] = draw(st.one_of(st.sampled_from(["t1", "t2"]), event_ids))
    if draw(st.booleans()):
        event["campaignId"] = draw(st.text(max_size=128).filter(lambda s: "\x00" not in s))
    if draw(st.booleans()):  # proto3 JSON parsers accept the original field names too
        event = {
            {"screenName": "screen_name", "eventType": "event_type"}.get(k, k): v for k, v in event.items()
        }
    return event


TOUCH_BREAKS: list[tuple[str, Any]] = [
    ("screenName", None), ("screenName", ""), ("screenName", "s" * 201), ("screenName", "a\x00"),
    ("x", None), ("x", 1.5), ("x", -0.1), ("x", float("nan")), ("y", float("inf")), ("y", "0.5"),
    ("timestamp", None), ("timestamp", "2999-01-01T00:00:00Z"), ("timestamp", "yesterday"),
    ("eventType", None), ("eventType", "TOUCH_EVENT_TYPE_UNSPECIFIED"), ("eventType", 0),
    ("eventType", "SWIPE"), ("eventType", 7), ("campaignId", "c" * 129), ("eventId", "bad id"),
]  # fmt: skip


@FUZZ
@given(
    valid=st.lists(touch_events_valid(), max_size=10),
    broken=st.sampled_from(TOUCH_BREAKS),
    position=st.integers(0, 10),
)
def test_touch_batches_refused_whole_or_counted_exactly(
    client, tokens, engine, unlimited, valid, broken, position
) -> None:
    url = "/heatmap.v1.HeatmapService/IngestTouchEvents"
    camel = [
        {{"screen_name": "screenName", "event_type": "eventType"}.get(k, k): v for k, v in e.items()}
        for e in valid
    ]
    bad = (
        dict(camel[0])
        if camel
        else {"screenName": "s", "x": 0.5, "y": 0.5, "timestamp": "2026-04-01T00:00:00Z", "eventType": "TAP"}
    )
    name, value = broken
    if value is None:
        bad.pop(name, None)
    else:
        bad[name] = value
    before = count(engine, touch_events)
    batch = [*valid]
    batch.insert(min(position, len(batch)), bad)
    refused = post_raw(client, url, tokens["ingest"], {"events": batch})
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "invalid_argument" and set(refused.json()) == {"code", "message"}
    assert count(engine, touch_events) == before
    if valid:
        new = expected_new(camel, stored_ids(engine, touch_events))
        accepted = post_raw(client, url, tokens["ingest"], {"events": valid})
        assert accepted.json() == {"ingestedCount": new}
        assert count(engine, touch_events) == before + new
