"""Errors the service layer raises; the API maps them to HTTP statuses, the dashboard to messages."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class; ``details`` says what was wrong and how to fix it."""

    code = "internal"

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class BadRequest(ServiceError):
    code = "bad_request"


class NotFound(ServiceError):
    code = "not_found"


class PayloadTooLarge(ServiceError):
    code = "payload_too_large"
