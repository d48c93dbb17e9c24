"""Errors of the DAM hook. Every message is one sentence for an operator: what was being done, on which object,
the HTTP status and the DAM's own message (trimmed), never a credential."""

from __future__ import annotations

try:  # the client works without Airflow (tools, scripts); inside Airflow the errors are AirflowExceptions
    from airflow.sdk.exceptions import AirflowException
except ImportError:  # pragma: no cover
    AirflowException = Exception  # type: ignore[misc,assignment]


class OtmmError(AirflowException):
    """A DAM (OTMM) call failed."""

    def __init__(self, message: str, *, status: int | None = None, server_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class OtmmConfigError(OtmmError):
    """The Airflow connection is incomplete or invalid (a field is missing or malformed)."""


class OtmmAuthError(OtmmError):
    """The DAM refused the credentials or the permission (HTTP 401/403), also after logging in again."""


class OtmmNotFoundError(OtmmError):
    """The object does not exist in the DAM (HTTP 404), or a folder expected by the workflow is missing."""


class OtmmConflictError(OtmmError):
    """The DAM refused the change because of the object's state, e.g. locked by someone else (HTTP 409)."""


class OtmmBadRequestError(OtmmError):
    """The DAM refused the request as invalid (HTTP 400 or another 4xx); retrying will not help."""


class OtmmRateLimitError(OtmmError):
    """The DAM kept answering HTTP 429 (too many requests) until the retries ran out."""


class OtmmServerError(OtmmError):
    """The DAM kept failing with a server error (HTTP 5xx) until the retries ran out."""


class OtmmTransportError(OtmmError):
    """The DAM could not be reached, timed out or cut a response short until the retries ran out."""


class OtmmIntegrityError(OtmmError):
    """A transferred file does not have the size the DAM announced."""


class OtmmJobError(OtmmError):
    """A DAM import job failed or did not finish in time."""


class OtmmStatusError(OtmmError):
    """A campaign's status could not be read from the DAM, or a status write did not show when read back."""
