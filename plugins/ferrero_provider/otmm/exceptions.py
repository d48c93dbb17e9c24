"""Errors of the DAM hook. Every message is one sentence for an operator: what was being done, on which object,
the HTTP status and the DAM's own message (trimmed), never a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from ferrero_provider.common.errors import ServiceError, classified, error_kinds
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


OTMM_ERRORS = error_kinds(OtmmError, "Otmm", __name__)
(OtmmConfigError, OtmmAuthError, OtmmNotFoundError, OtmmConflictError, OtmmBadRequestError,
 OtmmRateLimitError, OtmmServerError, OtmmTransportError, OtmmIntegrityError) = OTMM_ERRORS.classes


class OtmmJobError(OtmmError):
    """A DAM import job failed or did not finish in time."""


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
    return classified(error, status, policy, parse_retry_after(response.headers.get("Retry-After")))


class OtmmStatusError(OtmmError):
    """A campaign's status could not be read from the DAM, or a status write did not show when read back."""
