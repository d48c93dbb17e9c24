"""The DAM client outside Airflow (scripts, tools): the hook's behaviour with settings given directly."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ferrero_provider.otmm.client.domains import Domains
from ferrero_provider.otmm.client.versions import Versions

if TYPE_CHECKING:
    from ferrero_provider.common.retry import RetryPolicy
    from ferrero_provider.otmm.client.settings import DamSettings
    from ferrero_provider.otmm.connection import DamConnection


class OtmmClient(Versions, Domains):
    """Every DAM operation of :class:`ferrero_provider.otmm.hooks.OtmmHook`, without Airflow.

    :param conn: the checked connection (``DamConnection.from_environment(conn_id)`` or ``.from_connection``).
    :param dam: the ``dam`` settings (page size, timeouts, field ids, lookup-domain cache).
    :param retry: the retry policy (``RetryPolicy.from_config``).
    """

    def __init__(self, conn: DamConnection, dam: DamSettings, retry: RetryPolicy,
                 log: logging.Logger | None = None) -> None:
        self.conn_settings = conn
        self.dam_settings = dam
        self.retry_policy = retry
        self.log = log or logging.getLogger("otmm.client")
        self._init_transport()
