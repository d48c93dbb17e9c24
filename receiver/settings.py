"""The receiver's settings: section ``webhook`` (and ``box.derivatives_folder_name``) of ``config/config.yaml``,
secrets from the environment only.

Environment: ``BOX_WEBHOOK_PRIMARY_KEY`` / ``BOX_WEBHOOK_SECONDARY_KEY`` (Box's two signature keys),
``BOX_SERVICE_ACCOUNT_USER_ID`` (its uploads are ignored), ``AIRFLOW_WEBHOOK_USER`` / ``AIRFLOW_WEBHOOK_PASSWORD``
(the Airflow user that triggers runs), ``AIRFLOW_CONN_TRACKING_DB`` (the tracking DB, in Airflow's JSON or URI
connection form), and two tuning knobs of the forwarder: ``RECEIVER_RETRY_INITIAL_SECONDS`` (1) and ``RECEIVER_RETRY_MAX_SECONDS`` (60), the first and the
longest wait before Airflow is tried again while it is unreachable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ferrero_provider.common.connection_fields import ConnectionSettingsError
from ferrero_provider.common.postgres import TRACKING_DB_VARIABLE, libpq_kwargs_from_value
from include.ferrero.config import load_settings
from include.ferrero.env_numbers import seconds_setting

if TYPE_CHECKING:
    from include.ferrero.config_model import WebhookReceiverConfig


class SettingsError(ValueError):
    """A required setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class ReceiverSettings:
    webhook: WebhookReceiverConfig  # the config's ``webhook`` section: address, signatures, limits, Airflow
    derivatives_folder_name: str
    primary_key: str | None
    secondary_key: str | None
    service_account_user_id: str | None
    airflow_user: str | None
    airflow_password: str | None
    tracking_db: dict[str, Any]
    retry_initial_seconds: float = 1.0
    retry_max_seconds: float = 60.0

    @classmethod
    def from_environment(cls, env: dict[str, str] | None = None) -> ReceiverSettings:
        env = dict(os.environ if env is None else env)
        config = load_settings()
        webhook, box = config.webhook, config.box
        settings = cls(
            webhook=webhook.model_copy(update={"airflow_api_url": webhook.airflow_api_url.rstrip("/")}),
            derivatives_folder_name=box.derivatives_folder_name,
            primary_key=env.get("BOX_WEBHOOK_PRIMARY_KEY") or None,
            secondary_key=env.get("BOX_WEBHOOK_SECONDARY_KEY") or None,
            service_account_user_id=env.get("BOX_SERVICE_ACCOUNT_USER_ID") or None,
            airflow_user=env.get("AIRFLOW_WEBHOOK_USER") or None,
            airflow_password=env.get("AIRFLOW_WEBHOOK_PASSWORD") or None,
            tracking_db=tracking_db_kwargs(env.get(TRACKING_DB_VARIABLE, "")),
            retry_initial_seconds=seconds_setting(env, "RECEIVER_RETRY_INITIAL_SECONDS", 1.0, strict=True,
                                                  error=SettingsError),
            retry_max_seconds=seconds_setting(env, "RECEIVER_RETRY_MAX_SECONDS", 60.0, strict=True,
                                              error=SettingsError),
        )
        if settings.webhook.validate_signatures and not (settings.primary_key or settings.secondary_key):
            raise SettingsError(
                "BOX_WEBHOOK_PRIMARY_KEY (or BOX_WEBHOOK_SECONDARY_KEY) must be set while"
                " webhook.validate_signatures is true"
            )
        if not (settings.airflow_user and settings.airflow_password):
            raise SettingsError("AIRFLOW_WEBHOOK_USER and AIRFLOW_WEBHOOK_PASSWORD must be set")
        return settings


def tracking_db_kwargs(conn: str) -> dict[str, Any]:
    """psycopg2.connect() keyword arguments of the tracking DB's Airflow connection (JSON form or URI form), read
    as the tasks read it (``ferrero_provider.common.postgres``)."""
    if not conn.strip():
        raise SettingsError(f"{TRACKING_DB_VARIABLE} must be set (the tracking database connection)")
    try:
        return libpq_kwargs_from_value(conn)
    except ConnectionSettingsError as exc:
        raise SettingsError(str(exc)) from None
