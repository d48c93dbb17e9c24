"""``python -m receiver register-webhook``: make sure Box's ``FILE.UPLOADED`` webhook on the root folder
(``box.root_folder_id``) points at this receiver. Idempotent: an identical webhook is left alone, one on the
same folder with another address is replaced.

The Box app comes from ``AIRFLOW_CONN_BOX_DEFAULT`` (JSON form, the fields of the Box hook: login = client id,
password = client secret, extras ``auth_mode`` ccg|jwt, ``enterprise_id``, ``user_id``, ``jwt_config_json`` or
``jwt_key_id`` + ``jwt_private_key`` [+ ``jwt_private_key_passphrase``], ``base_url``, ``upload_url``,
``oauth_url``). The webhook belongs to the app's service account, like every Box call of the product. Box
only delivers to public HTTPS addresses on port 443: in production ``--address`` (or ``RECEIVER_PUBLIC_URL``)
is the proxy in front of the receiver.
"""

from __future__ import annotations

import json
from typing import Any

from box_sdk_gen import (
    BaseUrls,
    BoxAPIError,
    BoxCCGAuth,
    BoxClient,
    BoxJWTAuth,
    CCGConfig,
    CreateWebhookTarget,
    CreateWebhookTargetTypeField,
    CreateWebhookTriggers,
    JWTConfig,
    NetworkSession,
)

from receiver.settings import SettingsError


def box_client(conn: str) -> BoxClient:
    """An SDK client for the Box app of an Airflow connection in JSON form."""
    try:
        fields = json.loads(conn)
    except ValueError:
        raise SettingsError("AIRFLOW_CONN_BOX_DEFAULT must be set, in JSON form") from None
    extra = fields.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    app = json.loads(extra["jwt_config_json"]) if extra.get("jwt_config_json") else {}
    settings = app.get("boxAppSettings", {})
    auth_settings = settings.get("appAuth", {})
    client_id = fields.get("login") or settings.get("clientID")
    client_secret = fields.get("password") or settings.get("clientSecret")
    enterprise_id = extra.get("enterprise_id") or app.get("enterpriseID")
    user_id = extra.get("user_id")
    mode = (extra.get("auth_mode") or ("jwt" if app or extra.get("jwt_private_key") else "ccg")).lower()
    if not (client_id and client_secret):
        raise SettingsError("AIRFLOW_CONN_BOX_DEFAULT has no client id (login) or client secret (password)")
    if mode == "ccg":
        auth: Any = BoxCCGAuth(config=CCGConfig(client_id=client_id, client_secret=client_secret,
                                                enterprise_id=None if user_id else enterprise_id, user_id=user_id))
    else:
        auth = BoxJWTAuth(config=JWTConfig(
            client_id=client_id, client_secret=client_secret,
            jwt_key_id=str(extra.get("jwt_key_id") or auth_settings.get("publicKeyID")),
            private_key=str(extra.get("jwt_private_key") or auth_settings.get("privateKey")).replace("\\n", "\n"),
            private_key_passphrase=extra.get("jwt_private_key_passphrase") or auth_settings.get("passphrase") or "",
            enterprise_id=None if user_id else enterprise_id, user_id=user_id,
        ))
    session = NetworkSession()
    if extra.get("base_url"):
        api = extra["base_url"].rstrip("/")
        session = NetworkSession(base_urls=BaseUrls(
            base_url=api, upload_url=(extra.get("upload_url") or api).rstrip("/"),
            oauth_2_url=(extra.get("oauth_url") or f"{api}/oauth2").rstrip("/"),
        ))
    return BoxClient(auth=auth, network_session=session)


def ensure_webhook(client: BoxClient, folder_id: str, address: str) -> dict[str, str]:
    """The FILE.UPLOADED webhook on ``folder_id`` to ``address``; ``outcome`` is created, replaced or exists."""
    for hook in _webhooks(client):
        if hook.target and hook.target.id == str(folder_id) and hook.target.type.value == "folder":
            full = client.webhooks.get_webhook_by_id(hook.id)
            triggers = {t.value if hasattr(t, "value") else str(t) for t in full.triggers or []}
            if full.address == address and "FILE.UPLOADED" in triggers:
                return {"webhook_id": full.id, "folder_id": str(folder_id), "address": address, "outcome": "exists"}
            client.webhooks.delete_webhook_by_id(full.id)  # one webhook per folder and app: replace it
            outcome = "replaced"
            break
    else:
        outcome = "created"
    try:
        created = client.webhooks.create_webhook(
            CreateWebhookTarget(id=str(folder_id), type=CreateWebhookTargetTypeField.FOLDER), address,
            [CreateWebhookTriggers.FILE_UPLOADED],
        )
    except BoxAPIError as exc:
        if exc.response_info.status_code != 409:  # 409: made meanwhile by a concurrent run
            raise
        return ensure_webhook(client, folder_id, address)
    return {"webhook_id": created.id, "folder_id": str(folder_id), "address": address, "outcome": outcome}


def _webhooks(client: BoxClient) -> list[Any]:
    found, marker = [], None
    while True:
        page = client.webhooks.get_webhooks(marker=marker, limit=200)
        found += page.entries or []
        marker = page.next_marker
        if not marker:
            return found
