"""Box sandbox: the event stream (``GET /events`` as box-openapi.json describes it, read through the official
SDK's ``client.events.get_events``), copies and moves, and the Box variants ``new-version-without-webhook``,
``webhook-auto-deleted`` and ``events-duplicated-out-of-order`` switched at run time."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import requests
from box_sdk_gen import (
    BoxAPIError,
    CopyFileParent,
    CreateFolderParent,
    CreateWebhookTarget,
    CreateWebhookTargetTypeField,
    CreateWebhookTriggers,
    UploadFileAttributes,
    UploadFileAttributesParentField,
    UploadFileVersionAttributes,
)
from box_sdk_gen.managers.events import GetEventsStreamType
from box_sdk_gen.managers.files import UpdateFileByIdParent
from box_sdk_gen.managers.trashed_files import RestoreFileFromTrashParent

from sandbox.box.client import ccg_client
from sandbox.box.recorder import WebhookRecorder
from sandbox.box.variants import (
    AUTO_DELETE_AFTER,
    EVENTS_DUPLICATED_OUT_OF_ORDER,
    NEW_VERSION_WITHOUT_WEBHOOK,
    WEBHOOK_AUTO_DELETED,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from box_sdk_gen import BoxClient

    from sandbox.testing import RunningSandbox

pytestmark = pytest.mark.timeout(60)
CHANGES = GetEventsStreamType.CHANGES


@pytest.fixture(scope="module")
def client(sandbox: RunningSandbox) -> BoxClient:
    return ccg_client(sandbox.settings, sandbox.endpoints)


@pytest.fixture
def variants(sandbox: RunningSandbox) -> Iterator[Any]:
    url = f"{sandbox.endpoints['box_base_url']}/__sandbox__/box/variants"

    def use(*names: str) -> None:
        requests.post(url, json={"variants": list(names)}, timeout=5).raise_for_status()

    yield use
    requests.post(url, json={"variants": None}, timeout=5).raise_for_status()


def _folder(client: BoxClient, parent: str = "0", name: str | None = None) -> str:
    return client.folders.create_folder(name or f"f-{uuid.uuid4().hex[:8]}", CreateFolderParent(id=parent)).id


def _upload(client: BoxClient, folder_id: str, name: str, data: bytes) -> Any:
    return client.uploads.upload_file(
        UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(id=folder_id)), io.BytesIO(data),
        content_md_5=hashlib.sha1(data).hexdigest()).entries[0]


def _new_version(client: BoxClient, file_id: str, name: str, data: bytes) -> Any:
    return client.uploads.upload_file_version(file_id, UploadFileVersionAttributes(name=name), io.BytesIO(data)).entries[0]


def _read_all(client: BoxClient, position: str, limit: int = 500) -> tuple[list[Any], str]:
    events = []
    while True:
        page = client.events.get_events(stream_type=CHANGES, stream_position=position, limit=limit)
        events += page.entries or []
        if not page.entries:
            return events, str(page.next_stream_position)
        position = str(page.next_stream_position)


def test_the_stream_keeps_uploads_new_versions_copies_moves_and_renames(client: BoxClient, sandbox) -> None:
    start = str(client.events.get_events(stream_type=CHANGES, stream_position="now").next_stream_position)
    assert client.events.get_events(stream_type=CHANGES, stream_position="now").entries == []
    a, b = _folder(client), _folder(client)
    file = _upload(client, a, "one.txt", b"1")
    second = _new_version(client, file.id, "one.txt", b"2")
    copy = client.files.copy_file(file.id, CopyFileParent(id=b), name="copy.txt")
    client.files.update_file_by_id(file.id, name="renamed.txt")
    client.files.update_file_by_id(file.id, parent=UpdateFileByIdParent(id=b))

    events, end = _read_all(client, start, limit=2)
    kinds = [(e.event_type.value, e.source.id if hasattr(e.source, "id") else e.source["id"]) for e in events]
    assert kinds == [("ITEM_UPLOAD", file.id), ("ITEM_UPLOAD", file.id), ("ITEM_COPY", copy.id),
                     ("ITEM_RENAME", file.id), ("ITEM_MOVE", file.id)]
    raw = [e.to_dict() for e in events]
    assert raw[1]["source"]["file_version"]["id"] == second.file_version.id
    assert raw[3]["source"]["name"] == "renamed.txt"
    assert [p["name"] for p in raw[4]["source"]["path_collection"]["entries"]][-1] != ""
    assert len({e.event_id for e in events}) == 5
    assert _read_all(client, end)[0] == []  # nothing new after the end


def test_a_position_older_than_the_stream_keeps_is_refused(client: BoxClient, sandbox) -> None:
    start = str(client.events.get_events(stream_type=CHANGES, stream_position="now").next_stream_position)
    _upload(client, _folder(client), "old.txt", b"old")
    requests.post(f"{sandbox.endpoints['box_base_url']}/__sandbox__/box/events/expire",
                  json={"older_than_seconds": 0}, timeout=5).raise_for_status()
    with pytest.raises(BoxAPIError) as refused:
        client.events.get_events(stream_type=CHANGES, stream_position=start)
    assert refused.value.response_info.status_code == 400
    assert refused.value.response_info.code == "invalid_stream_position"
    now = client.events.get_events(stream_type=CHANGES, stream_position="now").next_stream_position
    assert client.events.get_events(stream_type=CHANGES, stream_position=str(now)).entries == []
    with pytest.raises(BoxAPIError) as admin:
        client.events.get_events(stream_type=GetEventsStreamType.ADMIN_LOGS_STREAMING)
    assert admin.value.response_info.status_code == 403


def test_duplicated_out_of_order_variant_repeats_and_reverses(client: BoxClient, variants) -> None:
    start = str(client.events.get_events(stream_type=CHANGES, stream_position="now").next_stream_position)
    folder = _folder(client)
    ids = [_upload(client, folder, f"{n}.txt", b"x").id for n in range(3)]
    variants(EVENTS_DUPLICATED_OUT_OF_ORDER)
    events, _ = _read_all(client, start, limit=2)
    sources = [e.to_dict()["source"]["id"] for e in events]
    assert len(events) > 3 and set(sources) == set(ids)
    assert sources[0] == ids[1]  # newest of the first chunk first
    assert len({e.event_id for e in events}) == 3


def test_new_version_without_webhook_variant(client: BoxClient, variants) -> None:
    with WebhookRecorder() as receiver:
        folder = _folder(client)
        client.webhooks.create_webhook(CreateWebhookTarget(id=folder, type=CreateWebhookTargetTypeField.FOLDER),
                                       receiver.url, [CreateWebhookTriggers.FILE_UPLOADED])
        variants(NEW_VERSION_WITHOUT_WEBHOOK)
        file = _upload(client, folder, "v.txt", b"1")
        receiver.wait_for(1)
        _new_version(client, file.id, "v.txt", b"2")
        _upload(client, folder, "w.txt", b"1")
        deliveries = receiver.wait_for(2)
        assert [json.loads(d["body"])["source"]["name"] for d in deliveries] == ["v.txt", "w.txt"]


def test_webhook_auto_deleted_variant_sends_webhook_deleted(client: BoxClient, variants) -> None:
    with WebhookRecorder() as receiver:
        folder = _folder(client)
        hook = client.webhooks.create_webhook(
            CreateWebhookTarget(id=folder, type=CreateWebhookTargetTypeField.FOLDER), receiver.url,
            [CreateWebhookTriggers.FILE_UPLOADED])
        variants(WEBHOOK_AUTO_DELETED)
        for n in range(AUTO_DELETE_AFTER + 2):
            _upload(client, folder, f"{n}.txt", b"x")
        deliveries = receiver.wait_for(AUTO_DELETE_AFTER + 1)
        bodies = [json.loads(d["body"]) for d in deliveries]
        # deliveries may arrive in any order (as Box's: each is retried on its own schedule)
        assert sorted(b["trigger"] for b in bodies) == ["FILE.UPLOADED"] * AUTO_DELETE_AFTER + ["WEBHOOK.DELETED"]
        [deleted] = [b for b in bodies if b["trigger"] == "WEBHOOK.DELETED"]
        assert deleted["additional_info"] == {"reason": "auto_cleanup"}
        assert deleted["webhook"]["id"] == hook.id
        assert hook.id not in {w.id for w in client.webhooks.get_webhooks().entries}


def test_trash_and_restore_record_events_and_send_webhooks(client: BoxClient) -> None:
    start = str(client.events.get_events(stream_type=CHANGES, stream_position="now").next_stream_position)
    with WebhookRecorder() as receiver:
        folder, other = _folder(client), _folder(client)
        client.webhooks.create_webhook(CreateWebhookTarget(id=folder, type=CreateWebhookTargetTypeField.FOLDER),
                                       receiver.url, [CreateWebhookTriggers.FILE_TRASHED,
                                                      CreateWebhookTriggers.FILE_RESTORED])
        file = _upload(client, folder, "t.txt", b"trash me")
        client.files.delete_file_by_id(file.id)
        assert client.folders.get_folder_items(folder).total_count == 0
        with pytest.raises(BoxAPIError) as gone:
            client.files.get_file_by_id(file.id)
        assert (gone.value.response_info.status_code, gone.value.response_info.code) == (404, "trashed")
        assert client.trashed_files.get_trashed_file_by_id(file.id).item_status.value == "trashed"
        _upload(client, folder, "t.txt", b"another file, same name")  # the name is free while trashed
        with pytest.raises(BoxAPIError) as taken:
            client.trashed_files.restore_file_from_trash(file.id)
        assert taken.value.response_info.code == "item_name_in_use"
        restored = client.trashed_files.restore_file_from_trash(file.id, name="t (restored).txt")
        assert (restored.id, restored.name, restored.parent.id) == (file.id, "t (restored).txt", folder)
        assert client.files.get_file_by_id(file.id).file_version.id == file.file_version.id
        assert {e.name for e in client.folders.get_folder_items(folder).entries} == {"t.txt", "t (restored).txt"}
        # Deliveries go out concurrently, as Box's do, so they may arrive in either order.
        bodies = {json.loads(d["body"])["trigger"]: json.loads(d["body"]) for d in receiver.wait_for(2)}
        assert {(trigger, b["source"]["id"]) for trigger, b in bodies.items()} == {("FILE.TRASHED", file.id),
                                                                                  ("FILE.RESTORED", file.id)}
        assert bodies["FILE.RESTORED"]["source"]["parent"]["id"] == folder
        # Restored elsewhere: to the folder the body names.
        client.files.delete_file_by_id(file.id)
        moved = client.trashed_files.restore_file_from_trash(file.id, parent=RestoreFileFromTrashParent(id=other))
        assert moved.parent.id == other
    events, _ = _read_all(client, start)
    kinds = [(e.to_dict()["event_type"], e.to_dict()["source"]["id"]) for e in events if e.to_dict()["source"]["id"] == file.id]
    assert kinds == [("ITEM_UPLOAD", file.id), ("ITEM_TRASH", file.id), ("ITEM_UNDELETE_VIA_TRASH", file.id),
                     ("ITEM_TRASH", file.id), ("ITEM_UNDELETE_VIA_TRASH", file.id)]
    assert events[-1].to_dict()["source"]["parent"]["id"] == other
    with pytest.raises(BoxAPIError) as live:
        client.trashed_files.restore_file_from_trash(file.id)  # not in the trash
    assert live.value.response_info.status_code == 400
