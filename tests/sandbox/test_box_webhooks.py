"""Box sandbox webhooks: signed FILE.UPLOADED deliveries accepted by the SDK's own validate_message, retries
with the same event id and a new delivery id, drop-next, and pending deliveries surviving a restart."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import requests
from box_sdk_gen import (
    BoxAPIError,
    CreateFolderParent,
    CreateWebhookTarget,
    CreateWebhookTargetTypeField,
    CreateWebhookTriggers,
    UploadFileAttributes,
    UploadFileAttributesParentField,
    UploadFileVersionAttributes,
    WebhooksManager,
)

from sandbox.box.client import ccg_client
from sandbox.box.recorder import WebhookRecorder

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from box_sdk_gen import BoxClient

    from sandbox.testing import RunningSandbox

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def receiver() -> Iterator[WebhookRecorder]:
    running = WebhookRecorder()
    yield running
    running.close()


@pytest.fixture(scope="module")
def client(sandbox: RunningSandbox) -> BoxClient:
    return ccg_client(sandbox.settings, sandbox.endpoints)


def _watched_root(client: BoxClient, address: str) -> tuple[str, str]:
    root = client.folders.create_folder(f"root-{uuid.uuid4().hex[:8]}", CreateFolderParent(id="0")).id
    hook = client.webhooks.create_webhook(
        CreateWebhookTarget(id=root, type=CreateWebhookTargetTypeField.FOLDER),
        address,
        [CreateWebhookTriggers.FILE_UPLOADED],
    )
    return root, hook.id


def _upload(client: BoxClient, folder_id: str, name: str, data: bytes) -> Any:
    return client.uploads.upload_file(
        UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(id=folder_id)),
        io.BytesIO(data),
        content_md_5=hashlib.sha1(data).hexdigest(),
    ).entries[0]


def _valid(sandbox: RunningSandbox, delivery: dict[str, Any], **keys: str | None) -> bool:
    settings = sandbox.settings
    return bool(
        WebhooksManager.validate_message(
            delivery["body"].decode("utf-8"),
            delivery["headers"],
            keys.get("primary", settings.box_webhook_primary_key),
            secondary_key=keys.get("secondary", settings.box_webhook_secondary_key),
        )
    )


def test_webhook_crud(client: BoxClient, receiver: WebhookRecorder) -> None:
    root, hook_id = _watched_root(client, receiver.url)
    hook = client.webhooks.get_webhook_by_id(hook_id)
    assert hook.target.id == root and hook.address == receiver.url
    assert hook_id in [w.id for w in client.webhooks.get_webhooks().entries]
    with pytest.raises(BoxAPIError) as duplicate:
        client.webhooks.create_webhook(
            CreateWebhookTarget(id=root, type=CreateWebhookTargetTypeField.FOLDER), receiver.url,
            [CreateWebhookTriggers.FILE_UPLOADED],
        )
    assert duplicate.value.response_info.status_code == 409
    with pytest.raises(BoxAPIError) as on_root:
        client.webhooks.create_webhook(
            CreateWebhookTarget(id="0", type=CreateWebhookTargetTypeField.FOLDER), receiver.url,
            [CreateWebhookTriggers.FILE_UPLOADED],
        )
    assert on_root.value.response_info.status_code == 400
    client.webhooks.delete_webhook_by_id(hook_id)
    assert hook_id not in [w.id for w in client.webhooks.get_webhooks().entries]


def test_signed_delivery_for_nested_upload_by_agency(
    sandbox: RunningSandbox, client: BoxClient, receiver: WebhookRecorder
) -> None:
    root, hook_id = _watched_root(client, receiver.url)
    campaign = client.folders.create_folder("CMP-2026-001 Spring", CreateFolderParent(id=root)).id
    derivatives = client.folders.create_folder("Derivatives", CreateFolderParent(id=campaign)).id
    agency = ccg_client(sandbox.settings, sandbox.endpoints, user_id=sandbox.settings.box_agency_user_id)
    uploaded = _upload(agency, derivatives, "K7M2QX_Nutella_Breakfast_video_IT_v01.mp4", "ünïcode".encode() * 10)

    delivery = receiver.wait_for(1)[0]
    headers = delivery["headers"]
    assert _valid(sandbox, delivery)
    assert _valid(sandbox, delivery, primary="wrong-key")  # the secondary signature alone is enough
    assert not _valid(sandbox, delivery, primary="wrong", secondary="wrong")
    tampered = {**delivery, "body": delivery["body"].replace(b"Nutella", b"Nutelle")}
    assert not _valid(sandbox, tampered)
    assert headers["box-signature-version"] == "1" and headers["box-signature-algorithm"] == "HmacSHA256"
    assert headers["user-agent"] == "Box-WH-Client/0.1" and uuid.UUID(headers["box-delivery-id"])

    event = json.loads(delivery["body"])
    assert event["type"] == "webhook_event" and event["trigger"] == "FILE.UPLOADED"
    assert event["webhook"] == {"id": hook_id, "type": "webhook"}
    assert event["created_by"]["id"] == sandbox.settings.box_agency_user_id
    source = event["source"]
    assert (source["type"], source["id"], source["sha1"]) == ("file", uploaded.id, uploaded.sha_1)
    assert [e["name"] for e in source["path_collection"]["entries"]][-2:] == ["CMP-2026-001 Spring", "Derivatives"]
    assert source["parent"]["id"] == derivatives and source["file_version"]["id"] == uploaded.file_version.id

    version = b"new version"
    agency.uploads.upload_file_version(
        uploaded.id, UploadFileVersionAttributes(name=uploaded.name), io.BytesIO(version),
        content_md_5=hashlib.sha1(version).hexdigest(),
    )
    second = json.loads(receiver.wait_for(2)[1]["body"])
    assert second["id"] != event["id"] and second["source"]["sha1"] == hashlib.sha1(version).hexdigest()

    _upload(client, client.folders.create_folder("elsewhere", CreateFolderParent(id="0")).id, "x.txt", b"x")
    time.sleep(0.3)
    assert len(receiver.deliveries) == 2  # nothing for unwatched folders


def test_chunked_upload_is_announced(
    sandbox: RunningSandbox, client: BoxClient, receiver: WebhookRecorder, tmp_path: Path
) -> None:
    root, _ = _watched_root(client, receiver.url)
    big = tmp_path / "big.mxf"
    big.write_bytes(os.urandom(20_000_001))
    with big.open("rb") as fh:
        uploaded = client.chunked_uploads.upload_big_file(fh, big.name, big.stat().st_size, root)
    delivery = receiver.wait_for(1)[0]
    assert _valid(sandbox, delivery)
    source = json.loads(delivery["body"])["source"]
    assert (source["id"], source["sha1"], source["size"]) == (uploaded.id, uploaded.sha_1, 20_000_001)


def test_failed_delivery_is_retried_with_same_event_id(
    sandbox: RunningSandbox, client: BoxClient, receiver: WebhookRecorder
) -> None:
    root, _ = _watched_root(client, receiver.url)
    receiver.statuses = [500, 302]
    uploaded = _upload(client, root, "retry.txt", b"retry me")
    first, second, third = receiver.wait_for(3)
    bodies = {d["body"] for d in (first, second, third)}
    assert len(bodies) == 1  # identical body, hence identical event id
    assert len({d["headers"]["box-delivery-id"] for d in (first, second, third)}) == 3
    assert all(_valid(sandbox, d) for d in (first, second, third))

    listing = requests.get(f"{sandbox.endpoints['box_base_url']}/__sandbox__/box/deliveries", timeout=10).json()
    event = next(e for e in listing["entries"] if e["source_id"] == uploaded.id)
    assert event["status"] == "delivered" and event["id"] == json.loads(first["body"])["id"]
    assert [a["status_code"] for a in event["attempts"]] == [500, 302, 200]


def test_drop_next_silently_skips_events(sandbox: RunningSandbox, client: BoxClient, receiver: WebhookRecorder) -> None:
    root, _ = _watched_root(client, receiver.url)
    base = sandbox.endpoints["box_base_url"]
    answer = requests.post(f"{base}/__sandbox__/box/webhooks/drop-next", json={"count": 1}, timeout=10)
    assert answer.status_code == 200
    dropped = _upload(client, root, "dropped.txt", b"never announced")
    kept = _upload(client, root, "kept.txt", b"announced")
    delivered = receiver.wait_for(1)
    time.sleep(0.3)
    assert [json.loads(d["body"])["source"]["id"] for d in receiver.deliveries] == [kept.id]
    listing = requests.get(f"{base}/__sandbox__/box/deliveries", timeout=10).json()["entries"]
    assert next(e for e in listing if e["source_id"] == dropped.id)["status"] == "dropped"
    assert delivered


@pytest.mark.slow
def test_pending_delivery_resumes_after_restart(
    sandbox_factory: Callable[..., RunningSandbox], tmp_path_factory: pytest.TempPathFactory
) -> None:
    data_dir = tmp_path_factory.mktemp("box-restart")
    first = sandbox_factory(data_dir, webhook_retry_scale=0.02)  # first retry after 0.6 s
    client = ccg_client(first.settings, first.endpoints)
    receiver = WebhookRecorder()
    try:
        receiver.statuses = [503]
        root, _ = _watched_root(client, receiver.url)
        _upload(client, root, "restart.txt", os.urandom(100))
        receiver.wait_for(1)
        first.stop()
        second = sandbox_factory(data_dir, webhook_retry_scale=0.02)
        deliveries = receiver.wait_for(2)
        assert deliveries[0]["body"] == deliveries[1]["body"]
        assert deliveries[1]["status"] == 200 and _valid(second, deliveries[1])
    finally:
        receiver.close()


def test_rename_sends_file_renamed_to_webhooks_that_want_it(
    sandbox: RunningSandbox, client: BoxClient, receiver: WebhookRecorder
) -> None:
    """``PUT /files/{id}`` with a new name sends FILE.RENAMED (the file as it is now, same version) to a webhook
    subscribed to it, and nothing to one watching uploads only; a description change is no rename."""
    uploads_only = WebhookRecorder()
    try:
        root, _ = _watched_root(client, uploads_only.url)
        campaign = client.folders.create_folder("CMP-2026-001 Spring", CreateFolderParent(id=root)).id
        client.webhooks.create_webhook(
            CreateWebhookTarget(id=campaign, type=CreateWebhookTargetTypeField.FOLDER), receiver.url,
            [CreateWebhookTriggers.FILE_UPLOADED, CreateWebhookTriggers.FILE_RENAMED],
        )
        agency = ccg_client(sandbox.settings, sandbox.endpoints, user_id=sandbox.settings.box_agency_user_id)
        uploaded = _upload(agency, campaign, "K7M2QX_Nutella_Breakfast_video_IT.mp4", b"renamed later")
        uploads_only.wait_for(1)
        receiver.wait_for(1)
        agency.files.update_file_by_id(uploaded.id, description="not a rename")
        agency.files.update_file_by_id(uploaded.id, name="K7M2QX_Nutella_Breakfast_video_IT_v01.mp4")

        renamed = receiver.wait_for(2)[1]
        assert _valid(sandbox, renamed)
        event = json.loads(renamed["body"])
        assert event["trigger"] == "FILE.RENAMED"
        assert event["created_by"]["id"] == sandbox.settings.box_agency_user_id
        source = event["source"]
        assert (source["id"], source["name"]) == (uploaded.id, "K7M2QX_Nutella_Breakfast_video_IT_v01.mp4")
        assert source["file_version"]["id"] == uploaded.file_version.id, "a rename makes no new version"
        time.sleep(0.5)
        assert len(receiver.deliveries) == 2 and len(uploads_only.deliveries) == 1
    finally:
        uploads_only.close()
