"""Outages of the services discovery depends on (table ``service_outages``), recorded with their critical
emails in the same transaction (the outbox): one email when an outage starts, one when it ends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from include.ferrero.db import outbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from include.ferrero.db.tracking import TrackingDb
    from include.ferrero.outbox import OutboxMessage

DOWN, RECOVERED = "down", "recovered"


class OutageStore:
    def __init__(self, db: TrackingDb) -> None:
        self.db = db

    def observe(self, service: str, error: str | None,
                messages: Callable[[str, dict[str, Any]], list[OutboxMessage]]) -> list[str]:
        """Record what a probe of ``service`` saw (``error`` None: reachable). A new outage or the end of one
        inserts ``messages(DOWN | RECOVERED, outage row)``; return their outbox keys (empty: nothing changed)."""
        with self.db.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"outage:{service}",))
            cur.execute("SELECT * FROM service_outages WHERE service = %s AND ended_at IS NULL", (service,))
            open_outage = cur.fetchone()
            if error and open_outage is None:
                cur.execute("INSERT INTO service_outages (service, error) VALUES (%s, %s) RETURNING *",
                            (service, error))
                found = messages(DOWN, dict(cur.fetchone()))
            elif not error and open_outage is not None:
                cur.execute("UPDATE service_outages SET ended_at = now() WHERE id = %s RETURNING *",
                            (open_outage["id"],))
                found = messages(RECOVERED, dict(cur.fetchone()))
            else:
                found = []
            outbox.add(cur, found)
            return [m.key for m in found]
