"""The demo's recordings as `heatmaps demo` stores them: through the upload's validation and storage, once,
made from the web events as stored; the read API plays them back, and the replay links and busiest
hotspots of the busiest pages lead to them."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
from sqlalchemy import Engine, func, select

from data_layer import explore
from data_layer.auth import secret_key
from data_layer.breakpoints import NAMES
from data_layer.filters import WebFilters
from data_layer.page_ref import PageRef
from data_layer.recordings import MIB, recorded_sessions, recordings_mark, store_chunk, validate_chunk
from data_layer.replica import ReplicaStore
from data_layer.schema import recording_chunks, recordings
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from demo_site import recordings as demo_recordings
from demo_site.catalog import demo_page_keys
from demo_site.loader import load_demo, stored_web_events
from tests.conftest import bearer
from tests.dashboard.test_dashboard import WINDOW

END = datetime(2026, 11, 1, 18, 0, tzinfo=UTC)


def stored_counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.scalar(select(func.count()).select_from(recording_chunks)),
            conn.scalar(select(func.count()).select_from(recordings)),
        )


def recorded(engine: Engine) -> set[str]:
    return recorded_sessions(engine, recordings_mark(engine))


@pytest.mark.slow  # loads the demo site into both databases
def test_the_demo_stores_its_recordings_once(engine: Engine, settings: Settings) -> None:
    first = load_demo(engine, settings, events=1500, days=5, seed=5, end=END)
    chunks, sessions = stored_counts(engine)
    assert f", {chunks} recording chunks stored ({sessions} sessions recorded)" in first
    assert sessions > 20 and chunks > 3 * sessions
    second = load_demo(engine, settings, events=1500, days=5, seed=5, end=END)
    assert "0 recording chunks stored (0 sessions recorded)" in second
    assert stored_counts(engine) == (chunks, sessions)


@pytest.mark.slow
def test_a_recording_cut_short_is_completed_and_an_unrecorded_load_stores_none(
    engine: Engine, settings: Settings
) -> None:
    assert "recording" not in load_demo(engine, settings, events=1500, days=5, seed=5, end=END, record=False)
    assert stored_counts(engine) == (0, 0)
    events = stored_web_events(engine, {event.session_id for event in _all_events(engine)})
    first = next(demo_recordings.demo_recordings(events))
    bodies = first.chunks()
    store_chunk(engine, validate_chunk(bodies[0]), settings.recording_max_mb * MIB)  # a load stopped here
    load_demo(engine, settings, events=1500, days=5, seed=5, end=END)
    with engine.connect() as conn:
        held = conn.scalar(select(recordings.c.chunks).where(recordings.c.session_id == first.session_id))
    assert held == len(bodies)


def _all_events(engine: Engine) -> list[demo_recordings.WebEvent]:
    from data_layer.schema import web_events

    with engine.connect() as conn:
        sessions = set(conn.scalars(select(web_events.c.session_id).distinct()))
    return stored_web_events(engine, sessions)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_read_api_returns_a_demo_recording_as_made_from_the_stored_events(
    demo_site: Settings, engine: Engine, client, tokens
) -> None:
    sessions = sorted(recorded(engine))
    assert len(sessions) > 30
    for session_id in sessions[:: len(sessions) // 5]:
        response = client.get(f"/rest/v1/sessions/{session_id}/recording", headers=bearer(tokens["view"]))
        assert response.status_code == 200
        body = response.json()
        events = stored_web_events(engine, [session_id])
        assert body["sessionId"] == session_id and body["visitorId"] == events[0].visitor_id
        assert body["events"] == demo_recordings.session_events(
            sorted(events, key=lambda event: (event.at, event.seq))
        )
    listed = client.get(
        "/rest/v1/sessions",
        params={"from": WINDOW.from_day.isoformat(), "to": WINDOW.to_day.isoformat(), "hasRecording": "true"},
        headers=bearer(tokens["view"]),
    ).json()
    assert listed["entities"] and all(entity["hasRecording"] for entity in listed["entities"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_replay_links_and_the_busiest_hotspots_of_the_busiest_pages_have_recordings(
    demo_site: Settings, engine: Engine
) -> None:
    service = HeatmapService(ReplicaStore(engine), demo_site, secret_key(engine, demo_site.secret_key))
    store, have = service.store, recorded(engine)
    checked = 0
    for page_key in demo_page_keys()[: demo_recordings.RECORDED_PAGES]:
        for breakpoint in NAMES:
            summary = service.page_summary(PageRef(page_key, breakpoint), WINDOW)
            linked = [parse_qs(urlsplit(url).query)["sessionId"][0] for url in summary.replays["url"]]
            assert set(linked) <= have, (page_key, breakpoint)
            checked += len(linked)
            layers = {"clicks": summary.click_bins, "rage": summary.rage_bins.rename({"rage_events": "n"})}
            layers["dead"] = summary.dead_bins.rename({"dead_clicks": "n"})
            for layer, bins in layers.items():
                if bins.is_empty():
                    continue
                count = "clicks" if layer == "clicks" else "n"
                busiest = bins.sort([pl.col(count), "bin_y", "bin_x"], descending=[True, False, False]).row(
                    0, named=True
                )
                behind = explore.hotspot_sessions(
                    store,
                    page_keys=[page_key],
                    breakpoint=breakpoint,
                    window=WINDOW,
                    filters=WebFilters(),
                    bins=[(busiest["bin_x"], busiest["bin_y"])],
                    layer=layer,  # type: ignore[arg-type]
                    replay_template=demo_site.replay_template(),
                )
                first = behind["session_id"].head(demo_recordings.HOTSPOT_SESSIONS).to_list()
                assert set(first) <= have, (page_key, breakpoint, layer)
                checked += len(first)
    assert checked > 150
