"""How the product keeps watch on Box: its webhook (read, created, replaced) and the ``changes`` event stream.

Box deletes a V2 webhook by itself (``auto_cleanup``) and may never say so to a receiver that is down, so the
webhook is checked on every reconciliation (:meth:`WatchManager.ensure_webhook`); the event stream (``GET /events``)
is read from a kept ``stream_position`` (:meth:`WatchManager.events_since`), so a reconciliation costs a few calls
whatever the number of files.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from box_sdk_gen import CreateWebhookTarget, CreateWebhookTargetTypeField, CreateWebhookTriggers
from box_sdk_gen.managers.events import GetEventsStreamType

from ferrero_provider.box.client.calls import log
from ferrero_provider.box.exceptions import BoxConflictError
from ferrero_provider.box.models import BoxEvent, BoxWebhook, EventsPage, WebhookCheck

if TYPE_CHECKING:
    from collections.abc import Sequence

    from box_sdk_gen import BoxClient, Webhook, WebhookMini, Webhooks

    from ferrero_provider.box.client.calls import BoxCalls

#: Box answers at most 500 events a call.
EVENTS_LIMIT = 500
CHANGES = "changes"


def _webhooks_page(marker: str | None, client: BoxClient) -> Webhooks:
    return client.webhooks.get_webhooks(marker=marker, limit=200)


def _webhook(webhook_id: str, client: BoxClient) -> Webhook:
    return client.webhooks.get_webhook_by_id(webhook_id)


def _delete_webhook(webhook_id: str, client: BoxClient) -> None:
    client.webhooks.delete_webhook_by_id(webhook_id)


class WatchManager:
    """The app's webhooks and the ``changes`` event stream."""

    def __init__(self, calls: BoxCalls) -> None:
        self.calls = calls

    def list_webhooks(self) -> list[BoxWebhook]:
        """Every webhook of the app (all pages), with its address and triggers (one read per webhook: the
        listing carries only the target)."""
        found: list[WebhookMini] = []
        marker: str | None = None
        while True:
            page: Webhooks = self.calls.call("listing the webhooks", partial(_webhooks_page, marker))
            found += page.entries or []
            marker = page.next_marker
            if not marker:
                break
        return [BoxWebhook.from_sdk(self.calls.call(f"reading webhook {w.id}", partial(_webhook, str(w.id))))
                for w in found]

    def ensure_webhook(self, folder_id: str, address: str, triggers: Sequence[str]) -> WebhookCheck:
        """The webhook on ``folder_id`` to ``address`` with at least ``triggers``: left alone when it is so,
        replaced when it differs (one webhook per folder and app), created when missing."""
        wanted = set(triggers)
        existing = [w for w in self.list_webhooks() if w.folder_id == str(folder_id)]
        for hook in existing:
            if hook.address == address and wanted <= set(hook.triggers):
                return WebhookCheck("exists", hook, hook)
        before = existing[0] if existing else None
        for hook in existing:
            self.calls.call(f"deleting webhook {hook.webhook_id}", partial(_delete_webhook, hook.webhook_id))
        try:
            created = self.calls.call(f"creating the webhook on folder {folder_id}", lambda c: c.webhooks.create_webhook(
                CreateWebhookTarget(id=str(folder_id), type=CreateWebhookTargetTypeField.FOLDER), address,
                [CreateWebhookTriggers(t) for t in sorted(wanted)]))
        except BoxConflictError:  # made meanwhile by a concurrent check
            log.info("Box: the webhook on folder %s was created meanwhile", folder_id)
            return self.ensure_webhook(folder_id, address, triggers)
        log.warning("Box: webhook on folder %s %s -> %s", folder_id, "replaced" if before else "created", address)
        return WebhookCheck("replaced" if before else "created", before, BoxWebhook.from_sdk(created))

    def stream_position_now(self, stream_type: str = CHANGES) -> str:
        """The stream's current end (``stream_position=now``): where a fresh reader starts."""
        page = self.calls.call("reading the event stream's position", lambda c: c.events.get_events(
            stream_type=GetEventsStreamType(stream_type), stream_position="now"))
        return str(page.next_stream_position)

    def events_since(self, position: str, *, stream_type: str = CHANGES, limit: int = EVENTS_LIMIT) -> EventsPage:
        """One chunk of the event stream from ``position``; its ``next_position`` is where the next chunk starts.
        Box may answer fewer than ``limit`` events while more remain: read until a chunk is empty."""
        page = self.calls.call(f"reading the event stream from position {position}", lambda c: c.events.get_events(
            stream_type=GetEventsStreamType(stream_type), stream_position=str(position), limit=limit))
        return EventsPage([BoxEvent.from_sdk(e) for e in page.entries or []], str(page.next_stream_position))
