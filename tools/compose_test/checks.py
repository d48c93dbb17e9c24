"""What the checks observe from outside the containers: Airflow's REST API and UI on the published port, the
sandbox's sinks, DAM and Box on their published loopback ports."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import requests

from tools.airflow_rest import AirflowRest


class AirflowApi(AirflowRest):
    """The published api-server, with answers slow enough for containers starting on 2 cores."""

    def __init__(self, url: str, user: str, password: str) -> None:
        super().__init__(url, user, password, timeout=180)

    def wait_for_run(self, dag_id: str, run_id: str, states: tuple[str, ...] = ("success", "failed"),
                     timeout: float = 600, interval: float = 3) -> str:
        try:
            return super().wait_for_run(dag_id, run_id, states, timeout, interval)
        except TimeoutError as exc:
            raise SystemExit(f"compose-test: {exc}") from None

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
