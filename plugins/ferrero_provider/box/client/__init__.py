"""The Box client of the workflow, without Airflow: :class:`BoxApi` over the official SDK (``box_sdk_gen``),
given a :class:`BoxConnection` (parsed from a connection's fields), a :class:`RetryPolicy` and
:class:`BoxSettings`. Modules: ``connection`` (the one parser), ``session`` (auth and network session),
``calls`` (the one call path: error map and retry layer), ``folders``, ``files``, ``uploads``, ``downloads``, ``watch`` (webhook, event stream)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ferrero_provider.box.client.calls import BoxSettings
from ferrero_provider.box.client.connection import BoxConnection
from ferrero_provider.box.client.downloads import Downloads
from ferrero_provider.box.client.folders import Folders, box_item_name
from ferrero_provider.box.client.uploads import Uploads
from ferrero_provider.box.client.watch import Watch

if TYPE_CHECKING:
    from ferrero_provider.common.connection import ConnectionFields
    from ferrero_provider.common.retry import RetryPolicy

__all__ = ["BoxApi", "BoxConnection", "BoxSettings", "box_item_name"]


class BoxApi(Uploads, Downloads, Folders, Watch):
    """Box folders, uploads (direct or chunked, idempotent by name and SHA-1), downloads, listings, shared links,
    the webhook and the event stream."""

    @classmethod
    def from_fields(cls, fields: ConnectionFields, *, retry: RetryPolicy | None = None,
                    settings: BoxSettings | None = None) -> BoxApi:
        """A client for a stored connection (``ConnectionFields.from_environment("box_default")``)."""
        connection = BoxConnection.from_connection(fields)
        return cls(lambda: connection, retry=retry, settings=settings)

    def whoami(self) -> Any:
        """The service account the connection acts as (``users/me``): gets a token first."""
        return self.call("reading the service account (users/me)", lambda client: client.users.get_user_me())
