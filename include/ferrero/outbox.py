"""Outgoing messages as data: what the transactional outbox stores, the keys that make each fact send once, and
the retry policy of the sender. Pure Python: no Airflow, no I/O (storage is :mod:`include.ferrero.db.outbox`).

A message is rendered when its fact is recorded (a status change, a derivative, a failure) and stored under a
deterministic key in the same transaction, so however many runs, retries or clears record the fact, one message
exists. Receivers get the key's stable forms to drop the one repeat the outbox cannot exclude (a send that
succeeded but whose mark died with its process): ``Idempotency-Key`` on webhooks, ``Message-Id`` on emails.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from datetime import datetime

    from include.ferrero.config_model import Config
    from include.ferrero.messages import Email

EMAIL: Final = "email"
WEBHOOK: Final = "webhook"
STATUS_WEBHOOK = "campaign_status_update"
ASSET_WEBHOOK = "asset_upload_complete"
_NAMESPACE = uuid.UUID("6f1c3c5e-3d0b-4c8e-9a55-1f0e2b7c9d41")  # fixed: keys must stay stable forever


@dataclass(frozen=True)
class OutboxMessage:
    """One message to send: ``target`` is the email template or the webhook's name in ``webhooks.yaml``."""

    key: str
    channel: Literal["email", "webhook"]
    target: str
    body: dict[str, Any]
    campaign_id: str | None = None

    @property
    def idempotency_key(self) -> str:
        """Stable across retries, processes and re-runs: the same fact always carries the same key (a webhook's
        ``Idempotency-Key``, the local part of an email's ``Message-Id``)."""
        return str(uuid.uuid5(_NAMESPACE, self.key))

    @property
    def label(self) -> str:
        """How an operator recognises the message in a log line."""
        if self.channel == EMAIL:
            return f"email {self.body.get('subject', '')!r} to {', '.join(self.body.get('recipients', []))}"
        return f"{self.target} webhook {self.key}"


@dataclass(frozen=True)
class StoredMessage:
    """An outbox row as the sender sees it."""

    message: OutboxMessage
    status: str
    attempts: int
    last_error: str | None = None
    sent_at: datetime | None = None


def delivery_report(before: dict[str, StoredMessage], after: dict[str, StoredMessage]) -> str:
    """What a sender did, in a sentence per message: sent now, or already sent earlier (by a previous run, try
    or the dispatcher)."""
    lines = []
    for key, state in after.items():
        when = f"{state.sent_at:%Y-%m-%d %H:%M:%S %Z}".strip() if state.sent_at else "an unknown time"
        earlier = before.get(key)
        if earlier is not None and earlier.status == "sent":
            lines.append(f"{state.message.label} was already sent at {when}: not sent again")
        else:
            lines.append(f"{state.message.label} sent at {when}")
    return "; ".join(lines) or "nothing to send"


def email_message(key: str, template: str, email: Email, campaign_id: str | None = None) -> OutboxMessage:
    body = {"recipients": list(email.recipients), "subject": email.subject, "html": email.html, "text": email.text}
    return OutboxMessage(key, EMAIL, template, body, campaign_id)


def webhook_message(key: str, name: str, payload: dict[str, Any], campaign_id: str | None = None) -> OutboxMessage:
    return OutboxMessage(key, WEBHOOK, name, {"payload": payload}, campaign_id)


# -- deterministic keys: one per fact and kind of message ---------------------------------------------------------

def flip_key(campaign_id: str, old_status: str, new_status: str, cycle: int, what: str) -> str:
    """A status change's message (``what``: 'status-webhook' or 'email')."""
    return f"flip/{campaign_id}/{old_status}-{new_status}/cycle-{cycle}/{what}"


def derivative_key(box_file_id: str, box_file_version_id: str, what: str) -> str:
    """A Box file version's message ('asset-webhook' when it reached the DAM, 'failed-email' when it did not)."""
    return f"derivative/{box_file_id}/v{box_file_version_id}/{what}"


def run_key(dag_id: str, run_id: str, what: str, *facts: str) -> str:
    """A run's message; ``facts`` (e.g. the failed masters) are part of the fact: the same set, the same key."""
    digest = hashlib.sha256("\n".join(sorted(facts)).encode()).hexdigest()[:16] if facts else "-"
    return f"run/{dag_id}/{run_id}/{what}/{digest}"


def flip_keys(campaign_id: str, old_status: str, new_status: str, cycle: int) -> dict[str, str]:
    return {what: flip_key(campaign_id, old_status, new_status, cycle, what) for what in ("status-webhook", "email")}


# -- the sender's retry policy --------------------------------------------------------------------------------------

class DeliveryError(Exception):
    """A send that did not go through; ``transient`` ones (429, 5xx, connection) are tried again later."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class DeliveryPolicy:
    """Exponential backoff between attempts; after ``max_attempts`` a transient failure is final too."""

    max_attempts: int = 3
    initial_delay_seconds: float = 5
    max_delay_seconds: float = 60
    overrides: dict[str, int] = field(default_factory=dict)  # per webhook name: its own attempt count

    def attempts_for(self, message: OutboxMessage) -> int:
        return max(1, self.overrides.get(message.target, self.max_attempts))

    def delay_after(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        return float(min(self.max_delay_seconds, self.initial_delay_seconds * (2 ** max(0, attempts - 1))))

    @classmethod
    def from_config(cls, config: Config) -> DeliveryPolicy:
        retry = config.retry
        overrides = {}
        for name, hook in config.webhooks.items():
            overrides[name] = 1 + hook.max_retries if hook.retry_on_failure else 1
        return cls(int(retry.max_attempts), float(retry.initial_delay_seconds), float(retry.max_delay_seconds),
                   overrides)
