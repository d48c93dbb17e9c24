"""Box sandbox: the API host, the upload host and the webhook delivery worker (issue 3 §2–3).

Integration contract with ``sandbox/server.py`` (helper A)::

    from sandbox.box import create_box
    box = create_box(settings)              # BoxSandbox: .api_app, .upload_app (both wrapped in FaultInjector)
    # serve box.api_app on settings.box_api_port and box.upload_app on settings.box_upload_port, then, once
    # the upload port is bound (port 0 = free port):
    box.set_upload_url("http://127.0.0.1:<upload port>/api")   # optional if endpoints.json is written first
    worker = asyncio.create_task(box.delivery_worker())         # webhook deliveries; cancel it on shutdown
    ...
    worker.cancel(); box.close()

Endpoints.json keys used here: ``box_base_url`` (API host root) and ``box_upload_url`` (``…/api``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.box.api import create_api_app
from sandbox.box.state import BoxState
from sandbox.box.upload import create_upload_app
from sandbox.box.webhooks import delivery_worker
from sandbox.faults import FaultInjector

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from sandbox.settings import SandboxSettings


@dataclass
class BoxSandbox:
    """Both Box hosts over one shared state."""

    state: BoxState
    api_app: ASGIApp
    upload_app: ASGIApp

    def set_upload_url(self, upload_url: str) -> None:
        self.state.set_upload_url(upload_url)

    async def delivery_worker(self, poll_interval: float = 0.1) -> None:
        await delivery_worker(self.state, poll_interval=poll_interval)

    def close(self) -> None:
        self.state.store.close()


def create_box(settings: SandboxSettings) -> BoxSandbox:
    """Build the Box API and upload apps (state under ``<data_dir>/box/``), each behind its own FaultInjector."""
    state = BoxState(settings)
    return BoxSandbox(
        state=state,
        api_app=FaultInjector(create_api_app(state)),
        upload_app=FaultInjector(create_upload_app(state)),
    )


__all__ = ["BoxSandbox", "create_box"]
