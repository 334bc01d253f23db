"""Captured backdrops (CONTRACT 12): the photograph, the allow-list, the queue, the command and the API.

Browser tests photograph a site of the tests' own (tests/capture_site.py) with the system Chromium.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from data_layer.capture import jobs
from data_layer.capture.origins import OriginNotAllowedError, check_allowed, parse_origins
from data_layer.capture.photograph import CaptureFailed
from data_layer.capture.runner import capture_page
from data_layer.capture.worker import CaptureWorker, queue_missing_backdrops, run_job
from data_layer.ingest import ingest_web_batch
from data_layer.replica import ReplicaStore
from data_layer.screenshots import MAX_HEIGHT, latest_page_screenshot, list_page_screenshots
from data_layer.settings import Settings
from heatmaps_cli.app import app
from tests.backdrops.capture_site import (
    BLUE,
    GREEN,
    HEADER_PX,
    MAGENTA,
    ORANGE,
    RED,
    TALL_PX,
    Site,
    serve_site,
)
from tests.browser import needs_chromium
from tests.conftest import bearer
from tests.factories import web_click

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def with_chromium(test: Any) -> Any:
    """Browser tests skip without the system Chromium, except in CI (tests/browser.py); being browser
    tests, they are slow. The rest (the allow-list, the queue, the API) is quick."""
    for mark in needs_chromium:
        test = mark(test)
    return test


@pytest.fixture
def site() -> Iterator[Site]:
    with serve_site() as served:
        yield served


def allow(settings: Settings, site: Site, **changes: Any) -> Settings:
    return settings.model_copy(update={"capture_origins": site.origin, **changes})


def colour_rows(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 12) -> list[int]:
    """Rows of the image holding at least 20 pixels of ``colour``."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)[:, ::2]  # every other column, as before
    near = (np.abs(pixels - np.array(colour, dtype=np.int16)) <= tolerance).all(axis=2)
    return np.flatnonzero(near.sum(axis=1) >= 10).tolist()


# ---- the allow-list ------------------------------------------------------------------------------


def test_origins_are_normalised_and_must_be_bare() -> None:
    assert parse_origins(" HTTPS://Shop.Example.com:443 , http://127.0.0.1:8080/,") == (
        "https://shop.example.com",
        "http://127.0.0.1:8080",
    )
    for bad in ("https://example.com/shop", "https://u:p@example.com", "ftp://example.com", "example.com"):
        with pytest.raises(ValueError):
            parse_origins(bad)


def test_only_allowed_origins_pass() -> None:
    allowed = ("https://shop.example.com",)
    assert check_allowed("https://SHOP.example.com/a?b#c", allowed) == "https://shop.example.com"
    for refused in (
        "https://shop.example.com.evil.net/",
        "http://shop.example.com/",
        "https://shop.example.com:8443/",
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
        "javascript:alert(1)",
    ):
        with pytest.raises(OriginNotAllowedError, match="HEATMAPS_CAPTURE_ORIGINS"):
            check_allowed(refused, allowed)
    with pytest.raises(OriginNotAllowedError, match="capture is off"):
        check_allowed("https://shop.example.com/", ())


# ---- the photograph ------------------------------------------------------------------------------


@with_chromium
@SQLITE_ONLY
def test_a_page_is_photographed_at_each_breakpoint(settings: Settings, site: Site) -> None:
    settings = allow(settings, site)
    for breakpoint, width in (("desktop", 1440), ("tablet", 820), ("mobile", 390)):
        page = capture_page(settings, f"{site.origin}/?from=test", breakpoint)
        image = Image.open(BytesIO(page.png))
        assert image.width == width == page.document_width
        assert image.height == page.document_height > 4500
        assert page.url == f"{site.origin}/?from=test"
        # The sticky header is at the top, once; the fixed badge once, where a visitor first sees it.
        red = colour_rows(image, RED)
        assert red and red[0] == 0 and red[-1] == HEADER_PX - 1 and len(red) == HEADER_PX
        badge = colour_rows(image, MAGENTA, tolerance=20)
        assert badge and badge[-1] - badge[0] < 40 and badge[-1] < 1200
        assert colour_rows(image, ORANGE) == list(range(100, 140))  # the toast in a boxless fixed root
        # Lazy images, native and script-driven, were loaded by scrolling.
        assert colour_rows(image, BLUE)
        assert colour_rows(image, GREEN)
    hosts = {host for host, _ in site.requests}
    assert hosts == {site.origin.removeprefix("http://")}


