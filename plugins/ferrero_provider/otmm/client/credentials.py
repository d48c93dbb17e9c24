"""The DAM credentials of a session (the login's session id and digest and its cookies, or a Bearer token with the
session id that goes with it), kept in the host's token cache (``common.token_cache``) so that the task processes
of a host log in once between them instead of once each.

A logged-in session is reused for ``SESSION_REUSE_SECONDS`` (the DAM does not announce a session's lifetime; one
that ended sooner is answered 401, and the transport then drops it and logs in again); a token until
``TOKEN_EXPIRY_MARGIN`` seconds before the expiry the DAM announced. Airflow-free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ferrero_provider.common.token_cache import cache_key

if TYPE_CHECKING:
    import requests

    from ferrero_provider.otmm.dam_connection import DamConnection

#: How long a logged-in session is handed to other processes (a DAM session lives far longer while it is used).
SESSION_REUSE_SECONDS = 600.0
#: The headers that carry the credentials (the transport sets them when it logs in).
CREDENTIAL_HEADERS = ("Authorization", "X-Requested-By", "otmmauthtoken")


def credential_key(conn: DamConnection) -> str:
    """The cache key of the connection's credentials: where, how (TLS and proxy options included) and as whom
    (secrets only hashed)."""
    return cache_key("otmm", conn.base_url, conn.auth_mode, conn.login, conn.client_id, conn.otds_token_url,
                     conn.password, conn.client_secret, repr(conn.http))


def credentials_of(session: requests.Session) -> dict[str, Any]:
    """What a logged-in session carries: its credential headers and cookies."""
    return {
        "headers": {name: str(session.headers[name]) for name in CREDENTIAL_HEADERS if name in session.headers},
        "cookies": [{"name": c.name, "value": c.value, "domain": c.domain, "path": c.path} for c in session.cookies],
    }


def clear_credentials(session: requests.Session) -> None:
    for name in CREDENTIAL_HEADERS:
        session.headers.pop(name, None)
    session.cookies.clear()


def apply_credentials(session: requests.Session, credentials: dict[str, Any]) -> None:
    """Put stored credentials on ``session`` (replacing any it had)."""
    clear_credentials(session)
    session.headers.update({str(k): str(v) for k, v in (credentials.get("headers") or {}).items()})
    for cookie in credentials.get("cookies") or []:
        session.cookies.set(cookie["name"], cookie["value"], domain=cookie.get("domain") or "",
                            path=cookie.get("path") or "/")
