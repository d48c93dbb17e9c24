"""A1 -> A2 -> A3 end to end, compact, against the sandbox DAM in each named behaviour variant (spec §17, L):
the masters reach Box and the campaign A2, the agency's derivatives reach the DAM and the campaign A3, and a new
Box version becomes a new DAM version (its own id, the same logical id). The full e2e modules run on the
default DAM."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from sandbox.otmm.variants import BEARER_WRITES_NEED_REQUESTED_BY, VARIANTS
from tests.dags.conftest import derivative_row, fast, ti_states
from tests.dags.test_a2_to_a3_e2e import _agency, _campaign, _derivatives_folder, _final_assets

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize("seeded_sandbox", VARIANTS, indirect=True, scope="module")
def test_a1_to_a3_and_a_new_version_in_each_variant(dags, seeded_sandbox, seed, product_env, tracking_db,
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook
    from tests.dags.test_a2_to_a3_new_version_e2e import _upload_new_version

    if BEARER_WRITES_NEED_REQUESTED_BY in seeded_sandbox.env.get("SANDBOX_OTMM_VARIANTS", ""):
        s, endpoints = seeded_sandbox.settings, seeded_sandbox.endpoints
        monkeypatch.setenv("AIRFLOW_CONN_OTMM_DEFAULT", json.dumps({
            "conn_type": "otmm", "host": endpoints["otmm_base_url"], "extra": {
                "auth_mode": "otds", "client_id": s.otds_client_id, "client_secret": s.otds_client_secret,
                "otds_token_url": endpoints["otds_token_url"]}}))
    campaign = _campaign(seed, "CMP-2026-002")
    to_a2 = fast(dags.get_dag("a1_to_a2")).test(run_conf={"campaign": campaign["id"]})
    assert to_a2.state == "success", ti_states(to_a2)
    otmm, box = OtmmHook(), BoxHook()
    assert otmm.client.folders.get_campaign(campaign["id"]).status == "A2"

    _agency(seeded_sandbox, campaign["number"])
    files = box.client.folders.list_folder_items(_derivatives_folder(box, seed, campaign))
    a2_to_a3 = fast(dags.get_dag("a2_to_a3"))
    for file in files:
        a2_to_a3.test(run_conf={"box_file_id": file.item_id})
    assert otmm.client.folders.get_campaign(campaign["id"]).status == "A3"

    image = next(f for f in files if f.name.endswith((".png", ".jpg")) and "_v0" in f.name)
    before = _final_assets(otmm, campaign)[image.name[7:]]
    original = box.get_conn().downloads.download_file(image.item_id).read()
    _upload_new_version(seeded_sandbox, image.item_id, image.name, original + b"\n2")
    run = a2_to_a3.test(run_conf={"box_file_id": image.item_id})

    assert run.state == "success", ti_states(run)
    after = _final_assets(otmm, campaign)[image.name[7:]]
    assert after.logical_id == before.asset_id != after.asset_id and after.version == 2
    derivative = derivative_row(tracking_db, image.name[:6], image.name)
    assert derivative["dam_asset_id"] == before.asset_id and derivative["dam_latest_asset_id"] == after.asset_id
