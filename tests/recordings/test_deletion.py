"""Recordings go with the events (CONTRACT 13): ``heatmaps forget --visitor`` removes the visitor's
chunks, ``heatmaps purge --older-than`` the chunks stored before the cutoff; what is left reads, lists
and counts towards the cap as if the deleted chunks had never been stored. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from data_layer.schema import recording_chunks, recordings
from heatmaps_cli.app import app as cli
from tests.conftest import bearer
from tests.factories import recording_chunk, web_click


def upload(client, token: str, session_id: str, seq: int, visitor_id: str) -> None:
    chunk = recording_chunk(sessionId=session_id, seq=seq, visitorId=visitor_id)
    assert client.post("/rest/v1/recordings", json=chunk, headers=bearer(token)).json() == {"stored": True}


def chunks(engine: Engine) -> list[tuple[str, int, str]]:
    query = select(recording_chunks.c.session_id, recording_chunks.c.seq, recording_chunks.c.visitor_id)
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(query))


def summaries(engine: Engine) -> dict[str, tuple[int, int, datetime]]:
    """The ``recordings`` rows, checked against their chunks: each one's count, size and first time."""
    c = recording_chunks.c
    truth = select(c.session_id, func.count(), func.sum(c.decoded_size), func.min(c.created_at)).group_by(
        c.session_id
    )
    with engine.connect() as conn:
        kept = {row[0]: tuple(row[1:]) for row in conn.execute(select(recordings))}
        computed = {row[0]: tuple(row[1:]) for row in conn.execute(truth)}
    assert kept == computed
    return kept


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def body(client, token: str, session_id: str) -> Any:
    return client.get(f"/rest/v1/sessions/{session_id}/recording", headers=bearer(token))


def test_forget_removes_the_visitor_s_chunks(client, tokens, settings, engine) -> None:
    token = tokens["ingest"]
    upload(client, token, "s1", 0, "gone")
    upload(client, token, "s1", 1, "gone")
    upload(client, token, "s2", 0, "gone")  # the visitor id was reset in the middle of s2
    upload(client, token, "s2", 1, "stay")
    upload(client, token, "s3", 0, "stay")
    clicks = [
        web_click(sessionId=s, visitorId=v) for s, v in (("s1", "gone"), ("s2", "stay"), ("s3", "stay"))
    ]
    assert client.post("/rest/v1/events", json={"events": clicks}, headers=bearer(token)).status_code == 200
    summaries(engine)

    assert (
        run("forget", "--visitor", "gone")
        == "deleted 1 web events, 0 touch events and 3 recording chunks of gone"
    )

    assert chunks(engine) == [("s2", 1, "stay"), ("s3", 0, "stay")]
    assert set(summaries(engine)) == {"s2", "s3"}
    assert body(client, tokens["view"], "s1").status_code == 404
    assert body(client, tokens["view"], "s2").json() == {
        "sessionId": "s2",
        "visitorId": "stay",
        "events": recording_chunk()["events"],
    }
    listed = client.get(
        "/rest/v1/sessions", params={"from": "2026-04-10", "to": "2026-04-10"}, headers=bearer(tokens["view"])
    ).json()["entities"]
    assert {entity["sessionId"]: entity["hasRecording"] for entity in listed} == {"s2": True, "s3": True}
    assert run("forget", "--visitor", "gone").endswith("and 0 recording chunks of gone")


def test_purge_removes_the_chunks_stored_before_the_cutoff(client, tokens, settings, engine) -> None:
    token = tokens["ingest"]
    now = datetime.now(UTC).replace(tzinfo=None)
    for session_id, seq in (("old", 0), ("old", 1), ("mixed", 0), ("mixed", 1), ("new", 0)):
        upload(client, token, session_id, seq, "v1")
    stored_at = {
        ("old", 0): now - timedelta(days=40),
        ("old", 1): now - timedelta(days=31, hours=1),
        ("mixed", 0): now - timedelta(days=35),
        ("mixed", 1): now - timedelta(days=29),
        ("new", 0): now,
    }
    with engine.begin() as conn:  # as if stored long ago: only the server's time of storing counts
        for (session_id, seq), moment in stored_at.items():
            key = (recording_chunks.c.session_id == session_id) & (recording_chunks.c.seq == seq)
            conn.execute(update(recording_chunks).where(key).values(created_at=moment))
        for session_id in ("old", "mixed", "new"):
            first = min(moment for (s, _), moment in stored_at.items() if s == session_id)
            conn.execute(
                update(recordings).where(recordings.c.session_id == session_id).values(first_stored_at=first)
            )
    summaries(engine)

    assert run("purge", "--older-than", "30") == "deleted 0 web events, 0 touch events and 3 recording chunks"

    assert chunks(engine) == [("mixed", 1, "v1"), ("new", 0, "v1")]
    size = len(json.dumps(recording_chunk()["events"], separators=(",", ":")))
    assert summaries(engine) == {"mixed": (1, size, stored_at[("mixed", 1)]), "new": (1, size, now)}
    assert body(client, tokens["view"], "old").status_code == 404
    assert body(client, tokens["view"], "mixed").json()["events"] == recording_chunk()["events"]


def test_the_summary_follows_every_upload(client, tokens, engine) -> None:
    for seq in (3, 0, 2, 0):
        chunk = recording_chunk(seq=seq)
        client.post("/rest/v1/recordings", json=chunk, headers=bearer(tokens["ingest"]))
    assert summaries(engine)["s1"][0] == 3
