"""The one Airflow REST call the receiver makes: trigger a DAG run with a given run id.

A JWT comes from ``POST /auth/token`` with the webhook user (role ``user``: the least that may trigger); it is
kept and renewed when Airflow answers 401 (expired) or 403 (signed with a secret Airflow no longer has). ``POST /api/v2/dags/{dag_id}/dagRuns`` answers 200 for a new run
and 409 when the run id exists already: both mean the run is there. Transport errors, 429 and 5xx are retried a
few times (tenacity); if Airflow still cannot be reached the call raises :class:`AirflowUnavailable` and the
caller keeps the event for later. 400/422 (Airflow refuses this run's conf) raise :class:`TriggerRejected`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {429, 500, 502, 503, 504}
GATEWAY_DOWN = {502, 503, 504}


class AirflowUnavailable(Exception):  # noqa: N818 - a state, not an error of the event
    """Airflow cannot take the run now (down, 5xx, auth or DAG missing): keep the event, try again later.

    ``down`` is True when Airflow did not answer, or a proxy in front of it answered 502/503/504 (an outage);
    False when Airflow answered and refused (auth, DAG missing, 429, 500): only an outage ends the caller's
    back-off as soon as the health endpoint answers again.
    """

    def __init__(self, message: str, *, down: bool = False) -> None:
        super().__init__(message)
        self.down = down


class TriggerRejected(Exception):  # noqa: N818
    """Airflow refused this particular run (400/422); sending it again unchanged will not help."""


class _Retryable(Exception):  # noqa: N818
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TriggerResult:
    dag_run_id: str
    created: bool  # False: the run already existed (409)


class AirflowClient:
    """Thread-safe enough for one forwarder thread plus health checks (the token is swapped under a lock)."""

    def __init__(
        self, base_url: str, username: str, password: str, *, timeout: float = 10.0, attempts: int = 3
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._attempts = attempts
        self._http = httpx.Client(timeout=timeout, trust_env=False)
        self._token: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    # -- public ------------------------------------------------------------------------------------------

    def healthy(self) -> bool:
        try:
            return self._http.get(f"{self.base_url}/api/v2/monitor/health", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def trigger(self, dag_id: str, dag_run_id: str, conf: dict[str, Any], note: str | None = None) -> TriggerResult:
        body = {"dag_run_id": dag_run_id, "logical_date": None, "conf": conf, "note": note}
        response = self._send("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        if response.status_code in (200, 201):
            return TriggerResult(dag_run_id, created=True)
        if response.status_code == 409:
            return TriggerResult(dag_run_id, created=False)
        detail = _detail(response)
        if response.status_code in (400, 422):
            raise TriggerRejected(f"Airflow refused run {dag_run_id}: {response.status_code} {detail}")
        # 404 (DAG not deployed or parsed yet) and anything else: nothing wrong with the event itself
        raise AirflowUnavailable(f"POST dagRuns for {dag_id} answered {response.status_code} {detail}")

    # -- plumbing ----------------------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._with_retries(lambda: self._authorised(method, path, **kwargs))
        if response.status_code in (401, 403):
            # 401: expired token; 403: a token Airflow cannot verify (its JWT secret changed) or a missing
            # permission. One more go with a fresh token tells them apart.
            with self._lock:
                self._token = None
            response = self._with_retries(lambda: self._authorised(method, path, **kwargs))
            if response.status_code in (401, 403):
                raise AirflowUnavailable(
                    f"Airflow refuses user {self._username} ({response.status_code} {_detail(response)});"
                    " check its role (it needs 'user' or more) and password"
                )
        return response

    def _authorised(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._current_token()}"}
        return self._checked(self._http.request(method, f"{self.base_url}{path}", headers=headers, **kwargs))

    def _current_token(self) -> str:
        with self._lock:
            if self._token is None:
                response = self._checked(
                    self._http.post(
                        f"{self.base_url}/auth/token",
                        json={"username": self._username, "password": self._password},
                    )
                )
                if response.status_code not in (200, 201):
                    raise AirflowUnavailable(
                        f"POST /auth/token for user {self._username} answered {response.status_code}"
                    )
                self._token = response.json()["access_token"]
            return self._token

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        if response.status_code in RETRYABLE_STATUS:
            raise _Retryable(f"{response.request.method} {response.request.url.path} answered "
                             f"{response.status_code} {_detail(response)}", response.status_code)
        return response

    def _with_retries(self, call: Any) -> httpx.Response:
        retrying = Retrying(
            retry=retry_if_exception_type((_Retryable, httpx.TransportError)),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=0.25, max=2),
            reraise=True,
        )
        try:
            return retrying(call)
        except _Retryable as exc:
            raise AirflowUnavailable(str(exc), down=exc.status in GATEWAY_DOWN) from None
        except httpx.TransportError as exc:
            raise AirflowUnavailable(f"Airflow at {self.base_url} unreachable ({type(exc).__name__})",
                                     down=True) from None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return str(detail)[:300]
