"""The capture queue in SQL: jobs survive restarts, and a job is claimed by one worker only.

A job is ``queued`` (waiting, perhaps for a retry after a passing failure: ``error`` then says why the
last try failed), ``running`` (claimed; its ``updated_at`` is the lease), ``done`` (``screenshot_id`` is
the backdrop it made) or ``failed`` (for good; ``error`` says why).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update

from data_layer.db import write_transaction
from data_layer.schema import captures, screenshots

ACTIVE = ("queued", "running")
MAX_ERROR = 500


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class CaptureJob:
    id: str
    page_key: str
    breakpoint: str
    url: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    requested_by: str | None
    screenshot_id: str | None
    error: str | None

    @classmethod
    def of(cls, row: Any) -> CaptureJob:
        return cls(**{column.name: row._mapping[column.name] for column in captures.columns})

    def entity(self) -> dict[str, Any]:
        """The job as ``GET /rest/v1/captures/{id}`` shows it (CONTRACT 12)."""
        return {
            "id": self.id,
            "pageKey": self.page_key,
            "breakpoint": self.breakpoint,
            "status": self.status,
            "screenshotId": self.screenshot_id,
            "error": self.error,
        }


def _select(*conditions: Any) -> Any:
    return select(captures).where(*conditions)


def get_job(engine: Engine, job_id: str) -> CaptureJob | None:
    if "\x00" in job_id:  # PostgreSQL refuses NUL in a comparison; no id holds one
        return None
    with engine.connect() as conn:
        row = conn.execute(_select(captures.c.id == job_id)).first()
    return CaptureJob.of(row) if row else None


def recent_jobs(engine: Engine, limit: int = 200) -> list[CaptureJob]:
    """The newest jobs first (the Screenshots view shows them with their state and reason)."""
    query = select(captures).order_by(captures.c.updated_at.desc(), captures.c.id).limit(limit)
    with engine.connect() as conn:
        return [CaptureJob.of(row) for row in conn.execute(query)]


def enqueue(
    engine: Engine,
    page_key: str,
    breakpoint: str,
    url: str,
    *,
    requested_by: str | None,
    now: datetime | None = None,
) -> CaptureJob:
    """A queued job for (pageKey, breakpoint), or the one already queued or running for it."""
    now = now or utcnow()
    with write_transaction(engine) as conn:
        active = _select(
            captures.c.page_key == page_key,
            captures.c.breakpoint == breakpoint,
            captures.c.status.in_(ACTIVE),
        ).limit(1)
        existing = conn.execute(active).first()
        if existing is not None:
            return CaptureJob.of(existing)
        row = {
            "id": uuid.uuid4().hex,
            "page_key": page_key,
            "breakpoint": breakpoint,
            "url": url,
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
            "requested_by": requested_by,
            "screenshot_id": None,
            "error": None,
        }
        conn.execute(insert(captures).values(**row))
    return CaptureJob(**row)


def claim(engine: Engine, job_id: str | None = None, *, now: datetime | None = None) -> CaptureJob | None:
    """Move a due queued job (``job_id``, or the one waiting longest) to ``running``; None when there is
    none or another worker took it first. The update checks the status, so a job runs once."""
    now = now or utcnow()
    due = [captures.c.status == "queued", captures.c.next_attempt_at <= now]
    if job_id is not None:
        due.append(captures.c.id == job_id)
    with write_transaction(engine) as conn:
        candidate = conn.execute(
            select(captures.c.id).where(*due).order_by(captures.c.next_attempt_at, captures.c.id).limit(1)
        ).scalar()
        if candidate is None:
            return None
        taken = conn.execute(
            update(captures)
            .where(captures.c.id == candidate, captures.c.status == "queued")
            .values(status="running", attempts=captures.c.attempts + 1, updated_at=now)
        )
        if taken.rowcount != 1:
            return None
        return CaptureJob.of(conn.execute(_select(captures.c.id == candidate)).one())


def _finish(engine: Engine, job: CaptureJob, **values: Any) -> CaptureJob:
    with write_transaction(engine) as conn:
        conn.execute(
            update(captures).where(captures.c.id == job.id, captures.c.status == "running").values(**values)
        )
        return CaptureJob.of(conn.execute(_select(captures.c.id == job.id)).one())


def succeed(
    engine: Engine, job: CaptureJob, screenshot_id: str, *, now: datetime | None = None
) -> CaptureJob:
    return _finish(
        engine, job, status="done", screenshot_id=screenshot_id, error=None, updated_at=now or utcnow()
    )


def fail(
    engine: Engine,
    job: CaptureJob,
    reason: str,
    *,
    retry: bool,
    max_attempts: int,
    retry_base_s: float,
    now: datetime | None = None,
) -> CaptureJob:
    """Queue the job again after a backoff (doubling from ``retry_base_s``) while a passing failure has
    tries left; otherwise it failed for good. The reason is kept either way."""
    now = now or utcnow()
    if retry and job.attempts < max_attempts:
        wait = timedelta(seconds=retry_base_s * 2 ** (job.attempts - 1))
        return _finish(
            engine, job, status="queued", next_attempt_at=now + wait, error=reason[:MAX_ERROR], updated_at=now
        )
    return _finish(engine, job, status="failed", error=reason[:MAX_ERROR], updated_at=now)


def release_stale(engine: Engine, lease: timedelta, *, now: datetime | None = None) -> int:
    """Jobs left ``running`` by a worker that died (its lease ran out) are queued again; their try counts."""
    now = now or utcnow()
    with write_transaction(engine) as conn:
        released = conn.execute(
            update(captures)
            .where(captures.c.status == "running", captures.c.updated_at < now - lease)
            .values(status="queued", next_attempt_at=now, updated_at=now, error="the capture was interrupted")
        )
    return released.rowcount


def pairs_to_capture(
    engine: Engine,
    candidates: Iterable[tuple[str, str]],
    *,
    max_age: timedelta,
    failure_pause: timedelta,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """Of ``candidates`` (pageKey, breakpoint), those without a backdrop younger than ``max_age``, without
    an active job, and without a job that failed for good within ``failure_pause``."""
    now = now or utcnow()
    wanted = set(candidates)
    if not wanted:
        return []
    with engine.connect() as conn:
        fresh = conn.execute(
            select(screenshots.c.page_key, screenshots.c.breakpoint)
            .where(screenshots.c.kind == "web")
            .group_by(screenshots.c.page_key, screenshots.c.breakpoint)
            .having(func.max(screenshots.c.created_at) >= now - max_age)
        ).all()
        busy = conn.execute(
            select(captures.c.page_key, captures.c.breakpoint).where(
                or_(
                    captures.c.status.in_(ACTIVE),
                    and_(captures.c.status == "failed", captures.c.updated_at >= now - failure_pause),
                )
            )
        ).all()
    skip = {tuple(row) for row in fresh} | {tuple(row) for row in busy}
    return sorted(wanted - skip)


def latest_job(engine: Engine, page_key: str, breakpoint: str) -> CaptureJob | None:
    """The newest capture job of a (pageKey, breakpoint), whatever its state."""
    query = (
        _select(captures.c.page_key == page_key, captures.c.breakpoint == breakpoint)
        .order_by(captures.c.created_at.desc(), captures.c.id)
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return CaptureJob.of(row) if row else None
