"""The Box seed and the agency command against a running sandbox: V2-named derivatives uploaded by the agency
user into Derivatives/ (one per master, plus a badly named extra), each announced by a signed delivery that validate_message accepts."""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import zlib
from typing import TYPE_CHECKING

import pytest
from box_sdk_gen import (
    CreateFolderParent,
    CreateWebhookTarget,
    CreateWebhookTargetTypeField,
    CreateWebhookTriggers,
    UploadFileAttributes,
    UploadFileAttributesParentField,
    WebhooksManager,
)

from sandbox.box import agency
from sandbox.box.client import ccg_client
from sandbox.box.recorder import WebhookRecorder
from sandbox.box.seed import seed_box

if TYPE_CHECKING:
    from collections.abc import Callable

    from box_sdk_gen import BoxClient

    from sandbox.testing import RunningSandbox

pytestmark = pytest.mark.timeout(60)

V2 = re.compile(
    r"^(?P<tracking>[0-9A-HJKMNP-TV-Z]{6})_(?P<brand>[A-Za-z0-9-]{1,40})_(?P<subject>[A-Za-z0-9-]{1,80})_"
    r"(?P<type>[A-Za-z]+)_(?P<lang>[A-Za-z]{2})(?:_(?P<market>[A-Za-z]{2}))?_[vV]\d{2}\.(?P<ext>[a-z0-9]+)$"
)


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


MASTERS = {
    "K7M2QX_Nutella_Breakfast-Moments_video.mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64,
    "A1B2C3_Nutella_Jar-Hero_image.png": _png(),
    "ZZ99XY_Nutella_Brand-Guidelines_document.pdf": b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
}


def _upload(client: BoxClient, folder_id: str, name: str, data: bytes) -> None:
    client.uploads.upload_file(
        UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(id=folder_id)),
        io.BytesIO(data),
        content_md_5=hashlib.sha1(data).hexdigest(),
    )


def test_v2_names_from_master_names() -> None:
    assert agency.v2_name("K7M2QX_Nutella_Breakfast-Moments_video.mp4", 0) == (
        "K7M2QX_Nutella_Breakfast-Moments_video_IT_v01.mp4"
    )
    assert agency.v2_name("A1B2C3_Kinder-Bueno_Pack-Shot_image.PNG", 1) == "A1B2C3_Kinder-Bueno_Pack-Shot_image_DE_CH_v01.png"
    assert agency.v2_name("A1B2C3_Kinder-Bueno_Pack-Shot_image.png", 0, bad=True) == (
        "A1B2C3_Kinder-Bueno_Pack-Shot_image_IT.png"
    )
    assert V2.match(agency.v2_name("K7M2QX_Summer spot (final).mov", 2))


@pytest.mark.slow
def test_seed_and_agency_deliveries(
    sandbox_factory: Callable[..., RunningSandbox], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = sandbox_factory()  # its own: the webhook on the root folder must not leak into other tests
    settings = sandbox.settings
    root_id = seed_box(settings)["root_folder_id"]
    assert seed_box(settings)["root_folder_id"] == root_id  # idempotent
    service = ccg_client(settings, sandbox.endpoints)
    root = service.folders.get_folder_by_id(root_id)
    assert root.name == "Ferrero Content Scaling" and root.owned_by.id == settings.box_service_account_user_id

    campaign = service.folders.create_folder("CMP-2026-001 Nutella Breakfast Moments", CreateFolderParent(id=root_id))
    masters = service.folders.create_folder("Masters", CreateFolderParent(id=campaign.id))
    derivatives = service.folders.create_folder("Derivatives", CreateFolderParent(id=campaign.id))
    for name, data in MASTERS.items():
        _upload(service, masters.id, name, data)
    receiver = WebhookRecorder()
    try:
        service.webhooks.create_webhook(
            CreateWebhookTarget(id=root_id, type=CreateWebhookTargetTypeField.FOLDER),
            receiver.url,
            [CreateWebhookTriggers.FILE_UPLOADED],
        )
        monkeypatch.setenv("SANDBOX_DATA_DIR", str(sandbox.data_dir))
        assert agency.main(["--campaign", "CMP-2026-001"]) == 0
        printed = capsys.readouterr().out
        deliveries = receiver.wait_for(4)
    finally:
        receiver.close()

    files = service.folders.get_folder_items(derivatives.id, fields=["name", "created_by", "sha1", "size"]).entries
    assert len(files) == 4 and all(f.created_by.id == settings.box_agency_user_id for f in files)
    valid = [f.name for f in files if V2.match(f.name)]
    invalid = [f.name for f in files if not V2.match(f.name)]
    assert len(valid) == 3 and len(invalid) == 1
    assert {name[:6] for name in valid} == {name[:6] for name in MASTERS}, "one good derivative per master"
    assert all(f.sha_1 != hashlib.sha1(MASTERS[m]).hexdigest() for f in files for m in MASTERS)  # modified copies
    png = next(f for f in files if f.name.endswith(".png"))
    with io.BytesIO() as out:
        service.downloads.download_file_to_output_stream(png.id, out)
        assert out.getvalue().startswith(b"\x89PNG") and b"tEXtComment" in out.getvalue()
    assert invalid[0] in printed and "badly named" in printed

    events = [json.loads(d["body"]) for d in deliveries]
    assert {e["source"]["name"] for e in events} == {f.name for f in files}
    assert all(e["created_by"]["id"] == settings.box_agency_user_id for e in events)
    assert all(
        WebhooksManager.validate_message(
            d["body"].decode(), d["headers"], settings.box_webhook_primary_key,
            secondary_key=settings.box_webhook_secondary_key,
        )
        for d in deliveries
    )

    assert agency.main(["--campaign", "CMP-2026-001"]) == 0  # a second run changes nothing
    assert capsys.readouterr().out.count("already there") == 4
    assert len(service.folders.get_folder_items(derivatives.id).entries) == 4
    assert agency.main(["--campaign", "CMP-2099-999"]) == 1
