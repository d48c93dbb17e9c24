"""``OtmmHook``: the DAM (OpenText Media Management REST API ``otmmapi/v6``) for the content-scaling workflow.

Connection (type ``otmm``, default ``otmm_default``), read by ``otmm.connection.DamConnection``: host = API base
URL including ``/otmmapi/v6``, login and password, extras ``auth_mode`` (``session`` | ``oauth`` | ``otds``),
``client_id``, ``client_secret``, ``otds_token_url``, and ``verify`` (CA bundle), ``cert``, ``proxies``. Example::

    AIRFLOW_CONN_OTMM_DEFAULT='{"conn_type": "otmm", "host": "https://dam.example.com/otmmapi/v6",
        "login": "svc_scaling", "password": "...", "extra": {"auth_mode": "session"}}'
    AIRFLOW_CONN_OTMM_DEFAULT='{"conn_type": "otmm", "host": "https://dam.example.com/otmmapi/v6",
        "extra": {"auth_mode": "otds", "client_id": "scaling", "client_secret": "...",
                  "otds_token_url": "https://otds.example.com/otdsws/oauth2/token"}}'

The hook is thin: identity, connection and config parsing, ``test_connection``. The work is done by the Airflow-free
client package ``otmm.client`` it mixes in (``transport``, ``folders``, ``status``, ``assets``, ``jobs``,
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from ferrero_provider.common.configured import ConfiguredHookMixin
from ferrero_provider.common.connection import ConnectionFields
from ferrero_provider.common.messages import failed_test
from ferrero_provider.otmm.client.domains import _DOMAIN_CACHE, Domains
from ferrero_provider.otmm.client.settings import DamSettings
from ferrero_provider.otmm.client.versions import CheckIn, Versions
from ferrero_provider.otmm.connection import DamConnection

if TYPE_CHECKING:
    import os

    from ferrero_provider.common.retry import RetryPolicy

PROJECT_ROOT = Path(__file__).resolve().parents[2]

__all__ = ["_DOMAIN_CACHE", "CheckIn", "OtmmHook"]


class OtmmHook(ConfiguredHookMixin, Versions, Domains, BaseHook):
    """Talks to the DAM: campaigns, master assets, downloads, asset creation and new versions, campaign status,
    lookup domains.

    :param otmm_conn_id: the Airflow connection (type ``otmm``).
    :param retry: a whole :class:`RetryPolicy` (default: its defaults), with
        ``max_attempts``, ``initial_delay_seconds``, ``max_delay_seconds`` overriding single values
        (tests pass ``initial_delay_seconds=0``).
    :param timeout_seconds: read timeout of each request (the config's ``dam.timeout_seconds``; default 120).
    :param job_timeout_seconds: how long to wait for an import job (``dam.job_timeout_seconds``; default 300).
    :param page_size: page size of listings and searches (``dam.page_size``; default 100).
    :param domain_cache_file: file cache of lookup domains shared by task processes (the config's
        ``validate_domain_values.cache_file``); ``False`` or none keeps the cache in memory only.
    :param config: a dict shaped like the project config, read for values not given singly (tests).
    """

    conn_name_attr = "otmm_conn_id"
    default_conn_name = "otmm_default"
    conn_type = "otmm"
    hook_name = "OpenText Media Management"

    def __init__(
        self,
        otmm_conn_id: str = default_conn_name,
        *,
        retry: RetryPolicy | None = None,
        max_attempts: int | None = None,
        initial_delay_seconds: float | None = None,
        max_delay_seconds: float | None = None,
        timeout_seconds: float | None = None,
        job_timeout_seconds: float | None = None,
        job_poll_seconds: float | None = None,
        page_size: int | None = None,
        status_field: str | None = None,
        number_field: str | None = None,
        final_assets_folder_name: str | None = None,
        domain_cache_ttl_hours: float | None = None,
        domain_cache_file: str | os.PathLike[str] | bool | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.otmm_conn_id = otmm_conn_id
        self._init_configuration(config, retry, max_attempts=max_attempts,
                                 initial_delay_seconds=initial_delay_seconds, max_delay_seconds=max_delay_seconds)
        self._overrides = {
            "timeout_seconds": timeout_seconds,
            "job_timeout_seconds": job_timeout_seconds,
            "job_poll_seconds": job_poll_seconds,
            "page_size": page_size,
            "status_field": status_field,
            "number_field": number_field,
            "final_assets_folder_name": final_assets_folder_name,
            "domain_cache_ttl_hours": domain_cache_ttl_hours,
            "domain_cache_file": domain_cache_file,
        }
        self._init_transport()

    # ---- settings ---------------------------------------------------------------------------------------------

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        policy = self._configured_retry_policy()
        timeout = self._overrides["timeout_seconds"]
        if timeout is None and self._retry is None:
            timeout = (self._load_config().get("dam") or {}).get("timeout_seconds")
        return policy.with_overrides(request_timeout_seconds=timeout)

    @cached_property
    def dam_settings(self) -> DamSettings:
        o = self._overrides
        needs_config = any(o[k] is None for k in o if k != "timeout_seconds")
        config = self._load_config() if needs_config else {}
        dam = config.get("dam") or {}
        campaign = dam.get("campaign") or {}
        domains = (config.get("field_mappings") or {}).get("validate_domain_values") or {}

        def pick(key: str, default: Any) -> Any:
            return o[key] if o.get(key) is not None else default

        cache_file = pick("domain_cache_file", domains.get("cache_file"))
        if cache_file is False or cache_file in ("", None):
            cache_path = None
        else:
            cache_path = Path(cache_file)
            cache_path = cache_path if cache_path.is_absolute() else PROJECT_ROOT / cache_path
        return DamSettings(
            timeout_seconds=float(pick("timeout_seconds", dam.get("timeout_seconds", 120))),
            job_timeout_seconds=float(pick("job_timeout_seconds", dam.get("job_timeout_seconds", 300))),
            job_poll_seconds=float(pick("job_poll_seconds", 1.0)),
            page_size=int(pick("page_size", dam.get("page_size", 100))),
            status_field=str(pick("status_field", campaign.get("status_field", "FERRERO.CAMPAIGN.FIELD.STATUS"))),
            number_field=str(pick("number_field", campaign.get("number_field", "FERRERO.CAMPAIGN.FIELD.NUMBER"))),
            final_assets_folder_name=str(
                pick("final_assets_folder_name", campaign.get("final_assets_folder_name", "Final Assets"))
            ),
            domain_cache_ttl_seconds=float(pick("domain_cache_ttl_hours", domains.get("cache_ttl_hours", 24))) * 3600,
            domain_cache_file=cache_path,
        )

    @cached_property
    def conn_settings(self) -> DamConnection:
        """The connection, checked (``DamConnection.from_connection``): fails fast naming the missing or malformed
        field."""
        return DamConnection.from_connection(ConnectionFields.from_airflow(self.get_connection(self.otmm_conn_id)))

    # ---- connection test ------------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Log in and read the root folders: (True, what was reached) or (False, why not). Never raises."""
        try:
            conn = self.conn_settings
            self._session = None
            self._request("GET", "/folders/rootfolders", "reading the root folders", params={"limit": 1})
            return True, f"Connected to the DAM at {conn.base_url} as {conn.who} ({conn.auth_mode} authentication)."
        except Exception as exc:  # noqa: BLE001 - the Test button shows the reason instead of an error page
            return failed_test(exc, lambda: self.conn_settings.secrets)


