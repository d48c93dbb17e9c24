"""The Box API host (``https://api.box.com`` in real life): OAuth, users, folders, files, downloads, webhooks.

Sandbox assumptions (documented, not Box behaviour): one shared ``All Files`` tree owned by the service account
that every sandbox user may read and write (no collaborations), webhook addresses may be plain ``http`` on
loopback or single-label (docker service) hosts, and a folder's shared link points at ``/s/<token>`` on this host.
Admin routes under ``/__sandbox__/box/`` need no token.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import html
import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.box import changes, metadata, objects, trash, webhooks
from sandbox.box.auth import bearer_user, token_endpoint, unauthorized
from sandbox.box.changes import file_updated
from sandbox.box.store import now_iso
from sandbox.box.uploads import invalid_name, name_conflict

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from sandbox.box.state import BoxState

DOWNLOAD_URL_TTL_SECONDS = 900
MAX_PAGE = 1000
_ORDER = [{"by": "type", "direction": "ASC"}, {"by": "name", "direction": "ASC"}]


def _state(request: Request) -> BoxState:
    return request.app.state.box


def authenticated(handler: Callable[[Request, str], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Run the handler with the bearer token's user id; 401 when the token is missing, unknown or expired."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        user_id = bearer_user(_state(request), request)
        if user_id is None:
            async for _chunk in request.stream():  # drain an upload body so the client reads the 401
                pass
            return unauthorized()
        return await handler(request, user_id)

    return wrapper


async def _json_body(request: Request) -> dict[str, Any] | Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return objects.box_error(400, "bad_request", "Invalid JSON body")
    if not isinstance(body, dict):
        return objects.box_error(400, "bad_request", "Body must be a JSON object")
    return body


def _int_param(request: Request, name: str, default: int) -> int:
    try:
        return max(0, int(request.query_params.get(name, default)))
    except ValueError:
        return default


# -- users ------------------------------------------------------------------------------------------------


@authenticated
async def get_me(request: Request, user_id: str) -> Response:
    full = objects.user_full(_state(request).store, user_id)
    return JSONResponse(objects.select_fields(full, request.query_params.get("fields")))


@authenticated
async def get_user(request: Request, user_id: str) -> Response:
    store = _state(request).store
    wanted = request.path_params["user_id"]
    if store.user(wanted) is None:
        return objects.not_found("user", wanted)
    return JSONResponse(objects.select_fields(objects.user_full(store, wanted), request.query_params.get("fields")))


async def revoke_token(request: Request) -> Response:
    form = await request.form()
    token = str(form.get("token") or "")
    state = _state(request)
    with state.store.transaction() as db:
        db.execute("DELETE FROM tokens WHERE token = ?", (token,))
    return Response(status_code=200)


# -- folders ----------------------------------------------------------------------------------------------


async def _named_target(request: Request, state: Any) -> tuple[str, dict[str, Any]] | Response:
    """The ``name`` and existing ``parent`` folder of a create/preflight body, or the error answer Box gives."""
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    name = body.get("name")
    parent_id = str((body.get("parent") or {}).get("id", ""))
    error = invalid_name(name)
    if error is not None:
        return error
    parent = state.store.item(parent_id, "folder")
    if parent is None:
        return objects.not_found("parent", parent_id)
    return name, parent


@authenticated
async def create_folder(request: Request, user_id: str) -> Response:
    state = _state(request)
    target = await _named_target(request, state)
    if isinstance(target, Response):
        return target
    name, parent = target
    row, conflict = state.store.create_folder(parent["id"], name, user_id)
    if conflict is not None:
        return name_conflict(state, conflict, as_list=True)
    full = objects.folder_full(state.store, row)
    return JSONResponse(objects.select_fields(full, request.query_params.get("fields")), status_code=201)


@authenticated
async def get_folder(request: Request, user_id: str) -> Response:
    state = _state(request)
    folder_id = request.path_params["folder_id"]
    row = state.store.item(folder_id, "folder")
    if row is None:
        return objects.not_found("folder", folder_id)
    return JSONResponse(objects.select_fields(objects.folder_full(state.store, row), request.query_params.get("fields")))


def _shared_link(request: Request, row: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    previous = json.loads(row["shared_link"]) if row["shared_link"] else {}
    token = previous.get("token") or secrets.token_hex(16)
    access = wanted.get("access") or previous.get("access") or "open"
    permissions = {"can_download": True, "can_preview": True, "can_edit": False, **(wanted.get("permissions") or {})}
    base = f"{request.url.scheme}://{request.url.netloc}"
    return {
        "token": token,
        "url": f"{base}/s/{token}",
        "download_url": None,
        "vanity_url": None,
        "vanity_name": None,
        "access": access,
        "effective_access": access,
        "effective_permission": "can_download" if permissions["can_download"] else "can_preview",
        "unshared_at": wanted.get("unshared_at"),
        "is_password_enabled": bool(wanted.get("password")),
        "permissions": permissions,
        "download_count": 0,
        "preview_count": 0,
    }


async def _update_item(request: Request, user_id: str, kind: str) -> Response:
    state = _state(request)
    store = state.store
    item_id = request.path_params[f"{kind}_id"]
    row = store.item(item_id, kind)
    if row is None:
        return objects.not_found(kind, item_id)
    if_match = request.headers.get("if-match")
    if if_match and if_match != str(row["etag"]):
        return objects.box_error(412, "precondition_failed", "The resource has been modified. Please retrieve the "
                                 "resource again and retry")
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    changes: dict[str, Any] = {}
    if "description" in body:
        changes["description"] = str(body["description"] or "")
    parent_id = row["parent_id"]
    if isinstance(body.get("parent"), dict) and "id" in body["parent"]:
        parent = store.item(body["parent"]["id"], "folder")
        if parent is None:
            return objects.not_found("parent", str(body["parent"]["id"]))
        if parent["id"] != row["parent_id"]:
            changes["parent_id"] = parent_id = parent["id"]
    name = body.get("name", row["name"])
    if name != row["name"] or "parent_id" in changes:
        error = invalid_name(name)
        if error is not None:
            return error
        other = store.child_by_name(parent_id, name)
        if other is not None and other["id"] != row["id"]:
            return name_conflict(state, other, as_list=kind == "folder")
        changes["name"] = name
    if "shared_link" in body:
        wanted = body["shared_link"]
        changes["shared_link"] = json.dumps(_shared_link(request, row, wanted)) if wanted is not None else None
    before, row = row, store.update_item(row["id"], user_id, **changes)
    if kind == "file":
        file_updated(state, before, row, user_id)
    full = objects.item_full(store, row)
    return JSONResponse(objects.select_fields(full, request.query_params.get("fields")))


@authenticated
async def update_folder(request: Request, user_id: str) -> Response:
    return await _update_item(request, user_id, "folder")


@authenticated
async def update_file(request: Request, user_id: str) -> Response:
    return await _update_item(request, user_id, "file")


async def _delete_item(request: Request, kind: str) -> Response:
    store = _state(request).store
    item_id = request.path_params[f"{kind}_id"]
    row = store.item(item_id, kind)
    if row is None:
        return objects.not_found(kind, item_id)
    if row["parent_id"] is None:
        return objects.box_error(403, "access_denied_insufficient_permissions", "Access denied")
    if_match = request.headers.get("if-match")
    if if_match and if_match != str(row["etag"]):
        return objects.box_error(412, "precondition_failed", "The resource has been modified. Please retrieve the "
                                 "resource again and retry")
    recursive = request.query_params.get("recursive", "").lower() == "true"
    if kind == "folder" and not recursive and store.children(row["id"], 0, 1)[1]:
        return objects.box_error(400, "folder_not_empty", "Cannot delete - folder not empty")
    store.delete_tree(row["id"])
    return Response(status_code=204)


@authenticated
async def delete_folder(request: Request, user_id: str) -> Response:
    return await _delete_item(request, "folder")


@authenticated
async def folder_items(request: Request, user_id: str) -> Response:
    """Offset paging (``offset``/``limit``/``total_count``) or marker paging (``usemarker=true``, any case)."""
    state = _state(request)
    store = state.store
    folder_id = request.path_params["folder_id"]
    row = store.item(folder_id, "folder")
    if row is None:
        return objects.not_found("folder", folder_id)
    params = request.query_params
    limit = min(_int_param(request, "limit", 100) or 100, MAX_PAGE)
    fields = params.get("fields")
    use_marker = params.get("usemarker", "").lower() == "true"
    if use_marker:
        marker = params.get("marker")
        try:
            offset = int(base64.urlsafe_b64decode(marker.encode()).decode()) if marker else 0
        except (ValueError, UnicodeDecodeError):
            return objects.box_error(400, "invalid_parameter", "Invalid value for 'marker'")
    else:
        offset = _int_param(request, "offset", 0)
    children, total = store.children(row["id"], offset, limit)
    entries = [
        objects.select_fields(objects.item_full(store, child), fields) if fields else objects.item_mini(store, child)
        for child in children
    ]
    if use_marker:
        next_offset = offset + len(children)
        next_marker = base64.urlsafe_b64encode(str(next_offset).encode()).decode() if next_offset < total else None
        return JSONResponse({"entries": entries, "limit": limit, "next_marker": next_marker})
    return JSONResponse(
        {"total_count": total, "entries": entries, "offset": offset, "limit": limit, "order": _ORDER}
    )


# -- files ------------------------------------------------------------------------------------------------


@authenticated
async def get_file(request: Request, user_id: str) -> Response:
    state = _state(request)
    file_id = request.path_params["file_id"]
    row = state.store.item(file_id, "file")
    if row is None:
        return trash.trashed(state, file_id)
    return JSONResponse(objects.select_fields(objects.file_full(state.store, row), request.query_params.get("fields")))


@authenticated
async def file_versions(request: Request, user_id: str) -> Response:
    """``GET /files/{id}/versions``: the file's PAST versions (not the current one), newest first, as Box does."""
    state = _state(request)
    row = state.store.item(request.path_params["file_id"], "file")
    if row is None:
        return objects.not_found("file", request.path_params["file_id"])
    past = state.store.query("SELECT * FROM versions WHERE file_id = ? AND id != ? ORDER BY id DESC",
                             (row["id"], row["version_id"]))
    entries = [{"type": "file_version", "id": str(v["id"]), "sha1": v["sha1"], "name": row["name"],
                "size": v["size"], "created_at": v["created_at"], "modified_at": v["created_at"]} for v in past]
    return JSONResponse({"total_count": len(entries), "limit": 1000, "offset": 0, "entries": entries})


