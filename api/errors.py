"""Every error answer of the API, from one place, in the contract's two shapes.

REST (CONTRACT 8): ``{"error": code, "details": text}`` with the error's HTTP status. The HeatmapService
(CONTRACT 5): Connect's ``{"code", "message"}`` with the HTTP status Connect gives that code. Routes raise
the data layer's :class:`~data_layer.errors.ServiceError` subclasses, which carry their status, and let
them propagate; the handlers installed here pick the shape from the request's path. No route translates
an error by hand.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from data_layer.errors import RateLimited, ServiceError, Unauthorized, Unavailable, database_unavailable

log = logging.getLogger("heatmaps.api")

SERVICE = "heatmap.v1.HeatmapService"
REST_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}
# Our statuses as Connect codes: a body over the size limit is resource_exhausted, like a rate limit.
CONNECT_CODES = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    413: "resource_exhausted",
    429: "resource_exhausted",
    500: "internal",
    503: "unavailable",
}
# The Connect protocol's HTTP status of each code. A status without a code of its own (415 for a wrong
# content type, 405) is answered as Connect's "unknown" with that status.
CONNECT_STATUS = {
    "invalid_argument": 400,
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "unimplemented": 404,
    "resource_exhausted": 429,
    "internal": 500,
    "unavailable": 503,
}


def is_connect(request: Request) -> bool:
    return request.scope["path"].startswith(f"/{SERVICE}/")


def connect_response(
    code: str, message: str, status: int = 500, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A Connect error body; ``status`` is used only for a code without an HTTP status of its own."""
    return JSONResponse(
        {"code": code, "message": message}, status_code=CONNECT_STATUS.get(code, status), headers=headers
    )


def error_response(
    request: Request, status: int, details: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The error answer for ``status`` in the shape of the face ``request`` came to (REST or Connect)."""
    if is_connect(request):
        return connect_response(CONNECT_CODES.get(status, "unknown"), details, status, headers)
    body = {"error": REST_CODES.get(status, "error"), "details": details}
    return JSONResponse(body, status_code=status, headers=headers)


def _service_headers(exc: ServiceError) -> dict[str, str] | None:
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, Unavailable):
        return {"Retry-After": "5"}
    return None


def _validation_details(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:20]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body", "path", "header"))
        parts.append(f"{loc}: {error.get('msg', 'invalid')}" if loc else str(error.get("msg", "invalid")))
    return "; ".join(parts) or "the request is invalid"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(request, exc.status, exc.details, _service_headers(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, 400, _validation_details(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        details = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(request, exc.status_code, details, getattr(exc, "headers", None))

    # Database errors get their own handler: Starlette answers with the catch-all handler below but then
    # re-raises, which makes the server print a traceback for every request of an outage.
    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        return _unexpected_response(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _unexpected_response(request, exc)


def _unexpected_response(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After while the database is unreachable; 500 (logged, no trace in the body) else."""
    if database_unavailable(exc):
        log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            request, 503, "the database is unavailable; retry in a few seconds", {"Retry-After": "5"}
        )
    log.exception("unhandled error during %s %s", request.method, request.url.path)
    return error_response(request, 500, "an internal error occurred; it has been logged")
