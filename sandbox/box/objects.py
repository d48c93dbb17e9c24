"""Box JSON shapes (users, folders, files, errors) built from store rows, as the Box API v2.0 returns them.

Every entry carries ``type``: the SDK picks the class of an item from it.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

from sandbox.box.store import ROOT_FOLDER_ID, BoxStore

if TYPE_CHECKING:
    import sqlite3

#: Keys Box always returns, even when ``fields=`` asks for others.
_BASE_KEYS = ("type", "id", "etag")


def box_error(
    status: int, code: str, message: str, context_info: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Box's error body (``type: error``), as every 4xx/5xx carries it."""
    body: dict[str, Any] = {
        "type": "error",
        "status": status,
        "code": code,
        "help_url": "http://developers.box.com/docs/#errors",
        "message": message,
        "request_id": uuid.uuid4().hex[:16],
    }
    if context_info is not None:
        body["context_info"] = context_info
    return JSONResponse(body, status_code=status, headers=headers)


def not_found(kind: str, item_id: str) -> JSONResponse:
    return box_error(
        404,
        "not_found",
        "Not Found",
        {"errors": [{"reason": "invalid_parameter", "name": kind, "message": f"Invalid value '{item_id}'. "
                     f"'{kind}' with value '{item_id}' not found"}]},
    )


def user_mini(store: BoxStore, user_id: str) -> dict[str, Any]:
    user = store.user(user_id)
    name, login = (user["name"], user["login"]) if user else ("", "")
    return {"type": "user", "id": user_id, "name": name, "login": login}


def user_full(store: BoxStore, user_id: str) -> dict[str, Any]:
    user = store.user(user_id)
    return {
        **user_mini(store, user_id),
        "created_at": user["created_at"] if user else None,
        "modified_at": user["created_at"] if user else None,
        "language": "en",
        "timezone": "Europe/Rome",
        "space_amount": 999999999999999,
        "space_used": 0,
        "max_upload_size": 161061273600,
        "status": "active",
        "job_title": "",
        "phone": "",
        "address": "",
        "avatar_url": "",
    }


def folder_mini(row: sqlite3.Row) -> dict[str, Any]:
    if row["id"] == ROOT_FOLDER_ID:
        return {"type": "folder", "id": "0", "sequence_id": None, "etag": None, "name": "All Files"}
    return {
        "type": "folder",
        "id": str(row["id"]),
        "sequence_id": str(row["etag"]),
        "etag": str(row["etag"]),
        "name": row["name"],
    }


def file_mini(store: BoxStore, row: sqlite3.Row) -> dict[str, Any]:
    version = store.version(row["version_id"])
    return {
        "type": "file",
        "id": str(row["id"]),
        "file_version": {"type": "file_version", "id": str(version["id"]), "sha1": version["sha1"]},
        "sequence_id": str(row["etag"]),
        "etag": str(row["etag"]),
        "sha1": version["sha1"],
        "name": row["name"],
    }


def item_mini(store: BoxStore, row: sqlite3.Row) -> dict[str, Any]:
    return folder_mini(row) if row["type"] == "folder" else file_mini(store, row)


def path_collection(store: BoxStore, row: sqlite3.Row) -> dict[str, Any]:
    entries = [folder_mini(folder) for folder in store.ancestors(row["id"])]
    return {"total_count": len(entries), "entries": entries}


def _common(store: BoxStore, row: sqlite3.Row) -> dict[str, Any]:
    parent = store.item(row["parent_id"]) if row["parent_id"] is not None else None
    return {
        "description": row["description"],
        "path_collection": path_collection(store, row),
        "created_at": row["created_at"],
        "modified_at": row["modified_at"],
        "trashed_at": None,
        "purged_at": None,
        "content_created_at": row["created_at"],
        "content_modified_at": row["modified_at"],
        "created_by": user_mini(store, row["created_by"]),
        "modified_by": user_mini(store, row["modified_by"]),
        "owned_by": user_mini(store, row["owner_id"]),
        "shared_link": shared_link_body(row),
        "parent": folder_mini(parent) if parent is not None else None,
        "item_status": "active",
    }


def shared_link_body(row: sqlite3.Row) -> dict[str, Any] | None:
    if not row["shared_link"]:
        return None
    link = dict(json.loads(row["shared_link"]))
    link.pop("token", None)
    return link


def file_full(store: BoxStore, row: sqlite3.Row) -> dict[str, Any]:
    mini = file_mini(store, row)
    version = store.version(row["version_id"])
    name = row["name"]
    return {
        **mini,
        **_common(store, row),
        "size": version["size"],
        "extension": name.rsplit(".", 1)[1].lower() if "." in name else "",
        "version_number": str(
            store.query_one("SELECT COUNT(*) AS n FROM versions WHERE file_id = ?", (row["id"],))["n"]
        ),
        "is_package": False,
        "comment_count": 0,
        "lock": None,
    }


def folder_full(store: BoxStore, row: sqlite3.Row, *, with_items: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {**folder_mini(row), **_common(store, row)}
    if row["id"] == ROOT_FOLDER_ID:
        body.update(parent=None, path_collection={"total_count": 0, "entries": []})
    body["size"] = store.query_one(
        "SELECT COALESCE(SUM(v.size), 0) AS n FROM items i JOIN versions v ON v.id = i.version_id "
        "WHERE i.parent_id = ?",
        (row["id"],),
    )["n"]
    body["folder_upload_email"] = None
    body["has_collaborations"] = False
    if with_items:
        children, total = store.children(row["id"], 0, 100)
        body["item_collection"] = {
            "total_count": total,
            "entries": [item_mini(store, child) for child in children],
            "offset": 0,
            "limit": 100,
            "order": [{"by": "type", "direction": "ASC"}, {"by": "name", "direction": "ASC"}],
        }
    return body


def item_full(store: BoxStore, row: sqlite3.Row) -> dict[str, Any]:
    return folder_full(store, row) if row["type"] == "folder" else file_full(store, row)


def select_fields(full: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Apply ``?fields=a,b``: Box then answers only those keys plus type, id and etag."""
    if not fields:
        return full
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    return {key: full[key] for key in (*_BASE_KEYS, *wanted) if key in full}


def conflict_mini(store: BoxStore, row: sqlite3.Row) -> dict[str, Any]:
    """The existing item in a 409 ``item_name_in_use`` (files carry sha1 and file_version)."""
    return item_mini(store, row)
