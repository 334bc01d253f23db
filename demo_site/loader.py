"""Loads the generated demo site into a database through the normal ingestion path (``heatmaps demo``).

Event ids are deterministic per seed, so loading twice stores nothing new; screenshots already present
(same image for the same page or screen) are not stored again, nor are page groups of a name already
saved. Session recordings
(:mod:`demo_site.recordings`) are made from the web events as stored (whichever load stored them) and go
through the recording upload's validation and storage, chunk by chunk, idempotent by (session, seq).
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, select

from data_layer import page_groups, recordings, screenshots
from data_layer.db import IN_LIST_CHUNK
from data_layer.event_models import MAX_BATCH_EVENTS
from data_layer.ingest import ingest_touch_batch, ingest_web_batch
from data_layer.schema import recordings as recorded_sessions
from data_layer.schema import web_events
from data_layer.settings import Settings
from demo_site.app_taps import generate_touch_events
from demo_site.catalog import page_key_of
from demo_site.recordings import WebEvent, demo_recordings
from demo_site.renderer import demo_page_screenshots, demo_screen_screenshots
from demo_site.traffic import generate_web_events

T = TypeVar("T")
TOUCH_EVENTS_PER_WEB_EVENT = 0.1
DEMO_GROUPS = (
    ("Product pages", page_key_of("/products/*")),
    ("Categories", page_key_of("/category/*")),
    ("Journal", page_key_of("/blog/*")),
)
"""Saved page groups (CONTRACT 14) a new user finds on the Groups view: the shop's page templates."""


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
    record: bool = True,
) -> str:
    """Generate and store the demo site, app, screenshots and (unless not ``record``) session recordings;
    returns a one-line summary."""
    bar = progress or _NoProgress()
    end = end or datetime.now(UTC).replace(microsecond=0)
    web_task = bar.add_task("web events", total=events)
    stored = duplicates = 0
    sessions: set[str] = set()
    for batch in _batches(generate_web_events(events=events, days=days, seed=seed, end=end)):
        result = ingest_web_batch(engine, settings, batch)
        stored += result.ingested
        duplicates += result.duplicates
        sessions.update(event["sessionId"] for event in batch)
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
    groups = _save_groups(engine, settings)
    summary = (
        f"demo data: {stored} web events stored ({duplicates} already present), "
        f"{touches} touch events stored, {shots} screenshots added, {groups} page groups saved"
    )
    if record:
        recorded, chunks = _load_recordings(engine, settings, sessions, bar)
        summary += f", {chunks} recording chunks stored ({recorded} sessions recorded)"
    return summary


_STORED_COLUMNS = (
    "seq", "session_id", "visitor_id", "event_type", "ts", "page_key", "page_key", "breakpoint",
    "viewport_width", "viewport_height", "document_width", "x", "y", "selector", "depth", "fixed", "dead",
    "rage_start",
)  # fmt: skip
"""The columns of :class:`WebEvent`'s fields in order (``ts`` for ``at``, the pageKey as the URL too)."""
_EPOCH = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)


def stored_web_events(engine: Engine, sessions: Iterable[str]) -> list[WebEvent]:
    """The stored web events of ``sessions``: a recording replays what the database holds, timestamps
    included, even when an earlier load (another ``end``) stored them."""
    query = select(*(web_events.c[name] for name in _STORED_COLUMNS))
    ordered = sorted(set(sessions))
    rows: list[WebEvent] = []
    with engine.connect() as conn:
        for start in range(0, len(ordered), IN_LIST_CHUNK):
            part = ordered[start : start + IN_LIST_CHUNK]
            for seq, session, visitor, kind, ts, *rest in conn.execute(
                query.where(web_events.c.session_id.in_(part))
            ):
                rows.append(WebEvent(seq, session, visitor, kind, round((ts - _EPOCH) / _MS), *rest))
    return rows


def _load_recordings(
    engine: Engine, settings: Settings, sessions: set[str], bar: ProgressLike
) -> tuple[int, int]:
    """Stores the recordings of the chosen demo sessions as the upload route does; (sessions with a
    chunk stored now, chunks stored now). A session holding as many chunks as its recording has is left
    alone: loading the demo again costs no write."""
    made = [
        (recording, recording.chunks()) for recording in demo_recordings(stored_web_events(engine, sessions))
    ]
    held = _stored_chunk_counts(engine, [recording.session_id for recording, _ in made])
    task = bar.add_task("session recordings", total=len(made))
    cap = settings.recording_max_mb * recordings.MIB
    recorded = chunks = 0
    for recording, bodies in made:
        stored = 0
        if held.get(recording.session_id) != len(bodies):
            for body in bodies:
                chunk = recordings.validate_chunk(body, settings.page_key_rules)
                stored += recordings.store_chunk(engine, chunk, cap)
        recorded += stored > 0
        chunks += stored
        bar.advance(task, 1)
    return recorded, chunks


def _stored_chunk_counts(engine: Engine, sessions: list[str]) -> dict[str, int]:
    """session id -> chunks stored, for those of ``sessions`` with a recording."""
    query = select(recorded_sessions.c.session_id, recorded_sessions.c.chunks)
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for start in range(0, len(sessions), IN_LIST_CHUNK):
            part = sessions[start : start + IN_LIST_CHUNK]
            counts.update(
                tuple(row) for row in conn.execute(query.where(recorded_sessions.c.session_id.in_(part)))
            )
    return counts


def _save_groups(engine: Engine, settings: Settings) -> int:
    """Saves the :data:`DEMO_GROUPS` not saved yet under their name; how many were saved now."""
    taken = {name.lower() for name in page_groups.saved_groups(engine)["name"].to_list()}
    fresh = [(name, pattern) for name, pattern in DEMO_GROUPS if name.lower() not in taken]
    for name, pattern in fresh:
        page_groups.create_group(engine, name, pattern, settings.page_key_rules, None)
    return len(fresh)


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
