"""Box's trash for files (``shared/spec/box-openapi.json``): ``DELETE /2.0/files/{id}`` moves a file to the
trash (gone from its folder's listing, ``GET /files/{id}`` answers 404 ``trashed``), ``GET /2.0/files/{id}/trash``
shows it there, ``POST /2.0/files/{id}`` restores it (to its folder, or to ``parent``/``name`` from the body).

A trash records ``ITEM_TRASH`` in the event stream and sends ``FILE.TRASHED``; a restore records
``ITEM_UNDELETE_VIA_TRASH`` and sends ``FILE.RESTORED``. The trash is never purged (Box: after 30 days by
default); deleting a folder still removes it and what it holds at once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.box import objects, stream
from sandbox.box.uploads import invalid_name, name_conflict
from sandbox.box.webhooks import enqueue_file_event

if TYPE_CHECKING:
    from starlette.requests import Request

    from sandbox.box.state import BoxState


def trashed(state: BoxState, file_id: str) -> Response:
    """404 for a file, ``trashed`` when it is in the trash (as Box answers), else ``not_found``."""
    if state.store.trashed_file(file_id) is not None:
        return objects.box_error(404, "trashed", "Item is trashed")
    return objects.not_found("file", file_id)


def routes(authenticated: Any, state_of: Any) -> list[Route]:
    @authenticated
    async def delete_file(request: Request, user_id: str) -> Response:
        state: BoxState = state_of(request)
        file_id = request.path_params["file_id"]
        row = state.store.item(file_id, "file")
        if row is None:
            return trashed(state, file_id)
        if_match = request.headers.get("if-match")
        if if_match and if_match != str(row["etag"]):
            return objects.box_error(412, "precondition_failed", "The resource has been modified. Please retrieve "
                                     "the resource again and retry")
        # The event and the webhook describe the file where it was (the webhook's folder must still hold it).
        stream.record(state, "ITEM_TRASH", row, user_id)
        enqueue_file_event(state, "FILE.TRASHED", row, user_id)
        state.store.trash_file(row["id"])
        return Response(status_code=204)

    @authenticated
    async def get_trashed_file(request: Request, user_id: str) -> Response:
        state: BoxState = state_of(request)
        row = state.store.trashed_file(request.path_params["file_id"])
        if row is None:
            return objects.not_found("file", request.path_params["file_id"])
        full = {**objects.file_full(state.store, row), "item_status": "trashed", "trashed_at": row["trashed_at"]}
        return JSONResponse(objects.select_fields(full, request.query_params.get("fields")))

    @authenticated
    async def restore_file(request: Request, user_id: str) -> Response:
        state: BoxState = state_of(request)
        store = state.store
        file_id = request.path_params["file_id"]
        row = store.trashed_file(file_id)
        if row is None:
            if store.item(file_id, "file") is not None:
                return objects.box_error(400, "bad_request", "The item is not in the trash")
            return objects.not_found("file", file_id)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return objects.box_error(400, "bad_request", "Invalid JSON body")
        if not isinstance(body, dict):
            return objects.box_error(400, "bad_request", "The body must be an object")
        wanted = body.get("parent") if isinstance(body.get("parent"), dict) else {}
        parent_id = str(wanted.get("id", row["parent_id"]))
        parent = store.item(parent_id, "folder")
        if parent is None:
            return objects.not_found("parent", parent_id)
        name = body.get("name") or row["name"]
        error = invalid_name(name)
        if error is not None:
            return error
        restored, conflict = store.restore_file(row["id"], parent["id"], name, user_id)
        if conflict is not None:
            return name_conflict(state, conflict, as_list=False)
        stream.record(state, "ITEM_UNDELETE_VIA_TRASH", restored, user_id)
        enqueue_file_event(state, "FILE.RESTORED", restored, user_id)
        full = objects.file_full(store, restored)
        return JSONResponse(objects.select_fields(full, request.query_params.get("fields")), status_code=201)

    return [
        Route("/2.0/files/{file_id}", delete_file, methods=["DELETE"]),
        Route("/2.0/files/{file_id}", restore_file, methods=["POST"]),
        Route("/2.0/files/{file_id}/trash", get_trashed_file, methods=["GET"]),
    ]
