"""Outgoing notifications: emails through Mailgun's HTTP API and the campaign-status webhook.

Both are thin ``HttpHook`` subclasses (the http provider does connection parsing, sessions and auth); they add
the request shape and errors that say what was not delivered and whether another attempt may help. Each call
is one attempt: the outbox (``include/ferrero/outbox_db.py``) is the one place a message is retried. Credentials come from the Airflow connections ``mailgun_default`` (login ``api``,
password = API key, extra ``domain``) and ``campaign_status_webhook`` (host = URL, password = token).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from airflow.providers.http.hooks.http import HttpHook

from ferrero_provider.common.retry import RetryPolicy
from ferrero_provider.notifications.exceptions import NotificationError, RetryableNotificationError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import requests


class Email(Protocol):
    """What :meth:`MailgunHook.send` reads of an email (the domain's ``messages.Email`` is one)."""

    @property
    def recipients(self) -> Sequence[str]: ...

    @property
    def subject(self) -> str: ...

    @property
    def html(self) -> str: ...

    @property
    def text(self) -> str: ...


def _check(response: requests.Response, what: str, policy: RetryPolicy) -> None:
    """Raise what the answer means: retryable (429, the policy's 5xx) or not (any other error status)."""
    if response.ok:
        return
    detail = " ".join(response.text.split())[:200]
    retryable = policy.is_retryable_status(response.status_code)
    error = RetryableNotificationError if retryable else NotificationError
    raise error(f"{what} was refused with HTTP {response.status_code}: {detail or response.reason}")


class MailgunHook(HttpHook):
    """Send an email through Mailgun (``POST <host>/<domain>/messages``, host e.g. ``https://api.mailgun.net/v3``;
    basic auth ``api:<key>``)."""

    conn_name_attr = "mailgun_conn_id"
    default_conn_name = "mailgun_default"
    conn_type = "http"
    hook_name = "Mailgun"

    def __init__(self, mailgun_conn_id: str = default_conn_name, retry: RetryPolicy | None = None,
                 timeout: float = 30) -> None:
        super().__init__(method="POST", http_conn_id=mailgun_conn_id)
        self.mailgun_conn_id = mailgun_conn_id
        self._retry = retry or RetryPolicy()
        self._timeout = timeout

    def send(self, email: Email, from_address: str, message_key: str | None = None) -> str:
        """Send ``email``; return Mailgun's message id. ``message_key`` becomes its ``Message-Id`` header
        (``<key@domain>``), so a repeat of the same message can be recognised by the receiving side."""
        conn = self.get_connection(self.mailgun_conn_id)
        domain = conn.extra_dejson.get("domain") or conn.schema
        if not domain:
            raise NotificationError(f"connection {self.mailgun_conn_id} names no Mailgun domain (extra 'domain')")
        what = f"the email {email.subject!r} to {', '.join(email.recipients)}"
        data = {"from": from_address, "to": email.recipients, "subject": email.subject, "html": email.html}
        if email.text:
            data["text"] = email.text
        if message_key:
            data["h:Message-Id"] = f"<{message_key}@{domain}>"

        response: requests.Response = self.run(endpoint=f"{domain}/messages", data=data,
                                               extra_options={"check_response": False, "timeout": self._timeout})
        _check(response, what, self._retry)
        return str(response.json().get("id", ""))


class StatusWebhookHook(HttpHook):
    """POST a campaign status change as JSON to the downstream system's webhook."""

    conn_name_attr = "webhook_conn_id"
    default_conn_name = "campaign_status_webhook"
    conn_type = "http"
    hook_name = "Campaign status webhook"

    def __init__(self, webhook_conn_id: str = default_conn_name, auth_type: str = "bearer",
                 retry: RetryPolicy | None = None, timeout: float = 10) -> None:
        super().__init__(method="POST", http_conn_id=webhook_conn_id)
        self.webhook_conn_id = webhook_conn_id
        self._auth = auth_type
        self._retry = retry or RetryPolicy()
        self._timeout = timeout

    def _extract_auth(self, connection: Any) -> Any | None:
        return super()._extract_auth(connection) if self._auth == "basic" else None

    def post(self, payload: dict[str, Any], idempotency_key: str | None = None) -> None:
        """Deliver ``payload``; bearer auth sends the connection's password as the token, basic auth sends
        its login and password, none sends neither. ``idempotency_key`` goes in the ``Idempotency-Key`` header:
        the same for every attempt of one message, so the receiver can drop a repeat."""
        conn = self.get_connection(self.webhook_conn_id)
        headers = {"Content-Type": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if self._auth == "bearer" and conn.password:
            headers["Authorization"] = f"Bearer {conn.password}"
        campaign = payload.get("campaign_number") or payload.get("campaign_id")
        what = (f"the status webhook for campaign {campaign}" if campaign
                else f"the webhook {self.webhook_conn_id} for {payload.get('filename') or 'a derivative'}")

        response = self.run(endpoint=None, json=payload, headers=headers,
                            extra_options={"check_response": False, "timeout": self._timeout})
        _check(response, what, self._retry)
