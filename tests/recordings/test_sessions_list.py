"""GET /rest/v1/sessions (CONTRACT 13): each field computed by hand on a small site, every filter,
hasRecording, and the cursor rules of 4.1; on SQLite and PostgreSQL, through the replica the API reads
and through SqlStore (the reference) alike."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from polars.testing import assert_frame_equal

from data_layer.filters import WebFilters, Window
from data_layer.replica import ReplicaStore
from data_layer.sessions import SessionQuery
from data_layer.store import SqlStore
from tests.conftest import bearer
from tests.factories import recording_chunk, web_click, web_scroll

SESSIONS = "/rest/v1/sessions"
A, B, C = "https://example.com/a", "https://example.com/b", "https://example.com/c"
WINDOW = {"from": "2026-04-10", "to": "2026-04-11"}


def at(day: int, clock: str) -> str:
    """``2026-04-<day>T<clock>Z``."""
    return f"2026-04-{day:02d}T{clock}Z"


def ingest(client: TestClient, token: str, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 500):
        response = client.post(
            "/rest/v1/events", json={"events": events[start : start + 500]}, headers=bearer(token)
        )
        assert response.status_code == 200, response.text


def record(client: TestClient, token: str, session_id: str, seq: int = 0) -> None:
    response = client.post(
        "/rest/v1/recordings", json=recording_chunk(sessionId=session_id, seq=seq), headers=bearer(token)
    )
    assert response.json() == {"stored": True}, response.text


def listed(client: TestClient, token: str, **params: Any) -> Any:
    response = client.get(SESSIONS, params={**WINDOW, **params}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def ids(body: Any) -> list[str]:
    return [entity["sessionId"] for entity in body["entities"]]


@pytest.fixture
def site(client: TestClient, tokens: dict[str, str]) -> None:
    """Four sessions on 2026-04-10/11 (and one event of s1 the day before, outside the window).

    s1 (v1, US, Chrome): /a at 12:00:00.000, .300, .600 on one spot (a rage event of 3), a scroll of /b
        at 12:00:05, a dead click on /b at 12:00:10; the day before, a click on /z.
    s2 (v2, DE, Bayern, Firefox): one click on /b at 13:00.
    s3 (v3, US, Safari): only a scroll of /a on 04-11 at 09:00.
    s4 (v1, no country or browser): one click on /c at 12:00, the same start as s1.
    s2 and s4 are recorded.
    """
    us = {"country": "us", "browserName": "Chrome", "region": "California"}
    events = [
        web_click(sessionId="s1", url="https://example.com/z", timestamp=at(9, "23:59:00"), **us),
        web_click(sessionId="s1", url=A, timestamp=at(10, "12:00:00"), x=10, y=10, **us),
        web_click(sessionId="s1", url=A, timestamp=at(10, "12:00:00.300"), x=12, y=10, **us),
        web_click(sessionId="s1", url=A, timestamp=at(10, "12:00:00.600"), x=14, y=10, **us),
        web_scroll(sessionId="s1", url=B, timestamp=at(10, "12:00:05"), **us),
        web_click(sessionId="s1", url=f"{B}/", timestamp=at(10, "12:00:10"), dead=True, **us),
        web_click(
            sessionId="s2", visitorId="v2", url=B, timestamp=at(10, "13:00:00"),
            country="DE", region="Bayern", browserName="Firefox",
        ),
        web_scroll(
            sessionId="s3", visitorId="v3", url=A, timestamp=at(11, "09:00:00"),
            country="US", browserName="Safari",
        ),
        web_click(sessionId="s4", url=C, timestamp=at(10, "12:00:00")),
    ]  # fmt: skip
    ingest(client, tokens["ingest"], events)
    record(client, tokens["ingest"], "s2")
    record(client, tokens["ingest"], "s4")
    record(client, tokens["ingest"], "s4", seq=1)
    record(client, tokens["ingest"], "never-visited")  # a recording without web events is listed nowhere


def test_each_field_by_hand(client, tokens, site) -> None:
    body = listed(client, tokens["view"])
    assert body["pagination"] == {"nextCursor": None, "hasMore": False}
    assert body["entities"] == [
        {
            "sessionId": "s3", "visitorId": "v3", "start": "2026-04-11T09:00:00Z", "durationMs": 0,
            "pages": [A], "clicks": 0, "rageEvents": 0, "deadClicks": 0,
            "country": "US", "browserName": "Safari", "hasRecording": False,
        },
        {
            "sessionId": "s2", "visitorId": "v2", "start": "2026-04-10T13:00:00Z", "durationMs": 0,
            "pages": [B], "clicks": 1, "rageEvents": 0, "deadClicks": 0,
            "country": "DE", "browserName": "Firefox", "hasRecording": True,
        },
        {  # the click of 04-09 is outside the window: neither its page nor its time count
            "sessionId": "s1", "visitorId": "v1", "start": "2026-04-10T12:00:00Z", "durationMs": 10_000,
            "pages": [A, B], "clicks": 4, "rageEvents": 1, "deadClicks": 1,
            "country": "US", "browserName": "Chrome", "hasRecording": False,
        },
        {  # the same start as s1: sessionId ascending breaks the tie
            "sessionId": "s4", "visitorId": "v1", "start": "2026-04-10T12:00:00Z", "durationMs": 0,
            "pages": [C], "clicks": 1, "rageEvents": 0, "deadClicks": 0,
            "country": None, "browserName": None, "hasRecording": True,
        },
    ]  # fmt: skip


def test_the_window_decides_what_counts(client, tokens, site) -> None:
    wider = listed(client, tokens["view"], **{"from": "2026-04-09"})
    s1 = next(entity for entity in wider["entities"] if entity["sessionId"] == "s1")
    assert (s1["start"], s1["durationMs"], s1["clicks"]) == (
        "2026-04-09T23:59:00Z",
        (12 * 3600 + 70) * 1000,  # 23:59:00 to 12:00:10 the next day
        5,
    )
    assert s1["pages"] == ["https://example.com/z", A, B]
    assert ids(listed(client, tokens["view"], **{"from": "2026-04-11"})) == ["s3"]
    assert ids(listed(client, tokens["view"], **{"from": "2026-04-12", "to": "2026-04-12"})) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"country": "us"}, ["s3", "s1"]),
        ({"country": "DE"}, ["s2"]),
        ({"region": "BAYERN"}, ["s2"]),
        ({"region": "california"}, ["s1"]),
        ({"browserName": "firefox"}, ["s2"]),
        ({"browserName": "Opera"}, []),
        ({"pageKey": A}, ["s3", "s1"]),
        ({"pageKey": "HTTPS://Example.com:443/b/?utm=x#top"}, ["s2", "s1"]),
        ({"pageKey": "https://example.com/nowhere"}, []),
        ({"hasRecording": "true"}, ["s2", "s4"]),
        ({"hasRecording": "TRUE"}, ["s2", "s4"]),
        ({"hasRecording": "false"}, ["s3", "s1"]),
        ({"country": "US", "pageKey": B}, ["s1"]),
        ({"country": "", "region": " ", "pageKey": "", "hasRecording": ""}, ["s3", "s2", "s1", "s4"]),
    ],
)
def test_filters(client, tokens, site, params: dict[str, str], expected: list[str]) -> None:
    assert ids(listed(client, tokens["view"], **params)) == expected


def test_a_dimension_filter_limits_the_events_counted(client, tokens, site) -> None:
    """Like every query, the filters choose events; pageKey chooses sessions, whose pages all count."""
    ingest(
        client,
        tokens["ingest"],
        [web_click(sessionId="s2", visitorId="v2", url=C, timestamp=at(10, "13:00:01"))],
    )
    (s2,) = listed(client, tokens["view"], country="DE")["entities"]
    assert (s2["clicks"], s2["pages"]) == (1, [B])
    (s2,) = listed(client, tokens["view"], pageKey=B, hasRecording="true")["entities"]
    assert (s2["clicks"], s2["pages"], s2["durationMs"]) == (2, [B, C], 1000)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"from": None}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-04-12"}, "from"),  # after to
        ({"from": "2026-01-01", "to": "2026-04-11"}, "60 days"),
        ({"limit": "ten"}, "limit"),
        ({"hasRecording": "yes"}, "hasRecording"),
        ({"pageKey": "ftp://example.com/a"}, "pageKey"),
        ({"cursor": "nonsense"}, "cursor"),
    ],
)
def test_invalid_parameters_are_a_400(client, tokens, site, params: dict[str, Any], named: str) -> None:
    query = {key: value for key, value in {**WINDOW, **params}.items() if value is not None}
    response = client.get(SESSIONS, params=query, headers=bearer(tokens["view"]))
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "bad_request", "details": response.json()["details"]}
    assert named in response.json()["details"]


def test_limit_is_clamped(client, tokens, site) -> None:
    assert ids(listed(client, tokens["view"], limit="0")) == ["s3"]
    assert len(ids(listed(client, tokens["view"], limit="1000"))) == 4


@pytest.fixture
def crowd(client: TestClient, tokens: dict[str, str]) -> list[str]:
    """37 sessions at random times on 2026-04-10 (some sharing a start), a third recorded; their ids in
    the list's order."""
    rng = random.Random(42)
    starts: dict[str, datetime] = {}
    events = []
    for number in range(37):
        session_id = f"c{number:02d}"
        start = datetime(2026, 4, 10, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 24 * 60, 30))
        starts[session_id] = start
        for step in range(rng.randrange(1, 4)):
            moment = (start + timedelta(seconds=5 * step)).isoformat().replace("+00:00", "Z")
            events.append(web_click(sessionId=session_id, visitorId=f"w{number}", timestamp=moment))
    rng.shuffle(events)
    ingest(client, tokens["ingest"], events)
    for session_id in sorted(starts)[::3]:
        record(client, tokens["ingest"], session_id)
    return sorted(starts, key=lambda s: (-starts[s].timestamp(), s))


