"""Box sandbox files and folders, driven through the official SDK (box_sdk_gen) over real sockets."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from typing import TYPE_CHECKING

import pytest
import requests
from box_sdk_gen import (
    BoxAPIError,
    CreateFileMetadataByIdScope,
    CreateFolderParent,
    DeleteFileMetadataByIdScope,
    GetFileMetadataByIdScope,
    PreflightFileUploadCheckParent,
    UpdateFileMetadataByIdRequestBody,
    UpdateFileMetadataByIdRequestBodyOpField,
    UpdateFileMetadataByIdScope,
    UpdateFolderByIdSharedLink,
    UploadFileAttributes,
    UploadFileAttributesParentField,
    UploadFileVersionAttributes,
    UploadPart,
    UploadWithPreflightCheckAttributes,
    UploadWithPreflightCheckAttributesParentField,
)

from sandbox.box.client import ccg_client

if TYPE_CHECKING:
    from pathlib import Path

    from box_sdk_gen import BoxClient

    from sandbox.testing import RunningSandbox

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def client(sandbox: RunningSandbox) -> BoxClient:
    return ccg_client(sandbox.settings, sandbox.endpoints)


@pytest.fixture
def folder_id(client: BoxClient) -> str:
    return client.folders.create_folder(f"test-{uuid.uuid4().hex[:8]}", CreateFolderParent(id="0")).id


def _upload(client: BoxClient, folder_id: str, name: str, data: bytes, digest: str | None = None):
    return client.uploads.upload_file(
        UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(id=folder_id)),
        io.BytesIO(data),
        file_file_name=name,
        content_md_5=digest if digest is not None else hashlib.sha1(data).hexdigest(),
    ).entries[0]


def test_folder_create_get_and_conflict_list(client: BoxClient, folder_id: str) -> None:
    masters = client.folders.create_folder("Masters", CreateFolderParent(id=folder_id))
    assert masters.type.value == "folder" and masters.name == "Masters"
    assert masters.parent.id == folder_id
    assert [e.id for e in masters.path_collection.entries] == ["0", folder_id]
    assert masters.created_by.id == client.users.get_user_me().id

    with pytest.raises(BoxAPIError) as err:
        client.folders.create_folder("MASTERS", CreateFolderParent(id=folder_id))  # names are case-insensitive
    info = err.value.response_info
    assert info.status_code == 409 and info.code == "item_name_in_use"
    assert isinstance(info.context_info["conflicts"], list)
    assert info.context_info["conflicts"][0]["id"] == masters.id

    fetched = client.folders.get_folder_by_id(folder_id)
    assert fetched.item_collection.total_count == 1
    assert fetched.item_collection.entries[0].id == masters.id

    with pytest.raises(BoxAPIError) as missing:
        client.folders.get_folder_by_id("999999")
    assert missing.value.response_info.status_code == 404


def test_items_offset_and_marker_paging(client: BoxClient, folder_id: str) -> None:
    names = {f"item-{i:02d}.txt" for i in range(7)}
    for name in names:
        _upload(client, folder_id, name, name.encode())
    client.folders.create_folder("sub", CreateFolderParent(id=folder_id))

    by_offset, offset = [], 0
    while True:
        page = client.folders.get_folder_items(folder_id, offset=offset, limit=3)
        assert page.total_count == 8 and len(page.entries) <= 3
        by_offset += page.entries
        offset += page.limit
        if offset >= page.total_count:
            break
    assert by_offset[0].type.value == "folder"  # folders first
    assert {e.name for e in by_offset if e.type.value == "file"} == names
    assert all(e.sha_1 and e.file_version.id for e in by_offset if e.type.value == "file")

    by_marker, marker = [], None
    while True:
        page = client.folders.get_folder_items(folder_id, usemarker=True, marker=marker, limit=3)
        by_marker += page.entries
        marker = page.next_marker
        if not marker:
            break
    assert [e.id for e in by_marker] == [e.id for e in by_offset]


def test_upload_info_conflict_bad_digest_and_version(client: BoxClient, folder_id: str) -> None:
    data = os.urandom(50_000)
    uploaded = _upload(client, folder_id, "K7M2QX_spot.mp4", data)
    assert uploaded.sha_1 == hashlib.sha1(data).hexdigest() and uploaded.size == len(data)
    assert uploaded.parent.id == folder_id and uploaded.created_by.id == uploaded.modified_by.id

    info = client.files.get_file_by_id(uploaded.id)
    assert info.sha_1 == uploaded.sha_1 and info.file_version.id == uploaded.file_version.id
    assert info.path_collection.entries[-1].id == folder_id

    with pytest.raises(BoxAPIError) as conflict:
        _upload(client, folder_id, "k7m2qx_SPOT.mp4", b"other bytes")
    assert conflict.value.response_info.status_code == 409
    existing = conflict.value.response_info.context_info["conflicts"]
    assert existing["id"] == uploaded.id and existing["sha1"] == uploaded.sha_1

    with pytest.raises(BoxAPIError) as bad:
        _upload(client, folder_id, "other.bin", b"payload", digest=hashlib.sha1(b"not it").hexdigest())
    assert (bad.value.response_info.status_code, bad.value.response_info.code) == (400, "bad_digest")
    names = [e.name for e in client.folders.get_folder_items(folder_id).entries]
    assert names == ["K7M2QX_spot.mp4"]  # nothing half-stored

    new_data = data + b"v2"
    version = client.uploads.upload_file_version(
        uploaded.id, UploadFileVersionAttributes(name="K7M2QX_spot.mp4"), io.BytesIO(new_data),
        content_md_5=hashlib.sha1(new_data).hexdigest(),
    ).entries[0]
    assert version.id == uploaded.id and version.size == len(new_data)
    assert version.sha_1 == hashlib.sha1(new_data).hexdigest()
    assert version.file_version.id != uploaded.file_version.id
    out = io.BytesIO()
    client.downloads.download_file_to_output_stream(uploaded.id, out)
    assert out.getvalue() == new_data


def test_attributes_part_must_come_first(sandbox: RunningSandbox, client: BoxClient, folder_id: str) -> None:
    token = client.auth.retrieve_token(network_session=client.network_session).access_token
    files = [
        ("file", ("late.txt", b"bytes", "text/plain")),
        ("attributes", (None, json.dumps({"name": "late.txt", "parent": {"id": folder_id}}))),
    ]
    answer = requests.post(
        f"{sandbox.endpoints['box_upload_url']}/2.0/files/content",
        files=files, headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["code"] == "metadata_after_file_contents"


def test_preflight(client: BoxClient, folder_id: str) -> None:
    check = client.uploads.preflight_file_upload_check(
        name="new.pdf", size=10, parent=PreflightFileUploadCheckParent(id=folder_id)
    )
    assert check.upload_url.startswith("http://127.0.0.1:") and "/api/2.0/files/content" in check.upload_url
    uploaded = client.uploads.upload_with_preflight_check(
        UploadWithPreflightCheckAttributes(
            name="new.pdf", size=10, parent=UploadWithPreflightCheckAttributesParentField(id=folder_id)
        ),
        io.BytesIO(b"0123456789"),
    ).entries[0]
    assert uploaded.size == 10
    with pytest.raises(BoxAPIError) as conflict:
        client.uploads.preflight_file_upload_check(
            name="NEW.pdf", size=10, parent=PreflightFileUploadCheckParent(id=folder_id)
        )
    assert conflict.value.response_info.status_code == 409
    assert conflict.value.response_info.context_info["conflicts"]["id"] == uploaded.id


def test_chunked_upload(client: BoxClient, folder_id: str, tmp_path: Path) -> None:
    size = 21 * 1024 * 1024 + 123  # above Box's 20,000,000-byte minimum: 3 parts of 8 MiB
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:
        fh.write(os.urandom(size))
    sha1 = hashlib.sha1(big.read_bytes()).hexdigest()
    with big.open("rb") as fh:
        uploaded = client.chunked_uploads.upload_big_file(fh, "big.bin", size, folder_id)
    assert uploaded.size == size and uploaded.sha_1 == sha1 and uploaded.parent.id == folder_id

    with pytest.raises(BoxAPIError) as small:
        client.chunked_uploads.create_file_upload_session(folder_id, 1024, "small.bin")
    assert small.value.response_info.code == "file_size_too_small"


def _part_digest(data: bytes) -> str:
    return "sha=" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def test_chunked_parts_out_of_order_and_a_part_sent_again(client: BoxClient, folder_id: str) -> None:
    """The whole-file SHA-1 the sandbox keeps while parts arrive must match the bytes finally stored: parts sent
    last-first, then one replaced with other bytes after it was hashed. A stale digest would refuse the commit."""
    size = 21 * 1024 * 1024 + 123
    session = client.chunked_uploads.create_file_upload_session(folder_id, size, "reordered.bin")
    part_size, endpoints = session.part_size, session.session_endpoints
    content = bytearray(os.urandom(size))

    def send(offset: int) -> UploadPart:
        data = bytes(content[offset:offset + part_size])
        part = client.chunked_uploads.upload_file_part_by_url(
            endpoints.upload_part, io.BytesIO(data), _part_digest(data),
            f"bytes {offset}-{offset + len(data) - 1}/{size}").part
        return UploadPart(part_id=part.part_id, offset=part.offset, size=part.size, sha_1=part.sha_1)

    parts = {offset: send(offset) for offset in sorted(range(0, size, part_size), reverse=True)}
    time.sleep(0.3)  # let the sandbox hash the contiguous parts
    content[part_size:2 * part_size] = os.urandom(part_size)
    parts[part_size] = send(part_size)
    whole = hashlib.sha1(content).digest()
    ordered = [parts[offset] for offset in sorted(parts)]
    committed = client.chunked_uploads.create_file_upload_session_commit_by_url(
        endpoints.commit, ordered, "sha=" + base64.b64encode(whole).decode()).entries[0]
    assert committed.size == size and committed.sha_1 == whole.hex()
    downloaded = io.BytesIO()
    client.downloads.download_file_to_output_stream(committed.id, downloaded)
    assert hashlib.sha1(downloaded.getvalue()).hexdigest() == whole.hex()


def test_shared_link_on_folder(client: BoxClient, folder_id: str) -> None:
    folder = client.folders.update_folder_by_id(
        folder_id, shared_link=UpdateFolderByIdSharedLink(access="open"), fields=["shared_link"]
    )
    url = folder.shared_link.url
    assert url.startswith("http://127.0.0.1:") and folder.shared_link.access.value == "open"
    assert client.folders.get_folder_by_id(folder_id).shared_link.url == url  # stable
    assert requests.get(url, timeout=10).status_code == 200


_DOWNLOAD_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    from sandbox.box.client import ccg_client
    from sandbox.settings import SandboxSettings
    endpoints = json.loads(sys.argv[1])
    settings = SandboxSettings.from_env(persist=False)
    client = ccg_client(settings, endpoints)
    client.users.get_user_me()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(sys.argv[3], "wb") as fh:
        client.downloads.download_file_to_output_stream(sys.argv[2], fh)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth_kib": after - before}))
    """
)


