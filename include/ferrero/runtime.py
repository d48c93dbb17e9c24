"""The one Airflow-aware module of ``include/``: what the DAG files share.

Inside a task it builds what the steps use (config, tracking DB, DAM and Box hooks, notifiers: ``Services``, and
its ``ports``, the one object every step takes), delivers outbox messages, and applies the failure policy in one
place (:func:`task_services`): an expected failure (a bad name, an unknown tracking ID, a refused domain value, a
permanent HTTP error) fails the task at once, its log ending with its one sentence, without a traceback; anything
else goes to Airflow's retries. The domain modules beside it stay free of Airflow.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk.exceptions import AirflowFailException

from include.ferrero.config import PROJECT_ROOT, load_settings
from include.ferrero.db.outbox import Outbox
from include.ferrero.db.tracking import TrackingDb
from include.ferrero.messages import Email
from include.ferrero.outbox import EMAIL, DeliveryError, DeliveryPolicy, delivery_report
from include.ferrero.steps.ports import Ports

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ferrero_provider.box.client import BoxSettings
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.common.retry import RetryPolicy
    from ferrero_provider.otmm.client.settings import DamSettings
    from ferrero_provider.otmm.hooks import OtmmHook
    from include.ferrero.config_model import Config
    from include.ferrero.outbox import OutboxMessage, StoredMessage

log = logging.getLogger(__name__)

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


#: The safety nets' own retries (discovery, sweep, outbox dispatch run again soon anyway).
SAFETY_NET_DEFAULT_ARGS: dict[str, Any] = {"owner": "content-scaling", "retries": 2}


def sized(variable: str, default: int) -> int:
    """A concurrency setting of a DAG (read when the DAG file is parsed: environment only), sized per deployment;
    the defaults and the measurements that chose them are in README (Concurrency)."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{variable} must be a whole number >= 1, got {value!r}")
    return int(value)


def dag_settings(doc: str | None, description: str, *, tag: str, schedule: Any = None, max_active_runs: int = 1,
                 retry_delay: timedelta | None = None) -> dict[str, Any]:
    """What every DAG of the product shares: the pipelines (no schedule, triggered) retry by
    ``PIPELINE_DEFAULT_ARGS``; the scheduled safety nets twice, after ``retry_delay``."""
    default_args = PIPELINE_DEFAULT_ARGS if retry_delay is None else {**SAFETY_NET_DEFAULT_ARGS,
                                                                      "retry_delay": retry_delay}
    return {"description": description, "doc_md": doc, "schedule": schedule, "start_date": datetime(2026, 1, 1),
            "catchup": False, "max_active_runs": max_active_runs, "tags": ["content-scaling", tag],
            "default_args": default_args}


