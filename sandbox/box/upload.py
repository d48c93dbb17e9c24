"""The Box upload host (``https://upload.box.com/api`` in real life) plus the download targets.

Direct uploads (``/api/2.0/files/content``, ``/api/2.0/files/{id}/content``), chunked upload sessions
(``/api/2.0/files/upload_sessions/...``, minimum file size 20,000,000 bytes, 8 MiB parts) and the
self-authorizing download URLs the API host redirects to (``/d/1/<ticket>/download``). Bodies are streamed to
disk, never held in memory.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.box import objects
from sandbox.box.api import authenticated, download_signature
from sandbox.box.assembly import WRITE_BUFFER, SessionDigests, store_chunks
from sandbox.box.multipart import UploadBodyError, parse_upload
from sandbox.box.uploads import invalid_name, name_conflict, store_new_file, store_new_version

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from starlette.requests import Request

    from sandbox.box.state import BoxState

CHUNKED_MIN_SIZE = 20_000_000
PART_SIZE = 8 * 1024 * 1024
MAX_PARTS = 10_000
SESSION_LIFETIME = timedelta(days=7)
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def _state(request: Request) -> BoxState:
    return request.app.state.box


def _ignore_result(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _session_digests(request: Request) -> SessionDigests:
    return request.app.state.session_digests


def _digest_header_sha1(request: Request) -> str | None:
    """``digest: sha=<base64>`` as hex, or None when absent or malformed."""
    value = request.headers.get("digest", "")
    if not value.lower().startswith("sha="):
        return None
    try:
        return base64.b64decode(value[4:], validate=True).hex()
    except ValueError:
        return None


def _bad_digest() -> Response:
    return objects.box_error(400, "bad_digest", "The specified content-md5 did not match what we received")


# -- direct uploads ---------------------------------------------------------------------------------------


async def _receive(request: Request) -> tuple[dict[str, Any], Path, str, int] | Response:
    state = _state(request)
    tmp = state.store.new_tmp_path()
    try:
        parsed = await parse_upload(request, tmp)
    except UploadBodyError as exc:
        tmp.unlink(missing_ok=True)
        return objects.box_error(400, exc.code, exc.message)
    expected = request.headers.get("content-md5")
    if expected and expected.strip().lower() != parsed.sha1:
        tmp.unlink(missing_ok=True)
        return _bad_digest()
    return parsed.attributes or {}, tmp, parsed.sha1, parsed.size


@authenticated
async def upload_file(request: Request, user_id: str) -> Response:
    received = await _receive(request)
    if isinstance(received, Response):
        return received
    attributes, tmp, sha1, size = received
    parent_id = str((attributes.get("parent") or {}).get("id", ""))
    return store_new_file(_state(request), parent_id, attributes.get("name"), tmp, sha1, size, user_id)


@authenticated
async def upload_file_version(request: Request, user_id: str) -> Response:
    received = await _receive(request)
    if isinstance(received, Response):
        return received
    attributes, tmp, sha1, size = received
    return store_new_version(
        _state(request), request.path_params["file_id"], attributes.get("name"), tmp, sha1, size, user_id,
        if_match=request.headers.get("if-match"),
    )


# -- chunked upload sessions ------------------------------------------------------------------------------


def _session_body(request: Request, session: sqlite3.Row, parts_done: int) -> dict[str, Any]:
    base = f"{request.url.scheme}://{request.url.netloc}/api/2.0/files/upload_sessions/{session['id']}"
    return {
        "id": session["id"],
        "type": "upload_session",
        "session_expires_at": session["expires_at"],
        "part_size": session["part_size"],
        "total_parts": session["total_parts"],
        "num_parts_processed": parts_done,
        "session_endpoints": {
            "upload_part": base,
            "commit": f"{base}/commit",
            "abort": base,
            "list_parts": f"{base}/parts",
            "status": base,
            "log_event": f"{base}/log",
            "plan": f"{base}/plan",
        },
    }


def _new_session(request: Request, user_id: str, file_size: int, **target: Any) -> Response:
    state = _state(request)
    part_size = max(PART_SIZE, math.ceil(file_size / MAX_PARTS / (1024 * 1024)) * 1024 * 1024)
    session = state.store.create_session(
        id=secrets.token_hex(16).upper(),
        file_size=file_size,
        part_size=part_size,
        total_parts=math.ceil(file_size / part_size),
        user_id=user_id,
        expires_at=(datetime.now(UTC) + SESSION_LIFETIME).isoformat(timespec="seconds"),
        **target,
    )
    return JSONResponse(_session_body(request, session, 0), status_code=201)


def _check_size(body: dict[str, Any]) -> int | Response:
    size = body.get("file_size")
    if not isinstance(size, int) or size < 0:
        return objects.box_error(400, "bad_request", "file_size is required")
    if size < CHUNKED_MIN_SIZE:
        return objects.box_error(
            400, "file_size_too_small", f"File size {size} less than minimum allowed for this API: {CHUNKED_MIN_SIZE}"
        )
    return size


@authenticated
async def create_session(request: Request, user_id: str) -> Response:
    state = _state(request)
    body = await request.json()
    size = _check_size(body)
    if isinstance(size, Response):
        return size
    name, folder_id = body.get("file_name"), str(body.get("folder_id", ""))
    error = invalid_name(name)
    if error is not None:
        return error
    folder = state.store.item(folder_id, "folder")
    if folder is None:
        return objects.not_found("folder", folder_id)
    existing = state.store.child_by_name(folder["id"], name)
    if existing is not None:
        return name_conflict(state, existing, as_list=False)
    return _new_session(request, user_id, size, folder_id=folder["id"], file_name=name)


@authenticated
async def create_version_session(request: Request, user_id: str) -> Response:
    state = _state(request)
    body = await request.json()
    size = _check_size(body)
    if isinstance(size, Response):
        return size
    file_id = request.path_params["file_id"]
    row = state.store.item(file_id, "file")
    if row is None:
        return objects.not_found("file", file_id)
    name = body.get("file_name")
    if name is not None:
        error = invalid_name(name)
        if error is not None:
            return error
    return _new_session(request, user_id, size, file_id=row["id"], file_name=name)


def _open_session(request: Request) -> sqlite3.Row | Response:
    session_id = request.path_params["session_id"]
    session = _state(request).store.session(session_id)
    if session is None:
        return objects.not_found("upload_session", session_id)
    return session


@authenticated
async def get_session(request: Request, user_id: str) -> Response:
    session = _open_session(request)
    if isinstance(session, Response):
        return session
    parts = len(_state(request).store.session_parts(session["id"]))
    return JSONResponse(_session_body(request, session, parts))


@authenticated
async def abort_session(request: Request, user_id: str) -> Response:
    session = _open_session(request)
    if isinstance(session, Response):
        return session
    store = _state(request).store
    _session_digests(request).pop(session["id"], store.session_path(session["id"]))
    store.delete_session(session["id"])
    return Response(status_code=204)


@authenticated
async def upload_part(request: Request, user_id: str) -> Response:
    """``PUT`` one part: ``content-range`` aligned on ``part_size``, ``digest: sha=<base64 sha1>``."""
    state = _state(request)
    session = _open_session(request)
    if isinstance(session, Response):
        return session
    match = _RANGE.match(request.headers.get("content-range", ""))
    expected_sha1 = _digest_header_sha1(request)
    if match is None or expected_sha1 is None:
        return objects.box_error(400, "bad_request", "content-range and digest headers are required")
    start, end, total = (int(g) for g in match.groups())
    size = end - start + 1
    part_size, file_size = session["part_size"], session["file_size"]
    last = end == file_size - 1
    if total != file_size or start % part_size or end >= file_size or size <= 0 or (
        size != part_size and not (last and size <= part_size)
    ):
        return objects.box_error(416, "range_not_satisfiable", "The content-range is not aligned with part_size")
    path = state.store.session_path(session["id"])
    whole = _session_digests(request).get(session["id"], path)
    whole.part_starting(start)
    digest = hashlib.sha1()  # noqa: S324 - Box's part digest
    received = 0
    # Socket chunks are gathered into WRITE_BUFFER-sized batches; each batch is written and hashed in a worker
    # thread while the next one is received (one batch in flight), so the event loop only moves bytes.
    loop = asyncio.get_running_loop()
    batch: list[bytes] = []
    batched = 0
    position = start
    in_flight: asyncio.Future[None] | None = None
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > size:
                break
            if not chunk:
                continue
            batch.append(chunk)
            batched += len(chunk)
            if batched >= WRITE_BUFFER:
                if in_flight is not None:
                    await in_flight
                in_flight = loop.run_in_executor(None, store_chunks, path, batch, position, digest)
                position, batch, batched = position + batched, [], 0
        if in_flight is not None:
            await in_flight
            in_flight = None
        if batch and received == size:
            await loop.run_in_executor(None, store_chunks, path, batch, position, digest)
    finally:
        if in_flight is not None:  # cancelled mid-part: let the thread finish its write
            await asyncio.wait([in_flight])
    if received != size:
        return objects.box_error(400, "bad_request", f"Expected {size} bytes, received {received}")
    if digest.hexdigest() != expected_sha1:
        return _bad_digest()
    part_id = secrets.token_hex(4).upper()
    state.store.add_part(session["id"], part_id, start, size, expected_sha1)
    # Advance the whole-file SHA-1 off the loop; a failure there only makes the commit read the file again.
    loop.run_in_executor(None, whole.part_stored, start, size).add_done_callback(_ignore_result)
    return JSONResponse({"part": {"part_id": part_id, "offset": start, "size": size, "sha1": expected_sha1}})


def _part_body(row: sqlite3.Row) -> dict[str, Any]:
    return {"part_id": row["part_id"], "offset": row["offset"], "size": row["size"], "sha1": row["sha1"]}


@authenticated
async def list_parts(request: Request, user_id: str) -> Response:
    session = _open_session(request)
    if isinstance(session, Response):
        return session
    parts = [_part_body(p) for p in _state(request).store.session_parts(session["id"])]
    return JSONResponse({"entries": parts, "total_count": len(parts), "limit": 1000, "offset": 0})


@authenticated
async def plan_parts(request: Request, user_id: str) -> Response:
    """Which parts already exist (dedupe): the sandbox never has any, so every part is a miss."""
    session = _open_session(request)
    if isinstance(session, Response):
        return session
    body = await request.json()
    return JSONResponse({"upload_session_id": session["id"], "hits": [], "misses": body.get("parts", [])})


@authenticated
async def commit_session(request: Request, user_id: str) -> Response:
    """Check the parts list and the whole-file ``digest``, then create the file or its new version (201)."""
    state = _state(request)
    store = state.store
    session = _open_session(request)
    if isinstance(session, Response):
        return session
    if session["committed_file_id"] is not None:
        row = store.item(session["committed_file_id"], "file")
        return JSONResponse({"total_count": 1, "entries": [objects.file_full(store, row)]}, status_code=201)
    expected_sha1 = _digest_header_sha1(request)
    if expected_sha1 is None:
        return objects.box_error(400, "bad_request", "The digest header is required")
    body = await request.json()
    stored = [_part_body(p) for p in store.session_parts(session["id"])]
    sent = [
        {"part_id": p.get("part_id"), "offset": p.get("offset"), "size": p.get("size"), "sha1": p.get("sha1")}
        for p in body.get("parts") or []
    ]
    covered = sum(p["size"] for p in stored)
    if sent != stored or covered != session["file_size"] or len(stored) != session["total_parts"]:
        return objects.box_error(400, "bad_request", "The parts do not match the uploaded parts of this session")
    path = store.session_path(session["id"])
    # Usually only the tail (or nothing) is left to hash: the parts were hashed as they arrived in order.
    whole = _session_digests(request).pop(session["id"], path)
    actual = await anyio.to_thread.run_sync(whole.finish, covered)
    if actual != expected_sha1:
        return _bad_digest()
    tmp = store.new_tmp_path()
    path.replace(tmp)
    if session["file_id"] is not None:
        response = store_new_version(
            state, str(session["file_id"]), session["file_name"], tmp, actual, covered, session["user_id"],
            status=201,
        )
        file_id = session["file_id"]
    else:
        response = store_new_file(
            state, str(session["folder_id"]), session["file_name"], tmp, actual, covered, session["user_id"]
        )
        existing = store.child_by_name(session["folder_id"], session["file_name"])
        file_id = existing["id"] if existing is not None and response.status_code == 201 else None
    if response.status_code == 201 and file_id is not None:
        store.mark_session_committed(session["id"], file_id)
    return response


# -- download targets -------------------------------------------------------------------------------------


async def download_target(request: Request) -> Response:
    """Where ``GET /2.0/files/{id}/content`` redirects: no token needed, the URL itself is signed."""
    state = _state(request)
    try:
        version_text, expires_text, signature = request.path_params["ticket"].split(".")
        version_id, expires = int(version_text), int(expires_text)
    except ValueError:
        return objects.box_error(404, "not_found", "Not Found")
    good = hmac.compare_digest(signature, download_signature(state.settings.box_client_secret, version_id, expires))
    if not good or expires < time.time():
        return objects.box_error(403, "access_denied", "The download URL is invalid or has expired")
    version = state.store.version(version_id)
    item = state.store.item(version["file_id"], "file") if version else None
    if version is None or item is None:
        return objects.box_error(404, "not_found", "Not Found")
    return FileResponse(
        state.store.blob_path(version["blob"]),
        media_type="application/octet-stream",
        filename=item["name"],
        headers={"ETag": f'"{version["sha1"]}"'},
    )


def create_upload_app(state: BoxState) -> Starlette:
    """The Box upload host as an ASGI app (not yet wrapped in the fault injector)."""
    sessions = "/api/2.0/files/upload_sessions/{session_id}"
    app = Starlette(
        routes=[
            Route("/api/2.0/files/content", upload_file, methods=["POST"]),
            Route("/api/2.0/files/upload_sessions", create_session, methods=["POST"]),
            Route("/api/2.0/files/{file_id}/content", upload_file_version, methods=["POST"]),
            Route("/api/2.0/files/{file_id}/upload_sessions", create_version_session, methods=["POST"]),
            Route(sessions, get_session, methods=["GET"]),
            Route(sessions, upload_part, methods=["PUT"]),
            Route(sessions, abort_session, methods=["DELETE"]),
            Route(f"{sessions}/parts", list_parts, methods=["GET"]),
            Route(f"{sessions}/plan", plan_parts, methods=["POST"]),
            Route(f"{sessions}/commit", commit_session, methods=["POST"]),
            Route("/d/1/{ticket}/download", download_target, methods=["GET"]),
        ]
    )
    app.state.box = state
    app.state.session_digests = SessionDigests()
    return app