def _peak_rss_kib(pid: int) -> int:
    """Peak resident memory of a process (Linux /proc), in KiB."""
    for line in open(f"/proc/{pid}/status").read().splitlines():  # noqa: PTH123, SIM115
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_download_64_mib_streams_with_bounded_memory(
    sandbox: RunningSandbox, client: BoxClient, folder_id: str, tmp_path: Path
) -> None:
    size = 64 * 1024 * 1024
    server_peak_before = _peak_rss_kib(sandbox.process.pid)
    source = tmp_path / "master.mov"
    digest = hashlib.sha1()
    with source.open("wb") as fh:
        for _ in range(size // (1024 * 1024)):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            fh.write(chunk)
    with source.open("rb") as fh:
        uploaded = client.chunked_uploads.upload_big_file(fh, "master.mov", size, folder_id)
    target = tmp_path / "downloaded.mov"
    env = {**os.environ, **sandbox.env}
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", _DOWNLOAD_SCRIPT, json.dumps(sandbox.endpoints), uploaded.id, str(target)],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    growth_kib = json.loads(result.stdout.strip().splitlines()[-1])["growth_kib"]
    assert target.stat().st_size == size
    check = hashlib.sha1()
    with target.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            check.update(chunk)
    assert check.hexdigest() == digest.hexdigest() == uploaded.sha_1
    assert growth_kib < 16 * 1024, f"client RSS grew by {growth_kib} KiB while downloading 64 MiB"
    server_growth = _peak_rss_kib(sandbox.process.pid) - server_peak_before
    assert server_growth < 32 * 1024, f"sandbox RSS grew by {server_growth} KiB for a 64 MiB upload + download"

    redirect = requests.get(
        f"{sandbox.endpoints['box_base_url']}/2.0/files/{uploaded.id}/content",
        headers={"Authorization": f"Bearer {client.auth.retrieve_token(network_session=client.network_session).access_token}"},
        allow_redirects=False, timeout=10,
    )
    assert redirect.status_code == 302
    head = requests.get(redirect.headers["Location"], stream=True, timeout=10)  # no Authorization needed
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == size
    head.close()


def test_file_metadata(client: BoxClient, folder_id: str) -> None:
    file_id = _upload(client, folder_id, "tagged.png", b"png bytes").id
    created = client.file_metadata.create_file_metadata_by_id(
        file_id, CreateFileMetadataByIdScope.GLOBAL, "properties", {"tracking_id": "K7M2QX", "campaign": "CMP-1"}
    )
    assert created.extra_data["tracking_id"] == "K7M2QX" and created.template == "properties"
    with pytest.raises(BoxAPIError) as exists:
        client.file_metadata.create_file_metadata_by_id(
            file_id, CreateFileMetadataByIdScope.GLOBAL, "properties", {"tracking_id": "OTHER1"}
        )
    assert exists.value.response_info.status_code == 409
    updated = client.file_metadata.update_file_metadata_by_id(
        file_id, UpdateFileMetadataByIdScope.GLOBAL, "properties",
        [UpdateFileMetadataByIdRequestBody(op=UpdateFileMetadataByIdRequestBodyOpField.REPLACE, path="/campaign",
                                           value="CMP-2")],
    )
    assert updated.extra_data == {"tracking_id": "K7M2QX", "campaign": "CMP-2"}
    fetched = client.file_metadata.get_file_metadata_by_id(file_id, GetFileMetadataByIdScope.GLOBAL, "properties")
    assert fetched.extra_data["campaign"] == "CMP-2"
    assert len(client.file_metadata.get_file_metadata(file_id).entries) == 1
    client.file_metadata.delete_file_metadata_by_id(file_id, DeleteFileMetadataByIdScope.GLOBAL, "properties")
    assert client.file_metadata.get_file_metadata(file_id).entries == []


def test_update_and_delete_items(client: BoxClient, folder_id: str) -> None:
    file_id = _upload(client, folder_id, "draft.txt", b"draft").id
    renamed = client.files.update_file_by_id(file_id, name="final.txt", description="approved")
    assert (renamed.name, renamed.description) == ("final.txt", "approved")
    sub = client.folders.create_folder("sub", CreateFolderParent(id=folder_id)).id
    _upload(client, sub, "inner.txt", b"inner")
    with pytest.raises(BoxAPIError) as not_empty:
        client.folders.delete_folder_by_id(sub)
    assert not_empty.value.response_info.code == "folder_not_empty"
    client.folders.delete_folder_by_id(sub, recursive=True)
    client.files.delete_file_by_id(file_id)
    assert client.folders.get_folder_items(folder_id).total_count == 0
    with pytest.raises(BoxAPIError) as gone:
        client.files.get_file_by_id(file_id)
    assert gone.value.response_info.status_code == 404
