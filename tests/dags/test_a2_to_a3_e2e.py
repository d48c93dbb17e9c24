"""A2 -> A3 end to end against the sandbox: the agency uploads derivatives to Box, each runs through the DAG
for real (``dag.test()``), lands in the campaign's Final Assets folder with its metadata, and the campaign moves
to A3 once. Bad files fail with one sentence, an email, and nothing uploaded."""

from __future__ import annotations

import html
import io
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from box_sdk_gen import UploadFileAttributes, UploadFileAttributesParentField

from tests.dags.conftest import ROOT, fast, received, status_webhooks, ti_states

if TYPE_CHECKING:
    import pytest


def _campaign(seed, number):
    return next(c for c in seed["campaigns"] if c["number"] == number)


def _to_a2(dags, campaign) -> None:
    run = fast(dags.get_dag("a1_to_a2")).test(run_conf={"campaign": campaign["id"]})
    assert run.state == "success", ti_states(run)


def _derivatives_folder(box, seed, campaign) -> str:
    folder = next(i for i in box.client.folders.list_folder_items(seed["box_root_folder_id"])
                  if i.name == f"{campaign['number']} {campaign['name']}")
    return next(i.item_id for i in box.client.folders.list_folder_items(folder.item_id) if i.name == "Derivatives")


def _agency(sandbox, number: str) -> str:
    result = subprocess.run([sys.executable, "-m", "sandbox", "agency", "--campaign", number], env=sandbox.env,
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _upload_as_agency(sandbox, folder_id: str, name: str, content: bytes) -> str:
    from sandbox.box.client import ccg_client

    client = ccg_client(sandbox.settings, sandbox.endpoints, user_id=sandbox.settings.box_agency_user_id)
    attributes = UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(id=folder_id))
    return client.uploads.upload_file(attributes, io.BytesIO(content)).entries[0].id


def _final_assets(otmm, campaign) -> dict[str, object]:
    return {a.name: a for a in otmm.client.folders.list_master_assets(campaign["final_assets_folder_id"])}


def test_agency_uploads_reach_the_dam_and_the_campaign_a3(dags, seeded_sandbox, seed, product_env,
                                                         tracking_db, capfd: pytest.CaptureFixture[str]) -> None:
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook

    campaign = _campaign(seed, "CMP-2026-002")
    _to_a2(dags, campaign)
    printed = _agency(seeded_sandbox, campaign["number"])
    box, otmm = BoxHook(), OtmmHook()
    files = box.client.folders.list_folder_items(_derivatives_folder(box, seed, campaign))
    assert len(files) == len(campaign["masters"]) + 1

    a2_to_a3 = fast(dags.get_dag("a2_to_a3"))
    outcomes = {f.name: a2_to_a3.test(run_conf={"box_file_id": f.item_id}) for f in files}
    bad = [name for name, run in outcomes.items() if run.state != "success"]
    assert len(bad) == 1 and bad[0] in printed and "badly named" in printed
    assert ti_states(outcomes[bad[0]])[("derivative_to_dam", -1)] == "failed"

    final = _final_assets(otmm, campaign)
    good = [name for name in outcomes if name not in bad]
    assert sorted(final) == sorted(name[7:] for name in good), "uploaded under the clean name"
    video = next(a for name, a in final.items() if name.endswith(".mp4"))
    fields = otmm.client.assets.get_asset(video.asset_id).fields
    assert float(fields["FERRERO.FIELD.DURATION"]) > 0, "media metadata read from the file"
    assert fields["FERRERO.FIELD.STATE"] == "Local" and fields["ARTESIA.FIELD.ASSET NAME"] == video.name
    assert otmm.client.folders.get_campaign(campaign["id"]).status == "A3"

    assert len(status_webhooks(seeded_sandbox, "A3")) == 1
    mails = received(seeded_sandbox, "mail")
    errors = [m for m in mails if "was not uploaded" in m["subject"]]
    assert len(errors) == 1 and bad[0] in errors[0]["subject"]
    assert "VERSION segment is missing" in html.unescape(errors[0]["html"]), "the sentence names the problem"
    assert len([m for m in mails if m["subject"].endswith("(A3)")]) == 1

    # A replayed file starts a run that finds everything done: no second asset, no second flip.
    capfd.readouterr()
    replay = a2_to_a3.test(run_conf={"box_file_id": next(f.item_id for f in files if f.name == good[0])})
    assert replay.state == "success"
    logged = capfd.readouterr()
    logged = logged.out + logged.err
    assert f"of {good[0]} is already in the DAM" in logged and "nothing uploaded again" in logged, logged[-3000:]
    assert "'already_done'" not in logged  # a sentence, not the task's result dict
    assert sorted(_final_assets(otmm, campaign)) == sorted(final)
    assert len(status_webhooks(seeded_sandbox, "A3")) == 1
    assert tracking_db.completed_cycles(campaign["id"], "A2", "A3") == 1


