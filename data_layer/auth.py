"""API tokens and permissions (CONTRACT 7).

Tokens are 32 random bytes from :mod:`secrets`, shown once, stored only as their SHA-256 and compared in
constant time. A token without permissions is an ingest key: safe to embed in a public page.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine, insert, select, update

from data_layer.db import write_transaction
from data_layer.schema import api_tokens, app_meta

TOKEN_PREFIX = "hm_"


class Permission(StrEnum):
    VIEW_HEATMAPS = "VIEW_HEATMAPS"
    MANAGE_HEATMAPS = "MANAGE_HEATMAPS"
    ADMIN = "ADMIN"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, its user and its permissions."""

    token_id: int
    user_id: str
    permissions: frozenset[Permission]

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class TokenInfo:
    id: int
    prefix: str
    user_id: str
    permissions: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


def parse_permissions(text: str) -> frozenset[Permission]:
    """``"VIEW_HEATMAPS, manage_heatmaps"`` -> permissions; raises ValueError naming an unknown one."""
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in Permission.__members__]
    if unknown:
        allowed = ", ".join(Permission.__members__)
        raise ValueError(f"unknown permission {unknown[0]!r}; use any of {allowed}")
    return frozenset(Permission(name) for name in names)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    engine: Engine, user_id: str, permissions: frozenset[Permission] = frozenset()
) -> tuple[int, str]:
    """Create a token for ``user_id``; returns (id, token). The token is not recoverable later."""
    if not user_id or len(user_id) > 128:
        raise ValueError("user id must be 1 to 128 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction(engine) as conn:
        token_id = conn.execute(
            insert(api_tokens).values(
                token_hash=hash_token(token),
                prefix=token[:10],
                user_id=user_id,
                permissions=",".join(sorted(permissions)),
                created_at=datetime.now(UTC).replace(tzinfo=None),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    return int(token_id), token


def authenticate(engine: Engine, token: str) -> Principal | None:
    """The principal of a valid, unrevoked token; None otherwise."""
    if not token or len(token) > 256:
        return None
    digest = hash_token(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(api_tokens.c.id, api_tokens.c.token_hash, api_tokens.c.user_id, api_tokens.c.permissions)
            .where(api_tokens.c.token_hash == digest)
            .where(api_tokens.c.revoked_at.is_(None))
        ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return Principal(row.id, row.user_id, parse_permissions(row.permissions))


def list_tokens(engine: Engine) -> list[TokenInfo]:
    with engine.connect() as conn:
        rows = conn.execute(select(api_tokens).order_by(api_tokens.c.id)).all()
    return [
        TokenInfo(
            r.id,
            r.prefix,
            r.user_id,
            tuple(filter(None, r.permissions.split(","))),
            r.created_at,
            r.revoked_at,
        )
        for r in rows
    ]


def revoke_token(engine: Engine, token_id: int) -> bool:
    """Revoke a token; False when no active token has that id."""
    with write_transaction(engine) as conn:
        result = conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC).replace(tzinfo=None))
        )
    return result.rowcount == 1


def secret_key(engine: Engine, configured: str | None) -> bytes:
    """The configured secret, or the one generated and stored in the database on first use."""
    if configured:
        return configured.encode("utf-8")
    with engine.connect() as conn:
        stored = conn.scalar(select(app_meta.c.value).where(app_meta.c.key == "secret_key"))
    if stored is None:
        with write_transaction(engine) as conn:
            stored = conn.scalar(select(app_meta.c.value).where(app_meta.c.key == "secret_key"))
            if stored is None:
                stored = secrets.token_hex(32)
                conn.execute(insert(app_meta).values(key="secret_key", value=stored))
    return stored.encode("utf-8")
