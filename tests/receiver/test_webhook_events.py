"""Data access of ``box_webhook_events`` (include/ferrero/db/webhook_events.py), payload classification and the
receiver's settings parsing, on a fresh tracking database."""

from __future__ import annotations

import json
import re

import pytest

from include.ferrero.box_webhooks import dag_run_id_for
from include.ferrero.db.webhook_events import WebhookEvent, WebhookEvents, storable
from receiver.settings import SettingsError, tracking_db_kwargs
from receiver.webhook_body import PayloadError, classify
from tests.receiver.conftest import SERVICE_ACCOUNT, upload_event


def _event(payload: dict) -> WebhookEvent:
    return classify(payload, delivery_id="d-1", derivatives_folder_name="Derivatives",
                    service_account_user_id=SERVICE_ACCOUNT)


def test_record_is_idempotent_by_event_id(tracking_db) -> None:
    events = WebhookEvents(tracking_db)
    payload = upload_event()
    row, created = events.record(_event(payload))
    assert created and row["status"] == "pending" and row["attempts"] == 0
    again, created_again = events.record(_event({**payload, "created_at": "later"}))
    assert not created_again and again["id"] == row["id"] and again["payload"] == payload
    assert events.count_pending() == 1 and [r["event_id"] for r in events.pending()] == [payload["id"]]


def test_nul_and_lone_surrogates_are_stored_as_replacement_characters(tracking_db) -> None:
    payload = upload_event(name="a\x00b.mp4")
    payload["additional_info"] = [{"k\x00": "\ud800"}, "\udfff\U0001f600", 1.5, None, True]
    row, created = WebhookEvents(tracking_db).record(_event(payload))  # PostgreSQL refuses both as they are
    assert created and row["file_name"] == "a\ufffdb.mp4"
    assert row["payload"]["additional_info"] == [{"k\ufffd": "\ufffd"}, "\ufffd\U0001f600", 1.5, None, True]
    assert row["payload"] == storable(payload) and storable(row["payload"]) == row["payload"]


def test_life_cycle(tracking_db) -> None:
    events = WebhookEvents(tracking_db)
    first, second = upload_event(), upload_event()
    ignored = upload_event(created_by=SERVICE_ACCOUNT)
    for payload in (first, second, ignored):
        events.record(_event(payload))
    assert [r["event_id"] for r in events.pending()] == [first["id"], second["id"]]

    events.record_attempt_error(first["id"], "Airflow unreachable")
    events.record_attempt_error(first["id"], "Airflow unreachable")
    row = events.get(first["id"])
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 2, "Airflow unreachable")

    run_id = dag_run_id_for(first["source"]["id"], first["source"]["file_version"]["id"])
    events.mark_triggered(first["id"], run_id)
    row = events.get(first["id"])
    assert (row["status"], row["attempts"], row["last_error"], row["dag_run_id"]) == ("triggered", 3, None, run_id)
    assert row["triggered_at"] is not None

    events.mark_failed(second["id"], "Airflow refused run: 400 Invalid input for param")
    assert events.get(second["id"])["status"] == "failed" and events.count_pending() == 0

    assert events.requeue(second["id"]) and events.get(second["id"])["status"] == "pending"
    assert not events.requeue(ignored["id"]) and not events.requeue("unknown")
    events.mark_triggered(ignored["id"], "box_x_vy")  # never for an ignored event
    assert events.get(ignored["id"])["status"] == "ignored"


def test_dag_run_id_is_one_per_file_version() -> None:
    assert dag_run_id_for("123", "456") == "box_123_v456"
    assert dag_run_id_for("12 3", "4/5") == "box_12-3_v4-5"  # only characters Airflow accepts in a run id
    assert dag_run_id_for("123", "456", "K7M2QX_Nutella Breakfast_v01.mp4") == (
        "box_123_v456__K7M2QX_Nutella-Breakfast_v01.mp4"), "the file name, for the grid and the run search"


def test_classification_and_bad_payloads() -> None:
    event = _event(upload_event(name="K7M2QX_Nutella_Breakfast_video_IT_v01.mp4"))
    assert event.status == "pending" and event.delivery_id == "d-1"
    folder_source = upload_event()
    folder_source["source"]["type"] = "folder"
    assert _event(folder_source).ignore_reason == "the source is a folder, not a file"
    no_version = upload_event()
    del no_version["source"]["file_version"]
    assert _event(no_version).ignore_reason == "the event has no file version id"
    for bad in ([], {"trigger": "FILE.UPLOADED"}, {"id": ""}):
        with pytest.raises(PayloadError):
            _event(bad)


def test_tracking_connection_forms() -> None:
    as_json = json.dumps({"conn_type": "postgres", "host": "/tmp/sock", "login": "postgres", "schema": "tracking",
                          "port": 5433, "password": "pw", "extra": {"sslmode": "disable", "other": "x"}})
    assert tracking_db_kwargs(as_json) == {"host": "/tmp/sock", "port": 5433, "user": "postgres", "password": "pw",
                                           "dbname": "tracking", "sslmode": "disable", "other": "x"}
    assert tracking_db_kwargs("postgres://u:p@db:5432/tracking") == {"host": "db", "port": 5432, "user": "u",
                                                                     "password": "p", "dbname": "tracking"}
    for bad, sentence in (("", "AIRFLOW_CONN_TRACKING_DB must be set (the tracking database connection)"),
                          ("{not json", "AIRFLOW_CONN_TRACKING_DB is not valid JSON"),
                          ("mysql://u@h/db",
                           "AIRFLOW_CONN_TRACKING_DB must be a postgres connection (JSON or postgres:// URI)")):
        with pytest.raises(SettingsError, match=re.escape(sentence)):
            tracking_db_kwargs(bad)
