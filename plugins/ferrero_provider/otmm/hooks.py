"""``OtmmHook``: the DAM (OpenText Media Management REST API ``otmmapi/v6``) for the content-scaling workflow.

Connection (type ``otmm``, default ``otmm_default``), read by ``ferrero_provider.otmm.dam_connection.DamConnection``: host = API base
URL including ``/otmmapi/v6``, login and password, extras ``auth_mode`` (``session`` | ``oauth`` | ``otds``),
``client_id``, ``client_secret``, ``otds_token_url``, and ``verify`` (CA bundle), ``cert``, ``proxies``. Example::

    AIRFLOW_CONN_OTMM_DEFAULT='{"conn_type": "otmm", "host": "https://dam.example.com/otmmapi/v6",
        "login": "svc_scaling", "password": "...", "extra": {"auth_mode": "session"}}'
    AIRFLOW_CONN_OTMM_DEFAULT='{"conn_type": "otmm", "host": "https://dam.example.com/otmmapi/v6",
        "extra": {"auth_mode": "otds", "client_id": "scaling", "client_secret": "...",
                  "otds_token_url": "https://otds.example.com/otdsws/oauth2/token"}}'

The hook is thin: identity, the connection, ``get_conn`` and ``test_connection``; it hands out its
:class:`~ferrero_provider.otmm.client.OtmmClient` (``hook.client``: ``client.folders``, ``client.assets``,
``client.versions``, ``client.lookup_domains``...), which does the work without Airflow.

Every call goes through the client's one transport: one lazily created ``requests.Session``, a timeout on every
request, retries (tenacity) on 429 (honouring ``Retry-After``), the config's 5xx codes, connection errors,
timeouts and truncated bodies, never on other 4xx; a 401 logs in again once. Settings are given to the
constructor (the workflow's ``include/ferrero/runtime.py`` passes the config's ``retry``, ``dam`` and
``field_mappings.validate_domain_values`` values); the hook never reads the project config, so a hook built
with a connection id only (the UI's Test button) uses its defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseHook

from ferrero_provider.common.connection_fields import ConnectionFields
from ferrero_provider.common.error_text import failed_test
from ferrero_provider.common.prefetch import Prefetched
from ferrero_provider.common.token_cache import TokenCache
from ferrero_provider.otmm.client import OtmmClient
from ferrero_provider.otmm.dam_connection import DEFAULT_CONN_ID, DamConnection

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from ferrero_provider.common.retry import RetryPolicy
    from ferrero_provider.otmm.client.settings import DamSettings

__all__ = ["OtmmHook"]

#: The Test button's budget per request (one try): a DAM that is down answers within seconds, naming itself.
TEST_TIMEOUT_SECONDS = 4


class OtmmHook(BaseHook):
    """The DAM's Airflow face: campaigns, masters, downloads, asset creation and new versions, the campaign status,
    lookup domains, all through :attr:`client`.

    :param otmm_conn_id: the Airflow connection (type ``otmm``).
    :param retry: the retry policy (default: its defaults); its request timeout is the settings' one.
    :param settings: the ``dam`` settings (timeouts, page size, field ids, lookup-domain cache).
    :param prefetch_connection: start reading the connection now, in the background (a task that will need it
        anyway: the read overlaps the task's other work), not when first needed.
    """

    conn_name_attr = "otmm_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "otmm"
    hook_name = "OpenText Media Management"

    def __init__(self, otmm_conn_id: str = default_conn_name, *, retry: RetryPolicy | None = None,
                 settings: DamSettings | None = None, prefetch_connection: bool = False) -> None:
        super().__init__()
        self.otmm_conn_id = otmm_conn_id
        read: Callable[[], DamConnection] = self._read_connection
        if prefetch_connection:  # started now, in the background (common.prefetch)
            read = Prefetched(self._read_connection, f"reading {otmm_conn_id}")
        #: The Airflow-free client (reads the connection when first needed: the UI's Test button gives only its id).
        self.client = OtmmClient(read, settings=settings, retry=retry, log=self.log)

    def _read_connection(self) -> DamConnection:
        return DamConnection.from_connection(ConnectionFields.from_airflow(self.get_connection(self.otmm_conn_id)))

    @property
    def conn_settings(self) -> DamConnection:
        """The connection, checked: fails fast naming the missing or malformed field."""
        return self.client.transport.connection

    def get_conn(self) -> requests.Session:
        """The authenticated ``requests.Session`` (created and logged in on first use)."""
        return self.client.transport.get_conn()

    def test_connection(self) -> tuple[bool, str]:
        """Log in and read the root folders: (True, what was reached) or (False, why not, naming the DAM's
        address). One try of at most ``TEST_TIMEOUT_SECONDS`` per request, so a DAM that is down is reported
        within seconds (the workflow's own calls keep their retries). Never raises."""
        try:
            conn = self.conn_settings
        except Exception as exc:  # noqa: BLE001 - the Test button shows the reason instead of an error page
            return failed_test(exc, lambda: self.conn_settings.secrets)
        transport = self.client.transport
        transport.policy = transport.policy.with_overrides(max_attempts=1, request_timeout_seconds=TEST_TIMEOUT_SECONDS)
        transport.tokens = TokenCache(None)  # a login of its own: the test checks the credentials
        try:
            transport.reset()
            transport.request("GET", "/folders/rootfolders", "reading the root folders", params={"limit": 1})
            return True, f"Connected to the DAM at {conn.base_url} as {conn.who} ({conn.auth_mode} authentication)."
        except Exception as exc:  # noqa: BLE001 - the Test button shows the reason instead of an error page
            ok, why = failed_test(exc, lambda: self.conn_settings.secrets)
            return ok, why if conn.base_url in why else f"The DAM at {conn.base_url}: {why}"
