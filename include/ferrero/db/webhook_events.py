"""Box webhook events in the tracking database (table ``box_webhook_events``): what the receiver stores before
answering Box, and what its forwarder does with each event.

An event is keyed by Box's event id, which stays the same across Box's redeliveries, so a redelivery is stored
once. Life cycle: ``pending`` (to be sent to Airflow) -> ``triggered`` (a DAG run exists, ``dag_run_id``), or
``failed`` (Airflow refused the run for good; ``last_error`` says why); ``ignored`` events (``ignore_reason``)
are kept for the record and never sent. The DAG run id comes from :func:`include.ferrero.box_webhooks.dag_run_id_for`, one per Box file
version, so every path that starts the A2->A3 DAG for a file (webhook, replay, sweep) lands on the same run.

PostgreSQL refuses two things JSON and Python strings can hold: NUL (``\\u0000``, in TEXT and JSONB alike) and
lone UTF-16 surrogates (``\\ud800``). :func:`storable` replaces each with U+FFFD (the Unicode replacement
character) in keys and values, so every event can be stored; :meth:`WebhookEvents.record` applies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg2.extras

if TYPE_CHECKING:
    from include.ferrero.db.tracking import TrackingDb

PENDING, TRIGGERED, IGNORED, FAILED = "pending", "triggered", "ignored", "failed"

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(value: Any) -> Any:
    """``value`` (JSON: dict, list, str, number, bool, None) with NUL and lone surrogates replaced by U+FFFD.

    Recursive: callers bound the nesting depth (the receiver refuses deep bodies before parsing them)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


@dataclass
class WebhookEvent:
    """One received Box event, as the receiver classified it (``ignore_reason`` set means ``ignored``)."""

    event_id: str
    trigger: str
    payload: dict[str, Any]
    delivery_id: str | None = None
    box_file_id: str | None = None
    box_file_version_id: str | None = None
    file_name: str | None = None
    parent_folder_id: str | None = None
    created_by_id: str | None = None
    ignore_reason: str | None = None

    @property
    def status(self) -> str:
        return IGNORED if self.ignore_reason else PENDING


class WebhookEvents:
    """Data access for ``box_webhook_events`` on a :class:`TrackingDb` (one transaction per call)."""

    def __init__(self, db: TrackingDb) -> None:
        self.db = db

    def record(self, event: WebhookEvent) -> tuple[dict[str, Any], bool]:
        """Store the event unless its id is already known; return (its row, whether this call stored it)."""
        with self.db.transaction() as cur:
            cur.execute(
                """
                INSERT INTO box_webhook_events
                    (event_id, delivery_id, trigger, box_file_id, box_file_version_id, file_name,
                     parent_folder_id, created_by_id, payload, status, ignore_reason)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (event_id) DO NOTHING
                RETURNING *
                """,
                [*map(storable, (event.event_id, event.delivery_id, event.trigger, event.box_file_id,
                                 event.box_file_version_id, event.file_name, event.parent_folder_id,
                                 event.created_by_id)),
                 psycopg2.extras.Json(storable(event.payload)), event.status, storable(event.ignore_reason)],
            )
            row = cur.fetchone()
            if row is not None:
                return dict(row), True
            cur.execute("SELECT * FROM box_webhook_events WHERE event_id = %s", (storable(event.event_id),))
            return dict(cur.fetchone()), False

    def get(self, event_id: str) -> dict[str, Any] | None:
        with self.db.transaction() as cur:
            cur.execute("SELECT * FROM box_webhook_events WHERE event_id = %s", (event_id,))
            row = cur.fetchone()
        return dict(row) if row else None

    def pending(self, limit: int = 50) -> list[dict[str, Any]]:
        """The oldest events still to be sent to Airflow."""
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT * FROM box_webhook_events WHERE status = 'pending' ORDER BY id LIMIT %s", (limit,)
            )
            return [dict(row) for row in cur.fetchall()]

    def count_pending(self) -> int:
        with self.db.transaction() as cur:
            cur.execute("SELECT count(*) AS n FROM box_webhook_events WHERE status = 'pending'")
            return int(cur.fetchone()["n"])

    def mark_triggered(self, event_id: str, dag_run_id: str) -> None:
        """The event's DAG run exists (created now, or found already there)."""
        with self.db.transaction() as cur:
            cur.execute(
                """
                UPDATE box_webhook_events
                   SET status = 'triggered', dag_run_id = %s, attempts = attempts + 1, last_error = NULL,
                       triggered_at = COALESCE(triggered_at, now())
                 WHERE event_id = %s AND status <> 'ignored'
                """,
                (dag_run_id, event_id),
            )

    def record_attempt_error(self, event_id: str, error: str) -> None:
        """A send that failed for a passing reason (Airflow down, 5xx): the event stays pending."""
        self._record_error(event_id, error, "pending")

    def mark_failed(self, event_id: str, error: str) -> None:
        """Airflow refused the run for good (e.g. its conf); a replay may send it again after a fix."""
        self._record_error(event_id, error, "failed")

    def _record_error(self, event_id: str, error: str, status: str) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE box_webhook_events SET status = %s, attempts = attempts + 1, last_error = %s"
                " WHERE event_id = %s AND status = 'pending'",
                (status, error[:2000], event_id),
            )

    def requeue(self, event_id: str) -> bool:
        """Make a triggered or failed event pending again (replay); False when unknown or ignored."""
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE box_webhook_events SET status = 'pending', last_error = NULL"
                " WHERE event_id = %s AND status <> 'ignored'",
                (event_id,),
            )
            return bool(cur.rowcount == 1)
