"""Box metadata instances on files: ``/2.0/files/{id}/metadata[/{scope}/{template}]``.

Create (201, 409 ``tuple_already_exists``), get, list, update (JSON Patch: add, replace, remove, test) and
delete. Sandbox assumption: any template key is accepted (no template registry); ``global/properties`` is the
free-form one real Box always has, and scope ``enterprise`` is answered as ``enterprise_<enterprise id>``.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.box import objects

if TYPE_CHECKING:
    from starlette.requests import Request

    from sandbox.box.state import BoxState


def _scope(state: BoxState, scope: str) -> str:
    return f"enterprise_{state.settings.box_enterprise_id}" if scope == "enterprise" else scope


def _instance(file_id: int, scope: str, template: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "$id": record["$id"],
        "$type": f"{template}-{record['$id'][:8]}",
        "$parent": f"file_{file_id}",
        "$scope": scope,
        "$template": template,
        "$version": record["$version"],
        "$typeVersion": 0,
        "$canEdit": True,
        **record["values"],
    }


def _load(state: BoxState, file_id: int, scope: str, template: str) -> dict[str, Any] | None:
    row = state.store.query_one(
        "SELECT body FROM metadata WHERE file_id = ? AND scope = ? AND template = ?", (file_id, scope, template)
    )
    return json.loads(row["body"]) if row else None


def _save(state: BoxState, file_id: int, scope: str, template: str, record: dict[str, Any]) -> None:
    with state.store.transaction() as db:
        db.execute(
            "INSERT INTO metadata (file_id, scope, template, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(file_id, scope, template) DO UPDATE SET body = excluded.body",
            (file_id, scope, template, json.dumps(record)),
        )


def _not_found_instance() -> Response:
    return objects.box_error(404, "instance_not_found", "Instance not found")


def _apply_patch(values: dict[str, Any], operations: list[Any]) -> dict[str, Any] | Response:
    result = dict(values)
    for op in operations:
        if not isinstance(op, dict) or not str(op.get("path", "")).startswith("/"):
            return objects.box_error(400, "bad_request", "Invalid JSON Patch operation")
        key = op["path"][1:]
        kind = op.get("op")
        if kind in ("add", "replace"):
            if kind == "replace" and key not in result:
                return objects.box_error(400, "bad_request", f"Cannot replace missing key {key}")
            result[key] = op.get("value")
        elif kind == "remove":
            if key not in result:
                return objects.box_error(400, "bad_request", f"Cannot remove missing key {key}")
            del result[key]
        elif kind == "test":
            if result.get(key) != op.get("value"):
                return objects.box_error(409, "conflict", f"Test failed for key {key}")
        else:
            return objects.box_error(400, "bad_request", f"Unsupported JSON Patch op {kind}")
    return result


def routes(authenticated: Any, state_of: Any) -> list[Route]:
    """The metadata routes, wrapped with the API's bearer-token check."""

    def file_or_404(request: Request) -> Any:
        file_id = request.path_params["file_id"]
        row = state_of(request).store.item(file_id, "file")
        return row if row is not None else objects.not_found("file", file_id)

    def instance_of(request: Request) -> Any:
        """(state, file id, scope, template) of the instance a request names, or the 404 of a missing file."""
        state = state_of(request)
        row = file_or_404(request)
        if isinstance(row, Response):
            return row
        return state, row["id"], _scope(state, request.path_params["scope"]), request.path_params["template"]

    @authenticated
    async def create(request: Request, user_id: str) -> Response:
        key = instance_of(request)
        if isinstance(key, Response):
            return key
        state, file_id, scope, template = key
        try:
            values = await request.json()
        except ValueError:
            return objects.box_error(400, "bad_request", "Invalid JSON body")
        if not isinstance(values, dict):
            return objects.box_error(400, "bad_request", "Body must be a JSON object")
        if _load(state, file_id, scope, template) is not None:
            return objects.box_error(409, "tuple_already_exists", "Metadata instance already exists")
        record = {"$id": str(uuid.uuid4()), "$version": 0, "values": values}
        _save(state, file_id, scope, template, record)
        return JSONResponse(_instance(file_id, scope, template, record), status_code=201)

    @authenticated
    async def get(request: Request, user_id: str) -> Response:
        key = instance_of(request)
        if isinstance(key, Response):
            return key
        state, file_id, scope, template = key
        record = _load(state, file_id, scope, template)
        if record is None:
            return _not_found_instance()
        return JSONResponse(_instance(file_id, scope, template, record))

    @authenticated
    async def update(request: Request, user_id: str) -> Response:
        key = instance_of(request)
        if isinstance(key, Response):
            return key
        state, file_id, scope, template = key
        record = _load(state, file_id, scope, template)
        if record is None:
            return _not_found_instance()
        try:
            operations = await request.json()
        except ValueError:
            return objects.box_error(400, "bad_request", "Invalid JSON body")
        values = _apply_patch(record["values"], operations if isinstance(operations, list) else [None])
        if isinstance(values, Response):
            return values
        record.update(values=values, **{"$version": record["$version"] + 1})
        _save(state, file_id, scope, template, record)
        return JSONResponse(_instance(file_id, scope, template, record))

    @authenticated
    async def delete(request: Request, user_id: str) -> Response:
        key = instance_of(request)
        if isinstance(key, Response):
            return key
        state, file_id, scope, template = key
        with state.store.transaction() as db:
            gone = db.execute(
                "DELETE FROM metadata WHERE file_id = ? AND scope = ? AND template = ?", (file_id, scope, template)
            ).rowcount
        return Response(status_code=204) if gone else _not_found_instance()

    @authenticated
    async def list_all(request: Request, user_id: str) -> Response:
        state = state_of(request)
        row = file_or_404(request)
        if isinstance(row, Response):
            return row
        entries = [
            _instance(row["id"], r["scope"], r["template"], json.loads(r["body"]))
            for r in state.store.query(
                "SELECT * FROM metadata WHERE file_id = ? ORDER BY scope, template", (row["id"],)
            )
        ]
        return JSONResponse({"entries": entries, "limit": 100})

    one = "/2.0/files/{file_id}/metadata/{scope}/{template}"
    return [
        Route("/2.0/files/{file_id}/metadata", list_all, methods=["GET"]),
        Route(one, create, methods=["POST"]),
        Route(one, get, methods=["GET"]),
        Route(one, update, methods=["PUT"]),
        Route(one, delete, methods=["DELETE"]),
    ]
