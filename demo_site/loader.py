"""Loads the generated demo site into a database through the normal ingestion path (``heatmaps demo``).

Event ids are deterministic per seed, so loading twice stores nothing new; screenshots already present
(same image for the same page or screen) are not stored again.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine

from data_layer import screenshots
from data_layer.event_models import MAX_BATCH_EVENTS
from data_layer.ingest import ingest_touch_batch, ingest_web_batch
from data_layer.settings import Settings
from demo_site.app_taps import generate_touch_events
from demo_site.renderer import demo_page_screenshots, demo_screen_screenshots
from demo_site.traffic import generate_web_events

T = TypeVar("T")
TOUCH_EVENTS_PER_WEB_EVENT = 0.1


class ProgressLike(Protocol):
    """The part of ``rich.progress.Progress`` used here (a no-op stand-in works too)."""

    def add_task(self, description: str, total: float | None = ...) -> Any: ...
    def advance(self, task_id: Any, advance: float = ...) -> None: ...


class _NoProgress:
    def add_task(self, description: str, total: float | None = None) -> int:
        return 0

    def advance(self, task_id: Any, advance: float = 1) -> None:
        return None


def _batches(items: Iterable[T], size: int = MAX_BATCH_EVENTS) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def load_demo(
    engine: Engine,
    settings: Settings,
    *,
    events: int,
    days: int,
    seed: int,
    progress: ProgressLike | None = None,
    end: datetime | None = None,
) -> str:
    """Generate and store the demo site, app and screenshots; returns a one-line summary."""
    bar = progress or _NoProgress()
    end = end or datetime.now(UTC).replace(microsecond=0)
    web_task = bar.add_task("web events", total=events)
    stored = duplicates = 0
    for batch in _batches(generate_web_events(events=events, days=days, seed=seed, end=end)):
        result = ingest_web_batch(engine, settings, batch)
        stored += result.ingested
        duplicates += result.duplicates
        bar.advance(web_task, len(batch))

    touch_total = max(1, int(events * TOUCH_EVENTS_PER_WEB_EVENT))
    touch_task = bar.add_task("mobile touch events", total=touch_total)
    per_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in generate_touch_events(events=touch_total, days=days, seed=seed, end=end):
        per_user[event["userId"]].append(event)
    touches = 0
    for user_id, user_events in sorted(per_user.items()):
        for batch in _batches(user_events):
            touches += ingest_touch_batch(engine, batch, user_id).ingested
            bar.advance(touch_task, len(batch))

    shots = _load_screenshots(engine, settings)
    return (
        f"demo data: {stored} web events stored ({duplicates} already present), "
        f"{touches} touch events stored, {shots} screenshots added"
    )


def _load_screenshots(engine: Engine, settings: Settings) -> int:
    added = 0
    for page_key, breakpoint, png in demo_page_screenshots():
        latest = screenshots.latest_page_screenshot(engine, page_key, breakpoint)
        if latest is None or latest["sha256"] != hashlib.sha256(png).hexdigest():
            screenshots.save_screenshot(
                engine, settings.screenshot_dir, png, kind="web", page_key=page_key, breakpoint=breakpoint
            )
            added += 1
    for screen_name, png in demo_screen_screenshots():
        existing = screenshots.list_screen_screenshots(engine, screen_name)
        if not existing or existing[0]["sha256"] != hashlib.sha256(png).hexdigest():
            screenshots.save_screenshot(
                engine, settings.screenshot_dir, png, kind="mobile", screen_name=screen_name
            )
            added += 1
    return added
