"""Build, inside a task, what the workflow's steps use: config, tracking DB, DAM and Box hooks, notifiers.

Kept out of the DAG files so they stay thin, and out of ``include/`` so the domain core stays free of Airflow.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from include.ferrero.config import load_config
from include.ferrero.tracking_db import TrackingDb

if TYPE_CHECKING:
    from collections.abc import Callable

    from include.ferrero.messages import Email

#: Retries of the pipelines' tasks: transient DAM/Box trouble outlasts the hooks' own retries. Tunable per
#: deployment with CONTENT_SCALING_TASK_RETRIES / CONTENT_SCALING_TASK_RETRY_DELAY_SECONDS (read when the DAG
#: files are parsed: environment only, no I/O).
PIPELINE_DEFAULT_ARGS: dict[str, Any] = {
    "owner": "content-scaling",
    "retries": int(os.environ.get("CONTENT_SCALING_TASK_RETRIES", "3")),
    "retry_delay": timedelta(seconds=float(os.environ.get("CONTENT_SCALING_TASK_RETRY_DELAY_SECONDS", "30"))),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
}


@dataclass
class Services:
    config: dict[str, Any] = field(default_factory=load_config)

    @functools.cached_property
    def db(self) -> TrackingDb:
        return TrackingDb.from_airflow()

    @functools.cached_property
    def otmm(self) -> Any:
        from otmm.hooks import OtmmHook

        return OtmmHook()

    @functools.cached_property
    def box(self) -> Any:
        from box.hooks import BoxHook

        return BoxHook()

    def send_email(self, email: Email) -> None:
        """Send through Mailgun, unless notifications are disabled in config."""
        if not self.config["notifications"]["enabled"]:
            return
        from notifications.hooks import MailgunHook

        MailgunHook(retry=self.config["retry"]).send(email, self.config["notifications"]["from_address"])

    def post_status_webhook(self, payload: dict[str, Any]) -> None:
        settings = self.config["webhooks"]["campaign_status_update"]
        if not settings["enabled"]:
            return
        from notifications.hooks import StatusWebhookHook

        StatusWebhookHook(settings["conn_id"], auth_type=settings["auth_type"], retry=self.config["retry"],
                          timeout=settings["timeout_seconds"],
                          attempts=1 + settings.get("max_retries", 3) if settings.get("retry_on_failure") else 1,
                          ).post(payload)

    def notify_once(self, change_id: int, kind: str, send: Callable[[Services], None]) -> bool:
        """Run ``send`` for a status change's ``kind`` ('webhook' or 'email') unless it was already sent;
        return whether it was sent now. Retries and concurrent runs send it once."""
        with self.db.notification_slot(change_id, kind) as to_send:
            if to_send:
                send(self)
        return to_send

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_url(dag_id: str, run_id: str) -> str:
    """Link to a DAG run in the Airflow UI, for emails."""
    base = os.environ.get("AIRFLOW_API_URL", "http://127.0.0.1:8080").rstrip("/")
    return f"{base}/dags/{dag_id}/runs/{run_id}"
