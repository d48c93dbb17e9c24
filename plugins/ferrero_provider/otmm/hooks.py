"""``OtmmHook``: the DAM (OpenText Media Management REST API ``otmmapi/v6``) for the content-scaling workflow.

Connection (type ``otmm``, default ``otmm_default``), read by ``ferrero_provider.otmm.connection.DamConnection``: host = API base
URL including ``/otmmapi/v6``, login and password, extras ``auth_mode`` (``session`` | ``oauth`` | ``otds``),
``client_id``, ``client_secret``, ``otds_token_url``, and ``verify`` (CA bundle), ``cert``, ``proxies``. Example::

    AIRFLOW_CONN_OTMM_DEFAULT='{"conn_type": "otmm", "host": "https://dam.example.com/otmmapi/v6",
        "login": "svc_scaling", "password": "...", "extra": {"auth_mode": "session"}}'
    AIRFLOW_CONN_OTMM_DEFAULT='{"conn_type": "otmm", "host": "https://dam.example.com/otmmapi/v6",
        "extra": {"auth_mode": "otds", "client_id": "scaling", "client_secret": "...",
                  "otds_token_url": "https://otds.example.com/otdsws/oauth2/token"}}'

The hook is thin: identity, connection and config parsing, ``test_connection``. The work is done by the Airflow-free
client package ``ferrero_provider.otmm.client`` it mixes in (``transport``, ``folders``, ``status``, ``assets``, ``jobs``,
``versions``, ``domains``), each module documenting the fallbacks it takes where the public evidence is thin.

Every call goes through :meth:`OtmmHook._request`: one lazily created ``requests.Session``, a timeout on every
request, retries (tenacity) on 429 (honouring ``Retry-After``), the config's 5xx codes, connection errors,
timeouts and truncated bodies, never on other 4xx; a 401 logs in again once. Settings are given to the
constructor (the workflow's ``include/ferrero/runtime.py`` passes the config's ``retry``, ``dam`` and
``field_mappings.validate_domain_values`` values); the hook never reads the project config, so a hook built
with a connection id only (the UI's Test button) uses its defaults.
"""

from __future__ import annotations

from functools import cached_property

from airflow.sdk import BaseHook

from ferrero_provider.common.connection import ConnectionFields
from ferrero_provider.common.messages import failed_test
from ferrero_provider.common.retry import RetryPolicy
from ferrero_provider.otmm.client.domains import _DOMAIN_CACHE, Domains
from ferrero_provider.otmm.client.settings import DamSettings
from ferrero_provider.otmm.client.versions import CheckIn, Versions
from ferrero_provider.otmm.connection import DamConnection

__all__ = ["_DOMAIN_CACHE", "CheckIn", "OtmmHook"]

#: The Test button's budget per request (one try): a DAM that is down answers within seconds, naming itself.
TEST_TIMEOUT_SECONDS = 4


class OtmmHook(Versions, Domains, BaseHook):
    """Talks to the DAM: campaigns, master assets, downloads, asset creation and new versions, campaign status,
    lookup domains.

    :param otmm_conn_id: the Airflow connection (type ``otmm``).
    :param retry: the retry policy (default: its defaults); its request timeout is the settings' one.
    :param settings: the ``dam`` settings (timeouts, page size, field ids, lookup-domain cache).
    """

    conn_name_attr = "otmm_conn_id"
    default_conn_name = "otmm_default"
    conn_type = "otmm"
    hook_name = "OpenText Media Management"

    def __init__(self, otmm_conn_id: str = default_conn_name, *, retry: RetryPolicy | None = None,
                 settings: DamSettings | None = None) -> None:
        super().__init__()
        self.otmm_conn_id = otmm_conn_id
        self.dam_settings = settings or DamSettings()
        self.retry_policy = (retry or RetryPolicy()).with_overrides(
            request_timeout_seconds=self.dam_settings.timeout_seconds)
        self._init_transport()

    @cached_property
    def conn_settings(self) -> DamConnection:
        """The connection, checked (``DamConnection.from_connection``): fails fast naming the missing or malformed
        field."""
        return DamConnection.from_connection(ConnectionFields.from_airflow(self.get_connection(self.otmm_conn_id)))

    # ---- connection test ------------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Log in and read the root folders: (True, what was reached) or (False, why not, naming the DAM's
        address). One try of at most ``TEST_TIMEOUT_SECONDS`` per request, so a DAM that is down is reported
        within seconds (the workflow's own calls keep their retries). Never raises."""
        try:
            conn = self.conn_settings
        except Exception as exc:  # noqa: BLE001 - the Test button shows the reason instead of an error page
            return failed_test(exc, lambda: self.conn_settings.secrets)
        self.retry_policy = self.retry_policy.with_overrides(max_attempts=1,
                                                            request_timeout_seconds=TEST_TIMEOUT_SECONDS)
        try:
            self._session = None
            self._request("GET", "/folders/rootfolders", "reading the root folders", params={"limit": 1})
            return True, f"Connected to the DAM at {conn.base_url} as {conn.who} ({conn.auth_mode} authentication)."
        except Exception as exc:  # noqa: BLE001 - the Test button shows the reason instead of an error page
            ok, why = failed_test(exc, lambda: self.conn_settings.secrets)
            return ok, why if conn.base_url in why else f"The DAM at {conn.base_url}: {why}"


