"""The DAM half of ``make verify``: each assumption the client makes about OTMM, what the server did, and the
sandbox variant (``sandbox/otmm/variants.py``) it matches when it differs from the default. Read-only unless
``write`` is given test folder ids by the operator."""

from __future__ import annotations

import functools
import json
import os
import uuid
from typing import TYPE_CHECKING, Any

from ferrero_provider.otmm.client.settings import DamSettings
from ferrero_provider.otmm.dam_connection import AUTH_MODES
from ferrero_provider.otmm.exceptions import OtmmError, OtmmNotFoundError
from ferrero_provider.otmm.hooks import OtmmHook
from ferrero_provider.otmm.models import Campaign, is_container
from tools.verify_report import Finding

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import requests

VARIANTS_SETTING = "SANDBOX_OTMM_VARIANTS"


def _variant(name: str, handled: str) -> dict[str, str]:
    return {"variant": name, "setting": f"{VARIANTS_SETTING}={name} reproduces it in the sandbox; {handled}"}


class DamVerifier:
    """Runs the DAM checks with the connection ``otmm_default`` (and its other auth modes when it holds them)."""

    def __init__(self, conn_id: str = OtmmHook.default_conn_name, *, statuses: tuple[str, ...] = ("A1", "A2", "A3")) -> None:
        self.hook = OtmmHook(conn_id, settings=DamSettings(job_poll_seconds=0.2))
        self.statuses = statuses
        self.findings: list[Finding] = []
        self.campaign_id: str | None = None
        self.paging_folder_id: str | None = None

    def check(self, area: str, assumption: str, probe: Callable[[], Finding | None]) -> None:
        """Run one probe; an exception is a finding that says what failed."""
        try:
            finding = probe()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a row of the report
            finding = Finding(area, assumption, f"failed: {exc}", False)
        if finding is not None:
            self.findings.append(finding)

    # ---- read-only -----------------------------------------------------------------------------------------

    def run_read_only(self, campaign_id: str | None = None, paging_folder_id: str | None = None) -> list[Finding]:
        self.campaign_id = campaign_id
        self.paging_folder_id = paging_folder_id
        self.check("dam.auth", "every auth mode the connection holds logs in and reads", self.auth_modes)
        self.check("dam.auth", "a Bearer token has a session id for X-Requested-By (GET /sessions)", self.bearer_session)
        for status in self.statuses:
            self.check("dam.search", f"search/text finds campaign folders in status {status}",
                       functools.partial(self.search, status))
        self.check("dam.search", "folder hits of search/text carry their metadata", self.search_metadata)
        self.check("dam.folders", "a campaign's status is readable through GET /folders/{id}", self.folder_status)
        self.check("dam.folders", "masters list whole; the page size asked is honoured", self.masters_paging)
        self.check("dam.folders", "GET /folders/{id}/folders honours after/limit", self.subfolders_paging)
        self.check("dam.assets", "the first bytes of a master stream", self.first_bytes)
        self.check("dam.domains", "the configured lookup domains are readable", self.domains)
        return self.findings

    def auth_modes(self) -> Finding:
        conn = self.hook.get_connection(self.hook.otmm_conn_id)
        extra = conn.extra_dejson or {}
        held = self.hook.conn_settings
        results = []
        for mode in AUTH_MODES:
            if held.missing_for(mode):
                continue
            conn_id = f"otmm_verify_{mode}"
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({
                "conn_type": "otmm", "host": conn.host, "login": conn.login, "password": conn.password,
                "extra": {**extra, "auth_mode": mode}})
            ok, message = OtmmHook(conn_id).test_connection()
            results.append((mode, ok, message))
        observed = "; ".join(f"{mode}: {'ok' if ok else message}" for mode, ok, message in results)
        failed = [mode for mode, ok, _ in results if not ok]
        setting = "" if not failed else "use an auth_mode that worked in the connection's extra (auth_mode)"
        return Finding("dam.auth", "every auth mode the connection holds logs in and reads", observed or "no mode",
                       bool(results) and not failed, setting=setting)

    def bearer_session(self) -> Finding | None:
        if self.hook.conn_settings.auth_mode == "session":
            return None
        session = self.hook.get_conn()
        header = session.headers.get("X-Requested-By")
        sent = header.decode() if isinstance(header, bytes) else header
        observed = f"GET /sessions gave session id {sent}" if sent else "GET /sessions gave no session id"
        return Finding("dam.auth", "a Bearer token has a session id for X-Requested-By (GET /sessions)", observed,
                       True, note="the client sends it on every call when there is one")

    def _search_page(self, status: str) -> dict[str, Any]:
        s = self.hook.client.transport.settings
        condition = {"search_condition_list": {"search_condition": [{
            "type": "com.artesia.search.SearchScalarCondition", "metadata_field_id": s.status_field,
            "relational_operator_id": "ARTESIA.OPERATOR.CHAR.CONTAINS", "value": status,
            "relational_operator": "and", "left_paren": "(", "right_paren": ")"}]}}
        data = self.hook.client.transport.request("POST", "/search/text", f"searching status {status}", data={
            "keyword_query": "*", "search_condition_list": json.dumps(condition), "load_type": "metadata",
            "level_of_detail": "slim", "after": "0", "limit": str(s.page_size)})
        return (data or {}).get("search_result_resource", {})

    def search(self, status: str) -> Finding:
        campaigns = self.hook.client.folders.search_campaigns(status)
        if campaigns and self.campaign_id is None:
            self.campaign_id = campaigns[0].campaign_id
        return Finding("dam.search", f"search/text finds campaign folders in status {status}",
                       f"{len(campaigns)} campaign(s)" + (": " + ", ".join(c.number or c.campaign_id
                                                                            for c in campaigns[:5]) if campaigns else ""),
                       True)

    def search_metadata(self) -> Finding:
        assumption = "folder hits of search/text carry their metadata"
        folders = [i for st in self.statuses for i in self._search_page(st).get("asset_list") or [] if is_container(i)]
        if not folders:
            return Finding("dam.search", assumption, "no folder hit to look at", True, note="nothing to compare")
        bare = [f for f in folders if not f.get("metadata")]
        if not bare:
            return Finding("dam.search", assumption, f"{len(folders)} folder hit(s), all with metadata", True)
        return Finding("dam.search", assumption, f"{len(bare)} of {len(folders)} folder hit(s) without metadata",
                       False, **_variant("search-without-folder-metadata", "the client reads each folder instead"))

    def folder_status(self) -> Finding:
        assumption = "a campaign's status is readable through GET /folders/{id}"
        cid = self.campaign_id
        if cid is None:
            return Finding("dam.folders", assumption, "no campaign found to read (give --campaign)", False)
        s = self.hook.client.transport.settings
        paths = {
            "GET /folders/{id}?load_type=custom": ("folders", {"load_type": "custom", "data_load_request": json.dumps(
                {"data_load_request": {"load_metadata": "true"}})}),
            "GET /folders/{id}?load_type=metadata": ("folders", {"load_type": "metadata"}),
            "GET /assets/{id}?load_type=metadata": ("assets", {"load_type": "metadata"}),
        }
        seen: dict[str, str | None] = {}
        for label, (service, params) in paths.items():
            try:
                data = self.hook.client.transport.request("GET", f"/{service}/{cid}", label, params=params) or {}
            except OtmmError as exc:
                seen[label] = f"HTTP {exc.status}"
                continue
            item = (data.get("folder_resource", {}).get("folder") or data.get("asset_resource", {}).get("asset") or {})
            seen[label] = Campaign.from_folder(item, s.status_field, s.number_field).status if item.get(
                "metadata") else None
        observed = "; ".join(f"{k}: {v if v is not None else 'no metadata'}" for k, v in seen.items())
        via_folders = any(seen[k] not in (None,) and not str(seen[k]).startswith("HTTP") for k in list(paths)[:2])
        if via_folders:
            return Finding("dam.folders", assumption, f"campaign {cid}: {observed}", True)
        via_assets = seen[list(paths)[2]]
        if via_assets is not None and not str(via_assets).startswith("HTTP"):
            return Finding("dam.folders", assumption, f"campaign {cid}: {observed}", False,
                           **_variant("folder-metadata-via-assets-only", "the client falls back to it"))
        return Finding("dam.folders", assumption, f"campaign {cid}: {observed}", False,
                       setting="no read path gives the status: the workflow cannot run; ask the DAM team")

    def _children_page(self, folder_id: str, endpoint: str, after: int, limit: int) -> list[dict[str, Any]]:
        key, list_key = ("folders_resource", "folder_list") if endpoint == "folders" else ("folder_children",
                                                                                         "asset_list")
        data = self.hook.client.transport.request("GET", f"/folders/{folder_id}/{endpoint}", f"listing {folder_id}",
                                  params={"after": after, "limit": limit, "load_type": "system"})
        return (data or {}).get(key, {}).get(list_key) or []

    def masters_paging(self) -> Finding:
        assumption = "masters list whole; the page size asked is honoured"
        folder = self.paging_folder_id or self.campaign_id
        if folder is None:
            return Finding("dam.folders", assumption, "no campaign to list", False)
        masters = self.hook.client.folders.list_master_assets(folder)
        asked = 1000
        page = self._children_page(folder, "children", 0, asked)
        total = len(self.hook.client.folders.children(folder, "counting children"))
        observed = f"folder {folder}: {len(masters)} asset(s); a page of {asked} gave {len(page)} of {total} children"
        if len(page) < min(asked, total):
            return Finding("dam.folders", assumption, observed, False,
                           **_variant("page-cap-50", f"the client pages on (this DAM's pages: {len(page)})"))
        note = "" if total > 50 else "a folder with more than 50 children (--paging-folder) shows a page cap"
        return Finding("dam.folders", assumption, observed, True, note=note)

    def subfolders_paging(self) -> Finding:
        assumption = "GET /folders/{id}/folders honours after/limit"
        folder = self.paging_folder_id or self.campaign_id
        if folder is None:
            return Finding("dam.folders", assumption, "no campaign to list", False)
        every = self._children_page(folder, "folders", 0, 0)
        if len(every) < 2:
            return Finding("dam.folders", assumption, f"{len(every)} subfolder(s): too few to tell", True,
                           note="a folder with two subfolders or more (--paging-folder) shows it")
        second = self._children_page(folder, "folders", 1, 1)
        observed = f"{len(every)} subfolders; after=1&limit=1 gave {len(second)}"
        if len(second) == 1 and second[0].get("asset_id") != every[0].get("asset_id"):
            return Finding("dam.folders", assumption, observed, True)
        return Finding("dam.folders", assumption, observed, False,
                       **_variant("subfolders-unpaged", "the client stops when a page brings nothing new"))

    def first_bytes(self) -> Finding:
        assumption = "the first bytes of a master stream"
        masters = self.hook.client.folders.list_master_assets(self.campaign_id) if self.campaign_id else []
        if not masters:
            return Finding("dam.assets", assumption, "no master to read", False)
        master = masters[0]

        def head(response: requests.Response) -> bytes:
            return next(response.iter_content(65536), b"")

        first = self.hook.client.transport.stream("GET", f"/assets/{master.asset_id}/contents",
                                                  "reading the first bytes", head, headers={"Accept": "*/*"})
        return Finding("dam.assets", assumption, f"{master.name}: {len(first)} byte(s) read of {master.content_size}",
                       bool(first) or master.content_size == 0)

    def domains(self) -> Finding:
        from include.ferrero.config import load_settings

        ids = sorted(set(load_settings().field_mappings.field_domains.values()))
        counts = {d: len(self.hook.client.lookup_domains.get_lookup_domain(d)) for d in ids}
        return Finding("dam.domains", "the configured lookup domains are readable",
                       ", ".join(f"{d}: {n} value(s)" for d, n in counts.items()) or "none configured", True)

    # ---- writes (operator's test folders only) -----------------------------------------------------------

    def run_writes(self, asset_folder_id: str, status_folder_id: str | None, work_dir: Path) -> list[Finding]:
        self.check("dam.write", "an asset can be created (and its import job awaited)",
                   lambda: self.create_and_check_in(asset_folder_id, work_dir))
        if status_folder_id:
            self.check("dam.write", "a folder's status changes through PATCH /folders/{id} (edited_folder)",
                       lambda: self.status_write(status_folder_id))
            self.check("dam.auth", "Bearer writes need no X-Requested-By",
                       lambda: self.bearer_writes(status_folder_id))
        return self.findings

    def bearer_writes(self, folder_id: str) -> Finding | None:
        """Lock and unlock the test folder once without ``X-Requested-By`` (Bearer modes only)."""
        if self.hook.conn_settings.auth_mode == "session":
            return None
        session = self.hook.get_conn()
        url = f"{self.hook.conn_settings.base_url}/assets/{folder_id}/state"
        answer = session.put(url, data={"action": "lock"}, headers={"X-Requested-By": None},
                             timeout=self.hook.client.transport.policy.timeout)
        if answer.ok:
            self.hook.client.locks.unlock(folder_id, "folder")
        observed = f"a lock without X-Requested-By answered HTTP {answer.status_code}"
        if answer.status_code in (401, 403):
            return Finding("dam.auth", "Bearer writes need no X-Requested-By", observed, False,
                           **_variant("bearer-writes-need-requested-by", "the client sends the GET /sessions id"))
        return Finding("dam.auth", "Bearer writes need no X-Requested-By", observed, answer.ok)

    def create_and_check_in(self, folder_id: str, work_dir: Path) -> Finding:
        name = f"verify-{uuid.uuid4().hex[:8]}.txt"
        path = work_dir / name
        path.write_bytes(b"make verify: first version\n")
        created = self.hook.client.assets.create_asset(folder_id, path, {"asset_resource": {"asset": {}}}, file_name=name)
        job_id = self.hook.client.assets.get_asset_json(created).get("import_job_id")
        try:
            self.hook.client.transport.request("GET", f"/jobs/{job_id}", "reading the import job")
            jobs = Finding("dam.write", "GET /jobs/{id} answers the job resource", f"job {job_id} answered", True)
        except OtmmNotFoundError:
            jobs = Finding("dam.write", "GET /jobs/{id} answers the job resource", f"job {job_id}: 404", False,
                           **_variant("no-job-resource", "the client polls the folder or asset instead"))
        self.findings.append(jobs)
        path.write_bytes(b"make verify: second version, longer\n")
        result = self.hook.client.versions.check_in_new_version(created, path, file_name=name)
        observed = (f"old id {result.previous_asset_id}, new id {result.asset_id}, logical id {result.logical_id}, "
                    f"version {result.version}, locked after check-in: {result.locked_after}")
        own_id = result.asset_id != result.previous_asset_id
        left = f"test asset {name!r} stays in folder {folder_id}"
        self.findings.append(Finding("dam.write", "a checked-in version gets its own asset id", observed, own_id,
                                     note=left if own_id else f"the client handles an id kept across versions; {left}"))
        if result.locked_after:
            return Finding("dam.write", "the check-in releases the lock", observed, False,
                           **_variant("checkin-keeps-lock", "the client unlocks the new version"))
        return Finding("dam.write", "the check-in releases the lock", observed, True)

    def status_write(self, folder_id: str) -> Finding:
        before = self.hook.client.folders.get_campaign(folder_id).status
        target = "A2" if before != "A2" else "A1"
        self.hook.client.folders.set_campaign_status(folder_id, target)
        read_back = self.hook.client.folders.get_campaign(folder_id).status
        if before is not None:
            self.hook.client.folders.set_campaign_status(folder_id, before)
        observed = f"{before} -> {target}, read back {read_back}, restored to {before}"
        if read_back == target and self.hook.client.folders.edit_via_assets:
            return Finding("dam.write", "a folder's status changes through PATCH /folders/{id} (edited_folder)",
                           f"PATCH /folders/{{id}} refused; PATCH /assets/{{id}} (edited_asset) worked: {observed}",
                           False, **_variant("folder-edit-via-assets", "the client falls back to it"))
        return Finding("dam.write", "a folder's status changes through PATCH /folders/{id} (edited_folder)",
                       observed, read_back == target)