def download_signature(secret: str, version_id: int, expires: int) -> str:
    return hmac.new(secret.encode(), f"{version_id}.{expires}".encode(), hashlib.sha256).hexdigest()[:40]


@authenticated
async def download_file(request: Request, user_id: str) -> Response:
    """302 to a self-authorizing URL on the upload host (the redirect drops the Authorization header)."""
    state = _state(request)
    store = state.store
    file_id = request.path_params["file_id"]
    row = store.item(file_id, "file")
    if row is None:
        return objects.not_found("file", file_id)
    version_id = row["version_id"]
    wanted = request.query_params.get("version")
    if wanted:
        version = store.version(int(wanted)) if wanted.isdigit() else None
        if version is None or version["file_id"] != row["id"]:
            return objects.not_found("file_version", wanted)
        version_id = version["id"]
    expires = int(time.time()) + DOWNLOAD_URL_TTL_SECONDS
    signature = download_signature(state.settings.box_client_secret, version_id, expires)
    location = f"{state.upload_origin_for(request)}/d/1/{version_id}.{expires}.{signature}/download"
    return RedirectResponse(location, status_code=302)


@authenticated
async def preflight(request: Request, user_id: str) -> Response:
    """``OPTIONS /2.0/files/content``: would this upload succeed? 200 with an upload URL, or 404/409/400."""
    state = _state(request)
    target = await _named_target(request, state)
    if isinstance(target, Response):
        return target
    name, parent = target
    existing = state.store.child_by_name(parent["id"], name)
    if existing is not None:
        return name_conflict(state, existing, as_list=False)
    session = secrets.token_hex(16)
    return JSONResponse(
        {
            "upload_url": f"{state.upload_origin_for(request)}/api/2.0/files/content?upload_session_id={session}",
            "upload_token": secrets.token_urlsafe(24),
        }
    )


