"""Bearer tokens, permissions and per-token rate limits for the HTTP faces (CONTRACT 7)."""

from __future__ import annotations

import math
import time
from typing import Literal

from fastapi import Request

from api.context import AppContext
from api.errors import ApiError
from data_layer.auth import Permission, Principal, authenticate

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


class AuthFailure(Exception):
    """Authentication or authorisation failed; ``status`` is 401, 403 or 429."""

    def __init__(self, status: int, details: str, retry_after: int | None = None) -> None:
        super().__init__(details)
        self.status = status
        self.details = details
        self.retry_after = retry_after


def check_access(
    ctx: AppContext, token: str | None, permission: Permission | None, kind: RateKind
) -> Principal:
    """The caller's principal, or :class:`AuthFailure` (missing/unknown token, permission, rate)."""
    if not token:
        raise AuthFailure(401, "missing token: send the header Authorization: Bearer <token>")
    principal = authenticate(ctx.engine, token)
    if principal is None:
        raise AuthFailure(401, "the token is unknown or revoked")
    if permission is not None and not principal.has(permission):
        raise AuthFailure(403, f"this token lacks the {permission.value} permission")
    item = ctx.rate_item(kind)
    key = f"{kind}:{principal.token_id}"
    if not ctx.limiter.hit(item, key):
        reset = ctx.limiter.get_window_stats(item, key).reset_time
        raise AuthFailure(
            429,
            f"rate limit of {item.amount} {kind} requests per minute exceeded for this token",
            retry_after=max(1, math.ceil(reset - time.time())),
        )
    return principal


def rest_principal(
    request: Request, permission: Permission | None, kind: RateKind, token: str | None = None
) -> Principal:
    """REST flavour of :func:`check_access`: failures become :class:`ApiError` in the REST shape."""
    ctx: AppContext = request.app.state.ctx
    try:
        return check_access(ctx, token if token is not None else bearer_token(request), permission, kind)
    except AuthFailure as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        raise ApiError(exc.status, exc.details, headers) from None


def require(permission: Permission | None, kind: RateKind = "query"):
    """A FastAPI dependency enforcing ``permission`` (None = any valid token) and the rate limit."""

    def dependency(request: Request) -> Principal:
        return rest_principal(request, permission, kind)

    return dependency
