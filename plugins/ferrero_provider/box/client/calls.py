"""The one call path of the Box client: the SDK client and HTTP session made on first use, every SDK call
translated into a :class:`BoxError` (one error map: ``box.exceptions``) and retried by one layer driven by the
:class:`RetryPolicy` (429 after ``Retry-After``, the policy's 5xx codes, network errors, bodies cut short)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import requests
from box_sdk_gen import BoxAPIError, BoxSDKError

from ferrero_provider.box.client.session import http_session, sdk_client
from ferrero_provider.box.exceptions import BoxError, BoxTransportError, api_error
from ferrero_provider.common.error_text import one_line, scrub
from ferrero_provider.common.retry import RetryPolicy, final_error
from ferrero_provider.common.token_cache import TokenCache

if TYPE_CHECKING:
    from collections.abc import Callable

    from box_sdk_gen import BoxClient

    from ferrero_provider.box.client.box_connection import BoxConnection

T = TypeVar("T")
log = logging.getLogger("ferrero_provider.box")


@dataclass(frozen=True)
class BoxSettings:
    """The workflow's Box settings (the project config's ``box`` section, given by whoever builds the client)."""

    chunked_upload_threshold_mb: float = 50
    masters_folder_name: str = "Masters"
    derivatives_folder_name: str = "Derivatives"
    root_folder_id: str = "0"
    #: Parts of a chunked upload sent in parallel at most.
    upload_workers: int = 3


class BoxCalls:
    """The connection (read on first use from ``connection``), the policy, the SDK client and the call path."""

    def __init__(self, connection: Callable[[], BoxConnection], *, retry: RetryPolicy | None = None,
                 settings: BoxSettings | None = None) -> None:
        self._read_connection = connection
        self._connection: BoxConnection | None = None
        self.policy = retry or RetryPolicy()
        self.settings = settings or BoxSettings()
        self._client: BoxClient | None = None
        self._http: requests.Session | None = None
        self._lock = threading.Lock()
        #: Where the access token is shared with the host's other processes (``TokenCache(None)``: this client's own).
        self.tokens = TokenCache.default()

    @property
    def connection(self) -> BoxConnection:
        if self._connection is None:
            self._connection = self._read_connection()
        return self._connection

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return self.connection.secrets

    def sdk(self) -> BoxClient:
        """The SDK client (created on first use)."""
        with self._lock:
            if self._client is None:
                self._http = http_session(self.connection)
                self._client = sdk_client(self.connection, self.policy, self._http, self.tokens)
            return self._client

    def http(self) -> requests.Session:
        """The session the SDK client sends through (download URLs are streamed with it too)."""
        self.sdk()
        assert self._http is not None
        return self._http

    def reset(self) -> None:
        """Forget the SDK client (the next call authenticates again)."""
        with self._lock:
            self._client = None

    def _on_retry(self, attempt: int, allowed: int, exc: BaseException, wait: float) -> None:
        log.warning("Box: attempt %d of %d failed (%s); retrying in %.1f s", attempt, allowed,
                    scrub(str(exc), self.secrets), wait)

    def retried(self, fn: Callable[[], T], *, retry: bool = True) -> T:
        """Run ``fn`` (raising :class:`BoxError` s) under the one retry layer; the error that ends it says how
        many attempts were made, credentials scrubbed."""
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            return fn()

        try:
            return self.policy.retrying(self._on_retry, None if retry else 1)(attempt)
        except BoxError as exc:
            raise final_error(exc, attempts, self.secrets) from None

    def translated(self, operation: str, fn: Callable[[BoxClient], T]) -> T:
        """One SDK call, once; every failure a :class:`BoxError`."""
        client = self.sdk()
        try:
            return fn(client)
        except BoxAPIError as exc:
            raise api_error(operation, exc, self.policy) from None
        except BoxSDKError as exc:
            cause = exc.error if isinstance(getattr(exc, "error", None), BaseException) else None
            what = "no answer in time" if isinstance(cause, requests.Timeout) else (
                f"connection failed ({type(cause).__name__})" if cause else one_line(exc.message))
            raise BoxTransportError(f"Box request failed while {operation}: {what}") from None
        except requests.RequestException as exc:
            raise BoxTransportError(f"Box request failed while {operation}: the answer was cut short "
                                    f"({type(exc).__name__})") from None

    def call(self, operation: str, fn: Callable[[BoxClient], T], *, retry: bool = True) -> T:
        """One SDK call with retries."""
        return self.retried(lambda: self.translated(operation, fn), retry=retry)
