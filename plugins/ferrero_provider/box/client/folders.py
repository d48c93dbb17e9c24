"""Box folders: find-or-create (a 409 reuses the existing one), the campaign's folders, listings, shared links."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from box_sdk_gen import (
    AddShareLinkToFolderSharedLink,
    AddShareLinkToFolderSharedLinkAccessField,
    CreateFolderParent,
)

from ferrero_provider.box.client.calls import log
from ferrero_provider.box.exceptions import BoxBadRequestError, BoxConflictError
from ferrero_provider.box.models import BoxItem, CampaignFolders

if TYPE_CHECKING:
    from box_sdk_gen import BoxClient, Items

    from ferrero_provider.box.client.calls import BoxCalls

ITEM_FIELDS = ["id", "type", "name", "size", "sha1", "file_version"]
PAGE_LIMIT = 1000


def box_item_name(name: str) -> str:
    """A name Box accepts: no slashes, no leading/trailing spaces, at most 255 bytes."""
    cleaned = " ".join(name.replace("/", "-").replace("\\", "-").split())
    while len(cleaned.encode("utf-8")) > 255:
        cleaned = cleaned[:-1]
    return cleaned.rstrip() or "_"


class FoldersManager:
    """Folders: find-or-create, the campaign's folders, listings, shared links."""

    def __init__(self, calls: BoxCalls) -> None:
        self.calls = calls
        self.settings = calls.settings

    def ensure_folder(self, parent_folder_id: str, name: str) -> str:
        """The id of folder ``name`` in ``parent_folder_id``, created when missing (a 409 reuses the existing one)."""
        name = box_item_name(name)
        operation = f"creating folder {name!r} in folder {parent_folder_id}"
        try:
            folder = self.calls.call(operation, lambda c: c.folders.create_folder(
                name, CreateFolderParent(id=str(parent_folder_id)), fields=["id", "name"]))
            log.info("Box: created folder %r (%s) in %s", name, folder.id, parent_folder_id)
            return str(folder.id)
        except BoxConflictError as exc:
            conflicts = exc.context_info.get("conflicts")
            existing = conflicts[0] if isinstance(conflicts, list) and conflicts else conflicts
            if isinstance(existing, dict) and existing.get("type", "folder") == "folder" and existing.get("id"):
                return str(existing["id"])
            for item in self.list_folder_items(parent_folder_id):
                if item.name.casefold() == name.casefold():
                    if item.item_type == "folder":
                        return item.item_id
                    raise BoxConflictError(f"Box folder {parent_folder_id} already has a {item.item_type} named "
                                           f"{item.name!r}, so folder {name!r} cannot be created there.") from None
            raise

    def ensure_campaign_folders(self, number: str, name: str, *, parent_folder_id: str | None = None) -> CampaignFolders:
        """``<number> <name>/Masters`` and ``/Derivatives`` under the root folder (or ``parent_folder_id``)."""
        parent = str(parent_folder_id or self.settings.root_folder_id)
        campaign_name = box_item_name(f"{number} {name}".strip())
        campaign_id = self.ensure_folder(parent, campaign_name)
        masters = self.ensure_folder(campaign_id, str(self.settings.masters_folder_name))
        derivatives = self.ensure_folder(campaign_id, str(self.settings.derivatives_folder_name))
        return CampaignFolders(campaign_id, campaign_name, masters, derivatives)

    def list_folder_items(self, folder_id: str) -> list[BoxItem]:
        """Every item of a folder (all pages, marker paging)."""
        items: list[BoxItem] = []
        marker: str | None = None
        while True:
            page = self.calls.call(f"listing folder {folder_id}", partial(self._page, folder_id, marker))
            items.extend(BoxItem.from_sdk(entry) for entry in page.entries or [])
            marker = page.next_marker
            if not marker or not page.entries:
                return items

    @staticmethod
    def _page(folder_id: str, marker: str | None, client: BoxClient) -> Items:
        return client.folders.get_folder_items(str(folder_id), fields=ITEM_FIELDS, usemarker=True, marker=marker,
                                               limit=PAGE_LIMIT)

    def get_folder_shared_link(self, folder_id: str, *, access: str = "open") -> str:
        """The folder's shared link URL (for the email), created with ``access`` when it has none."""
        folder = self.calls.call(f"reading the shared link of folder {folder_id}",
                                 lambda c: c.folders.get_folder_by_id(str(folder_id), fields=["id", "shared_link"]))
        if folder.shared_link is not None and folder.shared_link.url:
            return str(folder.shared_link.url)
        shared = AddShareLinkToFolderSharedLink(access=AddShareLinkToFolderSharedLinkAccessField(access))
        created = self.calls.call(f"creating a shared link for folder {folder_id}",
                                  lambda c: c.shared_links_folders.add_share_link_to_folder(
                                      str(folder_id), "shared_link", shared_link=shared))
        if created.shared_link is None:
            raise BoxBadRequestError(f"Box created no shared link for folder {folder_id} (its answer has none).")
        return str(created.shared_link.url)
