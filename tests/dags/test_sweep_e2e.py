"""The reconciliation (derivatives_sweep) finds agency uploads whose webhook never arrived, in any campaign (by
folder listings when no stream position is kept yet, then from the event stream), and starts each one's run
once: never again once it exists, whatever its state."""

from __future__ import annotations

from datetime import datetime, timezone

from include.ferrero.box_webhooks import dag_run_id_for
from tests.dags.conftest import fast, ti_states
from tests.dags.test_a2_to_a3_e2e import _agency, _campaign, _derivatives_folder, _to_a2, _upload_as_agency


def _set_run_state(run_id: str, state: str) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagRun).where(DagRun.dag_id == "a2_to_a3", DagRun.run_id == run_id).values(state=state))


def _sweep_runs(files: dict) -> dict[str, dict]:
    """The a2_to_a3 runs of these files (other test modules share Airflow's database)."""
    from airflow.models.dagrun import DagRun

    return {r.run_id: r.conf for r in DagRun.find(dag_id="a2_to_a3") if r.run_id in files}


def test_sweep_starts_runs_for_uploads_without_a_record(dags, seeded_sandbox, seed, product_env,
                                                        tracking_db) -> None:
    from ferrero_provider.box.hooks import BoxHook

    campaign = _campaign(seed, "CMP-2026-001")
    _to_a2(dags, campaign)
    _agency(seeded_sandbox, campaign["number"])  # no receiver here: every webhook is lost
    box = BoxHook()
    files = [box.client.files.get_file_info(i.item_id) for i in box.client.folders.list_folder_items(_derivatives_folder(box, seed, campaign))]
    expected = {dag_run_id_for(f.file_id, f.version_id, f.name): f for f in files}

    # One derivative went through already (say, its webhook did arrive): the sweep leaves it alone.
    done = next(f for f in files if "_v01." in f.name)
    assert fast(dags.get_dag("a2_to_a3")).test(run_conf={"box_file_id": done.file_id}).state == "success"

    sweep = fast(dags.get_dag("derivatives_sweep"))
    run = sweep.test(logical_date=datetime(2026, 11, 24, 11, 0, tzinfo=timezone.utc))
    assert run.state == "success", ti_states(run)
    started = _sweep_runs(expected)
    assert set(started) == set(expected) - {dag_run_id_for(done.file_id, done.version_id, done.name)}
    for run_id, conf in started.items():
        assert conf["box_file_id"] == expected[run_id].file_id
        assert conf["box_file_version_id"] == expected[run_id].version_id

    # An hour later nothing has changed: every run exists already, none is started twice.
    again = sweep.test(logical_date=datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc))
    states = [s for (task, _), s in ti_states(again).items() if task == "start_derivative_runs"]
    assert states and set(states) == {"skipped"}
    assert set(_sweep_runs(expected)) == set(started)

    # Later the campaign is in A3 (not only A2 campaigns are swept) and a new upload's webhook is lost too; of the
    # runs started, one failed and one succeeded without a record: neither is started again, nor a queued one.
    failed_run, succeeded_run = sorted(started)[:2]
    _set_run_state(failed_run, "failed")
    _set_run_state(succeeded_run, "success")
    with tracking_db.transaction() as cur:
        cur.execute("UPDATE campaigns SET status = 'A3' WHERE campaign_id = %s", (campaign["id"],))
    folder = _derivatives_folder(box, seed, campaign)
    late_id = _upload_as_agency(seeded_sandbox, folder, done.name.replace("_v01.", "_v02."), b"late derivative")
    late = box.client.files.get_file_info(late_id)
    third = sweep.test(logical_date=datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc))
    assert third.state == "success", ti_states(third)
    mapped = {index: s for (task, index), s in ti_states(third).items() if task == "start_derivative_runs"}
    assert list(mapped.values()) == ["success"]  # the late file only
    assert set(_sweep_runs({**expected, dag_run_id_for(late.file_id, late.version_id, late.name): late})) == {
        *started, dag_run_id_for(late.file_id, late.version_id, late.name)}
