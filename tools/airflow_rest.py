"""Airflow's REST API (v2) as a script outside Airflow speaks it: a token for one user, calls, DAGs unpaused once
parsed, runs triggered and waited for. ``make compose-test``, the tests' stacks and the benchmarks share it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class AirflowRest:
    url: str
    user: str
    password: str
    timeout: float = 30
    _token: str = field(default="", repr=False)

    def token(self) -> str:
        """The user's JWT, asked for once, and again when the api-server refuses it."""
        if not self._token:
            answer = requests.post(f"{self.url}/auth/token", json={"username": self.user, "password": self.password},
                                   timeout=self.timeout)
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """``method /api/v2/<path>``; the decoded JSON. A refused token is renewed once (nothing was done; Airflow
        answers 403 to an expired or foreign token)."""
        answer = self._request(method, path, headers, **kwargs)
        if answer.status_code in (401, 403):
            self._token = ""
            answer = self._request(method, path, headers, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def _request(self, method: str, path: str, headers: dict[str, str] | None, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}/api/v2/{path.lstrip('/')}", timeout=self.timeout,
                                headers={"Authorization": f"Bearer {self.token()}", **(headers or {})}, **kwargs)

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        return self.call("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        """The run's state; None when the api-server did not answer (a slow answer on a loaded machine)."""
        try:
            return self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}")["state"]
        except requests.RequestException:
            return None

    def wait_for_run(self, dag_id: str, run_id: str, states: tuple[str, ...] = ("success", "failed"),
                     timeout: float = 240, interval: float = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(dag_id, run_id)
            if state in states:
                return state
            time.sleep(interval)
        raise TimeoutError(f"{dag_id} run {run_id} not in {'/'.join(states)} after {timeout:.0f} s")

    def task_instances(self, dag_id: str, run_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
        """Every task instance of the run (of ``task_id`` only, if given), page after page (the api-server answers
        at most 100 at a time)."""
        found: list[dict[str, Any]] = []
        while True:
            params: dict[str, Any] = {"order_by": "id", "limit": 100, "offset": len(found)}
            if task_id is not None:
                params["task_id"] = task_id
            page = self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params=params)["task_instances"]
            found += page
            if len(page) < 100:
                return found

    def set_paused(self, dag_id: str, paused: bool = False, timeout: float = 300) -> None:
        """Pause or unpause ``dag_id``, waiting until the dag-processor has parsed it (404 until then)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.call("PATCH", f"dags/{dag_id}", json={"is_paused": paused})
                return
            except requests.HTTPError as exc:
                if exc.response is None or exc.response.status_code != 404 or time.monotonic() > deadline:
                    raise
                time.sleep(2)
