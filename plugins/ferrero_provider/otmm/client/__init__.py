"""The DAM (OTMM ``otmmapi/v6``) client, free of Airflow, shaped like ``box_sdk_gen``'s ``BoxClient``: one
:class:`OtmmClient` holding one :class:`DamTransport` (authentication, session, retries, error map), and a manager
per resource composed over it: ``folders`` (campaigns, masters, subfolders, the status write), ``assets``,
``versions`` (check-in), ``jobs``, ``locks``, ``lookup_domains``. Each module documents the fallbacks it takes
where the public evidence is thin."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ferrero_provider.common.retry import RetryPolicy
from ferrero_provider.otmm.client.assets import AssetsManager
from ferrero_provider.otmm.client.domains import LookupDomainsManager
from ferrero_provider.otmm.client.folders import FoldersManager
from ferrero_provider.otmm.client.jobs import JobsManager
from ferrero_provider.otmm.client.locks import LocksManager
from ferrero_provider.otmm.client.settings import DamSettings
from ferrero_provider.otmm.client.transport import DamTransport
from ferrero_provider.otmm.client.versions import CheckIn, VersionsManager

if TYPE_CHECKING:
    from collections.abc import Callable

    from ferrero_provider.otmm.client.transport import Log
    from ferrero_provider.otmm.dam_connection import DamConnection

__all__ = ["CheckIn", "DamSettings", "DamTransport", "OtmmClient"]


class OtmmClient:
    """The DAM: one transport, a manager per resource.

    :param connection: the checked connection, or what reads it when first needed (the hook's Airflow lookup).
    :param settings: the ``dam`` settings (timeouts, page size, field ids, lookup-domain cache); defaults otherwise.
    :param retry: the retry policy (default: its defaults); its request timeout is the settings' one.
    """

    def __init__(self, connection: DamConnection | Callable[[], DamConnection], *,
                 settings: DamSettings | None = None, retry: RetryPolicy | None = None,
                 log: Log | None = None) -> None:
        read = connection if callable(connection) else (lambda: connection)
        self.transport = DamTransport(read, settings=settings or DamSettings(), retry=retry or RetryPolicy(),
                                      log=log or logging.getLogger("ferrero_provider.otmm"))
        self.jobs = JobsManager(self.transport)
        self.locks = LocksManager(self.transport)
        self.folders = FoldersManager(self.transport, self.locks)
        self.assets = AssetsManager(self.transport, self.folders, self.jobs)
        self.versions = VersionsManager(self.transport, folders=self.folders, assets=self.assets, locks=self.locks,
                                        jobs=self.jobs)
        self.lookup_domains = LookupDomainsManager(self.transport)

    def close(self) -> None:
        """Log out (session auth) and drop the HTTP session; best effort, never raises."""
        self.transport.close()
