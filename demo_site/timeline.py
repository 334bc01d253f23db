"""When things happen: sessions placed in a window of UTC days with weekly and daily seasonality, and the
numbering and time-stamping that turns simulated sessions into events."""

from __future__ import annotations

import random
import time
from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
# Monday first: weekend traffic is lower.
_WEEKDAY_WEIGHTS = (1.0, 1.06, 1.05, 1.0, 0.92, 0.7, 0.76)
# UTC hours: a US-heavy audience peaks in the European evening and the American afternoon.
_HOUR_WEIGHTS = (
    3.2,
    2.8,
    2.3,
    1.8,
    1.3,
    1.0,
    1.1,
    1.6,
    2.2,
    2.7,
    3.0,
    3.2,
    3.5,
    4.0,
    4.6,
    5.0,
    5.2,
    5.3,
    5.2,
    5.0,
    4.8,
    4.5,
    4.1,
    3.6,
)
_HOUR_CUM = tuple(accumulate(_HOUR_WEIGHTS))


class Clock:
    """Places sessions in the ``days`` UTC days ending at ``end`` with weekly and daily seasonality."""

    def __init__(self, days: int, end: datetime) -> None:
        if end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        self.end_ms = (end - _EPOCH) // timedelta(milliseconds=1)
        last_day = self.end_ms - self.end_ms % _DAY_MS
        self.first_day = last_day - (days - 1) * _DAY_MS
        weights = []
        for day in range(days):
            start = self.first_day + day * _DAY_MS
            weekday = (start // _DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
            available = min(1.0, (self.end_ms - start) / _DAY_MS)
            weights.append(_WEEKDAY_WEIGHTS[weekday] * (1 + 0.3 * day / days) * available)
        self.cum = tuple(accumulate(weights))

    def place(self, rng: random.Random, duration_ms: int) -> int:
        """Start (epoch ms) for a session lasting ``duration_ms``, so that its last event is before end."""
        total = self.cum[-1]
        for _ in range(8):
            if total <= 0:
                break
            day = bisect_right(self.cum, rng.random() * total)
            hour = bisect_right(_HOUR_CUM, rng.random() * _HOUR_CUM[-1])
            start = self.first_day + day * _DAY_MS + hour * _HOUR_MS + rng.randrange(_HOUR_MS)
            if start + duration_ms < self.end_ms:
                return start
        # Late in the last day: end the session just before ``end`` (it may then begin on the day before).
        return self.end_ms - duration_ms - 1 - rng.randrange(60_000)


def rfc3339(epoch_ms: int) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def stamped(
    sessions: Iterator[list[dict[str, Any]]],
    rng: random.Random,
    *,
    events: int,
    days: int,
    end: datetime,
    id_prefix: str,
) -> Iterator[dict[str, Any]]:
    """Exactly ``events`` events of ``sessions`` (timestamps in ms from the session's start), each session
    placed in the ``days`` UTC days ending at ``end`` (naive = UTC) with ``rng``; the last session is cut
    short to hit the count. Ids are ``{id_prefix}{n}`` (n = 0, 1, ...), timestamps RFC 3339 strings."""
    if events < 0 or days < 1:
        raise ValueError("events must be >= 0 and days >= 1")
    clock = Clock(days, end)
    produced = 0
    while produced < events:
        session = next(sessions)
        start = clock.place(rng, session[-1]["timestamp"])
        for event in session[: events - produced]:
            event["eventId"] = f"{id_prefix}{produced}"
            event["timestamp"] = rfc3339(start + event["timestamp"])
            produced += 1
            yield event
