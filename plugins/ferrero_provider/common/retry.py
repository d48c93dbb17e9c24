"""The retry policy of every DAM / Box HTTP call, read from the config's ``retry`` section.

Retried: HTTP 429 (waiting what ``Retry-After`` asks), the retryable codes of the config (5xx), connection
errors, timeouts and truncated bodies. Never any other 4xx. Waits grow exponentially with jitter, capped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any

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

    @classmethod
    def from_config(cls, config: dict[str, Any] | None = None, **overrides: Any) -> RetryPolicy:
        """The policy of ``config['retry']`` (loaded lazily when not given); keyword overrides win."""
        if config is None:
            from include.ferrero.config import load_config

            config = load_config()
        section = config.get("retry") or {}
        policy = cls(
            max_attempts=int(section.get("max_attempts", cls.max_attempts)),
            initial_delay_seconds=float(section.get("initial_delay_seconds", cls.initial_delay_seconds)),
            max_delay_seconds=float(section.get("max_delay_seconds", cls.max_delay_seconds)),
            retryable_http_codes=frozenset(int(c) for c in section.get("retryable_http_codes", (429, 500, 502, 503, 504))),
            request_timeout_seconds=float(section.get("request_timeout_seconds", cls.request_timeout_seconds)),
            exponential=str(section.get("backoff", "exponential")).lower() == "exponential",
        )
        return policy.with_overrides(**overrides)

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

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt``: exponential (or constant) with ±50 % jitter."""
        if self.initial_delay_seconds <= 0:
            return 0.0
        base = self.initial_delay_seconds * (2 ** (attempt - 1) if self.exponential else 1)
        base = min(base, self.max_delay_seconds)
        return min(self.max_delay_seconds, base * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not crypto

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        """The wait before the next attempt: what Retry-After asks (capped), else the backoff."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after_seconds))
        return self.backoff(attempt)


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
