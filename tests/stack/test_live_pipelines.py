"""Both pipelines on the running product, driven as operators and agencies drive them."""

from __future__ import annotations

import html
import json
import subprocess
import sys
import time

import requests

from tests.stack.conftest import ROOT, Stack


def _seed(stack: Stack) -> dict:
    return json.loads((stack.sandbox.data_dir / "seed.json").read_text())


def _campaign(stack: Stack, number: str) -> dict:
    return next(c for c in _seed(stack)["campaigns"] if c["number"] == number)


def _dam_status(stack: Stack, campaign_id: str) -> str:
    from ferrero_provider.otmm.hooks import OtmmHook

    return OtmmHook().client.folders.get_campaign(campaign_id).status


def test_clearing_the_failed_master_with_downstream_flips_once(stack: Stack, monkeypatch) -> None:
    """A permanent fault on one master leaves the campaign in A1 with the partial email; once the fault is gone,
    clearing that one task instance with its downstream (the UI's Clear → Downstream) flips to A2 with one
    webhook and one email."""
    for key, value in stack.api.env.items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)
    campaign = _campaign(stack, "CMP-2026-002")
    broken = campaign["masters"][2]
    faults = f"{stack.sandbox.endpoints['otmm_url']}/__sandbox__/faults"
    requests.post(faults, timeout=5, json={"method": "GET", "path": f"/otmmapi/v6/assets/{broken['asset_id']}/contents",
                                           "kind": "status", "status": 503, "count": 10000})
    run_id = stack.trigger("a1_to_a2", {"campaign": campaign["number"]})
    assert stack.wait_for_run("a1_to_a2", run_id) == "failed"
    failed = [ti for ti in stack.task_instances("a1_to_a2", run_id) if ti["state"] == "failed"]
    assert [(ti["task_id"], ti["rendered_map_index"]) for ti in failed] == [("transfer_master", broken["name"])]
    assert _dam_status(stack, campaign["id"]) == "A1"
    [partial] = stack.received("mail")
    assert broken["name"] in html.unescape(partial["html"]) and "503" in partial["html"]

    requests.delete(faults, timeout=5)
    stack.call("POST", "dags/a1_to_a2/clearTaskInstances", json={
        "dry_run": False, "dag_run_id": run_id, "include_downstream": True, "only_failed": False,
        "task_ids": [[failed[0]["task_id"], failed[0]["map_index"]]]})
    assert stack.wait_for_run("a1_to_a2", run_id, timeout=240) == "success"
    assert _dam_status(stack, campaign["id"]) == "A2"
    assert len(stack.received("status-webhooks")) == 1
    mails = stack.received("mail")
    assert len(mails) == 2 and "(A2)" in mails[1]["subject"]


def test_agency_upload_to_a3_through_webhook_receiver_and_scheduler(stack: Stack, monkeypatch) -> None:
    """Box upload → signed webhook → receiver → REST API → scheduled run → DAM asset, for every derivative; the
    badly named one is refused by email; the campaign reaches A3 once."""
    for key, value in stack.api.env.items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)
    campaign = _campaign(stack, "CMP-2026-001")
    run_id = stack.trigger("a1_to_a2", {"campaign": campaign["id"]})
    assert stack.wait_for_run("a1_to_a2", run_id) == "success"
    register = subprocess.run([sys.executable, "-m", "receiver", "register-webhook", "--address",
                               stack.receiver.webhook_url], env=stack.receiver.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
    assert register.returncode == 0, register.stderr
    agency = subprocess.run([sys.executable, "-m", "sandbox", "agency", "--campaign", campaign["number"]],
                            env=stack.sandbox.env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert agency.returncode == 0, agency.stderr
    uploads = len(campaign["masters"]) + 1

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runs = stack.call("GET", "dags/a2_to_a3/dagRuns", params={"limit": 100})["dag_runs"]
        if len(runs) == uploads and all(r["state"] in ("success", "failed") for r in runs):
            break
        time.sleep(2)
    states = sorted(r["state"] for r in runs)
    assert states == ["failed"] + ["success"] * (uploads - 1), runs
    assert all(r["dag_run_id"].startswith("box_") for r in runs)
    assert _dam_status(stack, campaign["id"]) == "A3"
    from ferrero_provider.otmm.hooks import OtmmHook

    final = OtmmHook().client.folders.list_master_assets(campaign["final_assets_folder_id"])
    assert len(final) == len(campaign["masters"])
    subjects = [m["subject"] for m in stack.received("mail")]
    assert sum("was not uploaded" in s for s in subjects) == 1
    assert sum("(A3)" in s for s in subjects) == 1
    assert sum(h["body"]["new_status"] == "A3" for h in stack.received("status-webhooks")) == 1
    failed_run = next(r["dag_run_id"] for r in runs if r["state"] == "failed")
    _assert_log_ends_with_its_sentence(stack, failed_run, "derivative_to_dam", "VERSION segment is missing")


def _assert_log_ends_with_its_sentence(stack: Stack, run_id: str, task_id: str, sentence: str) -> None:
    """A task that failed for an expected reason: its log's last error is its one sentence, no traceback."""
    log = stack.call("GET", f"dags/a2_to_a3/dagRuns/{run_id}/taskInstances/{task_id}/logs/1",
                     headers={"Accept": "application/json"})["content"]
    errors = [line for line in log if isinstance(line, dict) and line.get("level") in ("error", "critical")]
    assert errors and sentence in errors[-1]["event"], log
    assert errors[-1]["event"].startswith("Task failed: ")
    text = json.dumps(log)
    assert "Traceback" not in text and "error_detail" not in text and "exc_info" not in text, log
