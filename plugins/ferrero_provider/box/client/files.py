"""Box files: a file's facts and its versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferrero_provider.box.client.calls import log
from ferrero_provider.box.exceptions import BoxAuthError, BoxNotFoundError
from ferrero_provider.box.models import BoxFile, BoxFileVersion

if TYPE_CHECKING:
    from ferrero_provider.box.client.calls import BoxCalls

FILE_FIELDS = ["id", "type", "name", "size", "sha1", "parent", "file_version", "etag", "path_collection", "created_at"]


class FilesManager:
    """A file's facts and its versions."""

    def __init__(self, calls: BoxCalls) -> None:
        self.calls = calls

    def get_file_info(self, file_id: str) -> BoxFile:
        """Name, size, SHA-1, parent folder and version of a file."""
        file = self.calls.call(f"reading file {file_id}", lambda c: c.files.get_file_by_id(str(file_id), fields=FILE_FIELDS))
        return BoxFile.from_sdk(file)

    def file_versions(self, file_id: str) -> list[BoxFileVersion]:
        """Every version of a file, oldest first, the current one last (Box lists past versions only for
        premium accounts; without them the list is the current version alone)."""
        info = self.get_file_info(file_id)
        try:
            past = self.calls.call(f"listing the versions of file {file_id}",
                             lambda c: c.file_versions.get_file_versions(str(file_id), limit=1000)).entries or []
        except (BoxAuthError, BoxNotFoundError) as exc:  # an account without version history
            log.info("Box: no version history for file %s (%s); using its current version", file_id, exc)
            past = []
        entries = sorted((e for e in past if str(e.id) != info.version_id),
                         key=lambda e: (str(getattr(e, "created_at", "") or ""), int(e.id) if str(e.id).isdigit() else 0))
        versions = [(str(e.id), getattr(e, "sha_1", None), getattr(e, "size", None),
                     str(getattr(e, "created_at", "") or "") or None) for e in entries]
        versions.append((str(info.version_id), info.sha1, info.size, None))
        return [BoxFileVersion(v, i, sha1, size, created) for i, (v, sha1, size, created) in enumerate(versions, 1)]
