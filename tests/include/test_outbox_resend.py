"""Re-sending failed outbox messages: only failed ones go back in line, unchanged (same key, so the same
Message-Id / Idempotency-Key), with a fresh round of attempts; a sender reports what it did ("already sent at")."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from include.ferrero.db.outbox import Outbox
from include.ferrero.outbox import (
    DeliveryError,
    DeliveryPolicy,
    OutboxMessage,
    StoredMessage,
    delivery_report,
)


def _message(key: str, campaign: str | None = "c1") -> OutboxMessage:
    return OutboxMessage(key, "email", "upload_failed", {"subject": key, "recipients": ["ops@example.com"]},
                         campaign)


@pytest.fixture
def outbox(tracking_db) -> Outbox:  # noqa: ANN001 - the project's fixture
    with tracking_db.transaction() as cur:
        cur.execute("INSERT INTO campaigns (campaign_id, campaign_number, name, status)"
                    " VALUES ('c1', 'CMP-1', 'One', 'A2')")
    box = Outbox(tracking_db, DeliveryPolicy(max_attempts=2, initial_delay_seconds=0, max_delay_seconds=0))
    box.add([_message("a"), _message("b"), _message("c"), _message("z", campaign=None)])
    return box


def test_only_failed_messages_are_resent_with_their_keys(outbox: Outbox) -> None:
    received: list[str] = []

    def refuse(message: OutboxMessage) -> None:
        raise DeliveryError("Mailgun answered 400", transient=False)

    def accept(message: OutboxMessage) -> None:
        received.append(message.idempotency_key)

    outbox.deliver(["a"], accept)
    outbox.deliver(["b", "c", "z"], refuse)
    assert {k: s.status for k, s in outbox.get("abcz").items()} == {
        "a": "sent", "b": "failed", "c": "failed", "z": "failed"}

    assert outbox.resend_failed(keys=["a", "b"]) == ["b"]  # a was sent: never again
    assert outbox.resend_failed(campaign="CMP-1") == ["c"]  # by number; b is pending already
    assert outbox.resend_failed() == []  # nothing named, nothing re-sent
    states = outbox.get(["b", "c"])
    assert {(s.status, s.attempts, s.last_error) for s in states.values()} == {("pending", 0, "Mailgun answered 400")}

    before = outbox.get(["a", "b", "c"])
    after = outbox.deliver(["a", "b", "c"], accept)
    assert received == [_message(k).idempotency_key for k in "abc"]  # one each, under its first key
    report = delivery_report(before, after)
    assert "'a' to ops@example.com was already sent at" in report
    assert "'b' to ops@example.com sent at" in report and "'c' to ops@example.com sent at" in report
    assert outbox.get(["z"])["z"].status == "failed"  # of no campaign: only by its key
    assert outbox.resend_failed(keys=["z"]) == ["z"]


def test_report_names_the_time() -> None:
    message = _message("k")
    at = datetime(2026, 12, 6, 13, 5, 7, tzinfo=timezone.utc)
    sent = StoredMessage(message, "sent", 1, sent_at=at)
    assert delivery_report({"k": sent}, {"k": sent}) == (
        "email 'k' to ops@example.com was already sent at 2026-12-06 13:05:07 UTC: not sent again")
    assert delivery_report({}, {"k": sent}) == "email 'k' to ops@example.com sent at 2026-12-06 13:05:07 UTC"
