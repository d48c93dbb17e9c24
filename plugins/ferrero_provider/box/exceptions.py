"""Errors of the Box hook: the service error kinds (``common/errors.py``) under Box's names. Every message is one sentence for an operator: what was being done, on which object,
the HTTP status, Box's error code and message (trimmed) and the request id, never a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferrero_provider.common.error_text import one_line, server_message
from ferrero_provider.common.errors import AuthError as BoxAuthError
from ferrero_provider.common.errors import BadRequestError as BoxBadRequestError
from ferrero_provider.common.errors import ConfigError as BoxConfigError
from ferrero_provider.common.errors import ConflictError as BoxConflictError
from ferrero_provider.common.errors import IntegrityError as BoxIntegrityError
from ferrero_provider.common.errors import NotFoundError as BoxNotFoundError
from ferrero_provider.common.errors import RateLimitError as BoxRateLimitError
from ferrero_provider.common.errors import ServerError as BoxServerError
from ferrero_provider.common.errors import ServiceError as BoxError
from ferrero_provider.common.errors import TransportError as BoxTransportError
from ferrero_provider.common.errors import class_for
from ferrero_provider.common.retry import parse_retry_after

if TYPE_CHECKING:
    import requests
    from box_sdk_gen import BoxAPIError

    from ferrero_provider.common.retry import RetryPolicy

__all__ = ["BoxAuthError", "BoxBadRequestError", "BoxConfigError", "BoxConflictError", "BoxError",
           "BoxIntegrityError", "BoxNotFoundError", "BoxRateLimitError", "BoxServerError", "BoxTransportError",
           "api_error", "download_error"]

#: Box answers 412 (a failed precondition: an If-Match on a changed item) for a conflict too.
CONFLICT_STATUSES = frozenset({409, 412})


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
    cls = class_for(status, CONFLICT_STATUSES)
    if token_call and status < 500 and status != 429:
        cls = BoxAuthError
    if token_call:
        operation = f"{operation} (getting an access token)"
    context = info.context_info if isinstance(info.context_info, dict) else {}
    headers = {str(k).lower(): v for k, v in (info.headers or {}).items()}
    error = cls(f"Box request failed while {operation}: {detail}", status=status, server_message=message,
                code=code, request_id=info.request_id, context_info=context)
    return policy.classified(error, status, parse_retry_after(headers.get("retry-after")))


def download_error(operation: str, response: requests.Response, policy: RetryPolicy) -> BoxError:
    """The exception for an error answer of a download URL."""
    status = response.status_code
    message = server_message(response.content)
    detail = f"HTTP {status}" + (f" ({message})" if message else "")
    error = class_for(status, CONFLICT_STATUSES)(f"Box request failed while {operation}: {detail}", status=status,
                                                 server_message=message)
    return policy.classified(error, status, parse_retry_after(response.headers.get("Retry-After")))
