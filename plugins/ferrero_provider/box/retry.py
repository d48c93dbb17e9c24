"""The SDK's retry strategy, driven by the config's retry policy (instead of the SDK's fixed defaults)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from box_sdk_gen.networking.retries import RetryStrategy

from ferrero_provider.common.retry import parse_retry_after

if TYPE_CHECKING:
    from box_sdk_gen.networking.fetch_options import FetchOptions
    from box_sdk_gen.networking.fetch_response import FetchResponse

    from ferrero_provider.common.retry import RetryPolicy

log = logging.getLogger(__name__)


class PolicyRetryStrategy(RetryStrategy):
    """Retry 429 (``Retry-After`` honoured), the policy's 5xx codes, 202 + ``Retry-After`` and network errors,
    up to ``max_attempts`` requests in total; on a 401, fetch a new token once and retry at once."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__()
        self.policy = policy

    def should_retry(self, fetch_options: FetchOptions, fetch_response: FetchResponse, attempt_number: int) -> bool:
        status = fetch_response.status
        if status == 401 and fetch_options.auth is not None and not getattr(fetch_options, "_token_renewed", False):
            fetch_options._token_renewed = True  # type: ignore[attr-defined]
            log.info("Box answered 401 for %s %s; fetching a new token", fetch_options.method, fetch_options.url)
            fetch_options.auth.refresh_token(network_session=fetch_options.network_session)
            return True
        if attempt_number >= self.policy.max_attempts:
            return False
        if status == 0:  # connection error or timeout
            return True
        if status == 202:
            return fetch_response.headers.get("Retry-After") is not None
        return self.policy.is_retryable_status(status)

    def retry_after(self, fetch_options: FetchOptions, fetch_response: FetchResponse, attempt_number: int) -> float:
        if fetch_response.status == 401:
            return 0.0
        headers = fetch_response.headers or {}
        wait = self.policy.wait_for(attempt_number, parse_retry_after(headers.get("Retry-After")))
        if fetch_response.status != 202:
            log.warning("Box: %s %s answered %s (attempt %d of %d); retrying in %.1f s", fetch_options.method,
                        fetch_options.url.split("?")[0], fetch_response.status or "a network error", attempt_number,
                        self.policy.max_attempts, wait)
        return wait