# -- webhooks ---------------------------------------------------------------------------------------------


def _address_allowed(address: str) -> bool:
    parts = urlsplit(address)
    if parts.scheme == "https" and parts.hostname:
        return True
    host = parts.hostname or ""
    local = host in ("localhost", "::1", "host.docker.internal") or host.startswith("127.") or "." not in host
    return parts.scheme == "http" and bool(host) and local


@authenticated
async def create_webhook(request: Request, user_id: str) -> Response:
    state = _state(request)
    store = state.store
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    target = body.get("target") or {}
    target_type, target_id = target.get("type"), str(target.get("id", ""))
    address, triggers = body.get("address"), body.get("triggers")
    if target_type not in ("file", "folder") or not isinstance(address, str) or not triggers:
        return objects.box_error(400, "bad_request", "target, address and triggers are required")
    if not _address_allowed(address):
        return objects.box_error(400, "bad_request", "The webhook address must be an HTTPS URL")
    if target_type == "folder" and target_id == "0":
        return objects.box_error(400, "bad_request", "Webhooks cannot be created on the root folder")
    if store.item(target_id, target_type) is None:
        return objects.not_found(target_type, target_id)
    with store.transaction() as db:
        duplicate = db.execute(
            "SELECT id FROM webhooks WHERE target_type = ? AND target_id = ? AND created_by = ?",
            (target_type, int(target_id), user_id),
        ).fetchone()
        if duplicate is None:
            cursor = db.execute(
                "INSERT INTO webhooks (target_type, target_id, address, triggers, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (target_type, int(target_id), address, json.dumps(list(triggers)), user_id, now_iso()),
            )
            new_id = cursor.lastrowid
    if duplicate is not None:
        return objects.box_error(409, "conflict", "Webhook for this target, application and user already exists",
                                 {"conflicts": [{"id": str(duplicate["id"]), "type": "webhook"}]})
    row = store.query_one("SELECT * FROM webhooks WHERE id = ?", (new_id,))
    return JSONResponse(webhooks.webhook_body(state, row), status_code=201)


