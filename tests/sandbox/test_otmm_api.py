"""OTMM folders, search, assets, import jobs, lock → PATCH → unlock and lookup domains, over HTTP."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import requests

from sandbox.seed import seed_otmm

if TYPE_CHECKING:
    from sandbox.testing import RunningSandbox

STATUS = "FERRERO.CAMPAIGN.FIELD.STATUS"
NUMBER = "FERRERO.CAMPAIGN.FIELD.NUMBER"


class Otmm:
    """A thin test client: Bearer token from OTMM's OAuth endpoint, base URL joined per call."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        s = sandbox.settings
        self.base = sandbox.endpoints["otmm_base_url"]
        token = requests.post(f"{self.base}/sessions/oauth2/token", timeout=10, data={
            "username": s.otmm_username, "password": s.otmm_password, "grant_type": "password",
            "client_id": s.otmm_client_id, "client_secret": s.otmm_client_secret,
        }).json()["token_info"]["oauth_token"]["accessToken"]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def __getattr__(self, method: str) -> Any:
        return lambda path, **kw: self.http.request(method.upper(), self.base + path, timeout=10, **kw)


@pytest.fixture(scope="module")
def otmm(sandbox: RunningSandbox) -> Otmm:
    return Otmm(sandbox)


@pytest.fixture(scope="module")
def seeded(sandbox: RunningSandbox) -> dict[str, Any]:
    """The demo DAM, written straight into the running sandbox's store."""
    return seed_otmm(sandbox.settings)


def field(fid: str, value: str, *, domain: bool = False) -> dict[str, Any]:
    wrapper: dict[str, Any] = {"value": {"type": "string", "value": value}}
    if domain:
        wrapper["domain_value"] = "true"
    return {"id": fid, "type": "com.artesia.metadata.MetadataField", "value": wrapper}