def walk(client: TestClient, token: str, limit: int, between: Any = None, **params: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        body = listed(client, token, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        seen += ids(body)
        assert body["pagination"]["hasMore"] == (body["pagination"]["nextCursor"] is not None)
        cursor = body["pagination"]["nextCursor"]
        if cursor is None:
            return seen
        if between is not None:
            between(len(seen))


def recorded_of(crowd: list[str]) -> list[str]:
    """The crowd's recorded sessions (every third by id), in the list's order."""
    chosen = set(sorted(crowd)[::3])
    return [session_id for session_id in crowd if session_id in chosen]


def test_a_walk_yields_each_session_once(client, tokens, crowd, unlimited) -> None:
    assert ids(listed(client, tokens["view"], limit=100)) == crowd
    for limit in (1, 5, 36, 37):
        assert walk(client, tokens["view"], limit) == crowd
    assert walk(client, tokens["view"], 4, hasRecording="true") == recorded_of(crowd)
    assert walk(client, tokens["view"], 4, hasRecording="false") == [
        session_id for session_id in crowd if session_id not in recorded_of(crowd)
    ]


def test_a_walk_ignores_what_arrives_meanwhile(client, tokens, crowd, unlimited) -> None:
    """New sessions (newer than all: they would shift every page) and new recordings arriving between
    pages show in a new walk, never in one under way."""
    recorded = recorded_of(crowd)
    unrecorded = iter([session_id for session_id in crowd if session_id not in recorded])
    arrivals = itertools.count()

    def arrive(seen: int) -> None:
        late = f"late{next(arrivals)}"
        ingest(
            client,
            tokens["ingest"],
            [web_click(sessionId=late, visitorId="late", timestamp=at(10, "23:59:59"))],
        )
        record(client, tokens["ingest"], late)
        record(client, tokens["ingest"], next(unrecorded))

    assert walk(client, tokens["view"], 5, between=arrive) == crowd
    before = ids(listed(client, tokens["view"], limit=100, hasRecording="true"))
    assert set(recorded) < set(before) and before[0].startswith("late")
    assert walk(client, tokens["view"], 3, between=arrive, hasRecording="true") == before
    pages = -(-len(before) // 3)
    after = ids(listed(client, tokens["view"], limit=100, hasRecording="true"))
    assert len(after) == len(before) + 2 * (pages - 1)  # two recorded sessions arrived before each page


def test_cursors_are_bound_to_their_query(client, tokens, crowd) -> None:
    first = listed(client, tokens["view"], limit=5)
    cursor = first["pagination"]["nextCursor"]
    assert ids(listed(client, tokens["view"], limit=7, cursor=cursor)) == crowd[5:12]  # limit may change
    for other in ({"country": "US"}, {"hasRecording": "true"}, {"pageKey": A}, {"to": "2026-04-12"}):
        response = client.get(
            SESSIONS, params={**WINDOW, **other, "cursor": cursor}, headers=bearer(tokens["view"])
        )
        assert response.status_code == 400 and "different query" in response.json()["details"], other
    body, signature = cursor.split(".")
    altered = f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}"
    response = client.get(SESSIONS, params={**WINDOW, "cursor": altered}, headers=bearer(tokens["view"]))
    assert response.status_code == 400
    pages_cursor = client.get(
        "/rest/v1/heatmap-pages", params={**WINDOW, "limit": 1}, headers=bearer(tokens["view"])
    ).json()["pagination"]["nextCursor"]
    if pages_cursor:  # one page only: no cursor to try
        response = client.get(
            SESSIONS, params={**WINDOW, "cursor": pages_cursor}, headers=bearer(tokens["view"])
        )
        assert response.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        SessionQuery(Window(date(2026, 4, 10), date(2026, 4, 11))),
        SessionQuery(Window(date(2026, 4, 10), date(2026, 4, 11)), WebFilters(country="us"), page_key=B),
        SessionQuery(
            Window(date(2026, 4, 10), date(2026, 4, 11)), WebFilters(browser="FIREFOX"), has_recording=True
        ),
        SessionQuery(Window(date(2026, 4, 9), date(2026, 4, 9)), has_recording=False),
    ],
)
def test_the_replica_answers_as_sql_does(site, engine, query: SessionQuery) -> None:
    recorded = {"s2", "s4"}
    pages = [(0, 10), (1, 2), (3, 10)]
    for offset, limit in pages:
        reference = SqlStore(engine).session_page(query, recorded=recorded, offset=offset, limit=limit)
        replica = ReplicaStore(engine).session_page(query, recorded=recorded, offset=offset, limit=limit)
        assert_frame_equal(replica, reference)
    assert SqlStore(engine).session_page(query, recorded=recorded, offset=0, limit=10, as_of_seq=0).is_empty()
