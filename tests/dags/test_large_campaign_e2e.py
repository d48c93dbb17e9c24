"""A campaign with more masters than Airflow maps per task (``max_map_length`` = 1024) still gets one task
instance per master: the masters are spread over batches of at most 1000."""

from __future__ import annotations

import io

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
    # Planning and batching run for real; the 1100 transfers and what follows them are marked done (moving
    # 1100 files is not what this test is about; the transfer itself is covered by the other end-to-end tests).
    run = dag.test(run_conf={"campaign": "CMP-2026-999"},
                   mark_success_pattern=r"^(transfer_masters_\d|report_partial_result|flip_to_a2|send_\w+)$")
    states = ti_states(run)
    assert run.state == "success"
    assert states[("plan_campaign", -1)] == "success"
    per_task = {}
    for (task, index), state in states.items():
        if task.startswith("transfer_masters_") and index >= 0:
            per_task.setdefault(task, []).append(state)
    assert {task: len(v) for task, v in per_task.items()} == {"transfer_masters_0": 1000, "transfer_masters_1": 100}
    assert all(state == "success" for v in per_task.values() for state in v)
