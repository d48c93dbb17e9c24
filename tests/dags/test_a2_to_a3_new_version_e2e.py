"""A2 -> A3 end to end, a new Box version of a derivative already in the DAM: the same logical DAM asset gets the
new content as a new version with its own asset id (and the media fields of the new file), once; the campaign
does not flip again."""

from __future__ import annotations

import io
import subprocess
from typing import TYPE_CHECKING

from box_sdk_gen import UploadFileVersionAttributes

from sandbox.otmm.store import OtmmStore
from tests.dags.conftest import derivative_row, fast, received, status_webhooks, ti_states
from tests.dags.test_a2_to_a3_e2e import _agency, _campaign, _derivatives_folder, _final_assets, _to_a2

if TYPE_CHECKING:
    from pathlib import Path


def _short_video(path: Path) -> bytes:
    """A valid one-second 160x90 H.264 mp4: other bytes, duration and resolution than the agency's file."""
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",  # noqa: S603
                    "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-t", "1", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-preset", "ultrafast", "-f", "mp4", str(path)], check=True)
    return path.read_bytes()


def _upload_new_version(sandbox, file_id: str, name: str, content: bytes) -> None:
    from sandbox.box.client import ccg_client

    client = ccg_client(sandbox.settings, sandbox.endpoints, user_id=sandbox.settings.box_agency_user_id)
    client.uploads.upload_file_version(file_id, UploadFileVersionAttributes(name=name), io.BytesIO(content))


def _a3_notifications(sandbox) -> tuple[int, int]:
    """(A3 status webhooks, A3 emails); every status webhook is one of the campaign's two flips, each sent once."""
    assert sorted(h["body"]["new_status"] for h in received(sandbox, "status-webhooks")) == ["A2", "A3"]
    mails = [m for m in received(sandbox, "mail") if m["subject"].endswith("(A3)")]
    return len(status_webhooks(sandbox, "A3")), len(mails)


def test_a_new_box_version_becomes_a_new_version_of_the_same_dam_asset(dags, seeded_sandbox, seed, product_env,
                                                                      tracking_db, tmp_path: Path) -> None:
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook

    campaign = _campaign(seed, "CMP-2026-002")
    _to_a2(dags, campaign)
    _agency(seeded_sandbox, campaign["number"])
    box, otmm = BoxHook(), OtmmHook()
    files = box.client.folders.list_folder_items(_derivatives_folder(box, seed, campaign))
    a2_to_a3 = fast(dags.get_dag("a2_to_a3"))
    for file in files:
        a2_to_a3.test(run_conf={"box_file_id": file.item_id})
    assert otmm.client.folders.get_campaign(campaign["id"]).status == "A3"
    assert _a3_notifications(seeded_sandbox) == (1, 1)
    video_file = next(f for f in files if f.name.endswith("_v01.mp4"))
    before = _final_assets(otmm, campaign)
    video = before[video_file.name[7:]]
    old_duration = float(otmm.client.assets.get_asset(video.asset_id).fields["FERRERO.FIELD.DURATION"])
    store = OtmmStore(seeded_sandbox.settings.otmm_dir)
    assert store.get(video.asset_id)["version"] == 1

    new_content = _short_video(tmp_path / "new.mp4")
    _upload_new_version(seeded_sandbox, video_file.item_id, video_file.name, new_content)
    run = a2_to_a3.test(run_conf={"box_file_id": video_file.item_id})

    assert run.state == "success", ti_states(run)
    after = _final_assets(otmm, campaign)
    assert sorted(after) == sorted(before) and after[video.name].logical_id == video.asset_id, "no second asset"
    latest = after[video.name].asset_id
    assert latest != video.asset_id and store.get(latest)["version"] == 2, "the new version has its own id"
    assert not store.get(video.asset_id)["latest_version"]
    downloaded = otmm.client.assets.download_original(latest, tmp_path / "from-dam.mp4")
    assert open(downloaded.path, "rb").read() == new_content, "the DAM streams the new bytes"
    fields = otmm.client.assets.get_asset(latest).fields
    assert float(fields["FERRERO.FIELD.DURATION"]) < 2 < old_duration, "media fields of the new file"
    assert fields["ARTESIA.FIELD.ASSET NAME"] == video.name, "the other metadata stays"
    assert store.get(latest)["locked_by"] is None and store.get(video.asset_id)["locked_by"] is None
    derivative = derivative_row(tracking_db, video_file.name[:6], video_file.name)
    assert derivative["box_file_version_id"] == box.client.files.get_file_info(video_file.item_id).version_id
    assert derivative["dam_asset_id"] == video.asset_id and derivative["dam_latest_asset_id"] == latest

    again = a2_to_a3.test(run_conf={"box_file_id": video_file.item_id})

    assert again.state == "success", ti_states(again)
    assert len(store.versions(video.asset_id)) == 2, "the same Box version changes nothing"
    assert sorted(_final_assets(otmm, campaign)) == sorted(before)
    assert _a3_notifications(seeded_sandbox) == (1, 1), "no second A3 flip, webhook or email"
    assert tracking_db.completed_cycles(campaign["id"], "A2", "A3") == 1
