"""Build, inside a task, what the workflow's steps use: config, tracking DB, DAM and Box hooks, notifiers.

Kept out of the DAG files so they stay thin, and out of ``include/`` so the domain core stays free of Airflow.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from include.ferrero.config import PROJECT_ROOT, load_config
from include.ferrero.messages import Email
from include.ferrero.outbox import EMAIL, DeliveryError, DeliveryPolicy
from include.ferrero.outbox_db import Outbox
from include.ferrero.tracking_db import TrackingDb

if TYPE_CHECKING:
    from include.ferrero.outbox import OutboxMessage, StoredMessage

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
    def retry_policy(self) -> Any:
        """The config's ``retry`` section, given to the hooks (they never read the project config)."""
        from ferrero_provider.common.retry import RetryPolicy

        return RetryPolicy.from_config(self.config)

    @functools.cached_property
    def otmm(self) -> Any:
        from ferrero_provider.otmm.hooks import OtmmHook

        return OtmmHook(**otmm_hook_kwargs(self.config), retry=self.retry_policy)

    @functools.cached_property
    def box(self) -> Any:
        from ferrero_provider.box.hooks import BoxHook

        return BoxHook(**box_hook_kwargs(self.config), retry=self.retry_policy)

    @functools.cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.db, DeliveryPolicy.from_config(self.config))

    def send(self, message: OutboxMessage) -> None:
        """One attempt at one outbox message (the outbox retries); a failure says whether it is worth another."""
        import requests

        from ferrero_provider.notifications.exceptions import NotificationError, RetryableNotificationError

        try:
            if message.channel == EMAIL:
                self._send_email(message)
            else:
                self._post_webhook(message)
        except RetryableNotificationError as exc:
            raise DeliveryError(str(exc), transient=True) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise DeliveryError(f"{message.label} could not be delivered: {type(exc).__name__}", transient=True) from None
        except NotificationError as exc:
            raise DeliveryError(str(exc), transient=False) from None

    def _send_email(self, message: OutboxMessage) -> None:
        from ferrero_provider.notifications.hooks import MailgunHook

        body = message.body
        MailgunHook(retry={**self.config["retry"], "max_attempts": 1}).send(
            Email(recipients=body["recipients"], subject=body["subject"], html=body["html"], text=body.get("text", "")),
            self.config["notifications"]["from_address"], message_key=message.idempotency_key)

    def _post_webhook(self, message: OutboxMessage) -> None:
        from ferrero_provider.notifications.hooks import StatusWebhookHook

        settings = self.config["webhooks"][message.target]
        StatusWebhookHook(settings["conn_id"], auth_type=settings["auth_type"], retry=self.config["retry"],
                          timeout=settings["timeout_seconds"], attempts=1,
                          ).post(message.body["payload"], idempotency_key=message.idempotency_key)

    def deliver(self, keys: list[str]) -> dict[str, StoredMessage]:
        """Send the outbox messages ``keys`` now (once, whatever else sends them), waiting out their backoff."""
        return self.outbox.deliver(keys, self.send)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def otmm_hook_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """The DAM hook's settings from the project config (``dam``, ``field_mappings.validate_domain_values``)."""
    dam = config.get("dam") or {}
    campaign = dam.get("campaign") or {}
    domains = (config.get("field_mappings") or {}).get("validate_domain_values") or {}
    cache_file = domains.get("cache_file")
    if cache_file:
        cache_file = cache_file if os.path.isabs(cache_file) else str(PROJECT_ROOT / cache_file)
    values = {
        "timeout_seconds": dam.get("timeout_seconds"),
        "job_timeout_seconds": dam.get("job_timeout_seconds"),
        "page_size": dam.get("page_size"),
        "status_field": campaign.get("status_field"),
        "number_field": campaign.get("number_field"),
        "final_assets_folder_name": campaign.get("final_assets_folder_name"),
        "domain_cache_ttl_hours": domains.get("cache_ttl_hours"),
        "domain_cache_file": cache_file or False,
    }
    return {key: value for key, value in values.items() if value is not None}


def box_hook_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """The Box hook's settings from the project config (``box``)."""
    box = config.get("box") or {}
    keys = ("chunked_upload_threshold_mb", "masters_folder_name", "derivatives_folder_name", "root_folder_id")
    return {key: box[key] for key in keys if box.get(key) is not None}


def dag_url(dag_id: str) -> str:
    """Link to a DAG in the Airflow UI, for emails."""
    return f"{os.environ.get('AIRFLOW_API_URL', 'http://127.0.0.1:8080').rstrip('/')}/dags/{dag_id}"


def run_url(dag_id: str, run_id: str) -> str:
    """Link to a DAG run in the Airflow UI, for emails."""
    return f"{dag_url(dag_id)}/runs/{run_id}"


def deliver_or_raise(services: Services, keys: list[str]) -> str:
    """Deliver outbox messages from a task: a message refused for good fails the task with its reason, one
    still waiting for a retry fails this try (the outbox keeps it; the ``outbox_dispatch`` DAG sends it too)."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    states = services.deliver(keys)
    failed = [s for s in states.values() if s.status == "failed"]
    if failed:
        raise AirflowFailException("; ".join(f"{s.message.label} was not delivered: {s.last_error}" for s in failed))
    waiting = [s for s in states.values() if s.status == "pending"]
    if waiting:
        raise AirflowException("; ".join(f"{s.message.label} is not delivered yet ({s.attempts} attempts; "
                                         f"last error: {s.last_error})" for s in waiting))
    return ", ".join(f"{s.message.label} sent" for s in states.values()) or "nothing to send"
