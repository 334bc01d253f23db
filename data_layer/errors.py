"""Errors of the product's operations, each carrying the HTTP status it means.

The status is a plain number so that ``data_layer`` stays free of web frameworks: the API turns any
:class:`ServiceError` into its REST or Connect error body in one exception handler (``api/errors.py``),
the dashboard and the command line into messages.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError


class ServiceError(Exception):
    """Base class; ``details`` says what was wrong and how to fix it, ``status`` the HTTP status."""

    status = 500

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class BadRequest(ServiceError):
    """The request is invalid (a parameter, the body, a window, a cursor); nothing was changed."""

    status = 400


class Unauthorized(ServiceError):
    """No token, or one that is unknown or revoked."""

    status = 401


class Forbidden(ServiceError):
    """The token lacks the permission the operation needs."""

    status = 403


class Unavailable(ServiceError):
    """A store the answer needs cannot answer now (a ClickHouse shard down): never partial numbers."""

    status = 503


class NotFound(ServiceError):
    status = 404


class PayloadTooLarge(ServiceError):
    status = 413


class RateLimited(ServiceError):
    """The token's requests per minute are used up; ``retry_after`` is in whole seconds (at least 1)."""

    status = 429

    def __init__(self, details: str, retry_after: int) -> None:
        super().__init__(details)
        self.retry_after = retry_after


def database_unavailable(exc: Exception) -> bool:
    """True for errors meaning the database cannot serve now (as opposed to a bug): unreachable, the
    connection lost or timed out by the kernel (keepalives, tcp_user_timeout), or a statement cancelled by
    PostgreSQL's statement_timeout (``QueryCanceled`` is an ``OperationalError``)."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
