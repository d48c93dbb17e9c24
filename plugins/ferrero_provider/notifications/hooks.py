"""Outgoing notifications: emails through Mailgun's HTTP API and the campaign-status webhook.

Both are thin ``HttpHook`` subclasses (the http provider does connection parsing, sessions and auth); they add
the request shape and errors that say what was not delivered and whether another attempt may help. Each call
is one attempt: the outbox (``include/ferrero/db/outbox.py``) is the one place a message is retried. Credentials come from the Airflow connections ``mailgun_default`` (login ``api``,
password = API key, extra ``domain``) and ``campaign_status_webhook`` (host = URL, password = token).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import requests
from airflow.providers.http.hooks.http import HttpHook

from ferrero_provider.common.retry import RetryPolicy
from ferrero_provider.notifications.exceptions import NotificationError, RetryableNotificationError

if TYPE_CHECKING:
    from collections.abc import Sequence



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


#: The Test buttons' budget per request (one try).
TEST_TIMEOUT_SECONDS = 5


def _answer(response: requests.Response) -> str:
    return " ".join(response.text.split())[:200] or response.reason or ""


def _check(response: requests.Response, what: str, policy: RetryPolicy) -> None:
    """Raise what the answer means: retryable (429, the policy's 5xx) or not (any other error status)."""
    if response.ok:
        return
    detail = " ".join(response.text.split())[:200]
    retryable = policy.is_retryable_status(response.status_code)
    error = RetryableNotificationError if retryable else NotificationError
    raise error(f"{what} was refused with HTTP {response.status_code}: {detail or response.reason}")


class _OneReadHttpHook(HttpHook):
    """An ``HttpHook`` that reads its connection once: the send and the session it opens both ask for it, and in a
    task each read is a round trip through the task's supervisor to the Execution API."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections: dict[str, Any] = {}

    def get_connection(self, conn_id: str) -> Any:  # type: ignore[override]  # per instance, not per class
        if conn_id not in self._connections:
            self._connections[conn_id] = super().get_connection(conn_id)
        return self._connections[conn_id]


class MailgunHook(_OneReadHttpHook):
    """Send an email through Mailgun (``POST <host>/<domain>/messages``, host e.g. ``https://api.mailgun.net/v3``;
    basic auth ``api:<key>``)."""

    conn_name_attr = "mailgun_conn_id"
    default_conn_name = "mailgun_default"
    conn_type = "mailgun"
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

    def test_connection(self) -> tuple[bool, str]:
        """Ask Mailgun for the connection's sending domain (``GET <host>/domains/<domain>``, what an API key may
        read without sending anything): whether the key is accepted and the domain is the key's. Never raises."""
        try:
            conn = self.get_connection(self.mailgun_conn_id)
            domain = conn.extra_dejson.get("domain") or conn.schema
            if not domain:
                return False, f"Connection {self.mailgun_conn_id} names no Mailgun domain (extra 'domain')."
            session = self.get_conn()
            where = f"Mailgun at {self.base_url}"
            response = session.get(self.url_from_endpoint(f"domains/{domain}"), timeout=TEST_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            return False, f"Mailgun at {self.base_url or '?'} cannot be reached: {type(exc).__name__}"
        except Exception as exc:  # noqa: BLE001 - a malformed connection: the Test button shows why
            return False, f"Connection {self.mailgun_conn_id} cannot be used: {exc}"
        if response.ok:
            state = (response.json().get("domain") or {}).get("state", "unknown")
            return True, f"{where} accepts the API key and sends for the domain {domain} (state: {state})."
        if response.status_code in (401, 403):
            return False, f"{where} refused the API key (HTTP {response.status_code})."
        if response.status_code == 404:
            return False, f"{where} accepts the API key but knows no domain {domain!r} for it (HTTP 404)."
        return False, f"{where} answered HTTP {response.status_code} for the domain {domain}: {_answer(response)}"


class StatusWebhookHook(_OneReadHttpHook):
    """POST (or PUT: ``method``, ``webhooks.yaml``'s) a campaign status change as JSON to the downstream system's
    webhook."""

    conn_name_attr = "webhook_conn_id"
    default_conn_name = "campaign_status_webhook"
    conn_type = "status_webhook"
    hook_name = "Campaign status webhook"

    def __init__(self, webhook_conn_id: str = default_conn_name, auth_type: str = "bearer",
                 retry: RetryPolicy | None = None, timeout: float = 10, method: str = "POST") -> None:
        super().__init__(method=method, http_conn_id=webhook_conn_id)
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

    def test_connection(self) -> tuple[bool, str]:
        """Whether the webhook's host answers and whether it refuses the credentials: a ``GET`` of the webhook's
        address with them (nothing is posted, so the receiver records no status change). Never raises."""
        try:
            conn = self.get_connection(self.webhook_conn_id)
            headers = {"Authorization": f"Bearer {conn.password}"} if self._auth == "bearer" and conn.password else {}
            session = self.get_conn()
            url = self.url_from_endpoint(None)
            response = session.get(url, headers=headers, timeout=TEST_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            return False, f"The webhook host {self.base_url or '?'} does not answer: {type(exc).__name__}"
        except Exception as exc:  # noqa: BLE001 - a malformed connection: the Test button shows why
            return False, f"Connection {self.webhook_conn_id} cannot be used: {exc}"
        code = response.status_code
        if code in (401, 403):
            return False, f"The webhook at {url} answers but refuses the {self._auth} credentials (HTTP {code})."
        if code >= 500:
            return False, f"The webhook at {url} answers with a server error (HTTP {code}): {_answer(response)}"
        return True, (f"The webhook at {url} answers (HTTP {code} to a GET; nothing was posted) and does not refuse "
                      f"the {self._auth} credentials.")
