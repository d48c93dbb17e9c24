"""A campaign with more masters than Airflow's default ``max_map_length`` (1024) gets one task instance per
master, in one mapped task: the bootstrap raises the limit (config/bootstrap.yaml); one more than the product's
limit is refused with one sentence."""

from __future__ import annotations

import io

import pytest

from sandbox.otmm.metadata import DEFAULT_ASSET_MODEL, DEFAULT_FOLDER_MODEL
from sandbox.otmm.store import OtmmStore
from tests.dags.conftest import fast, ti_states

MASTERS = 1100


def _large_campaign(sandbox, seed) -> dict:
    """A campaign of MASTERS tiny masters, written straight into the DAM's store (the server reads it)."""
    store = OtmmStore(sandbox.settings.otmm_dir)
    field = lambda value: {"kind": "scalar", "type": "string", "values": [value]}  # noqa: E731
    folder = store.create_folder(seed["campaigns_folder_id"], "Mega Campaign", model_id=DEFAULT_FOLDER_MODEL,
                                 metadata={"FERRERO.CAMPAIGN.FIELD.STATUS": field("A1"),
                                           "FERRERO.CAMPAIGN.FIELD.NUMBER": field("CMP-2026-999")})
    store.create_folder(folder["asset_id"], "Final Assets", model_id=DEFAULT_FOLDER_MODEL)
    content_id, size = store.store_blob(io.BytesIO(b"%PDF-1.4 tiny master\n"))
    for i in range(MASTERS):
        store.create_asset(folder["asset_id"], f"Mega_Master-{i:04d}_document.pdf", "application/pdf", content_id,
                           size, model_id=DEFAULT_ASSET_MODEL)
    return folder


def test_more_masters_than_max_map_length(dags, seeded_sandbox, seed, product_env) -> None:
    _large_campaign(seeded_sandbox, seed)
    dag = fast(dags.get_dag("a1_to_a2"))
    # Planning and mapping run for real; the 1100 transfers and what follows them are marked done (moving
    # 1100 files is not what this test is about; the transfer itself is covered by the other end-to-end tests).
    run = dag.test(run_conf={"campaign": "CMP-2026-999"},
                   mark_success_pattern=r"^(transfer_master|report_partial_result|flip_to_a2|send_\w+)$")
    states = ti_states(run)
    assert run.state == "success"
    assert states[("plan_campaign", -1)] == "success"
    transfers = [state for (task, index), state in states.items() if task == "transfer_master" and index >= 0]
    assert len(transfers) == MASTERS and set(transfers) == {"success"}
    assert {task for task, _ in states} == {"plan_campaign", "transfer_master", "report_partial_result",
                                            "flip_to_a2", "send_status_webhook", "send_success_email"}


def test_max_map_length_fits_the_product_limit() -> None:
    from include.ferrero.campaigns import MAX_MASTERS, CampaignError, order_masters
    from tools.bootstrap import load_definition

    assert int(load_definition()["airflow_settings"]["core"]["max_map_length"]) >= MAX_MASTERS
    masters = [{"asset_id": str(i), "name": f"m{i}"} for i in range(MAX_MASTERS + 1)]
    with pytest.raises(CampaignError, match="5001 master assets, more than the 5000"):
        order_masters(masters)
