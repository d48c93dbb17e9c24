"""Errors of the Box hook. Every message is one sentence for an operator: what was being done, on which object,
the HTTP status, Box's error code and message (trimmed) and the request id, never a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ferrero_provider.common.errors import ErrorKinds, ServiceError
from ferrero_provider.common.messages import one_line, server_message
from ferrero_provider.common.retry import parse_retry_after

if TYPE_CHECKING:
    import requests
    from box_sdk_gen import BoxAPIError

    from ferrero_provider.common.retry import RetryPolicy


class BoxError(ServiceError):
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


class BoxConfigError(BoxError, kind="config"):
    """The Airflow connection is incomplete or invalid."""

class BoxAuthError(BoxError, kind="auth"):
    """Box refused the credentials or the permission (HTTP 401/403, or a token call refused)."""

class BoxNotFoundError(BoxError, kind="not_found"):
    """The item does not exist, or the service account cannot see it."""

class BoxConflictError(BoxError, kind="conflict"):
    """Box refused the change because of the item's state (HTTP 409, 412)."""

class BoxBadRequestError(BoxError, kind="bad_request"):
    """Box refused the request as invalid (another 4xx)."""

class BoxRateLimitError(BoxError, kind="rate_limit"):
    """Box kept answering HTTP 429 until the retries ran out."""

class BoxServerError(BoxError, kind="server"):
    """Box kept failing with HTTP 5xx until the retries ran out."""

class BoxTransportError(BoxError, kind="transport"):
    """Box could not be reached, timed out or cut an answer short."""

class BoxIntegrityError(BoxError, kind="integrity"):
    """A file's size or SHA-1 differs from what Box reports."""


BOX_ERRORS = ErrorKinds[BoxError](auth=BoxAuthError, not_found=BoxNotFoundError, conflict=BoxConflictError,
                                  bad_request=BoxBadRequestError, rate_limit=BoxRateLimitError,
                                  server=BoxServerError, conflict_statuses=frozenset({409, 412}))


def api_error(operation: str, exc: BoxAPIError, policy: RetryPolicy) -> BoxError:
    """The exception for an SDK error answer: a token endpoint refusing (4xx) is an auth error."""
    info = exc.response_info
    status = info.status_code
    body = info.body or {}
    code = info.code or (body.get("error") if isinstance(body, dict) else None)
    message = server_message(body) if body else one_line(info.raw_body)
    token_call = str(getattr(exc.request_info, "url", "")).endswith("/oauth2/token")
    detail = f"HTTP {status}" + (f" {code}" if code else "") + (f" ({message})" if message and message != code else "")
    if info.request_id:
        detail += f", request id {info.request_id}"
    cls = BOX_ERRORS.class_for(status)
    if token_call and status < 500 and status != 429:
        cls = BoxAuthError
    if token_call:
        operation = f"{operation} (getting an access token)"
    context = info.context_info if isinstance(info.context_info, dict) else {}
    headers = {str(k).lower(): v for k, v in (info.headers or {}).items()}
    error = cls(f"Box request failed while {operation}: {detail}", status=status, code=code,
                request_id=info.request_id, context_info=context)
    return policy.classified(error, status, parse_retry_after(headers.get("retry-after")))


def download_error(operation: str, response: requests.Response, policy: RetryPolicy) -> BoxError:
    """The exception for an error answer of a download URL."""
    status = response.status_code
    message = server_message(response.content)
    detail = f"HTTP {status}" + (f" ({message})" if message else "")
    error = BOX_ERRORS.class_for(status)(f"Box request failed while {operation}: {detail}", status=status)
    return policy.classified(error, status, parse_retry_after(response.headers.get("Retry-After")))
