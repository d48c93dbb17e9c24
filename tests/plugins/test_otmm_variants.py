"""The DAM client against a sandbox with every low-confidence behaviour variant switched on at once (spec §17):
folder metadata only through the asset service, none in search hits, no job resource, pages capped at 50,
subfolders unpaged, the lock kept after a check-in, folders edited through the asset service, Bearer writes
needing X-Requested-By."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from ferrero_provider.otmm.exceptions import OtmmStatusError
from sandbox.otmm.variants import VARIANTS
from sandbox.testing import start_sandbox
from tests.plugins.conftest import DamData, Faults, dam_hook, otmm_connection

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ferrero_provider.otmm.hooks import OtmmHook
    from sandbox.testing import RunningSandbox


@pytest.fixture(scope="module")
def variant_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("variants"), otmm_variants=",".join(VARIANTS),
                            otmm_import_delay_seconds=0.05)
    yield running
    running.stop()


@pytest.fixture(params=["session", "oauth", "otds"])
def hook(request: pytest.FixtureRequest, variant_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> OtmmHook:
    monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", otmm_connection(variant_sandbox, request.param))
    return dam_hook(initial_delay_seconds=0, job_poll_seconds=0.05, page_size=100)


@pytest.fixture
def dam(variant_sandbox: RunningSandbox, tmp_path: Path) -> DamData:
    return DamData(variant_sandbox, tmp_path)


def test_campaign_status_is_read_through_the_asset_service_and_written_through_the_folder_service(
        hook: OtmmHook, dam: DamData):
    campaign_id = dam.campaign(f"Variant {dam.root[:6]}", "A1")

    assert campaign_id in [c.campaign_id for c in hook.client.folders.search_campaigns("A1")]
    assert hook.client.folders.get_campaign(campaign_id).status == "A1"
    assert hook.client.folders.set_campaign_status(campaign_id, "A2") is True

    assert hook.client.folders.get_campaign(campaign_id).status == "A2"
    assert dam.get(campaign_id)["locked_by"] is None


def test_listings_are_read_whole_past_a_page_cap_and_an_unpaged_subfolder_list(hook: OtmmHook, dam: DamData):
    campaign_id = dam.campaign("Many", "A1", final_name=None)
    for n in range(120):
        dam.asset(campaign_id, f"master-{n:03d}.txt", b"x")
    for n in range(60):
        dam.folder(campaign_id, f"Sub {n:02d}")
    dam.folder(campaign_id, "Final Assets")

    assert len(hook.client.folders.list_master_assets(campaign_id)) == 120
    assert hook.client.folders.find_final_assets_folder(campaign_id).name == "Final Assets"


def test_check_in_without_a_job_resource_and_a_lock_kept_by_the_check_in(hook: OtmmHook, dam: DamData,
                                                                         tmp_path: Path):
    folder = dam.folder(dam.root, "Final Assets")
    asset_id = dam.asset(folder, "spot.mp4", b"one", mime="video/mp4")
    path = tmp_path / "spot.mp4"
    path.write_bytes(b"two, longer")
    media = [{"id": "FERRERO.FIELD.DURATION", "type": "com.artesia.metadata.MetadataField",
              "value": {"value": {"type": "decimal", "value": 1.5}}}]

    result = hook.client.versions.check_in_new_version(asset_id, path, metadata=media)

    assert result.checked_in and result.locked_after and result.version == 2 and result.logical_id == asset_id
    row = dam.get(result.asset_id)
    assert row["locked_by"] is None and row["metadata"]["FERRERO.FIELD.DURATION"]["values"] == [1.5]
    asset = hook.client.assets.create_asset(folder, path, json.dumps({"asset_resource": {"asset": {}}}), file_name="new.mp4")
    assert dam.get(asset)["name"] == "new.mp4", "an import awaited without a job resource"


def test_a_status_no_read_path_gives_is_an_error_never_another_status(hook: OtmmHook, dam: DamData,
                                                                       variant_sandbox: RunningSandbox):
    campaign_id = dam.campaign(f"Unreadable {dam.root[:6]}", "A1")
    faults = Faults(variant_sandbox.endpoints["otmm_url"])
    faults.arm(kind="ignore", method="GET", path=f"/otmmapi/v6/assets/{campaign_id}", count=2)
    try:
        with pytest.raises(OtmmStatusError, match=rf"no metadata for campaign folder {campaign_id} .* its status "
                                                  "cannot be read"):
            hook.client.folders.get_campaign(campaign_id)
        with pytest.raises(OtmmStatusError, match=campaign_id):
            hook.client.folders.search_campaigns("A1")
    finally:
        faults.clear()
