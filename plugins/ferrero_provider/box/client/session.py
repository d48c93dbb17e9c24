"""The SDK client of a :class:`BoxConnection`: its authentication (JWT, unencrypted keys included, or CCG) and
its network session (one ``requests.Session`` with the connection's TLS and proxy options, the policy's
timeouts). The SDK's own retry strategy only speaks Box's protocol (a 401 fetches a new token once; a 202 with
``Retry-After`` is asked again); errors are retried by the client's one retry layer (``client.calls``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from box_sdk_gen import (
    BaseUrls,
    BoxClient,
    BoxNetworkClient,
    CCGConfig,
    JWTConfig,
    NetworkSession,
    TimeoutConfig,
)
from box_sdk_gen.internal.utils import PrivateKeyDecryptor
from box_sdk_gen.networking.retries import RetryStrategy

from ferrero_provider.box.client.tokens import SharedCCGAuth, SharedJWTAuth, SharedTokenStorage, token_storage
from ferrero_provider.common.http_session import client_session
from ferrero_provider.common.retry import parse_retry_after

if TYPE_CHECKING:
    import requests
    from box_sdk_gen.networking.fetch_options import FetchOptions
    from box_sdk_gen.networking.fetch_response import FetchResponse

    from ferrero_provider.box.client.box_connection import BoxConnection
    from ferrero_provider.common.retry import RetryPolicy
    from ferrero_provider.common.token_cache import TokenCache

log = logging.getLogger(__name__)


class _KeyDecryptor(PrivateKeyDecryptor):
    """Loads the JWT private key whether or not it is encrypted (the SDK's default needs an encrypted key)."""

    def decrypt_private_key(self, encryptedPrivateKey: str, passphrase: str) -> Any:  # noqa: N803 - SDK's name
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        pem = encryptedPrivateKey.encode()
        password = passphrase.encode() if passphrase else None
        try:
            return load_pem_private_key(pem, password=password)
        except TypeError:  # a passphrase for an unencrypted key (or none for an encrypted one)
            return load_pem_private_key(pem, password=None)


class ProtocolStrategy(RetryStrategy):
    """Box's protocol, not error retries: on a 401, fetch a new token once and ask again at once; a 202 with
    ``Retry-After`` (still working) is asked again after that wait, up to ``max_attempts`` requests."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # the SDK's RetryStrategy.__init__ has no annotations
        self.policy = policy

    def should_retry(self, fetch_options: FetchOptions, fetch_response: FetchResponse, attempt_number: int) -> bool:
        status = fetch_response.status
        if status == 401 and fetch_options.auth is not None and not getattr(fetch_options, "_token_renewed", False):
            # a mark on this request's options (the SDK's class has no such field): its token was renewed once
            fetch_options._token_renewed = True  # type: ignore[attr-defined]
            log.info("Box answered 401 for %s %s; fetching a new token", fetch_options.method, fetch_options.url)
            auth, storage = fetch_options.auth, getattr(fetch_options.auth, "token_storage", None)
            if isinstance(storage, SharedTokenStorage) and isinstance(auth, (SharedCCGAuth, SharedJWTAuth)):
                storage.renew(auth, fetch_options.network_session)  # a token another process renewed, or a new one
            else:
                auth.refresh_token(network_session=fetch_options.network_session)
            return True
        return (status == 202 and attempt_number < self.policy.max_attempts
                and fetch_response.headers.get("Retry-After") is not None)

    def retry_after(self, fetch_options: FetchOptions, fetch_response: FetchResponse, attempt_number: int) -> float:
        if fetch_response.status == 401:
            return 0.0
        headers = fetch_response.headers or {}
        return self.policy.wait_for(attempt_number, parse_retry_after(headers.get("Retry-After")))


def http_session(connection: BoxConnection) -> requests.Session:
    """The one ``requests.Session`` of a client: the connection's CA bundle, client certificate and proxies."""
    return client_session(connection.http)


def auth_of(connection: BoxConnection, tokens: TokenCache | None = None) -> SharedCCGAuth | SharedJWTAuth:
    """The connection's authentication; its token shared by the host's processes (``tokens``: the host's cache
    by default, see ``common.token_cache``)."""
    c = connection
    enterprise = None if c.user_id else c.enterprise_id
    storage = token_storage(c, tokens)
    if c.auth_mode == "ccg":
        return SharedCCGAuth(config=CCGConfig(client_id=c.client_id, client_secret=c.client_secret,
                                              enterprise_id=enterprise, user_id=c.user_id, token_storage=storage))
    config = JWTConfig(
        client_id=c.client_id, client_secret=c.client_secret, jwt_key_id=str(c.jwt_key_id),
        private_key=str(c.jwt_private_key).replace("\\n", "\n"),
        private_key_passphrase=c.jwt_private_key_passphrase or "",
        enterprise_id=enterprise, user_id=c.user_id, private_key_decryptor=_KeyDecryptor(), token_storage=storage,
    )
    return SharedJWTAuth(config=config)


def sdk_client(connection: BoxConnection, policy: RetryPolicy, http: requests.Session,
               tokens: TokenCache | None = None) -> BoxClient:
    """The SDK client over ``http``, pointed at the connection's base URLs; its token shared through ``tokens``."""
    c = connection
    session = NetworkSession(
        base_urls=BaseUrls(base_url=c.base_url, upload_url=c.upload_url, oauth_2_url=c.oauth_url),
        retry_strategy=ProtocolStrategy(policy),
        timeout_config=TimeoutConfig(connection_timeout_ms=int(policy.timeout[0] * 1000),
                                     read_timeout_ms=int(policy.timeout[1] * 1000)),
        network_client=BoxNetworkClient(requests_session=http),
    )
    return BoxClient(auth=auth_of(c, tokens), network_session=session)
