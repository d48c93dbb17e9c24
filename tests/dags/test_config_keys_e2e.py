"""Configuration keys that act on a run: ``temp.max_size_mb`` refuses a file before any byte is downloaded."""

from __future__ import annotations

import html
from pathlib import Path

import yaml

from tests.dags.conftest import fast, received, ti_states
from tests.dags.test_a2_to_a3_e2e import _campaign, _derivatives_folder, _to_a2, _upload_as_agency


def test_a_derivative_larger_than_max_size_mb_fails_before_downloading(dags, seeded_sandbox, seed, product_env,
                                                                       tracking_db) -> None:
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook
    from include.ferrero.config import clear_cache

    campaign = _campaign(seed, "CMP-2026-001")
    _to_a2(dags, campaign)
    path = Path(product_env["CONTENT_SCALING_CONFIG_DIR"]) / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["temp"]["max_size_mb"] = 1
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    clear_cache()
    box = BoxHook()
    tracking_id = tracking_db.masters_of_campaign(campaign["id"])[0]["tracking_id"]
    name = f"{tracking_id}_Nutella_Breakfast_image_IT_v01.png"
    file_id = _upload_as_agency(seeded_sandbox, _derivatives_folder(box, seed, campaign), name,
                                b"\x89PNG\r\n\x1a\n" + b"0" * (2 * 1024 * 1024))

    run = fast(dags.get_dag("a2_to_a3")).test(run_conf={"box_file_id": file_id})

    assert run.state == "failed" and ti_states(run)[("derivative_to_dam", -1)] == "failed"
    [email] = [m for m in received(seeded_sandbox, "mail") if "was not uploaded" in m["subject"]]
    assert "larger than the 1 MB allowed (temp.max_size_mb), so it was not downloaded" in html.unescape(email["html"])
    assert OtmmHook().client.folders.list_master_assets(campaign["final_assets_folder_id"]) == []
