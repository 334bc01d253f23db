"""Tokens verified once and trusted for a few seconds (``HEATMAPS_TOKEN_CACHE_S``).

Every request names a token, and a site's trackers all send the same ingest key, thousands of times a
second: looking it up in SQL each time costs more than the rest of a small request's checks together.
So a valid token's principal is kept for ``ttl_s`` seconds after its look-up; a token revoked meanwhile
(by any process: ``heatmaps keys revoke``) stops working at the latest ``ttl_s`` seconds later, when
its entry expires. Only valid tokens are kept: a new token works at once, and unknown tokens, which
anyone can send, cost a look-up each and never fill the cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from data_layer.auth import Principal, authenticate, hash_token

MAX_ENTRIES = 10_000
"""Valid tokens kept at most (the oldest entry goes first); a deployment has a handful."""


@dataclass
class TokenCache:
    """Principals of recently verified tokens, by the token's SHA-256 (the token itself is not kept)."""

    engine: Engine
    ttl_s: float
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, tuple[float, Principal]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def cached(self, token: str) -> Principal | None:
        """The principal of ``token`` if it was verified less than ``ttl_s`` seconds ago, else None;
        never looks anything up (for callers that must not wait for the database)."""
        entry = self._entries.get(hash_token(token)) if self.ttl_s > 0 else None
        return entry[1] if entry is not None and entry[0] > self.clock() else None

    def principal(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token (as verified at most ``ttl_s`` seconds ago); None
        for an unknown or revoked one."""
        if self.ttl_s <= 0:
            return authenticate(self.engine, token)
        digest = hash_token(token)
        now = self.clock()
        entry = self._entries.get(digest)
        if entry is not None and entry[0] > now:
            return entry[1]
        principal = authenticate(self.engine, token)
        with self._lock:
            if principal is None:
                self._entries.pop(digest, None)
                return None
            self._entries.pop(digest, None)  # re-inserted last: the dict's order is the entries' age
            self._entries[digest] = (now + self.ttl_s, principal)
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]
        return principal
