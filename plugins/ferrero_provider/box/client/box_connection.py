"""The one parser of the Box connection (type ``box``): login = client id, password = client secret, extras
``auth_mode`` (``jwt`` | ``ccg``), ``enterprise_id``, ``user_id``, ``jwt_config_json`` (the Developer Console's
config.json, replacing the key fields), ``jwt_key_id``, ``jwt_private_key`` (PEM, encrypted or not),
``jwt_private_key_passphrase``, ``base_url``, ``upload_url``, ``oauth_url`` (how a sandbox is reached) and the
HTTP options ``verify``, ``cert``, ``proxies``. Used by the hook, the webhook receiver and ``tools/``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ferrero_provider.box.exceptions import BoxConfigError
from ferrero_provider.common.connection_fields import HttpOptions

if TYPE_CHECKING:
    from ferrero_provider.common.connection_fields import ConnectionFields

#: Box's Airflow connection: its one definition (``BoxHook.default_conn_name`` names it).
DEFAULT_CONN_ID = "box_default"
AUTH_MODES = ("jwt", "ccg")
DEFAULT_BASE_URL = "https://api.box.com"
DEFAULT_UPLOAD_URL = "https://upload.box.com/api"
DEFAULT_OAUTH_URL = "https://account.box.com/api/oauth2"


@dataclass(frozen=True)
class BoxConnection:
    """A Box connection, checked."""

    auth_mode: str
    client_id: str
    client_secret: str = field(repr=False)
    enterprise_id: str | None
    user_id: str | None
    jwt_key_id: str | None
    jwt_private_key: str | None = field(repr=False)
    jwt_private_key_passphrase: str | None = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    upload_url: str = DEFAULT_UPLOAD_URL
    oauth_url: str = DEFAULT_OAUTH_URL
    http: HttpOptions = field(default_factory=HttpOptions)

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.client_secret, self.jwt_private_key, self.jwt_private_key_passphrase)

    @property
    def subject(self) -> str:
        return f"user {self.user_id}" if self.user_id else f"enterprise {self.enterprise_id}"

    @classmethod
    def from_connection(cls, fields: ConnectionFields) -> BoxConnection:
        """The connection's settings; fails fast (:class:`BoxConfigError`) naming the missing or malformed field."""
        extra = fields.extra
        where = f"Airflow connection '{fields.conn_id}'"
        app = _app_config(extra.get("jwt_config_json"), where)
        mode = (fields.text("auth_mode") or ("jwt" if app or fields.text("jwt_private_key") else "ccg")).lower()
        if mode not in AUTH_MODES:
            raise BoxConfigError(f"{where} has auth_mode {mode!r}; use jwt or ccg.")
        settings = cls(
            auth_mode=mode,
            client_id=fields.login or app.get("client_id") or "",
            client_secret=fields.password or app.get("client_secret") or "",
            enterprise_id=fields.text("enterprise_id") or (str(app["enterprise_id"]) if app.get("enterprise_id") else None),
            user_id=fields.text("user_id") or (str(app["user_id"]) if app.get("user_id") else None),
            jwt_key_id=fields.text("jwt_key_id") or app.get("jwt_key_id"),
            jwt_private_key=(extra.get("jwt_private_key") or app.get("jwt_private_key") or None),
            jwt_private_key_passphrase=(extra.get("jwt_private_key_passphrase")
                                        or app.get("jwt_private_key_passphrase") or None),
            base_url=_clean_url(extra.get("base_url"), DEFAULT_BASE_URL),
            upload_url=_clean_url(extra.get("upload_url"), DEFAULT_UPLOAD_URL),
            oauth_url=_clean_url(extra.get("oauth_url"), DEFAULT_OAUTH_URL),
            http=HttpOptions.from_extra(extra),
        )
        settings._check(where)
        return settings

    def _check(self, where: str) -> None:
        missing = [label for label, value in (("a client id (login)", self.client_id),
                                              ("a client secret (password)", self.client_secret)) if not value]
        if self.auth_mode == "jwt":
            missing += [label for label, value in (("jwt_key_id", self.jwt_key_id),
                                                   ("jwt_private_key", self.jwt_private_key)) if not value]
        if not (self.enterprise_id or self.user_id):
            missing.append("enterprise_id or user_id")
        if missing:
            raise BoxConfigError(f"{where} uses auth_mode {self.auth_mode} but has no {', no '.join(missing)}.")
        for key in ("base_url", "upload_url", "oauth_url"):
            if not getattr(self, key).startswith(("http://", "https://")):
                raise BoxConfigError(f"{where} has a {key} that is not an http(s) URL.")


def _app_config(raw: Any, where: str) -> dict[str, Any]:
    """The fields of a Box app config.json (``jwt_config_json``), empty without one."""
    if not raw:
        return {}
    try:
        parsed = raw if isinstance(raw, dict) else json.loads(raw)
        settings = parsed["boxAppSettings"]
        auth = settings.get("appAuth") or {}
        return {"client_id": settings.get("clientID"), "client_secret": settings.get("clientSecret"),
                "jwt_key_id": auth.get("publicKeyID"), "jwt_private_key": auth.get("privateKey"),
                "jwt_private_key_passphrase": auth.get("passphrase"),
                "enterprise_id": parsed.get("enterpriseID"), "user_id": parsed.get("userID")}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BoxConfigError(f"{where} has a jwt_config_json that is not a Box app config.json "
                             "(JSON with boxAppSettings).") from None


def _clean_url(value: Any, default: str) -> str:
    return str(value).strip().rstrip("/") if value and str(value).strip() else default
