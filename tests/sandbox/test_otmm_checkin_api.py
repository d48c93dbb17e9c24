"""A new version of a DAM asset over HTTP: check out → import job → rendition → check-in → job → unlock."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import requests

from sandbox.otmm.metadata import DEFAULT_ASSET_MODEL, DEFAULT_FOLDER_MODEL
from sandbox.otmm.store import PUBLIC_ROOT_ID, OtmmStore

if TYPE_CHECKING:
    from pathlib import Path

    from sandbox.testing import RunningSandbox


class Dam:
    """Bearer-token client of the sandbox DAM, plus its store for setting up assets."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        s = sandbox.settings
        assert s is not None
        self.base = sandbox.endpoints["otmm_base_url"]
        self.user = s.otmm_username
        self.store = OtmmStore(s.otmm_dir)
        token = requests.post(f"{self.base}/sessions/oauth2/token", timeout=10, data={
            "username": s.otmm_username, "password": s.otmm_password, "grant_type": "password",
            "client_id": s.otmm_client_id, "client_secret": s.otmm_client_secret,
        }).json()["token_info"]["oauth_token"]["accessToken"]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=10, **kwargs)

    def new_asset(self, tmp_path: Path, content: bytes, name: str = "spot.mp4") -> tuple[str, str]:
        """(folder id, asset id) of a fresh asset holding ``content``."""
        folder = self.store.create_folder(PUBLIC_ROOT_ID, f"checkin-{uuid.uuid4().hex[:8]}",
                                          model_id=DEFAULT_FOLDER_MODEL, user=self.user)["asset_id"]
        source = tmp_path / f"src-{uuid.uuid4().hex[:8]}"
        source.write_bytes(content)
        content_id, size = self.store.store_blob(source)
        asset = self.store.create_asset(folder, name, "video/mp4", content_id, size, model_id=DEFAULT_ASSET_MODEL,
                                        user=self.user)
        return folder, asset["asset_id"]

    def state(self, asset_id: str, action: str) -> requests.Response:
        return self.call("PUT", f"/assets/{asset_id}/state", data={"action": action})

    def staged_job(self, name: str, content: bytes) -> str:
        """An import job holding one uploaded file."""
        answer = self.call("POST", "/jobs/imports", data={"file_name": name})
        assert answer.status_code == 200, answer.text
        job_id = answer.json()["job_handle"]["job_id"]
        answer = self.call("POST", "/renditions", data={"import_job_id": job_id, "file_name": name},
                           files={"file": (name, content, "video/mp4")})
        assert answer.status_code == 200, answer.text
        assert answer.json()["rendition_resource"]["rendition"]["content_size"] == len(content)
        return job_id

    def check_in(self, job_id: str, asset_id: str, name: str, *, omit: str = "") -> requests.Response:
        """``PUT /jobs/checkins/{job}`` with the parts ``import_job_id``, ``file_name``, ``manifest`` (less ``omit``)."""
        manifest = {"upload_manifest": {"master_files": [{"file": {"file_name": name}, "uoi_id": asset_id}]}}
        parts = {"import_job_id": (None, job_id), "file_name": (None, name),
                 "manifest": (None, json.dumps(manifest), "application/json")}
        parts.pop(omit, None)
        return self.call("PUT", f"/jobs/checkins/{job_id}", files=parts)

    def asset(self, asset_id: str) -> dict[str, Any]:
        answer = self.call("GET", f"/assets/{asset_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()["asset_resource"]["asset"]

    def wait_job(self, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            job = self.call("GET", f"/jobs/{job_id}").json()["job_resource"]["job"]
            if job["job_state"] == "COMPLETED":
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not complete")


@pytest.fixture(scope="module")
def dam(sandbox: RunningSandbox) -> Dam:
    return Dam(sandbox)


def test_check_in_makes_a_new_latest_version_with_its_own_id(dam: Dam, tmp_path: Path):
    folder, asset_id = dam.new_asset(tmp_path, b"old content")
    assert dam.asset(asset_id)["version"] == 1
    assert dam.state(asset_id, "check_out").status_code == 200
    locked = dam.state(asset_id, "lock").json()["asset_resource"]["asset"]
    assert locked["checked_out"] and locked["locked"], "a lock by the same user keeps the check-out"

    job_id = dam.staged_job("spot.mp4", b"the new version, longer")
    answer = dam.check_in(job_id, asset_id, "spot.mp4")

    assert answer.status_code == 202, answer.text
    checkin_job = answer.json()["job_handle"]["job_id"]
    assert checkin_job != job_id
    [new_id] = dam.wait_job(checkin_job)["asset_ids"]
    assert new_id != asset_id
    new, old = dam.asset(new_id), dam.asset(asset_id)
    assert new["version"] == 2 and new["content_size"] == len(b"the new version, longer")
    assert new["original_asset_id"] == asset_id == old["original_asset_id"]
    assert new["latest_version"] and not old["latest_version"]
    assert not new["locked"] and not new["checked_out"] and not old["locked"], "the check-in ends check-out and lock"
    assert dam.call("GET", f"/assets/{new_id}/contents").content == b"the new version, longer"
    assert dam.call("GET", f"/assets/{asset_id}/contents").content == b"old content"
    children = dam.call("GET", f"/folders/{folder}/children").json()["folder_children"]["asset_list"]
    assert [c["asset_id"] for c in children] == [new_id], "one asset, at its latest version"
    not_locked = dam.state(new_id, "unlock")
    assert not_locked.status_code == 409 and "not locked" in not_locked.text
    assert dam.state(asset_id, "check_out").status_code == 409, "an older version cannot be checked out"
    edit = {"edited_asset": {"data": {"metadata": []}}}
    assert dam.call("PATCH", f"/assets/{asset_id}", json=edit).status_code == 409, "nor edited"


def test_checking_in_the_same_import_job_again_changes_nothing(dam: Dam, tmp_path: Path):
    _, asset_id = dam.new_asset(tmp_path, b"v1")
    dam.state(asset_id, "check_out")
    job_id = dam.staged_job("spot.mp4", b"v2 bytes")
    first = dam.check_in(job_id, asset_id, "spot.mp4")
    [new_id] = dam.wait_job(first.json()["job_handle"]["job_id"])["asset_ids"]
    dam.state(new_id, "check_out")

    again = dam.check_in(job_id, new_id, "spot.mp4")

    assert again.status_code == 202 and again.json() == first.json()
    assert dam.asset(new_id)["version"] == 2
    assert dam.call("POST", "/renditions", data={"import_job_id": job_id, "file_name": "x.mp4"},
                    files={"file": ("x.mp4", b"late", "video/mp4")}).status_code == 409
    dam.state(new_id, "unlock")


@pytest.mark.parametrize("holder", [None, "lock only", "marketing.user"])
def test_check_in_without_the_callers_check_out_is_refused(dam: Dam, tmp_path: Path, holder: str | None):
    _, asset_id = dam.new_asset(tmp_path, b"original")
    if holder == "lock only":
        dam.state(asset_id, "lock")
    elif holder:
        dam.store.set_lock(asset_id, holder, checked_out=True)
    job_id = dam.staged_job("spot.mp4", b"replacement")

    answer = dam.check_in(job_id, asset_id, "spot.mp4")

    assert answer.status_code == 409, answer.text
    assert "check it out" in answer.json()["exception_body"]["message"]
    assert dam.asset(asset_id)["version"] == 1
    assert dam.call("GET", f"/assets/{asset_id}/contents").content == b"original"
    if holder != "marketing.user":
        dam.state(asset_id, "unlock")


def test_bad_check_ins_are_refused_with_the_reason(dam: Dam, tmp_path: Path):
    _, asset_id = dam.new_asset(tmp_path, b"original")
    dam.state(asset_id, "check_out")
    job_id = dam.staged_job("spot.mp4", b"replacement")

    assert dam.check_in(job_id, asset_id, "spot.mp4", omit="import_job_id").status_code == 400
    assert dam.check_in(job_id, asset_id, "spot.mp4", omit="file_name").status_code == 400
    assert dam.check_in(job_id, asset_id, "other.mp4").status_code == 400, "a file never uploaded to the job"
    assert dam.check_in("999999", asset_id, "spot.mp4").status_code == 404
    assert dam.check_in(job_id, "0" * 40, "spot.mp4").status_code == 404
    assert dam.call("POST", "/jobs/imports", data={}).status_code == 400
    assert dam.call("POST", "/renditions", data={"import_job_id": "999999"},
                    files={"file": ("a.mp4", b"x", "video/mp4")}).status_code == 404
    assert dam.asset(asset_id)["version"] == 1
    dam.state(asset_id, "unlock")


def test_a_store_written_before_versions_gets_version_1(tmp_path: Path):
    db = sqlite3.connect(tmp_path / "otmm.sqlite")
    db.execute("CREATE TABLE assets (asset_id TEXT PRIMARY KEY, parent_id TEXT, is_container INTEGER NOT NULL, "
               "name TEXT NOT NULL, container_type_id TEXT, metadata_model_id TEXT, mime_type TEXT, "
               "content_type TEXT, content_size INTEGER, content_id TEXT, metadata TEXT NOT NULL DEFAULT '{}', "
               "security_policy_ids TEXT NOT NULL DEFAULT '[2]', import_job_id INTEGER, import_user_name TEXT, "
               "date_imported TEXT, date_last_updated TEXT, locked_by TEXT, "
               "checked_out INTEGER NOT NULL DEFAULT 0, visible_after REAL NOT NULL DEFAULT 0, seq INTEGER NOT NULL)")
    db.commit()
    db.close()

    store = OtmmStore(tmp_path)

    assert store.get(PUBLIC_ROOT_ID)["version"] == 1
