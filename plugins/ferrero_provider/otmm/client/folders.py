"""Campaign folders: search by status, read (with a fallback chain for the metadata), masters and subfolders, and
the campaign status write.

Where the public evidence is thin (spec §17, L) the client works either way:

- **Folder metadata.** A campaign's status is taken from the first of: the search hit's metadata → ``GET
  /folders/{id}?load_type=custom`` (``load_metadata``) → ``GET /assets/{folderId}?load_type=metadata`` that holds
  the status field. A folder none of them gives metadata for is an :class:`OtmmStatusError`, never "not in that
  status"; metadata without the field means the status is not set (``None``).
- **Paging.** Listings page with ``after``/``limit`` until a page is empty or brings no new item, so a server
  that caps the page size below ``limit`` or ignores ``after`` (seen only with ``limit=0``) is read whole, once.
- **Campaign status** (spec §17, L–M): lock through the asset state service → ``PATCH /folders/{id}`` with
  ``{"edited_folder": {"data": {"metadata": [...]}}}`` → unlock → the status READ BACK (the chain of
  :meth:`get_campaign`). A DAM without the folder service (404/405) is asked ``PATCH /assets/{id}`` with
  ``edited_asset`` instead. A status that did not change is an :class:`OtmmStatusError` with a sentence.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ferrero_provider.otmm.exceptions import OtmmBadRequestError, OtmmNotFoundError, OtmmStatusError
from ferrero_provider.otmm.models import Campaign, DamFolder, MasterAsset, is_container

if TYPE_CHECKING:
    from ferrero_provider.otmm.client.locks import LocksManager
    from ferrero_provider.otmm.client.transport import DamTransport, JsonObject

#: ``GET /folders/{id}`` asking for metadata the way public callers do (spec §4: ``load_type=custom``).
FOLDER_METADATA = {"load_type": "custom", "level_of_detail": "full", "data_load_request": json.dumps(
    {"data_load_request": {"load_metadata": "true", "child_count_load_type": "both"}})}
CONTAINS = "ARTESIA.OPERATOR.CHAR.CONTAINS"


FIELD_TYPE = "com.artesia.metadata.MetadataField"


class FoldersManager:
    """Campaign folders, their masters and subfolders, and their status."""

    def __init__(self, transport: DamTransport, locks: LocksManager) -> None:
        self.transport = transport
        self.locks = locks
        self.edit_via_assets = False  #: set once PATCH /folders/{id} answered 404/405

    # ---- campaigns ------------------------------------------------------------------------------------------

    def search_campaigns(self, status: str) -> list[Campaign]:
        """Every campaign folder whose status field is exactly ``status`` (all result pages).

        The DAM is asked with a CONTAINS condition (no exact operator is documented); hits are kept only when
        they are folders and their status equals ``status`` exactly.
        """
        s = self.transport.settings
        condition = {"search_condition_list": {"search_condition": [{
            "type": "com.artesia.search.SearchScalarCondition", "metadata_field_id": s.status_field,
            "relational_operator_id": CONTAINS, "value": status, "relational_operator": "and",
            "left_paren": "(", "right_paren": ")"}]}}
        campaigns: list[Campaign] = []
        seen: set[str] = set()
        after = 0
        while True:
            form = {"keyword_query": "*", "search_condition_list": json.dumps(condition), "load_type": "metadata",
                    "level_of_detail": "slim", "after": str(after), "limit": str(s.page_size)}
            data = self.transport.request("POST", "/search/text", f"searching campaigns with status {status}", data=form)
            resource = data.get("search_result_resource", {})
            result = resource.get("search_result", {})
            items = resource.get("asset_list") or []
            for item in items:
                if not is_container(item) or str(item.get("asset_id")) in seen:
                    continue
                campaign = Campaign.from_folder(item, s.status_field, s.number_field)
                if s.status_field not in campaign.fields:  # the hit carries no (or partial) metadata: read it
                    campaign = self.get_campaign(campaign.campaign_id)
                if campaign.status == status:
                    seen.add(campaign.campaign_id)
                    campaigns.append(campaign)
            hits = int(result.get("hit_count", len(items)) or 0)
            total = int(result.get("total_hit_count", 0) or 0)
            after += hits
            if hits == 0 or after >= total:
                break
        self.transport.log.info("DAM: %d campaign(s) with status %s", len(campaigns), status)
        return campaigns

    def get_campaign(self, campaign_id: str) -> Campaign:
        """The campaign folder with its metadata, status and number (fallback chain in the module docstring).

        :raises OtmmStatusError: no read path gives the folder's metadata.
        """
        operation = f"reading campaign {campaign_id}"
        data = self.transport.request("GET", f"/folders/{campaign_id}", operation, params=FOLDER_METADATA)
        folder = data.get("folder_resource", {}).get("folder")
        if not folder:
            raise OtmmNotFoundError(f"DAM request failed while {operation}: no folder in the answer.")
        s = self.transport.settings
        campaign = Campaign.from_folder(folder, s.status_field, s.number_field)
        if s.status_field in campaign.fields:
            return campaign
        data = self.transport.request("GET", f"/assets/{campaign_id}", f"reading the metadata of campaign {campaign_id}",
                             params={"load_type": "metadata", "level_of_detail": "full"})
        asset = data.get("asset_resource", {}).get("asset") or {}
        if asset.get("metadata"):
            return Campaign.from_folder({**folder, "metadata": asset["metadata"]}, s.status_field, s.number_field)
        if campaign.metadata:  # metadata without the status field: the status is not set
            return campaign
        raise OtmmStatusError(f"The DAM gives no metadata for campaign folder {campaign_id} (tried GET /folders/"
                              f"{campaign_id}?load_type=custom and GET /assets/{campaign_id}?load_type=metadata), so "
                              "its status cannot be read; run `make verify` to see which read path this DAM offers.")

    def children(self, folder_id: str, operation: str, *, subfolders: bool = False,
                 **params: str) -> list[JsonObject]:
        """Every child of a folder (``/children``, or ``/folders`` for subfolders only), all pages.

        Pages until an empty page or one with nothing new: robust to a server-side cap on the page size and to
        a server that ignores ``after`` (it answers everything every time)."""
        page_size = self.transport.settings.page_size
        endpoint, key, list_key = ("folders", "folders_resource", "folder_list") if subfolders else (
            "children", "folder_children", "asset_list")
        out: dict[str, JsonObject] = {}
        after = 0
        while True:
            data = self.transport.request("GET", f"/folders/{folder_id}/{endpoint}", operation,
                                 params={**params, "after": after, "limit": page_size, "sort": "asc_NAME"})
            page = data.get(key, {}).get(list_key) or []
            new = [item for item in page if str(item.get("asset_id")) not in out]
            out.update((str(item.get("asset_id")), item) for item in new)
            after += len(page)
            if not new:
                return list(out.values())

    def list_master_assets(self, campaign_id: str) -> list[MasterAsset]:
        """The campaign's master assets: its non-folder children, with metadata (all pages)."""
        children = self.children(campaign_id, f"listing the master assets of campaign {campaign_id}",
                                  load_type="metadata", level_of_detail="full")
        return [MasterAsset.from_asset(c) for c in children if not is_container(c)]

    def find_final_assets_folder(self, campaign_id: str) -> DamFolder:
        """The campaign's Final Assets subfolder (name matched case-insensitively); not found is an error."""
        wanted = self.transport.settings.final_assets_folder_name
        folders = self.children(campaign_id, f"looking for the {wanted} folder of campaign {campaign_id}",
                                 subfolders=True, load_type="system")
        for folder in folders:
            if str(folder.get("name", "")).strip().casefold() == wanted.strip().casefold():
                return DamFolder(str(folder["asset_id"]), str(folder["name"]))
        raise OtmmNotFoundError(f"Campaign {campaign_id} has no subfolder named {wanted!r} in the DAM; create it or "
                                "fix dam.campaign.final_assets_folder_name in config/config.yaml.", status=None)

    # ---- the campaign status -----------------------------------------------------------------------------

    def set_campaign_status(self, campaign_id: str, status: str) -> bool:
        """Set the campaign's status field and read it back (see the module docstring).

        Returns False when the status already was ``status`` (nothing changed); the flip happens once because
        the tracking DB decides it (``TrackingDb.flip_once``).

        :raises OtmmStatusError: the status cannot be read, or reads back unchanged after the write.
        """
        s = self.transport.settings
        operation = f"setting the status of campaign {campaign_id} to {status}"
        with self.locks.held(campaign_id, "campaign"):
            current = self.get_campaign(campaign_id).status
            if current == status:
                self.transport.log.info("DAM: campaign %s already has status %s", campaign_id, status)
                return False
            element = {"id": s.status_field, "type": FIELD_TYPE,
                       "value": {"value": {"type": "string", "value": status}}}
            self._patch_folder(campaign_id, [element], operation)
        after = self.get_campaign(campaign_id).status
        if after != status:
            raise OtmmStatusError(f"The DAM accepted the change of campaign {campaign_id} to status {status} but "
                                  f"reads back {after!r}; the status field {s.status_field} was not changed.")
        self.transport.log.info("DAM: campaign %s status %s -> %s (read back)", campaign_id, current, status)
        return True

    def _patch_folder(self, folder_id: str, elements: list[JsonObject], operation: str) -> None:
        """``PATCH /folders/{id}`` with ``edited_folder``; a DAM without that service (404/405) gets the asset
        form, from then on directly. The caller holds the lock."""
        if self.edit_via_assets:
            self._patch_as_asset(folder_id, elements, operation)
            return
        try:
            self.transport.request("PATCH", f"/folders/{folder_id}", operation,
                                   json={"edited_folder": {"data": {"metadata": elements}}})
        except (OtmmNotFoundError, OtmmBadRequestError) as exc:
            if exc.status not in (404, 405):
                raise
            self.transport.log.info("DAM: no folder update service (HTTP %s); editing folder %s as an asset",
                                    exc.status, folder_id)
            self._patch_as_asset(folder_id, elements, operation)
            self.edit_via_assets = True

    def _patch_as_asset(self, folder_id: str, elements: list[JsonObject], operation: str) -> None:
        self.transport.request("PATCH", f"/assets/{folder_id}", operation,
                               json={"edited_asset": {"data": {"metadata": elements}}})
