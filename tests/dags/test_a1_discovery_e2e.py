"""Discovery starts one run per A1 campaign, named after it, never twice; one campaign failing does not hold
the other back."""

from __future__ import annotations

from datetime import datetime, timezone

import requests

from tests.dags.conftest import fast, received, ti_states


def _triggered_runs(dag_id: str) -> dict[str, dict]:
    from airflow.models.dagrun import DagRun

    return {run.run_id: run.conf for run in DagRun.find(dag_id=dag_id) if not run.run_id.startswith("manual__")}


def test_two_campaigns_discovered_one_fails_the_other_flips(dags, seeded_sandbox, seed, product_env,
                                                            tracking_db) -> None:
    from ferrero_provider.otmm.hooks import OtmmHook

    first, second = seed["campaigns"]
    discovery = fast(dags.get_dag("a1_discovery"))
    run = discovery.test(logical_date=datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc))
    assert run.state == "success", ti_states(run)
    started = _triggered_runs("a1_to_a2")
    expected = {f"{c['number']}__{c['name'].replace(' ', '-')}__a1-cycle1" for c in (first, second)}
    assert set(started) == expected
    assert {conf["campaign"] for conf in started.values()} == {first["id"], second["id"]}
    named = {ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == "start_campaign_runs"}
    assert named == expected

    # The second campaign's PDF cannot be read from the DAM; the first campaign is unaffected.
    broken = second["masters"][0]
    requests.post(f"{seeded_sandbox.endpoints['otmm_url']}/__sandbox__/faults", timeout=5, json={
        "method": "GET", "path": f"/otmmapi/v6/assets/{broken['asset_id']}/contents", "kind": "status",
        "status": 503, "count": 1000})
    a1_to_a2 = fast(dags.get_dag("a1_to_a2"))
    outcomes = {}
    for _run_id, conf in sorted(started.items()):
        outcomes[conf["campaign"]] = a1_to_a2.test(run_conf=conf).state
    assert outcomes == {first["id"]: "success", second["id"]: "failed"}
    otmm = OtmmHook()
    assert otmm.client.folders.get_campaign(first["id"]).status == "A2"
    assert otmm.client.folders.get_campaign(second["id"]).status == "A1"
    assert len(received(seeded_sandbox, "status-webhooks")) == 1

    # Next discovery: the failed campaign's run exists already (an operator clears it), so nothing new starts,
    # and the flipped campaign is no longer in A1.
    again = discovery.test(logical_date=datetime(2026, 11, 24, 10, 5, tzinfo=timezone.utc))
    states = ti_states(again)
    assert again.state == "success"
    assert [s for (task, _), s in states.items() if task == "start_campaign_runs"] == ["skipped"]
    assert set(_triggered_runs("a1_to_a2")) == expected


def test_an_outage_sends_one_critical_email_when_it_starts_and_one_when_it_ends(dags, seeded_sandbox, seed,
                                                                                product_env) -> None:
    """Discovery meets a DAM answering 503 three times in a row (15 minutes of schedule): one critical email;
    the DAM comes back: one recovery email."""
    otmm_url = seeded_sandbox.endpoints["otmm_url"]
    discovery = fast(dags.get_dag("a1_discovery"))
    requests.post(f"{otmm_url}/__sandbox__/faults", timeout=5, json={
        "path": "/otmmapi/v6/*", "kind": "status", "status": 503, "count": 10_000})
    for minute in (0, 5, 10):
        run = discovery.test(logical_date=datetime(2026, 11, 24, 11, minute, tzinfo=timezone.utc))
        assert run.state == "failed"
    critical = [m for m in received(seeded_sandbox, "mail") if m["subject"].startswith("CRITICAL")]
    assert len(critical) == 1
    assert critical[0]["to"] == ["staging-oncall@ferrero.com"], "notifications.recipients.critical"
    assert "the DAM cannot be reached" in critical[0]["subject"] and "503" in critical[0]["text"]

    requests.delete(f"{otmm_url}/__sandbox__/faults", timeout=5)
    for minute in (15, 20):
        run = discovery.test(logical_date=datetime(2026, 11, 24, 11, minute, tzinfo=timezone.utc))
        assert run.state == "success", ti_states(run)
    mails = received(seeded_sandbox, "mail")
    assert [m["subject"] for m in mails if m["to"] == ["staging-oncall@ferrero.com"]] == [
        critical[0]["subject"], "Resolved: the DAM can be reached again"]


def test_a_campaign_started_by_hand_gets_a_run_named_after_it(dags, seeded_sandbox, seed, product_env) -> None:
    from ferrero_provider.otmm.hooks import OtmmHook

    otmm = OtmmHook()
    discovery = fast(dags.get_dag("a1_discovery"))
    for minute, campaign in enumerate(seed["campaigns"]):
        in_a1 = otmm.client.folders.get_campaign(campaign["id"]).status == "A1"
        run = discovery.test(run_conf={"campaign": campaign["number"], "force": not in_a1},
                             logical_date=datetime(2026, 11, 24, 12, minute, tzinfo=timezone.utc))
        assert run.state == "success", ti_states(run)
        [named] = [ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == "start_campaign_runs"]
        assert named.startswith(f"{campaign['number']}__{campaign['name'].replace(' ', '-')}__a1-cycle")
        assert ("__forced-" in named) == (not in_a1), "a forced re-send gets a run of its own"
        assert named in _triggered_runs("a1_to_a2")

    wrong = discovery.test(run_conf={"campaign": "CMP-1999-999"},
                           logical_date=datetime(2026, 11, 24, 12, 30, tzinfo=timezone.utc))
    assert wrong.state == "failed"
