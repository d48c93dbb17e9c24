"""The routes of Box's changes as the product watches them: the event stream (``GET /2.0/events``,
:mod:`sandbox.box.stream`), copying a file (``POST /2.0/files/{id}/copy``), what a rename or move of a file
records (:func:`file_updated`), and the admin routes of the Box variants and of the stream's retention.

Admin: ``GET|POST /__sandbox__/box/variants`` (``{"variants": [...] | null}``),
``POST /__sandbox__/box/events/expire`` (``{"older_than_seconds": 0}``: forget events, as retention does).
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.box import objects, stream, variants
from sandbox.box.uploads import files_response, invalid_name, name_conflict
from sandbox.box.webhooks import TRIGGER_FILE_UPLOADED, enqueue_file_event

if TYPE_CHECKING:
    import sqlite3

    from starlette.requests import Request

    from sandbox.box.state import BoxState


def file_updated(state: BoxState, before: sqlite3.Row, after: sqlite3.Row, user_id: str) -> None:
    """A file's name or folder changed (``PUT /files/{id}``): its stream events and its ``FILE.MOVED`` (a move
    into a watched folder is also an ``FILE.UPLOADED``: "uploaded to or moved to this folder")."""
    if before["parent_id"] != after["parent_id"]:
        stream.record(state, "ITEM_MOVE", after, user_id)
        enqueue_file_event(state, "FILE.MOVED", after, user_id)
        enqueue_file_event(state, TRIGGER_FILE_UPLOADED, after, user_id)
    elif before["name"] != after["name"]:
        stream.record(state, "ITEM_RENAME", after, user_id)


async def _body(request: Request) -> dict[str, Any] | Response:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return objects.box_error(400, "bad_request", "Invalid JSON body")
    return body if isinstance(body, dict) else objects.box_error(400, "bad_request", "The body must be an object")


def routes(authenticated: Any, state_of: Any) -> list[Route]:
    @authenticated
    async def get_events(request: Request, user_id: str) -> Response:
        return stream.get_events(state_of(request), request)

    @authenticated
    async def copy_file(request: Request, user_id: str) -> Response:
        state = state_of(request)
        store = state.store
        source = store.item(request.path_params["file_id"], "file")
        if source is None:
            return objects.not_found("file", request.path_params["file_id"])
        body = await _body(request)
        if isinstance(body, Response):
            return body
        parent = store.item(str((body.get("parent") or {}).get("id", "")), "folder")
        if parent is None:
            return objects.not_found("parent", str((body.get("parent") or {}).get("id", "")))
        name = body.get("name") or source["name"]
        error = invalid_name(name)
        if error is not None:
            return error
        version = store.version(source["version_id"])
        content = store.new_tmp_path()
        shutil.copyfile(store.blob_path(version["blob"]), content)
        row, conflict = store.add_file(parent["id"], name, content, version["sha1"], version["size"], user_id)
        if conflict is not None:
            content.unlink(missing_ok=True)
            return name_conflict(state, conflict, as_list=False)
        stream.record(state, "ITEM_COPY", row, user_id)
        enqueue_file_event(state, "FILE.COPIED", row, user_id)
        full = files_response(state, row, 201)
        return JSONResponse(json.loads(full.body)["entries"][0], status_code=201)

    async def admin_variants(request: Request) -> Response:
        state: BoxState = state_of(request)
        if request.method == "POST":
            body = await _body(request)
            if isinstance(body, Response):
                return body
            try:
                variants.set_active(state, body.get("variants"))
            except ValueError as exc:
                return objects.box_error(400, "bad_request", str(exc))
        return JSONResponse({"variants": sorted(variants.active(state))})

    async def admin_expire_events(request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, Response):
            return body
        return JSONResponse({"expired": stream.expire(state_of(request), float(body.get("older_than_seconds", 0)))})

    return [
        Route("/2.0/events", get_events, methods=["GET"]),
        Route("/2.0/files/{file_id}/copy", copy_file, methods=["POST"]),
        Route("/__sandbox__/box/variants", admin_variants, methods=["GET", "POST"]),
        Route("/__sandbox__/box/events/expire", admin_expire_events, methods=["POST"]),
    ]
