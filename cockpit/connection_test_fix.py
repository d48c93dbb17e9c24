"""Lets the UI's connection **Test** button test stored connections that have no port.

The UI posts ``port: Number(connection.port)``, i.e. ``0`` for a connection without a port, and Airflow 3.3.2
refuses to reuse stored credentials when the port differs from the stored one (NULL): every ``otmm``, ``box``
and ``http`` connection answered 400 "The host or port to test differs from the stored connection". Upstream
fixed it in apache/airflow#73298 (port 0 counts as no port); this root middleware does the same until that
release: it drops ``"port": 0`` from ``POST /api/v2/connections/test`` before Airflow reads the body.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

TEST_PATH = "/api/v2/connections/test"


def without_port_zero(body: bytes) -> bytes:
    """The request body without a ``port`` of 0 (any other body unchanged)."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or data.get("port") not in (0, "0"):
        return body
    del data["port"]
    return json.dumps(data).encode()


class ConnectionTestPortFix:
    """Pure ASGI middleware (reads the body once and replays it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(TEST_PATH):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        body = without_port_zero(b"".join(chunks))
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