@authenticated
async def list_webhooks(request: Request, user_id: str) -> Response:
    """The caller's webhooks, marker-paged like Box."""
    state = _state(request)
    limit = min(_int_param(request, "limit", 100) or 100, 200)
    marker = request.query_params.get("marker")
    after = int(marker) if marker and marker.isdigit() else 0
    rows = state.store.query(
        "SELECT * FROM webhooks WHERE created_by = ? AND id > ? ORDER BY id LIMIT ?", (user_id, after, limit + 1)
    )
    next_marker = str(rows[limit - 1]["id"]) if len(rows) > limit else None
    return JSONResponse(
        {"entries": [webhooks.webhook_body(state, r) for r in rows[:limit]], "limit": limit, "next_marker": next_marker}
    )


def _webhook_row(request: Request, user_id: str) -> Any:
    webhook_id = request.path_params["webhook_id"]
    if not webhook_id.isdigit():
        return None
    return _state(request).store.query_one(
        "SELECT * FROM webhooks WHERE id = ? AND created_by = ?", (int(webhook_id), user_id)
    )


@authenticated
async def get_webhook(request: Request, user_id: str) -> Response:
    row = _webhook_row(request, user_id)
    if row is None:
        return objects.not_found("webhook", request.path_params["webhook_id"])
    return JSONResponse(webhooks.webhook_body(_state(request), row))


@authenticated
async def delete_webhook(request: Request, user_id: str) -> Response:
    row = _webhook_row(request, user_id)
    if row is None:
        return objects.not_found("webhook", request.path_params["webhook_id"])
    with _state(request).store.transaction() as db:
        db.execute("DELETE FROM webhooks WHERE id = ?", (row["id"],))
    return Response(status_code=204)


# -- shared links and admin -------------------------------------------------------------------------------


async def shared_folder_page(request: Request) -> Response:
    """What a shared link opens: a plain HTML listing of the folder."""
    store = _state(request).store
    row = store.find_shared_folder(request.path_params["token"])
    if row is None:
        return HTMLResponse("<h1>This shared file or folder link has been removed or is unavailable.</h1>", 404)
    children, _ = store.children(row["id"], 0, MAX_PAGE)
    items = "".join(f"<li>{html.escape(child['name'])}</li>" for child in children)
    return HTMLResponse(f"<h1>{html.escape(row['name'])}</h1><ul>{items}</ul>")


