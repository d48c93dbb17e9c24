"""What a Box webhook payload means for us: the fields we keep, and whether (and why) it is ignored.

Only ``FILE.UPLOADED`` events for a file inside a folder named like ``box.derivatives_folder_name`` (the file's
parent or any folder above it, compared case-insensitively), uploaded by someone other than the service account,
go to the A2->A3 DAG. Everything else is acknowledged and kept as ``ignored`` with the reason.
"""

from __future__ import annotations

from typing import Any

from include.ferrero.derivatives import derivatives_folder_of
from include.ferrero.webhook_events import WebhookEvent

FILE_UPLOADED = "FILE.UPLOADED"


class PayloadError(ValueError):
    """The body is JSON but not a Box webhook event (no event id)."""


def classify(
    payload: Any,
    *,
    delivery_id: str | None,
    derivatives_folder_name: str,
    service_account_user_id: str | None,
) -> WebhookEvent:
    if not isinstance(payload, dict):
        raise PayloadError("the body is not a JSON object")
    event_id = payload.get("id")
    if not isinstance(event_id, (str, int)) or not str(event_id).strip():
        raise PayloadError("the event has no id")
    trigger = str(payload.get("trigger") or "")
    source = payload.get("source") if isinstance(payload.get("source"), dict) else {}
    parent = source.get("parent") if isinstance(source.get("parent"), dict) else {}
    version = source.get("file_version") if isinstance(source.get("file_version"), dict) else {}
    created_by = payload.get("created_by") if isinstance(payload.get("created_by"), dict) else {}
    event = WebhookEvent(
        event_id=str(event_id),
        trigger=trigger or "(none)",
        payload=payload,
        delivery_id=delivery_id,
        box_file_id=_text(source.get("id")) if source.get("type") == "file" else None,
        box_file_version_id=_text(version.get("id")),
        file_name=_text(source.get("name")),
        parent_folder_id=_text(parent.get("id")),
        created_by_id=_text(created_by.get("id")),
    )
    event.ignore_reason = _ignore_reason(event, source, parent, derivatives_folder_name, service_account_user_id)
    return event


def _ignore_reason(
    event: WebhookEvent,
    source: dict[str, Any],
    parent: dict[str, Any],
    derivatives_folder_name: str,
    service_account_user_id: str | None,
) -> str | None:
    if event.trigger != FILE_UPLOADED:
        return f"trigger {event.trigger} is not {FILE_UPLOADED}"
    if event.box_file_id is None:
        return f"the source is a {source.get('type') or 'missing item'}, not a file"
    if service_account_user_id and event.created_by_id == str(service_account_user_id):
        return "uploaded by the service account"
    entries = (source.get("path_collection") or {}).get("entries") or []
    path = [e["name"] for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)]
    parent_name = parent.get("name") if isinstance(parent.get("name"), str) else None
    if not derivatives_folder_of(path, parent_name, derivatives_folder_name):
        where = parent.get("name") or parent.get("id") or "unknown folder"
        return f"not inside a {derivatives_folder_name} folder (uploaded to {where})"
    if event.box_file_version_id is None:
        return "the event has no file version id"
    return None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
