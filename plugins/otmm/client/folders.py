"""Campaign folders: search by status, read, masters and subfolders (all pages), and the status write."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from otmm.client.transport import Transport
from otmm.exceptions import (
    OtmmBadRequestError,
    OtmmConflictError,
    OtmmError,
    OtmmNotFoundError,
)
from otmm.models import Campaign, DamFolder, MasterAsset, is_container

if TYPE_CHECKING:
    from collections.abc import Iterator

FIELD_TYPE = "com.artesia.metadata.MetadataField"
CONTAINS = "ARTESIA.OPERATOR.CHAR.CONTAINS"


class Folders(Transport):
    """Campaign folders and their status."""

    # ---- campaigns ------------------------------------------------------------------------------------------

    def search_campaigns(self, status: str) -> list[Campaign]:
        """Every campaign folder whose status field is exactly ``status`` (all result pages).

        The DAM is asked with a CONTAINS condition (no exact operator is documented); hits are kept only when
        they are folders and their status equals ``status`` exactly.
        """
        s = self.dam_settings
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
            data = self._request("POST", "/search/text", f"searching campaigns with status {status}", data=form)
            resource = (data or {}).get("search_result_resource", {})
            result = resource.get("search_result", {})
            items = resource.get("asset_list") or []
            for item in items:
                if not is_container(item) or str(item.get("asset_id")) in seen:
                    continue
                campaign = Campaign.from_folder(item, s.status_field, s.number_field)
                if campaign.status == status:
                    seen.add(campaign.campaign_id)
                    campaigns.append(campaign)
            hits = int(result.get("hit_count", len(items)) or 0)
            total = int(result.get("total_hit_count", 0) or 0)
            after += hits
            if hits == 0 or after >= total:
                break
        self.log.info("DAM: %d campaign(s) with status %s", len(campaigns), status)
        return campaigns

    def get_campaign(self, campaign_id: str) -> Campaign:
        """The campaign folder ``campaign_id`` with its metadata, status and number."""
        data = self._request("GET", f"/folders/{campaign_id}", f"reading campaign {campaign_id}",
                             params={"load_type": "metadata", "level_of_detail": "full"})
        folder = (data or {}).get("folder_resource", {}).get("folder")
        if not folder:
            raise OtmmNotFoundError(f"DAM request failed while reading campaign {campaign_id}: no folder in the answer.")
        s = self.dam_settings
        return Campaign.from_folder(folder, s.status_field, s.number_field)

    def _children(self, folder_id: str, operation: str, *, subfolders: bool = False, **params: Any) -> list[dict]:
        """Every child of a folder (``/children``, or ``/folders`` for subfolders only), all pages."""
        page_size = self.dam_settings.page_size
        endpoint, key, list_key = ("folders", "folders_resource", "folder_list") if subfolders else (
            "children", "folder_children", "asset_list")
        out: list[dict] = []
        after = 0
        while True:
            data = self._request("GET", f"/folders/{folder_id}/{endpoint}", operation,
                                 params={**params, "after": after, "limit": page_size, "sort": "asc_NAME"})
            page = (data or {}).get(key, {}).get(list_key) or []
            out.extend(page)
            after += len(page)
            if len(page) < page_size:
                return out

    def list_master_assets(self, campaign_id: str) -> list[MasterAsset]:
        """The campaign's master assets: its non-folder children, with metadata (all pages)."""
        children = self._children(campaign_id, f"listing the master assets of campaign {campaign_id}",
                                  load_type="metadata", level_of_detail="full")
        return [MasterAsset.from_asset(c) for c in children if not is_container(c)]

    def find_final_assets_folder(self, campaign_id: str) -> DamFolder:
        """The campaign's Final Assets subfolder (name matched case-insensitively); not found is an error."""
        wanted = self.dam_settings.final_assets_folder_name
        folders = self._children(campaign_id, f"looking for the {wanted} folder of campaign {campaign_id}",
                                 subfolders=True, load_type="system")
        for folder in folders:
            if str(folder.get("name", "")).strip().casefold() == wanted.strip().casefold():
                return DamFolder(str(folder["asset_id"]), str(folder["name"]))
        raise OtmmNotFoundError(f"Campaign {campaign_id} has no subfolder named {wanted!r} in the DAM; create it or "
                                "fix dam.campaign.final_assets_folder_name in config/config.yaml.", status=None)

    # ---- campaign status ------------------------------------------------------------------------------------

    def set_campaign_status(self, campaign_id: str, status: str, *, expected_status: str | None = None) -> bool:
        """Set the campaign's status field: lock → PATCH → unlock (the unlock is always attempted).

        Returns False when the status already was ``status`` (nothing changed). With ``expected_status``, a
        campaign found in any other status is refused (:class:`OtmmConflictError`), so a flip happens once.
        """
        s = self.dam_settings
        operation = f"setting the status of campaign {campaign_id} to {status}"
        with self._locked(campaign_id, "campaign"):
            current = self.get_campaign(campaign_id).status
            if current == status:
                self.log.info("DAM: campaign %s already has status %s", campaign_id, status)
                return False
            if expected_status is not None and current != expected_status:
                raise OtmmConflictError(f"Campaign {campaign_id} has status {current!r} in the DAM, not "
                                        f"{expected_status!r}; its status was not changed to {status}.")
            self._patch_metadata(campaign_id, [
                {"id": s.status_field, "type": FIELD_TYPE, "value": {"value": {"type": "string", "value": status}}}
            ], operation, folder=True)
            self.log.info("DAM: campaign %s status %s -> %s", campaign_id, current, status)
            return True

    @contextmanager
    def _locked(self, asset_id: str, what: str, *, check_out: bool = False) -> Iterator[None]:
        """Hold the DAM lock of an asset or folder (checked out first with ``check_out``) for the block; the
        unlock is always attempted once anything was taken. ``what`` names the object in messages."""
        actions = ("check_out", "lock") if check_out else ("lock",)
        taken = False
        failure: BaseException | None = None
        try:
            for action in actions:
                verb = "checking out" if action == "check_out" else "locking"
                self._request("PUT", f"/assets/{asset_id}/state", f"{verb} {what} {asset_id}",
                              data={"action": action})
                taken = True
            yield
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if taken:
                self._unlock(asset_id, what, failure)

    def _unlock(self, asset_id: str, what: str, failure: BaseException | None) -> None:
        try:
            self._request("PUT", f"/assets/{asset_id}/state", f"unlocking {what} {asset_id}",
                          data={"action": "unlock"})
        except OtmmError as exc:
            if failure is not None:
                self.log.error("DAM: unlocking %s %s failed too: %s", what, asset_id, exc)
            else:
                raise OtmmError(f"{what.capitalize()} {asset_id} was updated but stays locked in the DAM: {exc}",
                                status=exc.status, server_message=exc.server_message) from exc

    def _patch_metadata(self, asset_id: str, elements: list[dict[str, Any]], operation: str, *,
                        folder: bool = False) -> None:
        """``PATCH`` the ``edited_asset`` metadata (flat elements, as in a representation); the caller holds the
        lock. ``folder``: a DAM that refuses the asset path for a folder is asked at ``/folders/{id}``."""
        edit = {"edited_asset": {"data": {"metadata": elements}}}
        try:
            self._request("PATCH", f"/assets/{asset_id}", operation, json=edit)
        except (OtmmNotFoundError, OtmmBadRequestError) as exc:
            if not folder or exc.status not in (404, 405):
                raise
            self._request("PATCH", f"/folders/{asset_id}", operation, json=edit)

