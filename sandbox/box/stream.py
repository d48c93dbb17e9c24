"""Box's event stream, ``GET /2.0/events`` (``shared/spec/box-openapi.json``, ``Events`` / ``Event``).

Every change to a file is kept as an event of the ``changes`` stream: ``ITEM_UPLOAD`` (a new file or a new
version), ``ITEM_COPY``, ``ITEM_MOVE``, ``ITEM_RENAME``, ``ITEM_TRASH``, ``ITEM_UNDELETE_VIA_TRASH``
(:mod:`sandbox.box.trash`); ``source`` is the file as ``GET /files/{id}`` shows it then (id, name, parent,
``file_version``, ``path_collection``), as in a webhook.

``stream_position``: ``now`` answers no events and the current end; ``0`` (or none) starts at the oldest event
kept; any other value is a position a previous answer gave. ``limit`` (default 100, at most 500).
``next_stream_position`` is where the next chunk starts. Events are kept ``box_events_retention_seconds``
(Box: 21 days); a position older than the oldest event kept is refused with 400 ``invalid_stream_position``
(Box does not document what it does; the client falls back to folder listings on any refusal).
``stream_type`` ``all``, ``changes`` and ``sync`` read this stream; ``admin_logs*`` answer 403 (the sandbox's
app has no admin scope). Variant ``events-duplicated-out-of-order`` (``sandbox/box/variants.py``).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

from sandbox.box import objects, variants
from sandbox.box.store import now_iso

if TYPE_CHECKING:
    import sqlite3

    from starlette.requests import Request

    from sandbox.box.state import BoxState

#: Stream positions look like Box's (large numbers); a position is BASE + the last event's sequence number.
BASE = 1_152_922_976_000_000_000
USER_STREAMS = ("all", "changes", "sync")
ADMIN_STREAMS = ("admin_logs", "admin_logs_streaming")
MAX_LIMIT = 500
_EXPIRED_KEY = "stream.expired_through"  # the last sequence number retention forgot


def record(state: BoxState, event_type: str, file_row: sqlite3.Row, user_id: str) -> str:
    """Keep one event about ``file_row`` (as it is now); returns its id."""
    store = state.store
    event_id = uuid.uuid4().hex + uuid.uuid4().hex[:8]
    body = {"type": "event", "event_id": event_id, "event_type": event_type, "created_at": now_iso(),
            "recorded_at": now_iso(), "created_by": objects.user_mini(store, user_id), "session_id": None,
            "source": objects.file_full(store, file_row), "additional_details": None}
    with store.transaction() as db:
        db.execute("INSERT INTO stream_events (event_id, event_type, body, recorded_epoch) VALUES (?, ?, ?, ?)",
                   (event_id, event_type, json.dumps(body, ensure_ascii=False), time.time()))
    return event_id


def expire(state: BoxState, older_than_seconds: float) -> int:
    """Forget events older than this (what retention does); returns how many went."""
    with state.store.transaction() as db:
        cutoff = time.time() - older_than_seconds
        gone = db.execute("SELECT MAX(seq) AS seq FROM stream_events WHERE recorded_epoch < ?", (cutoff,)).fetchone()
        if gone["seq"] is None:
            return 0
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                   "excluded.value", (_EXPIRED_KEY, str(gone["seq"])))
        return db.execute("DELETE FROM stream_events WHERE seq <= ?", (gone["seq"],)).rowcount


def _bad(message: str, code: str = "bad_request") -> JSONResponse:
    return objects.box_error(400, code, message)


def get_events(state: BoxState, request: Request) -> JSONResponse:
    params = request.query_params
    stream_type = params.get("stream_type", "all")
    if stream_type in ADMIN_STREAMS:
        return objects.box_error(403, "access_denied_insufficient_permissions", "Access denied - insufficient "
                                 "permission (the app has no 'Manage enterprise properties' scope)")
    if stream_type not in USER_STREAMS:
        return _bad(f"Invalid value '{stream_type}' for query parameter 'stream_type'")
    try:
        limit = int(params.get("limit", 100))
    except ValueError:
        return _bad("Invalid value for query parameter 'limit'")
    if not 1 <= limit <= MAX_LIMIT:
        return _bad(f"limit must be between 1 and {MAX_LIMIT}")
    expire(state, state.settings.box_events_retention_seconds)
    store = state.store
    last = store.query_one("SELECT seq FROM sqlite_sequence WHERE name = 'stream_events'")
    hi = last["seq"] if last else 0
    raw = params.get("stream_position")
    if raw == "now":
        return JSONResponse({"chunk_size": 0, "next_stream_position": str(BASE + hi), "entries": []})
    if raw in (None, "", "0", "null"):
        after = int(store.meta(_EXPIRED_KEY, "0") or 0)
    else:
        try:
            after = int(raw) - BASE
        except ValueError:
            return _bad(f"Invalid value '{raw[:40]}' for query parameter 'stream_position'", "invalid_stream_position")
        if after < int(store.meta(_EXPIRED_KEY, "0") or 0) or after > hi:
            return _bad("The stream position is no longer or not yet available", "invalid_stream_position")
    rows = store.query("SELECT seq, body FROM stream_events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
    entries: list[dict[str, Any]] = [json.loads(r["body"]) for r in rows]
    next_seq = rows[-1]["seq"] if rows else max(after, 0)
    if rows and variants.on(state, variants.EVENTS_DUPLICATED_OUT_OF_ORDER):
        entries = [e for e in reversed(entries) for _ in (0, 1)]
        if len(rows) > 1:
            next_seq = rows[-2]["seq"]  # the next chunk begins with this chunk's last event again
    return JSONResponse({"chunk_size": len(entries), "next_stream_position": str(BASE + next_seq),
                         "entries": entries})
