"""Decisions of the A2 -> A3 pipeline about an agency's upload: which run handles it, whether it is ours to
process, and whether its campaign is complete. Pure Python: no Airflow, no I/O."""

from __future__ import annotations

import re
from typing import Any

_SAFE = re.compile(r"[^A-Za-z0-9_.~:+-]+")


class DerivativeError(ValueError):
    """An uploaded file cannot become a DAM asset; the message is one sentence for the agency and operators."""

    def __init__(self, message: str, *, file_name: str | None = None, tracking_id: str | None = None) -> None:
        super().__init__(message)
        self.file_name = file_name
        self.tracking_id = tracking_id


def derivative_run_id(box_file_id: str, box_file_version_id: str | None) -> str:
    """The one A2 -> A3 run of a Box file version: a redelivered or replayed webhook, the sweep and an operator
    all arrive at the same id, so the version is processed once."""
    version = _SAFE.sub("-", str(box_file_version_id or "unknown"))
    return f"box_{_SAFE.sub('-', str(box_file_id))}_v{version}"


def derivatives_folder_of(path_names: list[str], parent_name: str | None, folder_name: str) -> bool:
    """True when the file sits in a folder named ``folder_name`` (case-insensitive) at any depth below it.

    ``path_names`` are the names of the folders from the root down to the parent (Box's path_collection)."""
    names = [n.lower() for n in [*path_names, parent_name or ""] if n]
    return folder_name.lower() in names


def ignore_reason(event: dict[str, Any], folder_name: str, service_account_id: str | None) -> str | None:
    """Why a Box webhook event is not processed, or None when it is a derivative to process."""
    if event.get("trigger") != "FILE.UPLOADED":
        return f"trigger {event.get('trigger')!r} is not FILE.UPLOADED"
    source = event.get("source") or {}
    if source.get("type") != "file":
        return "the event's source is not a file"
    created_by = (event.get("created_by") or {}).get("id")
    if service_account_id and str(created_by) == str(service_account_id):
        return "uploaded by the service account itself (a master)"
    path = [e.get("name", "") for e in (source.get("path_collection") or {}).get("entries", [])]
    if not derivatives_folder_of(path, (source.get("parent") or {}).get("name"), folder_name):
        return f"the file is not inside a {folder_name!r} folder"
    return None


def campaign_complete(master_tracking_ids: list[str], derivative_tracking_ids: list[str]) -> bool:
    """Every master of the campaign has at least one derivative."""
    masters = set(master_tracking_ids)
    return bool(masters) and masters <= set(derivative_tracking_ids)