def test_unknown_tracking_id_and_strict_domain_upload_nothing(dags, seeded_sandbox, seed, product_env,
                                                               tracking_db, tmp_path: Path) -> None:
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook

    campaign = _campaign(seed, "CMP-2026-001")
    _to_a2(dags, campaign)
    box, otmm = BoxHook(), OtmmHook()
    folder = _derivatives_folder(box, seed, campaign)
    tracking_id = tracking_db.masters_of_campaign(campaign["id"])[0]["tracking_id"]
    unknown = _upload_as_agency(seeded_sandbox, folder, "ZZ99XY_Nutella_Breakfast_video_IT_v01.mp4", b"x" * 64)
    refused = _upload_as_agency(seeded_sandbox, folder, f"{tracking_id}_Nutella_Breakfast_hologram_IT_v01.png",
                                b"\x89PNG\r\n\x1a\n" + b"0" * 64)

    config_path = Path(product_env["CONTENT_SCALING_CONFIG_DIR"]) / "field_mappings.yaml"
    mappings = yaml.safe_load(config_path.read_text())
    mappings["validate_domain_values"]["strict_mode"] = True
    config_path.write_text(yaml.safe_dump(mappings, sort_keys=False))
    from include.ferrero.config import clear_cache

    clear_cache()
    a2_to_a3 = fast(dags.get_dag("a2_to_a3"))
    run = a2_to_a3.test(run_conf={"box_file_id": unknown})
    assert run.state == "failed" and ti_states(run)[("derivative_to_dam", -1)] == "failed"
    run = a2_to_a3.test(run_conf={"box_file_id": refused})
    assert run.state == "failed" and ti_states(run)[("derivative_to_dam", -1)] == "failed"

    assert _final_assets(otmm, campaign) == {}
    assert otmm.client.folders.get_campaign(campaign["id"]).status == "A2"
    errors = [html.unescape(m["html"]) for m in received(seeded_sandbox, "mail") if "was not uploaded" in m["subject"]]
    assert len(errors) == 2
    assert any("ZZ99XY, which belongs to no master asset" in e for e in errors)
    assert any("hologram" in e for e in errors)


def test_unknown_box_file_fails_at_once_with_one_email(dags, seeded_sandbox, product_env) -> None:
    """A mistyped Box file id is a permanent error: one try of derivative_to_dam although it has retries left,
    and one error email naming the file once."""
    a2_to_a3 = dags.get_dag("a2_to_a3")
    check = a2_to_a3.get_task("derivative_to_dam")
    saved = check.retries, check.retry_delay
    check.retries, check.retry_delay = 2, timedelta(0)
    try:
        run = a2_to_a3.test(run_conf={"box_file_id": "999999999999"})
    finally:
        check.retries, check.retry_delay = saved

    assert run.state == "failed"
    [ti] = [ti for ti in run.get_task_instances() if ti.task_id == "derivative_to_dam"]
    assert (ti.state, ti.try_number) == ("failed", 1), "failed at once, never up_for_retry"
    [mail] = [m for m in received(seeded_sandbox, "mail") if "was not uploaded" in m["subject"]]
    text = html.unescape(mail["html"])
    assert "Box file 999999999999" in mail["subject"]
    assert text.count("Box file 999999999999") == 1, text
    assert "reading file 999999999999: HTTP 404" in text, "the hook's sentence, as the cause"
