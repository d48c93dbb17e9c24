"""Named behaviour variants of the sandbox DAM, one per point the public evidence leaves open (spec §17, L).

Select them with ``SANDBOX_OTMM_VARIANTS`` (comma-separated names; empty = the default behaviour). ``make verify``
names the variant a real DAM matches, and the setting to use.

- ``search-without-folder-metadata``: ``search/text`` hits that are folders carry no metadata (assets still do).
  Default: folder hits carry the metadata asked for.
- ``folder-metadata-via-assets-only``: ``GET /folders/{id}`` never carries metadata; only
  ``GET /assets/{folderId}?load_type=metadata`` does. Default: both do (``load_type=custom``/``metadata``).
- ``no-job-resource``: ``GET /jobs/{id}`` answers 404 (no job resource); clients poll the folder or asset.
  Default: ``job_resource.job.{job_id, job_state, asset_ids}``.
- ``page-cap-50``: every listing and search answers at most 50 items a page, whatever ``limit`` asks (also 0).
  Default: ``limit`` honoured, 0 = all.
- ``subfolders-unpaged``: ``GET /folders/{id}/folders`` ignores ``after``/``limit`` and answers every subfolder.
  Default: honoured.
- ``checkin-keeps-lock``: after a check-in the new version stays locked by the caller until ``unlock``.
  Default: the check-in releases the lock (an ``unlock`` then answers 409 "not locked").
- ``folder-edit-via-assets``: there is no folder update service (``PATCH /folders/{id}`` answers 405); a folder's
  metadata is edited with ``PATCH /assets/{folderId}`` and ``edited_asset``. Default: ``PATCH /folders/{id}`` with
  ``edited_folder`` (spec §17, L–M), ``edited_asset`` on a folder is a 400.
- ``bearer-writes-need-requested-by``: Bearer-token writes (not GET) need ``X-Requested-By`` with the id
  ``GET /sessions`` answers for that token, else 403. Default: Bearer calls need no ``X-Requested-By``.
"""

from __future__ import annotations

SEARCH_WITHOUT_FOLDER_METADATA = "search-without-folder-metadata"
FOLDER_METADATA_VIA_ASSETS_ONLY = "folder-metadata-via-assets-only"
NO_JOB_RESOURCE = "no-job-resource"
PAGE_CAP_50 = "page-cap-50"
SUBFOLDERS_UNPAGED = "subfolders-unpaged"
CHECKIN_KEEPS_LOCK = "checkin-keeps-lock"
FOLDER_EDIT_VIA_ASSETS = "folder-edit-via-assets"
BEARER_WRITES_NEED_REQUESTED_BY = "bearer-writes-need-requested-by"

VARIANTS: tuple[str, ...] = (
    SEARCH_WITHOUT_FOLDER_METADATA,
    FOLDER_METADATA_VIA_ASSETS_ONLY,
    NO_JOB_RESOURCE,
    PAGE_CAP_50,
    SUBFOLDERS_UNPAGED,
    CHECKIN_KEEPS_LOCK,
    FOLDER_EDIT_VIA_ASSETS,
    BEARER_WRITES_NEED_REQUESTED_BY,
)
PAGE_CAP = 50


def parse_variants(raw: str | None) -> frozenset[str]:
    """The variant names of a ``SANDBOX_OTMM_VARIANTS`` value; an unknown name is an error naming the known ones."""
    names = frozenset(n.strip().lower() for n in (raw or "").split(",") if n.strip())
    unknown = sorted(names - set(VARIANTS))
    if unknown:
        raise ValueError(f"SANDBOX_OTMM_VARIANTS: unknown variant(s) {', '.join(unknown)}; "
                         f"known: {', '.join(VARIANTS)}")
    return names
