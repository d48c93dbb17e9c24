"""Box demo state: the product's root folder, owned by the service account (idempotent)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.box.store import ROOT_FOLDER_ID

if TYPE_CHECKING:
    from sandbox.settings import SandboxSettings

ROOT_FOLDER_NAME = "Ferrero Content Scaling"


def seed_box(settings: SandboxSettings) -> dict[str, str]:
    """Create ``All Files/Ferrero Content Scaling`` unless it exists; return ``{"root_folder_id": ...}``.

    Writes the store directly, so it works whether or not the sandbox is running (a running server sees the
    folder on its next request).
    """
    from sandbox.box.app import box_state

    state = box_state(settings)
    folder, _conflict = state.store.create_folder(
        ROOT_FOLDER_ID, ROOT_FOLDER_NAME, settings.box_service_account_user_id
    )
    return {"root_folder_id": str(folder["id"])}
