"""The two Box ASGI apps as ``sandbox.server`` builds them: ``create_api_app(settings)``, ``create_upload_app(settings)``.

Both share one :class:`BoxState` per data folder. The API app's lifespan runs the webhook delivery worker in the
server's loop (and resumes deliveries left pending by a previous run); the server wraps each app in
``FaultInjector`` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING

from sandbox.box import api, upload
from sandbox.box.state import BoxState
from sandbox.box.webhooks import delivery_worker

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette

    from sandbox.settings import SandboxSettings

_STATES: dict[str, BoxState] = {}
_STATES_LOCK = threading.Lock()


def box_state(settings: SandboxSettings) -> BoxState:
    """The shared state of the Box sandbox whose data lives in ``settings.box_dir``."""
    key = str(settings.box_dir.resolve())
    with _STATES_LOCK:
        if key not in _STATES:
            _STATES[key] = BoxState(settings)
        return _STATES[key]


def create_api_app(settings: SandboxSettings) -> Starlette:
    state = box_state(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        worker = asyncio.create_task(delivery_worker(state))
        try:
            yield
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    return api.create_api_app(state, lifespan=lifespan)


def create_upload_app(settings: SandboxSettings) -> Starlette:
    return upload.create_upload_app(box_state(settings))
