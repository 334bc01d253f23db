"""Reading a session's recording (CONTRACT 13): its chunks' events in seq order, 404 without one."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import bearer
from tests.factories import recording_chunk, rrweb_event

UPLOAD = "/rest/v1/recordings"


def recording(client, token: str, session_id: str) -> Any:
    return client.get(f"/rest/v1/sessions/{session_id}/recording", headers=bearer(token))


def test_the_events_come_in_seq_order_whatever_the_arrival(client, tokens) -> None:
    chunks = {
        seq: recording_chunk(
            seq=seq, visitorId=f"v-{seq}", events=[rrweb_event(3, 10 * seq + i) for i in range(3)]
        )
        for seq in (0, 1, 2, 7)
    }
    for seq in (7, 2, 0, 1):  # the network may reorder a session's uploads
        assert client.post(UPLOAD, json=chunks[seq], headers=bearer(tokens["ingest"])).json() == {
            "stored": True
        }
    client.post(UPLOAD, json=recording_chunk(sessionId="other"), headers=bearer(tokens["ingest"]))
    response = recording(client, tokens["view"], "s1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "sessionId": "s1",
        "visitorId": "v-0",  # the first chunk's
        "events": [event for seq in (0, 1, 2, 7) for event in chunks[seq]["events"]],
    }


def test_the_events_come_back_as_they_were_sent(client, tokens) -> None:
    """Text of any script, numbers of any size, nesting and key order survive the round trip."""
    events = [
        {
            "type": 2,
            "timestamp": 1_775_822_400_000,
            "data": {"node": {"id": 1, "childNodes": [{"t": "ééé 🙂 \u2028"}]}},
        },
        {
            "timestamp": 1_775_822_400_001.5,
            "type": 3,
            "data": {"x": -1e-7, "big": 123456789012345678901234567890},
        },
        {"type": 5, "timestamp": 1_775_822_400_002, "data": {"tag": "custom", "payload": None, "ok": True}},
    ]
    sent = json.dumps(recording_chunk(events=events), ensure_ascii=False).encode()
    headers = {**bearer(tokens["ingest"]), "Content-Type": "application/json"}
    assert client.post(UPLOAD, content=sent, headers=headers).json() == {"stored": True}
    body = recording(client, tokens["view"], "s1").json()
    assert body["events"] == events
    assert [list(event) for event in body["events"]] == [list(event) for event in events]


def test_a_large_recording_is_read_whole(client, tokens, unlimited) -> None:
    chunks = [
        recording_chunk(seq=seq, events=[rrweb_event(3, seq, text=f"{seq}" * 200_000)]) for seq in range(30)
    ]
    for chunk in chunks:
        assert client.post(UPLOAD, json=chunk, headers=bearer(tokens["ingest"])).json() == {"stored": True}
    body = recording(client, tokens["view"], "s1").json()
    assert body["events"] == [chunk["events"][0] for chunk in chunks]


def test_a_session_without_a_recording_is_404(client, tokens) -> None:
    client.post(UPLOAD, json=recording_chunk(sessionId="recorded"), headers=bearer(tokens["ingest"]))
    for session_id in ("s1", "recorded-not", "RECORDED"):
        response = recording(client, tokens["view"], session_id)
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "details": f"session {session_id} has no recording"}
    too_long = recording(client, tokens["view"], "s" * 129)
    assert too_long.status_code == 400 and too_long.json()["error"] == "bad_request"


def test_session_ids_are_taken_verbatim_from_the_path(client, tokens) -> None:
    odd = "a b/c?d#é"
    client.post(UPLOAD, json=recording_chunk(sessionId=odd), headers=bearer(tokens["ingest"]))
    path = "/rest/v1/sessions/a%20b%2Fc%3Fd%23%C3%A9/recording"
    response = client.get(path, headers=bearer(tokens["view"]))
    assert response.status_code == 200, response.text
    assert response.json()["sessionId"] == odd
