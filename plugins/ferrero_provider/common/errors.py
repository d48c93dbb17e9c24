"""The errors of every DAM and Box call, one class a kind, written out once for both services, and the one
distinction they make: permanent (fail the task at once) or transient (retry).

Each service's module names them after itself (``otmm/exceptions.py``: ``NotFoundError as OtmmNotFoundError``;
``box/exceptions.py``: ``... as BoxNotFoundError``) and turns an answer into one of them; the message says which
service and what was being done. Imports nothing of the provider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

try:  # the DAM client works without Airflow (tools, scripts); inside Airflow the errors are AirflowExceptions
    from airflow.sdk.exceptions import AirflowException
except ImportError:  # pragma: no cover
    AirflowException = Exception  # type: ignore[misc,assignment]  # the fallback base where Airflow is absent

#: config, auth, not found, bad request: the task fails at once. Rate limit, server, transport, integrity: the
#: retry layer tries again. Conflict and other: neither (Airflow's task retries decide).
Kind = Literal["config", "auth", "not_found", "conflict", "bad_request", "rate_limit", "server", "transport",
               "integrity", "other"]
PERMANENT_KINDS = frozenset({"config", "auth", "not_found", "bad_request"})
RETRYABLE_KINDS = frozenset({"rate_limit", "server", "transport", "integrity"})


class ServiceError(AirflowException):
    """A DAM or Box call failed.

    ``permanent``: trying again cannot help (a refused request, credentials, a missing object: HTTP 400, 401,
    403, 404, 422...), so the Airflow task fails at once. ``retryable``: the hook's retry layer tries again (429,
    the configured 5xx codes, connection errors, timeouts, cut bodies). Neither: the hook gives up at once and
    Airflow's task retries decide (a conflict, a 5xx not in ``retry.retryable_http_codes``, a failed job).
    A subclass names its kind in its class line (``class AuthError(ServiceError, kind="auth")``).

    :param status: the HTTP status of the answer, when there was one.
    :param server_message: the service's own message (trimmed). Box's answers add ``code``, ``request_id`` and
        ``context_info`` (e.g. the conflicting item of a 409).
    """

    kind: Kind = "other"
    permanent: bool = False
    retryable: bool = False
    #: Seconds the service asked to wait (``Retry-After``) before the next attempt, when it said so.
    retry_after: float | None = None

    def __init__(self, message: str, *, status: int | None = None, server_message: str = "",
                 code: str | None = None, request_id: str | None = None,
                 context_info: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message
        self.code = code
        self.request_id = request_id
        self.context_info = context_info or {}

    def __init_subclass__(cls, *, kind: Kind | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind, cls.permanent, cls.retryable = kind, kind in PERMANENT_KINDS, kind in RETRYABLE_KINDS

    def reworded(self, message: str) -> Self:
        """The same error (type, status, permanent, retryable...) with another message."""
        copy = type(self).__new__(type(self))
        AirflowException.__init__(copy, message)
        copy.__dict__.update(self.__dict__)
        return copy


class ConfigError(ServiceError, kind="config"):
    """The Airflow connection is incomplete or invalid (a field is missing or malformed)."""


class AuthError(ServiceError, kind="auth"):
    """The service refused the credentials or the permission (HTTP 401/403, or a token endpoint's refusal)."""


class NotFoundError(ServiceError, kind="not_found"):
    """The object does not exist, or the account cannot see it (HTTP 404)."""


class ConflictError(ServiceError, kind="conflict"):
    """The service refused the change because of the object's state (HTTP 409; Box also 412)."""


class BadRequestError(ServiceError, kind="bad_request"):
    """The service refused the request as invalid (HTTP 400 or another 4xx)."""


class RateLimitError(ServiceError, kind="rate_limit"):
    """The service kept answering HTTP 429 until the retries ran out."""


class ServerError(ServiceError, kind="server"):
    """The service kept failing with a server error (HTTP 5xx) until the retries ran out."""


class TransportError(ServiceError, kind="transport"):
    """The service could not be reached, timed out or cut a response short."""


class IntegrityError(ServiceError, kind="integrity"):
    """A transferred file's size or digest does not match what the service reports."""


E = TypeVar("E", bound=ServiceError)


def class_for(status: int, conflict_statuses: frozenset[int] = frozenset({409})) -> type[ServiceError]:
    """The error class of an HTTP error status (``conflict_statuses``: what the service means by a conflict)."""
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status in conflict_statuses:
        return ConflictError
    if status == 429:
        return RateLimitError
    return ServerError if status >= 500 else BadRequestError
