"""New versions of an asset (spec §7 three-step variant, §17 M).

Every version has its own asset id; ``original_asset_id`` (the logical id) links them and ``latest_version`` flags
the newest. A check-in addresses the latest version: check out + lock it → ``POST /jobs/imports`` → ``POST
/renditions`` (streamed) → ``PUT /jobs/checkins/{job}`` multipart ``import_job_id``, ``file_name`` and ``manifest``
(``uoi_id`` = the latest version's id) → the job awaited (or, without a job resource, the new version polled) →
unlock, where "nothing is locked" is success (the check-in may release the lock). An id that is no longer the
latest is resolved through the parent folder's listing (latest versions only).
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ferrero_provider.common.records import Record
from ferrero_provider.common.streams import MultipartFileBody, file_sha1
from ferrero_provider.otmm.exceptions import OtmmBadRequestError, OtmmNotFoundError
from ferrero_provider.otmm.models import MasterAsset, is_container

if TYPE_CHECKING:
    import os

    from ferrero_provider.otmm.client.assets import AssetsManager
    from ferrero_provider.otmm.client.folders import FoldersManager
    from ferrero_provider.otmm.client.jobs import JobsManager
    from ferrero_provider.otmm.client.locks import LocksManager
    from ferrero_provider.otmm.client.transport import DamTransport, JsonObject

PATH_ONLY = {"load_type": "custom", "data_load_request": json.dumps({"data_load_request": {"load_path": "true"}})}


@dataclass(frozen=True)
class CheckIn(Record):
    """The outcome of :meth:`VersionsManager.check_in_new_version`."""

    asset_id: str  #: the latest version's own asset id (address it for the next check-out or PATCH)
    logical_id: str  #: ``original_asset_id``, shared by every version
    version: int
    previous_asset_id: str  #: the version that was the latest before
    checked_in: bool  #: False when the DAM already held these bytes (nothing was checked in)
    locked_after: bool  #: the new version was still locked after the check-in (and was unlocked)


class VersionsManager:
    """Check-in of new versions; the latest version of an asset."""

    def __init__(self, transport: DamTransport, *, folders: FoldersManager, assets: AssetsManager,
                 locks: LocksManager, jobs: JobsManager) -> None:
        self.transport = transport
        self.folders = folders
        self.assets = assets
        self.locks = locks
        self.jobs = jobs

    def check_in_new_version(
        self,
        asset_id: str,
        path: str | os.PathLike[str],
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        metadata: list[JsonObject] | None = None,
    ) -> CheckIn:
        """Make the file the new latest version of the asset (any version's id will do) and return a
        :class:`CheckIn`; then PATCH ``metadata`` (flat elements) onto the new version under its lock.

        When the latest version already holds exactly these bytes (an earlier attempt got through), nothing is
        checked in: never two versions for one file. The check-in is never blindly re-sent; a failed attempt is
        retried only after resolving the latest version and comparing its content again.
        """
        name = file_name or Path(path).name
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        operation = f"checking in a new version of asset {asset_id} from {name!r}"

        def once() -> CheckIn:
            latest = self.latest_version(asset_id)
            latest_id, logical = str(latest["asset_id"]), str(latest.get("original_asset_id") or latest["asset_id"])
            if self._holds_content(latest, path):
                self.transport.log.info("DAM: asset %s (version %s) already holds %r; not checking it in again",
                                        latest_id, latest.get("version"), name)
                return CheckIn(latest_id, logical, int(latest.get("version") or 1), latest_id, False, False)
            with self.locks.held(latest_id, "asset", check_out=True):
                new = self._check_in(latest, path, name, mime, operation)
            new_id = str(new["asset_id"])
            locked_after = bool(new.get("locked"))
            if locked_after:
                self.locks.unlock(new_id, "asset")
            return CheckIn(new_id, str(new.get("original_asset_id") or logical), int(new.get("version") or 1),
                           latest_id, True, locked_after)

        result = self.transport.retried(operation, once)
        if metadata:
            with self.locks.held(result.asset_id, "asset"):
                self.assets.patch_metadata(result.asset_id, metadata, f"updating the metadata of asset {result.asset_id}")
        self.transport.log.info("DAM: asset %s is at version %d (id %s, before %s) with %r", result.logical_id, result.version,
                      result.asset_id, result.previous_asset_id, name)
        return result

    def _check_in(self, latest: JsonObject, path: str | os.PathLike[str], name: str, mime: str,
                  operation: str) -> JsonObject:
        """The three calls and the wait; the caller holds the check-out. Returns the new version's asset."""
        latest_id, old_version = str(latest["asset_id"]), int(latest.get("version") or 1)
        data = self.transport.request("POST", "/jobs/imports", f"starting an import job for {name!r}",
                                      data={"file_name": name})
        job_id = data.get("job_handle", {}).get("job_id")
        if not job_id:
            raise OtmmBadRequestError(f"DAM request failed while {operation}: the answer has no import job id.")

        def body() -> tuple[MultipartFileBody, str]:
            multipart = MultipartFileBody([("import_job_id", str(job_id), None), ("file_name", name, None)],
                                          "file", path, name, mime)
            return multipart, multipart.content_type

        self.transport.request("POST", "/renditions", f"uploading {name!r} to import job {job_id}", body=body)
        manifest = {"upload_manifest": {"master_files": [{"file": {"file_name": name}, "uoi_id": latest_id}]}}
        data = self.transport.request("PUT", f"/jobs/checkins/{job_id}", operation, idempotent=False, files={
            "import_job_id": (None, str(job_id)), "file_name": (None, name),
            "manifest": (None, json.dumps(manifest), "application/json")})
        checkin_job = data.get("job_handle", {}).get("job_id") or job_id

        def new_version(job: JsonObject) -> JsonObject | None:
            ids = [str(i) for i in job.get("asset_ids") or []]
            fresh = ids and ids[0] != latest_id
            candidate = self.assets.get_asset_json(ids[0]) if fresh else self.latest_version(latest_id)
            return candidate if int(candidate.get("version") or 1) > old_version else None

        return self.jobs.wait_for_job(str(checkin_job), operation, new_version, kind="check-in job")

    def latest_version(self, asset_id: str) -> JsonObject:
        """The asset JSON of the latest version of the asset ``asset_id`` is a version of."""
        asset = self.assets.get_asset_json(asset_id)
        if asset.get("latest_version", True) is not False:
            return asset
        logical = str(asset.get("original_asset_id") or asset_id)
        data = self.transport.request("GET", f"/assets/{asset_id}", f"reading the folder of asset {asset_id}",
                                      params=PATH_ONLY)
        paths = data.get("asset_resource", {}).get("asset", {}).get("path_list") or [{}]
        parents = paths[0].get("parents") or []
        if parents:
            for child in self.folders.children(str(parents[-1]["id"]),
                                               f"looking for the latest version of {logical}", load_type="system"):
                if not is_container(child) and logical in (str(child.get("original_asset_id")),
                                                           str(child.get("asset_id"))):
                    return self.assets.get_asset_json(str(child["asset_id"]))
        raise OtmmNotFoundError(f"Asset {asset_id} is not the latest version of {logical} and the DAM shows no "
                                "later one in its folder.")

    def _holds_content(self, asset: JsonObject, path: str | os.PathLike[str]) -> bool:
        """Whether the asset's original already is this file: sizes first, the bytes only when they match."""
        size = MasterAsset.from_asset(asset).content_size
        local = Path(path)
        if size is None or size != local.stat().st_size:
            return False
        copy = local.with_name(f".{local.name}.dam-current")
        try:
            return self.assets.download_original(str(asset["asset_id"]), copy, expected_size=size).sha1 == file_sha1(local)
        finally:
            copy.unlink(missing_ok=True)

