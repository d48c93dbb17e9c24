"""The Box client of the workflow, without Airflow, shaped like the official SDK's ``BoxClient`` it runs on
(``box_sdk_gen``): one :class:`BoxApi` holding one call path (:class:`BoxCalls`: the connection, the SDK client and
its session, the error map and the retry layer) and a manager per resource composed over it: ``folders``,
``files``, ``uploads``, ``downloads``, ``watch`` (the webhook, the event stream). Modules: ``connection`` (the one
parser), ``session`` (auth and network session), ``calls``, ``folders``, ``files``, ``uploads``, ``downloads``,
``watch``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferrero_provider.box.client.box_connection import BoxConnection
from ferrero_provider.box.client.calls import BoxCalls, BoxSettings
from ferrero_provider.box.client.downloads import DownloadsManager
from ferrero_provider.box.client.files import FilesManager
from ferrero_provider.box.client.folders import FoldersManager, box_item_name
from ferrero_provider.box.client.uploads import UploadsManager
from ferrero_provider.box.client.watch import WatchManager

if TYPE_CHECKING:
    from collections.abc import Callable

    from box_sdk_gen import BoxClient, UserFull

    from ferrero_provider.common.connection_fields import ConnectionFields
    from ferrero_provider.common.retry import RetryPolicy

__all__ = ["BoxApi", "BoxCalls", "BoxConnection", "BoxSettings", "box_item_name"]


class BoxApi:
    """Box: folders, files, uploads (direct or chunked, idempotent by name and SHA-1), downloads, the webhook and
    the event stream.

    :param connection: reads the checked connection when first needed (a hook reads Airflow's only then).
    :param retry: the :class:`RetryPolicy` of every call; ``settings``: the config's ``box`` section.
    """

    def __init__(self, connection: Callable[[], BoxConnection], *, retry: RetryPolicy | None = None,
                 settings: BoxSettings | None = None) -> None:
        self.calls = BoxCalls(connection, retry=retry, settings=settings)
        self.folders = FoldersManager(self.calls)
        self.files = FilesManager(self.calls)
        self.uploads = UploadsManager(self.calls, self.files)
        self.downloads = DownloadsManager(self.calls, self.files)
        self.watch = WatchManager(self.calls)

    @classmethod
    def from_fields(cls, fields: ConnectionFields, *, retry: RetryPolicy | None = None,
                    settings: BoxSettings | None = None) -> BoxApi:
        """A client for a stored connection (e.g. ``ConnectionFields.from_environment(DEFAULT_CONN_ID)``)."""
        connection = BoxConnection.from_connection(fields)
        return cls(lambda: connection, retry=retry, settings=settings)

    @property
    def connection(self) -> BoxConnection:
        """The connection, checked: fails fast naming the missing or malformed field."""
        return self.calls.connection

    def sdk(self) -> BoxClient:
        """The official SDK client (created on first use), pointed at the connection's base URLs."""
        return self.calls.sdk()

    def whoami(self) -> UserFull:
        """The service account the connection acts as (``users/me``): gets a token first."""
        return self.calls.call("reading the service account (users/me)", lambda client: client.users.get_user_me())
