"""An Airflow api-server outage costs nothing: the running product loses its api-server in the middle of a stream
of agency uploads, for longer than the tasks' tries would survive with Airflow's defaults, and every upload still
ends in the DAM with no try spent.

Timings are compressed: no retry (Airflow's defaults give up on the api-server after about 30 s, so a try
would be gone, and its run failed, in ~30 s) against a 60-second outage; the workers may wait 240 s."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import psycopg2
import pytest

from tests.stack.conftest import ROOT, Stack, running_stack

if TYPE_CHECKING:
    from collections.abc import Iterator

OUTAGE_SECONDS = 60
CAMPAIGNS = ("CMP-2026-001", "CMP-2026-002")

pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pg_socket: str) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("outage-stack"), pg_socket,
        CONTENT_SCALING_TASK_RETRIES="0",
        AIRFLOW_OUTAGE_TOLERANCE_SECONDS="240", AIRFLOW_OUTAGE_RETRY_SECONDS="2",
        RECEIVER_RETRY_INITIAL_SECONDS="1", RECEIVER_RETRY_MAX_SECONDS="60",  # the receiver's own defaults
    ) as running:
        yield running


def _agency(stack: Stack, number: str) -> None:
    done = subprocess.run([sys.executable, "-m", "sandbox", "agency", "--campaign", number], env=stack.sandbox.env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _a2_to_a3_runs(stack: Stack) -> list[dict[str, Any]]:
    return stack.call("GET", "dags/a2_to_a3/dagRuns", params={"limit": 100})["dag_runs"]


def _in_flight(stack: Stack) -> list[str]:
    """Task instances of a2_to_a3 queued or running now."""
    answer = stack.call("GET", "dags/a2_to_a3/dagRuns/~/taskInstances",
                        params={"state": ["queued", "running"], "limit": 100})
    return [f"{ti['dag_run_id']}:{ti['task_id']}" for ti in answer["task_instances"]]


def _pending_events(stack: Stack) -> int:
    with psycopg2.connect(stack.tracking_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM box_webhook_events WHERE status = 'pending'")
        count = cur.fetchone()[0]
    conn.close()
    return count


def _derivative_rows(stack: Stack) -> int:
    with psycopg2.connect(stack.tracking_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM derivative_assets WHERE dam_asset_id IS NOT NULL")
        count = cur.fetchone()[0]
    conn.close()
    return count


def test_an_api_server_outage_mid_stream_fails_no_run(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in stack.api.env.items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)
    seed = json.loads((stack.sandbox.data_dir / "seed.json").read_text())
    campaigns = [next(c for c in seed["campaigns"] if c["number"] == number) for number in CAMPAIGNS]
    to_a2 = [stack.trigger("a1_to_a2", {"campaign": c["id"]}) for c in campaigns]
    assert [stack.wait_for_run("a1_to_a2", run_id, timeout=300) for run_id in to_a2] == ["success", "success"]
    register = subprocess.run([sys.executable, "-m", "receiver", "register-webhook", "--address",
                               stack.receiver.webhook_url], env=stack.receiver.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
    assert register.returncode == 0, register.stderr

    # The first agency uploads; once its runs' tasks are on their way, the api-server goes.
    _agency(stack, CAMPAIGNS[0])
    deadline = time.monotonic() + 120
    while not (in_flight := _in_flight(stack)):
        assert time.monotonic() < deadline, "no a2_to_a3 task queued or running"
        time.sleep(0.5)
    stack.api.stop()
    down_at = time.monotonic()
    try:
        _agency(stack, CAMPAIGNS[1])  # its webhooks reach the receiver, which cannot start the runs now
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        assert _pending_events(stack) > 0
    finally:
        stack.api.start()
    back_at = time.monotonic()
    while _pending_events(stack):
        assert time.monotonic() - back_at < 60, "events still pending a minute after Airflow's return"
        time.sleep(0.2)
    resumed = time.monotonic() - back_at
    print(f"outage {back_at - down_at:.0f} s with {len(in_flight)} task(s) in flight: {in_flight}; "
          f"pending events sent {resumed:.1f} s after the api-server answered again")
    assert resumed < 10

    uploads = sum(len(c["masters"]) + 1 for c in campaigns)  # each agency adds one badly named file
    deadline = time.monotonic() + 600
    while True:
        runs = _a2_to_a3_runs(stack)
        if len(runs) == uploads and all(r["state"] in ("success", "failed") for r in runs):
            break
        assert time.monotonic() < deadline, [(r["dag_run_id"], r["state"]) for r in runs]
        time.sleep(2)
    failed = [r for r in runs if r["state"] == "failed"]
    # only the two badly named files fail, refused by their name check, not by the outage
    assert len(failed) == len(campaigns), failed
    for run in failed:
        refused = [ti for ti in stack.task_instances("a2_to_a3", run["dag_run_id"]) if ti["state"] == "failed"]
        assert [ti["task_id"] for ti in refused] == ["derivative_to_dam"], refused
    tries = {(r["dag_run_id"], ti["task_id"]): ti["try_number"] for r in runs
             for ti in stack.task_instances("a2_to_a3", r["dag_run_id"])}
    assert max(tries.values()) == 1, {key: n for key, n in tries.items() if n > 1}  # the outage cost no try

    from ferrero_provider.otmm.hooks import OtmmHook

    dam = OtmmHook()
    for campaign in campaigns:
        assert len(dam.client.folders.list_master_assets(campaign["final_assets_folder_id"])) == len(campaign["masters"])
        assert dam.client.folders.get_campaign(campaign["id"]).status == "A3"
    assert _derivative_rows(stack) == sum(len(c["masters"]) for c in campaigns)
