"""The clients' session reads the environment's proxy and CA settings once per host, and merges them exactly as
requests does for every request."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from ferrero_provider.common.connection_fields import HttpOptions
from ferrero_provider.common.http_session import client_session

if TYPE_CHECKING:
    from pathlib import Path

URLS = ("https://dam.example.com/otmmapi/v6/assets", "http://127.0.0.1:8080/2.0/files/1",
        "https://internal.corp/api", "https://dam.example.com/otmmapi/v6/jobs/7")


@pytest.mark.parametrize("options", [HttpOptions(), HttpOptions(verify=False, proxies={"https": "http://p:1"}),
                                     HttpOptions(trust_env=False)])
def test_merges_what_requests_merges(options: HttpOptions, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("ca")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "internal.corp,127.0.0.1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    steady, plain = client_session(options), options.apply(requests.Session())
    for _ in range(2):  # the second round comes from what the first one read
        for url in URLS:
            for verify in (None, False, "/other/ca.pem"):
                assert steady.merge_environment_settings(url, {}, None, verify, None) == \
                    plain.merge_environment_settings(url, {}, None, verify, None), (url, verify)


def test_reads_the_environment_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    session = client_session(HttpOptions())
    assert session.merge_environment_settings(URLS[0], {}, None, None, None)["proxies"]["https"] == \
        "http://proxy.corp:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://changed:1")  # a task's environment does not change; if it did...
    assert session.merge_environment_settings(URLS[3], {}, None, None, None)["proxies"]["https"] == \
        "http://proxy.corp:3128", "same host: read once"
    assert client_session(HttpOptions()).merge_environment_settings(URLS[3], {}, None, None, None)[
        "proxies"]["https"] == "http://changed:1", "a new session reads it again"
