"""The one distinction every service error makes: permanent (fail the task at once) or transient (retry)."""

from __future__ import annotations

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
