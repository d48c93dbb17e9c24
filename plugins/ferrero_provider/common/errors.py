"""The one distinction every service error makes: permanent (fail the task at once) or transient (retry)."""

from __future__ import annotations

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


#: The kinds every service's errors come in, kind -> (class name suffix, what it means): those that fail the task at
#: once, those the retry layer tries again, and the conflict (neither: Airflow's task retries decide).
_PERMANENT = {
    "config": ("ConfigError", "The Airflow connection is incomplete or invalid (a field is missing or malformed)."),
    "auth": ("AuthError", "The service refused the credentials or the permission (HTTP 401/403)."),
    "not_found": ("NotFoundError", "The object does not exist, or the account cannot see it (HTTP 404)."),
    "bad_request": ("BadRequestError", "The service refused the request as invalid (HTTP 400 or another 4xx)."),
}
_RETRYABLE = {
    "rate_limit": ("RateLimitError", "The service kept answering HTTP 429 until the retries ran out."),
    "server": ("ServerError", "The service kept failing with a server error (HTTP 5xx) until the retries ran out."),
    "transport": ("TransportError", "The service could not be reached, timed out or cut a response short."),
    "integrity": ("IntegrityError", "A transferred file's size or digest does not match what the service reports."),
}
_CONFLICT = ("ConflictError", "The service refused the change because of the object's state (HTTP 409).")
KIND_ORDER = ("config", "auth", "not_found", "conflict", "bad_request", "rate_limit", "server", "transport", "integrity")


class ErrorKinds:
    """A service's error classes, one a kind (made by :func:`error_kinds`), and the one status -> class map."""

    def __init__(self, classes: dict[str, type[ServiceError]], conflict_statuses: frozenset[int]) -> None:
        self.by_kind = classes
        self.conflict_statuses = conflict_statuses

    @property
    def classes(self) -> tuple[type[ServiceError], ...]:
        """The classes in the order of the kinds: config, auth, not found, conflict, bad request, rate limit,
        server, transport, integrity."""
        return tuple(self.by_kind[key] for key in KIND_ORDER)

    def class_for(self, status: int) -> type[ServiceError]:
        if status in (401, 403):
            kind = "auth"
        elif status == 404:
            kind = "not_found"
        elif status in self.conflict_statuses:
            kind = "conflict"
        elif status == 429:
            kind = "rate_limit"
        else:
            kind = "server" if status >= 500 else "bad_request"
        return self.by_kind[kind]


def error_kinds(base: type[ServiceError], prefix: str, module: str,
                conflict_statuses: frozenset[int] = frozenset({409})) -> ErrorKinds:
    """The subclasses of ``base`` for every kind, named ``<prefix><Kind>Error`` and living in ``module`` (bind
    them there under those names, so that they pickle)."""
    made: dict[str, type[ServiceError]] = {}
    for key in KIND_ORDER:
        suffix, doc = _PERMANENT.get(key) or _RETRYABLE.get(key) or _CONFLICT
        name = prefix + suffix
        made[key] = type(name, (base,), {"permanent": key in _PERMANENT, "retryable": key in _RETRYABLE,
                                         "__doc__": doc, "__module__": module, "__qualname__": name})
    return ErrorKinds(made, conflict_statuses)


def classified(error: E, status: int | None, policy: RetryPolicy, retry_after: float | None = None) -> E:
    """``error`` marked retryable exactly when ``policy`` lists its status (429 always); a status the policy
    lists is never permanent. ``retry_after``: what the answer's ``Retry-After`` asked."""
    error.retryable = status is not None and policy.is_retryable_status(status)
    error.permanent = error.permanent and not error.retryable
    error.retry_after = retry_after
    return error