@with_chromium
@SQLITE_ONLY
def test_a_page_taller_than_the_limit_is_cut_not_refused(settings: Settings, site: Site) -> None:
    page = capture_page(allow(settings, site), f"{site.origin}/tall", "desktop")
    image = Image.open(BytesIO(page.png))
    assert image.size == (1440, MAX_HEIGHT)
    assert page.document_height >= TALL_PX


@with_chromium
@SQLITE_ONLY
def test_a_redirect_to_another_origin_is_refused_before_it_is_followed(
    settings: Settings, site: Site
) -> None:
    with pytest.raises(CaptureFailed, match="not an allowed capture origin") as failure:
        capture_page(allow(settings, site), f"{site.origin}/away", "desktop")
    assert failure.value.retry is False
    assert (site.origin.removeprefix("http://"), "/away") in site.requests
    assert [path for host, path in site.requests if host.startswith("localhost")] == []


@SQLITE_ONLY
def test_a_not_allowed_origin_is_never_opened(settings: Settings, site: Site) -> None:
    with pytest.raises(CaptureFailed, match="HEATMAPS_CAPTURE_ORIGINS"):
        capture_page(allow(settings, site), f"{site.other_origin}/", "desktop")
    with pytest.raises(CaptureFailed, match="capture is off"):
        capture_page(settings, f"{site.origin}/", "desktop")
    assert site.requests == []


@SQLITE_ONLY
def test_without_chromium_the_reason_says_how_to_get_one(settings: Settings, site: Site) -> None:
    missing = allow(settings, site, chromium_path="/nonexistent/chromium")
    with pytest.raises(CaptureFailed, match="apt-get install chromium") as failure:
        capture_page(missing, f"{site.origin}/", "desktop")
    assert "HEATMAPS_CHROMIUM_PATH" in str(failure.value) and failure.value.retry is False


# ---- the queue -----------------------------------------------------------------------------------


def test_a_job_is_claimed_once_and_retried_with_backoff(settings: Settings, engine) -> None:
    job = jobs.enqueue(engine, "https://a.example/p", "desktop", "https://a.example/p", requested_by="u")
    assert (
        jobs.enqueue(engine, "https://a.example/p", "desktop", "https://a.example/p", requested_by="u") == job
    )
    claimed = jobs.claim(engine)
    assert claimed is not None and claimed.status == "running" and claimed.attempts == 1
    assert jobs.claim(engine) is None and jobs.claim(engine, job.id) is None
    again = jobs.fail(engine, claimed, "slow", retry=True, max_attempts=2, retry_base_s=3600)
    assert (again.status, again.error) == ("queued", "slow")
    assert jobs.claim(engine) is None  # not due before its backoff
    due = jobs.claim(engine, now=again.next_attempt_at)
    assert due is not None and due.attempts == 2
    final = jobs.fail(engine, due, "slow again", retry=True, max_attempts=2, retry_base_s=3600)
    assert (final.status, final.error) == ("failed", "slow again")
    assert jobs.get_job(engine, job.id) == final


def test_an_interrupted_job_is_queued_again(settings: Settings, engine) -> None:
    job = jobs.enqueue(engine, "https://a.example/p", "mobile", "https://a.example/p", requested_by="u")
    claimed = jobs.claim(engine)
    assert claimed is not None
    assert jobs.release_stale(engine, timedelta(minutes=5)) == 0
    assert (
        jobs.release_stale(engine, timedelta(minutes=5), now=claimed.updated_at + timedelta(minutes=6)) == 1
    )
    assert jobs.get_job(engine, job.id).status == "queued"  # type: ignore[union-attr]


