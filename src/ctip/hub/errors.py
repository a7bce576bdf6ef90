"""Errors the hub raises on purpose, each with its HTTP status (rendered as RFC 9457).

They are ``CtipError``s too, so a CLI command that hits one prints one line and exits.
"""

from __future__ import annotations

from ctip import errors
from ctip.errors import CtipError


class HubError(CtipError):
    status = 400
    title = "Bad request"
    slug = "bad-request"


class UnauthorizedError(HubError):
    status = 401
    title = "Not authenticated"
    slug = "unauthenticated"


class ForbiddenError(HubError):
    status = 403
    title = "Not allowed"
    slug = "forbidden"


class NotFoundError(HubError, errors.NotFoundError):
    status = 404
    title = "Not found"
    slug = "not-found"
    exit_code = 2


class ConflictError(HubError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class InvalidError(HubError):
    status = 422
    title = "Invalid request"
    slug = "invalid"
    exit_code = 2


class TooManyRequestsError(HubError):
    status = 429
    title = "Too many requests"
    slug = "rate-limited"

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after
