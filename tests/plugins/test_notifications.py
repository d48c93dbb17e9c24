"""Emails and status webhooks reach the sandbox's Mailgun and webhook sinks over HTTP."""

from __future__ import annotations

import pytest
import requests

from ferrero_provider.common.retry import RetryPolicy
from ferrero_provider.notifications.exceptions import NotificationError, RetryableNotificationError
from ferrero_provider.notifications.hooks import MailgunHook, StatusWebhookHook
from include.ferrero.config import load_settings
from include.ferrero.messages import render_email
from sandbox.connections import product_connections

FAST = RetryPolicy(max_attempts=3, initial_delay_seconds=0, max_delay_seconds=0)


@pytest.fixture
def connections(sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = product_connections(sandbox.data_dir)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    sinks = sandbox.endpoints["sinks_url"]
    requests.delete(f"{sinks}/__sandbox__/mail", timeout=5)
    requests.delete(f"{sinks}/__sandbox__/status-webhooks", timeout=5)
    requests.delete(f"{sinks}/__sandbox__/faults", timeout=5)
    return env


def _received(sandbox, kind: str) -> list[dict]:
    answer = requests.get(f"{sandbox.endpoints['sinks_url']}/__sandbox__/{kind}", timeout=5).json()
    return answer if isinstance(answer, list) else next(v for v in answer.values() if isinstance(v, list))


def test_email_is_delivered(sandbox, connections) -> None:
    config = load_settings()
    email = render_email("a2_to_a3_complete", config, {
        "campaign_name": "Summer <Crunch>", "campaign_id": "c1", "campaign_number": "CMP-1", "asset_count": 3})
    MailgunHook(retry=FAST).send(email, config.notifications.from_address)
    [mail] = _received(sandbox, "mail")
    assert "Summer <Crunch>" in str(mail)                     # the subject is plain text
    assert "Summer &lt;Crunch&gt;" in str(mail)               # the HTML body is escaped
    assert "staging-team@ferrero.com" in str(mail)


def test_a_503_is_one_retryable_attempt_and_the_next_attempt_delivers(sandbox, connections) -> None:
    """The hook sends once per call (the outbox is the one place a message is retried): a 503 is a retryable
    failure with nothing delivered, and the next call delivers the email once."""
    requests.post(f"{sandbox.endpoints['sinks_url']}/__sandbox__/faults", timeout=5, json={
        "method": "POST", "path": "/v3/*", "kind": "status", "status": 503, "count": 1})
    config = load_settings()
    email = render_email("a2_to_a3_complete", config, {
        "campaign_name": "X", "campaign_id": "c1", "campaign_number": "CMP-1", "asset_count": 1})
    with pytest.raises(RetryableNotificationError, match="HTTP 503"):
        MailgunHook(retry=FAST).send(email, "noreply@example.com")
    assert _received(sandbox, "mail") == []
    MailgunHook(retry=FAST).send(email, "noreply@example.com")
    assert len(_received(sandbox, "mail")) == 1


def test_a_status_webhook_503_is_one_retryable_attempt(sandbox, connections) -> None:
    requests.post(f"{sandbox.endpoints['sinks_url']}/__sandbox__/faults", timeout=5, json={
        "method": "POST", "path": "/status-webhook", "kind": "status", "status": 503, "count": 1})
    with pytest.raises(RetryableNotificationError, match="HTTP 503"):
        StatusWebhookHook(retry=FAST).post({"campaign_number": "CMP-1", "new_status": "A3"})
    assert _received(sandbox, "status-webhooks") == []


def test_wrong_mailgun_key_is_a_clear_error(sandbox, connections, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MAILGUN_DEFAULT", connections["AIRFLOW_CONN_MAILGUN_DEFAULT"].replace(
        sandbox.settings.mailgun_api_key, "wrong-key"))
    config = load_settings()
    email = render_email("a2_to_a3_complete", config, {
        "campaign_name": "X", "campaign_id": "c1", "campaign_number": "CMP-1", "asset_count": 1})
    with pytest.raises(NotificationError, match=r"refused with HTTP 401"):
        MailgunHook(retry=FAST).send(email, "noreply@example.com")
    assert _received(sandbox, "mail") == []


def test_status_webhook_with_bearer_token(sandbox, connections) -> None:
    payload = {"campaign_id": "c1", "campaign_number": "CMP-1", "old_status": "A1", "new_status": "A2",
               "asset_count": 2, "processed_assets": [{"tracking_id": "K7M2QX"}]}
    StatusWebhookHook(retry=FAST).post(payload)
    [hook] = _received(sandbox, "status-webhooks")
    assert hook["body"] == payload and hook["method"] == "POST"


def test_webhooks_yaml_method_is_the_http_method_sent(sandbox, connections) -> None:
    """``webhooks.yaml``'s ``method: PUT`` reaches the receiver as a PUT (the outbox passes each webhook's method)."""
    from include.ferrero.outbox import webhook_message
    from include.ferrero.runtime import Services

    config = load_settings()
    settings = config.webhooks["campaign_status_update"].model_copy(update={"method": "PUT"})
    services = Services(config=config.model_copy(update={"webhooks": {**config.webhooks,
                                                                      "campaign_status_update": settings}}))
    message = webhook_message("flip/c1/A1-A2/cycle-1/status-webhook", "campaign_status_update",
                              {"campaign_number": "CMP-1"})
    services.send(message)
    [hook] = _received(sandbox, "status-webhooks")
    assert hook["method"] == "PUT" and hook["idempotency_key"] == message.idempotency_key


def test_status_webhook_refused_token(sandbox, connections, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CAMPAIGN_STATUS_WEBHOOK", connections[
        "AIRFLOW_CONN_CAMPAIGN_STATUS_WEBHOOK"].replace(sandbox.settings.status_webhook_token, "nope"))
    with pytest.raises(NotificationError, match=r"status webhook for campaign CMP-1 was refused with HTTP 401"):
        StatusWebhookHook(retry=FAST).post({"campaign_number": "CMP-1"})