@dataclass
class Services:
    config: Config = field(default_factory=load_settings)
    #: Build the DAM and Box hooks with their connections read in the background (:meth:`prefetch_connections`).
    prefetch: bool = False

    @functools.cached_property
    def db(self) -> TrackingDb:
        return TrackingDb.from_airflow()

    @functools.cached_property
    def retry_policy(self) -> RetryPolicy:
        return retry_policy(self.config)

    @functools.cached_property
    def otmm(self) -> OtmmHook:
        from ferrero_provider.otmm.hooks import OtmmHook

        return OtmmHook(retry=self.retry_policy, settings=dam_settings(self.config), prefetch_connection=self.prefetch)

    @functools.cached_property
    def box(self) -> BoxHook:
        from ferrero_provider.box.hooks import BoxHook

        return BoxHook(retry=self.retry_policy, settings=box_settings(self.config), prefetch_connection=self.prefetch)

    def prefetch_connections(self) -> None:
        """For a task that will use both the DAM and Box: their connections are read from now on, in the
        background (each an Execution API round trip), while the task reads the tracking database and the DAM."""
        self.prefetch = True
        _ = self.otmm, self.box  # built now, each starting its read (ferrero_provider.common.prefetch)

    @functools.cached_property
    def ports(self) -> Ports:
        """What the steps work with: the DAM's and Box's clients, the tracking database and the config."""
        return Ports(dam=self.otmm.client, box=self.box.client, db=self.db, config=self.config)

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
        MailgunHook(retry=self.retry_policy).send(
            Email(recipients=body["recipients"], subject=body["subject"], html=body["html"], text=body.get("text", "")),
            self.config.notifications.from_address, message_key=message.idempotency_key)

    def _post_webhook(self, message: OutboxMessage) -> None:
        from ferrero_provider.notifications.hooks import StatusWebhookHook

        settings = self.config.webhooks[message.target]
        StatusWebhookHook(settings.conn_id, auth_type=settings.auth_type, retry=self.retry_policy,
                          timeout=settings.timeout_seconds, method=settings.method,
                          ).post(message.body["payload"], idempotency_key=message.idempotency_key)

    def deliver(self, keys: list[str]) -> dict[str, StoredMessage]:
        """Send the outbox messages ``keys`` now (once, whatever else sends them), waiting out their backoff. A
        failed one gets a fresh round of attempts: clearing the task that sends it re-sends it (same key)."""
        self.outbox.resend_failed(keys=keys)
        return self.outbox.deliver(keys, self.send)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def retry_policy(config: Config) -> RetryPolicy:
    """The config's ``retry`` section, given to the hooks (they never read the project config)."""
    from ferrero_provider.common.retry import RetryPolicy

    retry = config.retry
    return RetryPolicy(max_attempts=retry.max_attempts, initial_delay_seconds=float(retry.initial_delay_seconds),
                       max_delay_seconds=float(retry.max_delay_seconds),
                       retryable_http_codes=frozenset(retry.retryable_http_codes),
                       request_timeout_seconds=float(retry.request_timeout_seconds),
                       exponential=retry.backoff == "exponential")


def dam_settings(config: Config) -> DamSettings:
    """The DAM hook's settings from the project config (``dam``, ``field_mappings.validate_domain_values``)."""
    from ferrero_provider.otmm.client.settings import DamSettings

    dam, domains = config.dam, config.field_mappings.validate_domain_values
    return DamSettings(
        timeout_seconds=dam.timeout_seconds, job_timeout_seconds=dam.job_timeout_seconds, page_size=dam.page_size,
        status_field=dam.campaign.status_field, number_field=dam.campaign.number_field,
        final_assets_folder_name=dam.campaign.final_assets_folder_name,
        domain_cache_ttl_seconds=float(domains.cache_ttl_hours) * 3600,
        domain_cache_file=PROJECT_ROOT / domains.cache_file if domains.cache_file else None,
    )


def box_settings(config: Config) -> BoxSettings:
    """The Box hook's settings from the project config (``box``)."""
    from ferrero_provider.box.client import BoxSettings

    box = config.box
    return BoxSettings(chunked_upload_threshold_mb=box.chunked_upload_threshold_mb, root_folder_id=box.root_folder_id,
                       masters_folder_name=box.masters_folder_name, derivatives_folder_name=box.derivatives_folder_name)


def dag_url(dag_id: str) -> str:
    """Link to a DAG in the Airflow UI, for emails."""
    return f"{os.environ.get('AIRFLOW_API_URL', 'http://127.0.0.1:8080').rstrip('/')}/dags/{dag_id}"


def run_url(dag_id: str, run_id: str) -> str:
    """Link to a DAG run in the Airflow UI, for emails."""
    return f"{dag_url(dag_id)}/runs/{run_id}"


def deliver_now(services: Services, keys: list[str]) -> str:
    """Send outbox messages right after the fact that recorded them: one attempt at each that is due, no waiting.
    A message that met a failing receiver stays due in the outbox and ``outbox_dispatch`` sends it (once); one
    refused for good is logged with its reason and stays ``failed`` in the outbox. Never fails the task: the fact
    is done."""
    if not keys:
        return "nothing to send"
    attempted = set()
    while (result := services.outbox.deliver_one(services.send, keys)) is not None:
        attempted.add(result.message.key)
    said = []
    for key, state in services.outbox.get(keys).items():
        if state.status == "sent":
            said.append(f"{state.message.label} " + ("sent" if key in attempted else "already sent"))
        elif state.status == "failed":
            said.append(f"{state.message.label} was not delivered: {state.last_error}")
            log.error("%s was not delivered: %s", state.message.label, state.last_error)
        else:
            said.append(f"{state.message.label} not delivered yet, outbox_dispatch retries it "
                        f"({state.attempts} attempts; last error: {state.last_error})")
    return "; ".join(said) or "nothing to send"


