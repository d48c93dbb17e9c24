"""Box webhooks v2: ``FILE.UPLOADED`` (and ``FILE.COPIED``, ``FILE.MOVED``, ``WEBHOOK.DELETED``) events, their
signed delivery and Box's redelivery schedule; the variants of ``sandbox/box/variants.py``.

Every upload (new file or new version, direct or chunked) inside a watched folder, at any depth, or onto a
watched file, becomes one event per webhook, stored as ``pending`` with its exact body. :func:`delivery_worker`
POSTs due events with Box's headers::

    BOX-DELIVERY-ID          new uuid per attempt
    BOX-DELIVERY-TIMESTAMP   RFC 3339, whole seconds (never in the receiver's future)
    BOX-SIGNATURE-PRIMARY    base64(HMAC-SHA256(primary key, body bytes + timestamp))
    BOX-SIGNATURE-SECONDARY  same with the secondary key
    BOX-SIGNATURE-VERSION    1
    BOX-SIGNATURE-ALGORITHM  HmacSHA256

A 2xx within 30 s is a success; anything else (other codes, redirects, no answer) is retried after the next
delay of ``settings.webhook_retry_schedule()`` with the same body and event ``id``; after the last one the event
is ``failed``. Events live in SQLite, so a restarted sandbox resumes pending deliveries. ``drop_next`` makes the
next N events vanish silently (status ``dropped``, never sent), like a delivery Box never makes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.box import objects, variants
from sandbox.box.store import now_iso

if TYPE_CHECKING:
    import sqlite3

    from sandbox.box.state import BoxState

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT_SECONDS = 30.0
USER_AGENT = "Box-WH-Client/0.1"
TRIGGER_FILE_UPLOADED = "FILE.UPLOADED"
TRIGGER_WEBHOOK_DELETED = "WEBHOOK.DELETED"
_DROP_KEY = "webhooks.drop_next"


def sign(body: bytes, timestamp: str, key: str) -> str:
    """Box's webhook signature: base64(HMAC-SHA256(key, body + timestamp))."""
    digest = hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def delivery_headers(state: BoxState, body: bytes, delivery_id: str, timestamp: str) -> dict[str, str]:
    settings = state.settings
    return {
        "Content-Type": "application/json; charset=UTF-8",
        "User-Agent": USER_AGENT,
        "BOX-DELIVERY-ID": delivery_id,
        "BOX-DELIVERY-TIMESTAMP": timestamp,
        "BOX-SIGNATURE-PRIMARY": sign(body, timestamp, settings.box_webhook_primary_key),
        "BOX-SIGNATURE-SECONDARY": sign(body, timestamp, settings.box_webhook_secondary_key),
        "BOX-SIGNATURE-VERSION": "1",
        "BOX-SIGNATURE-ALGORITHM": "HmacSHA256",
    }


def webhook_body(state: BoxState, row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "type": "webhook",
        "target": {"id": str(row["target_id"]), "type": row["target_type"]},
        "created_by": objects.user_mini(state.store, row["created_by"]),
        "created_at": row["created_at"],
        "address": row["address"],
        "triggers": json.loads(row["triggers"]),
    }


def enqueue_file_uploaded(state: BoxState, file_row: sqlite3.Row, user_id: str, *, new_version: bool = False) -> list[str]:
    """Create the FILE.UPLOADED events an upload causes; returns their ids (dropped ones included). Variant
    ``new-version-without-webhook``: none for a new version."""
    if new_version and variants.on(state, variants.NEW_VERSION_WITHOUT_WEBHOOK):
        return []
    return enqueue_file_event(state, TRIGGER_FILE_UPLOADED, file_row, user_id)


def enqueue_file_event(state: BoxState, trigger: str, file_row: sqlite3.Row, user_id: str) -> list[str]:
    """Create the ``trigger`` events of a change to ``file_row``, one per webhook watching it with that trigger;
    returns their ids. Variant ``webhook-auto-deleted``: a webhook that already fired ``AUTO_DELETE_AFTER``
    events is deleted instead, with its ``WEBHOOK.DELETED``."""
    store = state.store
    folder_ids = [folder["id"] for folder in store.ancestors(file_row["id"])]
    hooks = [
        hook
        for hook in store.query("SELECT * FROM webhooks ORDER BY id")
        if trigger in json.loads(hook["triggers"])
        and (
            (hook["target_type"] == "folder" and hook["target_id"] in folder_ids)
            or (hook["target_type"] == "file" and hook["target_id"] == file_row["id"])
        )
    ]
    if not hooks:
        return []
    source = objects.file_full(store, file_row)
    created_by = objects.user_mini(store, user_id)
    event_ids = []
    for hook in hooks:
        if variants.on(state, variants.WEBHOOK_AUTO_DELETED) and _fired(state, hook) >= variants.AUTO_DELETE_AFTER:
            event_ids.append(auto_delete(state, hook))
            continue
        event_ids.append(_enqueue(state, hook, trigger, str(file_row["id"]), source, created_by))
    return event_ids


def auto_delete(state: BoxState, hook: sqlite3.Row) -> str:
    """Delete a webhook as Box's ``auto_cleanup`` does and queue its ``WEBHOOK.DELETED`` to its address."""
    with state.store.transaction() as db:
        db.execute("DELETE FROM webhooks WHERE id = ?", (hook["id"],))
    source = {"id": str(hook["id"]), "type": "webhook", "address": hook["address"],
              "target": {"id": str(hook["target_id"]), "type": hook["target_type"]},
              "triggers": json.loads(hook["triggers"])}
    log.warning("box webhook %s deleted (auto_cleanup)", hook["id"])
    return _enqueue(state, hook, TRIGGER_WEBHOOK_DELETED, str(hook["id"]), source,
                    objects.user_mini(state.store, hook["created_by"]), additional_info={"reason": "auto_cleanup"})


