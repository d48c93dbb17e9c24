"""Build, inside a task, what the workflow's steps use: config, tracking DB, DAM and Box hooks, notifiers.

Kept out of the DAG files so they stay thin, and out of ``include/`` so the domain core stays free of Airflow.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from include.ferrero.config import load_config
from include.ferrero.tracking_db import TrackingDb

if TYPE_CHECKING:
    from include.ferrero.messages import Email


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

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()


def run_url(dag_id: str, run_id: str) -> str:
    """Link to a DAG run in the Airflow UI, for emails."""
    base = os.environ.get("AIRFLOW_API_URL", "http://127.0.0.1:8080").rstrip("/")
    return f"{base}/dags/{dag_id}/runs/{run_id}"
