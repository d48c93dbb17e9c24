"""``python -m receiver register-webhook``: make sure Box's webhook on the root folder (``box.root_folder_id``)
points at this receiver with the product's triggers (``WEBHOOK_TRIGGERS``: ``FILE.UPLOADED``, ``FILE.COPIED``, ``FILE.RENAMED``,
``FILE.MOVED``, ``FILE.RESTORED``, ``WEBHOOK.DELETED``). Idempotent: an identical webhook is left alone, one on
the same folder with another address or fewer triggers is replaced. Every reconciliation makes the same check
(``derivatives_sweep``), so a webhook Box deleted comes back by itself.

The Box app comes from ``AIRFLOW_CONN_BOX_DEFAULT``, read by the Box hook's own parser
(``ferrero_provider.box.client.box_connection.BoxConnection``: the same fields, defaults and HTTP options). The webhook belongs to the app's service account, like every Box call of the product. Box
only delivers to public HTTPS addresses on port 443: in production ``--address`` (or ``RECEIVER_PUBLIC_URL``)
is the proxy in front of the receiver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferrero_provider.box.client import BoxApi
from ferrero_provider.box.client.box_connection import DEFAULT_CONN_ID, BoxConnection
from ferrero_provider.box.client.session import http_session, sdk_client
from ferrero_provider.box.exceptions import BoxConfigError
from ferrero_provider.common.connection_fields import (
    ConnectionFields,
    ConnectionSettingsError,
    environment_variable,
)
from ferrero_provider.common.retry import RetryPolicy
from include.ferrero.box_webhooks import WEBHOOK_TRIGGERS
from receiver.settings import SettingsError

if TYPE_CHECKING:
    from box_sdk_gen import BoxClient

#: Where the Box app's connection comes from: ``AIRFLOW_CONN_BOX_DEFAULT``.
BOX_VARIABLE = environment_variable(DEFAULT_CONN_ID)


def box_connection(conn: str) -> BoxConnection:
    """The Box app of an Airflow connection (JSON or URI form), parsed as the Box hook parses it
    (:meth:`BoxConnection.from_connection`), with its TLS and proxy options."""
    if not conn.strip():
        raise SettingsError(f"{BOX_VARIABLE} must be set (the {DEFAULT_CONN_ID} connection)")
    try:
        return BoxConnection.from_connection(ConnectionFields.from_value(DEFAULT_CONN_ID, conn, name=BOX_VARIABLE))
    except (ConnectionSettingsError, BoxConfigError) as exc:
        raise SettingsError(str(exc)) from None


def box_client(conn: str) -> BoxClient:
    """An SDK client for the Box app of an Airflow connection."""
    connection = box_connection(conn)
    return sdk_client(connection, RetryPolicy(), http_session(connection))


def box_api(conn: str) -> BoxApi:
    """The product's Box client (the hook's, without Airflow) for the Box app of an Airflow connection."""
    connection = box_connection(conn)
    return BoxApi(lambda: connection, retry=RetryPolicy())


def ensure_webhook(box: BoxApi, folder_id: str, address: str) -> dict[str, str]:
    """The webhook on ``folder_id`` to ``address`` with the product's triggers (``WEBHOOK_TRIGGERS``), through
    the Box client's own check (the one every reconciliation makes); ``outcome`` is created, replaced or exists."""
    check = box.watch.ensure_webhook(folder_id, address, WEBHOOK_TRIGGERS)
    return {"webhook_id": check.webhook.webhook_id, "folder_id": str(folder_id), "address": address,
            "triggers": ",".join(check.webhook.triggers), "outcome": check.outcome}
