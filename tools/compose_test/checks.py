"""What the checks observe from outside the containers: Airflow's REST API and UI on the published port, the
sandbox's sinks, DAM and Box on their published loopback ports."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class AirflowApi:
    url: str
    user: str
    password: str
    _token: str = field(default="", repr=False)

    def token(self) -> str:
        if not self._token:
            answer = requests.post(f"{self.url}/auth/token", json={"username": self.user, "password": self.password},
                                   timeout=180)
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = requests.request(method, f"{self.url}/api/v2/{path}", timeout=180,
                                  headers={"Authorization": f"Bearer {self.token()}"}, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        return self.call("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        try:
            return self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}")["state"]
        except requests.RequestException:  # a slow answer on a loaded machine: ask again
            return None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            time.sleep(3)
        raise SystemExit(f"compose-test: {dag_id} run {run_id} not finished after {timeout:.0f} s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})[
            "task_instances"]

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = {d["dag_id"] for d in self.call("GET", "dags", params={"limit": 100})["dags"]}
            except requests.RequestException:
                found = set()
            if set(dag_ids) <= found:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"compose-test: DAGs not parsed after {timeout:.0f} s: {sorted(set(dag_ids) - found)}")
            time.sleep(5)


@dataclass(frozen=True)
class Sandbox:
    otmm_url: str
    sinks_url: str

    def received(self, kind: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.sinks_url}/__sandbox__/{kind}", timeout=10).json()
        return answer if isinstance(answer, list) else next(v for v in answer.values() if isinstance(v, list))

    def flips(self, campaign: dict[str, Any], status: str) -> tuple[int, int]:
        """(status webhooks, emails) the sinks received for ``campaign`` reaching ``status``."""
        hooks = [h for h in self.received("status-webhooks")
                 if h["body"]["campaign_id"] == campaign["id"] and h["body"]["new_status"] == status]
        mails = [m for m in self.received("mail") if f"({status})" in m["subject"]
                 and campaign["number"] in json.dumps(m)]
        return len(hooks), len(mails)

    def refusals(self) -> int:
        """Refusal emails (their subject names the file, not the campaign)."""
        return sum("was not uploaded" in m["subject"] for m in self.received("mail"))

    def slow_downloads(self, campaign: dict[str, Any], seconds: float) -> None:
        for master in campaign["masters"]:
            requests.post(f"{self.otmm_url}/__sandbox__/faults", timeout=10, json={
                "method": "GET", "kind": "delay", "seconds": seconds, "count": 10000,
                "path": f"/otmmapi/v6/assets/{master['asset_id']}/contents"}).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.otmm_url}/__sandbox__/faults", timeout=10)


def dam_status(campaign: dict[str, Any]) -> str | None:
    from ferrero_provider.otmm.hooks import OtmmHook

    return OtmmHook().client.folders.get_campaign(campaign["id"]).status


def masters_in_box(root_folder_id: str, campaign: dict[str, Any]) -> list[str]:
    from ferrero_provider.box.hooks import BoxHook

    box = BoxHook().client.folders
    [folder] = [i for i in box.list_folder_items(root_folder_id)
                if i.name == f"{campaign['number']} {campaign['name']}"]
    [masters] = [i for i in box.list_folder_items(folder.item_id) if i.name == "Masters"]
    return sorted(i.name for i in box.list_folder_items(masters.item_id))
