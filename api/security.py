"""Bearer tokens, permissions and per-token rate limits for the HTTP faces (CONTRACT 7)."""

from __future__ import annotations

import math
import time
from typing import Literal

from fastapi import Request

from api.context import AppContext
from data_layer.auth import Permission, Principal, authenticate
from data_layer.errors import Forbidden, RateLimited, Unauthorized

RateKind = Literal["query", "ingest"]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def check_access(
    ctx: AppContext, token: str | None, permission: Permission | None, kind: RateKind
) -> Principal:
    """The caller's principal; :class:`Unauthorized` for a missing, unknown or revoked token,
    :class:`Forbidden` without ``permission`` (None = any valid token), :class:`RateLimited` beyond the
    token's requests per minute of ``kind``."""
    if not token:
        raise Unauthorized("missing token: send the header Authorization: Bearer <token>")
    principal = authenticate(ctx.engine, token)
    if principal is None:
        raise Unauthorized("the token is unknown or revoked")
    if permission is not None and not principal.has(permission):
        raise Forbidden(f"this token lacks the {permission.value} permission")
    item = ctx.rate_item(kind)
    key = f"{kind}:{principal.token_id}"
    if not ctx.limiter.hit(item, key):
        reset = ctx.limiter.get_window_stats(item, key).reset_time
        raise RateLimited(
            f"rate limit of {item.amount} {kind} requests per minute exceeded for this token",
            retry_after=max(1, math.ceil(reset - time.time())),
        )
    return principal


def require(permission: Permission | None, kind: RateKind = "query"):
    """A FastAPI dependency enforcing ``permission`` (None = any valid token) and the rate limit."""

    def dependency(request: Request) -> Principal:
        return check_access(request.app.state.ctx, bearer_token(request), permission, kind)

    return dependency
