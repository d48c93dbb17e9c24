"""Every DAG file imports, follows the house rules, and has the shape of the workflow."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_one_dag_per_file_named_after_it(dagbag, path: Path) -> None:
    dags = [d for d in dagbag.dags.values() if Path(d.fileloc).name == path.name]
    assert [d.dag_id for d in dags] == [path.stem]
    dag = dags[0]
    assert dag.tags and "content-scaling" in dag.tags
    assert dag.doc_md and dag.doc_md.strip() and dag.description, "a description for the DAG list, a runbook in the docs"
    for task in dag.tasks:
        assert task.retries >= 2, f"{task.task_id} has {task.retries} retries"
        assert task.doc_md or task.doc or getattr(task, "python_callable", None).__doc__, task.task_id


def test_a1_to_a2_shape(dagbag) -> None:
    dag = dagbag.get_dag("a1_to_a2")
    flip = dag.get_task("flip_to_a2")
    assert flip.trigger_rule == "none_failed_min_one_success"
    # after every transfer however it ended, but only when planning succeeded (else: upstream_failed, no crash)
    report = dag.get_task("report_partial_result")
    assert report.trigger_rule == "all_done_min_one_success"
    assert report.upstream_task_ids == {"plan_campaign", "transfer_master"}
    mapped = [t.task_id for t in dag.tasks if getattr(t, "is_mapped", False)]
    assert mapped == ["transfer_master"], "one mapped task: one instance per master"
    transfer = dag.get_task("transfer_master")
    assert flip.task_id in transfer.downstream_task_ids
    assert transfer.map_index_template == "{{ master_name }}"
    assert transfer.pool == "box_api"
    assert transfer.upstream_task_ids == {"plan_campaign"}
    assert {"send_status_webhook", "send_success_email"} <= flip.downstream_task_ids
    params = dag.params
    assert params.get_param("campaign").schema["type"] == "string"
    assert params.get_param("force").description and params.get_param("campaign").description


def test_a1_discovery_every_five_minutes(dagbag) -> None:
    dag = dagbag.get_dag("a1_discovery")
    assert dag.timetable.expression == "*/5 * * * *"
    trigger = dag.get_task("start_campaign_runs")
    assert trigger.partial_kwargs["trigger_dag_id"] == "a1_to_a2"
    assert trigger.partial_kwargs["skip_when_already_exists"] is True


def test_a2_to_a3_one_task_per_derivative(dagbag) -> None:
    """A derivative costs one task instance: check, upload, completion and its messages in one task, which
    records the failure (with its email) when it gives up; it holds a DAM pool slot."""
    dag = dagbag.get_dag("a2_to_a3")
    assert [t.task_id for t in dag.tasks] == ["derivative_to_dam"]
    [task] = dag.tasks
    assert task.pool == "dam_api" and task.on_failure_callback
    assert dag.max_active_runs >= 1


def test_concurrency_settings_from_the_environment(monkeypatch) -> None:
    from include.ferrero.runtime import sized

    assert sized("A2A3_MAX_ACTIVE_RUNS", 16) == 16
    monkeypatch.setenv("A2A3_MAX_ACTIVE_RUNS", "8")
    assert sized("A2A3_MAX_ACTIVE_RUNS", 16) == 8
    monkeypatch.setenv("A2A3_MAX_ACTIVE_RUNS", "0")
    with pytest.raises(ValueError, match="A2A3_MAX_ACTIVE_RUNS must be a whole number >= 1, got '0'"):
        sized("A2A3_MAX_ACTIVE_RUNS", 16)
