"""The one distinction every service error makes: permanent (fail the task at once) or transient (retry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ferrero_provider.common.retry import RetryPolicy

try:  # the DAM client works without Airflow (tools, scripts); inside Airflow the errors are AirflowExceptions
    from airflow.sdk.exceptions import AirflowException
except ImportError:  # pragma: no cover
    AirflowException = Exception  # type: ignore[misc,assignment]


class ServiceError(AirflowException):
    """A DAM or Box call failed.

    ``permanent``: trying again cannot help (a refused request, credentials, a missing object: HTTP 400, 401,
    403, 404, 422...), so the Airflow task fails at once. ``retryable``: the hook's retry layer tries again (429,
    the configured 5xx codes, connection errors, timeouts, cut bodies). Neither: the hook gives up at once and
    Airflow's task retries decide (a conflict, a 5xx not in ``retry.retryable_http_codes``, a failed job).
    """

    permanent: bool = False
    retryable: bool = False
    #: Seconds the service asked to wait (``Retry-After``) before the next attempt, when it said so.
    retry_after: float | None = None

    def reworded(self, message: str) -> ServiceError:
        """The same error (type, status, permanent, retryable...) with another message."""
        copy = type(self).__new__(type(self))
        ServiceError.__init__(copy, message)
        copy.__dict__.update(self.__dict__)
        return copy


E = TypeVar("E", bound=ServiceError)


@dataclass(frozen=True)
class StatusMap:
    """A service's exception classes by HTTP status: the one status -> exception mapping of every client."""

    auth: type[ServiceError]
    not_found: type[ServiceError]
    conflict: type[ServiceError]
    rate_limit: type[ServiceError]
    server: type[ServiceError]
    bad_request: type[ServiceError]
    conflict_statuses: frozenset[int] = frozenset({409})

    def class_for(self, status: int) -> type[ServiceError]:
        if status in (401, 403):
            return self.auth
        if status == 404:
            return self.not_found
        if status in self.conflict_statuses:
            return self.conflict
        if status == 429:
            return self.rate_limit
        return self.server if status >= 500 else self.bad_request


def classified(error: E, status: int | None, policy: RetryPolicy, retry_after: float | None = None) -> E:
    """``error`` marked retryable exactly when ``policy`` lists its status (429 always); a status the policy
    lists is never permanent. ``retry_after``: what the answer's ``Retry-After`` asked."""
    error.retryable = status is not None and policy.is_retryable_status(status)
    error.permanent = error.permanent and not error.retryable
    error.retry_after = retry_after
    return error