def make_folder(otmm: Otmm, parent: str, name: str, metadata: list[dict[str, Any]] | None = None) -> str:
    body = {"folder_resource": {"folder": {"name": name, "container_type_id": "ARTESIA.BASIC.FOLDER",
                                           "security_policy_list": [{"id": 2}],
                                           "metadata": {"metadata_element_list": metadata or []}}}}
    resp = otmm.post(f"/folders/{parent}", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()["folder_resource"]["folder"]["asset_id"]


def flat(metadata: dict[str, Any]) -> dict[str, Any]:
    """Grouped read shape -> {field id: element}."""
    out: dict[str, Any] = {}
    for group in metadata["metadata_element_list"]:
        for el in group["metadata_element_list"]:
            for leaf in el.get("metadata_element_list", [el]):
                out[leaf["id"]] = leaf
    return out


def upload(otmm: Otmm, folder_id: str, name: str, data: bytes, metadata: list[dict[str, Any]]) -> str:
    representation = {"asset_resource": {"asset": {"metadata": {"metadata_element_list": metadata},
                                                   "metadata_model_id": "FERRERO.MODEL.ASSET",
                                                   "security_policy_list": [{"id": 2}]}}}
    manifest = {"upload_manifest": {"master_files": [{"file": {"file_name": name, "file_type": "image/png"}}]}}
    resp = otmm.post("/assets", files={
        "asset_representation": (None, json.dumps(representation), "application/json"),
        "manifest": (None, json.dumps(manifest), "application/json"),
        "parent_folder_id": (None, folder_id),
        "files": (name, data, "image/png"),
    })
    assert resp.status_code == 202, resp.text
    return resp.json()["job_handle"]["job_id"]


def test_folder_create_get_children_paging_and_subfolders(otmm: Otmm) -> None:
    parent = make_folder(otmm, "ARTESIA.PUBLIC.TREEN", f"paging-{uuid.uuid4().hex[:6]}")
    subs = [make_folder(otmm, parent, f"sub-{i}") for i in range(3)]
    for i in range(4):
        upload(otmm, parent, f"a{i}.png", b"x" * (i + 1), [])
    time.sleep(0.7)  # import delay
    folder = otmm.get(f"/folders/{parent}", params={
        "load_type": "custom",
        "data_load_request": json.dumps({"data_load_request": {"child_count_load_type": "both", "load_path": True}}),
    }).json()["folder_resource"]["folder"]
    assert folder["container_child_counts"] == {"container_count": 3, "asset_count": 4, "total_child_count": 7}
    assert folder["path_list"][0]["parents"][0]["id"] == "ARTESIA.PUBLIC.TREEN"

    seen, after = [], 0
    while True:
        page = otmm.get(f"/folders/{parent}/children", params={"load_type": "metadata", "level_of_detail": "slim",
                                                               "after": after, "limit": 3}).json()
        items = page["folder_children"]["asset_list"]
        seen += items
        after += len(items)
        if len(items) < 3:
            break
    assert len(seen) == 7 and len({i["asset_id"] for i in seen}) == 7
    assert sorted(i["asset_id"] for i in seen if i["data_type"] == "CONTAINER") == sorted(subs)
    folders = otmm.get(f"/folders/{parent}/folders", params={"load_type": "system", "limit": 0}).json()
    assert [f["name"] for f in folders["folders_resource"]["folder_list"]] == ["sub-0", "sub-1", "sub-2"]
    assert otmm.get("/folders/0000/children").status_code == 404


def test_search_get_and_post_with_conditions_and_paging(otmm: Otmm, seeded: dict[str, Any]) -> None:
    condition = {"search_condition_list": {"search_condition": [
        {"type": "com.artesia.search.SearchScalarCondition", "metadata_field_id": STATUS,
         "relational_operator_id": "ARTESIA.OPERATOR.CHAR.CONTAINS", "value": "A1",
         "relational_operator": "and", "left_paren": "(", "right_paren": ")"}]}}
    params = {"load_type": "metadata", "level_of_detail": "slim", "search_config_id": 3,
              "search_condition_list": json.dumps(condition), "metadata_to_return": f"{STATUS},{NUMBER}",
              "folder_filter_type": "all", "folder_filter": seeded["campaigns_folder_id"]}
    got = otmm.get("/search/text", params={**params, "after": 0, "limit": 10}).json()["search_result_resource"]
    assert got["search_result"]["total_hit_count"] == 2
    containers = [a for a in got["asset_list"] if a["type"] == "com.artesia.container.Container"]
    assert {a["asset_id"] for a in containers} == {c["id"] for c in seeded["campaigns"]}
    fields = flat(containers[0]["metadata"])
    assert set(fields) == {STATUS, NUMBER}
    assert fields[STATUS]["value"]["value"]["value"] == "A1"

    hits, after = [], 0
    while True:
        page = otmm.post("/search/text", data={**params, "after": after, "limit": 1}).json()
        result = page["search_result_resource"]["search_result"]
        assert result["offset"] == after and result["total_hit_count"] == 2
        hits += result["asset_id_list"]
        after += result["hit_count"]
        if after >= result["total_hit_count"]:
            break
    assert sorted(hits) == sorted(c["id"] for c in seeded["campaigns"])

    masters = otmm.post("/search/text", data={"keyword_query": "*", "folder_filter_type": "direct",
                                              "folder_filter": seeded["campaigns"][0]["id"], "limit": 50,
                                              "return_type": "ids"}).json()["search_result_resource"]
    assert "asset_list" not in masters
    assert masters["search_result"]["total_hit_count"] == len(seeded["campaigns"][0]["masters"]) + 1
    bad = otmm.get("/search/text", params={"search_condition_list": "{not json"})
    assert bad.status_code == 400


def test_asset_metadata_grouped_with_scalar_domain_and_table_shapes(otmm: Otmm, seeded: dict[str, Any]) -> None:
    master = seeded["campaigns"][0]["masters"][0]
    bare = otmm.get(f"/assets/{master['asset_id']}").json()["asset_resource"]["asset"]
    assert "metadata" not in bare and bare["master_content_info"]["content_kind"] == "MASTER"
    asset = otmm.get(f"/assets/{master['asset_id']}", params={"load_type": "metadata"}).json()
    asset = asset["asset_resource"]["asset"]
    assert asset["metadata"]["type"] == "com.artesia.metadata.MetadataModel"
    groups = asset["metadata"]["metadata_element_list"]
    assert all(g["metadata_element_list"] for g in groups) and len(groups) > 1
    fields = flat(asset["metadata"])
    desc = fields["ARTESIA.FIELD.ASSET DESCRIPTION"]["value"]
    assert desc["domain_value"] is False and desc["value"] == {"type": "string", "value": "Family breakfast spot, 15s cut"}
    kind = fields["FERRERO.FIELD.MKTG.ASSET TYPE"]["value"]
    assert kind["domain_value"] is True
    assert kind["value"]["field_value"]["value"] == "video" and kind["value"]["display_value"] == "Video"
    langs = fields["MAIN_LANGUAGES"]
    assert langs["type"] == "com.artesia.metadata.MetadataTableField"
    assert [v["value"]["value"] for v in langs["values"]] == ["EN", "IT"]
    assert langs["values"][1]["value"]["display_value"] == "Italian"
    table = next(el for g in groups for el in g["metadata_element_list"] if el["id"] == "FERRERO.TABLE.MAIN LANGUAGES")
    assert table["type"] == "com.artesia.metadata.MetadataTable"


def test_contents_streams_original_with_content_length(otmm: Otmm, seeded: dict[str, Any], sandbox: RunningSandbox) -> None:
    master = seeded["campaigns"][0]["masters"][0]
    info = otmm.get(f"/assets/{master['asset_id']}").json()["asset_resource"]["asset"]
    with otmm.get(f"/assets/{master['asset_id']}/contents", stream=True) as resp:
        assert resp.status_code == 200
        assert int(resp.headers["Content-Length"]) == info["content_size"] > 10_000
        assert resp.headers["Content-Type"].startswith("video/mp4")
        data = b"".join(resp.iter_content(65536))
    assert len(data) == info["content_size"] and data[4:8] == b"ftyp"
    attach = otmm.get(f"/assets/{master['asset_id']}/contents", params={"disposition": "attachment"})
    assert "attachment" in attach.headers["Content-Disposition"] and attach.content == data
    assert otmm.get(info["master_content_info"]["url"].replace("/otmmapi/v6", "")).content == data
    assert otmm.get(f"/assets/{master['asset_id']}/contents", params={"rendition_type": "thumbnail"}).status_code == 404


def test_download_fault_observed_by_client(otmm: Otmm, seeded: dict[str, Any], sandbox: RunningSandbox) -> None:
    master = seeded["campaigns"][0]["masters"][0]
    faults = f"{sandbox.endpoints['otmm_url']}/__sandbox__/faults"
    requests.post(faults, json={"method": "GET", "path": "/otmmapi/v6/assets/*/contents", "kind": "truncate"},
                  timeout=5)
    requests.post(faults, json={"method": "GET", "path": "/otmmapi/v6/assets/*/contents", "kind": "status",
                                "status": 503}, timeout=5)
    try:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            otmm.get(f"/assets/{master['asset_id']}/contents")
        assert otmm.get(f"/assets/{master['asset_id']}/contents").status_code == 503
        assert otmm.get(f"/assets/{master['asset_id']}/contents").status_code == 200
    finally:
        requests.delete(faults, timeout=5)


def test_create_asset_job_and_import_job_id(otmm: Otmm, seeded: dict[str, Any]) -> None:
    final = seeded["campaigns"][1]["final_assets_folder_id"]
    name = f"Kinder-Bueno_Pack-Shot_image_DE_v01-{uuid.uuid4().hex[:4]}.png"
    metadata = [
        field("ARTESIA.FIELD.ASSET NAME", name),
        field("FERRERO.FIELD.MKTG.ASSET TYPE", "image", domain=True),
        {"id": "MAIN_LANGUAGES", "type": "com.artesia.metadata.MetadataTableField",
         "values": [{"value": {"type": "string", "value": "DE"}}, {"value": {"type": "string", "value": "FR"}}]},
    ]
    job_id = upload(otmm, final, name, b"\x89PNG-derivative", metadata)
    job = otmm.get(f"/jobs/{job_id}").json()["job_resource"]["job"]
    assert job["job_id"] == job_id and job["job_state"] in ("RUNNING", "COMPLETED")
    deadline = time.monotonic() + 5
    while job["job_state"] != "COMPLETED" and time.monotonic() < deadline:
        time.sleep(0.1)
        job = otmm.get(f"/jobs/{job_id}").json()["job_resource"]["job"]
    assert job["job_state"] == "COMPLETED" and len(job["asset_ids"]) == 1
    children = otmm.get(f"/folders/{final}/children", params={"load_type": "metadata"}).json()
    mine = [a for a in children["folder_children"]["asset_list"] if str(a["import_job_id"]) == job_id]
    assert [a["name"] for a in mine] == [name] and mine[0]["asset_id"] == job["asset_ids"][0]
    fields = flat(mine[0]["metadata"])
    assert [v["value"]["value"] for v in fields["MAIN_LANGUAGES"]["values"]] == ["DE", "FR"]
    assert fields["FERRERO.FIELD.MKTG.ASSET TYPE"]["value"]["value"]["field_value"]["value"] == "image"
    assert otmm.get(f"/assets/{mine[0]['asset_id']}/contents").content == b"\x89PNG-derivative"
    assert otmm.get("/jobs/999999").status_code == 404


def test_create_asset_refuses_bad_requests(otmm: Otmm, seeded: dict[str, Any]) -> None:
    final = seeded["campaigns"][0]["final_assets_folder_id"]
    manifest = json.dumps({"upload_manifest": {"master_files": [{"file": {"file_name": "other.png"}}]}})
    resp = otmm.post("/assets", files={"manifest": (None, manifest), "parent_folder_id": (None, final),
                                       "files": ("x.png", b"x", "image/png")})
    assert resp.status_code == 400
    grouped = {"asset_resource": {"asset": {"metadata": {"metadata_element_list": [
        {"id": "G", "metadata_element_list": [field("A", "b")]}]}}}}
    resp = otmm.post("/assets", files={"asset_representation": (None, json.dumps(grouped)),
                                       "parent_folder_id": (None, final), "files": ("x.png", b"x", "image/png")})
    assert resp.status_code == 400
    resp = otmm.post("/assets", files={"parent_folder_id": (None, "nope"), "files": ("x.png", b"x", "image/png")})
    assert resp.status_code == 404


def _status(otmm: Otmm, path: str) -> str:
    folder = otmm.get(path, params={"load_type": "metadata"}).json()
    folder = folder.get("asset_resource", {}).get("asset") or folder["folder_resource"]["folder"]
    return flat(folder["metadata"])[STATUS]["value"]["value"]["value"]


def test_lock_patch_unlock_campaign_status(otmm: Otmm) -> None:
    campaign = make_folder(otmm, "ARTESIA.PUBLIC.TREEN", "Lock test",
                           [field(STATUS, "A1"), field(NUMBER, "CMP-TEST-1")])
    edit = {"edited_folder": {"data": {"metadata": [field(STATUS, "A2")]}}}
    refused = otmm.patch(f"/folders/{campaign}", json=edit)
    assert refused.status_code == 409 and "exception_body" in refused.json()
    assert _status(otmm, f"/assets/{campaign}") == "A1"

    lock = otmm.put(f"/assets/{campaign}/state", data={"action": "lock", "asset_state_options": json.dumps(
        {"asset_state_options_param": {"asset_state_options": {"apply_to_all_versions": False}}})})
    assert lock.status_code == 200
    assert lock.json()["asset_resource"]["asset"]["asset_state"] == "LOCKED"
    as_asset = otmm.patch(f"/assets/{campaign}", json={"edited_asset": edit["edited_folder"]})
    assert as_asset.status_code == 400 and "edited_folder" in as_asset.text, "edited_asset is for assets"
    assert otmm.patch(f"/folders/{campaign}", json={"edited_asset": edit["edited_folder"]}).status_code == 400
    patched = otmm.patch(f"/folders/{campaign}", json=edit,
                         headers={"Content-Type": "application/json; charset=UTF-8"})
    assert patched.status_code == 200
    assert otmm.put(f"/assets/{campaign}/state", data={"action": "unlock"}).json()["asset_resource"]["asset"][
        "locked"] is False
    assert _status(otmm, f"/folders/{campaign}") == "A2"
    assert otmm.patch(f"/folders/{campaign}", json=edit).status_code == 409  # unlocked again
    assert otmm.put(f"/assets/{campaign}/state", data={"action": "unlock"}).status_code == 409, "not locked"

    otmm.put(f"/assets/{campaign}/state", data={"action": "lock"})
    a3 = {"edited_folder": {"data": {"metadata": [field(STATUS, "A3")]}}}
    assert otmm.patch(f"/folders/{campaign}", json=a3).status_code == 200
    otmm.put(f"/assets/{campaign}/state", data={"action": "unlock"})
    assert _status(otmm, f"/assets/{campaign}") == "A3"
    # untouched fields survive a PATCH
    number = flat(otmm.get(f"/assets/{campaign}", params={"load_type": "metadata"}).json()[
        "asset_resource"]["asset"]["metadata"])[NUMBER]
    assert number["value"]["value"]["value"] == "CMP-TEST-1"


def test_patch_table_and_domain_fields_of_an_asset(otmm: Otmm, seeded: dict[str, Any]) -> None:
    asset_id = seeded["campaigns"][1]["masters"][1]["asset_id"]
    otmm.put(f"/assets/{asset_id}/state", data={"action": "lock"})
    try:
        edit = {"edited_asset": {"data": {"metadata": [
            {"id": "MAIN_LANGUAGES", "type": "com.artesia.metadata.MetadataTableField",
             "values": [{"value": {"type": "string", "value": "PL"}}]},
            field("FERRERO.FIELD.MKTG.ASSET TYPE", "packshot", domain=True)]}}}
        assert otmm.patch(f"/assets/{asset_id}", json=edit).status_code == 200
    finally:
        otmm.put(f"/assets/{asset_id}/state", data={"action": "unlock"})
    fields = flat(otmm.get(f"/assets/{asset_id}", params={"load_type": "metadata"}).json()[
        "asset_resource"]["asset"]["metadata"])
    assert [v["value"]["value"] for v in fields["MAIN_LANGUAGES"]["values"]] == ["PL"]
    assert fields["FERRERO.FIELD.MKTG.ASSET TYPE"]["value"]["value"]["display_value"] == "Pack Shot"


def test_lookup_domains(otmm: Otmm, seeded: dict[str, Any]) -> None:
    listed = otmm.get("/lookupdomains").json()["lookup_domains_resource"]["lookup_domains"]
    assert {"FERRERO.DOMAIN.LANGUAGE", "FERRERO.DOMAIN.MKTG ASSET TYPE"} <= {d["domainId"] for d in listed}
    domain = otmm.get("/lookupdomains/FERRERO.DOMAIN.LANGUAGE").json()["lookup_domain_resource"]["lookup_domain"]
    assert domain["domainId"] == "FERRERO.DOMAIN.LANGUAGE" and domain["datatype"] == "CHAR"
    codes = {v["field_value"]["value"]: v for v in domain["domainValues"]}
    assert {"EN", "IT", "DE", "FR", "ES", "NL", "PL"} <= set(codes)
    assert codes["IT"]["display_value"] == "Italian" and codes["IT"]["expired_value"] is False
    assert otmm.get("/lookupdomains/FERRERO.DOMAIN.MKTG ASSET TYPE").status_code == 200
    assert otmm.get("/lookupdomains/NOPE").status_code == 404


@pytest.mark.slow
def test_state_survives_restart(sandbox_factory) -> None:  # noqa: ANN001
    first = sandbox_factory()
    client = Otmm(first)
    folder = make_folder(client, "ARTESIA.PUBLIC.TREEN", "Persistent", [field(STATUS, "A1")])
    upload(client, folder, "keep.png", b"kept bytes", [])
    data_dir = first.data_dir
    first.stop()
    second = sandbox_factory(data_dir)
    client = Otmm(second)  # same credentials (credentials.json), new token
    time.sleep(0.6)
    children = client.get(f"/folders/{folder}/children").json()["folder_children"]["asset_list"]
    assert [c["name"] for c in children] == ["keep.png"]
    assert client.get(f"/assets/{children[0]['asset_id']}/contents").content == b"kept bytes"
    assert _status(client, f"/folders/{folder}") == "A1"
