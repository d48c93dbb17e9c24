"""The one reader of a DAM (OTMM) connection, Airflow-free: the hook gives it Airflow's ``Connection``
(``ConnectionFields.from_airflow``), the standalone client, ``tools/`` and the tests an ``AIRFLOW_CONN_<ID>``
value (``ConnectionFields.from_environment`` / ``from_value``); all get the same checked :class:`DamConnection`.

Fields: host = API base URL including ``/otmmapi/v6`` (a bare host name takes ``schema`` as its scheme, https by
default, and ``port``), login and password; extras ``auth_mode`` (``session`` | ``oauth`` | ``otds``),
``client_id``, ``client_secret``, ``otds_token_url``, and the HTTP options Airflow's ``HttpHook`` reads
(``verify``: false or a CA bundle path, ``cert``, ``proxies``, ``trust_env``; see ``HttpOptions``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ferrero_provider.common.connection_fields import ConnectionFields, HttpOptions
from ferrero_provider.otmm.exceptions import OtmmConfigError

#: The DAM's Airflow connection: its one definition (``OtmmHook.default_conn_name`` names it).
DEFAULT_CONN_ID = "otmm_default"

#: What each authentication mode needs of the connection.
AUTH_MODE_NEEDS: dict[str, tuple[str, ...]] = {
    "session": ("login", "password"),
    "oauth": ("login", "password", "client_id", "client_secret"),
    "otds": ("client_id", "client_secret", "otds_token_url"),
}
AUTH_MODES = tuple(AUTH_MODE_NEEDS)


@dataclass(frozen=True)
class DamConnection:
    base_url: str
    auth_mode: str
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    otds_token_url: str | None = None
    http: HttpOptions = field(default_factory=HttpOptions)

    @classmethod
    def from_connection(cls, fields: ConnectionFields, *, auth_mode: str | None = None) -> DamConnection:
        """The connection, checked: fails fast (``OtmmConfigError``) naming the missing or malformed field.

        :param auth_mode: read the connection in this mode instead of its ``auth_mode`` extra.
        """
        where = f"Airflow connection '{fields.conn_id}'"
        host = (fields.host or "").strip()
        if not host:
            raise OtmmConfigError(f"{where} has no host; set it to the DAM API base URL, e.g. "
                                  "https://dam.example.com/otmmapi/v6.")
        if "://" not in host:
            host = f"{fields.schema or 'https'}://{host}"
        parts = urlsplit(host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OtmmConfigError(f"{where} has a host that is not an http(s) URL: {host!r}.")
        netloc = parts.netloc if parts.port or not fields.port else f"{parts.netloc}:{fields.port}"
        mode = (auth_mode or fields.text("auth_mode") or "session").strip().lower()
        if mode not in AUTH_MODE_NEEDS:
            raise OtmmConfigError(f"{where} has auth_mode {mode!r}; use one of {', '.join(AUTH_MODES)}.")
        conn = cls(
            base_url=f"{parts.scheme}://{netloc}{parts.path.rstrip('/') or '/otmmapi/v6'}",
            auth_mode=mode,
            login=fields.login,
            password=fields.password,
            client_id=fields.text("client_id"),
            client_secret=fields.text("client_secret"),
            otds_token_url=fields.text("otds_token_url"),
            http=HttpOptions.from_extra(fields.extra),
        )
        missing = conn.missing_for(mode)
        if missing:
            raise OtmmConfigError(f"{where} uses auth_mode {mode} but has no {' and no '.join(missing)}.")
        return conn

    @classmethod
    def from_environment(cls, conn_id: str = DEFAULT_CONN_ID) -> DamConnection:
        """The connection ``AIRFLOW_CONN_<CONN_ID>`` of the environment (scripts, tools, tests)."""
        return cls.from_connection(ConnectionFields.from_environment(conn_id))

    def missing_for(self, mode: str) -> list[str]:
        """The fields ``mode`` needs that this connection does not hold."""
        return [name for name in AUTH_MODE_NEEDS[mode] if not getattr(self, name)]

    @property
    def who(self) -> str:
        """Who logs in, as messages name it."""
        return str(self.login) if self.auth_mode != "otds" else f"client {self.client_id}"

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.password, self.client_secret)
