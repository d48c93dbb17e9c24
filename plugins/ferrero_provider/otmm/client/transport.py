"""The one request path of the DAM client: authentication (session, OTMM OAuth, OTDS token), one lazily created
``requests.Session``, retries (tenacity) and the mapping of HTTP answers to the ``otmm.exceptions``. Airflow-free:
:class:`DamTransport` is the one object every resource manager of :class:`~ferrero_provider.otmm.client.OtmmClient`
sends through (as ``box_sdk_gen``'s managers send through one ``NetworkSession``).
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import requests

from ferrero_provider.common.error_text import scrub
from ferrero_provider.common.http_session import client_session
from ferrero_provider.common.retry import final_error
from ferrero_provider.common.streams import IncompleteTransferError
from ferrero_provider.common.token_cache import TokenCache
from ferrero_provider.otmm.client.credentials import (
    SESSION_REUSE_SECONDS,
    apply_credentials,
    clear_credentials,
    credential_key,
    credentials_of,
)
from ferrero_provider.otmm.exceptions import (
    OtmmAuthError,
    OtmmError,
    OtmmIntegrityError,
    OtmmTransportError,
    http_error,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import tenacity

    from ferrero_provider.common.retry import RetryPolicy
    from ferrero_provider.common.streams import MultipartFileBody
    from ferrero_provider.otmm.client.settings import DamSettings
    from ferrero_provider.otmm.dam_connection import DamConnection

#: Renew a token this many seconds before the expiry the DAM announced.
TOKEN_EXPIRY_MARGIN = 30.0

#: A decoded JSON object of a DAM answer (OTMM's resources are nested objects; readers pick what they need).
JsonObject = dict[str, Any]
T = TypeVar("T")


class Log(Protocol):
    """What the client logs through: a ``logging.Logger``, or the hook's own (Airflow's task logger)."""

    def info(self, msg: str, /, *args: object) -> object: ...

    def warning(self, msg: str, /, *args: object) -> object: ...

    def error(self, msg: str, /, *args: object) -> object: ...


class DamTransport:
    """Authentication and the retried request path shared by every resource manager of the client.

    :param connection: reads the checked connection when first needed (a hook reads Airflow's only then).
    :param settings: the ``dam`` settings; ``retry``: the policy (its read timeout is the settings' one).
    :param tokens: where the credentials are shared with the host's other processes (default: the host's cache,
        ``common.token_cache``; ``TokenCache(None)``: this transport's own).
    """

    def __init__(self, connection: Callable[[], DamConnection], *, settings: DamSettings, retry: RetryPolicy,
                 log: Log, tokens: TokenCache | None = None) -> None:
        self._read_connection = connection
        self._connection: DamConnection | None = None
        self.settings = settings
        self.policy = retry.with_overrides(request_timeout_seconds=settings.timeout_seconds)
        self.log = log
        self._session: requests.Session | None = None
        self._auth_expires_at: float | None = None
        self._lock = threading.RLock()
        self.tokens = tokens if tokens is not None else TokenCache.default()

    @property
    def connection(self) -> DamConnection:
        """The connection, checked: fails fast (``OtmmConfigError``) naming the missing or malformed field."""
        if self._connection is None:
            self._connection = self._read_connection()
        return self._connection

    # ---- session and authentication ---------------------------------------------------------------------

    def get_conn(self) -> requests.Session:
        """The authenticated ``requests.Session`` (created and logged in on first use)."""
        with self._lock:
            if self._session is None:
                session = client_session(self.connection.http)  # CA bundle, client cert, proxies
                session.headers.update({"Accept": "application/json", "X-OTMM-Locale": "en_US"})
                self._session = session
                self._log_in(session)
            elif self._auth_expires_at is not None and time.monotonic() >= self._auth_expires_at:
                self._log_in(self._session)
            return self._session

    def _log_in(self, session: requests.Session, refused: dict[str, Any] | None = None) -> None:
        """Put credentials on ``session``: those another process of the host stored while they last, else a fresh
        login (one process logs in while the others wait for its credentials). ``refused``: the credentials the
        DAM just answered 401 to, dropped first (unless another process already replaced them)."""
        key = credential_key(self.connection)
        if refused is not None:
            self.tokens.drop(key, refused)
        stored = self.tokens.entry(key)
        if stored is None:
            with self.tokens.fetching(key):
                stored = self.tokens.entry(key)
                if stored is None:
                    self._authenticate(session)
                    expires_at = time.time() + (SESSION_REUSE_SECONDS if self._auth_expires_at is None
                                                else max(0.0, self._auth_expires_at - time.monotonic()))
                    self.tokens.put(key, credentials_of(session), expires_at)
                    return
        credentials, expires_at = stored
        apply_credentials(session, credentials)
        self._auth_expires_at = (None if self.connection.auth_mode == "session"
                                 else time.monotonic() + max(0.0, expires_at - time.time()))

    def reset(self) -> None:
        """Forget the session without logging out (the next call logs in again)."""
        with self._lock:
            self._session = None

    def _authenticate(self, session: requests.Session) -> None:
        """Log in (session) or fetch a token (oauth, otds) and put the credentials on the session."""
        conn = self.connection
        clear_credentials(session)
        self._auth_expires_at = None
        operation = f"logging in to the DAM as {conn.who} ({conn.auth_mode} authentication)"
        if conn.auth_mode == "session":
            data = self._send("POST", f"{conn.base_url}/sessions", operation, _json,
                              data={"username": conn.login, "password": conn.password}, authenticated=False)
            info = data.get("session_resource", {}).get("session", {})
            if not info.get("id"):
                raise OtmmAuthError(f"DAM request failed while {operation}: the answer carries no session id.")
            session.headers["X-Requested-By"] = str(info["id"])
            if info.get("message_digest"):
                session.headers["otmmauthtoken"] = str(info["message_digest"])
            return
        if conn.auth_mode == "oauth":
            url = f"{conn.base_url}/sessions/oauth2/token"
            form = {"grant_type": "password", "username": conn.login, "password": conn.password,
                    "client_id": conn.client_id, "client_secret": conn.client_secret}
        else:
            url = str(conn.otds_token_url)
            form = {"grant_type": "client_credentials", "client_id": conn.client_id,
                    "client_secret": conn.client_secret}
        data = self._send("POST", url, operation, _json, data=form, authenticated=False)
        oauth = data.get("token_info", {}).get("oauth_token", {}) if isinstance(data.get("token_info"), dict) else {}
        token = data.get("access_token") or oauth.get("accessToken")
        expires_in = data.get("expires_in", oauth.get("expiresIn"))
        if not token:
            raise OtmmAuthError(f"DAM request failed while {operation}: the answer carries no access token.")
        session.headers["Authorization"] = f"Bearer {token}"
        try:
            if expires_in:
                self._auth_expires_at = time.monotonic() + max(0.0, float(expires_in) - TOKEN_EXPIRY_MARGIN)
        except (TypeError, ValueError):
            self._auth_expires_at = None
        self._requested_by_for_bearer(session)

    def _requested_by_for_bearer(self, session: requests.Session) -> None:
        """Whether Bearer writes need ``X-Requested-By`` is not public (spec §17, L); sending it does no harm. So
        ask ``GET /sessions`` for the token's session id once and send it; a DAM that answers none is fine."""
        try:
            answer = session.get(f"{self.connection.base_url}/sessions", timeout=self.policy.timeout)
            info = answer.json().get("session_resource", {}).get("session", {}) if answer.ok else {}
        except (requests.RequestException, ValueError, AttributeError):
            info = {}
        if info.get("id"):
            session.headers["X-Requested-By"] = str(info["id"])

    def close(self) -> None:
        """Log out (session auth, unless the session is shared with the host's other processes through
        ``tokens``) and drop the HTTP session; best effort, never raises."""
        with self._lock:
            session, self._session = self._session, None
        if session is None:
            return
        try:
            if self.connection.auth_mode == "session" and not self.tokens.enabled:
                session.delete(f"{self.connection.base_url}/sessions", timeout=self.policy.timeout)
        except requests.RequestException:
            pass
        finally:
            session.close()

    # ---- the one request path -------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.connection.base_url}/{path.lstrip('/')}"

    def retrying(self, operation: str, attempts: int | None = None) -> tenacity.Retrying:
        def on_retry(attempt: int, allowed: int, exc: BaseException, wait: float) -> None:
            self.log.warning("DAM: attempt %d of %d failed (%s); retrying in %.1f s", attempt, allowed,
                             scrub(str(exc), self.connection.secrets), wait)

        return self.policy.retrying(on_retry, attempts)

    def retried(self, operation: str, once: Callable[[], T]) -> T:
        """Run ``once`` (a check-then-act of several requests, each sent once) under the retry layer; the error
        that ends it is one scrubbed sentence."""
        try:
            return self.retrying(operation)(once)
        except OtmmError as exc:
            raise final_error(exc, 1, self.connection.secrets) from exc.__cause__

    def request(self, method: str, path: str, operation: str, *, idempotent: bool = True,
                body: Callable[[], tuple[MultipartFileBody, str]] | None = None, **kwargs: Any) -> JsonObject:
        """Send one DAM request with retries; return its JSON object (empty for an empty body).

        ``body`` builds a fresh streamed body and its content type for every attempt. ``idempotent=False`` sends
        once (a 401 is still answered by logging in again, since the request did not reach the DAM's logic).
        ``kwargs`` go to ``requests`` (``params``, ``data``, ``json``, ``files``, ``headers``).
        """
        return self._send(method, self.url(path), operation, _json, body=body,
                          attempts=None if idempotent else 1, **kwargs)

    def stream(self, method: str, path: str, operation: str, handle: Callable[[requests.Response], T],
               **kwargs: Any) -> T:
        """Send one DAM request with retries and return ``handle(response)``, run inside the retried attempt (a
        download cut short is downloaded again, whole)."""
        return self._send(method, self.url(path), operation, handle, **kwargs)

    def _send(
        self,
        method: str,
        url: str,
        operation: str,
        handle: Callable[[requests.Response], T],
        *,
        body: Callable[[], tuple[MultipartFileBody, str]] | None = None,
        authenticated: bool = True,
        attempts: int | None = None,
        **kwargs: Any,
    ) -> T:
        policy = self.policy
        secrets = self.connection.secrets
        renewed = False
        tries = 0

        def attempt() -> T:
            nonlocal renewed, tries
            tries += 1
            while True:
                session = self.get_conn() if authenticated else self._session
                assert session is not None
                call = dict(kwargs)
                if body is not None:
                    data, content_type = body()
                    call["data"] = data
                    call["headers"] = {**call.get("headers", {}), "Content-Type": content_type}
                try:
                    response = session.request(method, url, timeout=policy.timeout, stream=True, **call)
                except requests.Timeout as exc:
                    raise _transport(operation, f"no answer within {policy.request_timeout_seconds:g} s") from exc
                except requests.RequestException as exc:
                    raise _transport(operation, f"connection failed ({type(exc).__name__})") from exc
                with response:
                    if response.status_code == 401 and authenticated and not renewed:
                        renewed = True
                        self.log.info("DAM answered 401 while %s; logging in again", operation)
                        with self._lock:
                            self._log_in(session, refused=credentials_of(session))
                        continue
                    if response.status_code >= 400:
                        raise http_error(operation, response, policy)
                    try:
                        return handle(response)
                    except IncompleteTransferError as exc:
                        raise OtmmIntegrityError(f"DAM request failed while {operation}: the body was cut short "
                                                 f"({exc})") from exc
                    except requests.RequestException as exc:
                        raise _transport(operation, f"the answer was cut short ({type(exc).__name__})") from exc
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        raise _transport(operation, "the answer is not complete JSON") from exc

        try:
            return self.retrying(operation, attempts)(attempt)
        except OtmmError as exc:
            raise final_error(exc, tries, secrets) from exc.__cause__


def _json(response: requests.Response) -> JsonObject:
    """The answer's JSON object; an empty body is an empty object (raises ``ValueError`` when not JSON)."""
    content = response.content
    if not content.strip():
        return {}
    data = json.loads(content)
    return data if isinstance(data, dict) else {"items": data}


def _transport(operation: str, what: str) -> OtmmTransportError:
    return OtmmTransportError(f"DAM request failed while {operation}: {what}")
