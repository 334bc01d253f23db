"""REST error bodies (CONTRACT 8): every non-2xx answer is ``{"error": code, "details": text}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from data_layer.errors import BadRequest, NotFound, PayloadTooLarge, ServiceError

log = logging.getLogger("heatmaps.api")

STATUS_CODES = {
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
SERVICE_STATUS = {BadRequest: 400, NotFound: 404, PayloadTooLarge: 413}


class ApiError(Exception):
    """An error with its HTTP status, code and client-facing details (plus optional headers)."""

    def __init__(self, status: int, details: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(details)
        self.status = status
        self.details = details
        self.headers = headers or {}


def error_response(status: int, details: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": STATUS_CODES.get(status, "error"), "details": details}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:20]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body", "path", "header"))
        parts.append(f"{loc}: {error.get('msg', 'invalid')}" if loc else str(error.get("msg", "invalid")))
    return "; ".join(parts) or "the request is invalid"


def database_unavailable(exc: Exception) -> bool:
    """True for errors meaning the database cannot serve now (as opposed to a bug): unreachable, the
    connection lost or timed out by the kernel (keepalives, tcp_user_timeout), or a statement cancelled by
    PostgreSQL's statement_timeout (``QueryCanceled`` is an ``OperationalError``)."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.details, exc.headers)

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(SERVICE_STATUS.get(type(exc), 500), exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, _validation_details(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        details = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, details, getattr(exc, "headers", None))

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
            503, "the database is unavailable; retry in a few seconds", {"Retry-After": "5"}
        )
    log.exception("unhandled error during %s %s", request.method, request.url.path)
    return error_response(500, "an internal error occurred; it has been logged")
