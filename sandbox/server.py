"""Run every sandbox app (OTMM, Box API, Box upload, sinks) in one process and one asyncio loop.

Each app gets its own ``uvicorn.Server`` on its own port (0 = a free one, chosen here by binding the socket
first). Once all sockets listen, ``<data_dir>/endpoints.json`` lists every base URL. SIGTERM/SIGINT stop all
servers cleanly. Box background work (webhook delivery) runs in the Box apps' own lifespan, in this loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from sandbox.faults import ConcurrencyGauge, FaultAwareH11Protocol, FaultInjector

if TYPE_CHECKING:
    from collections.abc import Iterator

    from starlette.types import ASGIApp

    from sandbox.settings import SandboxSettings

log = logging.getLogger("sandbox")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve_async` (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio enables TCP_NODELAY on accepted connections only for such sockets; without
    # it every kept-alive response body waits for the client's delayed ACK (~40 ms a request).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _unavailable(name: str, reason: str) -> ASGIApp:
    """Placeholder answering 503 on every route when an app's package cannot be imported."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def answer(request: Any) -> JSONResponse:
        return JSONResponse({"error": f"{name} unavailable: {reason}"}, status_code=503)

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])


def build_apps(settings: SandboxSettings) -> dict[str, ASGIApp]:
    """The apps by role: ``otmm``, ``box_api``, ``box_upload``, ``sinks``; each wrapped in FaultInjector.

    Contract with ``sandbox.box``: ``sandbox/box/app.py`` provides ``create_api_app(settings)`` and
    ``create_upload_app(settings)`` returning ASGI apps; their background work (webhook delivery) starts and
    stops in the apps' lifespan.
    """
    from sandbox.otmm.app import create_app as create_otmm_app
    from sandbox.sinks import create_app as create_sinks_app

    apps: dict[str, ASGIApp] = {"otmm": create_otmm_app(settings)}
    try:
        from sandbox.box.app import create_api_app, create_upload_app
    except ImportError as exc:  # Box side not installed (yet): keep the rest usable
        log.warning("Box apps unavailable: %s", exc)
        apps["box_api"] = _unavailable("box api", str(exc))
        apps["box_upload"] = _unavailable("box upload", str(exc))
    else:
        apps["box_api"] = create_api_app(settings)
        apps["box_upload"] = create_upload_app(settings)
    apps["sinks"] = create_sinks_app(settings)
    box = ConcurrencyGauge()  # Box's API and upload hosts: one service, one gauge
    return {role: FaultInjector(app, gauge=box if role.startswith("box") else None) for role, app in apps.items()}


def endpoints_for(settings: SandboxSettings) -> dict[str, Any]:
    """Every base URL a client needs, from the (already resolved) ports in ``settings``."""
    h = settings.host
    otmm = f"http://{h}:{settings.otmm_port}"
    sinks = f"http://{h}:{settings.sinks_port}"
    return {
        "otmm_url": otmm,
        "otmm_base_url": f"{otmm}/otmmapi/v6",
        "otds_token_url": f"{otmm}/otdsws/oauth2/token",
        "box_base_url": f"http://{h}:{settings.box_api_port}",
        "box_upload_url": f"http://{h}:{settings.box_upload_port}/api",
        "box_web_url": f"http://{h}:{settings.box_api_port}/app",  # the web app's pages (app.box.com)
        "sinks_url": sinks,
        "mailgun_base_url": f"{sinks}/v3",
        "status_webhook_url": f"{sinks}/status-webhook",
        "asset_webhook_url": f"{sinks}/asset-webhook",
        "pid": os.getpid(),
    }


async def serve_async(settings: SandboxSettings) -> None:
    """Bind, write endpoints.json, serve until SIGTERM/SIGINT."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Spooled multipart uploads go to temporary files: keep them inside the data folder.
    tempfile.tempdir = str(settings.data_dir / "tmp")
    Path(tempfile.tempdir).mkdir(exist_ok=True)
    apps = build_apps(settings)
    port_attr = {"otmm": "otmm_port", "box_api": "box_api_port", "box_upload": "box_upload_port",
                 "sinks": "sinks_port"}
    sockets: dict[str, socket.socket] = {}
    for role, attr in port_attr.items():
        sockets[role] = _bind(settings.host, getattr(settings, attr))
        setattr(settings, attr, sockets[role].getsockname()[1])

    servers = [
        _Server(
            uvicorn.Config(
                apps[role],
                http=FaultAwareH11Protocol,
                loop="none",
                lifespan="auto",
                log_level=os.environ.get("SANDBOX_LOG_LEVEL", "warning"),
                timeout_graceful_shutdown=5,
            )
        )
        for role in port_attr
    ]

    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)

    endpoints = endpoints_for(settings)
    tmp = settings.endpoints_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(endpoints, indent=2))
    os.replace(tmp, settings.endpoints_path)
    log.warning("sandbox serving: %s", json.dumps(endpoints))
    try:
        await asyncio.gather(*(srv.serve(sockets=[sockets[role]]) for srv, role in zip(servers, port_attr, strict=False)))
    finally:
        for sock in sockets.values():
            sock.close()
        settings.endpoints_path.unlink(missing_ok=True)


def serve(settings: SandboxSettings) -> None:
    """Blocking entry point used by ``python -m sandbox serve``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve_async(settings))