def test_automatic_capture_queues_pages_with_clicks_of_allowed_origins(settings: Settings, engine) -> None:
    settings = settings.model_copy(update={"capture_origins": "https://shop.example", "capture_auto": True})
    now = datetime.now(UTC).isoformat()
    events = [
        web_click(url="https://shop.example/a", viewportWidth=1400, timestamp=now),
        web_click(url="https://shop.example/a", viewportWidth=400, timestamp=now),
        web_click(url="https://elsewhere.example/b", viewportWidth=1400, timestamp=now),
    ]
    ingest_web_batch(engine, settings, events)
    store = ReplicaStore(engine, None)
    queued = queue_missing_backdrops(engine, settings, store)
    assert sorted((job.page_key, job.breakpoint) for job in queued) == [
        ("https://shop.example/a", "desktop"),
        ("https://shop.example/a", "mobile"),
    ]
    assert all(job.requested_by == "auto" for job in queued)
    assert queue_missing_backdrops(engine, settings, store) == []  # under way: not queued twice


# ---- the worker, the command and the API --------------------------------------------------------


def wait_for(check, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


@with_chromium
@SQLITE_ONLY
def test_a_slow_page_fails_with_a_reason_and_is_retried(settings: Settings, engine, site: Site) -> None:
    # 8 s: Chromium's start counts against the bound, and a loaded machine may take seconds for it.
    settings = allow(settings, site, capture_timeout_s=8, capture_max_attempts=2, capture_retry_base_s=0.1)
    job = jobs.enqueue(engine, f"{site.origin}/slow", "desktop", f"{site.origin}/slow", requested_by="u")
    worker = CaptureWorker(engine, settings, ReplicaStore(engine, None))
    worker.start()
    try:
        done = wait_for(lambda: (j := jobs.get_job(engine, job.id)) and j.status == "failed" and j)
    finally:
        worker.stop()
    assert done.attempts == 2
    assert "did not load within 8 s" in done.error
    assert [path for _, path in site.requests].count("/slow") == 2


@with_chromium
@SQLITE_ONLY
def test_the_command_captures_and_reports_each_page(
    settings: Settings, engine, site: Site, monkeypatch
) -> None:
    monkeypatch.setenv("HEATMAPS_CAPTURE_ORIGINS", site.origin)
    from data_layer.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(
        app,
        ["capture", f"{site.origin}/", f"{site.other_origin}/", "--breakpoint", "mobile"],
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert result.stdout.count("captured ") == 1 and "(mobile): 390x" in result.stdout
    assert "not an allowed capture origin" in result.stderr
    shot = latest_page_screenshot(engine, site.origin + "/", "mobile")
    assert shot is not None and shot["source"] == "capture" and shot["url"] == f"{site.origin}/"
    assert shot["documentWidth"] == 390 and shot["documentHeight"] == shot["height"]


def test_the_api_queues_captures_of_allowed_origins_only(api_app, client, tokens) -> None:
    ctx = api_app.state.ctx
    ctx.settings = ctx.settings.model_copy(update={"capture_origins": "https://shop.example"})
    refused = client.post(
        "/rest/v1/heatmap-pages/capture",
        params={"pageKey": "https://evil.example/"},
        headers=bearer(tokens["manage"]),
    )
    assert refused.status_code == 400 and "HEATMAPS_CAPTURE_ORIGINS" in refused.json()["details"]
    forbidden = client.post(
        "/rest/v1/heatmap-pages/capture",
        params={"pageKey": "https://shop.example/"},
        headers=bearer(tokens["view"]),
    )
    assert forbidden.status_code == 403
    queued = client.post(
        "/rest/v1/heatmap-pages/capture",
        params={"pageKey": "https://SHOP.example/a/?x=1"},
        headers=bearer(tokens["manage"]),
    )
    assert queued.status_code == 202
    captures = queued.json()["captures"]
    assert [(c["pageKey"], c["breakpoint"], c["status"]) for c in captures] == [
        ("https://shop.example/a", name, "queued") for name in ("desktop", "tablet", "mobile")
    ]
    one = client.post(
        "/rest/v1/heatmap-pages/capture",
        params={"pageKey": "https://shop.example/a", "breakpoint": "mobile"},
        headers=bearer(tokens["manage"]),
    )
    assert one.json()["captures"] == [captures[2]]  # already queued: the same job
    state = client.get(f"/rest/v1/captures/{captures[0]['id']}", headers=bearer(tokens["view"]))
    assert state.json() == {**captures[0], "screenshotId": None, "error": None}
    missing = client.get("/rest/v1/captures/nope", headers=bearer(tokens["view"]))
    assert missing.status_code == 404 and set(missing.json()) == {"error", "details"}
    bad = client.post(
        "/rest/v1/heatmap-pages/capture",
        params={"pageKey": "https://shop.example/a", "breakpoint": "watch"},
        headers=bearer(tokens["manage"]),
    )
    assert bad.status_code == 400


@with_chromium
@SQLITE_ONLY
def test_captured_backdrops_are_listed_with_their_source(settings: Settings, engine, site: Site) -> None:
    settings = allow(settings, site)
    job = jobs.enqueue(engine, f"{site.origin}/", "tablet", f"{site.origin}/", requested_by="u")
    done = run_job(engine, settings, jobs.claim(engine, job.id))  # type: ignore[arg-type]
    assert done.status == "done"
    [shot] = list_page_screenshots(engine)
    assert shot["id"] == done.screenshot_id and shot["source"] == "capture" and shot["width"] == 820


@with_chromium
@SQLITE_ONLY
@pytest.mark.live  # API processes, killed and started again
def test_automatic_capture_in_the_api_process_survives_a_restart(
    settings: Settings, engine, site: Site, tmp_path
) -> None:
    """Clicks on a new page of an allowed origin get it a backdrop per breakpoint with clicks, in the
    background; a job queued while the API is down runs once it is back."""
    from heatmaps_testing.loopback import ApiServer, make_tokens

    page = f"{site.origin}/"
    server = ApiServer(
        settings.database_url,
        tmp_path,
        screenshot_dir=str(settings.screenshot_dir),
        capture_origins=site.origin,
        capture_auto="true",
        capture_scan_interval_s="0.5",
        capture_lease_s="3",  # the restarted process waits for the killed one's lease to run out
    ).start()
    try:
        ingest_key, _ = make_tokens(settings.database_url)
        now = datetime.now(UTC).isoformat()
        clicks = [
            web_click(url=page, viewportWidth=width, documentWidth=width, x=10, timestamp=now)
            for width in (1400, 400)
        ]
        answer = httpx.post(
            f"{server.base}/rest/v1/events", json={"events": clicks}, headers=bearer(ingest_key)
        )
        assert answer.status_code == 200 and answer.json()["ingested"] == 2
        assert list_page_screenshots(engine) == []  # ingestion did not wait for a capture
        wait_for(
            lambda: (
                latest_page_screenshot(engine, page, "desktop")
                and latest_page_screenshot(engine, page, "mobile")
            )
        )
        assert latest_page_screenshot(engine, page, "tablet") is None  # no clicks there
        server.kill()
        job = jobs.enqueue(engine, page, "tablet", page, requested_by="u")
        server.env["HEATMAPS_CAPTURE_AUTO"] = "false"
        server.start()
        done = wait_for(lambda: (j := jobs.get_job(engine, job.id)) and j.status == "done" and j)
        shot = latest_page_screenshot(engine, page, "tablet")
        assert shot is not None and shot["id"] == done.screenshot_id and shot["width"] == 820
    finally:
        server.kill()
