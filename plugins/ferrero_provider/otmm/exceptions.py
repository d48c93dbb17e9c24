"""Errors of the DAM hook. Every message is one sentence for an operator: what was being done, on which object,
the HTTP status and the DAM's own message (trimmed), never a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from ferrero_provider.common.errors import ServiceError, StatusMap, classified
from ferrero_provider.common.messages import server_message
from ferrero_provider.common.retry import parse_retry_after

if TYPE_CHECKING:
    from ferrero_provider.common.retry import RetryPolicy


class OtmmError(ServiceError):
    """A DAM (OTMM) call failed."""

    def __init__(self, message: str, *, status: int | None = None, server_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class OtmmConfigError(OtmmError):
    """The Airflow connection is incomplete or invalid (a field is missing or malformed)."""

    permanent = True


class OtmmAuthError(OtmmError):
    """The DAM refused the credentials or the permission (HTTP 401/403), also after logging in again."""

    permanent = True


class OtmmNotFoundError(OtmmError):
    """The object does not exist in the DAM (HTTP 404), or a folder expected by the workflow is missing."""

    permanent = True


class OtmmConflictError(OtmmError):
    """The DAM refused the change because of the object's state, e.g. locked by someone else (HTTP 409)."""


class OtmmBadRequestError(OtmmError):
    """The DAM refused the request as invalid (HTTP 400 or another 4xx); retrying will not help."""

    permanent = True


class OtmmRateLimitError(OtmmError):
    """The DAM kept answering HTTP 429 (too many requests) until the retries ran out."""

    retryable = True


class OtmmServerError(OtmmError):
    """The DAM kept failing with a server error (HTTP 5xx) until the retries ran out."""

    retryable = True


class OtmmTransportError(OtmmError):
    """The DAM could not be reached, timed out or cut a response short until the retries ran out."""

    retryable = True


class OtmmIntegrityError(OtmmError):
    """A transferred file does not have the size the DAM announced."""

    retryable = True


class OtmmJobError(OtmmError):
    """A DAM import job failed or did not finish in time."""


OTMM_STATUSES = StatusMap(auth=OtmmAuthError, not_found=OtmmNotFoundError, conflict=OtmmConflictError,
                          rate_limit=OtmmRateLimitError, server=OtmmServerError, bad_request=OtmmBadRequestError)


def http_error(operation: str, response: requests.Response, policy: RetryPolicy) -> OtmmError:
    """The exception for an HTTP error answer (the body read and trimmed), classified by ``policy``."""
    status = response.status_code
    try:
        message = server_message(response.content)
    except requests.RequestException:
        message = ""
    detail = f"HTTP {status} {response.reason or ''}".strip() + (f" ({message})" if message else "")
    cls = OTMM_STATUSES.class_for(status)
    error = cls(f"DAM request failed while {operation}: {detail}", status=status, server_message=message)
    return classified(error, status, policy, parse_retry_after(response.headers.get("Retry-After")))


class OtmmStatusError(OtmmError):
    """A campaign's status could not be read from the DAM, or a status write did not show when read back."""
