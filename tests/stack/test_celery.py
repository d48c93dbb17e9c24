"""A1 -> A2 through Airflow's real CeleryExecutor: an embedded Redis broker and two Celery workers, each with its
own hostname and working folder (tools/executor.py, as ``EXECUTOR=celery`` in ``make up``). A campaign's masters
run on both workers; a worker killed with SIGKILL mid-run leaves its task instances to the other, and the
campaign still reaches A2 once, with nothing duplicated or lost in Box, the tracking database or the sinks."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import TYPE_CHECKING

import pytest
import requests

from tests.stack.conftest import Stack, running_stack

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Fast failure detection: a killed worker's task instances stop heart-beating, fail after 10 s and are
#: retried on the surviving worker; messages it had reserved are re-queued after 20 s in queue.
RECOVERY = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "10",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "5",
    "CONTENT_SCALING_TASK_RETRIES": "3",
}


@pytest.fixture(scope="module")
def celery(tmp_path_factory: pytest.TempPathFactory, pg_socket: str) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("celery"), pg_socket, celery_workers=2, **RECOVERY) as stack:
        yield stack


@pytest.fixture
def connections(celery: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in celery.api.env.items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)


def _campaign(stack: Stack, number: str) -> dict:
    seed = json.loads((stack.sandbox.data_dir / "seed.json").read_text())
    return next(c for c in seed["campaigns"] if c["number"] == number)


def _masters_in_box(stack: Stack, campaign: dict) -> list[str]:
    from ferrero_provider.box.hooks import BoxHook

    box = BoxHook()
    seed = json.loads((stack.sandbox.data_dir / "seed.json").read_text())
    [folder] = [i for i in box.client.folders.list_folder_items(seed["box_root_folder_id"])
                if i.name == f"{campaign['number']} {campaign['name']}"]
    [masters] = [i for i in box.client.folders.list_folder_items(folder.item_id) if i.name == "Masters"]
    return sorted(i.name for i in box.client.folders.list_folder_items(masters.item_id))


def _assert_reached_a2_once(stack: Stack, campaign: dict) -> None:
    from ferrero_provider.otmm.hooks import OtmmHook
    from include.ferrero.db.tracking import TrackingDb

    assert OtmmHook().client.folders.get_campaign(campaign["id"]).status == "A2"
    db = TrackingDb.from_dsn(stack.tracking_dsn)
    try:
        recorded = db.masters_of_campaign(campaign["id"])
        assert db.completed_cycles(campaign["id"], "A1", "A2") == 1
    finally:
        db.close()
    assert sorted(m["dam_asset_id"] for m in recorded) == sorted(m["asset_id"] for m in campaign["masters"])
    assert len({m["tracking_id"] for m in recorded}) == len(recorded)
    assert _masters_in_box(stack, campaign) == sorted(f"{m['tracking_id']}_{m['name']}" for m in recorded)
    hooks = [h for h in stack.received("status-webhooks") if h["body"]["campaign_number"] == campaign["number"]]
    assert len(hooks) == 1 and hooks[0]["body"]["new_status"] == "A2"
    mails = [m for m in stack.received("mail")
             if m["subject"].startswith(f"Campaign {campaign['number']} ") and m["subject"].endswith("(A2)")]
    assert len(mails) == 1


def test_masters_run_on_both_workers_and_the_campaign_reaches_a2_once(celery: Stack, connections: None) -> None:
    campaign = _campaign(celery, "CMP-2026-001")
    run_id = celery.trigger("a1_to_a2", {"campaign": campaign["number"]})
    assert celery.wait_for_run("a1_to_a2", run_id, timeout=150) == "success"
    tis = celery.task_instances("a1_to_a2", run_id)
    transfers = [ti for ti in tis if ti["task_id"] == "transfer_master"]
    assert len(transfers) == len(campaign["masters"]) and {ti["state"] for ti in tis} == {"success"}
    assert {ti["hostname"].split(".")[0] for ti in transfers} == {"worker1", "worker2"}, transfers
    _assert_reached_a2_once(celery, campaign)


def test_a_worker_killed_mid_run_leaves_its_tasks_to_the_other(celery: Stack, connections: None) -> None:
    campaign = _campaign(celery, "CMP-2026-002")
    faults = f"{celery.sandbox.endpoints['otmm_url']}/__sandbox__/faults"
    for master in campaign["masters"]:  # slow downloads: the transfers are running when the worker dies
        requests.post(faults, timeout=5, json={"method": "GET", "kind": "delay", "seconds": 6, "count": 10000,
                                               "path": f"/otmmapi/v6/assets/{master['asset_id']}/contents"})
    run_id = celery.trigger("a1_to_a2", {"campaign": campaign["number"]})
    deadline = time.monotonic() + 90
    victim = None
    while victim is None and time.monotonic() < deadline:
        running = [ti for ti in celery.task_instances("a1_to_a2", run_id)
                   if ti["task_id"] == "transfer_master" and ti["state"] == "running" and ti["hostname"]]
        if running:
            victim = running[0]["hostname"].split(".")[0]
        time.sleep(0.5)
    assert victim, "no transfer started"
    worker = celery.workers[f"celery-worker-{victim.removeprefix('worker')}"]
    os.killpg(os.getpgid(worker.pid), signal.SIGKILL)  # the worker and its task processes: a lost machine
    worker.wait(timeout=10)
    try:
        assert celery.wait_for_run("a1_to_a2", run_id, timeout=150) == "success"
    finally:
        requests.delete(faults, timeout=5)
    transfers = [ti for ti in celery.task_instances("a1_to_a2", run_id) if ti["task_id"] == "transfer_master"]
    assert {ti["state"] for ti in transfers} == {"success"}
    survivor = "worker2" if victim == "worker1" else "worker1"
    assert {ti["hostname"].split(".")[0] for ti in transfers} == {survivor}, transfers
    assert any(ti["try_number"] > 1 for ti in transfers), "the killed worker's instance ran again"
    _assert_reached_a2_once(celery, campaign)
