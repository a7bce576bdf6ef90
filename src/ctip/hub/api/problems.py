"""RFC 9457 problem details: one JSON error shape for every failure, from one handler dict."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from ctip.errors import CtipError
from ctip.hub.errors import HubError, TooManyRequestsError

PROBLEM_TYPE = "application/problem+json"
log = logging.getLogger("ctip.hub.api")
Handler = Callable[[Request, Any], Coroutine[Any, Any, Response]]


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    instance: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"urn:ctip:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **({"instance": instance} if instance else {}),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


async def hub_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HubError)
    headers = (
        {"Retry-After": str(error.retry_after)} if isinstance(error, TooManyRequestsError) else None
    )
    if error.status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="ctip"'}
    return problem(
        error.status,
        error.title,
        str(error),
        slug=error.slug,
        instance=request.url.path,
        headers=headers,
    )


async def ctip_error(request: Request, error: Exception) -> Response:
    status = 422 if getattr(error, "exit_code", 1) == 2 else 400
    return problem(
        status,
        "Request could not be processed",
        str(error),
        slug="bad-request",
        instance=request.url.path,
    )


async def validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"location": ".".join(str(p) for p in item.get("loc", ())), "message": item.get("msg")}
        for item in error.errors()[:20]
    ]
    first = errors[0] if errors else {"location": "", "message": "invalid request"}
    return problem(
        422,
        "Invalid request",
        f"{first['location']}: {first['message']}",
        slug="invalid",
        instance=request.url.path,
        errors=errors,
    )


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    titles = {
        404: "Not found",
        405: "Method not allowed",
        401: "Not authenticated",
        403: "Not allowed",
    }
    return problem(
        error.status_code,
        titles.get(error.status_code, "Error"),
        str(error.detail),
        slug=f"http-{error.status_code}",
        instance=request.url.path,
        headers=getattr(error, "headers", None),
    )


async def data_error(request: Request, error: Exception) -> Response:
    """A value PostgreSQL refused (NUL characters, out-of-range numbers): the client's fault."""
    return problem(
        422,
        "Invalid request",
        "a value was refused by the database (check for NUL characters and out-of-range numbers)",
        slug="invalid",
        instance=request.url.path,
    )


async def internal_error(request: Request, error: Exception) -> Response:
    log.error(
        "unhandled error on %s %s: %s", request.method, request.url.path, type(error).__name__
    )
    return problem(
        500,
        "Internal error",
        "the hub failed; the error was logged",
        slug="internal",
        instance=request.url.path,
    )


EXCEPTION_HANDLERS: dict[int | type[Exception], Handler] = {
    HubError: hub_error,
    CtipError: ctip_error,
    RequestValidationError: validation_error,
    StarletteHTTPException: http_error,
    DataError: data_error,
    Exception: internal_error,
}
