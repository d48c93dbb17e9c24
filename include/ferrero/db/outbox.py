"""The transactional outbox in the tracking database (table ``outbox_messages``).

Facts insert their messages with :func:`add` inside their own transaction. :meth:`Outbox.deliver` claims one due
message at a time (``FOR UPDATE SKIP LOCKED``), sends it and marks it in that same transaction: nothing is
committed between the claim and the mark, so a process that dies mid-send leaves the message pending (its row
lock goes with its connection) and a concurrent sender never takes a message being sent.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import psycopg2.extras

from include.ferrero.outbox import DeliveryError, DeliveryPolicy, OutboxMessage, StoredMessage

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from psycopg2.extensions import cursor as PgCursor

    from include.ferrero.db.tracking import TrackingDb

PENDING, SENT, FAILED = "pending", "sent", "failed"


def add(cur: PgCursor, messages: Iterable[OutboxMessage]) -> None:
    """Insert ``messages`` in the caller's transaction; a key already present is left as it is."""
    for m in messages:
        cur.execute(
            "INSERT INTO outbox_messages (message_key, channel, target, campaign_id, body)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (message_key) DO NOTHING",
            (m.key, m.channel, m.target, m.campaign_id, psycopg2.extras.Json(m.body)),
        )


def _stored(row: dict[str, Any]) -> StoredMessage:
    message = OutboxMessage(row["message_key"], row["channel"], row["target"], row["body"], row["campaign_id"])
    return StoredMessage(message, row["status"], row["attempts"], row["last_error"], row.get("sent_at"))


class Outbox:
    """Delivery of the outbox's messages on a :class:`TrackingDb`."""

    def __init__(self, db: TrackingDb, policy: DeliveryPolicy | None = None) -> None:
        self.db = db
        self.policy = policy or DeliveryPolicy()

    def add(self, messages: Iterable[OutboxMessage]) -> None:
        """Insert messages whose fact is the message itself (e.g. a run's failure report)."""
        with self.db.transaction() as cur:
            add(cur, messages)

    def get(self, keys: Iterable[str]) -> dict[str, StoredMessage]:
        with self.db.transaction() as cur:
            cur.execute("SELECT * FROM outbox_messages WHERE message_key = ANY(%s)", (list(keys),))
            return {row["message_key"]: _stored(row) for row in cur.fetchall()}

    def of_campaign(self, campaign_id: str) -> list[StoredMessage]:
        with self.db.transaction() as cur:
            cur.execute("SELECT * FROM outbox_messages WHERE campaign_id = %s ORDER BY id", (campaign_id,))
            return [_stored(row) for row in cur.fetchall()]

    def resend_failed(self, *, keys: list[str] | None = None, campaign: str | None = None) -> list[str]:
        """Put failed messages back in line, unchanged (same key, same body, so the same ``Idempotency-Key`` /
        ``Message-Id``), with a fresh round of attempts: the messages ``keys``, or every failed message of
        ``campaign`` (its DAM id or number). Sent and pending messages are left alone, so a message already
        delivered is never sent again. Returns the keys put back."""
        if keys is None and campaign is None:
            return []
        where: list[str] = []
        args: list[object] = []
        if keys is not None:
            where.append("message_key = ANY(%s)")
            args.append(list(keys))
        if campaign is not None:
            where.append("campaign_id IN (SELECT campaign_id FROM campaigns WHERE campaign_id = %s"
                         " OR campaign_number = %s UNION SELECT %s)")
            args += [campaign, campaign, campaign]
        with self.db.transaction() as cur:
            cur.execute("UPDATE outbox_messages SET status = 'pending', attempts = 0, next_attempt_at = now()"
                        f" WHERE status = 'failed' AND {' AND '.join(where)} RETURNING message_key",  # noqa: S608
                        args)
            return sorted(row["message_key"] for row in cur.fetchall())

    def deliver_one(self, send: Callable[[OutboxMessage], None], keys: list[str] | None = None) -> StoredMessage | None:
        """Claim one due message (of ``keys`` when given), send it, mark it; None when nothing is due."""
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT * FROM outbox_messages WHERE status = 'pending' AND next_attempt_at <= now()"
                + (" AND message_key = ANY(%s)" if keys is not None else "")
                + " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
                (keys,) if keys is not None else (),
            )
            row = cur.fetchone()
            if row is None:
                return None
            stored = _stored(row)
            attempts = stored.attempts + 1
            try:
                send(stored.message)
            except Exception as exc:  # noqa: BLE001 - whatever the sender raised is recorded on the message
                transient = isinstance(exc, DeliveryError) and exc.transient
                final = not transient or attempts >= self.policy.attempts_for(stored.message)
                cur.execute(
                    "UPDATE outbox_messages SET attempts = %s, last_error = %s, status = %s,"
                    " next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
                    (attempts, str(exc), FAILED if final else PENDING, self.policy.delay_after(attempts), row["id"]),
                )
                return StoredMessage(stored.message, FAILED if final else PENDING, attempts, str(exc))
            cur.execute("UPDATE outbox_messages SET attempts = %s, status = 'sent', sent_at = now(), last_error = NULL"
                        " WHERE id = %s RETURNING sent_at", (attempts, row["id"]))
            return StoredMessage(stored.message, SENT, attempts, sent_at=cur.fetchone()["sent_at"])

    def deliver_due(self, send: Callable[[OutboxMessage], None], limit: int = 1000) -> list[StoredMessage]:
        """Send every message that is due now (at most ``limit``), one claim at a time."""
        done: list[StoredMessage] = []
        while len(done) < limit:
            result = self.deliver_one(send)
            if result is None:
                break
            done.append(result)
        return done

    def deliver(self, keys: list[str], send: Callable[[OutboxMessage], None], *,
                timeout_seconds: float = 600, poll_seconds: float = 0.5) -> dict[str, StoredMessage]:
        """Bring ``keys`` to a final state (sent or failed), waiting out backoffs and other senders' claims up to
        ``timeout_seconds``; return their states (keys without a message are absent: nothing to send)."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            while self.deliver_one(send, keys) is not None:
                pass
            states = self.get(keys)
            if all(s.status != PENDING for s in states.values()) or time.monotonic() >= deadline:
                return states
            time.sleep(poll_seconds)
