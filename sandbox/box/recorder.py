"""A tiny local webhook endpoint that records what Box delivers (for tests and demos).

``recorder = WebhookRecorder()`` listens on a free port; ``recorder.url`` is the address to register,
``recorder.statuses`` queues the codes to answer (then 200), ``recorder.wait_for(n)`` returns the first n
deliveries as ``{"headers": {lower-case: value}, "body": bytes, "status": int}``.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookRecorder:
    """Records every POST; answers the queued status codes, then 200."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with recorder.lock:
                    status = recorder.statuses.pop(0) if recorder.statuses else 200
                    recorder.deliveries.append(
                        {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "status": status}
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/box/webhook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(self.deliveries)}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
