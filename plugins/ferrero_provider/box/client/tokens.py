"""The Box access token, shared by the task processes of a host (``common.token_cache``): the SDK's
``TokenStorage`` over the host's cache, and its two authentications (CCG, JWT) fetching a missing token once for
all the processes that need it at the same moment.

The SDK asks its storage for the token before every request and fetches a new one only when the storage has
none; on a 401 (a token revoked or expired early) the client's ``ProtocolStrategy`` fetches a new one, which is
stored here for everyone. A token is handed out until ``EXPIRY_MARGIN_SECONDS`` before the expiry Box announced.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from box_sdk_gen import AccessToken, BoxCCGAuth, BoxJWTAuth
from box_sdk_gen.box.token_storage import TokenStorage
from box_sdk_gen.schemas.access_token import AccessTokenTokenTypeField

from ferrero_provider.common.token_cache import TokenCache, cache_key

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from box_sdk_gen import NetworkSession

    from ferrero_provider.box.client.box_connection import BoxConnection

#: Stop handing out a token this long before the expiry Box announced (a task's call must not meet its end).
EXPIRY_MARGIN_SECONDS = 120.0
#: When Box announces no lifetime (it announces about an hour).
DEFAULT_LIFETIME_SECONDS = 3000.0


class SharedTokenStorage(TokenStorage):
    """The token in memory while it lasts, else the host's cache; what is stored goes to both."""

    def __init__(self, cache: TokenCache, key: str) -> None:
        self.cache, self.key = cache, key
        self._token: AccessToken | None = None
        self._expires_at = 0.0

    def get(self) -> AccessToken | None:
        if self._token is not None and time.time() < self._expires_at:
            return self._token
        self._token = None
        value = self.cache.get(self.key)
        if value is None or not value.get("access_token"):
            return None
        # Box's tokens are all bearer tokens (the SDK's enum has that one value): the type is not kept
        self._token = AccessToken(access_token=str(value["access_token"]), token_type=AccessTokenTokenTypeField.BEARER)
        self._expires_at = float(value["expires_at"])
        return self._token

    def store(self, token: AccessToken) -> None:
        lifetime = float(token.expires_in) if token.expires_in else DEFAULT_LIFETIME_SECONDS
        expires_at = time.time() + max(0.0, lifetime - EXPIRY_MARGIN_SECONDS)
        self._token, self._expires_at = token, expires_at
        self.cache.put(self.key, {"access_token": token.access_token, "expires_at": expires_at}, expires_at)

    def clear(self) -> None:
        self._token = None
        self.cache.drop(self.key)

    def renew(self, auth: SharedCCGAuth | SharedJWTAuth, network_session: NetworkSession | None) -> AccessToken:
        """After a 401: drop the refused token (unless another process replaced it already), then take the one
        another process stored since, or fetch a new one (once for the host)."""
        refused, self._token = self._token, None
        if refused is not None and refused.access_token:
            self.cache.drop(self.key, {"access_token": refused.access_token})
        return _retrieve(auth, network_session)

    def fetching(self) -> AbstractContextManager[None]:
        """The key's fetch lock (one process fetches, the others then read its token)."""
        return self.cache.fetching(self.key)


def _retrieve(auth: SharedCCGAuth | SharedJWTAuth, network_session: NetworkSession | None) -> AccessToken:
    storage = auth.token_storage
    token = storage.get()
    if token is not None:
        return token
    if not isinstance(storage, SharedTokenStorage):
        return auth.refresh_token(network_session=network_session)
    with storage.fetching():
        token = storage.get()  # another process may have fetched it while this one waited
        return token if token is not None else auth.refresh_token(network_session=network_session)


class SharedCCGAuth(BoxCCGAuth):
    """Client Credentials Grant; a missing token fetched once for the host."""

    def retrieve_token(self, *, network_session: NetworkSession | None = None) -> AccessToken:
        return _retrieve(self, network_session)


class SharedJWTAuth(BoxJWTAuth):
    """JWT; a missing token fetched once for the host."""

    def retrieve_token(self, *, network_session: NetworkSession | None = None) -> AccessToken:
        return _retrieve(self, network_session)


def token_storage(connection: BoxConnection, cache: TokenCache | None = None) -> SharedTokenStorage:
    """The storage of the connection's token: keyed by where and as whom it authenticates (a hash, with the
    secret's, so a changed connection never gets another one's token)."""
    c = connection
    key = cache_key("box", c.oauth_url, c.base_url, c.auth_mode, c.client_id, c.enterprise_id, c.user_id,
                    c.jwt_key_id, c.client_secret, c.jwt_private_key, repr(c.http))
    return SharedTokenStorage(cache or TokenCache.default(), key)
