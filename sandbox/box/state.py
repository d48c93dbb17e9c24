"""What the Box API app, the upload app and the webhook worker share: settings, the store, the upload host URL."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sandbox.box.store import BoxStore

if TYPE_CHECKING:
    from starlette.requests import Request

    from sandbox.settings import SandboxSettings

SERVICE_ACCOUNT_NAME = "Ferrero Content Scaling"
AGENCY_NAME = "Agency Studio"


class BoxState:
    """Settings + store, and the origin of the upload host (for download redirects and preflight URLs)."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.store = BoxStore(settings.box_dir)
        self.upload_origin: str | None = None
        ensure_users(self.store, settings)

    def set_upload_url(self, upload_url: str) -> None:
        """Record the upload host's public base URL (``http://host:port/api``) once its port is bound."""
        parts = urlsplit(upload_url)
        self.upload_origin = f"{parts.scheme}://{parts.netloc}"

    def upload_origin_for(self, request: Request) -> str:
        """The upload host as seen by this client: same host name as the API request, the upload port."""
        port = self._upload_port()
        if port:
            return f"{request.url.scheme}://{request.url.hostname}:{port}"
        if self.upload_origin:
            return self.upload_origin
        raise RuntimeError("Box upload host URL unknown: call BoxState.set_upload_url() after binding")

    def _upload_port(self) -> int | None:
        if self.upload_origin:
            return urlsplit(self.upload_origin).port
        if self.settings.box_upload_port:
            return self.settings.box_upload_port
        path = self.settings.endpoints_path
        if path.exists():
            url = json.loads(path.read_text()).get("box_upload_url")
            if url:
                self.set_upload_url(url)
                return urlsplit(url).port
        return None


def ensure_users(store: BoxStore, settings: SandboxSettings) -> None:
    """The enterprise's service account, the agency user and the root folder exist."""
    store.ensure_user(
        settings.box_service_account_user_id,
        SERVICE_ACCOUNT_NAME,
        f"AutomationUser_{settings.box_service_account_user_id}_{settings.box_client_id[:8]}@boxdevedition.com",
    )
    store.ensure_user(settings.box_agency_user_id, AGENCY_NAME, "studio@agency.example.com")
    store.ensure_root(settings.box_service_account_user_id)
