"""``python -m receiver register-webhook``: make sure Box's ``FILE.UPLOADED`` webhook on the root folder
(``box.root_folder_id``) points at this receiver. Idempotent: an identical webhook is left alone, one on the
same folder with another address is replaced.

The Box app comes from ``AIRFLOW_CONN_BOX_DEFAULT``, read by the Box hook's own parser
(``ferrero_provider.box.client.connection.BoxConnection``: the same fields, defaults and HTTP options). The webhook belongs to the app's service account, like every Box call of the product. Box
only delivers to public HTTPS addresses on port 443: in production ``--address`` (or ``RECEIVER_PUBLIC_URL``)
is the proxy in front of the receiver.
"""

from __future__ import annotations

from typing import Any

from box_sdk_gen import (
    BoxAPIError,
    BoxClient,
    CreateWebhookTarget,
    CreateWebhookTargetTypeField,
    CreateWebhookTriggers,
)

from ferrero_provider.box.client.connection import BoxConnection
from ferrero_provider.box.client.session import http_session, sdk_client
from ferrero_provider.box.exceptions import BoxConfigError
from ferrero_provider.common.connection import ConnectionFields, ConnectionSettingsError
from ferrero_provider.common.retry import RetryPolicy
from receiver.settings import SettingsError


def box_client(conn: str) -> BoxClient:
    """An SDK client for the Box app of an Airflow connection (JSON or URI form), parsed as the Box hook parses
    it (:meth:`BoxConnection.from_connection`), with its TLS and proxy options."""
    if not conn.strip():
        raise SettingsError("AIRFLOW_CONN_BOX_DEFAULT must be set (the box_default connection)")
    try:
        connection = BoxConnection.from_connection(ConnectionFields.from_value("box_default", conn,
                                                                               name="AIRFLOW_CONN_BOX_DEFAULT"))
    except (ConnectionSettingsError, BoxConfigError) as exc:
        raise SettingsError(str(exc)) from None
    return sdk_client(connection, RetryPolicy(), http_session(connection))


def ensure_webhook(client: BoxClient, folder_id: str, address: str) -> dict[str, str]:
    """The FILE.UPLOADED webhook on ``folder_id`` to ``address``; ``outcome`` is created, replaced or exists."""
    for hook in _webhooks(client):
        if hook.target and hook.target.id == str(folder_id) and hook.target.type.value == "folder":
            full = client.webhooks.get_webhook_by_id(hook.id)
            triggers = {t.value if hasattr(t, "value") else str(t) for t in full.triggers or []}
            if full.address == address and "FILE.UPLOADED" in triggers:
                return {"webhook_id": str(full.id), "folder_id": str(folder_id), "address": address,
                        "outcome": "exists"}
            client.webhooks.delete_webhook_by_id(str(full.id))  # one webhook per folder and app: replace it
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
    return {"webhook_id": str(created.id), "folder_id": str(folder_id), "address": address, "outcome": outcome}


def _webhooks(client: BoxClient) -> list[Any]:
    found, marker = [], None
    while True:
        page = client.webhooks.get_webhooks(marker=marker, limit=200)
        found += page.entries or []
        marker = page.next_marker
        if not marker:
            return found
