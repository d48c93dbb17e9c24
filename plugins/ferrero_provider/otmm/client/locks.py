"""Locks of assets and folders (the asset state service ``PUT /assets/{id}/state``).

An unlock the DAM refuses (4xx) is checked by reading the object: when it is not locked (e.g. a check-in already
released the lock) that is success, not an error.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from ferrero_provider.otmm.exceptions import OtmmAuthError, OtmmError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ferrero_provider.otmm.client.transport import DamTransport


class LocksManager:
    """Lock, check out and unlock; whether an object is locked."""

    def __init__(self, transport: DamTransport) -> None:
        self.transport = transport

    @contextmanager
    def held(self, asset_id: str, what: str, *, check_out: bool = False) -> Iterator[None]:
        """Hold the DAM lock of an asset or folder (checked out first with ``check_out``) for the block; the
        unlock is always attempted once anything was taken. ``what`` names the object in messages."""
        actions = ("check_out", "lock") if check_out else ("lock",)
        taken = False
        failure: BaseException | None = None
        try:
            for action in actions:
                verb = "checking out" if action == "check_out" else "locking"
                self.transport.request("PUT", f"/assets/{asset_id}/state", f"{verb} {what} {asset_id}",
                                       data={"action": action})
                taken = True
            yield
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if taken:
                self.unlock(asset_id, what, failure)

    def unlock(self, asset_id: str, what: str, failure: BaseException | None = None) -> None:
        """Unlock; a refusal is success when the object turns out not to be locked (module docstring). With
        ``failure`` (the block failed already) a failed unlock is logged, not raised."""
        log = self.transport.log
        try:
            self.transport.request("PUT", f"/assets/{asset_id}/state", f"unlocking {what} {asset_id}",
                                   data={"action": "unlock"})
            return
        except OtmmError as exc:
            error = exc
        if not isinstance(error, OtmmAuthError) and error.status is not None and 400 <= error.status < 500:
            try:
                if not self.is_locked(asset_id):
                    log.info("DAM: %s %s is not locked (%s)", what, asset_id, error.server_message or error)
                    return
            except OtmmError as exc:
                log.warning("DAM: could not read the lock state of %s %s: %s", what, asset_id, exc)
        if failure is not None:
            log.error("DAM: unlocking %s %s failed too: %s", what, asset_id, error)
            return
        raise OtmmError(f"{what.capitalize()} {asset_id} was updated but stays locked in the DAM: {error}",
                        status=error.status, server_message=error.server_message) from error

    def is_locked(self, asset_id: str) -> bool:
        """Whether the asset or folder is locked (``locked`` or ``asset_state`` LOCKED)."""
        data = self.transport.request("GET", f"/assets/{asset_id}", f"reading the state of {asset_id}")
        asset = data.get("asset_resource", {}).get("asset") or {}
        return bool(asset.get("locked")) or str(asset.get("asset_state") or "").upper() == "LOCKED"
