"""What the DAM hook returns: small, JSON-able records with the workflow's names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ferrero_provider.common.records import Record
from ferrero_provider.otmm.metadata import flatten_metadata

CONTAINER_TYPE = "com.artesia.container.Container"


def is_container(item: dict[str, Any]) -> bool:
    return item.get("data_type") == "CONTAINER" or item.get("type") == CONTAINER_TYPE


@dataclass(frozen=True)
class Campaign(Record):
    """A campaign folder: its id, name (the folder name), number and status, and its metadata.

    ``metadata`` is the DAM's grouped metadata as read; ``fields`` the same flattened (field id -> value, a list
    for table fields)."""

    campaign_id: str
    name: str
    number: str | None
    status: str | None
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    fields: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_folder(cls, folder: dict[str, Any], status_field: str, number_field: str) -> Campaign:
        fields = flatten_metadata(folder) if folder.get("metadata") else {}
        status = fields.get(status_field)
        number = fields.get(number_field)
        return cls(
            campaign_id=str(folder["asset_id"]),
            name=str(folder.get("name") or ""),
            number=None if number in (None, "") else str(number).strip(),
            status=None if status in (None, "") else str(status).strip(),
            metadata=folder.get("metadata") or {},
            fields=fields,
        )


@dataclass(frozen=True)
class MasterAsset(Record):
    """A non-folder asset of a campaign folder, with the size and type of its original content."""

    asset_id: str
    name: str
    mime_type: str | None
    content_size: int | None
    metadata_model_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    fields: dict[str, Any] = field(default_factory=dict, repr=False)
    #: The logical id shared by every version (``original_asset_id``); ``asset_id`` is this version's own.
    logical_id: str | None = None
    version: int | None = None

    @classmethod
    def from_asset(cls, asset: dict[str, Any]) -> MasterAsset:
        master = asset.get("master_content_info") or {}
        size = asset.get("content_size", master.get("content_size"))
        return cls(
            asset_id=str(asset["asset_id"]),
            name=str(asset.get("name") or master.get("name") or ""),
            mime_type=asset.get("mime_type") or master.get("mime_type"),
            content_size=None if size is None else int(size),
            metadata_model_id=asset.get("metadata_model_id"),
            metadata=asset.get("metadata") or {},
            fields=flatten_metadata(asset) if asset.get("metadata") else {},
            logical_id=str(asset.get("original_asset_id") or asset["asset_id"]),
            version=None if asset.get("version") is None else int(asset["version"]),
        )


@dataclass(frozen=True)
class DamFolder(Record):
    """A DAM folder (e.g. a campaign's Final Assets)."""

    folder_id: str
    name: str
