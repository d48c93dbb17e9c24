"""
### Outbox dispatch

Every minute: sends the outgoing messages (status webhooks, emails, the per-derivative webhook) that
are still waiting in the tracking database's outbox — a send that met a failing receiver and waits
for its retry, or one whose process died before it was marked. The pipeline tasks send their own
messages at once; this DAG is the safety net, so a message is never lost.

Each message is claimed, sent and marked in one transaction, so this DAG, the pipeline tasks and
any clear or re-run never send one message twice. A message refused for good (4xx) or out of
attempts stays in the outbox as `failed`, with its error.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from include.ferrero.runtime import Services, dag_settings


@dag(**dag_settings(__doc__, "Safety net: sends the outgoing messages still waiting in the outbox (retries, died "
                    "senders).", tag="notifications", schedule="* * * * *", retry_delay=timedelta(seconds=30)))
def outbox_dispatch():
    @task
    def send_due_messages() -> None:
        """Claim, send and mark every message that is due, one at a time."""

        with Services() as services:
            results = services.outbox.deliver_due(services.send)
        for result in results:
            print(f"{result.message.label}: {result.status}" + (f" ({result.last_error})" if result.last_error else ""))
        print(f"{len(results)} message(s) handled")

    send_due_messages()


outbox_dispatch()
