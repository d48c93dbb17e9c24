from __future__ import annotations

from airflow.sdk.exceptions import AirflowException


class NotificationError(AirflowException):
    """An email or a status webhook could not be delivered."""


class RetryableNotificationError(NotificationError):
    """The receiving side answered 429/5xx or could not be reached; worth another attempt."""
