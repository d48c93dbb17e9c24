"""The retry policy of every DAM / Box HTTP call, given to the hooks (built from the config's ``retry`` section
by whoever builds the hooks).

Retried: HTTP 429 (waiting what ``Retry-After`` asks), the retryable codes of the config (5xx), connection
errors, timeouts and truncated bodies. Never any other 4xx. Waits grow exponentially with jitter, capped.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any

import tenacity

from ferrero_provider.common.error_text import scrub
from ferrero_provider.common.errors import E, ServiceError

#: Told before each wait: (the attempt that failed, the attempts allowed, its error, the seconds about to wait).
OnRetry = Callable[[int, int, BaseException, float], None]

#: A server asking for more than this many seconds in Retry-After is treated as asking for this long.
MAX_RETRY_AFTER_SECONDS = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; ``backoff(n)`` is the wait after failed attempt ``n`` (1-based)."""

    max_attempts: int = 3
    initial_delay_seconds: float = 5.0
    max_delay_seconds: float = 60.0
    retryable_http_codes: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    request_timeout_seconds: float = 60.0
    connect_timeout_seconds: float = 10.0
    max_retry_after_seconds: float = MAX_RETRY_AFTER_SECONDS
    exponential: bool = True

    def with_overrides(self, **overrides: Any) -> RetryPolicy:
        known = {k: v for k, v in overrides.items() if v is not None}
        if "retryable_http_codes" in known:
            known["retryable_http_codes"] = frozenset(int(c) for c in known["retryable_http_codes"])
        policy = replace(self, **known)
        if policy.max_attempts < 1:
            raise ValueError("retry max_attempts must be at least 1")
        return policy

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) timeout for ``requests``."""
        return (min(self.connect_timeout_seconds, self.request_timeout_seconds), self.request_timeout_seconds)

    def is_retryable_status(self, status: int) -> bool:
        return status == 429 or status in self.retryable_http_codes

    def classified(self, error: E, status: int | None, retry_after: float | None = None) -> E:
        """``error`` marked retryable exactly when this policy lists its status (429 always); a status the policy
        lists is never permanent. ``retry_after``: what the answer's ``Retry-After`` asked."""
        error.retryable = status is not None and self.is_retryable_status(status)
        error.permanent = error.permanent and not error.retryable
        error.retry_after = retry_after
        return error

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt``: exponential (or constant) with ±50 % jitter."""
        if self.initial_delay_seconds <= 0:
            return 0.0
        base = self.initial_delay_seconds * (2 ** (attempt - 1) if self.exponential else 1)
        base = min(base, self.max_delay_seconds)
        return min(self.max_delay_seconds, base * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not crypto

    def retrying(self, on_retry: OnRetry, attempts: int | None = None) -> tenacity.Retrying:
        """The one retry layer of a client: retryable :class:`ServiceError` s, up to ``attempts`` (default
        ``max_attempts``), waiting what the error's ``Retry-After`` asked or the backoff."""
        allowed = attempts or self.max_attempts

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.wait_for(state.attempt_number, getattr(exc, "retry_after", None))

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            on_retry(state.attempt_number, allowed, exc or RuntimeError("?"),
                     state.next_action.sleep if state.next_action else 0.0)

        return tenacity.Retrying(stop=tenacity.stop_after_attempt(allowed), wait=wait,
                                 retry=tenacity.retry_if_exception(_retryable), before_sleep=before_sleep,
                                 reraise=True)

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        """The wait before the next attempt: what Retry-After asks (capped), else the backoff."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after_seconds))
        return self.backoff(attempt)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ServiceError) and exc.retryable


def final_error(exc: E, attempts: int, secrets: tuple[str | None, ...]) -> E:
    """The error to raise once retrying is over: same type and kind, its message one scrubbed sentence that
    counts the attempts when there were several."""
    message = str(exc).rstrip(".")
    if attempts > 1 and exc.retryable:
        message += f", after {attempts} attempts"
    return exc.reworded(scrub(message, secrets) + ".")


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import datetime, timezone

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None
