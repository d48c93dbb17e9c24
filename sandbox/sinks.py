"""Notification sinks: a Mailgun-compatible messages endpoint and a status-webhook receiver.

- ``POST /v3/{domain}/messages`` (form or multipart: ``from``, ``to`` (repeatable or comma-separated), ``cc``,
  ``bcc``, ``subject``, ``html``, ``text``), HTTP Basic ``api:<mailgun_api_key>``; 401 otherwise. Answers like
  Mailgun: ``{"id": "<...@domain>", "message": "Queued. Thank you."}``.
- ``GET /v3/domains/{domain}`` as Mailgun answers it: the domain (200) for the right key and the sandbox's
  domain (``sandbox.connections.MAILGUN_DOMAIN``), 401 for a wrong key, 404 for another domain.
- ``POST /status-webhook`` and ``POST /asset-webhook`` (the per-derivative webhook) with ``Authorization: Bearer
  <status_webhook_token>``; 401 otherwise (any method: the token is checked first; a GET with it gets 405).

What they receive is appended to JSON-lines files under ``<data_dir>/sinks/`` and listed by
``GET /__sandbox__/mail``, ``/__sandbox__/status-webhooks`` and ``/__sandbox__/asset-webhooks`` (``DELETE`` clears).
Every request is recorded as received, repeats included (the sender's dedup key: an email's ``h:Message-Id`` field as ``message_id_header``, a webhook's ``Idempotency-Key`` header as ``idempotency_key``):
the tests count what arrived, raw and by key.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.connections import MAILGUN_DOMAIN

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.requests import Request

    from sandbox.settings import SandboxSettings

_LOCK = threading.Lock()


def _append(path: Path, record: dict[str, Any]) -> None:
    with _LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with _LOCK:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _clear(path: Path) -> None:
    with _LOCK:
        path.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _basic_user_password(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _addresses(values: list[str]) -> list[str]:
    return [a.strip() for v in values for a in v.split(",") if a.strip()]


def create_app(settings: SandboxSettings) -> Starlette:
    """The sinks ASGI app (not yet wrapped in FaultInjector)."""
    mail_log = settings.sinks_dir / "mail.jsonl"
    webhook_log = settings.sinks_dir / "status-webhooks.jsonl"
    asset_webhook_log = settings.sinks_dir / "asset-webhooks.jsonl"

    async def messages(request: Request) -> Response:
        if _basic_user_password(request) != ("api", settings.mailgun_api_key):
            return Response("Forbidden", status_code=401, media_type="text/plain")
        domain = request.path_params["domain"]
        form = await request.form()
        if not form.get("from") or not form.getlist("to"):
            return JSONResponse({"message": "'from' and 'to' parameters are missing"}, status_code=400)
        message_id = f"<{datetime.now(timezone.utc):%Y%m%d%H%M%S}.{secrets.token_hex(8)}@{domain}>"
        record = {
            "id": message_id,
            "domain": domain,
            "from": form.get("from"),
            "to": _addresses(form.getlist("to")),
            "cc": _addresses(form.getlist("cc")),
            "bcc": _addresses(form.getlist("bcc")),
            "subject": form.get("subject", ""),
            "text": form.get("text"),
            "html": form.get("html"),
            "attachments": [getattr(v, "filename", None) for v in form.getlist("attachment")],
            "message_id_header": form.get("h:Message-Id"),  # the sender's own id: duplicates show by it
            "received_at": _now(),
        }
        _append(mail_log, record)
        return JSONResponse({"id": message_id, "message": "Queued. Thank you."})

    async def domain(request: Request) -> Response:
        """Mailgun's ``GET /v3/domains/<domain>``: what an API key may read of its sending domain."""
        if _basic_user_password(request) != ("api", settings.mailgun_api_key):
            return Response("Forbidden", status_code=401, media_type="text/plain")
        name = request.path_params["domain"]
        if name != MAILGUN_DOMAIN:
            return JSONResponse({"message": "Domain not found"}, status_code=404)
        return JSONResponse({
            "domain": {"name": name, "state": "active", "type": "custom", "is_disabled": False,
                       "created_at": "Mon, 01 Jun 2026 00:00:00 GMT", "smtp_login": f"postmaster@{name}",
                       "spam_action": "disabled", "wildcard": False},
            "receiving_dns_records": [], "sending_dns_records": []})

    def webhook(log: Path):  # noqa: ANN202 - small route factory
        async def handler(request: Request) -> Response:
            return await _webhook(request, log)

        return handler

    async def _webhook(request: Request, log: Path) -> Response:
        if request.headers.get("authorization", "") != f"Bearer {settings.status_webhook_token}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if request.method not in ("POST", "PUT"):  # like a receiver that checks the token first: a GET learns
            return JSONResponse({"error": "method not allowed: POST a status change"}, status_code=405)  # only that
        raw = await request.body()
        try:
            payload: Any = json.loads(raw)
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        record = {
            "body": payload,
            "method": request.method,
            "content_type": request.headers.get("content-type"),
            "headers": {k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            "idempotency_key": request.headers.get("idempotency-key"),
            "received_at": _now(),
        }
        _append(log, record)
        return JSONResponse({"received": True})

    def listing(path: Path):  # noqa: ANN202 - small route factory
        async def handler(request: Request) -> Response:
            if request.method == "DELETE":
                _clear(path)
                return JSONResponse({"items": []})
            return JSONResponse({"items": _read(path)})

        return handler

    return Starlette(
        routes=[
            Route("/v3/{domain}/messages", messages, methods=["POST"]),
            Route("/v3/domains/{domain}", domain, methods=["GET"]),
            Route("/status-webhook", webhook(webhook_log), methods=["GET", "POST", "PUT"]),
            Route("/asset-webhook", webhook(asset_webhook_log), methods=["GET", "POST", "PUT"]),
            Route("/__sandbox__/mail", listing(mail_log), methods=["GET", "DELETE"]),
            Route("/__sandbox__/status-webhooks", listing(webhook_log), methods=["GET", "DELETE"]),
            Route("/__sandbox__/asset-webhooks", listing(asset_webhook_log), methods=["GET", "DELETE"]),
        ]
    )
