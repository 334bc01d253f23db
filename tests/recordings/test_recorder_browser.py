"""The session recorder (tracker/record.js with rrweb, loaded by tracker/tracker.js) in a real Chromium
against a fake collector (tests/recordings/site.py): when it loads, which sessions it records, and how
chunks travel (gzip fetches, beacons on hide, seq across pages, retries, the 413 that ends a session).
The privacy of what it records is tested against the real API in test_recording_privacy_e2e.py.

Needs /usr/bin/chromium (never downloads a browser); skipped with a reason when it is missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser import needs_chromium
from tests.recordings.site import DNT_INIT, KEY, Collector, Upload, collector_and_site, random_init

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")

META, FULL_SNAPSHOT = 4, 2
MAX_TRIES = 4  # tracker/record.js
BEACON_LIMIT = 64 * 1024
RECORDING_UP = (
    "() => !!(window.__heatmaps && window.__heatmaps.recording && window.__heatmaps.recording.flush)"
)
TRACKER_UP = "() => window.__heatmaps !== undefined"


@pytest.fixture(scope="module")
def servers() -> Iterator[Collector]:
    with collector_and_site() as collector:
        yield collector


@pytest.fixture
def collector(servers: Collector) -> Collector:
    servers.reset()
    return servers


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """A page in a fresh context (a new visitor and session): `new_page(*init_scripts)`."""
    contexts: list[Any] = []

    def open_(*init_scripts: str) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        for script in init_scripts:
            context.add_init_script(script)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def _open(page: Any, collector: Collector, number: int = 1, **attrs: str) -> None:
    query = "&".join(f"{k}={v}" for k, v in attrs.items())
    page.goto(f"{collector.site}/page/{number}?{query}")
    page.wait_for_function(TRACKER_UP)


def _recording(page: Any) -> None:
    page.wait_for_function(RECORDING_UP)


def _flush(page: Any) -> None:
    page.evaluate("() => window.__heatmaps.recording.flush()")


def _wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s"
        time.sleep(0.05)
    return result


def _events(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for chunk in chunks for event in chunk["events"]]


def _session(page: Any) -> str:
    return page.evaluate("() => sessionStorage.getItem('hm_sid')")


@pytest.mark.parametrize(("attrs", "loads"), [({}, 0), ({"record": "off"}, 0), ({"record": "on"}, 1)])
def test_the_recorder_loads_only_with_data_record_on(
    collector: Collector, new_page: Callable[..., Any], attrs: dict[str, str], loads: int
) -> None:
    page = new_page()
    _open(page, collector, **attrs)
    if loads:
        _recording(page)
        _wait_for(collector.accepted)
    else:
        page.wait_for_timeout(1000)  # time enough for a script the tracker would have added
        assert page.evaluate("() => window.__heatmaps.recording") is None
    assert collector.script_loads() == loads
    assert bool(collector.chunks()) == bool(loads)


def test_do_not_track_records_nothing_even_when_the_recorder_is_loaded_by_hand(
    collector: Collector, new_page: Callable[..., Any]
) -> None:
    page = new_page(DNT_INIT)
    page.goto(f"{collector.site}/page/1?record=on")
    page.wait_for_timeout(1000)
    assert collector.script_loads() == 0  # the tracker stays out, and so loads no recorder
    # A page that hands the recorder everything itself still gets nothing recorded under Do Not Track.
    page.evaluate(
        """api => new Promise(done => {
            window.__heatmaps = { recording: { endpoint: api, key: "k", visitor: "v",
                session: () => "abcdefgh12345678", stop: () => {} } };
            const s = document.createElement("script");
            s.src = api + "/tracker-record.js";
            s.onload = done;
            document.head.appendChild(s);
        })""",
        collector.api,
    )
    page.click("#more")
    page.wait_for_timeout(1000)
    assert collector.script_loads() == 1
    assert page.evaluate("() => window.__heatmaps.recording.flush") is None
    assert collector.chunks() == []


@pytest.mark.parametrize(
    ("share", "draws", "recorded"),
    [
        ("0", (0.0, 0.0), False),  # never, whatever the draw
        ("1", (0.999999, 0.999999), True),  # always
        ("0.5", (0.1, 0.9), True),  # drawn in on the first page; the second page does not draw again
        ("0.5", (0.9, 0.1), False),  # drawn out on the first page; stays out
    ],
)
def test_sampling_is_decided_once_per_session(
    collector: Collector,
    new_page: Callable[..., Any],
    share: str,
    draws: tuple[float, float],
    recorded: bool,
) -> None:
    page = new_page(random_init(draws[0]))
    _open(page, collector, 1, record="on", record_sample=share)
    first = _session(page)
    page.context.add_init_script(random_init(draws[1]))  # runs after the first: the second page's draw
    _open(page, collector, 2, record="on", record_sample=share)
    assert _session(page) == first
    assert page.evaluate("() => sessionStorage.getItem('hm_rec')") == f"{first}:{int(recorded)}"
    if recorded:
        _recording(page)
        _flush(page)
        pages = _wait_for(
            lambda: {c["url"].split("?")[0][-1] for c in collector.accepted()} >= {"1", "2"} or None
        )
        assert pages
    else:
        page.wait_for_timeout(1000)
    assert collector.script_loads() == (2 if recorded else 0)
    assert {c["sessionId"] for c in collector.accepted()} == ({first} if recorded else set())


def test_chunks_continue_across_a_navigation_with_increasing_seq(
    collector: Collector, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    _open(page, collector, 1, record="on")
    _recording(page)
    page.click("#more")
    _flush(page)
    page.mouse.move(300, 300)
    page.mouse.move(400, 200)
    page.click("#link")  # to /page/2: what page 1 recorded since the flush leaves by beacon
    page.wait_for_function(RECORDING_UP)
    page.click("#more")
    _flush(page)

    chunks = _wait_for(
        lambda: (c := collector.accepted()) and c[-1]["url"].startswith(f"{collector.site}/page/2") and c
    )
    sid = _session(page)
    assert {c["sessionId"] for c in chunks} == {sid}
    seqs = [c["seq"] for c in chunks]
    assert seqs == list(range(len(seqs)))  # no gap, no repeat
    pages = [c["url"].split("?")[0].rsplit("/", 1)[1] for c in chunks]
    assert pages == sorted(pages)  # page 1's chunks, then page 2's
    assert pages[0] == "1" and pages[-1] == "2"
    for number in ("1", "2"):  # each page starts its part of the recording with a snapshot
        events = _events([c for c, p in zip(chunks, pages, strict=True) if p == number])
        assert [e["type"] for e in events[:2]] == [META, FULL_SNAPSHOT]
    beacons = [u for u in collector.chunks() if u.beacon]
    assert beacons, "page 1's last events should leave by beacon"
    for beacon in beacons:
        assert beacon.payload["key"] == KEY
        assert "content-encoding" not in beacon.headers
        assert "authorization" not in beacon.headers
        assert len(beacon.raw) < BEACON_LIMIT


def test_fetched_chunks_are_gzip_json_with_the_tracker_s_key_and_ids(
    collector: Collector, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    _open(page, collector, 1, record="on")
    _recording(page)
    first = _wait_for(lambda: [u for u in collector.chunks() if not u.beacon])[0]
    assert first.headers["content-encoding"] == "gzip"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert set(first.payload) == {"sessionId", "visitorId", "url", "seq", "events"}
    assert first.payload["sessionId"] == _session(page)
    assert first.payload["visitorId"] == page.evaluate("() => localStorage.getItem('hm_vid')")
    assert first.payload["url"] == page.url
    assert first.payload["seq"] == 0
    assert [e["type"] for e in first.payload["events"]] == [META, FULL_SNAPSHOT]


def test_a_413_ends_the_session_s_recording(collector: Collector, new_page: Callable[..., Any]) -> None:
    collector.plan[:] = [413]
    page = new_page()
    _open(page, collector, 1, record="on")
    _recording(page)
    _wait_for(collector.chunks)
    page.click("#more")
    _flush(page)
    sid = _session(page)
    assert page.evaluate("() => sessionStorage.getItem('hm_rec')") == f"{sid}:0"
    _open(page, collector, 2, record="on")  # the session's next page records nothing either
    page.click("#more")
    page.wait_for_timeout(1000)
    assert [(u.payload["seq"], u.status) for u in collector.chunks()] == [(0, 413)]
    assert collector.script_loads() == 1
    page.evaluate("() => window.__heatmaps.flush()")  # heatmap events still flow
    _wait_for(lambda: [u for u in collector.uploads if u.path == "/rest/v1/events"])


@pytest.mark.parametrize("failure", [503, None], ids=["503", "dropped connection"])
def test_a_failing_chunk_is_tried_a_bounded_number_of_times(
    collector: Collector, new_page: Callable[..., Any], failure: int | None
) -> None:
    collector.plan[:] = [failure] * MAX_TRIES
    page = new_page()
    _open(page, collector, 1, record="on")
    _recording(page)
    _wait_for(lambda: len(collector.chunks()) >= 1)
    for _ in range(MAX_TRIES):
        _flush(page)  # forced: no waiting between tries
    _wait_for(lambda: len(collector.chunks()) >= MAX_TRIES)
    page.click("#more")
    _flush(page)
    chunks = _wait_for(collector.accepted)
    attempts = [(u.payload["seq"], u.status) for u in collector.chunks()]
    assert attempts[:MAX_TRIES] == [(0, failure)] * MAX_TRIES
    assert (0, 200) not in attempts  # given up after MAX_TRIES
    assert [c["seq"] for c in chunks] == [1]  # the recording goes on


def test_a_hidden_page_beacons_parts_under_64_kib_and_leaves_the_rest_to_the_next_page(
    collector: Collector, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    _open(page, collector, 1, record="on")
    _recording(page)
    _flush(page)
    # 12 separate mutations of 12 KB each (one rrweb event apiece), then away before the 5 s flush.
    with page.expect_navigation():
        page.evaluate(
            """async () => {
                for (let i = 0; i < 12; i++) {
                    const li = document.createElement("li");
                    li.className = "bulk";
                    li.textContent = "word ".repeat(2400);
                    document.getElementById("list").appendChild(li);
                    await new Promise(r => setTimeout(r, 0));
                }
                // In a later task, so this evaluation has answered before the page navigates away.
                setTimeout(() => document.getElementById("link").click(), 0);
            }"""
        )
    page.wait_for_function(RECORDING_UP)
    _flush(page)

    def all_arrived() -> list[dict[str, Any]] | None:
        chunks = collector.accepted()
        adds = [
            add
            for e in _events(chunks)
            if e["type"] == 3 and e["data"]["source"] == 0
            for add in e["data"]["adds"]
            if add["node"].get("attributes", {}).get("class") == "bulk"
        ]
        return chunks if len(adds) == 12 else None

    chunks = _wait_for(all_arrived)
    seqs = [c["seq"] for c in chunks]
    assert seqs == list(range(len(seqs)))
    uploads = collector.chunks()
    beacons = [u for u in uploads if u.beacon]
    assert len(beacons) >= 2
    assert all(len(u.raw) < BEACON_LIMIT for u in beacons)
    # In-flight beacons share 64 KiB: the parts no beacon could carry were sent by page 2, by fetch, under
    # page 1's url and the seq page 1 gave them.
    last_beacon = max(u.payload["seq"] for u in beacons)
    stashed = [
        u
        for u in uploads
        if not u.beacon and u.payload["seq"] > last_beacon and "/page/1" in u.payload["url"]
    ]
    assert stashed
    page2 = f"{collector.site}/page/2"
    assert any(c["url"].startswith(page2) for c in chunks)


def test_bodies_stay_under_the_limits_when_the_page_changes_a_lot(
    collector: Collector, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    _open(page, collector, 1, record="on")
    _recording(page)
    page.evaluate(
        """async () => {
            for (let i = 0; i < 40; i++) {
                const li = document.createElement("li");
                li.textContent = "x".repeat(50000);
                document.getElementById("list").appendChild(li);
                await new Promise(r => setTimeout(r, 0));
            }
        }"""
    )
    _flush(page)
    chunks = _wait_for(lambda: (c := collector.accepted()) and len(_events(c)) > 40 and c)
    uploads: list[Upload] = collector.chunks()
    assert len(chunks) >= 6  # 2 MB of events in chunks of 256 K characters
    for upload in uploads:
        assert len(upload.raw) < 1024 * 1024
        assert len(json.dumps(upload.payload["events"])) < 400_000


def test_a_new_session_after_30_idle_minutes_starts_its_own_recording(
    collector: Collector, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    page.clock.install()
    _open(page, collector, 1, record="on")
    _recording(page)
    first = _session(page)
    _wait_for(collector.accepted)
    page.clock.run_for(31 * 60 * 1000)
    page.click("#more")  # the tracker's next activity opens a new session
    page.clock.run_for(100)  # the new session's snapshot is taken right after
    _flush(page)
    second = _session(page)
    assert second != first

    chunks = _wait_for(
        lambda: (c := collector.accepted()) and {x["sessionId"] for x in c} == {first, second} and c
    )
    for sid in (first, second):
        own = [c for c in chunks if c["sessionId"] == sid]
        assert [c["seq"] for c in own] == list(range(len(own)))
        assert [e["type"] for e in _events(own)[:2]] == [META, FULL_SNAPSHOT]
    assert page.evaluate("() => sessionStorage.getItem('hm_rseq')").startswith(f"{second}:")
