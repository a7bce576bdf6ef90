"""Pure ASGI middleware: body size limit, security headers, structured access log.

The access log names the route template (``/api/v1/cases/{case_id}``), never the query string
or the body, so no personal value reaches the logs.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("ctip.hub.access")


class BodyLimit:
    """Refuse bodies over ``limit`` bytes, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.limit + 1
                if declared > self.limit:
                    await _too_large(send, self.limit)
                    return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE") and not any(
            name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"]
        ):
            await self.app(scope, receive, send)
            return
        # Read the body here (at most limit + one chunk) and replay it: a streamed body over
        # the limit is refused before any application code sees it.
        chunks: list[bytes] = []
        seen = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.limit:
                await _too_large(send, self.limit)
                return
            more = bool(message.get("more_body", False))
        await self.app(
            scope, _replay([{"type": "http.request", "body": b"".join(chunks)}], receive), send
        )


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "urn:ctip:problem:too-large",
            "title": "Request body too large",
            "status": 413,
            "detail": f"the body is larger than {limit} bytes",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Security headers on every response, a request id, and one JSON access-log line."""

    def __init__(self, app: ASGIApp, csp: str, hsts: bool) -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", csp.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        status = 0
        api = scope.get("path", "").startswith("/api/")

        async def with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in self.headers if h[0] not in present]
                headers.append((b"x-request-id", request_id.encode()))
                if api and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                _log_request(scope, status, started, request_id)


def _log_request(scope: Scope, status: int, started: float, request_id: str) -> None:
    route = scope.get("route")
    template = getattr(route, "path", None) or "(unmatched)"
    state: dict[str, Any] = scope.get("state") or {}
    principal = state.get("principal")
    access_log.info(
        json.dumps(
            {
                "event": "request",
                "request_id": request_id,
                "method": scope.get("method"),
                "route": template,
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 2),
                "agency_id": getattr(principal, "agency_id", None),
                "user_id": getattr(principal, "user_id", None),
                "via": getattr(principal, "via", None),
            }
        )
    )


class JsonLogFormatter(logging.Formatter):
    """One JSON object per log line (the message itself is already free of personal data)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        try:
            payload = json.loads(message)
            if not isinstance(payload, dict):
                raise ValueError
        except ValueError:
            payload = {"message": message}
        payload = {
            "time": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            **payload,
        }
        return json.dumps(payload)
