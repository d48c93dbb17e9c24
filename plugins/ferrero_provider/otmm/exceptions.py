"""Errors of the DAM hook: the service error kinds (``common/errors.py``) under the DAM's names, and the DAM's own
two. Every message is one sentence for an operator: what was being done, on which object, the HTTP status and the
DAM's own message (trimmed), never a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from ferrero_provider.common.error_text import server_message
from ferrero_provider.common.errors import AuthError as OtmmAuthError
from ferrero_provider.common.errors import BadRequestError as OtmmBadRequestError
from ferrero_provider.common.errors import ConfigError as OtmmConfigError
from ferrero_provider.common.errors import ConflictError as OtmmConflictError
from ferrero_provider.common.errors import IntegrityError as OtmmIntegrityError
from ferrero_provider.common.errors import NotFoundError as OtmmNotFoundError
from ferrero_provider.common.errors import RateLimitError as OtmmRateLimitError
from ferrero_provider.common.errors import ServerError as OtmmServerError
from ferrero_provider.common.errors import ServiceError as OtmmError
from ferrero_provider.common.errors import TransportError as OtmmTransportError
from ferrero_provider.common.errors import class_for
from ferrero_provider.common.retry import parse_retry_after

if TYPE_CHECKING:
    from ferrero_provider.common.retry import RetryPolicy

__all__ = ["OtmmAuthError", "OtmmBadRequestError", "OtmmConfigError", "OtmmConflictError", "OtmmError",
           "OtmmIntegrityError", "OtmmJobError", "OtmmNotFoundError", "OtmmRateLimitError", "OtmmServerError",
           "OtmmStatusError", "OtmmTransportError", "http_error"]


class OtmmJobError(OtmmError):
    """A DAM import job failed or did not finish in time."""


class OtmmStatusError(OtmmError):
    """A campaign's status cannot be read, or a status write did not show when read back."""


def http_error(operation: str, response: requests.Response, policy: RetryPolicy) -> OtmmError:
    """The exception for an HTTP error answer (the body read and trimmed), classified by ``policy``."""
    status = response.status_code
    try:
        message = server_message(response.content)
    except requests.RequestException:
        message = ""
    detail = f"HTTP {status} {response.reason or ''}".strip() + (f" ({message})" if message else "")
    error = class_for(status)(f"DAM request failed while {operation}: {detail}", status=status,
                              server_message=message)
    return policy.classified(error, status, parse_retry_after(response.headers.get("Retry-After")))
