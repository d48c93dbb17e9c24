"""A1 -> A2 end to end against the sandbox, the DAG runs really executed (``dag.test()``: every task runs
in-process, through the hooks, over sockets)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta, timezone

import requests

from tests.dags.conftest import fast, received, ti_states


def _campaign(seed, number):
    return next(c for c in seed["campaigns"] if c["number"] == number)


def _dam_status(otmm, campaign_id: str) -> str:
    return otmm.client.folders.get_campaign(campaign_id).status


def _forced_run_with_retries(dags, campaign_id: str, retries: int):
    """A forced ``a1_to_a2`` run of the campaign whose ``transfer_master`` has ``retries`` retries, back to back."""
    dag = fast(dags.get_dag("a1_to_a2"))
    transfer = dag.get_task("transfer_master")
    transfer.retries, transfer.retry_delay = retries, timedelta(0)
    try:
        return dag.test(run_conf={"campaign": campaign_id, "force": True, "cycle": None})
    finally:
        transfer.retries = 0


def _masters_in_box(box, seed, campaign) -> list[str]:
    folder = f"{campaign['number']} {campaign['name']}"
    root = [i for i in box.client.folders.list_folder_items(seed["box_root_folder_id"]) if i.name == folder]
    assert len(root) == 1, f"one Box folder {folder!r}"
    masters = [i for i in box.client.folders.list_folder_items(root[0].item_id) if i.name == "Masters"]
    return sorted(i.name for i in box.client.folders.list_folder_items(masters[0].item_id))


def test_campaign_reaches_a2_once_and_a_rerun_creates_nothing(dags, seeded_sandbox, seed, product_env,
                                                               tracking_db) -> None:
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook

    campaign = _campaign(seed, "CMP-2026-001")
    dag = fast(dags.get_dag("a1_to_a2"))
    when = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
    run = dag.test(logical_date=when, run_after=when, run_conf={"campaign": campaign["number"]})

    states = ti_states(run)
    assert run.state == "success", states
    masters = campaign["masters"]
    assert [states[("transfer_master", i)] for i in range(len(masters))] == ["success"] * len(masters)
    assert set(states.values()) == {"success"}, "a normal run's grid is all green: nothing skipped"
    named = {ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == "transfer_master"}
    assert named == {m["name"] for m in masters}

    otmm, box = OtmmHook(), BoxHook()
    assert _dam_status(otmm, campaign["id"]) == "A2"
    recorded = tracking_db.masters_of_campaign(campaign["id"])
    assert sorted(m["dam_asset_id"] for m in recorded) == sorted(m["asset_id"] for m in masters)
    assert all(m["box_file_id"] and m["upload_folder_id"] == campaign["final_assets_folder_id"] for m in recorded)
    assert all(m["dam_metadata"].get("metadata") for m in recorded), "full DAM metadata kept"
    in_box = _masters_in_box(box, seed, campaign)
    assert in_box == sorted(f"{m['tracking_id']}_{m['name']}" for m in recorded)

    [hook] = received(seeded_sandbox, "status-webhooks")
    body = hook["body"]
    assert (body["old_status"], body["new_status"], body["campaign_number"]) == ("A1", "A2", campaign["number"])
    mails = received(seeded_sandbox, "mail")
    assert len(mails) == 1 and mails[0]["subject"].endswith("(A2)") and "/s/" in mails[0]["html"], \
        "success email with the folder link"

    # The same run again (every task instance cleared and re-run): nothing new anywhere.
    again = dag.test(logical_date=when, run_after=when, run_conf={"campaign": campaign["number"], "force": True, "cycle": 1})
    assert again.run_id == run.run_id and again.state == "success", ti_states(again)
    assert _masters_in_box(box, seed, campaign) == in_box
    assert sorted((m["tracking_id"], m["box_file_id"]) for m in tracking_db.masters_of_campaign(campaign["id"])) \
        == sorted((m["tracking_id"], m["box_file_id"]) for m in recorded)
    assert len(received(seeded_sandbox, "status-webhooks")) == 1
    assert len(received(seeded_sandbox, "mail")) == 1
    assert tracking_db.completed_cycles(campaign["id"], "A1", "A2") == 1
    assert "/s/" in ((tracking_db.get_campaign(campaign["id"]) or {}).get("box_folder_url") or ""), "cockpit link"

    # By hand, for a campaign now in A2: refused unless forced; forced, the masters are checked again and no
    # status change or notification is repeated.
    refused = dag.test(run_conf={"campaign": campaign["number"], "force": False, "cycle": None})
    assert refused.state == "failed"
    assert "is in status 'A2', not A1" in html.unescape(received(seeded_sandbox, "mail")[-1]["html"])
    forced = dag.test(run_conf={"campaign": campaign["number"], "force": True, "cycle": None})
    assert forced.state == "success", ti_states(forced)
    assert len(received(seeded_sandbox, "status-webhooks")) == 1
    assert tracking_db.completed_cycles(campaign["id"], "A1", "A2") == 1
    assert _masters_in_box(box, seed, campaign) == in_box


def test_failed_master_keeps_a1_then_recovery_flips_once(dags, seeded_sandbox, seed, product_env,
                                                          tracking_db) -> None:
    from ferrero_provider.otmm.hooks import OtmmHook

    campaign = _campaign(seed, "CMP-2026-002")
    broken = campaign["masters"][1]
    faults = f"{seeded_sandbox.endpoints['otmm_url']}/__sandbox__/faults"
    requests.post(faults, timeout=5, json={"method": "GET", "path": f"/otmmapi/v6/assets/{broken['asset_id']}/contents",
                                           "kind": "status", "status": 500, "count": 1000})
    dag = fast(dags.get_dag("a1_to_a2"))
    when = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    run = dag.test(logical_date=when, run_after=when, run_conf={"campaign": campaign["id"]})

    states = ti_states(run)
    assert run.state == "failed"
    failed = [k for k, v in states.items() if v == "failed"]
    assert len(failed) == 1 and failed[0][0] == "transfer_master"
    assert states[("flip_to_a2", -1)] == "upstream_failed"
    assert states[("report_partial_result", -1)] == "success"
    assert OtmmHook().client.folders.get_campaign(campaign["id"]).status == "A1"
    [partial] = received(seeded_sandbox, "mail")
    text = str(partial)
    assert broken["name"] in text and "500" in text, "the failure and its reason"
    assert all(m["name"] in text for m in campaign["masters"]), "successes listed too"
    assert received(seeded_sandbox, "status-webhooks") == []

    # The fault is gone; the failed work runs again: the campaign flips, with one webhook and one email.
    requests.delete(faults, timeout=5)
    again = dag.test(logical_date=when, run_after=when, run_conf={"campaign": campaign["id"]})
    assert again.state == "success", ti_states(again)
    assert OtmmHook().client.folders.get_campaign(campaign["id"]).status == "A2"
    assert len(received(seeded_sandbox, "status-webhooks")) == 1
    mails = received(seeded_sandbox, "mail")
    assert len(mails) == 2 and mails[1]["subject"].endswith("(A2)")
    assert len(tracking_db.masters_of_campaign(campaign["id"])) == len(campaign["masters"])


def test_unknown_campaign_fails_with_one_sentence(dags, product_env, seeded_sandbox) -> None:
    dag = fast(dags.get_dag("a1_to_a2"))
    run = dag.test(run_conf={"campaign": "CMP-1999-404"})
    assert run.state == "failed"
    assert ti_states(run)[("plan_campaign", -1)] == "failed"
    [mail] = received(seeded_sandbox, "mail")
    assert "no campaign with id or number 'CMP-1999-404' was found in the DAM" in html.unescape(mail["html"])



def test_a_master_missing_in_the_dam_fails_at_once_and_is_reported(dags, seeded_sandbox, seed, product_env) -> None:
    """A 404 for one master's content is permanent: its task instance fails on its first try although it has
    retries left, the others succeed, and the partial-result email names it with the reason."""
    campaign = _campaign(seed, "CMP-2026-001")
    gone = campaign["masters"][0]
    requests.post(f"{seeded_sandbox.endpoints['otmm_url']}/__sandbox__/faults", timeout=5, json={
        "method": "GET", "path": f"/otmmapi/v6/assets/{gone['asset_id']}/contents", "kind": "status", "status": 404,
        "count": 1000})
    run = _forced_run_with_retries(dags, campaign["id"], retries=2)

    assert run.state == "failed"
    transfers = [ti for ti in run.get_task_instances() if ti.task_id == "transfer_master"]
    failed = [(ti.state, ti.try_number) for ti in transfers if ti.state != "success"]
    assert failed == [("failed", 1)], "failed at once, never up_for_retry"
    assert len(transfers) == len(campaign["masters"])
    assert ti_states(run)[("report_partial_result", -1)] == "success"
    [partial] = [m for m in received(seeded_sandbox, "mail") if "masters failed" in m["subject"]]
    text = html.unescape(partial["html"])
    assert f"{gone['name']} ({gone['asset_id']}): DAM request failed while downloading" in text and "HTTP 404" in text


def test_a_masters_first_try_uses_the_planned_dam_record_and_a_retry_reads_the_dam(dags, seeded_sandbox, seed,
                                                                                   product_env, tracking_db) -> None:
    """Planning lists the masters with their metadata; a transfer's first try sends what was listed (no second
    read of the asset), a retry reads the asset from the DAM again (it may have changed since)."""
    from include.ferrero.config import load_settings

    campaign = _campaign(seed, "CMP-2026-001")
    masters = campaign["masters"]
    faults = f"{seeded_sandbox.endpoints['otmm_url']}/__sandbox__/faults"
    counted = {m["asset_id"]: requests.post(faults, timeout=5, json={
        "method": "GET", "path": f"/otmmapi/v6/assets/{m['asset_id']}", "kind": "delay", "seconds": 0,
        "count": 1000}).json()["id"] for m in masters}  # answered as usual; the rule counts the reads
    attempts = load_settings().retry.max_attempts  # the hook's own; the task's first try fails after them
    requests.post(faults, timeout=5, json={"method": "GET", "path": f"/otmmapi/v6/assets/{masters[0]['asset_id']}"
                                           "/contents", "kind": "status", "status": 500, "count": attempts})
    run = _forced_run_with_retries(dags, campaign["id"], retries=1)

    assert run.state == "success", ti_states(run)
    rules = {r["id"]: r for r in requests.get(faults, timeout=5).json()["faults"]}
    reads = {asset_id: rules[rule]["hits"] for asset_id, rule in counted.items()}
    assert reads == {m["asset_id"]: 1 if m is masters[0] else 0 for m in masters}
    recorded = tracking_db.masters_of_campaign(campaign["id"])
    assert all(m["dam_metadata"].get("metadata") and m["dam_metadata"]["content_size"] for m in recorded)
