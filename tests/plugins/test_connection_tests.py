"""The UI's **Test** button for every product connection, against the sandbox speaking the real protocols: each
answer is one meaningful sentence, within seconds, naming the service's address when it is down."""

from __future__ import annotations

import json
import socket
import time
from typing import TYPE_CHECKING

import pytest
import requests

from ferrero_provider.notifications.hooks import MailgunHook, StatusWebhookHook
from ferrero_provider.otmm.hooks import OtmmHook
from sandbox.connections import product_connections
from tests.plugins.conftest import Faults, otmm_connection

if TYPE_CHECKING:
    from sandbox.testing import RunningSandbox


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def product(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict]:
    """The sandbox's product connections (as `make up` stores them), set as AIRFLOW_CONN_* variables."""
    env = product_connections(sandbox.data_dir)
    for key, value in env.items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)
    return {k.removeprefix("AIRFLOW_CONN_").lower(): json.loads(v) for k, v in env.items()
            if k.startswith("AIRFLOW_CONN_")}


def _set(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def test_mailgun_checks_the_key_and_the_domain(product: dict[str, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    mailgun = product["mailgun_default"]
    assert mailgun["conn_type"] == "mailgun"  # the provider's type: its Test is MailgunHook's
    ok, said = MailgunHook().test_connection()
    assert ok and "accepts the API key and sends for the domain" in said and "state: active" in said, said

    _set(monkeypatch, "mailgun_default", {**mailgun, "password": "key-wrong"})
    ok, said = MailgunHook().test_connection()
    assert not ok and "refused the API key (HTTP 401)" in said, said

    _set(monkeypatch, "mailgun_default", {**mailgun, "extra": {"domain": "mg.elsewhere.example"}})
    ok, said = MailgunHook().test_connection()
    assert not ok and "knows no domain 'mg.elsewhere.example'" in said, said

    _set(monkeypatch, "mailgun_default", {**mailgun, "host": f"http://127.0.0.1:{_closed_port()}/v3"})
    ok, said = MailgunHook().test_connection()
    assert not ok and "cannot be reached" in said and "127.0.0.1" in said, said


@pytest.mark.parametrize("conn_id", ["campaign_status_webhook", "asset_upload_webhook"])
def test_status_webhook_says_whether_the_host_answers_and_the_token_is_refused(
        conn_id: str, product: dict[str, dict], monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox) -> None:
    webhook = product[conn_id]
    assert webhook["conn_type"] == "status_webhook"
    ok, said = StatusWebhookHook(conn_id).test_connection()
    assert ok and "answers (HTTP 405 to a GET; nothing was posted) and does not refuse" in said, said

    _set(monkeypatch, conn_id, {**webhook, "password": "wrong-token"})
    ok, said = StatusWebhookHook(conn_id).test_connection()
    assert not ok and "refuses the bearer credentials (HTTP 401)" in said, said

    _set(monkeypatch, conn_id, {**webhook, "host": f"http://127.0.0.1:{_closed_port()}/status-webhook"})
    ok, said = StatusWebhookHook(conn_id).test_connection()
    assert not ok and "does not answer" in said and "127.0.0.1" in said, said
    received = sandbox.endpoints["sinks_url"]
    assert all("wrong-token" not in json.dumps(r) for r in requests.get(
        f"{received}/__sandbox__/status-webhooks", timeout=5).json()["items"])


def test_a_dam_that_is_down_is_named_within_ten_seconds(sandbox: RunningSandbox,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    refused = f"http://127.0.0.1:{_closed_port()}/otmmapi/v6"
    monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", otmm_connection(sandbox, host=refused))
    started = time.monotonic()
    ok, said = OtmmHook().test_connection()
    took = time.monotonic() - started
    print(f"DAM refusing connections: {took:.1f} s: {said}")
    assert not ok and refused in said and took < 10, (took, said)


def test_a_dam_that_hangs_is_named_within_ten_seconds(sandbox: RunningSandbox, otmm_faults: Faults,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", otmm_connection(sandbox))
    otmm_faults.arm(method="*", path="/otmmapi/*", kind="delay", seconds=30, count=10)
    started = time.monotonic()
    ok, said = OtmmHook().test_connection()
    took = time.monotonic() - started
    print(f"DAM not answering: {took:.1f} s: {said}")
    assert not ok and sandbox.endpoints["otmm_base_url"] in said and took < 10, (took, said)
    otmm_faults.clear()
    ok, said = OtmmHook().test_connection()
    assert ok, said
