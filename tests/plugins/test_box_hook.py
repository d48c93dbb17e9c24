"""BoxHook against the sandbox Box over sockets: folders, idempotent uploads on both sides of the chunked
threshold, downloads with each fault kind, listings, shared links, tokens and the connection test."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ferrero_provider.box.client import folders as box_folders
from ferrero_provider.box.exceptions import (
    BoxAuthError,
    BoxBadRequestError,
    BoxConflictError,
    BoxError,
    BoxIntegrityError,
    BoxNotFoundError,
    BoxServerError,
    BoxTransportError,
)
from ferrero_provider.box.hooks import BoxHook, BoxSettings
from ferrero_provider.common.retry import RetryPolicy
from tests.plugins.conftest import box_connection

if TYPE_CHECKING:
    from pathlib import Path

    from sandbox.testing import RunningSandbox
    from tests.plugins.conftest import Faults

MIB = 1024 * 1024


def make_hook(max_attempts: int = 3, **settings: Any) -> BoxHook:
    return BoxHook(retry=RetryPolicy(initial_delay_seconds=0, max_attempts=max_attempts),
                   settings=BoxSettings(**settings))


@pytest.fixture
def hook(box_conn: str) -> BoxHook:
    return make_hook()


@pytest.fixture
def folder(hook: BoxHook) -> str:
    """A fresh folder of the service account for one test."""
    return hook.client.folders.ensure_folder("0", f"hooks-{uuid.uuid4().hex[:10]}")


def write(path: Path, size: int, seed: bytes = b"") -> Path:
    block = hashlib.sha256(seed or path.name.encode()).digest() * (MIB // 32)
    with path.open("wb") as out:
        remaining = size
        while remaining:
            piece = block[: min(remaining, len(block))]
            out.write(piece)
            remaining -= len(piece)
    return path


def sha1_of(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()  # noqa: S324


# ---- folders -----------------------------------------------------------------------------------------------------


def test_ensure_campaign_folders_is_idempotent(hook: BoxHook, folder: str):
    first = hook.client.folders.ensure_campaign_folders("CMP-2026-001", "Nutella / Breakfast", parent_folder_id=folder)
    second = make_hook().client.folders.ensure_campaign_folders("CMP-2026-001", "Nutella / Breakfast", parent_folder_id=folder)

    assert first == second
    assert first.campaign_folder_name == "CMP-2026-001 Nutella - Breakfast"
    assert [(i.name, i.item_type) for i in hook.client.folders.list_folder_items(folder)] == [
        ("CMP-2026-001 Nutella - Breakfast", "folder")]
    names = sorted(i.name for i in hook.client.folders.list_folder_items(first.campaign_folder_id))
    assert names == ["Derivatives", "Masters"]


def test_ensure_folder_where_a_file_has_the_name_is_a_conflict(hook: BoxHook, folder: str, tmp_path: Path):
    hook.client.uploads.upload_file(folder, write(tmp_path / "Masters", 10))
    with pytest.raises(BoxConflictError, match="already has a file named 'Masters'"):
        hook.client.folders.ensure_folder(folder, "Masters")


def test_list_folder_items_reads_every_page(hook: BoxHook, folder: str, monkeypatch: pytest.MonkeyPatch):
    for i in range(5):
        hook.client.folders.ensure_folder(folder, f"sub {i}")
    monkeypatch.setattr(box_folders, "PAGE_LIMIT", 2)
    assert sorted(i.name for i in hook.client.folders.list_folder_items(folder)) == [f"sub {i}" for i in range(5)]


def test_folder_shared_link_is_created_once(hook: BoxHook, folder: str):
    link = hook.client.folders.get_folder_shared_link(folder)
    assert link.startswith("http") and "/s/" in link
    assert make_hook().client.folders.get_folder_shared_link(folder) == link
    assert requests.get(link, timeout=5).status_code == 200


def test_unknown_folder_is_not_found(hook: BoxHook):
    with pytest.raises(BoxNotFoundError, match=r"listing folder 999999999: HTTP 404 not_found"):
        hook.client.folders.list_folder_items("999999999")


# ---- uploads -----------------------------------------------------------------------------------------------------


def test_upload_then_same_file_again_then_changed_content(hook: BoxHook, folder: str, tmp_path: Path):
    path = write(tmp_path / "M1A2B3_spot.mp4", 300_000)

    created = hook.client.uploads.upload_file(folder, path)
    first_sha1 = sha1_of(path)
    again = make_hook().client.uploads.upload_file(folder, path)
    write(path, 300_001, seed=b"changed")
    changed = hook.client.uploads.upload_file(folder, path)

    assert (created.outcome, created.method) == ("created", "direct")
    assert (created.sha1, created.size) == (first_sha1, 300_000)
    assert (again.outcome, again.method, again.file_id, again.version_id) == (
        "existing", "none", created.file_id, created.version_id)
    assert (changed.outcome, changed.file_id, changed.size) == ("new_version", created.file_id, 300_001)
    assert changed.sha1 == sha1_of(path) and changed.version_id != created.version_id
    assert len(hook.client.folders.list_folder_items(folder)) == 1


def test_upload_sends_and_checks_the_sha1(hook: BoxHook, folder: str, tmp_path: Path):
    path = write(tmp_path / "checked.bin", 1000)
    uploaded = hook.client.uploads.upload_file(folder, path, file_name="renamed.bin")
    info = hook.client.files.get_file_info(uploaded.file_id)
    assert (info.name, info.size, info.sha1, info.folder_id) == ("renamed.bin", 1000, sha1_of(path), folder)


@pytest.mark.parametrize(("extra", "method"), [(0, "direct"), (1, "chunked")])
def test_upload_on_each_side_of_the_50_mb_threshold(hook: BoxHook, folder: str, tmp_path: Path, extra: int,
                                                    method: str):
    assert hook.client.uploads.chunked_threshold_bytes == 50 * MIB  # config/config.yaml box.chunked_upload_threshold_mb
    path = write(tmp_path / f"edge-{extra}.mov", 50 * MIB + extra)

    uploaded = hook.client.uploads.upload_file(folder, path)
    again = hook.client.uploads.upload_file(folder, path)

    assert (uploaded.method, uploaded.outcome, uploaded.size) == (method, "created", 50 * MIB + extra)
    assert uploaded.sha1 == sha1_of(path)
    assert (again.outcome, again.file_id) == ("existing", uploaded.file_id)


def test_chunked_new_version_and_a_503_on_a_part(hook: BoxHook, folder: str, tmp_path: Path,
                                                 box_upload_faults: Faults):
    small = make_hook(chunked_upload_threshold_mb=1)
    path = write(tmp_path / "big.bin", 21_000_000)
    first = small.client.uploads.upload_file(folder, path)
    write(path, 21_000_000, seed=b"v2")
    rule = box_upload_faults.arm(kind="status", status=503, method="PUT", path="/api/2.0/files/upload_sessions/*")

    second = small.client.uploads.upload_file(folder, path)

    assert box_upload_faults.hits(rule["id"]) == 1
    assert (first.method, second.method, second.outcome) == ("chunked", "chunked", "new_version")
    assert second.file_id == first.file_id and second.sha1 == sha1_of(path)


def test_parts_in_flight_follow_the_part_size_box_dictates():
    hook = make_hook()
    assert hook.client.uploads.upload_workers == 3
    # part buffers (in flight + the one being read) stay within UPLOAD_BUFFER_BUDGET (48 MiB)
    assert [hook.client.uploads.parts_in_flight(n * MIB) for n in (8, 16, 32, 128)] == [3, 2, 1, 1]


def test_upload_into_a_missing_folder_fails_without_retrying(hook: BoxHook, tmp_path: Path):
    with pytest.raises(BoxNotFoundError, match=r"uploading 'a.txt' \(3 bytes\) to folder 424242"):
        hook.client.uploads.upload_file("424242", write(tmp_path / "a.txt", 3))


# ---- downloads and faults -------------------------------------------------------------------------------------------


@pytest.fixture
def stored(hook: BoxHook, folder: str, tmp_path: Path):
    path = write(tmp_path / "src.bin", 3 * MIB + 5)
    return hook.client.uploads.upload_file(folder, path), path


def test_download_streams_to_a_file(hook: BoxHook, stored, tmp_path: Path):
    uploaded, source = stored
    result = hook.client.downloads.download_file(uploaded.file_id, tmp_path / "dl" / "copy.bin")
    assert (tmp_path / "dl" / "copy.bin").read_bytes() == source.read_bytes()
    assert (result.size, result.sha1) == (source.stat().st_size, sha1_of(source))


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_download_cut_short_once_is_retried(hook: BoxHook, stored, tmp_path: Path, box_upload_faults: Faults,
                                            kind: str):
    uploaded, source = stored
    rule = box_upload_faults.arm(kind=kind, method="GET", path="/d/1/*/download", count=1)
    result = hook.client.downloads.download_file(uploaded.file_id, tmp_path / "copy.bin")
    assert box_upload_faults.hits(rule["id"]) == 1
    assert result.sha1 == sha1_of(source)


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_download_cut_short_every_time_fails_clearly(hook: BoxHook, stored, tmp_path: Path,
                                                     box_upload_faults: Faults, kind: str):
    uploaded, _ = stored
    rule = box_upload_faults.arm(kind=kind, method="GET", path="/d/1/*/download", count=10)
    with pytest.raises((BoxTransportError, BoxIntegrityError)) as info:
        hook.client.downloads.download_file(uploaded.file_id, tmp_path / "copy.bin")
    message = str(info.value)
    assert f"downloading file {uploaded.file_id} ('src.bin')" in message and message.endswith("after 3 attempts.")
    assert box_upload_faults.hits(rule["id"]) == 3
    assert not (tmp_path / "copy.bin").exists()


def test_429_waits_for_retry_after(hook: BoxHook, stored, box_api_faults: Faults):
    uploaded, _ = stored
    rule = box_api_faults.arm(kind="429", method="GET", path=f"/2.0/files/{uploaded.file_id}", retry_after=1)
    started = time.monotonic()
    assert hook.client.files.get_file_info(uploaded.file_id).file_id == uploaded.file_id
    assert time.monotonic() - started >= 1.0
    assert box_api_faults.hits(rule["id"]) == 1


def test_503_then_success_and_503_for_ever(hook: BoxHook, stored, box_api_faults: Faults):
    uploaded, _ = stored
    rule = box_api_faults.arm(kind="status", status=503, method="GET", path=f"/2.0/files/{uploaded.file_id}", count=2)
    assert hook.client.files.get_file_info(uploaded.file_id).name == "src.bin"
    assert box_api_faults.hits(rule["id"]) == 2

    rule = box_api_faults.arm(kind="status", status=503, method="GET", path=f"/2.0/files/{uploaded.file_id}", count=9)
    with pytest.raises(BoxServerError) as info:
        hook.client.files.get_file_info(uploaded.file_id)
    assert box_api_faults.hits(rule["id"]) == 3
    assert str(info.value).startswith(f"Box request failed while reading file {uploaded.file_id}: HTTP 503 "
                                      "sandbox_fault (Injected fault)")
    assert str(info.value).endswith("after 3 attempts.")


def test_other_4xx_are_never_retried(hook: BoxHook, stored, box_api_faults: Faults):
    uploaded, _ = stored
    rule = box_api_faults.arm(kind="status", status=400, method="GET", path=f"/2.0/files/{uploaded.file_id}", count=3)
    with pytest.raises(BoxBadRequestError, match="HTTP 400"):
        hook.client.files.get_file_info(uploaded.file_id)
    assert box_api_faults.hits(rule["id"]) == 1


def test_expired_token_is_renewed(hook: BoxHook, stored, sandbox: RunningSandbox):
    uploaded, _ = stored
    expired = requests.post(f"{sandbox.endpoints['box_base_url']}/__sandbox__/box/expire-tokens", timeout=5)
    assert expired.ok
    assert hook.client.files.get_file_info(uploaded.file_id).file_id == uploaded.file_id


# ---- authentication and the connection test --------------------------------------------------------------------------


def _rsa_key(passphrase: str | None) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def test_connection_test_passes_with_client_credentials(box_conn: str):
    ok, message = BoxHook().test_connection()
    assert ok, message
    assert "ccg authentication" in message


def test_connection_test_passes_with_jwt_keys_checked_by_the_server(sandbox_factory, monkeypatch: pytest.MonkeyPatch):
    encrypted, public = _rsa_key("s3cret-passphrase")
    own = sandbox_factory(box_jwt_public_key_pem=public)
    s = own.settings
    base = {"auth_mode": "jwt", "enterprise_id": s.box_enterprise_id, "base_url": own.endpoints["box_base_url"],
            "upload_url": own.endpoints["box_upload_url"]}
    monkeypatch.setenv("AIRFLOW_CONN_BOX_DEFAULT", json.dumps({
        "conn_type": "box", "login": s.box_client_id, "password": s.box_client_secret,
        "extra": {**base, "jwt_key_id": "kid1", "jwt_private_key": encrypted,
                  "jwt_private_key_passphrase": "s3cret-passphrase"}}))
    ok, message = BoxHook().test_connection()
    assert ok, message
    assert "jwt authentication" in message

    app_config = {"boxAppSettings": {"clientID": s.box_client_id, "clientSecret": s.box_client_secret,
                                     "appAuth": {"publicKeyID": "kid1", "privateKey": encrypted,
                                                 "passphrase": "s3cret-passphrase"}},
                  "enterpriseID": s.box_enterprise_id}
    monkeypatch.setenv("AIRFLOW_CONN_BOX_DEFAULT", json.dumps(
        {"conn_type": "box", "extra": {**base, "jwt_config_json": json.dumps(app_config)}}))
    ok, message = BoxHook().test_connection()
    assert ok, message

    other, _ = _rsa_key(None)  # signed with a key the server does not know
    monkeypatch.setenv("AIRFLOW_CONN_BOX_DEFAULT", json.dumps({
        "conn_type": "box", "login": s.box_client_id, "password": s.box_client_secret,
        "extra": {**base, "jwt_key_id": "kid1", "jwt_private_key": other}}))
    ok, message = make_hook().test_connection()
    assert not ok and "getting an access token" in message and "invalid_grant" in message


def test_unencrypted_jwt_key_is_accepted(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch):
    private, _ = _rsa_key(None)
    monkeypatch.setenv("AIRFLOW_CONN_BOX_DEFAULT", box_connection(
        sandbox, auth_mode="jwt", jwt_key_id="kid2", jwt_private_key=private))
    ok, message = BoxHook().test_connection()
    assert ok, message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"password": "wrong-secret-value"}, "invalid_client"),
        ({"enterprise_id": None}, "has no enterprise_id or user_id"),
        ({"auth_mode": "jwt"}, "has no jwt_key_id, no jwt_private_key"),
        ({"auth_mode": "oauth2"}, "auth_mode 'oauth2'"),
        ({"jwt_config_json": "{not json"}, "not a Box app config.json"),
        ({"base_url": "ftp://example"}, "base_url that is not an http(s) URL"),
    ],
)
def test_connection_test_fails_with_a_reason(extra: dict, expected: str, sandbox: RunningSandbox,
                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW_CONN_BOX_DEFAULT", box_connection(sandbox, **extra))
    ok, message = make_hook().test_connection()
    assert not ok
    assert expected in message
    assert "wrong-secret-value" not in message


def test_connection_test_fails_when_box_is_unreachable(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW_CONN_BOX_DEFAULT", box_connection(sandbox, base_url="http://127.0.0.1:9"))
    ok, message = make_hook(max_attempts=1).test_connection()
    assert not ok and "connection failed" in message


def test_every_error_is_a_box_error_and_an_airflow_exception():
    from airflow.sdk.exceptions import AirflowException

    for cls in (BoxAuthError, BoxBadRequestError, BoxConflictError, BoxIntegrityError, BoxNotFoundError,
                BoxServerError, BoxTransportError):
        assert issubclass(cls, BoxError) and issubclass(cls, AirflowException)
