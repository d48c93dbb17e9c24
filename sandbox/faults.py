"""Deterministic fault injection for every sandbox server.

``FaultInjector(app)`` wraps an ASGI app. Rules are added over HTTP under the reserved prefix
``/__sandbox__/faults`` (``GET`` lists, ``POST`` adds one rule as JSON, ``DELETE`` clears) and live in memory only.
A rule matches a method (``*`` = any) and an fnmatch path pattern (e.g. ``/2.0/files/*/content``) and applies to
the next ``count`` matching requests:

- ``status``: answer ``status`` (any 4xx/5xx) with a small JSON body, without calling the app;
- ``429``: answer 429 with ``Retry-After: <retry_after>``;
- ``ignore``: answer 200 ``{}`` without calling the app — a write the server accepts but never applies;
- ``reset``: run the app, send the headers and ``after_bytes`` of the body (default: half), then abort the TCP
  connection (RST) — the client sees a connection reset mid-body;
- ``truncate``: run the app, keep the full ``Content-Length`` but send only ``after_bytes`` (default: half) of
  the body, then close the connection cleanly — the client sees a short read;
- ``delay``: wait ``seconds`` before the app answers;
- ``slow_answer``: run the app (it acts on the request), then wait ``seconds`` before the answer leaves — a
  client that dies meanwhile did its request without learning so.

``GET /__sandbox__/concurrency`` answers the peak of requests in flight at once since the last ``DELETE`` (and
those in flight now), what a rate limiter at the real service would see; requests with the header
``X-Sandbox-Uncounted`` (a benchmark's own agency uploads) and admin routes are not counted. Box's API and upload
hosts share one gauge.

``reset`` needs the connection's transport; servers started by :mod:`sandbox.server` use
:class:`FaultAwareH11Protocol`, which records it. Without it the connection is closed instead of reset.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import json
import socket
import struct
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

ADMIN_PREFIX = "/__sandbox__"
FAULTS_PATH = f"{ADMIN_PREFIX}/faults"
CONCURRENCY_PATH = f"{ADMIN_PREFIX}/concurrency"
UNCOUNTED_HEADER = b"x-sandbox-uncounted"


class ConcurrencyGauge:
    """Requests in flight at once, and their peak since the last reset (one event loop: no lock needed)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0

    def enter(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def leave(self) -> None:
        self.in_flight -= 1

    def reset(self) -> None:
        self.peak = self.in_flight
KINDS = ("status", "429", "ignore", "reset", "truncate", "delay", "slow_answer")

#: Open connections by client address, filled by FaultAwareH11Protocol (used to reset a connection).
_TRANSPORTS: dict[tuple[str, int], asyncio.Transport] = {}


class FaultAwareH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that records each connection's transport so a fault can reset it."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        if peer:
            _TRANSPORTS[(peer[0], peer[1])] = transport

    def connection_lost(self, exc: Exception | None) -> None:
        peer = self.transport.get_extra_info("peername") if self.transport else None
        if peer:
            _TRANSPORTS.pop((peer[0], peer[1]), None)
        super().connection_lost(exc)


@dataclass
class FaultRule:
    """One armed fault; ``remaining`` counts down to 0, then the rule no longer fires."""

    id: int
    method: str
    path: str
    kind: str
    count: int = 1
    remaining: int = 1
    status: int = 503
    retry_after: int = 1
    seconds: float = 1.0
    after_bytes: int | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and (self.method == "*" or self.method.upper() == method.upper())
            and fnmatch.fnmatchcase(path, self.path)
        )


class FaultRuleError(ValueError):
    """A rule posted to the admin route is invalid."""


class FaultRegistry:
    """In-memory list of rules; one per wrapped app."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        kind = str(spec.get("kind", ""))
        if kind not in KINDS:
            raise FaultRuleError(f"kind must be one of {', '.join(KINDS)}")
        if not spec.get("path"):
            raise FaultRuleError("path (fnmatch pattern) is required")
        count = int(spec.get("count", 1))
        if count < 1:
            raise FaultRuleError("count must be >= 1")
        status = int(spec.get("status", 429 if kind == "429" else 503))
        if kind == "status" and not 400 <= status <= 599:
            raise FaultRuleError("status must be a 4xx or 5xx code")
        after = spec.get("after_bytes")
        rule = FaultRule(
            id=next(self._ids),
            method=str(spec.get("method", "*")).upper(),
            path=str(spec["path"]),
            kind=kind,
            count=count,
            remaining=count,
            status=status,
            retry_after=int(spec.get("retry_after", 1)),
            seconds=float(spec.get("seconds", 1.0)),
            after_bytes=None if after is None else int(after),
        )
        self.rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first armed rule matching the request, consuming one of its ``count``."""
        for rule in self.rules:
            if rule.matches(method, path):
                rule.remaining -= 1
                rule.hits += 1
                return rule
        return None

    def clear(self) -> None:
        self.rules.clear()


