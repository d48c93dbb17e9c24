"""
### Outbox dispatch

Every minute: sends the outgoing messages (status webhooks, emails, the per-derivative webhook) that
are still waiting in the tracking database's outbox — a send that met a failing receiver and waits
for its retry, or one whose process died before it was marked. The pipeline tasks send their own
messages at once; this DAG is the safety net, so a message is never lost.

Each message is claimed, sent and marked in one transaction, so this DAG, the pipeline tasks and
any clear or re-run never send one message twice. A message refused for good (4xx) or out of
attempts stays in the outbox as `failed`, with its error.

**Re-send failed messages** (once the receiver is fixed): the **Re-send** buttons of a campaign's
page in *Browse → Campaigns* start this DAG with its parameters; or trigger it with a campaign (every
failed message of it) or message keys. A re-sent message is the same message: same body, same
`Message-Id` / `Idempotency-Key`. Sent messages are never sent again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from airflow.sdk import Param, dag, task

from include.ferrero.runtime import dag_settings, deliver_or_raise, task_services

if TYPE_CHECKING:
    from include.ferrero.steps.payloads import ResendConf


@dag(**dag_settings(__doc__, "Safety net: sends the outgoing messages still waiting in the outbox (retries, died "
                    "senders); re-sends failed ones on request.", tag="notifications", schedule="* * * * *",
                    retry_delay=timedelta(seconds=30)),
     params={
         "campaign": Param(None, type=["null", "string"], title="Re-send the failed messages of campaign",
                           description="Its DAM folder id or number (e.g. CMP-2026-001). Empty: re-send nothing."),
         "message_keys": Param([], type="array", items={"type": "string"}, title="Re-send these failed messages",
                               description="Message keys as the Campaigns view shows them, one per line."),
     })
def outbox_dispatch():
    @task
    def resend_failed_messages(params: ResendConf | None = None) -> None:
        """Put the failed messages asked for back in line and send them now (same keys, so no receiver gets a
        second copy of what it already has); fails with the receiver's answer when one is refused again."""
        keys = (params.get("message_keys") if params else None) or None
        campaign = (params.get("campaign") if params else None) or None
        if keys is None and campaign is None:
            print("no re-send asked for")
            return
        with task_services() as services:
            requeued = services.outbox.resend_failed(keys=keys, campaign=campaign)
            if not requeued:
                print(f"no failed message {'of campaign ' + campaign if campaign else 'among ' + ', '.join(keys or [])}"
                      " to re-send (already sent, or still pending)")
                return
            print(f"re-sending {len(requeued)} failed message(s): {', '.join(requeued)}")
            print(deliver_or_raise(services, requeued))

    @task
    def send_due_messages() -> None:
        """Claim, send and mark every message that is due, one at a time."""
        with task_services() as services:
            results = services.outbox.deliver_due(services.send)
        for result in results:
            print(f"{result.message.label}: {result.status}" + (f" ({result.last_error})" if result.last_error else ""))
        print(f"{len(results)} message(s) handled")

    resend_failed_messages()
    send_due_messages()


outbox_dispatch()
