"""The one DAM connection reader (ferrero_provider/otmm/dam_connection.py): the hook, the client on its own and the
tools read one stored value the same way, and the CA bundle, client certificate and proxies of its extras reach
the requests session the DAM client talks through (over https too, with a CA of the test's own)."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest
import requests

from ferrero_provider.common.connection_fields import ConnectionFields
from ferrero_provider.common.retry import RetryPolicy
from ferrero_provider.otmm.client import OtmmClient
from ferrero_provider.otmm.client.settings import DamSettings
from ferrero_provider.otmm.dam_connection import DamConnection
from ferrero_provider.otmm.exceptions import OtmmConfigError, OtmmTransportError
from ferrero_provider.otmm.hooks import OtmmHook
from tests.plugins.conftest import otmm_connection

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sandbox.testing import RunningSandbox

DAM_SETTINGS = DamSettings(timeout_seconds=10, job_timeout_seconds=10, job_poll_seconds=0.1, page_size=10,
                           status_field="S", number_field="N", final_assets_folder_name="Final Assets",
                           domain_cache_ttl_seconds=0, domain_cache_file=None)
PROXIES = {"https": "http://proxy.invalid:3128"}


def client(conn: DamConnection) -> OtmmClient:
    return OtmmClient(conn, settings=DAM_SETTINGS, retry=RetryPolicy(max_attempts=1, initial_delay_seconds=0))


def test_tls_and_proxy_extras_reach_the_session(sandbox: RunningSandbox, tmp_path: Path) -> None:
    ca, cert = tmp_path / "ca.pem", tmp_path / "client.pem"
    ca.write_text("ca"), cert.write_text("cert")
    value = otmm_connection(sandbox, extra={"verify": str(ca), "cert": str(cert), "proxies": PROXIES})
    conn = DamConnection.from_connection(ConnectionFields.from_value("otmm_default", value))
    dam = client(conn)
    session = dam.transport.get_conn()  # logs in to the (http) sandbox DAM: the https proxy and the CA are not used
    assert (session.verify, session.cert, session.proxies) == (str(ca), str(cert), PROXIES)
    assert "X-Requested-By" in session.headers
    dam.close()


def test_hook_environment_and_client_read_one_value_alike(sandbox: RunningSandbox,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    value = otmm_connection(sandbox, "otds", extra={"verify": "false", "proxy": "http://proxy:3128"})
    monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", value)
    from_hook = OtmmHook().conn_settings
    assert from_hook == DamConnection.from_environment() == DamConnection.from_connection(
        ConnectionFields.from_value("otmm_default", value))
    assert from_hook.http.verify is False
    assert from_hook.http.proxies == {"http": "http://proxy:3128", "https": "http://proxy:3128"}
    assert from_hook.who.startswith("client ")


@pytest.mark.parametrize(("conn", "sentence"), [
    ({"host": "dam.example.com", "schema": "https", "port": 8443, "login": "u", "password": "p"}, None),
    ({"host": ""}, "Airflow connection 'otmm_default' has no host; set it to the DAM API base URL, e.g. "
                   "https://dam.example.com/otmmapi/v6."),
    ({"host": "ftp://dam"}, "Airflow connection 'otmm_default' has a host that is not an http(s) URL: 'ftp://dam'."),
    ({"host": "https://dam", "extra": {"auth_mode": "kerberos"}},
     "Airflow connection 'otmm_default' has auth_mode 'kerberos'; use one of session, oauth, otds."),
    ({"host": "https://dam", "login": "u", "extra": {"auth_mode": "oauth", "client_id": "c"}},
     "Airflow connection 'otmm_default' uses auth_mode oauth but has no password and no client_secret."),
])
def test_connection_fields_are_checked(conn: dict, sentence: str | None) -> None:
    fields = ConnectionFields.from_value("otmm_default", json.dumps({"conn_type": "otmm", **conn}))
    if sentence is None:
        assert DamConnection.from_connection(fields).base_url == "https://dam.example.com:8443/otmmapi/v6"
        return
    with pytest.raises(OtmmConfigError) as caught:
        DamConnection.from_connection(fields)
    assert str(caught.value) == sentence


# ---- a real TLS handshake with a CA bundle from the connection --------------------------------------------------


class _Sessions(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.dumps({"session_resource": {"session": {"id": "42"}}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_dam(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A DAM login endpoint over https with a self-signed certificate for 127.0.0.1: (base URL, the CA file)."""
    cert, key = tmp_path / "dam.pem", tmp_path / "dam.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=dam",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sessions)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/otmmapi/v6", cert
    finally:
        server.shutdown()
        server.server_close()


def test_the_ca_bundle_of_the_connection_is_trusted(https_dam: tuple[str, Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url, ca = https_dam
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

    def dam(extra: dict) -> OtmmClient:
        value = json.dumps({"conn_type": "otmm", "host": url, "login": "u", "password": "p", "extra": extra})
        return client(DamConnection.from_connection(ConnectionFields.from_value("otmm_default", value)))

    trusted = dam({"verify": str(ca)})
    assert trusted.transport.get_conn().headers["X-Requested-By"] == "42"
    trusted.close()
    with pytest.raises(OtmmTransportError) as caught:
        dam({}).transport.get_conn()
    assert isinstance(caught.value.__cause__, requests.exceptions.SSLError)