async def web_app_page(request: Request) -> Response:
    """The Box web app's page of a file or folder (``/app/file/<id>``, ``/app/folder/<id>``, as
    ``https://app.box.com/file/<id>``): its name and where it sits, so a link from the cockpit opens something."""
    store = _state(request).store
    kind, item_id = request.path_params["kind"], request.path_params["item_id"]
    row = store.item(item_id, kind) if kind in ("file", "folder") and item_id.isdigit() else None
    if row is None:
        return HTMLResponse("<h1>This item has been removed or is unavailable.</h1>", 404)
    path, parent = [], row["parent_id"]
    while parent not in (None, 0, "0"):
        folder = store.item(parent, "folder")
        if folder is None:
            break
        path.insert(0, folder["name"])
        parent = folder["parent_id"]
    where = " / ".join(["All Files", *path])
    return HTMLResponse(f"<title>{html.escape(row['name'])} | Box</title><p>{html.escape(where)}</p>"
                        f"<h1 data-{kind}-id=\"{html.escape(item_id)}\">{html.escape(row['name'])}</h1>")


async def admin_expire_tokens(request: Request) -> Response:
    return JSONResponse({"expired": _state(request).store.expire_tokens()})


async def admin_deliveries(request: Request) -> Response:
    entries = webhooks.list_deliveries(_state(request))
    return JSONResponse({"total_count": len(entries), "entries": entries})


async def admin_drop_next(request: Request) -> Response:
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    try:
        count = int(body.get("count", 1))
    except (TypeError, ValueError):
        return objects.box_error(400, "bad_request", "count must be an integer")
    return JSONResponse({"drop_next": webhooks.drop_next(_state(request), count)})


def create_api_app(state: BoxState, lifespan: Any = None) -> Starlette:
    """The Box API host as an ASGI app (not yet wrapped in the fault injector)."""
    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/oauth2/token", token_endpoint, methods=["POST"]),
            Route("/oauth2/revoke", revoke_token, methods=["POST"]),
            Route("/2.0/users/me", get_me, methods=["GET"]),
            Route("/2.0/users/{user_id}", get_user, methods=["GET"]),
            Route("/2.0/folders", create_folder, methods=["POST"]),
            Route("/2.0/folders/{folder_id}", get_folder, methods=["GET"]),
            Route("/2.0/folders/{folder_id}", update_folder, methods=["PUT"]),
            Route("/2.0/folders/{folder_id}", delete_folder, methods=["DELETE"]),
            Route("/2.0/folders/{folder_id}/items", folder_items, methods=["GET"]),
            Route("/2.0/files/content", preflight, methods=["OPTIONS"]),
            Route("/2.0/files/{file_id}", get_file, methods=["GET"]),
            Route("/2.0/files/{file_id}", update_file, methods=["PUT"]),
            *trash.routes(authenticated, _state),
            Route("/2.0/files/{file_id}/content", download_file, methods=["GET"]),
            Route("/2.0/files/{file_id}/versions", file_versions, methods=["GET"]),
            *metadata.routes(authenticated, _state),
            *changes.routes(authenticated, _state),
            Route("/2.0/webhooks", create_webhook, methods=["POST"]),
            Route("/2.0/webhooks", list_webhooks, methods=["GET"]),
            Route("/2.0/webhooks/{webhook_id}", get_webhook, methods=["GET"]),
            Route("/2.0/webhooks/{webhook_id}", delete_webhook, methods=["DELETE"]),
            Route("/s/{token}", shared_folder_page, methods=["GET"]),
            Route("/app/{kind}/{item_id}", web_app_page, methods=["GET"]),
            Route("/__sandbox__/box/expire-tokens", admin_expire_tokens, methods=["POST"]),
            Route("/__sandbox__/box/deliveries", admin_deliveries, methods=["GET"]),
            Route("/__sandbox__/box/webhooks/drop-next", admin_drop_next, methods=["POST"]),
        ]
    )
    app.state.box = state
    return app
