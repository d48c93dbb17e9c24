"""Run the Box sandbox in-process (a background thread with its own event loop) for fast tests.

``with running_box(settings) as (api_url, upload_url):`` serves both hosts on free ports with the webhook worker.
The full sandbox process is :mod:`sandbox.testing` (helper A); this runner only serves Box.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import TYPE_CHECKING

import uvicorn

from sandbox.box import BoxSandbox, create_box

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sandbox.settings import SandboxSettings


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_box(settings: SandboxSettings) -> Iterator[tuple[BoxSandbox, str, str]]:
    """Yield (box, api base URL, upload base URL ending in /api) while both hosts serve."""
    host = "127.0.0.1"
    api_port, upload_port = free_port(host), free_port(host)
    box = create_box(settings)
    box.set_upload_url(f"http://{host}:{upload_port}/api")
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
        for app, port in ((box.api_app, api_port), (box.upload_app, upload_port))
    ]
    loop = asyncio.new_event_loop()
    stop = threading.Event()

    async def main() -> None:
        worker = asyncio.create_task(box.delivery_worker(poll_interval=0.05))
        serving = [asyncio.create_task(server.serve()) for server in servers]
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*serving, return_exceptions=True)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        for server in servers:
            for _ in range(200):
                if server.started:
                    break
                threading.Event().wait(0.025)
            else:
                raise RuntimeError("Box sandbox did not start")
        yield box, f"http://{host}:{api_port}", f"http://{host}:{upload_port}/api"
    finally:
        stop.set()
        thread.join(timeout=10)
        loop.close()
        box.close()
