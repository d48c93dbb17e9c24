"""What the chaos scenario and its audit say to the outside world: Airflow's REST API and the sandbox's admin
routes (fault rules, notification sinks, Box webhook deliveries)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class AirflowRest:
    """Airflow's REST API as ``admin``; a token is fetched again when it expires or the server restarted."""

    url: str
    password: str
    _token: str | None = field(default=None, repr=False)

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            answer = requests.post(f"{self.url}/auth/token", json={"username": "admin", "password": self.password},
                                   timeout=10)
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        for _ in range(2):
            answer = requests.request(method, f"{self.url}/api/v2/{path.lstrip('/')}", headers=self._headers(),
                                      timeout=30, **kwargs)
            if answer.status_code != 401:
                break
            self._token = None
        answer.raise_for_status()
        return answer.json()

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/api/v2/monitor/health", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        body = {"logical_date": None, "conf": conf or {}}
        return self.call("POST", f"dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", f"dags/{dag_id}/dagRuns", params={"limit": 100, "offset": len(runs)})
            runs += page["dag_runs"]
            if not page["dag_runs"] or len(runs) >= page["total_entries"]:
                return runs

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Until the DAG is parsed (the REST API knows it)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.call("GET", f"dags/{dag_id}")
                return
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(3)


@dataclass(frozen=True)
class Sandbox:
    """The running sandbox's endpoints (``endpoints.json``) and its admin routes."""

    endpoints: dict[str, Any]

    @classmethod
    def load(cls, data_dir: Path) -> Sandbox:
        return cls(json.loads((data_dir / "endpoints.json").read_text()))

    def origin(self, role: str) -> str:
        """Scheme, host and port of one server: ``otmm``, ``box_api``, ``box_upload`` or ``sinks``."""
        key = {"otmm": "otmm_url", "box_api": "box_base_url", "box_upload": "box_upload_url",
               "sinks": "sinks_url"}[role]
        return "/".join(self.endpoints[key].split("/")[:3])

    def add_fault(self, role: str, **rule: Any) -> dict[str, Any]:
        answer = requests.post(f"{self.origin(role)}/__sandbox__/faults", json=rule, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def faults(self, role: str) -> list[dict[str, Any]]:
        return requests.get(f"{self.origin(role)}/__sandbox__/faults", timeout=10).json()["faults"]

    def clear_faults(self) -> None:
        for role in ("otmm", "box_api", "box_upload", "sinks"):
            requests.delete(f"{self.origin(role)}/__sandbox__/faults", timeout=10)

    def sink(self, kind: str) -> list[dict[str, Any]]:
        """``mail`` or ``status-webhooks``: every record the sink received."""
        answer = requests.get(f"{self.origin('sinks')}/__sandbox__/{kind}", timeout=10)
        answer.raise_for_status()
        return answer.json()["items"]

    def deliveries(self) -> list[dict[str, Any]]:
        """Box's webhook deliveries (status ``pending``, ``delivered``, ``failed`` or ``dropped``)."""
        answer = requests.get(f"{self.origin('box_api')}/__sandbox__/box/deliveries", timeout=10)
        answer.raise_for_status()
        return answer.json()["entries"]
