"""What the Session replay view hands the recording player: the recording's first chunks up to the display
limit, the timeline's markers from the session's web events, where it starts, and where a replay may
load resources from."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pydantic import ValidationError
from sqlalchemy import Engine

from dashboard.formatting import to_session_page
from dashboard.recording_player import at_param, click_markers, first_moment, parse_at, start_ms
from data_layer.recordings import load_recording_head, recording_size, store_chunk, validate_chunk
from data_layer.settings import Settings
from data_layer.store import WEB_EVENT_SCHEMA
from tests.factories import RECORDED_AT_MS, recording_chunk, rrweb_event


def store(engine: Engine, seq: int, events: list[dict[str, Any]], session_id: str = "s1") -> int:
    """Stores a chunk; its decoded size."""
    chunk = validate_chunk(recording_chunk(sessionId=session_id, seq=seq, events=events))
    assert store_chunk(engine, chunk, max_bytes=10**9)
    return len(chunk.text)


def events_at(*offsets: int) -> list[dict[str, Any]]:
    return [rrweb_event(3, offset, source=1, pad="x" * 200) for offset in offsets]


# -- the recording's head --------------------------------------------------------------------------


def test_the_whole_recording_when_it_fits(engine: Engine) -> None:
    sizes = [store(engine, seq, events_at(1000 * seq, 1000 * seq + 500)) for seq in (2, 0, 1)]
    store(engine, 0, events_at(0), session_id="other")
    head = load_recording_head(engine, "s1", max_bytes=10**6)
    assert head is not None
    decoded = [zlib.decompress(blob) for blob in head.chunks]
    assert [pl.Series(pl.read_json(text)["timestamp"]).to_list() for text in decoded] == [
        [RECORDED_AT_MS + 1000 * seq, RECORDED_AT_MS + 1000 * seq + 500] for seq in (0, 1, 2)
    ]
    assert (head.session_id, head.visitor_id) == ("s1", "v1")
    assert (head.start_ms, head.end_ms, head.recorded_end_ms) == (
        RECORDED_AT_MS,
        RECORDED_AT_MS + 2500,
        RECORDED_AT_MS + 2500,
    )
    assert (head.size, head.recorded_size, head.recorded_chunks) == (sum(sizes), sum(sizes), 3)
    assert not head.truncated


def test_a_recording_over_the_limit_keeps_its_first_whole_chunks(engine: Engine) -> None:
    sizes = [store(engine, seq, events_at(1000 * seq, 1000 * seq + 500)) for seq in range(4)]
    head = load_recording_head(engine, "s1", max_bytes=sizes[0] + sizes[1] + sizes[2] - 1)
    assert head is not None
    assert len(head.chunks) == 2
    assert head.truncated
    assert (head.size, head.recorded_size, head.recorded_chunks) == (sizes[0] + sizes[1], sum(sizes), 4)
    assert (head.end_ms, head.recorded_end_ms) == (RECORDED_AT_MS + 1500, RECORDED_AT_MS + 3500)


def test_the_first_chunk_is_kept_whatever_its_size(engine: Engine) -> None:
    store(engine, 0, events_at(0, 1))
    store(engine, 1, events_at(2))
    head = load_recording_head(engine, "s1", max_bytes=10)
    assert head is not None
    assert (len(head.chunks), head.recorded_chunks) == (1, 2)


def test_no_recording_is_none(engine: Engine) -> None:
    assert load_recording_head(engine, "nobody", max_bytes=10**6) is None
    assert recording_size(engine, "nobody") is None


def test_a_recording_s_size_changes_with_each_chunk(engine: Engine) -> None:
    first = store(engine, 0, events_at(0))
    assert recording_size(engine, "s1") == (1, first)
    second = store(engine, 1, events_at(1000))
    assert recording_size(engine, "s1") == (2, first + second)


# -- markers and the start ---------------------------------------------------------------------------


def web_events(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Stored web events with only what the markers read set; ``ts`` in ms after 2026-04-10T12:00Z."""
    base = {name: None for name in WEB_EVENT_SCHEMA}
    frame = pl.DataFrame(
        [{**base, "event_type": "click", **{k: v for k, v in row.items() if k != "ms"}} for row in rows],
        schema=WEB_EVENT_SCHEMA,
    )
    moments = pl.Series("ts", [RECORDED_AT_MS + row["ms"] for row in rows], dtype=pl.Int64)
    return frame.with_columns(pl.from_epoch(moments, time_unit="ms").cast(pl.Datetime("us")).alias("ts"))


