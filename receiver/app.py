"""The receiver's HTTP side (FastAPI): ``POST /box/webhook`` and ``GET /health``.

``POST /box/webhook``, in this order:

1. body larger than ``webhook.max_body_bytes`` -> 413 (read no further);
2. signature check (see :mod:`receiver.signature`), when ``webhook.validate_signatures`` -> 401 on any failure,
   logged with the reason and the delivery id, never the body;
3. a body we cannot use (not UTF-8 JSON, nested too deep, not an object, no usable event id: see
   :mod:`receiver.webhook_body`) -> 400 with the reason;
4. the event is stored (committed) with its classification: ``pending`` or ``ignored`` with the reason; a
   known event id (Box's redelivery, a replayed request) stores nothing new -> 200 either way. The tracking
   database unreachable -> 503, so Box delivers it again later; the database refusing the event's data
   (which :mod:`receiver.webhook_body` should have made impossible) -> 422.

Every refusal is one log line and one ``{"detail": <sentence>}`` answer, never a stack trace or the body.

The forwarder (:mod:`receiver.forwarder`) sends pending events to Airflow in the background.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

import psycopg2
import psycopg2.errors
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from include.ferrero.db.tracking import TrackingDb
from include.ferrero.db.webhook_events import PENDING, WebhookEvents
from receiver import signature
from receiver.airflow_api import AirflowClient
from receiver.forwarder import Forwarder
from receiver.webhook_body import PayloadError, classify, parse_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from receiver.settings import ReceiverSettings

log = logging.getLogger("receiver")


def tracking_db(settings: ReceiverSettings) -> TrackingDb:
    kwargs = dict(settings.tracking_db)
    kwargs.setdefault("connect_timeout", 5)
    return TrackingDb(lambda: psycopg2.connect(**kwargs))


def create_app(settings: ReceiverSettings, *, start_forwarder: bool = True) -> FastAPI:
    local = threading.local()

    def events() -> WebhookEvents:
        """One connection per worker thread (psycopg2 connections must not be shared between threads)."""
        if not hasattr(local, "events"):
            local.events = WebhookEvents(tracking_db(settings))
        return local.events

    def db_call(work: Any) -> Any:
        """Run ``work(events)`` on this thread's connection; a broken connection is dropped (reconnect next)."""
        own = events()
        try:
            return work(own)
        except psycopg2.Error:
            own.db.close()
            raise

    airflow = AirflowClient(settings.webhook.airflow_api_url, settings.airflow_user or "", settings.airflow_password or "")
    forwarder = Forwarder(
        lambda: WebhookEvents(tracking_db(settings)), airflow, settings.webhook.dag_id,
        retry_initial_seconds=settings.retry_initial_seconds, retry_max_seconds=settings.retry_max_seconds,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not settings.webhook.validate_signatures:
            log.warning("signature validation is OFF (webhook.validate_signatures: false)")
        if start_forwarder:
            forwarder.start()
        log.info("receiver ready", extra={"fields": {"dag_id": settings.webhook.dag_id, "airflow": settings.webhook.airflow_api_url}})
        try:
            yield
        finally:
            forwarder.stop()
            airflow.close()

    app = FastAPI(title="Box webhook receiver", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.forwarder = forwarder

    @app.get("/health")
    async def health() -> JSONResponse:
        body: dict[str, Any] = {"status": "ok"}
        try:
            body["pending"] = await run_in_threadpool(db_call, WebhookEvents.count_pending)
            body["database"] = "ok"
        except psycopg2.Error:
            body.update(status="unavailable", database="unreachable", pending=None)
        body["airflow"] = "ok" if await run_in_threadpool(airflow.healthy) else "unreachable"
        if body["status"] == "ok" and body["airflow"] != "ok":
            body["status"] = "degraded"  # events are kept and sent when Airflow is back
        return JSONResponse(body, status_code=503 if body["database"] != "ok" else 200)

    @app.post("/box/webhook")
    async def box_webhook(request: Request) -> JSONResponse:
        delivery_id = (request.headers.get("box-delivery-id") or "")[:100] or None
        context = {"delivery_id": delivery_id, "client": request.client.host if request.client else None}
        body = await _read_limited(request, settings.webhook.max_body_bytes)
        if body is None:
            log.warning("delivery refused", extra={"fields": {**context, "outcome": "too-large", "status": 413}})
            return _answer(413, "body too large")
        if settings.webhook.validate_signatures:
            reason = signature.check(
                body, request.headers, settings.primary_key, settings.secondary_key,
                max_age=settings.webhook.max_age_seconds,
            )
            if reason:
                log.warning("delivery refused",
                            extra={"fields": {**context, "outcome": "unauthorized", "reason": reason, "status": 401}})
                return _answer(401, "invalid signature")
        try:
            event = classify(
                parse_body(body), delivery_id=delivery_id,
                derivatives_folder_name=settings.derivatives_folder_name,
                service_account_user_id=settings.service_account_user_id,
            )
        except PayloadError as exc:
            log.warning("delivery refused",
                        extra={"fields": {**context, "outcome": "bad-request", "reason": str(exc), "status": 400}})
            return _answer(400, str(exc))
        try:
            row, created = await run_in_threadpool(db_call, lambda own: own.record(event))
        except (psycopg2.DataError, psycopg2.errors.ProgramLimitExceeded) as exc:
            reason = f"the tracking database refuses this event's data ({exc.pgcode} {type(exc).__name__})"
            log.error("delivery refused",
                      extra={"fields": {**context, "event_id": event.event_id, "outcome": "unprocessable",
                                        "reason": reason, "status": 422}})
            return _answer(422, reason)
        except psycopg2.Error as exc:
            log.error("event not stored: tracking database unavailable",
                      extra={"fields": {**context, "event_id": event.event_id, "status": 503,
                                        "error": str(exc).strip()[:300]}})
            return _answer(503, "storage unavailable, deliver again later")
        fields = {**context, "event_id": event.event_id, "file": _clip(event.file_name),
                  "box_file_id": _clip(event.box_file_id)}
        if not created:
            outcome = "duplicate"
        elif event.ignore_reason:
            outcome = "ignored"
            fields["reason"] = event.ignore_reason
        else:
            outcome = "stored"
            forwarder.wake()
        log.info("event received", extra={"fields": {**fields, "outcome": outcome, "status": 200}})
        return JSONResponse({"event_id": event.event_id, "status": row["status"], "outcome": outcome,
                             "queued": row["status"] == PENDING})

    return app


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _clip(text: str | None, limit: int = 200) -> str | None:
    """At most ``limit`` characters of a payload value, for a log line."""
    return text if text is None or len(text) <= limit else text[:limit - 1] + "…"


def _answer(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)
