"""The OTMM REST server: ``/otmmapi/v6`` plus OTDS's ``/otdsws/oauth2/token`` (spec: otmm-rest-api.md).

Rows marked H/M in the spec are implemented as documented. Documented assumptions (A) made here:
- ``search/text`` returns matching containers (folders) as well as assets; the root folder is never a hit.
- ``POST /assets`` answers 202 ``{"job_handle": {"job_id": "<n>"}}``; the assets appear (and the job reports
  ``COMPLETED``) ``otmm_import_delay_seconds`` later. ``GET /jobs/{id}`` →
  ``{"job_resource": {"job": {"job_id", "job_name", "job_state", "asset_ids", ...}}}`` (state ``RUNNING`` until then).
- ``PUT /assets/{id}/state`` answers ``asset_resource`` with ``asset_state`` LOCKED/NORMAL and ``locked``;
  it locks containers too. Locks belong to the OTMM user; another user's lock, or none, makes a metadata
  ``PATCH`` fail with 409 (strict mode, ``otmm_require_lock``).
- Metadata edits (spec §17): ``PATCH /assets/{id}`` with ``edited_asset`` edits an asset; on a folder it is a
  400. ``PATCH /folders/{id}`` with ``edited_folder`` edits a folder (M). Both answer 200 with ``asset_resource`` /
  ``folder_resource``. A PATCH, lock or check-out of a version that is not the latest is a 409.
- New version of an asset (spec §7 "three-step variant", M): ``PUT /assets/{id}/state`` ``check_out`` (which
  locks it too; a later ``lock`` by the same user keeps the check-out) → ``POST /jobs/imports`` (form
  ``file_name``) → ``{"job_handle": {"job_id"}}`` → ``POST /renditions`` (multipart ``import_job_id``, ``file``,
  ``file_name``; answers ``{"rendition_resource": {"rendition": {...}}}``, A) → ``PUT /jobs/checkins/{job_id}``
  (multipart ``import_job_id``, ``file_name`` and ``manifest`` ``upload_manifest.master_files[].{file.file_name,
  uoi_id}``; a missing part is a 400) → 202 ``job_handle`` of a check-in job (``GET /jobs/{id}``, as above). The
  new version gets its own asset id (``original_asset_id`` = the logical id, ``latest_version`` true; the old one
  false). ``uoi_id`` must be the latest version, checked out by the caller (else 409). The check-in ends the
  check-out and the lock (variant ``checkin-keeps-lock``: the new version stays locked); unlocking an asset that
  is not locked is a 409 "not locked".
- Low-confidence behaviours come as named variants: see ``sandbox/otmm/variants.py``.
  Checking in the same import job again changes nothing and answers the first check-in's job handle (A).
- Errors carry ``exception_body``; a missing/expired credential is 401, an unknown id 404, a bad body 400.
- Without ``load_type`` (or with ``system``) asset objects carry no metadata; ``metadata``/``full``, or
  ``custom`` with ``load_metadata``, include it. ``metadata_to_return`` (comma-separated) narrows it.
"""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.otmm.auth import Authenticator, AuthError, Principal, make_auth_endpoints, otmm_error
from sandbox.otmm.metadata import (
    DEFAULT_ASSET_MODEL,
    DEFAULT_FOLDER_MODEL,
    MetadataError,
    grouped,
    parse_elements,
)
from sandbox.otmm.search import SearchError, keyword_matches, matches, parse_conditions
from sandbox.otmm.store import PUBLIC_ROOT_ID, OtmmStore
from sandbox.otmm.variants import (
    CHECKIN_KEEPS_LOCK,
    FOLDER_EDIT_VIA_ASSETS,
    FOLDER_METADATA_VIA_ASSETS_ONLY,
    NO_JOB_RESOURCE,
    PAGE_CAP,
    PAGE_CAP_50,
    SEARCH_WITHOUT_FOLDER_METADATA,
    SUBFOLDERS_UNPAGED,
)

