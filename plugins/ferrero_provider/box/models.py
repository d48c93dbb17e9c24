"""What the Box hook returns: small, JSON-able records with the workflow's names."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ferrero_provider.common.records import Record


def _type_name(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)


@dataclass(frozen=True)
class BoxFile(Record):
    """A Box file: id, name, size, SHA-1 (hex), parent folder and current version."""

    file_id: str
    name: str
    size: int | None
    sha1: str | None
    folder_id: str | None
    version_id: str | None = None
    #: Names of the folders from the root down to the parent (Box's ``path_collection``), when read.
    path: tuple[str, ...] = ()
    parent_name: str | None = None
    #: Ids of those folders, in the same order (the campaign's own folder is among them).
    path_ids: tuple[str, ...] = ()
    #: When the file was created in Box (its first upload; a new version or a rename keeps it), ISO 8601.
    created_at: str | None = None

    @classmethod
    def from_sdk(cls, file: Any) -> BoxFile:
        parent = getattr(file, "parent", None)
        version = getattr(file, "file_version", None)
        collection = getattr(file, "path_collection", None)
        entries = getattr(collection, "entries", None) or []
        return cls(
            file_id=str(file.id),
            name=str(getattr(file, "name", "") or ""),
            size=getattr(file, "size", None),
            sha1=getattr(file, "sha_1", None),
            folder_id=str(parent.id) if parent is not None and getattr(parent, "id", None) else None,
            version_id=str(version.id) if version is not None and getattr(version, "id", None) else None,
            path=tuple(str(getattr(e, "name", "") or "") for e in entries),
            parent_name=getattr(parent, "name", None) if parent is not None else None,
            path_ids=tuple(str(getattr(e, "id", "") or "") for e in entries),
            created_at=_iso(getattr(file, "created_at", None)),
        )


@dataclass(frozen=True)
class BoxFileVersion(Record):
    """One version of a file; ``position`` is its place in the file's history (1 = the first upload)."""

    version_id: str
    position: int
    sha1: str | None
    size: int | None
    created_at: str | None = None


@dataclass(frozen=True)
class UploadedFile(BoxFile):
    """The result of an upload. ``outcome``: ``created``, ``existing`` (same name and SHA-1 already there, nothing
    sent) or ``new_version``; ``method``: ``direct``, ``chunked`` or ``none``."""

    outcome: str = "created"
    method: str = "direct"

    @classmethod
    def of(cls, file: BoxFile, outcome: str, method: str) -> UploadedFile:
        return cls(**asdict(file), outcome=outcome, method=method)


@dataclass(frozen=True)
class BoxItem(Record):
    """An entry of a folder listing: ``item_type`` is ``file``, ``folder`` or ``web_link``."""

    item_id: str
    item_type: str
    name: str
    size: int | None = None
    sha1: str | None = None
    #: A file's current version (listings ask for ``file_version``), so a sweep needs no call per file.
    version_id: str | None = None

    @classmethod
    def from_sdk(cls, entry: Any) -> BoxItem:
        version = getattr(entry, "file_version", None)
        return cls(
            item_id=str(entry.id),
            item_type=_type_name(getattr(entry, "type", None)),
            name=str(getattr(entry, "name", "") or ""),
            size=getattr(entry, "size", None),
            sha1=getattr(entry, "sha_1", None),
            version_id=str(version.id) if version is not None and getattr(version, "id", None) else None,
        )


@dataclass(frozen=True)
class CampaignFolders(Record):
    """A campaign's Box folders: ``<number> <name>`` with its ``Masters`` and ``Derivatives`` subfolders."""

    campaign_folder_id: str
    campaign_folder_name: str
    masters_folder_id: str
    derivatives_folder_id: str


@dataclass(frozen=True)
class BoxWebhook(Record):
    """A V2 webhook: its id, the folder it watches, where it delivers and on which triggers."""

    webhook_id: str
    folder_id: str | None
    address: str
    triggers: tuple[str, ...]

    @classmethod
    def from_sdk(cls, hook: Any) -> BoxWebhook:
        target = getattr(hook, "target", None)
        folder_id = str(target.id) if target is not None and _type_name(getattr(target, "type", None)) == "folder" \
            else None
        return cls(webhook_id=str(hook.id), folder_id=folder_id,
                   address=str(getattr(hook, "address", "") or ""),
                   triggers=tuple(sorted(_type_name(t) for t in getattr(hook, "triggers", None) or [])))


@dataclass(frozen=True)
class WebhookCheck(Record):
    """What :meth:`ensure_webhook` found and did: ``outcome`` is ``exists``, ``created`` or ``replaced``;
    ``before`` the webhook it found (None: there was none), ``webhook`` the one in place now."""

    outcome: str
    before: BoxWebhook | None
    webhook: BoxWebhook


@dataclass(frozen=True)
class BoxEvent(Record):
    """One event of Box's event stream; ``source`` is the item it is about, as Box sent it (for a file: id, name,
    parent, ``file_version``, ``path_collection``, the fields of a webhook's ``source``)."""

    event_id: str
    event_type: str
    created_at: str | None
    created_by_id: str | None
    source: dict[str, Any]

    @classmethod
    def from_sdk(cls, event: Any) -> BoxEvent:
        raw = event.to_dict() if hasattr(event, "to_dict") else dict(event)
        source = raw.get("source")
        return cls(event_id=str(raw.get("event_id") or ""), event_type=str(raw.get("event_type") or ""),
                   created_at=str(raw["created_at"]) if raw.get("created_at") else None,
                   created_by_id=str((raw.get("created_by") or {}).get("id") or "") or None,
                   source=source if isinstance(source, dict) else {})


@dataclass(frozen=True)
class EventsPage(Record):
    """One chunk of the event stream and the position the next chunk starts at."""

    entries: list[BoxEvent]
    next_position: str
