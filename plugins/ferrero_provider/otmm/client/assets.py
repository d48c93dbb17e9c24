"""Assets: read, stream the original to disk, find by name, create (multipart, awaited)."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING

from ferrero_provider.common.streams import DownloadedFile, MultipartFileBody, response_to_file
from ferrero_provider.otmm.exceptions import OtmmBadRequestError, OtmmNotFoundError
from ferrero_provider.otmm.models import MasterAsset, is_container

if TYPE_CHECKING:
    import os

    from ferrero_provider.otmm.client.folders import FoldersManager
    from ferrero_provider.otmm.client.jobs import JobsManager
    from ferrero_provider.otmm.client.transport import DamTransport, JsonObject


class AssetsManager:
    """Asset reads, downloads, creation and metadata writes."""

    def __init__(self, transport: DamTransport, folders: FoldersManager, jobs: JobsManager) -> None:
        self.transport = transport
        self.folders = folders
        self.jobs = jobs

    def get_asset(self, asset_id: str) -> MasterAsset:
        """One asset with its metadata and content size."""
        return MasterAsset.from_asset(self.get_asset_json(asset_id, load_type="metadata", level_of_detail="full"))

    def get_asset_json(self, asset_id: str, **params: str) -> JsonObject:
        """The asset resource as the DAM answers it (``params``: ``load_type``, ``level_of_detail``...)."""
        data = self.transport.request("GET", f"/assets/{asset_id}", f"reading asset {asset_id}", params=params)
        asset: JsonObject | None = data.get("asset_resource", {}).get("asset")
        if not asset:
            raise OtmmNotFoundError(f"DAM request failed while reading asset {asset_id}: no asset in the answer.")
        return asset

    def download_original(
        self, asset_id: str, target: str | os.PathLike[str], *, expected_size: int | None = None
    ) -> DownloadedFile:
        """Stream the asset's original content to ``target`` (memory stays flat; SHA-1 computed on the way).

        The byte count must match ``Content-Length`` and the asset's ``content_size`` (read from the DAM when
        ``expected_size`` is not given); a short or broken body is downloaded again, whole.
        """
        if expected_size is None:
            expected_size = self.get_asset(asset_id).content_size
        size = expected_size
        result = self.transport.stream(
            "GET", f"/assets/{asset_id}/contents", f"downloading the original of asset {asset_id}",
            lambda response: response_to_file(response, target, expected_size=size),
            headers={"Accept": "*/*", "Accept-Encoding": "identity"},
        )
        self.transport.log.info("DAM: downloaded asset %s (%d bytes) to %s", asset_id, result.size, result.path)
        return result

    def find_asset_by_name(self, folder_id: str, name: str) -> MasterAsset | None:
        """The non-folder child of ``folder_id`` named exactly ``name``, if any."""
        children = self.folders.children(folder_id, f"looking for asset {name!r} in folder {folder_id}",
                                         load_type="system")
        for child in children:
            if not is_container(child) and child.get("name") == name:
                return MasterAsset.from_asset(child)
        return None

    def create_asset(
        self,
        folder_id: str,
        path: str | os.PathLike[str],
        asset_representation: JsonObject | str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> str:
        """Create an asset in ``folder_id`` from a file and an asset representation; return the new asset id.

        Multipart ``POST /assets`` (streamed from disk), then the import job is awaited. An asset with the same
        name already in the folder (left by an earlier attempt) is returned instead: never created twice. The
        POST itself is never blindly re-sent; a failed attempt is retried only after checking the folder again.
        """
        name = file_name or Path(path).name
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        representation = asset_representation if isinstance(asset_representation, str) else json.dumps(
            asset_representation)
        manifest = json.dumps({"upload_manifest": {"master_files": [{"file": {"file_name": name, "file_type": mime}}]}})
        operation = f"creating asset {name!r} in folder {folder_id}"

        def body() -> tuple[MultipartFileBody, str]:
            multipart = MultipartFileBody(
                [("asset_representation", representation, "application/json"),
                 ("manifest", manifest, "application/json"),
                 ("parent_folder_id", folder_id, None)],
                "files", path, name, mime)
            return multipart, multipart.content_type

        def once() -> str:
            existing = self.find_asset_by_name(folder_id, name)
            if existing is not None:
                self.transport.log.info("DAM: asset %r already in folder %s (id %s); not creating it again",
                                        name, folder_id, existing.asset_id)
                return existing.asset_id
            data = self.transport.request("POST", "/assets", operation, body=body, idempotent=False)
            job_id = data.get("job_handle", {}).get("job_id")
            if not job_id:
                raise OtmmBadRequestError(f"DAM request failed while {operation}: the answer has no import job id.")
            return self._wait_for_import(str(job_id), folder_id, name, operation)

        asset_id = self.transport.retried(operation, once)
        self.transport.log.info("DAM: asset %r is %s in folder %s", name, asset_id, folder_id)
        return asset_id

    def _wait_for_import(self, job_id: str, folder_id: str, name: str, operation: str) -> str:
        """Poll ``/jobs/{id}`` until the import finished; return the created asset's id (from the job, or found by
        name in the folder when the DAM's job resource does not list it)."""

        def created_asset(job: JsonObject) -> str | None:
            ids = job.get("asset_ids") or []
            if ids:
                return str(ids[0])
            found = self.find_asset_by_name(folder_id, name)
            return found.asset_id if found is not None else None

        return self.jobs.wait_for_job(job_id, operation, created_asset, kind="import job")

    def patch_metadata(self, asset_id: str, elements: list[JsonObject], operation: str) -> None:
        """``PATCH /assets/{id}`` with ``edited_asset`` (flat elements); the caller holds the lock."""
        self.transport.request("PATCH", f"/assets/{asset_id}", operation,
                               json={"edited_asset": {"data": {"metadata": elements}}})