async def _send_json(send: Send, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


class _StopBody(Exception):  # noqa: N818 - internal control flow, not an error
    """Raised inside ``send`` to stop the wrapped app once the faulty part of the body is out."""


async def _abort(scope: Scope) -> bool:
    """Reset the client's TCP connection (RST) once what was sent is flushed. False when the transport is unknown."""
    client = scope.get("client")
    transport = _TRANSPORTS.get((client[0], client[1])) if client else None
    if transport is None:
        return False
    for _ in range(200):  # up to ~2 s for the partial body to leave the write buffer
        if transport.is_closing() or transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()
    return True


class FaultInjector:
    """ASGI middleware: serves ``/__sandbox__/faults`` and applies armed rules to the wrapped app."""

    def __init__(self, app: ASGIApp, registry: FaultRegistry | None = None,
                 gauge: ConcurrencyGauge | None = None) -> None:
        self.app = app
        self.registry = registry or FaultRegistry()
        self.gauge = gauge or ConcurrencyGauge()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.rstrip("/") == FAULTS_PATH:
            await self._admin(scope, receive, send)
            return
        if path.rstrip("/") == CONCURRENCY_PATH:
            if scope["method"] == "DELETE":
                self.gauge.reset()
            await _send_json(send, 200, {"peak": self.gauge.peak, "in_flight": self.gauge.in_flight})
            return
        counted = not path.startswith(ADMIN_PREFIX) and UNCOUNTED_HEADER not in dict(scope.get("headers") or [])
        if counted:
            self.gauge.enter()
        try:
            await self._serve(scope, receive, send, path)
        finally:
            if counted:
                self.gauge.leave()

    async def _serve(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        rule = None if path.startswith(ADMIN_PREFIX) else self.registry.take(scope["method"], path)
        if rule is None:
            await self.app(scope, receive, send)
        elif rule.kind == "status":
            await _send_json(
                send,
                rule.status,
                {"type": "error", "status": rule.status, "code": "sandbox_fault", "message": "Injected fault"},
            )
        elif rule.kind == "429":
            await _send_json(
                send,
                429,
                {"type": "error", "status": 429, "code": "rate_limit_exceeded", "message": "Request rate limit exceeded"},
                [(b"retry-after", str(rule.retry_after).encode())],
            )
        elif rule.kind == "ignore":
            await _send_json(send, 200, {})
        elif rule.kind == "delay":
            await asyncio.sleep(rule.seconds)
            await self.app(scope, receive, send)
        elif rule.kind == "slow_answer":
            async def slow_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    await asyncio.sleep(rule.seconds)
                await send(message)

            await self.app(scope, receive, slow_send)
        else:
            await self._cut_body(rule, scope, receive, send)

    async def _cut_body(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the response through until ``after_bytes`` of the body are out, then reset or close."""
        state = {"limit": rule.after_bytes, "sent": 0}

        async def cutting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                if state["limit"] is None:
                    length = dict(message.get("headers", [])).get(b"content-length")
                    state["limit"] = int(length) // 2 if length else 0
                await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body: bytes = message.get("body", b"")
            room = state["limit"] - state["sent"]
            if len(body) >= room or not message.get("more_body"):
                if room > 0:
                    await send({"type": "http.response.body", "body": body[:room], "more_body": True})
                raise _StopBody
            state["sent"] += len(body)
            await send(message)

        try:
            await self.app(scope, receive, cutting_send)
        except _StopBody:
            pass
        if rule.kind == "reset" and not await _abort(scope):
            raise ConnectionAbortedError("sandbox fault: connection reset")
        # truncate: returning with the response incomplete makes uvicorn close the connection (FIN).

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "GET":
            await _send_json(send, 200, {"faults": [asdict(r) for r in self.registry.rules]})
        elif method == "DELETE":
            self.registry.clear()
            await _send_json(send, 200, {"faults": []})
        elif method == "POST":
            try:
                spec = json.loads(await _read_body(receive) or b"{}")
                rule = self.registry.add(spec if isinstance(spec, dict) else {})
            except (FaultRuleError, ValueError, TypeError) as exc:
                await _send_json(send, 400, {"error": str(exc)})
                return
            await _send_json(send, 201, asdict(rule))
        else:
            await _send_json(send, 405, {"error": "use GET, POST or DELETE"})
