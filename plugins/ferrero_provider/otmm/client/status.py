"""Locks and metadata writes: the campaign status (folder service, read back) and asset metadata.

- **Campaign status** (spec §17, L–M): lock through the asset state service → ``PATCH /folders/{id}`` with
  ``{"edited_folder": {"data": {"metadata": [...]}}}`` → unlock → the status READ BACK (the chain of
  :meth:`Folders.get_campaign`). A DAM without the folder service (404/405) is asked ``PATCH /assets/{id}`` with
  ``edited_asset`` instead. A status that did not change is an :class:`OtmmStatusError` with a sentence.
- **Unlock.** An unlock the DAM refuses (4xx) is checked by reading the object: when it is not locked (e.g. a
  check-in already released the lock) that is success, not an error.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ferrero_provider.otmm.client.folders import Folders
from ferrero_provider.otmm.exceptions import (
    OtmmAuthError,
    OtmmBadRequestError,
    OtmmError,
    OtmmNotFoundError,
    OtmmStatusError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

FIELD_TYPE = "com.artesia.metadata.MetadataField"


class Status(Folders):
    """Locks, metadata PATCHes and the campaign status write."""

    def set_campaign_status(self, campaign_id: str, status: str) -> bool:
        """Set the campaign's status field and read it back (see the module docstring).

        Returns False when the status already was ``status`` (nothing changed); the flip happens once because
        the tracking DB decides it (``tracking_db.flip_once``).

        :raises OtmmStatusError: the status cannot be read, or reads back unchanged after the write.
        """
        s = self.dam_settings
        operation = f"setting the status of campaign {campaign_id} to {status}"
        with self._locked(campaign_id, "campaign"):
            current = self.get_campaign(campaign_id).status
            if current == status:
                self.log.info("DAM: campaign %s already has status %s", campaign_id, status)
                return False
            element = {"id": s.status_field, "type": FIELD_TYPE,
                       "value": {"value": {"type": "string", "value": status}}}
            self._patch_folder(campaign_id, [element], operation)
        after = self.get_campaign(campaign_id).status
        if after != status:
            raise OtmmStatusError(f"The DAM accepted the change of campaign {campaign_id} to status {status} but "
                                  f"reads back {after!r}; the status field {s.status_field} was not changed.")
        self.log.info("DAM: campaign %s status %s -> %s (read back)", campaign_id, current, status)
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

    def _unlock(self, asset_id: str, what: str, failure: BaseException | None = None) -> None:
        """Unlock; a refusal is success when the object turns out not to be locked (module docstring)."""
        try:
            self._request("PUT", f"/assets/{asset_id}/state", f"unlocking {what} {asset_id}",
                          data={"action": "unlock"})
            return
        except OtmmError as exc:
            error = exc
        if not isinstance(error, OtmmAuthError) and error.status is not None and 400 <= error.status < 500:
            try:
                if not self.is_locked(asset_id):
                    self.log.info("DAM: %s %s is not locked (%s)", what, asset_id, error.server_message or error)
                    return
            except OtmmError as exc:
                self.log.warning("DAM: could not read the lock state of %s %s: %s", what, asset_id, exc)
        if failure is not None:
            self.log.error("DAM: unlocking %s %s failed too: %s", what, asset_id, error)
            return
        raise OtmmError(f"{what.capitalize()} {asset_id} was updated but stays locked in the DAM: {error}",
                        status=error.status, server_message=error.server_message) from error

    def is_locked(self, asset_id: str) -> bool:
        """Whether the asset or folder is locked (``locked`` or ``asset_state`` LOCKED)."""
        data = self._request("GET", f"/assets/{asset_id}", f"reading the state of {asset_id}")
        asset = (data or {}).get("asset_resource", {}).get("asset") or {}
        return bool(asset.get("locked")) or str(asset.get("asset_state") or "").upper() == "LOCKED"

    def _patch_metadata(self, asset_id: str, elements: list[dict[str, Any]], operation: str) -> None:
        """``PATCH /assets/{id}`` with ``edited_asset`` (flat elements); the caller holds the lock."""
        self._request("PATCH", f"/assets/{asset_id}", operation,
                      json={"edited_asset": {"data": {"metadata": elements}}})

    def _patch_folder(self, folder_id: str, elements: list[dict[str, Any]], operation: str) -> None:
        """``PATCH /folders/{id}`` with ``edited_folder``; a DAM without that service (404/405) gets the asset
        form, from then on directly. The caller holds the lock."""
        if self._folder_edit_via_assets:
            self._patch_metadata(folder_id, elements, operation)
            return
        try:
            self._request("PATCH", f"/folders/{folder_id}", operation,
                          json={"edited_folder": {"data": {"metadata": elements}}})
        except (OtmmNotFoundError, OtmmBadRequestError) as exc:
            if exc.status not in (404, 405):
                raise
            self.log.info("DAM: no folder update service (HTTP %s); editing folder %s as an asset", exc.status,
                          folder_id)
            self._patch_metadata(folder_id, elements, operation)
            self._folder_edit_via_assets = True
