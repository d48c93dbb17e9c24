"""From stored event to Airflow DAG run, against a real Airflow api-server with the real DAGs: one queued
run per Box file version whatever is redelivered or replayed, events kept across a receiver restart and while
Airflow is down, and the whole path from an agency upload in the Box sandbox."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any

import psycopg2
import pytest
import requests
from box_sdk_gen import (
    CreateFolderParent,
    CreateWebhookTarget,
    CreateWebhookTargetTypeField,
    CreateWebhookTriggers,
    UploadFileAttributes,
    UploadFileAttributesParentField,
)

from include.ferrero.box_webhooks import WEBHOOK_TRIGGERS, dag_run_id_for
from sandbox.box.client import ccg_client
from sandbox.connections import product_connections
from tests.receiver.conftest import ROOT, box_timestamp, upload_event, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable

    from sandbox.testing import RunningSandbox
    from tests.airflow_api import AirflowApi
    from tests.receiver.conftest import RunningReceiver

pytestmark = pytest.mark.timeout(120)


def run_of(api: AirflowApi, run_id: str) -> dict[str, Any] | None:
    response = requests.get(f"{api.url}/api/v2/dags/a2_to_a3/dagRuns/{run_id}",
                            headers={"Authorization": f"Bearer {api.token('admin')}"}, timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def runs_for(api: AirflowApi, run_ids: set[str]) -> list[dict[str, Any]]:
    return [run for run in api.dag_runs() if run["dag_run_id"] in run_ids]


def run_id_of(event: dict[str, Any]) -> str:
    return dag_run_id_for(event["source"]["id"], event["source"]["file_version"]["id"], event["source"]["name"])


def all_triggered(events_table: Callable[[], list[dict[str, Any]]], count: int) -> list[dict[str, Any]] | None:
    rows = events_table()
    return rows if len(rows) == count and all(row["status"] == "triggered" for row in rows) else None


def test_event_becomes_one_queued_run_with_its_conf(
    airflow_api: AirflowApi, receiver_factory: Callable[..., RunningReceiver], events_table
) -> None:
    receiver = receiver_factory(airflow_api)
    event = upload_event()
    assert receiver.post(event).status_code == 200
    row = wait_until(lambda: all_triggered(events_table, 1), what="event triggered")[0]
    run_id = run_id_of(event)
    assert run_id == f"box_{event['source']['id']}_v{event['source']['file_version']['id']}__{event['source']['name']}"
    assert row["dag_run_id"] == run_id and row["triggered_at"] and row["attempts"] == 1 and not row["last_error"]
    run = run_of(airflow_api, run_id)
    assert run is not None and run["state"] == "queued" and run["logical_date"] is None
    assert run["triggering_user_name"] == "box_webhook" and run["triggered_by"] == "rest_api"
    assert run["conf"] == {"box_file_id": event["source"]["id"],
                           "box_file_version_id": event["source"]["file_version"]["id"],
                           "file_name": event["source"]["name"], "event_id": event["id"]}
    sent = [line for line in receiver.logs() if line.get("msg") == "event sent to Airflow"]
    assert [(line["event_id"], line["outcome"], line["dag_run_id"]) for line in sent] == [
        (event["id"], "triggered", run_id)]
    health = requests.get(f"{receiver.url}/health", timeout=10).json()
    assert health == {"status": "ok", "database": "ok", "pending": 0, "airflow": "ok"}


def test_redeliveries_and_replays_start_one_run(
    airflow_api: AirflowApi, receiver_factory: Callable[..., RunningReceiver], events_table
) -> None:
    receiver = receiver_factory(airflow_api)
    event = upload_event()
    assert receiver.post(event, timestamp=box_timestamp(-60)).status_code == 200
    assert receiver.post(event).json()["outcome"] == "duplicate"  # Box's redelivery: same event id
    wait_until(lambda: all_triggered(events_table, 1), what="event triggered")
    assert receiver.post(event).json()["outcome"] == "duplicate"  # a replayed request after the trigger
    # a second event for the same file version (e.g. a second webhook on a parent folder): same run
    twin = {**event, "id": str(uuid.uuid4())}
    assert receiver.post(twin).json()["outcome"] == "stored"
    rows = wait_until(lambda: all_triggered(events_table, 2), what="twin triggered")
    assert {row["dag_run_id"] for row in rows} == {run_id_of(event)}

    replay = subprocess.run([sys.executable, "-m", "receiver", "replay", event["id"], "no-such-event"],
                            env=receiver.env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    reports = [json.loads(line) for line in replay.stdout.splitlines() if line.startswith("{")]
    assert replay.returncode == 1, replay.stdout + replay.stderr  # the unknown event
    assert reports[0] == {"event_id": event["id"], "outcome": "already-triggered", "dag_run_id": run_id_of(event)}
    assert reports[1]["outcome"] == "unknown"

    assert len(runs_for(airflow_api, {run_id_of(event)})) == 1
    outcomes = [line["outcome"] for line in receiver.logs() if line.get("msg") == "event sent to Airflow"]
    assert sorted(outcomes) == ["already-triggered", "triggered"]


def test_a_run_airflow_refuses_fails_the_event_and_the_queue_moves_on(
    airflow_api: AirflowApi, receiver_factory: Callable[..., RunningReceiver], events_table
) -> None:
    receiver = receiver_factory(airflow_api)
    not_a_box_file = upload_event()
    not_a_box_file["source"]["id"] = "f-123"  # not a Box file id: the DAG's box_file_id param refuses it (400)
    fine = upload_event()
    for event in (not_a_box_file, fine):
        assert receiver.post(event).status_code == 200
    rows = wait_until(lambda: (r := events_table()) and r[1]["status"] == "triggered" and r, what="queue drained")
    assert rows[0]["status"] == "failed" and "400" in rows[0]["last_error"]
    assert run_of(airflow_api, run_id_of(not_a_box_file)) is None
    replay = subprocess.run([sys.executable, "-m", "receiver", "replay", not_a_box_file["id"]],
                            env=receiver.env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert replay.returncode == 1 and json.loads(replay.stdout)["outcome"] == "failed"


def test_pending_events_survive_a_receiver_restart(
    airflow_api: AirflowApi, receiver_factory: Callable[..., RunningReceiver], events_table, tracking_dsn: str
) -> None:
    # Airflow unreachable at first (wrong address): events are acknowledged and kept
    receiver = receiver_factory(None)
    events = [upload_event() for _ in range(3)]
    for event in events:
        assert receiver.post(event).status_code == 200
    # the oldest event is tried (and the others wait behind it: Airflow being down is not their fault)
    wait_until(lambda: events_table()[0]["attempts"] >= 1, what="failed attempt recorded")
    receiver.stop()
    assert {row["status"] for row in events_table()} == {"pending"}
    assert "unreachable" in events_table()[0]["last_error"]

    receiver.env.update(AIRFLOW_API_URL=airflow_api.url, AIRFLOW_WEBHOOK_PASSWORD=airflow_api.passwords["box_webhook"])
    receiver.start()
    rows = wait_until(lambda: all_triggered(events_table, 3), what="events sent after restart")
    assert {row["dag_run_id"] for row in rows} == {run_id_of(e) for e in events}
    assert all(row["last_error"] is None for row in rows)

    # a crash between the trigger and its record: the event is sent again and finds its run (409)
    with psycopg2.connect(tracking_dsn) as conn, conn.cursor() as cur:
        cur.execute("UPDATE box_webhook_events SET status = 'pending' WHERE event_id = %s", (events[0]["id"],))
    conn.close()
    receiver.restart()
    wait_until(lambda: all_triggered(events_table, 3), what="re-sent event marked")
    runs = runs_for(airflow_api, {run_id_of(e) for e in events})
    assert sorted(run["dag_run_id"] for run in runs) == sorted(run_id_of(e) for e in events)
    assert [line["outcome"] for line in receiver.logs()
            if line.get("msg") == "event sent to Airflow" and line["event_id"] == events[0]["id"]] == [
        "triggered", "already-triggered"]


def test_events_wait_while_airflow_is_down(
    airflow_api: AirflowApi, receiver_factory: Callable[..., RunningReceiver], events_table
) -> None:
    receiver = receiver_factory(airflow_api)
    warm_up = upload_event()  # the receiver holds a token from here on
    assert receiver.post(warm_up).status_code == 200
    wait_until(lambda: all_triggered(events_table, 1), what="first event triggered")
    old_token = airflow_api.token("box_webhook")
    airflow_api.stop()
    try:
        events = [upload_event() for _ in range(3)]
        for event in events:
            assert receiver.post(event).status_code == 200
        wait_until(lambda: events_table()[1]["attempts"] >= 2, what="retries while down")
        assert [row["status"] for row in events_table()] == ["triggered", "pending", "pending", "pending"]
        health = requests.get(f"{receiver.url}/health", timeout=10).json()
        assert health == {"status": "degraded", "database": "ok", "pending": 3, "airflow": "unreachable"}
    finally:
        # it comes back with a new JWT secret: the receiver's token is worthless now and must be renewed
        airflow_api.env["AIRFLOW__API_AUTH__JWT_SECRET"] = uuid.uuid4().hex * 2
        airflow_api.start()
    stale = requests.get(f"{airflow_api.url}/api/v2/dags/a2_to_a3", timeout=10,
                         headers={"Authorization": f"Bearer {old_token}"})
    assert stale.status_code in (401, 403)
    rows = wait_until(lambda: all_triggered(events_table, 4), timeout=30, what="events sent once Airflow is back")
    assert sorted(row["dag_run_id"] for row in rows[1:]) == sorted(run_id_of(e) for e in events)
    runs = runs_for(airflow_api, {run_id_of(e) for e in events})
    assert sorted(run["dag_run_id"] for run in runs) == sorted(run_id_of(e) for e in events)
    assert {run["conf"]["event_id"] for run in runs} == {e["id"] for e in events}


@pytest.mark.timeout(300)
def test_pending_events_go_within_seconds_of_airflow_return(
    airflow_api: AirflowApi, receiver_factory: Callable[..., RunningReceiver], events_table
) -> None:
    """A 5-minute back-off does not outlast the outage: the forwarder probes Airflow's health endpoint while it
    waits, and sends what is pending within seconds of Airflow answering again."""
    receiver = receiver_factory(airflow_api, RECEIVER_RETRY_INITIAL_SECONDS="300", RECEIVER_RETRY_MAX_SECONDS="300")
    airflow_api.stop()
    try:
        events = [upload_event() for _ in range(3)]
        for event in events:
            assert receiver.post(event).status_code == 200
        wait_until(lambda: events_table()[0]["attempts"] >= 1, what="a failed attempt: the back-off has begun")
    finally:
        airflow_api.start()
    back = time.monotonic()
    rows = wait_until(lambda: all_triggered(events_table, 3), timeout=60, interval=0.2, what="events sent")
    elapsed = time.monotonic() - back
    print(f"pending events sent {elapsed:.1f} s after Airflow's health endpoint answered again")
    assert elapsed < 10, f"{elapsed:.1f} s"
    assert sorted(row["dag_run_id"] for row in rows) == sorted(run_id_of(e) for e in events)
    assert any(line.get("msg") == "Airflow answers again" for line in receiver.logs())


def test_airflow_refusing_the_receiver_keeps_the_whole_back_off(
    airflow_api: AirflowApi, receiver_factory: Callable[..., RunningReceiver], events_table
) -> None:
    """Airflow up but refusing (here: a wrong password) is no outage: its health check answering does not cut the
    wait short, so a misconfigured receiver does not hammer Airflow."""
    receiver = receiver_factory(airflow_api, AIRFLOW_WEBHOOK_PASSWORD="wrong", RECEIVER_RETRY_INITIAL_SECONDS="30")
    assert receiver.post(upload_event()).status_code == 200
    wait_until(lambda: events_table()[0]["attempts"] >= 1, what="the refused attempt")
    time.sleep(5)
    [row] = events_table()
    assert row["status"] == "pending" and row["attempts"] == 1 and "box_webhook" in row["last_error"]


def _upload(client: Any, folder_id: str, name: str, data: bytes) -> Any:
    return client.uploads.upload_file(
        UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(id=folder_id)),
        io.BytesIO(data), content_md_5=hashlib.sha1(data).hexdigest(),
    ).entries[0]


def test_agency_upload_end_to_end(
    airflow_api: AirflowApi, sandbox: RunningSandbox, receiver_factory: Callable[..., RunningReceiver],
    events_table,
) -> None:
    settings = sandbox.settings
    receiver = receiver_factory(
        airflow_api,
        BOX_WEBHOOK_PRIMARY_KEY=settings.box_webhook_primary_key,
        BOX_WEBHOOK_SECONDARY_KEY=settings.box_webhook_secondary_key,
        BOX_SERVICE_ACCOUNT_USER_ID=settings.box_service_account_user_id,
    )
    service = ccg_client(settings, sandbox.endpoints)
    root = service.folders.create_folder(f"Ferrero-{uuid.uuid4().hex[:8]}", CreateFolderParent(id="0")).id
    # the admin command registers Box's webhook on the root folder, with the product's Box connection
    register_env = {**receiver.env, "BOX_ROOT_FOLDER_ID": root,
                    "AIRFLOW_CONN_BOX_DEFAULT": product_connections(sandbox.data_dir)["AIRFLOW_CONN_BOX_DEFAULT"]}
    # an older install's webhook (uploads only) is replaced by one with every trigger the receiver handles
    service.webhooks.create_webhook(CreateWebhookTarget(id=root, type=CreateWebhookTargetTypeField.FOLDER),
                                    receiver.webhook_url, [CreateWebhookTriggers.FILE_UPLOADED])
    outcomes = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "receiver", "register-webhook", "--address",
                               receiver.webhook_url], env=register_env, cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        outcomes.append(json.loads(done.stdout))
    assert [o["outcome"] for o in outcomes] == ["replaced", "exists"]
    hook = service.webhooks.get_webhook_by_id(outcomes[0]["webhook_id"])
    assert (hook.target.id, hook.address) == (root, receiver.webhook_url)
    assert {getattr(t, "value", t) for t in hook.triggers} == set(WEBHOOK_TRIGGERS)
    try:
        campaign = service.folders.create_folder("CMP-2026-001 Spring", CreateFolderParent(id=root)).id
        masters = service.folders.create_folder("Masters", CreateFolderParent(id=campaign)).id
        derivatives = service.folders.create_folder("Derivatives", CreateFolderParent(id=campaign)).id
        master = _upload(service, masters, "K7M2QX_Nutella_Breakfast_video.mp4", b"master bytes")
        agency = ccg_client(settings, sandbox.endpoints, user_id=settings.box_agency_user_id)
        derivative = _upload(agency, derivatives, "K7M2QX_Nutella_Breakfast_video_IT_v01.mp4", b"derivative")

        run_id = dag_run_id_for(derivative.id, derivative.file_version.id, derivative.name)
        run = wait_until(lambda: run_of(airflow_api, run_id), what=f"DAG run {run_id}")
        assert run["state"] == "queued"
        assert run["conf"]["box_file_id"] == derivative.id
        assert run["conf"]["box_file_version_id"] == derivative.file_version.id
        assert run["conf"]["file_name"] == "K7M2QX_Nutella_Breakfast_video_IT_v01.mp4"

        # the receiver is down when the next derivative lands: Box's redeliveries bring it in afterwards
        receiver.stop()
        late = _upload(agency, derivatives, "K7M2QX_Nutella_Breakfast_video_DE_CH_v01.mp4", b"derivative 2")
        receiver.start()
        late_run_id = dag_run_id_for(late.id, late.file_version.id, late.name)
        wait_until(lambda: run_of(airflow_api, late_run_id), timeout=30, what=f"DAG run {late_run_id}")

        stored = wait_until(lambda: len(events_table()) == 3 and events_table(), what="three events stored")
        rows = {row["box_file_id"]: row for row in stored}
        assert rows[master.id]["status"] == "ignored"
        assert rows[master.id]["ignore_reason"] == "uploaded by the service account"
        assert rows[derivative.id]["status"] == "triggered" and rows[derivative.id]["dag_run_id"] == run_id
        assert rows[derivative.id]["event_id"] == run["conf"]["event_id"]
        wait_until(lambda: all_triggered(lambda: [r for r in events_table() if r["status"] != "ignored"], 2),
                   what="both derivatives triggered")
        assert len(runs_for(airflow_api, {run_id, late_run_id})) == 2

        # a rename (no new version) is a run of its own: its run id names the file as it is now
        renamed = agency.files.update_file_by_id(late.id, name="K7M2QX_Nutella_Breakfast_video_DE_AT_v01.mp4")
        renamed_run_id = dag_run_id_for(late.id, late.file_version.id, renamed.name)
        run = wait_until(lambda: run_of(airflow_api, renamed_run_id), timeout=30, what=f"DAG run {renamed_run_id}")
        assert (run["conf"]["box_file_version_id"], run["conf"]["file_name"]) == (late.file_version.id, renamed.name)
        assert [r["trigger"] for r in events_table() if r["box_file_id"] == late.id] == ["FILE.UPLOADED",
                                                                                         "FILE.RENAMED"]
    finally:
        service.webhooks.delete_webhook_by_id(hook.id)


def test_webhook_deleted_starts_the_reconciliation_at_once(
    airflow_api: AirflowApi, receiver_factory: Callable[..., RunningReceiver], events_table
) -> None:
    """Box dropped our webhook (auto_cleanup): the delivery is stored and starts ``derivatives_sweep`` (which
    re-creates the webhook) at once, once however often Box sends it."""
    receiver = receiver_factory(airflow_api)
    deleted = {"type": "webhook_event", "id": str(uuid.uuid4()), "created_at": box_timestamp(),
               "trigger": "WEBHOOK.DELETED", "webhook": {"id": "9001", "type": "webhook"},
               "created_by": {"type": "user", "id": "11111"}, "source": {"id": "9001", "type": "webhook"},
               "additional_info": {"reason": "auto_cleanup"}}
    answer = receiver.post(deleted)
    assert answer.status_code == 200 and answer.json()["outcome"] == "stored", answer.text
    assert receiver.post(deleted).json()["outcome"] == "duplicate"
    row = wait_until(lambda: all_triggered(events_table, 1), what="WEBHOOK.DELETED sent")[0]
    assert row["dag_run_id"] == f"webhook_deleted__{deleted['id']}" and row["trigger"] == "WEBHOOK.DELETED"
    runs = [r for r in airflow_api.dag_runs("derivatives_sweep") if r["dag_run_id"] == row["dag_run_id"]]
    assert len(runs) == 1 and runs[0]["state"] == "queued"
    assert runs[0]["conf"] == {"why": "Box sent WEBHOOK.DELETED for webhook 9001 (reason auto_cleanup)",
                               "full": False}
