"""The receiver's webhook endpoint over real sockets: Box's signature rules, refused requests, durable and
deduplicated storage, ignored events, health. Airflow is not running here (events stay pending)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest
import requests
from box_sdk_gen import WebhooksManager

from receiver import signature
from tests.receiver.conftest import (
    PRIMARY_KEY,
    SECONDARY_KEY,
    SERVICE_ACCOUNT,
    box_timestamp,
    signed_headers,
    upload_event,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.receiver.conftest import RunningReceiver

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def receiver(receiver_factory: Callable[..., RunningReceiver]) -> RunningReceiver:
    return receiver_factory()


def test_signature_matches_the_sdk_test_vector() -> None:
    body = (b'{"type":"webhook_event","webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED",'
            b'"source":{"id":"1234567890","type":"file","name":"Test.txt"}}')
    timestamp = "2020-01-01T00:00:00-07:00"
    assert signature.compute(body, timestamp, "SamplePrimaryKey") == "6TfeAW3A1PASkgboxxA5yqHNKOwFyMWuEXny/FPD5hI="
    headers = {k.lower(): v for k, v in signed_headers(body, timestamp=box_timestamp(-5)).items()}
    assert signature.check(body, headers, PRIMARY_KEY, SECONDARY_KEY) is None
    assert WebhooksManager.validate_message(body.decode(), headers, PRIMARY_KEY, secondary_key=SECONDARY_KEY)


def test_accepted_with_either_key_and_stored_before_the_answer(receiver: RunningReceiver, events_table) -> None:
    by_primary, by_secondary = upload_event(), upload_event(name="K7M2QX_Nutella_Breakfast_video_DE_CH_v01.mp4")
    answer = receiver.post(by_primary, secondary=None)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"event_id": by_primary["id"], "status": "pending", "outcome": "stored", "queued": True}
    assert [row["event_id"] for row in events_table()] == [by_primary["id"]]  # committed before the 200

    answer = receiver.post(by_secondary, primary="not-our-key")
    assert answer.status_code == 200, answer.text
    rows = events_table()
    assert [row["event_id"] for row in rows] == [by_primary["id"], by_secondary["id"]]
    second = rows[1]
    assert second["status"] == "pending" and second["trigger"] == "FILE.UPLOADED"
    assert (second["box_file_id"], second["box_file_version_id"], second["file_name"]) == (
        by_secondary["source"]["id"], by_secondary["source"]["file_version"]["id"], by_secondary["source"]["name"])
    assert second["parent_folder_id"] == by_secondary["source"]["parent"]["id"]
    assert second["payload"] == by_secondary and second["delivery_id"]


def test_refused_deliveries_get_401_and_are_logged_without_body(receiver: RunningReceiver, events_table) -> None:
    marker = f"SECRET-BODY-{uuid.uuid4().hex}"
    body = json.dumps(upload_event(name=f"{marker}.mp4")).encode()
    good = signed_headers(body)
    cases = {
        "bad signature": signed_headers(body, primary="wrong", secondary="also-wrong"),
        "stale timestamp": signed_headers(body, timestamp=box_timestamp(-601)),
        "future timestamp": signed_headers(body, timestamp=box_timestamp(+120)),
        "no timestamp": {k: v for k, v in good.items() if k != "BOX-DELIVERY-TIMESTAMP"},
        "no signatures": {k: v for k, v in good.items() if not k.startswith("BOX-SIGNATURE-P")
                          and not k.startswith("BOX-SIGNATURE-S")},
        "no version": {k: v for k, v in good.items() if k != "BOX-SIGNATURE-VERSION"},
        "wrong version": signed_headers(body, version="2"),
        "wrong algorithm": signed_headers(body, algorithm="HmacSHA1"),
        "unreadable timestamp": {**good, "BOX-DELIVERY-TIMESTAMP": "yesterday"},
        "timestamp not the signed one": {**good, "BOX-DELIVERY-TIMESTAMP": box_timestamp(-1)},
    }
    if good["BOX-DELIVERY-TIMESTAMP"] == cases["timestamp not the signed one"]["BOX-DELIVERY-TIMESTAMP"]:
        cases.pop("timestamp not the signed one")
    for case, headers in cases.items():
        answer = receiver.post(body, headers=headers)
        assert answer.status_code == 401, f"{case}: {answer.status_code} {answer.text}"
    tampered = body.replace(marker.encode(), b"X" + marker.encode()[1:])
    assert receiver.post(tampered, headers=good).status_code == 401

    assert events_table() == []
    refusals = [line for line in receiver.logs() if line.get("outcome") == "unauthorized"]
    assert len(refusals) == len(cases) + 1
    assert {line["status"] for line in refusals} == {401}
    assert any("old" in line["reason"] for line in refusals) and any("future" in line["reason"] for line in refusals)
    log_text = receiver.log_path.read_text()
    assert marker not in log_text and PRIMARY_KEY not in log_text and SECONDARY_KEY not in log_text


def test_small_future_skew_is_tolerated(receiver: RunningReceiver, events_table) -> None:
    event = upload_event()
    assert receiver.post(event, timestamp=box_timestamp(+signature.FUTURE_SKEW_SECONDS - 10)).status_code == 200
    assert len(events_table()) == 1


def test_non_json_and_oversized_bodies(receiver: RunningReceiver, events_table) -> None:
    assert receiver.post(b"this is not json").status_code == 400
    assert receiver.post(b'["a", "list"]').status_code == 400
    assert receiver.post(json.dumps({"type": "webhook_event", "trigger": "FILE.UPLOADED"}).encode()).status_code == 400
    event = upload_event()
    event["padding"] = "x" * (1024 * 1024)  # webhook.max_body_bytes is 1 MiB
    oversized = json.dumps(event).encode()
    assert receiver.post(oversized).status_code == 413
    # without a Content-Length (chunked), the limit holds while reading
    answer = requests.post(receiver.webhook_url, data=iter([oversized[i:i + 65536]
                                                          for i in range(0, len(oversized), 65536)]),
                           headers=signed_headers(oversized), timeout=10)
    assert answer.status_code == 413
    assert events_table() == []


def test_redelivery_is_stored_once(receiver: RunningReceiver, events_table) -> None:
    event = upload_event()
    first = receiver.post(event, timestamp=box_timestamp(-30))
    again = receiver.post(event)  # Box's retry: same body and event id, new delivery id and timestamp
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["outcome"], again.json()["outcome"]) == ("stored", "duplicate")
    rows = events_table()
    assert len(rows) == 1 and rows[0]["event_id"] == event["id"]


def test_events_outside_derivatives_or_by_the_service_account_are_ignored(
    receiver: RunningReceiver, events_table
) -> None:
    master = upload_event(folders=("All Files", "Ferrero", "CMP-2026-001 Spring", "Masters"),
                          created_by=SERVICE_ACCOUNT)
    elsewhere = upload_event(folders=("All Files", "Ferrero", "CMP-2026-001 Spring", "Drafts"))
    own_upload = upload_event(created_by=SERVICE_ACCOUNT)
    other_trigger = upload_event(trigger="FILE.DELETED")
    nested = upload_event(folders=("All Files", "Ferrero", "CMP-2026-001 Spring", "derivatives", "IT"))
    for event in (master, elsewhere, own_upload, other_trigger, nested):
        answer = receiver.post(event)
        assert answer.status_code == 200, answer.text
    rows = {row["event_id"]: row for row in events_table()}
    assert rows[nested["id"]]["status"] == "pending"  # inside Derivatives/, any depth, any case
    reasons = {key: rows[event["id"]]["ignore_reason"] for key, event in
               {"master": master, "elsewhere": elsewhere, "own": own_upload, "trigger": other_trigger}.items()}
    assert {rows[e["id"]]["status"] for e in (master, elsewhere, own_upload, other_trigger)} == {"ignored"}
    assert reasons["master"] == "uploaded by the service account"
    assert reasons["own"] == "uploaded by the service account"
    assert reasons["elsewhere"] == "not inside a Derivatives folder (uploaded to Drafts)"
    assert reasons["trigger"] == "trigger FILE.DELETED is not a file trigger we watch"
    outcomes = [line["outcome"] for line in receiver.logs() if line.get("msg") == "event received"]
    assert outcomes.count("ignored") == 4 and outcomes.count("stored") == 1


def test_health_reports_database_pending_and_airflow(receiver: RunningReceiver) -> None:
    receiver.post(upload_event())
    health = requests.get(f"{receiver.url}/health", timeout=10)
    assert health.status_code == 200
    assert health.json() == {"status": "degraded", "database": "ok", "pending": 1, "airflow": "unreachable"}
