"""Errors of the DAM hook. Every message is one sentence for an operator: what was being done, on which object,
the HTTP status and the DAM's own message (trimmed), never a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from ferrero_provider.common.errors import ErrorKinds, ServiceError
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


class OtmmConfigError(OtmmError, kind="config"):
    """The Airflow connection is incomplete or invalid."""

class OtmmAuthError(OtmmError, kind="auth"):
    """The DAM refused the credentials or the permission (HTTP 401/403)."""

class OtmmNotFoundError(OtmmError, kind="not_found"):
    """The object does not exist, or the account cannot see it."""

class OtmmConflictError(OtmmError, kind="conflict"):
    """The DAM refused the change because of the object's state."""

class OtmmBadRequestError(OtmmError, kind="bad_request"):
    """The DAM refused the request as invalid (another 4xx)."""

class OtmmRateLimitError(OtmmError, kind="rate_limit"):
    """The DAM kept answering HTTP 429 until the retries ran out."""

class OtmmServerError(OtmmError, kind="server"):
    """The DAM kept failing with HTTP 5xx until the retries ran out."""

class OtmmTransportError(OtmmError, kind="transport"):
    """The DAM could not be reached, timed out or cut an answer."""

class OtmmIntegrityError(OtmmError, kind="integrity"):
    """A file's size or digest differs from what the DAM reports."""

class OtmmJobError(OtmmError):
    """A DAM import job failed or did not finish in time."""

class OtmmStatusError(OtmmError):
    """A campaign's status cannot be read, or a status write did not show when read back."""


OTMM_ERRORS = ErrorKinds[OtmmError](auth=OtmmAuthError, not_found=OtmmNotFoundError, conflict=OtmmConflictError,
                                    bad_request=OtmmBadRequestError, rate_limit=OtmmRateLimitError,
                                    server=OtmmServerError)


def http_error(operation: str, response: requests.Response, policy: RetryPolicy) -> OtmmError:
    """The exception for an HTTP error answer (the body read and trimmed), classified by ``policy``."""
    status = response.status_code
    try:
        message = server_message(response.content)
    except requests.RequestException:
        message = ""
    detail = f"HTTP {status} {response.reason or ''}".strip() + (f" ({message})" if message else "")
    cls = OTMM_ERRORS.class_for(status)
    error = cls(f"DAM request failed while {operation}: {detail}", status=status, server_message=message)
    return policy.classified(error, status, parse_retry_after(response.headers.get("Retry-After")))
