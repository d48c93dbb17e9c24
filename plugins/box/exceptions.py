"""Errors of the Box hook. Every message is one sentence for an operator: what was being done, on which object,
the HTTP status, Box's error code and message (trimmed) and the request id, never a credential."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowException


class BoxError(AirflowException):
    """A Box call failed."""

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, request_id: str | None = None,
        context_info: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.context_info = context_info or {}


class BoxConfigError(BoxError):
    """The Airflow connection is incomplete or invalid (a field is missing or malformed)."""


class BoxAuthError(BoxError):
    """Box refused the app's credentials or the permission (token endpoint errors, HTTP 401/403)."""


class BoxNotFoundError(BoxError):
    """The file or folder does not exist in Box, or the service account cannot see it (HTTP 404)."""


class BoxConflictError(BoxError):
    """An item with that name already exists, or the item changed meanwhile (HTTP 409/412)."""


class BoxBadRequestError(BoxError):
    """Box refused the request as invalid (HTTP 400 or another 4xx); retrying will not help."""


class BoxRateLimitError(BoxError):
    """Box kept answering HTTP 429 (too many requests) until the retries ran out."""


class BoxServerError(BoxError):
    """Box kept failing with a server error (HTTP 5xx) until the retries ran out."""


class BoxTransportError(BoxError):
    """Box could not be reached, timed out or cut a response short until the retries ran out."""


class BoxIntegrityError(BoxError):
    """A transferred file's size or SHA-1 does not match what Box reports."""