def test_markers_are_clicks_rage_events_at_their_first_click_and_dead_clicks() -> None:
    events = web_events(
        [
            {"ms": 900, "event_type": "scroll"},
            {"ms": 100},
            {"ms": 2000, "rage": True, "rage_start": True},
            {"ms": 2200, "rage": True, "rage_start": False},
            {"ms": 2400, "rage": True, "rage_start": False, "dead": True},
            {"ms": 5000, "dead": True},
            {"ms": 6000, "dead": False, "rage": False, "rage_start": False},
        ]
    )
    expected = pl.DataFrame(
        {
            "at_ms": [RECORDED_AT_MS + ms for ms in (100, 2000, 5000, 6000)],
            "kind": ["click", "rage", "dead", "click"],
        }
    )
    assert_frame_equal(click_markers(events), expected)


def test_too_many_markers_keep_rage_and_dead_clicks_first() -> None:
    events = web_events(
        [{"ms": ms} for ms in range(0, 50, 10)] + [{"ms": 60, "dead": True}, {"ms": 70, "rage_start": True}]
    )
    assert click_markers(events, limit=3).to_dicts() == [
        {"at_ms": RECORDED_AT_MS + 0, "kind": "click"},
        {"at_ms": RECORDED_AT_MS + 60, "kind": "dead"},
        {"at_ms": RECORDED_AT_MS + 70, "kind": "rage"},
    ]


@pytest.mark.parametrize(
    ("rows", "expected_ms"),
    [
        ([{"ms": 500}, {"ms": 3000, "dead": True}, {"ms": 4000, "rage_start": True}], 3000),
        ([{"ms": 500}, {"ms": 4000, "rage_start": True}, {"ms": 3000, "dead": True}], 3000),
        ([{"ms": 1500, "event_type": "scroll"}, {"ms": 2500}, {"ms": 3500}], 2500),
        ([{"ms": 1500, "event_type": "scroll"}, {"ms": 800, "event_type": "scroll"}], 800),
        ([], None),
    ],
)
def test_without_a_link_s_time_the_player_starts_at_the_first_rage_or_dead_click(
    rows: list[dict[str, Any]], expected_ms: int | None
) -> None:
    moment = first_moment(web_events(rows))
    if expected_ms is None:
        assert moment is None
        return
    assert moment is not None
    assert start_ms(moment) == RECORDED_AT_MS + expected_ms - 3000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1775822400123", datetime(2026, 4, 10, 12, 0, 0, 123000)),
        ("2026-04-10T12:00:00Z", datetime(2026, 4, 10, 12)),
        ("2026-04-10T14:00:00.5+02:00", datetime(2026, 4, 10, 12, 0, 0, 500000)),
        (" 2026-04-10 12:00 ", datetime(2026, 4, 10, 12)),
    ],
)
def test_a_link_s_time_is_ms_or_iso(text: str, expected: datetime) -> None:
    assert parse_at(text) == expected
    assert parse_at(at_param(expected)) == expected.replace(microsecond=expected.microsecond // 1000 * 1000)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "soon",
        "-5",
        "1e5",
        "\uff11\uff12\uff13",  # fullwidth digits: str.isdigit() says yes
        "9" * 20,
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:00:00-05:00",
        "x" * 500,
    ],
)
def test_a_garbled_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="at must"):
        parse_at(text)


def test_links_to_another_tool_are_left_alone() -> None:
    dashboard = "http://127.0.0.1:8501"
    own = f"{dashboard}/session?sessionId=a&visitorId=b&date=2026-11-01"
    assert to_session_page(own, dashboard + "/", pageKey="https://x.example/a b?c=d&e", at="1") == (
        f"{own}&pageKey=https%3A%2F%2Fx.example%2Fa%20b%3Fc%3Dd%26e&at=1"
    )
    elsewhere = "https://replays.example.com/watch?session=a"
    assert to_session_page(elsewhere, dashboard, pageKey="p", at="1") == elsewhere
    assert to_session_page(f"{dashboard}/sessionx?a=1", dashboard, at="1") == f"{dashboard}/sessionx?a=1"


# -- where a replay may load resources from --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "sources"),
    [
        ("", ()),
        ("*", ("http:", "https:")),
        (
            "https://Shop.Example.com, https://*.cdn.example.net:8443/ ,http://[::1]:8080",
            ("https://shop.example.com", "https://*.cdn.example.net:8443", "http://[::1]:8080"),
        ),
    ],
)
def test_replay_resource_origins(value: str, sources: tuple[str, ...]) -> None:
    assert Settings(_env_file=None, replay_resource_origins=value).replay_resource_sources == sources


@pytest.mark.parametrize(
    "value",
    ["https://a;b", "https://a'b", "https://a.example.com/path", "javascript:x", "https://a *", "data:"],
)
def test_replay_resource_origins_that_a_policy_could_misread_are_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="replay resource origin"):
        Settings(_env_file=None, replay_resource_origins=value)