def _fired(state: BoxState, hook: sqlite3.Row) -> int:
    return state.store.query_one("SELECT COUNT(*) AS n FROM events WHERE webhook_id = ? AND trigger != ?",
                                 (hook["id"], TRIGGER_WEBHOOK_DELETED))["n"]


def _enqueue(state: BoxState, hook: sqlite3.Row, trigger: str, source_id: str, source: dict[str, Any],
             created_by: dict[str, Any], additional_info: Any = None) -> str:
    store = state.store
    event_id = str(uuid.uuid4())
    created_at = now_iso()
    body = {
        "type": "webhook_event",
        "id": event_id,
        "created_at": created_at,
        "trigger": trigger,
        "webhook": {"id": str(hook["id"]), "type": "webhook"},
        "created_by": created_by,
        "source": source,
        "additional_info": additional_info if additional_info is not None else [],
    }
    with store.transaction() as db:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (_DROP_KEY,)).fetchone()
        to_drop = int(row["value"]) if row else 0
        if to_drop > 0:
            db.execute("UPDATE meta SET value = ? WHERE key = ?", (str(to_drop - 1), _DROP_KEY))
        db.execute(
            "INSERT INTO events (id, webhook_id, address, trigger, source_id, body, created_at, status, "
            "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event_id, hook["id"], hook["address"], trigger, source_id,
                json.dumps(body, ensure_ascii=False), created_at,
                "dropped" if to_drop > 0 else "pending", None if to_drop > 0 else time.time(),
            ),
        )
    return event_id


def drop_next(state: BoxState, count: int) -> int:
    state.store.set_meta(_DROP_KEY, str(max(0, count)))
    return max(0, count)


def list_deliveries(state: BoxState) -> list[dict[str, Any]]:
    """Every event with its attempts, oldest first (for the admin route)."""
    store = state.store
    attempts: dict[str, list[dict[str, Any]]] = {}
    for row in store.query("SELECT * FROM attempts ORDER BY event_id, attempt"):
        attempts.setdefault(row["event_id"], []).append(
            {
                "attempt": row["attempt"],
                "delivery_id": row["delivery_id"],
                "timestamp": row["timestamp"],
                "status_code": row["status_code"],
                "error": row["error"],
                "duration": round(row["duration"], 3),
            }
        )
    return [
        {
            "id": row["id"],
            "webhook_id": str(row["webhook_id"]),
            "address": row["address"],
            "trigger": row["trigger"],
            "source_id": row["source_id"],
            "created_at": row["created_at"],
            "status": row["status"],
            "next_attempt_at": now_iso(row["next_attempt_at"]) if row["next_attempt_at"] else None,
            "attempts": attempts.get(row["id"], []),
        }
        for row in store.query("SELECT * FROM events ORDER BY seq")
    ]


async def _deliver(state: BoxState, client: httpx.AsyncClient, event: sqlite3.Row) -> None:
    try:
        await _attempt(state, client, event)
    except Exception:  # never let one broken event stop the worker; it stays pending and is tried again
        log.exception("box webhook %s: delivery attempt crashed", event["id"])
        await asyncio.sleep(1)


async def _attempt(state: BoxState, client: httpx.AsyncClient, event: sqlite3.Row) -> None:
    store = state.store
    attempt = store.query_one("SELECT COUNT(*) AS n FROM attempts WHERE event_id = ?", (event["id"],))["n"] + 1
    body = event["body"].encode("utf-8")
    delivery_id = str(uuid.uuid4())
    timestamp = now_iso()
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    try:
        response = await client.post(
            event["address"], content=body, headers=delivery_headers(state, body, delivery_id, timestamp)
        )
        status_code = response.status_code
    except httpx.TimeoutException:
        error = f"no answer within {DELIVERY_TIMEOUT_SECONDS:g} s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    duration = time.monotonic() - started
    ok = status_code is not None and 200 <= status_code < 300
    schedule = state.settings.webhook_retry_schedule()
    if ok:
        status, next_at = "delivered", None
    elif attempt - 1 < len(schedule):
        status, next_at = "pending", time.time() + schedule[attempt - 1]
    else:
        status, next_at = "failed", None
    with store.transaction() as db:
        db.execute(
            "INSERT INTO attempts (event_id, attempt, delivery_id, timestamp, status_code, error, duration) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event["id"], attempt, delivery_id, timestamp, status_code, error, duration),
        )
        db.execute("UPDATE events SET status = ?, next_attempt_at = ? WHERE id = ?", (status, next_at, event["id"]))
    log.info("box webhook %s attempt %d -> %s", event["id"], attempt, status_code or error)


async def delivery_worker(state: BoxState, *, poll_interval: float = 0.1) -> None:
    """Deliver due events forever (run it as an asyncio task; cancel it to stop)."""
    in_flight: dict[str, asyncio.Task[None]] = {}
    timeout = httpx.Timeout(DELIVERY_TIMEOUT_SECONDS)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        try:
            while True:
                due = state.store.query(
                    "SELECT * FROM events WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY seq",
                    (time.time(),),
                )
                for event in due:
                    if event["id"] in in_flight:
                        continue
                    task = asyncio.create_task(_deliver(state, client, event))
                    in_flight[event["id"]] = task
                    task.add_done_callback(lambda _t, key=event["id"]: in_flight.pop(key, None))
                await asyncio.sleep(poll_interval)
        finally:
            for task in list(in_flight.values()):
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight.values(), return_exceptions=True)
