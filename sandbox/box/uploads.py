"""What every upload path shares (direct, new version, chunked commit): name rules, 409s, webhook events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from sandbox.box import objects, stream
from sandbox.box.webhooks import enqueue_file_uploaded

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from sandbox.box.state import BoxState


def invalid_name(name: object) -> Response | None:
    """Box's 400 ``item_name_invalid`` for names it refuses; None when the name is fine."""
    if (
        not isinstance(name, str)
        or not name
        or len(name.encode("utf-8")) > 255
        or name in (".", "..")
        or name != name.strip()
        or "/" in name
        or "\\" in name
        or any(ord(ch) < 32 or ch == "\x7f" for ch in name)
    ):
        return objects.box_error(400, "item_name_invalid", "Item name invalid")
    return None


def name_conflict(state: BoxState, existing: sqlite3.Row, *, as_list: bool) -> Response:
    """409 ``item_name_in_use``: conflicts is a list for folder create, one object for uploads/preflight."""
    mini = objects.conflict_mini(state.store, existing)
    return objects.box_error(
        409,
        "item_name_in_use",
        "Item with the same name already exists",
        {"conflicts": [mini] if as_list else mini},
    )


def files_response(state: BoxState, row: sqlite3.Row, status: int) -> Response:
    return JSONResponse({"total_count": 1, "entries": [objects.file_full(state.store, row)]}, status_code=status)


def store_new_file(
    state: BoxState, parent_id: str, name: str, content: Path, sha1: str, size: int, user_id: str
) -> Response:
    """Create a file from a finished temp file; 201 Files, or 404/400/409 (the temp file is removed)."""
    error = invalid_name(name)
    parent = state.store.item(parent_id, "folder")
    if error is None and parent is None:
        error = objects.not_found("parent", str(parent_id))
    if error is None:
        row, conflict = state.store.add_file(parent["id"], name, content, sha1, size, user_id)
        if conflict is not None:
            error = name_conflict(state, conflict, as_list=False)
    if error is not None:
        content.unlink(missing_ok=True)
        return error
    stream.record(state, "ITEM_UPLOAD", row, user_id)
    enqueue_file_uploaded(state, row, user_id)
    return files_response(state, row, 201)


def store_new_version(
    state: BoxState,
    file_id: str,
    name: str | None,
    content: Path,
    sha1: str,
    size: int,
    user_id: str,
    if_match: str | None = None,
    status: int = 200,
) -> Response:
    """Make a finished temp file the new version of a file; Files, or 404/412/409/400."""
    store = state.store
    existing = store.item(file_id, "file")
    error: Response | None = None
    if existing is None:
        error = objects.not_found("file", str(file_id))
    elif if_match and if_match != str(existing["etag"]):
        error = objects.box_error(412, "precondition_failed", "The resource has been modified. Please retrieve "
                                  "the resource again and retry")
    elif name is not None and name != existing["name"]:
        error = invalid_name(name)
        other = store.child_by_name(existing["parent_id"], name)
        if error is None and other is not None and other["id"] != existing["id"]:
            error = name_conflict(state, other, as_list=False)
    if error is not None:
        content.unlink(missing_ok=True)
        return error
    rename = name if name is not None and name != existing["name"] else None
    row = store.add_version(existing["id"], content, sha1, size, user_id, new_name=rename)
    stream.record(state, "ITEM_UPLOAD", row, user_id)
    enqueue_file_uploaded(state, row, user_id, new_version=True)
    return files_response(state, row, status)
