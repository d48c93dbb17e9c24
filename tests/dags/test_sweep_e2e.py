"""The hourly sweep finds agency uploads whose webhook never arrived, and starts each one's run once."""

from __future__ import annotations

from datetime import datetime, timezone

from include.ferrero.webhook_events import dag_run_id_for
from tests.dags.conftest import fast, ti_states
from tests.dags.test_a2_to_a3_e2e import _agency, _campaign, _derivatives_folder, _to_a2


def _sweep_runs(files: dict) -> dict[str, dict]:
    """The a2_to_a3 runs of these files (other test modules share Airflow's database)."""
    from airflow.models.dagrun import DagRun

    return {r.run_id: r.conf for r in DagRun.find(dag_id="a2_to_a3") if r.run_id in files}


def test_sweep_starts_runs_for_uploads_without_a_record(dags, seeded_sandbox, seed, product_env,
                                                        tracking_db) -> None:
    from box.hooks import BoxHook

    campaign = _campaign(seed, "CMP-2026-001")
    _to_a2(dags, campaign)
    _agency(seeded_sandbox, campaign["number"])  # no receiver here: every webhook is lost
    box = BoxHook()
    files = [box.get_file_info(i.item_id) for i in box.list_folder_items(_derivatives_folder(box, seed, campaign))]
    expected = {dag_run_id_for(f.file_id, f.version_id): f for f in files}

    # One derivative went through already (say, its webhook did arrive): the sweep leaves it alone.
    done = next(f for f in files if "_v01." in f.name)
    assert fast(dags.get_dag("a2_to_a3")).test(run_conf={"box_file_id": done.file_id}).state == "success"

    sweep = fast(dags.get_dag("derivatives_sweep"))
    run = sweep.test(logical_date=datetime(2026, 11, 24, 11, 0, tzinfo=timezone.utc))
    assert run.state == "success", ti_states(run)
    started = _sweep_runs(expected)
    assert set(started) == set(expected) - {dag_run_id_for(done.file_id, done.version_id)}
    for run_id, conf in started.items():
        assert conf["box_file_id"] == expected[run_id].file_id
        assert conf["box_file_version_id"] == expected[run_id].version_id

    # An hour later nothing has changed: every run exists already, none is started twice.
    again = sweep.test(logical_date=datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc))
    states = [s for (task, _), s in ti_states(again).items() if task == "start_derivative_runs"]
    assert states and set(states) == {"skipped"}
    assert set(_sweep_runs(expected)) == set(started)