def deliver_or_raise(services: Services, keys: list[str]) -> str:
    """Deliver outbox messages from a task: a message refused for good fails the task with its reason, one
    still waiting for a retry fails this try (the outbox keeps it; the ``outbox_dispatch`` DAG sends it too)."""
    from airflow.sdk.exceptions import AirflowException

    before = services.outbox.get(keys)
    states = services.deliver(keys)
    failed = [s for s in states.values() if s.status == "failed"]
    if failed:
        raise expected_failure("; ".join(f"{s.message.label} was not delivered: {s.last_error}" for s in failed))
    waiting = [s for s in states.values() if s.status == "pending"]
    if waiting:
        raise AirflowException("; ".join(f"{s.message.label} is not delivered yet ({s.attempts} attempts; "
                                         f"last error: {s.last_error})" for s in waiting))
    return delivery_report(before, states)


# -- failing for an expected reason ------------------------------------------------------------------------


@contextmanager
def task_services() -> Iterator[Services]:
    """The ``Services`` of one task, under the failure policy: whatever fails in the block goes through
    :func:`fail_clearly` (an expected failure ends the task with its sentence, anything else goes to Airflow's
    retries as it is); the tracking database is closed either way."""
    with Services() as services:
        try:
            yield services
        except Exception as exc:
            fail_clearly(exc)


@contextmanager
def xcom_on_failure(key: str, value: object) -> Iterator[None]:
    """Push XCom ``key`` only when the block fails: what a failure callback needs and cannot see otherwise (the
    task's locals), at no cost to a task that succeeds."""
    try:
        yield
    except Exception:
        from airflow.sdk import get_current_context

        get_current_context()["ti"].xcom_push(key=key, value=value)
        raise


def fail_clearly(exc: Exception) -> NoReturn:
    """A bad campaign or file, or a permanent DAM/Box error (HTTP 4xx, a missing object), is not worth a retry:
    fail now, with the sentence that says why. Anything else is raised as it is, for Airflow's retries.

    A refused derivative's name, tracking ID and campaign go to XCom ``refused``, for the failure email (the failure
    callback cannot see this exception's attributes)."""
    from ferrero_provider.common.errors import ServiceError
    from include.ferrero.campaigns import CampaignError
    from include.ferrero.derivatives import DerivativeError

    if isinstance(exc, DerivativeError) and exc.file_name:
        from airflow.sdk import get_current_context

        get_current_context()["ti"].xcom_push(key="refused", value={
            "file_name": exc.file_name, "tracking_id": exc.tracking_id, "campaign_id": exc.campaign_id,
            "box_created_at": exc.box_created_at})
    if isinstance(exc, (CampaignError, DerivativeError)) or (isinstance(exc, ServiceError) and exc.permanent):
        raise expected_failure(str(exc)) from None
    raise exc


class ExpectedFailure(AirflowFailException):
    """A task failure for an expected reason: no retry, and its log ends with its sentence, not a traceback."""


def expected_failure(sentence: str) -> ExpectedFailure:
    _quiet_expected_failures()
    return ExpectedFailure(sentence)


def _log_expected_failure_as_its_sentence(_logger: object, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: Airflow logs every task failure with its traceback (``log.exception``); for an
    expected failure the operator reads its sentence, as the log's last error, and nothing else."""
    exc_info = event.get("exc_info")
    error = sys.exc_info()[1] if exc_info is True else exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if isinstance(error, ExpectedFailure):
        del event["exc_info"]
        event["event"] = f"Task failed: {error}"
    return event


def _quiet_expected_failures() -> None:
    """Put the processor first in the task process's structlog chain. In place: the task runner's logger is
    already bound to that very list."""
    import structlog

    processors = structlog.get_config()["processors"]
    if _log_expected_failure_as_its_sentence not in processors:
        processors.insert(0, _log_expected_failure_as_its_sentence)
