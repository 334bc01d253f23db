"""Retention and erasure (CONTRACT 9): ``heatmaps purge --older-than N`` and ``heatmaps forget --visitor
ID`` remove every trace, and the next API answers reflect it, on SQLite and PostgreSQL.

The API process has answered queries before the command runs, so its in-memory replica holds the
events, and a replica file exists on disk (compaction is made eager for the test). After the command:
the SQL rows are gone, the replica files hold none of the deleted events, the same API process answers
without them (pages list, summary with its replays, mobile per-user counts), and the rage flags of the
clicks left behind are recomputed: a rage run that needed a deleted click is no run any more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from data_layer.auth import create_token
from data_layer.replica import runs
from data_layer.schema import touch_events, web_events
from heatmaps_cli.app import app as cli
from tests.conftest import bearer
from tests.factories import touch, web_click, web_scroll

PAGES = "/rest/v1/heatmap-pages"
SUMMARY = "/rest/v1/heatmap-pages/summary"
SHARED = "https://shop.example/shared"
ONLY_GONE = "https://shop.example/only-gone"


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def window(today: datetime) -> dict[str, str]:
    """The 60 days up to today."""
    return {"from": (today - timedelta(days=59)).date().isoformat(), "to": today.date().isoformat()}


@pytest.fixture(autouse=True)
def eager_replica_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compact (and so write the replica file) on every refresh, so the file exists before deletion."""
    monkeypatch.setattr(runs, "COMPACT_MIN_TAIL", 1)


def replica_visitors(directory: Path) -> set[str]:
    """Every visitor id in the replica files on disk."""
    visitors: set[str] = set()
    for path in directory.glob("*.arrow"):
        visitors |= set(pl.read_ipc(path)["visitor_id"].cast(pl.String).to_list())
    return visitors


def pages(client, token: str, today: datetime) -> dict[str, dict[str, Any]]:
    body = client.get(PAGES, params={**window(today), "limit": "100"}, headers=bearer(token)).json()
    return {entity["pageKey"]: entity for entity in body["entities"]}