if TYPE_CHECKING:
    from starlette.requests import Request

    from sandbox.settings import SandboxSettings

BASE = "/otmmapi/v6"
ASSET_TYPE = "com.artesia.asset.Asset"
CONTAINER_TYPE_NAME = "com.artesia.container.Container"
Handler = Callable[["Request", Principal], Awaitable[Response]]


def _json_param(params: Any, name: str) -> dict[str, Any]:
    raw = params.get(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise MetadataError(f"{name} is not valid JSON") from exc
    return value if isinstance(value, dict) else {}


def _wants_metadata(params: Any) -> bool:
    load_type = (params.get("load_type") or "").lower()
    if load_type in ("metadata", "full"):
        return True
    if load_type == "custom":
        request = _json_param(params, "data_load_request").get("data_load_request", {})
        return str(request.get("load_metadata", "false")).lower() == "true"
    return False


def _wants_path(params: Any) -> bool:
    request = _json_param(params, "data_load_request").get("data_load_request", {})
    return str(request.get("load_path", "false")).lower() == "true"


def _int(params: Any, name: str, default: int) -> int:
    try:
        return int(params.get(name) or default)
    except ValueError as exc:
        raise MetadataError(f"{name} must be an integer") from exc


class OtmmApi:
    """Request handlers bound to one store."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.store = OtmmStore(settings.otmm_dir)
        self.authn = Authenticator(settings, self.store)

    # ---- rendering ----------------------------------------------------------------------------------------

    def _display(self, domain_id: str, code: str) -> str | None:
        domain = self.store.domain(domain_id)
        if not domain:
            return None
        for value in domain["domain_values"]:
            if str(value.get("field_value", {}).get("value")) == str(code):
                return value.get("display_value")
        return None

    def has(self, variant: str) -> bool:
        return variant in self.settings.otmm_variants

    def _limit(self, params: Any, default: int) -> int:
        limit = _int(params, "limit", default)
        if self.has(PAGE_CAP_50):
            return PAGE_CAP if limit <= 0 else min(limit, PAGE_CAP)
        return limit

    def render(self, item: dict[str, Any], params: Any = None, *, only: set[str] | None = None,
               metadata: bool = True) -> dict[str, Any]:
        """An asset or folder object as OTMM returns it (spec §5); ``metadata=False`` leaves metadata out."""
        params = params or {}
        locked = item["locked_by"] is not None
        out: dict[str, Any] = {
            "asset_id": item["asset_id"],
            "original_asset_id": item.get("original_asset_id") or item["asset_id"],
            "name": item["name"],
            "version": item["version"],
            "latest_version": bool(item.get("latest_version", 1)),
            "deleted": False,
            "expired": False,
            "locked": locked,
            "checked_out": bool(item["checked_out"]),
            "asset_state": "LOCKED" if locked else "NORMAL",
            "content_state": "NORMAL",
            "metadata_model_id": item["metadata_model_id"],
            "import_job_id": item["import_job_id"],
            "import_user_name": item["import_user_name"],
            "date_imported": item["date_imported"],
            "date_last_updated": item["date_last_updated"],
            "security_policy_list": [{"id": p} for p in item["security_policy_ids"]],
        }
        if item["is_container"]:
            out.update(type=CONTAINER_TYPE_NAME, data_type="CONTAINER", container_type_id=item["container_type_id"])
        else:
            master = {
                "id": item["content_id"],
                "name": item["name"],
                "mime_type": item["mime_type"],
                "content_size": item["content_size"],
                "url": f"{BASE}/renditions/{item['content_id']}",
                "content_kind": "MASTER",
            }
            out.update(
                type=ASSET_TYPE,
                data_type="ASSET",
                mime_type=item["mime_type"],
                content_type=item["content_type"],
                content_size=item["content_size"],
                master_content_info=master,
                asset_content_info={"master_content": master},
                rendition_content={},
            )
        if metadata and _wants_metadata(params):
            to_return = params.get("metadata_to_return")
            if to_return and only is None:
                only = {f.strip() for f in to_return.split(",") if f.strip()}
            model = item["metadata_model_id"] or (DEFAULT_FOLDER_MODEL if item["is_container"] else DEFAULT_ASSET_MODEL)
            out["metadata"] = grouped(model, item["metadata"], self._display, only)
        if _wants_path(params):
            out["path_list"] = [
                {
                    "tree_descriptor": {"tree_id": "ARTESIA.PUBLIC.TREE"},
                    "parents": [{"id": a["asset_id"], "name": a["name"]} for a in self.store.ancestors(item["asset_id"])],
                }
            ]
        return out

    def render_folder(self, item: dict[str, Any], params: Any = None, *, metadata: bool = True) -> dict[str, Any]:
        out = self.render(item, params, metadata=metadata)
        out["container_child_counts"] = self.store.child_counts(item["asset_id"])
        return out

    # ---- lookups --------------------------------------------------------------------------------------------

    def _asset(self, asset_id: str) -> dict[str, Any]:
        item = self.store.get(asset_id)
        if item is None:
            raise LookupError(f"Asset {asset_id} not found")
        return item

    def _folder(self, folder_id: str) -> dict[str, Any]:
        item = self.store.get(folder_id)
        if item is None or not item["is_container"]:
            raise LookupError(f"Folder {folder_id} not found")
        return item

    # ---- search -----------------------------------------------------------------------------------------------

    async def search(self, request: Request, principal: Principal) -> Response:
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
        conditions = parse_conditions(params.get("search_condition_list"))
        folder_filter = params.get("folder_filter")
        scope: list[dict[str, Any]]
        if folder_filter:
            self._folder(folder_filter)
            if (params.get("folder_filter_type") or "all").lower() == "direct":
                scope = self.store.children(folder_filter)
            else:
                scope = self._descendants(folder_filter)
        else:
            scope = self.store.all_assets()
        hits = [i for i in scope if keyword_matches(params.get("keyword_query"), i) and matches(conditions, i)]
        hits = self._sorted(hits, params.get("sort"))
        after = _int(params, "after", 0)
        limit = self._limit(params, 25)
        page = hits[after : after + limit] if limit > 0 else hits[after:]
        bare = self.has(SEARCH_WITHOUT_FOLDER_METADATA)
        result: dict[str, Any] = {
            "search_result": {
                "asset_id_list": [i["asset_id"] for i in page],
                "hit_count": len(page),
                "total_hit_count": len(hits),
                "offset": after,
                "facet_field_response_list": [],
                "asset_group_count": {"entry": []},
                "contains_invalid_conditions": False,
            }
        }
        if (params.get("return_type") or "").lower() != "ids":
            result["asset_list"] = [self.render(i, params, metadata=not (bare and i["is_container"])) for i in page]
        return JSONResponse({"search_result_resource": result})

    def _descendants(self, folder_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        stack = [folder_id]
        while stack:
            for child in self.store.children(stack.pop()):
                out.append(child)
                if child["is_container"]:
                    stack.append(child["asset_id"])
        return sorted(out, key=lambda i: i["seq"])

    @staticmethod
    def _sorted(items: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
        if sort and sort.lower() in ("asc_name", "desc_name"):
            return sorted(items, key=lambda i: i["name"].lower(), reverse=sort.lower().startswith("desc"))
        return items

    # ---- folders ----------------------------------------------------------------------------------------------

    async def root_folders(self, request: Request, principal: Principal) -> Response:
        root = self.store.get(PUBLIC_ROOT_ID)
        return JSONResponse({"folders_resource": {"folder_list": [self.render_folder(root, request.query_params)]}})

    async def folder(self, request: Request, principal: Principal) -> Response:
        folder_id = request.path_params["folder_id"]
        if request.method == "PATCH":
            if self.has(FOLDER_EDIT_VIA_ASSETS):
                return otmm_error(405, "PATCH is not supported on /folders/{id}")
            return await self._patch(request, principal, folder_id, resource="folder_resource", key="folder")
        if request.method == "POST":
            return await self._create_folder(request, principal, folder_id)
        item = self._folder(folder_id)
        rendered = self.render_folder(item, request.query_params, metadata=not self.has(FOLDER_METADATA_VIA_ASSETS_ONLY))
        return JSONResponse({"folder_resource": {"folder": rendered}})

    async def _create_folder(self, request: Request, principal: Principal, parent_id: str) -> Response:
        self._folder(parent_id)
        try:
            body = await request.json()
            spec = body["folder_resource"]["folder"]
            name = str(spec["name"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise MetadataError("body must be {'folder_resource': {'folder': {'name': ..., ...}}}") from exc
        if not name:
            raise MetadataError("folder name must not be empty")
        elements = (spec.get("metadata") or {}).get("metadata_element_list", [])
        created = self.store.create_folder(
            parent_id,
            name,
            metadata=parse_elements(elements),
            model_id=spec.get("metadata_model_id") or DEFAULT_FOLDER_MODEL,
            container_type_id=spec.get("container_type_id") or "ARTESIA.BASIC.FOLDER",
            security_policy_ids=[int(p["id"]) for p in spec.get("security_policy_list", []) if "id" in p] or None,
            user=principal.login_name,
        )
        return JSONResponse({"folder_resource": {"folder": self.render_folder(created)}})

    async def folder_children(self, request: Request, principal: Principal) -> Response:
        params = request.query_params
        folder = self._folder(request.path_params["folder_id"])
        items = self._sorted(self.store.children(folder["asset_id"]), params.get("sort"))
        after, limit = _int(params, "after", 0), self._limit(params, 0)
        page = items[after : after + limit] if limit > 0 else items[after:]
        return JSONResponse({"folder_children": {"asset_list": [self.render(i, params) for i in page]}})

    async def subfolders(self, request: Request, principal: Principal) -> Response:
        params = request.query_params
        folder = self._folder(request.path_params["folder_id"])
        items = self._sorted(self.store.children(folder["asset_id"], containers_only=True), params.get("sort"))
        after, limit = _int(params, "after", 0), self._limit(params, 0)
        if self.has(SUBFOLDERS_UNPAGED):
            after, limit = 0, 0
        page = items[after : after + limit] if limit > 0 else items[after:]
        return JSONResponse({"folders_resource": {"folder_list": [self.render_folder(i, params) for i in page]}})

    # ---- assets -----------------------------------------------------------------------------------------------

    async def asset(self, request: Request, principal: Principal) -> Response:
        asset_id = request.path_params["asset_id"]
        if request.method == "PATCH":
            return await self._patch(request, principal, asset_id, resource="asset_resource", key="asset")
        return JSONResponse({"asset_resource": {"asset": self.render(self._asset(asset_id), request.query_params)}})

    async def assets(self, request: Request, principal: Principal) -> Response:
        if request.method == "POST":
            return await self._create_assets(request, principal)
        context = _json_param(request.query_params, "selection_context")
        ids = context.get("selection_context_param", {}).get("selection_context", {}).get("asset_ids", [])
        items = [i for i in (self.store.get(a) for a in ids) if i is not None]
        return JSONResponse({"assets_resource": {"asset_list": [self.render(i, request.query_params) for i in items]}})

    async def contents(self, request: Request, principal: Principal) -> Response:
        item = self._asset(request.path_params["asset_id"])
        rendition = request.query_params.get("rendition_type")
        if item["is_container"] or (rendition and rendition.lower() != "original"):
            return otmm_error(404, f"No {rendition or 'original'} content for asset {item['asset_id']}")
        return self._stream(item, request.query_params.get("disposition"))

    async def rendition(self, request: Request, principal: Principal) -> Response:
        content_id = request.path_params["content_id"]
        match = next((i for i in self.store.all_assets() if i["content_id"] == content_id), None)
        if match is None:
            return otmm_error(404, f"Content {content_id} not found")
        return self._stream(match, None)

    def _stream(self, item: dict[str, Any], disposition: str | None) -> Response:
        """Original bytes from disk, chunk by chunk (constant memory), with Content-Length."""
        return FileResponse(
            self.store.blob_path(item["content_id"]),
            media_type=item["mime_type"] or "application/octet-stream",
            filename=item["name"] if disposition == "attachment" else None,
            content_disposition_type="attachment",
        )

    async def _create_assets(self, request: Request, principal: Principal) -> Response:
        """Multipart create (spec §7): ``asset_representation``, ``manifest``, ``parent_folder_id``, ``files``."""
        form = await request.form(max_part_size=16 * 1024 * 1024)
        try:
            return await self._import(form, principal)
        finally:
            await form.close()

    async def _import(self, form: Any, principal: Principal) -> Response:
        parent_id = str(form.get("parent_folder_id") or "").strip()
        if not parent_id:
            raise MetadataError("parent_folder_id is required")
        self._folder(parent_id)
        representation = await self._json_part(form.get("asset_representation"), "asset_representation")
        manifest = await self._json_part(form.get("manifest"), "manifest")
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
        if not files:
            raise MetadataError("at least one 'files' part is required")
        asset = (representation or {}).get("asset_resource", {}).get("asset", {})
        metadata = parse_elements((asset.get("metadata") or {}).get("metadata_element_list", []))
        by_name = {f.filename: f for f in files}
        entries = (manifest or {}).get("upload_manifest", {}).get("master_files")
        if entries is None:
            entries = [{"file": {"file_name": f.filename}} for f in files]
        plan = []
        for entry in entries:
            spec = entry.get("file", {}) if isinstance(entry, dict) else {}
            name = spec.get("file_name")
            upload = by_name.get(name) if name else None
            if upload is None:
                raise MetadataError(f"manifest file_name {name!r} has no matching 'files' part")
            mime = spec.get("file_type") or upload.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            plan.append((name, mime, upload))
        policies = [int(p["id"]) for p in asset.get("security_policy_list", []) if "id" in p] or None
        model_id = asset.get("metadata_model_id") or DEFAULT_ASSET_MODEL
        delay = self.settings.otmm_import_delay_seconds
        job_id = self.store.create_job("Import", "IMPORT", principal.login_name, delay)
        created = []
        visible = time.time() + delay
        for name, mime, upload in plan:
            await upload.seek(0)
            content_id, size = self.store.store_blob(upload.file)
            visible = time.time() + delay
            asset_row = self.store.create_asset(
                parent_id, name, mime, content_id, size, metadata=metadata, model_id=model_id,
                security_policy_ids=policies, import_job_id=job_id, user=principal.login_name,
                visible_after=visible,
            )
            created.append(asset_row["asset_id"])
        self.store.finish_job(job_id, created, completes_at=visible)  # never COMPLETED before its assets show
        return JSONResponse({"job_handle": {"job_id": str(job_id)}}, status_code=202)

    @staticmethod
    async def _json_part(part: Any, name: str) -> dict[str, Any] | None:
        if part is None:
            return None
        raw = await part.read() if isinstance(part, UploadFile) else part
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise MetadataError(f"{name} is not valid JSON") from exc
        if not isinstance(value, dict):
            raise MetadataError(f"{name} must be a JSON object")
        return value

    async def job(self, request: Request, principal: Principal) -> Response:
        if self.has(NO_JOB_RESOURCE):
            return otmm_error(404, f"No resource for {request.url.path}")
        try:
            job = self.store.get_job(int(request.path_params["job_id"]))
        except ValueError:
            job = None
        if job is None:
            return otmm_error(404, f"Job {request.path_params['job_id']} not found")
        done = job["completes_at"] <= time.time()
        return JSONResponse(
            {
                "job_resource": {
                    "job": {
                        "job_id": str(job["job_id"]),
                        "job_name": job["job_name"],
                        "job_type": job["job_type"],
                        "job_state": "COMPLETED" if done else "RUNNING",
                        "asset_ids": job["asset_ids"] if done else [],
                        "user_name": job["user_name"],
                    }
                }
            }
        )

    # ---- new versions: import job, renditions, check-in ----------------------------------------------------------

    def _import_job(self, raw: Any) -> int:
        try:
            job = self.store.get_job(int(str(raw or "").strip()))
        except ValueError:
            job = None
        if job is None or job["job_type"] != "IMPORT":
            raise LookupError(f"Import job {raw} not found")
        return int(job["job_id"])

    async def create_import_job(self, request: Request, principal: Principal) -> Response:
        form = await request.form()
        if not str(form.get("file_name") or "").strip():
            raise MetadataError("file_name is required")
        # A three-step import job finishes when its files are checked in (or imported), never by itself.
        job_id = self.store.create_job("Import", "IMPORT", principal.login_name, 10 * 365 * 86400)
        return JSONResponse({"job_handle": {"job_id": str(job_id)}})

    async def upload_rendition(self, request: Request, principal: Principal) -> Response:
        form = await request.form(max_part_size=16 * 1024 * 1024)
        try:
            job_id = self._import_job(form.get("import_job_id"))
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise MetadataError("a 'file' part is required")
            name = str(form.get("file_name") or upload.filename or "").strip()
            if not name:
                raise MetadataError("file_name is required")
            if self.store.checkin_of(job_id):
                return otmm_error(409, f"Import job {job_id} is already checked in")
            mime = upload.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            await upload.seek(0)
            content_id, size = self.store.store_blob(upload.file)
        finally:
            await form.close()
        self.store.stage_file(job_id, name, content_id, size, mime)
        rendition = {"import_job_id": str(job_id), "file_name": name, "content_size": size, "mime_type": mime}
        return JSONResponse({"rendition_resource": {"rendition": rendition}})

    async def check_in(self, request: Request, principal: Principal) -> Response:
        form = await request.form()
        try:
            job_id = self._import_job(request.path_params["job_id"])
            for part in ("import_job_id", "file_name"):
                if not str(form.get(part) or "").strip():
                    raise MetadataError(f"the check-in needs a '{part}' part")
            if str(form.get("import_job_id")).strip() != str(job_id):
                raise MetadataError(f"import_job_id {form.get('import_job_id')} does not match job {job_id}")
            done = self.store.checkin_of(job_id)
            if done:
                return JSONResponse({"job_handle": {"job_id": str(done["checkin_job_id"])}}, status_code=202)
            manifest = await self._json_part(form.get("manifest"), "manifest")
        finally:
            await form.close()
        entries = (manifest or {}).get("upload_manifest", {}).get("master_files") or []
        if not entries:
            raise MetadataError("manifest must list upload_manifest.master_files")
        plan = []
        for entry in entries:
            entry = entry if isinstance(entry, dict) else {}
            name, asset_id = (entry.get("file") or {}).get("file_name"), str(entry.get("uoi_id") or "")
            if not asset_id:
                raise MetadataError("every master_files entry needs the uoi_id of the asset to check in")
            item = self._asset(asset_id)
            if item["is_container"]:
                raise MetadataError(f"{asset_id} is a folder; only assets have versions")
            if not item["latest_version"]:
                return otmm_error(409, f"Asset {asset_id} is not the latest version; check in on the latest one")
            if not item["checked_out"] or item["locked_by"] != principal.login_name:
                holder = f"checked out by {item['locked_by']}" if item["checked_out"] else "not checked out"
                return otmm_error(409, f"Asset {asset_id} is {holder}; check it out before checking in")
            staged = self.store.staged_file(job_id, name) if name else None
            if staged is None:
                raise MetadataError(f"manifest file_name {name!r} was not uploaded to import job {job_id}")
            plan.append((asset_id, staged))
        delay = self.settings.otmm_import_delay_seconds
        checkin_job = self.store.create_job("Check In", "CHECKIN", principal.login_name, delay)
        asset_ids = self.store.check_in(job_id, checkin_job, plan, keep_lock=self.has(CHECKIN_KEEPS_LOCK))
        if asset_ids is None:  # a concurrent check-in of the same job won
            done = self.store.checkin_of(job_id)
            return JSONResponse({"job_handle": {"job_id": str(done["checkin_job_id"])}}, status_code=202)
        self.store.finish_job(checkin_job, asset_ids)
        self.store.finish_job(job_id, asset_ids, completes_at=time.time())
        return JSONResponse({"job_handle": {"job_id": str(checkin_job)}}, status_code=202)

    # ---- lock / unlock / edit ---------------------------------------------------------------------------------

    def _apply_state(self, item: dict[str, Any], action: str, principal: Principal) -> str | None:
        """Apply a state action; returns an error message (409) or None."""
        owner = item["locked_by"]
        if action in ("lock", "check_out") and not item["latest_version"]:
            return f"Asset {item['asset_id']} is not the latest version; address the latest one"
        if action in ("lock", "check_out"):
            if owner and owner != principal.login_name:
                return f"Asset {item['asset_id']} is locked by {owner}"
            checked_out = action == "check_out" or (bool(item["checked_out"]) and owner == principal.login_name)
            self.store.set_lock(item["asset_id"], principal.login_name, checked_out=checked_out)
        elif action in ("unlock", "check_in"):
            if owner and owner != principal.login_name:
                return f"Asset {item['asset_id']} is locked by {owner}"
            if not owner:
                return f"Asset {item['asset_id']} is not locked"
            self.store.set_lock(item["asset_id"], None)
        else:
            raise MetadataError(f"unsupported action {action!r}; use lock, unlock or check_out")
        return None

    async def asset_state(self, request: Request, principal: Principal) -> Response:
        item = self._asset(request.path_params["asset_id"])
        form = await request.form()
        action = str(form.get("action") or "").lower()
        error = self._apply_state(item, action, principal)
        if error:
            return otmm_error(409, error)
        return JSONResponse({"asset_resource": {"asset": self.render(self._asset(item["asset_id"]))}})

    async def bulk_state(self, request: Request, principal: Principal) -> Response:
        form = await request.form()
        action = str(form.get("action") or "").lower()
        context = _json_param(form, "selection_context")
        ids = context.get("selection_context_param", {}).get("selection_context", {}).get("asset_ids", [])
        ok, failed = [], []
        for asset_id in ids:
            item = self.store.get(asset_id)
            if item is None or self._apply_state(item, action, principal):
                failed.append(asset_id)
            else:
                ok.append(asset_id)
        return JSONResponse(
            {
                "bulk_asset_result_representation": {
                    "bulk_asset_result": {"successful_object_list": ok, "failed_object_list": failed}
                }
            }
        )

    async def _patch(self, request: Request, principal: Principal, asset_id: str, *, resource: str, key: str) -> Response:
        item = self._folder(asset_id) if resource == "folder_resource" else self._asset(asset_id)
        edit = "edited_folder" if resource == "folder_resource" else "edited_asset"
        if edit == "edited_asset" and item["is_container"] and not self.has(FOLDER_EDIT_VIA_ASSETS):
            raise MetadataError(f"{asset_id} is a folder; edit it through /folders/{asset_id} with edited_folder")
        try:
            body = await request.json()
            elements = body[edit]["data"]["metadata"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MetadataError(f"body must be {{'{edit}': {{'data': {{'metadata': [...]}}}}}}") from exc
        if not item["latest_version"]:
            return otmm_error(409, f"Asset {asset_id} is not the latest version; edit the latest one")
        updates = parse_elements(elements)
        if self.settings.otmm_require_lock and item["locked_by"] != principal.login_name:
            holder = f"locked by {item['locked_by']}" if item["locked_by"] else "not locked"
            return otmm_error(409, f"Asset {asset_id} is {holder}; lock it before editing")
        self.store.update_metadata(asset_id, updates)
        updated = self.store.get(asset_id)
        rendered = self.render_folder(updated) if item["is_container"] else self.render(updated)
        return JSONResponse({resource: {key: rendered}})

    # ---- lookup domains ---------------------------------------------------------------------------------------

    @staticmethod
    def _domain_json(domain: dict[str, Any]) -> dict[str, Any]:
        return {
            "cacheable": bool(domain["cacheable"]),
            "datatype": domain["datatype"],
            "domainId": domain["domain_id"],
            "domainValues": domain["domain_values"],
        }

    async def lookup_domains(self, request: Request, principal: Principal) -> Response:
        domains = [self._domain_json(d) for d in self.store.domains()]
        return JSONResponse({"lookup_domains_resource": {"lookup_domains": domains}})

    async def lookup_domain(self, request: Request, principal: Principal) -> Response:
        domain = self.store.domain(request.path_params["domain_id"])
        if domain is None:
            return otmm_error(404, f"Lookup domain {request.path_params['domain_id']} not found")
        return JSONResponse({"lookup_domain_resource": {"lookup_domain": self._domain_json(domain)}})

    # ---- admin ------------------------------------------------------------------------------------------------

    async def expire_tokens(self, request: Request) -> Response:
        return JSONResponse({"expired": self.store.expire_all_credentials()})


def _guarded(api: OtmmApi, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate the caller, then map domain errors to OTMM error responses."""

    async def endpoint(request: Request) -> Response:
        try:
            principal = api.authn.principal(request)
        except AuthError as exc:
            return exc.response
        try:
            return await handler(request, principal)
        except LookupError as exc:
            return otmm_error(404, str(exc).strip("'\""))
        except (MetadataError, SearchError) as exc:
            return otmm_error(400, str(exc))

    return endpoint


def create_app(settings: SandboxSettings) -> Starlette:
    """The OTMM ASGI app (not yet wrapped in FaultInjector)."""
    api = OtmmApi(settings)
    auth = make_auth_endpoints(settings, api.store, api.authn)

    def r(path: str, handler: Handler, methods: list[str]) -> Route:
        return Route(BASE + path, _guarded(api, handler), methods=methods)

    return Starlette(
        routes=[
            Route(f"{BASE}/sessions", auth["sessions"], methods=["GET", "POST", "DELETE"]),
            Route(f"{BASE}/sessions/oauth2/token", auth["otmm_oauth_token"], methods=["POST"]),
            Route("/otdsws/oauth2/token", auth["otds_token"], methods=["POST"]),
            Route("/__sandbox__/otmm/expire-tokens", api.expire_tokens, methods=["POST"]),
            r("/search/text", api.search, ["GET", "POST"]),
            r("/folders/rootfolders", api.root_folders, ["GET"]),
            r("/folders/{folder_id}", api.folder, ["GET", "POST", "PATCH"]),
            r("/folders/{folder_id}/children", api.folder_children, ["GET"]),
            r("/folders/{folder_id}/folders", api.subfolders, ["GET"]),
            r("/assets", api.assets, ["GET", "POST"]),
            r("/assets/state", api.bulk_state, ["PUT"]),
            r("/assets/{asset_id}", api.asset, ["GET", "PATCH"]),
            r("/assets/{asset_id}/state", api.asset_state, ["PUT"]),
            r("/assets/{asset_id}/contents", api.contents, ["GET"]),
            r("/renditions", api.upload_rendition, ["POST"]),
            r("/renditions/{content_id}", api.rendition, ["GET"]),
            r("/jobs/imports", api.create_import_job, ["POST"]),
            r("/jobs/checkins/{job_id}", api.check_in, ["PUT"]),
            r("/jobs/{job_id}", api.job, ["GET"]),
            r("/lookupdomains", api.lookup_domains, ["GET"]),
            r("/lookupdomains/{domain_id}", api.lookup_domain, ["GET"]),
        ],
        # Tolerate the trailing slashes some clients send (e.g. ``/folders/{id}/children/``).
    )
