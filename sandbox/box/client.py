"""Official-SDK clients pointed at a running Box sandbox (used by the agency command and by tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from box_sdk_gen import BaseUrls, BoxCCGAuth, BoxClient, BoxRetryStrategy, CCGConfig, NetworkSession

if TYPE_CHECKING:
    from sandbox.settings import SandboxSettings


def base_urls(endpoints: dict[str, Any]) -> BaseUrls:
    """``BaseUrls`` from endpoints.json (``box_base_url`` has no /2.0, ``box_upload_url`` ends in /api)."""
    api = endpoints["box_base_url"].rstrip("/")
    return BaseUrls(base_url=api, upload_url=endpoints["box_upload_url"].rstrip("/"), oauth_2_url=f"{api}/oauth2")


def network_session(endpoints: dict[str, Any], retry_base_interval: float = 0.05) -> NetworkSession:
    return NetworkSession(
        base_urls=base_urls(endpoints), retry_strategy=BoxRetryStrategy(retry_base_interval=retry_base_interval)
    )


def ccg_client(
    settings: SandboxSettings, endpoints: dict[str, Any], *, user_id: str | None = None
) -> BoxClient:
    """A client-credentials client: the service account (enterprise subject), or ``user_id`` when given."""
    config = CCGConfig(
        client_id=settings.box_client_id,
        client_secret=settings.box_client_secret,
        enterprise_id=None if user_id else settings.box_enterprise_id,
        user_id=user_id,
    )
    return BoxClient(auth=BoxCCGAuth(config=config), network_session=network_session(endpoints))
