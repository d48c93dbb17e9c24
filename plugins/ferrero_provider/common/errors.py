"""The one distinction every service error makes: permanent (fail the task at once) or transient (retry).

Each service writes its classes out, one a kind (``otmm/exceptions.py``, ``box/exceptions.py``), each naming its
kind in its class line; :class:`ErrorKinds` is a service's status -> class map. Imports nothing of the provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

try:  # the DAM client works without Airflow (tools, scripts); inside Airflow the errors are AirflowExceptions
    from airflow.sdk.exceptions import AirflowException
except ImportError:  # pragma: no cover
    AirflowException = Exception  # type: ignore[misc,assignment]  # the fallback base where Airflow is absent

#: config, auth, not found, bad request: the task fails at once. Rate limit, server, transport, integrity: the
#: retry layer tries again. Conflict: neither (Airflow's task retries decide).
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
    A subclass names its kind in its class line (``class XAuthError(XError, kind="auth")``).
    """

    kind: Kind = "other"
    permanent: bool = False
    retryable: bool = False
    #: Seconds the service asked to wait (``Retry-After``) before the next attempt, when it said so.
    retry_after: float | None = None
    #: The HTTP status of the answer, when there was one.
    status: int | None = None

    def __init_subclass__(cls, *, kind: Kind | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind, cls.permanent, cls.retryable = kind, kind in PERMANENT_KINDS, kind in RETRYABLE_KINDS

    def reworded(self, message: str) -> Self:
        """The same error (type, status, permanent, retryable...) with another message."""
        copy = type(self).__new__(type(self))
        ServiceError.__init__(copy, message)
        copy.__dict__.update(self.__dict__)
        return copy


E = TypeVar("E", bound=ServiceError)


@dataclass(frozen=True)
class ErrorKinds(Generic[E]):
    """A service's error classes by the HTTP status they stand for."""

    auth: type[E]
    not_found: type[E]
    conflict: type[E]
    bad_request: type[E]
    rate_limit: type[E]
    server: type[E]
    conflict_statuses: frozenset[int] = frozenset({409})

    def class_for(self, status: int) -> type[E]:
        if status in (401, 403):
            return self.auth
        if status == 404:
            return self.not_found
        if status in self.conflict_statuses:
            return self.conflict
        if status == 429:
            return self.rate_limit
        return self.server if status >= 500 else self.bad_request
