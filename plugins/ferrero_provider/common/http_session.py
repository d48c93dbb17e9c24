"""The one HTTP session of a client (DAM, Box): the connection's TLS and proxy options, the transfer adapter, and
the environment's proxy and CA settings read once per host instead of once per request."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

from ferrero_provider.common.streams import TransferAdapter

if TYPE_CHECKING:
    from ferrero_provider.common.connection_fields import HttpOptions


class SteadySession(requests.Session):
    """A ``requests.Session`` that reads the environment's proxy settings (``*_proxy``, ``no_proxy``) and CA bundle
    (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) once per host, where requests reads them again for every request:
    a scan of the whole environment each time, measured at 3-7 ms of CPU a request on this 2-core machine, a third
    of a derivative task's own CPU over its ~15 DAM and Box calls. The environment does not change during a task;
    what is merged, and in which order, is what requests merges (``Session.merge_environment_settings``)."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[str, str, str | None], tuple[dict[str, str], str | None]] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        if not self.trust_env or not isinstance(url, str):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        no_proxy = proxies.get("no_proxy") if proxies is not None else None
        key = (parts.scheme, parts.netloc, no_proxy)
        found = self._environment.get(key)
        if found is None:
            found = (get_environ_proxies(url, no_proxy=no_proxy),
                     os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"))
            self._environment[key] = found
        env_proxies, ca_bundle = found
        proxies = dict(proxies or {})
        for scheme, address in env_proxies.items():
            proxies.setdefault(scheme, address)
        if (verify is True or verify is None) and ca_bundle:
            verify = ca_bundle
        merge: Any = merge_setting  # requests' own, unannotated
        return {"proxies": merge(proxies, self.proxies), "stream": merge(stream, self.stream),
                "verify": merge(verify, self.verify), "cert": merge(cert, self.cert)}


def client_session(options: HttpOptions) -> requests.Session:
    """A client's session: ``options`` (CA bundle, client certificate, proxies, trust_env) and the transfer adapter
    (bodies checked whole) on http and https."""
    session = options.apply(SteadySession())
    adapter = TransferAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
