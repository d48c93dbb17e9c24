"""A stored connection, read without Airflow: the fields of an Airflow connection from its JSON or URI form (an
``AIRFLOW_CONN_<ID>`` value) or from Airflow's own ``Connection``; and the HTTP options of its extras.

The one reader every kind of connection (PostgreSQL, DAM, Box) starts from: the hooks give it Airflow's
``Connection``, the receiver, ``tools/`` and the tests give it the environment's value; each kind then parses
the fields in its own ``from_connection``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests


def environment_variable(conn_id: str) -> str:
    """The environment variable Airflow reads connection ``conn_id`` from: ``AIRFLOW_CONN_<CONN_ID>``."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


class ConnectionSettingsError(ValueError):
    """A connection that cannot be used as stored; the message is one sentence naming the connection."""


class AirflowConnectionLike(Protocol):
    """What is read of Airflow's ``Connection`` (kept structural: this module imports no Airflow)."""

    conn_id: str
    conn_type: str | None
    host: str | None
    login: str | None
    password: str | None
    schema: str | None
    port: int | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ConnectionFields:
    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    port: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_airflow(cls, conn: AirflowConnectionLike) -> ConnectionFields:
        return cls(conn_id=conn.conn_id, conn_type=conn.conn_type, host=conn.host or None,
                   login=conn.login or None, password=conn.password or None, schema=conn.schema or None,
                   port=conn.port or None, extra=dict(conn.extra_dejson or {}))

    @classmethod
    def from_environment(cls, conn_id: str, env: Mapping[str, str] | None = None) -> ConnectionFields:
        """The connection ``AIRFLOW_CONN_<CONN_ID>`` of the environment (Airflow's JSON or URI form)."""
        name = environment_variable(conn_id)
        value = (os.environ if env is None else env).get(name, "").strip()
        if not value:
            raise ConnectionSettingsError(f"{name} must be set (the {conn_id} connection)")
        return cls.from_value(conn_id, value, name=name)

    @classmethod
    def from_value(cls, conn_id: str, value: str, *, name: str | None = None) -> ConnectionFields:
        """Parse Airflow's JSON form or URI form, as Airflow itself reads an ``AIRFLOW_CONN_`` variable."""
        name = name or f"connection {conn_id}"
        value = value.strip()
        if value.startswith("{"):
            data = _json_object(value, f"{name} is not valid JSON", f"{name} must be a JSON object")
            return cls(conn_id=conn_id, conn_type=data.get("conn_type"), host=data.get("host") or None,
                       login=data.get("login") or None, password=data.get("password") or None,
                       schema=data.get("schema") or None, port=_port(data.get("port"), name),
                       extra=_extra(data.get("extra"), name))
        return cls._from_uri(conn_id, value, name)

    @classmethod
    def _from_uri(cls, conn_id: str, uri: str, name: str) -> ConnectionFields:
        parts = urlsplit(uri)
        if not parts.scheme or "://" not in uri:
            raise ConnectionSettingsError(f"{name} must be Airflow's JSON form or a URI such as scheme://host")
        conn_type = {"postgresql": "postgres"}.get(parts.scheme, parts.scheme.replace("-", "_"))
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "__extra__" in query:
            extra = _extra(query.pop("__extra__"), name)
        else:  # as Airflow reads them: a value that is JSON (5, true, {...}) is decoded
            extra = {key: _json_or_text(value) for key, value in query.items()}
        try:
            port = parts.port
        except ValueError:
            raise ConnectionSettingsError(f"{name} has a port that is not a number") from None
        return cls(conn_id=conn_id, conn_type=conn_type, host=unquote(parts.hostname or "") or None,
                   login=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   schema=unquote(parts.path.lstrip("/")) or None, port=port, extra=extra)

    def text(self, key: str) -> str | None:
        """An extra as text, ``None`` when absent or blank."""
        value = self.extra.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return str(value).strip()


def _extra(raw: Any, name: str) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    not_object = f"{name} must have a JSON object as its extras"
    if isinstance(raw, str):
        return _json_object(raw, f"{name} has extras that are not valid JSON", not_object)
    if not isinstance(raw, dict):
        raise ConnectionSettingsError(not_object)
    return raw


def _json_object(text: str, invalid: str, not_object: str) -> dict[str, Any]:
    """``text`` as a JSON object; ``invalid`` (with the parser's reason) or ``not_object`` when it is none."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConnectionSettingsError(f"{invalid} ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ConnectionSettingsError(not_object)
    return data


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value) if value else value
    except ValueError:
        return value


def _port(raw: Any, name: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ConnectionSettingsError(f"{name} has a port that is not a number: {raw!r}") from None


@dataclass(frozen=True)
class HttpOptions:
    """TLS and proxy settings of an HTTP connection's extras, read as Airflow's ``HttpHook`` reads them:
    ``verify`` (or ``verify_ssl``: false, or a CA bundle path), ``cert`` (client certificate path, or
    ``[cert, key]``), ``proxies`` (or ``proxy``: ``{"https": "http://proxy:3128"}``), ``trust_env``."""

    verify: bool | str = True
    cert: str | tuple[str, str] | None = None
    proxies: Mapping[str, str] = field(default_factory=dict)
    trust_env: bool = True

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> HttpOptions:
        verify = extra.get("verify", extra.get("verify_ssl", True))
        if isinstance(verify, str) and verify.strip().lower() in ("true", "false", ""):
            verify = verify.strip().lower() != "false"
        cert = extra.get("cert") or None
        if isinstance(cert, list):
            cert = (str(cert[0]), str(cert[1])) if len(cert) == 2 else str(cert[0])
        proxies = extra.get("proxies", extra.get("proxy")) or {}
        if isinstance(proxies, str):
            proxies = {"http": proxies, "https": proxies}
        trust_env = extra.get("trust_env", True)
        if isinstance(trust_env, str):
            trust_env = trust_env.strip().lower() != "false"
        return cls(verify=verify, cert=cert, proxies=dict(proxies), trust_env=bool(trust_env))

    def apply(self, session: requests.Session) -> requests.Session:
        session.verify = self.verify
        session.cert = self.cert
        session.proxies.update(self.proxies)
        session.trust_env = self.trust_env
        return session

    @property
    def https_proxy(self) -> str | None:
        return self.proxies.get("https") or self.proxies.get("http")
