"""The forwarder: a background thread that sends pending events to Airflow, oldest first.

It wakes up when the webhook endpoint stores a new event, and every ``poll_seconds`` anyway (events stored by
another process, a replay, or left pending by a previous run of the receiver are sent on start). When Airflow
cannot take an event it waits ``retry_initial_seconds``, doubling up to ``retry_max_seconds``, and tries again; the
events stay ``pending`` in the database meanwhile. When Airflow is down (no answer, or 502/503/504) that wait ends
as soon as its health endpoint answers again (probed every ``probe_seconds``): an outage costs seconds after its
end. When Airflow answers but refuses (auth, DAG missing, 429, 500) the whole wait is kept. Each event's run id
comes from its Box file and version, so sending an event twice (a crash between trigger and mark, a replay) finds
the run already there (409) and starts nothing.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any

import psycopg2

from include.ferrero.box_webhooks import WEBHOOK_DELETED, dag_run_id_for
from receiver.airflow_api import AirflowUnavailable, TriggerRejected

if TYPE_CHECKING:
    from collections.abc import Callable

    from include.ferrero.db.webhook_events import WebhookEvents
    from receiver.airflow_api import AirflowClient, TriggerResult

log = logging.getLogger("receiver.forwarder")
#: The DAG that checks and re-creates the Box webhook and reconciles uploads (``dags/derivatives_sweep.py``).
RECONCILIATION_DAG = "derivatives_sweep"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.~:+-]")


def conf_of(event: dict[str, Any]) -> dict[str, Any]:
    """The A2->A3 DAG's params for a stored event."""
    return {
        "box_file_id": event["box_file_id"],
        "box_file_version_id": event["box_file_version_id"],
        "file_name": event["file_name"],
        "event_id": event["event_id"],
    }


def webhook_deleted_run(event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The reconciliation run a ``WEBHOOK.DELETED`` starts (it re-creates the webhook): run id and conf."""
    payload = event.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    info = payload.get("additional_info")
    reason = info.get("reason") if isinstance(info, dict) else None
    webhook = payload.get("webhook")
    webhook = webhook if isinstance(webhook, dict) else {}
    why = f"Box sent WEBHOOK.DELETED for webhook {webhook.get('id', '?')}" + (f" (reason {reason})" if reason else "")
    return f"webhook_deleted__{_UNSAFE.sub('-', str(event['event_id']))[:100]}", {"why": why, "full": False}


def send(events: WebhookEvents, airflow: AirflowClient, dag_id: str, event: dict[str, Any]) -> TriggerResult | None:
    """Trigger one stored event's run and record the outcome; None when Airflow refused it for good.

    A file event starts ``dag_id`` (A2->A3) for its file version; a ``WEBHOOK.DELETED`` starts the
    reconciliation (:data:`RECONCILIATION_DAG`) at once. Raises :class:`AirflowUnavailable` (after counting the
    attempt) when Airflow cannot take it now.
    """
    if event.get("trigger") == WEBHOOK_DELETED:
        dag_id, (run_id, conf) = RECONCILIATION_DAG, webhook_deleted_run(event)
    else:
        run_id, conf = dag_run_id_for(event["box_file_id"], event["box_file_version_id"], event["file_name"]), \
            conf_of(event)
    fields = {"event_id": event["event_id"], "file": event["file_name"], "box_file_id": event["box_file_id"],
              "dag_run_id": run_id}
    try:
        result = airflow.trigger(dag_id, run_id, conf, note=f"Box event {event['event_id']}")
    except TriggerRejected as exc:
        events.mark_failed(event["event_id"], str(exc))
        log.error("event refused by Airflow", extra={"fields": {**fields, "outcome": "failed", "error": str(exc)}})
        return None
    except AirflowUnavailable as exc:
        events.record_attempt_error(event["event_id"], str(exc))
        raise
    events.mark_triggered(event["event_id"], run_id)
    outcome = "triggered" if result.created else "already-triggered"
    log.info("event sent to Airflow", extra={"fields": {**fields, "outcome": outcome}})
    return result


class Forwarder:
    def __init__(
        self,
        events_factory: Callable[[], WebhookEvents],
        airflow: AirflowClient,
        dag_id: str,
        *,
        retry_initial_seconds: float = 1.0,
        retry_max_seconds: float = 60.0,
        poll_seconds: float = 30.0,
        probe_seconds: float = 1.0,
        batch_size: int = 50,
    ) -> None:
        self._events_factory = events_factory
        self._airflow = airflow
        self._dag_id = dag_id
        self._initial = retry_initial_seconds
        self._max = retry_max_seconds
        self._poll = poll_seconds
        self._probe = probe_seconds
        self._batch = batch_size
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="forwarder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """A new pending event is stored: send it now (unless we are waiting for Airflow to come back)."""
        self._wake.set()

    def _run(self) -> None:
        events = self._events_factory()
        delay = self._initial
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._drain(events)
            except AirflowUnavailable as exc:
                log.warning("Airflow unavailable; events stay pending",
                            extra={"fields": {"error": str(exc), "retry_in_seconds": delay}})
                # a new event does not cut the wait short (Airflow is the problem); Airflow's return does
                self._back_off(delay, until_healthy=exc.down)
                delay = min(delay * 2, self._max)
                continue
            except psycopg2.Error as exc:
                log.error("tracking database unavailable", extra={"fields": {"error": str(exc).strip()[:300]}})
                events.db.close()
                self._stop.wait(delay)
                delay = min(delay * 2, self._max)
                continue
            except Exception:
                log.exception("forwarder error")
                self._stop.wait(delay)
                delay = min(delay * 2, self._max)
                continue
            delay = self._initial
            self._wake.wait(self._poll)
        events.db.close()

    def _back_off(self, delay: float, *, until_healthy: bool) -> None:
        """Wait ``delay`` seconds; with ``until_healthy``, only until Airflow's health endpoint answers again."""
        if not until_healthy:
            self._stop.wait(delay)
            return
        start = time.monotonic()
        while (left := start + delay - time.monotonic()) > 0:
            if self._stop.wait(min(self._probe, left)):
                return
            if self._airflow.healthy():
                waited = round(time.monotonic() - start, 1)
                log.info("Airflow answers again", extra={"fields": {"waited_seconds": waited}})
                return

    def _drain(self, events: WebhookEvents) -> None:
        while not self._stop.is_set():
            batch = events.pending(limit=self._batch)
            if not batch:
                return
            for event in batch:
                if self._stop.is_set():
                    return
                send(events, self._airflow, self._dag_id, event)
