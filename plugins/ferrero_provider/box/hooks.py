"""``BoxHook``: the Airflow face of the Box client (:mod:`ferrero_provider.box.client`, no Airflow in it).

Connection (type ``box``, default ``box_default``), parsed by :meth:`BoxConnection.from_connection`: login =
client id, password = client secret, extras ``auth_mode`` (``jwt`` | ``ccg``), ``enterprise_id``, ``user_id``,
``jwt_config_json`` (the Developer Console's config.json, replacing the key fields), ``jwt_key_id``,
``jwt_private_key`` (PEM, encrypted or not), ``jwt_private_key_passphrase``, ``base_url``, ``upload_url``,
``oauth_url`` (how a sandbox is reached), ``verify`` / ``cert`` / ``proxies``. Examples::

    AIRFLOW_CONN_BOX_DEFAULT='{"conn_type": "box", "login": "<client id>", "password": "<client secret>",
        "extra": {"auth_mode": "ccg", "enterprise_id": "123456"}}'
    AIRFLOW_CONN_BOX_DEFAULT='{"conn_type": "box", "extra": {"auth_mode": "jwt",
        "jwt_config_json": "{\\"boxAppSettings\\": {...}, \\"enterprise_id\\": \\"123456\\"}"}}'

The hook is thin: identity, the connection, ``get_conn`` (the official SDK client) and ``test_connection``; it
hands out its Airflow-free :class:`~ferrero_provider.box.client.BoxApi` (``hook.client``: ``client.folders``,
``client.files``, ``client.uploads``, ``client.downloads``, ``client.watch``). Configuration values (the retry policy, the ``box``
settings) are given to the constructor, defaults otherwise (the UI's Test button passes none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseHook

from ferrero_provider.box.client import BoxApi, BoxConnection, BoxSettings
from ferrero_provider.box.client.box_connection import DEFAULT_CONN_ID
from ferrero_provider.common.connection_fields import ConnectionFields
from ferrero_provider.common.error_text import failed_test
from ferrero_provider.common.prefetch import Prefetched
from ferrero_provider.common.token_cache import TokenCache

if TYPE_CHECKING:
    from collections.abc import Callable

    from box_sdk_gen import BoxClient

    from ferrero_provider.common.retry import RetryPolicy

__all__ = ["BoxHook", "BoxSettings"]


class BoxHook(BaseHook):
    """Box's Airflow face: folders, uploads (direct or chunked, idempotent by name and SHA-1), downloads,
    listings, shared links, all through :attr:`client`.

    :param box_conn_id: the Airflow connection (type ``box``).
    :param retry: the :class:`RetryPolicy` of every call (default: its defaults; the workflow gives the
        config's ``retry`` section).
    :param settings: the config's ``box`` section (the chunked-upload threshold, the parts sent in parallel, the
        root and subfolder names); defaults otherwise.
    :param prefetch_connection: start reading the connection now, in the background (a task that will need it
        anyway: the read overlaps the task's other work), not when first needed.
    """

    conn_name_attr = "box_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "box"
    hook_name = "Box"

    def __init__(self, box_conn_id: str = default_conn_name, *, retry: RetryPolicy | None = None,
                 settings: BoxSettings | None = None, prefetch_connection: bool = False) -> None:
        """Nothing is read yet (unless ``prefetch_connection``): the connection when first needed (the UI's Test
        button gives only its id)."""
        super().__init__()
        self.box_conn_id = box_conn_id
        read: Callable[[], BoxConnection] = self._read_connection
        if prefetch_connection:  # started now, in the background (common.prefetch)
            read = Prefetched(self._read_connection, f"reading {box_conn_id}")
        #: The Airflow-free client every call goes through.
        self.client = BoxApi(read, retry=retry, settings=settings)

    def _read_connection(self) -> BoxConnection:
        return BoxConnection.from_connection(ConnectionFields.from_airflow(self.get_connection(self.box_conn_id)))

    @property
    def conn_settings(self) -> BoxConnection:
        """The connection, checked: fails fast naming the missing or malformed field."""
        return self.client.connection

    def get_conn(self) -> BoxClient:
        """The SDK client (created on first use), pointed at the connection's base URLs."""
        return self.client.sdk()

    def test_connection(self) -> tuple[bool, str]:
        """Get a token and read the service account: (True, who) or (False, why not). Never raises."""
        try:
            c = self.conn_settings
            self.client.calls.tokens = TokenCache(None)  # a token of its own: the test checks the credentials
            self.client.calls.reset()
            me = self.client.whoami()
            return True, (f"Connected to Box at {c.base_url} as {me.name or me.id} "
                          f"({me.login or 'no login'}; {c.auth_mode} authentication, {c.subject}).")
        except Exception as exc:  # noqa: BLE001 - the Test button shows the reason instead of an error page
            return failed_test(exc, lambda: self.conn_settings.secrets)
