"""The one request path of the DAM client: authentication (session, OTMM OAuth, OTDS token), one lazily created
``requests.Session``, retries (tenacity) and the mapping of HTTP answers to the ``otmm.exceptions``. Airflow-free:
a class mixing this in provides ``conn_settings``, ``retry_policy``, ``log`` and calls :meth:`_init_transport`.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

import requests

from ferrero_provider.common.messages import scrub
from ferrero_provider.common.retry import final_error
from ferrero_provider.common.streams import IncompleteTransferError, TransferAdapter
from ferrero_provider.otmm.exceptions import (
    OtmmAuthError,
    OtmmError,
    OtmmIntegrityError,
    OtmmTransportError,
    http_error,
)

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    import tenacity

    from ferrero_provider.common.retry import RetryPolicy
    from ferrero_provider.otmm.client.settings import DamSettings
    from ferrero_provider.otmm.connection import DamConnection

#: Renew a token this many seconds before the expiry the DAM announced.
TOKEN_EXPIRY_MARGIN = 30.0



class Transport:
    """Authentication and the retried request path shared by every part of the client."""

    conn_settings: DamConnection
    dam_settings: DamSettings
    retry_policy: RetryPolicy
    log: logging.Logger

    def _init_transport(self) -> None:
        self._session: requests.Session | None = None
        self._auth_expires_at: float | None = None
        self._lock = threading.RLock()
        self._no_job_resource = False  # set once the DAM answered 404 for a job (see jobs.py)
        self._folder_edit_via_assets = False  # set once PATCH /folders/{id} answered 404/405 (see status.py)

    # ---- session and authentication ---------------------------------------------------------------------

    def get_conn(self) -> requests.Session:
        """The authenticated ``requests.Session`` (created and logged in on first use)."""
        with self._lock:
            if self._session is None:
                session = self.conn_settings.http.apply(requests.Session())  # CA bundle, client cert, proxies
                adapter = TransferAdapter()
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                session.headers.update({"Accept": "application/json", "X-OTMM-Locale": "en_US"})
                self._session = session
                self._authenticate()
            elif self._auth_expires_at is not None and time.monotonic() >= self._auth_expires_at:
                self._authenticate()
            return self._session

    def _authenticate(self) -> None:
        """Log in (session) or fetch a token (oauth, otds) and put the credentials on the session."""
        conn = self.conn_settings
        session = self._session
        assert session is not None
        for header in ("Authorization", "X-Requested-By", "otmmauthtoken"):
            session.headers.pop(header, None)
        session.cookies.clear()
        self._auth_expires_at = None
        operation = f"logging in to the DAM as {conn.who} ({conn.auth_mode} authentication)"
        if conn.auth_mode == "session":
            data = self._send("POST", f"{conn.base_url}/sessions", operation,
                              data={"username": conn.login, "password": conn.password}, authenticated=False)
            info = (data or {}).get("session_resource", {}).get("session", {})
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
        data = self._send("POST", url, operation, data=form, authenticated=False) or {}
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
            answer = session.get(f"{self.conn_settings.base_url}/sessions", timeout=self.retry_policy.timeout)
            info = answer.json().get("session_resource", {}).get("session", {}) if answer.ok else {}
        except (requests.RequestException, ValueError, AttributeError):
            info = {}
        if info.get("id"):
            session.headers["X-Requested-By"] = str(info["id"])

    def close(self) -> None:
        """Log out (session auth) and drop the HTTP session; best effort, never raises."""
        with self._lock:
            session, self._session = self._session, None
        if session is None:
            return
        try:
            if self.conn_settings.auth_mode == "session":
                session.delete(f"{self.conn_settings.base_url}/sessions", timeout=self.retry_policy.timeout)
        except requests.RequestException:
            pass
        finally:
            session.close()

    # ---- the one request path -------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return path if "://" in path else f"{self.conn_settings.base_url}/{path.lstrip('/')}"

    def _retrying(self, operation: str, attempts: int | None = None) -> tenacity.Retrying:
        def on_retry(attempt: int, allowed: int, exc: BaseException, wait: float) -> None:
            self.log.warning("DAM: attempt %d of %d failed (%s); retrying in %.1f s", attempt, allowed,
                             scrub(str(exc), self.conn_settings.secrets), wait)

        return self.retry_policy.retrying(on_retry, attempts)

    def _request(self, method: str, path: str, operation: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        """Send one DAM request with retries; return ``handle(response)`` or the parsed JSON body.

        ``handle`` runs inside the retried attempt (a download cut short is retried whole). ``body`` builds a
        fresh streamed body and its content type for every attempt. ``idempotent=False`` sends once (a 401 is
        still answered by logging in again, since the request did not reach the DAM's logic). See ``_send``.
        """
        return self._send(method, self._url(path), operation, attempts=None if idempotent else 1, **kwargs)

    def _send(
        self,
        method: str,
        url: str,
        operation: str,
        *,
        handle: Callable[[requests.Response], Any] | None = None,
        body: Callable[[], tuple[Any, str]] | None = None,
        authenticated: bool = True,
        attempts: int | None = None,
        **kwargs: Any,
    ) -> Any:
        policy = self.retry_policy
        secrets = self.conn_settings.secrets
        state = {"renewed": False, "attempts": 0}

        def attempt() -> Any:
            state["attempts"] += 1
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
                    if response.status_code == 401 and authenticated and not state["renewed"]:
                        state["renewed"] = True
                        self.log.info("DAM answered 401 while %s; logging in again", operation)
                        with self._lock:
                            self._authenticate()
                        continue
                    if response.status_code >= 400:
                        raise http_error(operation, response, policy)
                    try:
                        if handle is not None:
                            return handle(response)
                        content = response.content
                    except IncompleteTransferError as exc:
                        raise OtmmIntegrityError(f"DAM request failed while {operation}: the body was cut short "
                                                 f"({exc})") from exc
                    except requests.RequestException as exc:
                        raise _transport(operation, f"the answer was cut short ({type(exc).__name__})") from exc
                    if not content.strip():
                        return None
                    try:
                        return json.loads(content)
                    except ValueError as exc:
                        raise _transport(operation, "the answer is not complete JSON") from exc

        try:
            return self._retrying(operation, attempts)(attempt)
        except OtmmError as exc:
            raise _final(exc, state["attempts"], secrets) from exc.__cause__


def _transport(operation: str, what: str) -> OtmmTransportError:
    return OtmmTransportError(f"DAM request failed while {operation}: {what}")


def _final(exc: OtmmError, attempts: int, secrets: tuple[str | None, ...]) -> OtmmError:
    """The exception to raise: same type and kind, the message as one scrubbed sentence with the attempt count."""
    return final_error(exc, attempts, secrets)