def test_forget_removes_every_trace_of_a_visitor(client, tokens, settings, engine, api_app) -> None:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    start = now - timedelta(minutes=5)

    # One session, two visitor ids (the visitor id was reset mid-session): stay, gone, stay clicks in
    # 0.3 s steps on one spot form one rage run that needs gone's click. Gone alone also saw another page.
    def s1_click(visitor: str, seconds: float, x: int) -> dict[str, Any]:
        moment = at(start + timedelta(seconds=seconds))
        return web_click(sessionId="s1", visitorId=visitor, url=SHARED, timestamp=moment, x=x, y=10)

    events = [
        s1_click("stay", 0, 10),
        s1_click("gone", 0.3, 12),
        s1_click("stay", 0.6, 14),
        web_scroll(sessionId="s1", visitorId="gone", url=SHARED, timestamp=at(start), depth=90),
        web_click(
            sessionId="s2", visitorId="gone", url=ONLY_GONE, timestamp=at(start), dead=True, selector="#x"
        ),
    ]
    assert (
        client.post("/rest/v1/events", json={"events": events}, headers=bearer(tokens["ingest"])).status_code
        == 200
    )
    gone_app_key = create_token(engine, "gone")[1]  # the mobile app's user id is the token's user
    call = "/heatmap.v1.HeatmapService/IngestTouchEvents"
    assert client.post(call, json={"events": [touch()]}, headers=bearer(gone_app_key)).status_code == 200
    assert client.post(call, json={"events": [touch()]}, headers=bearer(tokens["ingest"])).status_code == 200

    before = pages(client, tokens["view"], now)
    assert before[SHARED]["rageClicks"] == 1 and before[SHARED]["totalClicks"] == 3
    assert ONLY_GONE in before
    assert "gone" in replica_visitors(settings.replica_dir)

    result = CliRunner().invoke(cli, ["forget", "--visitor", "gone"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.strip() == "deleted 3 web events, 1 touch events and 0 recording chunks of gone"

    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(web_events.c.visitor_id == "gone")) == 0
        assert conn.scalar(select(func.count()).where(touch_events.c.user_id == "gone")) == 0
        flags = conn.execute(
            select(web_events.c.rage, web_events.c.rage_start).where(web_events.c.event_type == "click")
        ).all()
    assert [tuple(f) for f in flags] == [(False, False), (False, False)]
    assert "gone" not in replica_visitors(settings.replica_dir)

    after = pages(client, tokens["view"], now)  # the same API process, whose replica held the events
    assert list(after) == [SHARED]
    assert {k: after[SHARED][k] for k in ("totalClicks", "rageClicks", "deadClicks", "issueScore")} == {
        "totalClicks": 2,
        "rageClicks": 0,
        "deadClicks": 0,
        "issueScore": 0.0,
    }
    day = {"from": start.date().isoformat(), "to": start.date().isoformat()}
    summary = client.get(
        SUMMARY, params={**day, "pageKey": SHARED, "breakpoint": "desktop"}, headers=bearer(tokens["view"])
    ).json()
    assert summary["rageClicks"] == [] and summary["fold"] is None
    assert summary["scrollDepth"][0] == {"bucket": 0, "sessions": 0}  # only gone had scrolled
    assert all("gone" not in replay["url"] for replay in summary["replays"])
    gone_page = client.get(
        SUMMARY, params={**day, "pageKey": ONLY_GONE, "breakpoint": "desktop"}, headers=bearer(tokens["view"])
    )
    assert gone_page.status_code == 404  # never seen any more
    counts = client.post(
        "/heatmap.v1.HeatmapService/QueryHeatmapData",
        json={"screenName": "home_feed", "mode": "PER_USER"},
        headers=bearer(tokens["view"]),
    ).json()["userTouchCounts"]
    assert counts == [{"userId": "user-ingest", "touchCount": 1}]
    assert "gone" not in replica_visitors(settings.replica_dir)  # the file rewritten since holds none either


def test_purge_removes_old_events_everywhere(client, tokens, settings, engine) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    cutoff = today - timedelta(days=30)  # purge --older-than 30 keeps this day and later
    # A rage run across the cutoff midnight: one click before it, two after; the purge leaves two.
    events = [
        web_click(
            sessionId="r", visitorId="v-old", url=SHARED, timestamp=at(cutoff - timedelta(seconds=0.4))
        ),
        web_click(
            sessionId="r", visitorId="v-old", url=SHARED, timestamp=at(cutoff + timedelta(seconds=0.2))
        ),
        web_click(
            sessionId="r", visitorId="v-old", url=SHARED, timestamp=at(cutoff + timedelta(seconds=0.6))
        ),
        web_click(
            sessionId="o", visitorId="v-ancient", url=ONLY_GONE, timestamp=at(cutoff - timedelta(days=10))
        ),
        web_click(sessionId="n", visitorId="v-new", url=SHARED, timestamp=at(today - timedelta(days=1))),
    ]
    assert (
        client.post("/rest/v1/events", json={"events": events}, headers=bearer(tokens["ingest"])).status_code
        == 200
    )
    touches = [touch(timestamp=at(cutoff - timedelta(days=1))), touch(timestamp=at(cutoff))]
    call = "/heatmap.v1.HeatmapService/IngestTouchEvents"
    assert client.post(call, json={"events": touches}, headers=bearer(tokens["ingest"])).status_code == 200

    before = pages(client, tokens["view"], today)
    assert before[SHARED]["rageClicks"] == 1 and ONLY_GONE in before
    assert "v-ancient" in replica_visitors(settings.replica_dir)

    result = CliRunner().invoke(cli, ["purge", "--older-than", "30"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.strip() == "deleted 2 web events, 1 touch events and 0 recording chunks"
    assert replica_visitors(settings.replica_dir) <= {"v-old", "v-new"}

    after = pages(client, tokens["view"], today)
    assert list(after) == [SHARED]
    assert (after[SHARED]["totalClicks"], after[SHARED]["rageClicks"]) == (3, 0)
    old_day = (cutoff - timedelta(days=10)).date().isoformat()
    assert (
        client.get(PAGES, params={"from": old_day, "to": old_day}, headers=bearer(tokens["view"])).json()[
            "entities"
        ]
        == []
    )
    with engine.connect() as conn:
        assert conn.scalar(select(func.min(web_events.c.day))) == cutoff.date()
        assert conn.scalar(select(func.count()).select_from(touch_events)) == 1
    assert "v-ancient" not in replica_visitors(settings.replica_dir)
